"""The deal-health review in one call (what the ``deal_health_weekly`` report shows)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import pandas as pd
from scipy.stats import norm

from salesml.data.bundle import SalesData
from salesml.filters import FilterLike, FilterSpec
from salesml.health.asof import fit_as_of
from salesml.health.backtest import backtest as run_backtest
from salesml.health.baselines import health_baselines
from salesml.health.interventions import interventions
from salesml.health.model import DealHealthModel
from salesml.health.scope import deal_mask
from salesml.health.snapshots import build_features
from salesml.i18n import check_lang, t
from salesml.periods import PeriodLike, as_period
from salesml.results import AnalysisResult
from salesml.scoring.asof import AsOfFit
from salesml.scoring.backtest import BacktestResult
from salesml.scoring.calibration import wilson
from salesml.scoring.card import ModelCard, model_card

__all__ = ["WeeklyHealth", "weekly_health"]

#: Name of the model in ``scored_by`` (the alternative: a baseline's name).
MODEL_NAME = "health_model"


@dataclass(kw_only=True)
class WeeklyHealth(AnalysisResult):
    """Everything the deal-health review shows.

    Attributes
    ----------
    table
        The open deals at ``as_of`` (those the filters keep): ``deal_id``, ``as_of``,
        ``rep_id``, ``customer_id``, ``stage``, ``amount``, ``region``, ``win_prob``,
        ``low``, ``high``, ``health_score``, ``band`` (as :meth:`DealHealthModel.score`),
        ``change`` (points since 7 days before), ``scored_by`` (``health_model``, or the
        baseline that scores instead when the model does not beat it on held-out
        time) and ``reliable`` (whether the probabilities can be read at face value).
    model
        The model fit on snapshots whose outcome was known at ``as_of``.
    fit
        The fit itself (training snapshots, fingerprint).
    explanations
        Top reasons per open deal (:meth:`DealHealthModel.explain`).
    actions
        The director's list (:func:`interventions`).
    movers
        Deals whose score moved most in the 7 days (``deal_id``, ``owner``, ``amount``,
        ``health_score``, ``previous``, ``change``), biggest moves first.
    by_region, by_rep
        Open deals, pipeline amount, mean score and at-risk count per region / rep.
    backtest
        Rolling-origin backtest up to ``as_of`` (``None`` when skipped or impossible).
    card
        The model card, judged by the backtest.
    """

    title_key: ClassVar[str] = "deal_health_weekly.title"

    model: DealHealthModel
    fit: AsOfFit
    explanations: pd.DataFrame
    actions: pd.DataFrame
    movers: pd.DataFrame
    by_region: pd.DataFrame
    by_rep: pd.DataFrame
    backtest: BacktestResult | None
    card: ModelCard

    @property
    def scored(self) -> pd.DataFrame:
        """The open deals with their scores (:attr:`table`)."""
        return self.table

    @property
    def scored_by(self) -> str:
        """``health_model`` or the baseline that scores instead."""
        return str(self.table["scored_by"].iloc[0]) if len(self.table) else MODEL_NAME

    def summary(self) -> pd.DataFrame:
        """The director's list."""
        return self.actions

    def key_findings(self, lang: str = "en") -> list[str]:
        """What the card says first (verdict, leaks, missing features), then the counts."""
        lang = check_lang(lang)
        out = self.card.key_findings(lang)
        n_risk = int((self.table["band"] == "at_risk").sum()) if len(self.table) else 0
        out.append(
            t(
                "health.finding.counts",
                lang,
                n=f"{len(self.table):,}",
                at_risk=f"{n_risk:,}",
                escalations=f"{int(self.actions['escalate'].sum()):,}",
            )
        )
        return out + [n.text(lang) for n in self.notes]


def _group_summary(scored: pd.DataFrame, by: str) -> pd.DataFrame:
    if by not in scored:
        return pd.DataFrame(columns=[by, "open_deals", "pipeline", "mean_score", "at_risk"])
    g = scored.groupby(by, sort=True)
    out = pd.DataFrame(
        {
            "open_deals": g.size(),
            "pipeline": g["amount"].sum(min_count=1),
            "mean_score": g["health_score"].mean().round(1),
            "at_risk": g["band"].apply(lambda b: int((b == "at_risk").sum())),
        }
    )
    return out.reset_index().sort_values("mean_score", kind="stable").reset_index(drop=True)


def _backtest(
    data: SalesData,
    fit: AsOfFit,
    *,
    t: pd.Timestamp,
    horizon_days: int,
    origins: int,
    model_kwargs: dict[str, Any] | None,
) -> BacktestResult | None:
    if origins <= 0:
        return None
    # origins a full horizon before the review, so their outcomes are known by now
    last = (t - pd.Timedelta(days=horizon_days)).normalize() - pd.offsets.MonthBegin(1)
    dates = pd.date_range(end=last, periods=origins, freq="MS")
    try:
        return run_backtest(
            data,
            data_end=t,
            start=dates[0],
            end=dates[-1],
            freq="MS",
            horizon_days=horizon_days,
            snapshots=fit.snapshots,
            model_kwargs=model_kwargs,
        )
    except ValueError:
        return None


def weekly_health(
    data: SalesData,
    *,
    period: PeriodLike | None = None,
    as_of: str | pd.Timestamp | None = None,
    filters: FilterLike = None,
    horizon_days: int = 90,
    snapshot_freq: str = "W-MON",
    history_days: int = 540,
    backtest_origins: int = 2,
    top_reasons: int = 3,
    lang: str = "en",
    model_kwargs: dict[str, Any] | None = None,
    fingerprint: str | None = None,
    client: Any = None,
) -> WeeklyHealth:
    """Fit, judge, score, explain and list the deals to act on, as of one instant.

    The model trains on snapshots taken before the review instant whose outcome was
    known then (:func:`~salesml.health.fit_as_of`, the same fit the what-if app
    makes), and scores the deals open then and 7 days earlier. A short backtest
    compares it with its baselines: when a baseline ranks deals as well (the model
    does not beat it on held-out time), the scores are the baseline's and the card
    says so first, with the likely cause.

    Parameters
    ----------
    data
        The dataset (its later history, if any, is never used). Only ``deals`` is
        required; features of absent tables are named on the card.
    period, as_of
        The review instant: ``as_of``, else the end of ``period`` (or of the data, if
        earlier), else the end of the data.
    filters
        Which deals to show (:class:`~salesml.filters.FilterSpec`); the model still
        learns from every deal.
    horizon_days
        The health score is P(won within this many days).
    snapshot_freq, history_days
        Training snapshots: every ``snapshot_freq`` over the ``history_days`` before
        the instant.
    backtest_origins
        Monthly origins of the backtest behind the card's verdict (0: skip it).
    top_reasons, lang
        Reasons per deal in the action list; language of phrases and actions.
    model_kwargs
        Settings for :class:`DealHealthModel`.
    fingerprint
        Dataset fingerprint for the card (default: ``data.fingerprint()``).
    client
        A Dask client (``None``: ``SALESML_DASK_SCHEDULER`` if set, else this
        process): the training snapshots are built and the model trained there.

    Raises
    ------
    InsufficientDataError
        Too few closed deals (or a single outcome) to fit any model.
    """
    lang = check_lang(lang)
    spec = FilterSpec.parse(filters)
    fit = fit_as_of(
        data,
        as_of=as_of,
        period=period,
        horizon_days=horizon_days,
        history_days=history_days,
        snapshot_freq=snapshot_freq,
        model_kwargs=model_kwargs,
        fingerprint=fingerprint,
        client=client,
    )
    tt, model = fit.as_of, fit.model
    # the snapshot builder reads nothing after tt: no cut copy of the data is needed
    bt = _backtest(
        data,
        fit,
        t=tt,
        horizon_days=horizon_days,
        origins=backtest_origins,
        model_kwargs=model_kwargs,
    )
    card = model_card(model, backtest=bt, as_of=tt)
    verdict = card.verdict
    now = build_features(data, as_of=tt)
    before = build_features(data, as_of=tt - pd.Timedelta(days=7))
    now = now.loc[deal_mask(now, spec, data)].reset_index(drop=True)
    before = before.loc[deal_mask(before, spec, data)].reset_index(drop=True)
    scorer = MODEL_NAME
    baseline = None
    if verdict.status == "use_baseline" and verdict.baseline:
        baseline = health_baselines()[verdict.baseline].fit(fit.training)
        scorer = verdict.baseline

    def score(frame: pd.DataFrame) -> pd.DataFrame:
        out = model.score(frame)
        if baseline is not None and len(frame):
            p = baseline.predict(frame)
            low, high = wilson(p, baseline.support(frame), float(norm.ppf(0.95)))
            out["win_prob"], out["low"], out["high"] = p, low, high
            out["health_score"] = (100 * out["win_prob"]).round(1)
            out["band"] = model.band(out["health_score"])
        return out

    scored = score(now)
    prev = score(before)
    prev_score = prev.set_index("deal_id")["health_score"]
    scored["change"] = scored["health_score"] - scored["deal_id"].map(prev_score)
    scored["scored_by"] = scorer
    scored["reliable"] = verdict.reliable
    explanations = model.explain(now, top=5, lang=lang)
    # the action list quotes what the team can change (not stage, size or owner)
    actionable = model.explain(now, top=5, lang=lang, scope="actionable")
    actions = interventions(scored, actionable, previous=prev, top_reasons=top_reasons, lang=lang)
    movers = (
        scored.assign(previous=scored["deal_id"].map(prev_score))
        .dropna(subset=["change"])
        .rename(columns={"rep_id": "owner"})
    )
    movers = movers.loc[movers["change"].abs() >= 5]
    movers = movers.reindex(movers["change"].abs().sort_values(ascending=False).index)
    movers = movers[["deal_id", "owner", "amount", "health_score", "previous", "change"]].head(20)
    return WeeklyHealth(
        table=scored,
        period=as_period(period),
        as_of=tt,
        filters=spec,
        model=model,
        fit=fit,
        explanations=explanations,
        actions=actions,
        movers=movers.reset_index(drop=True),
        by_region=_group_summary(scored, "region"),
        by_rep=_group_summary(scored, "rep_id"),
        backtest=bt,
        card=card,
    )
