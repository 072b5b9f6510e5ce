"""The weekly potential review: next week's visits, top accounts with reasons, the card,
lead-to-cash.

:func:`weekly_potential` is what the ``lead_potential_weekly`` report and the
``visit_planner`` app call: both models fit on what was known at the review instant
(:func:`salesml.potential.fit_as_of`), every open lead and every account without an
open deal scored with reasons, the visit list per rep, a short backtest of the lead
model behind its card, and the lead-to-cash table. A part the dataset cannot answer
(no leads table, too few outcomes for a model) is left out and said so; the rest is
still shown.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy.stats import norm

from salesml.data.bundle import SalesData
from salesml.distributed import resolve_client
from salesml.filters import FilterLike, FilterSpec
from salesml.i18n import check_lang
from salesml.periods import PeriodLike, as_period
from salesml.potential.accounts import account_features
from salesml.potential.asof import fit_as_of
from salesml.potential.backtest import backtest as run_backtest
from salesml.potential.baselines import lead_baselines
from salesml.potential.cash import LeadToCash, lead_to_cash
from salesml.potential.snapshots import LOAD_COLUMNS, lead_features
from salesml.potential.visits import CapacityLike, VisitPlan, visit_plan
from salesml.results import AnalysisResult, Note
from salesml.scoring.asof import AsOfFit, review_as_of
from salesml.scoring.backtest import BacktestResult
from salesml.scoring.baselines import Baseline
from salesml.scoring.calibration import wilson
from salesml.scoring.card import ModelCard, model_card
from salesml.scoring.errors import InsufficientDataError
from salesml.scoring.explain import reason_lists

__all__ = [
    "CANDIDATE_COLUMNS",
    "WEEKLY_TABLES",
    "WeeklyPotential",
    "candidates",
    "load_potential_data",
    "weekly_potential",
]

#: The tables the weekly review reads (those present are loaded).
WEEKLY_TABLES: tuple[str, ...] = (
    "leads",
    "deals",
    "customers",
    "activities",
    "contracts",
    "payments",
    "reps",
)

#: Columns of :attr:`WeeklyPotential.candidates`.
CANDIDATE_COLUMNS: tuple[str, ...] = (
    "kind",
    "id",
    "rep_id",
    "region",
    "channel",
    "segment",
    "win_prob",
    "low",
    "high",
    "potential_score",
    "revenue_if_won",
    "expected_revenue",
    "reasons",
)


@dataclass(kw_only=True)
class WeeklyPotential(AnalysisResult):
    """The weekly potential review.

    Attributes
    ----------
    table
        The visit plan (:attr:`VisitPlan.table` of :attr:`plan`).
    candidates
        Every open lead and account without an open deal, scored:
        :data:`CANDIDATE_COLUMNS` (``kind`` is ``lead`` or ``account``; ``reasons`` the
        top three, what hurts first, in the review's language).
    plan
        The visit plan over the candidates.
    lead_fit, account_fit
        The models fit at the review instant (``None`` when one could not be fit).
    backtest
        The lead model's rolling-origin backtest (``None`` when skipped or impossible).
    card
        The lead model's card judged by the backtest (``None`` without a lead model).
    cash
        Lead-to-cash by channel (``None`` when the dataset cannot answer it).
    """

    title_key: ClassVar[str] = "lead_potential_weekly.title"

    candidates: pd.DataFrame
    plan: VisitPlan
    lead_fit: AsOfFit | None
    account_fit: AsOfFit | None
    backtest: BacktestResult | None
    card: ModelCard | None
    cash: LeadToCash | None
    lang: str = "en"

    def top_accounts(self, n: int = 20) -> pd.DataFrame:
        """The ``n`` accounts with the highest expected revenue."""
        acc = self.candidates.loc[self.candidates["kind"] == "account"]
        return acc.nlargest(n, "expected_revenue").reset_index(drop=True)

    def key_findings(self, lang: str = "en") -> list[str]:
        """The card's caveats first, then the plan in one sentence, then what was left out."""
        lang = check_lang(lang)
        out = self.card.key_findings(lang) if self.card is not None else []
        out += self.plan.key_findings(lang)
        return out + [n.text(lang) for n in self.notes]


def load_potential_data(
    path: str | os.PathLike[str], *, tables: tuple[str, ...] = WEEKLY_TABLES, **options: Any
) -> SalesData:
    """Load what the weekly potential review reads from a dataset folder: ``tables``
    (those present), only the :data:`~salesml.potential.snapshots.LOAD_COLUMNS` of
    deals and activities that the files have, ids and categories as pandas
    ``category`` (``load_dataset(compact=True)``, categories in sorted order so tables
    sort and group as from a plain load). The review is that of a full load.

    ``options`` go to :func:`salesml.data.io.load_dataset` (``validate``, ``period``...).
    """
    from salesml.data.projected import load_projected

    return load_projected(path, tables, LOAD_COLUMNS, **options)


def _cash_tables(data: SalesData) -> SalesData:
    """Only what lead-to-cash reads (its cut at the review copies less): the activities'
    deal and instant, the other tables it needs whole."""
    keep = ("leads", "deals", "customers", "contracts", "payments")
    tables = {n: data[n] for n in keep if data.has(n)}
    if data.has("activities"):
        act = data.activities
        tables["activities"] = act[[c for c in ("deal_id", "occurred_at") if c in act]]
    return SalesData(tables, data.config)


def _reasons(fit: AsOfFit, frame: pd.DataFrame, lang: str) -> pd.Series:
    ex = fit.model.explain(frame, top=3, lang=lang, order="hurts_first")
    return reason_lists(ex, by="row", top=3, lang=lang).reindex(frame.index).fillna("")


def _scored(
    fit: AsOfFit, frame: pd.DataFrame, kind: str, lang: str, baseline: Baseline | None = None
) -> pd.DataFrame:
    s = fit.model.score(frame)
    if baseline is not None and len(frame):
        # the backtest found a baseline ranking as well: its probabilities are shown
        p = baseline.predict(frame)
        low, high = wilson(p, baseline.support(frame), float(norm.ppf(0.95)))
        s["win_prob"], s["low"], s["high"] = p, low, high
        s["potential_score"] = (100 * s["win_prob"]).round(1)
        s["expected_revenue"] = s["win_prob"] * s["revenue_if_won"]
    idc = fit.model.id_column
    out = pd.DataFrame(
        {
            "kind": kind,
            "id": frame[idc].astype("str").to_numpy(),
            "rep_id": frame["rep_id"].astype("str").to_numpy() if "rep_id" in frame else pd.NA,
        },
        index=frame.index,
    )
    for c in ("region", "channel", "segment"):
        out[c] = frame[c].astype("str") if c in frame else pd.Series(pd.NA, index=frame.index)
    for c in ("win_prob", "low", "high", "potential_score", "revenue_if_won", "expected_revenue"):
        out[c] = s[c].to_numpy()
    out["reasons"] = _reasons(fit, frame, lang).to_numpy()
    return out


def candidates(
    data: SalesData,
    *,
    as_of: pd.Timestamp,
    lead_fit: AsOfFit | None,
    account_fit: AsOfFit | None,
    lang: str = "en",
    lead_baseline: Baseline | None = None,
) -> pd.DataFrame:
    """Open leads and accounts without an open deal at ``as_of``, scored (see
    :attr:`WeeklyPotential.candidates`); ``lead_baseline`` scores the leads instead of
    the model when the backtest's verdict says so (reasons still come from the model)."""
    parts = []
    if lead_fit is not None:
        leads = lead_features(data, as_of=as_of)
        if len(leads):
            parts.append(_scored(lead_fit, leads, "lead", lang, lead_baseline))
    if account_fit is not None:
        acc = account_features(data, as_of=as_of)
        if len(acc):
            parts.append(_scored(account_fit, acc, "account", lang))
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in CANDIDATE_COLUMNS})
    out = pd.concat(parts, ignore_index=True)
    return out[list(CANDIDATE_COLUMNS)]


def _fit(
    data: SalesData, kind: str, t0: pd.Timestamp, notes: list[Note], **kw: Any
) -> AsOfFit | None:
    try:
        return fit_as_of(data, kind=kind, as_of=t0, **kw)
    except (InsufficientDataError, ValueError) as e:
        notes.append(Note(f"lead_potential_weekly.no_{kind}_model", (("detail", str(e)),)))
        return None


def _backtest(
    data: SalesData, fit: AsOfFit | None, *, t0: pd.Timestamp, horizon_days: int, origins: int
) -> BacktestResult | None:
    if fit is None or origins <= 0:
        return None
    # origins a full horizon before the review, so their outcomes are known by now
    last = (t0 - pd.Timedelta(days=horizon_days)).normalize() - pd.offsets.MonthBegin(1)
    dates = pd.date_range(end=last, periods=origins, freq="MS")
    try:
        return run_backtest(
            data,
            data_end=t0,  # the builder reads nothing later: no cut copy of the data
            kind="lead",
            start=dates[0],
            end=dates[-1],
            freq="MS",
            horizon_days=horizon_days,
            snapshots=fit.snapshots,
        )
    except (InsufficientDataError, ValueError):
        return None


def weekly_potential(
    data: SalesData,
    *,
    period: PeriodLike | None = None,
    as_of: str | pd.Timestamp | None = None,
    filters: FilterLike = None,
    capacity: CapacityLike = 10,
    horizon_days: int = 90,
    history_days: int = 365,
    backtest_origins: int = 2,
    lang: str = "en",
    fingerprint: str | None = None,
    client: Any = None,
) -> WeeklyPotential:
    """The weekly potential review (see the module docstring).

    Parameters
    ----------
    data
        The dataset (nothing after the review instant is used).
    period, as_of
        The review instant: ``as_of``, else the end of ``period`` (or of the data).
    filters
        Keep these candidates (``region``, ``rep_id``, ``channel``, ``segment``); the
        models learn from every row.
    capacity
        Visits per rep next week (a number, or rep -> visits).
    horizon_days
        Conversion / purchase horizon of both models.
    history_days
        Training history before the review.
    backtest_origins
        Monthly origins of the lead model's backtest (0 skips it).
    lang
        Language of the reasons.
    fingerprint
        The dataset fingerprint for the cards (default: the data's).
    client
        A ``distributed.Client`` (or ``None``: ``SALESML_DASK_SCHEDULER`` if set, else
        this process): the training snapshots are built and both models trained there.
    """
    lang = check_lang(lang)
    t0 = review_as_of(data, period=period, as_of=as_of)
    notes: list[Note] = []
    kw = {
        "horizon_days": horizon_days,
        "history_days": history_days,
        "fingerprint": fingerprint,
        "client": resolve_client(client),
    }
    lead_fit = _fit(data, "lead", t0, notes, **kw) if data.has("leads") else None
    if not data.has("leads"):
        notes.append(Note("lead_potential_weekly.no_leads"))
    account_fit = (
        _fit(data, "account", t0, notes, **kw)
        if data.has("customers") and data.has("deals")
        else None
    )
    bt = _backtest(data, lead_fit, t0=t0, horizon_days=horizon_days, origins=backtest_origins)
    card = model_card(lead_fit.model, backtest=bt, as_of=t0) if lead_fit is not None else None
    baseline = None
    if card is not None and card.verdict.status == "use_baseline" and card.verdict.baseline:
        baseline = lead_baselines()[card.verdict.baseline].fit(lead_fit.training)  # type: ignore[union-attr]
    cand = candidates(
        data,
        as_of=t0,
        lead_fit=lead_fit,
        account_fit=account_fit,
        lang=lang,
        lead_baseline=baseline,
    )
    spec = FilterSpec.parse(filters)
    if spec and len(cand):
        cand = cand.loc[np.asarray(spec.mask(cand, table="candidates"), dtype=bool)]
        cand = cand.reset_index(drop=True)
    plan = visit_plan(
        cand, capacity=capacity, id_column="id", currency=data.config.currency, as_of=t0
    )
    try:
        cash = lead_to_cash(_cash_tables(data), as_of=t0, by="channel")
    except ValueError as e:
        cash = None
        notes.append(Note("lead_potential_weekly.no_cash", (("detail", str(e)),)))
    return WeeklyPotential(
        table=plan.table,
        candidates=cand,
        plan=plan,
        lead_fit=lead_fit,
        account_fit=account_fit,
        backtest=bt,
        card=card,
        cash=cash,
        lang=lang,
        period=as_period(period),
        as_of=t0,
        filters=spec,
        notes=notes,
    )
