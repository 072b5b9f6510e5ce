"""``deal_health_weekly``: at-risk deals with reasons and actions, movers, model card.

The notebook calls :func:`review` (one :func:`~salesml.health.weekly_health` call at the
period's review instant, the instant the ``deal_whatif`` app uses too), shows what the
card says first (:func:`show_findings`), then the sections below. Row functions format
for people only (whole points, money in the dataset's currency); they compute nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from salesml.health import WeeklyHealth, describe_bands, weekly_health
from salesml.health.interventions import ACTION_COLUMNS
from salesml.i18n import money
from salesml.periods import Period
from salesml.reports.params import ReportParams
from salesml.reports.registry import ReportSpec
from salesml.scoring import InsufficientDataError

__all__ = [
    "REPORT",
    "DealHealthWeeklyParams",
    "at_risk_rows",
    "backtest_rows",
    "band_rule",
    "calibration_rows",
    "card_note_key",
    "group_rows",
    "model_card_rows",
    "mover_rows",
    "review",
    "section_key",
    "show_findings",
]


@dataclass(frozen=True)
class DealHealthWeeklyParams(ReportParams):
    """Parameters of ``deal_health_weekly``.

    Parameters
    ----------
    dataset, period, region, lang
        See :class:`~salesml.reports.params.ReportParams`. The review is taken at the
        end of ``period`` (or at the end of the data, if earlier); ``region`` limits the
        deals shown (the model learns from every region).
    horizon_days
        The health score is the calibrated probability of winning within this many days.
    top_n
        Rows of the action list.
    backtest_origins
        Monthly origins of the backtest behind the model card's verdict (0 skips it).
    """

    horizon_days: int = 90
    top_n: int = 20
    backtest_origins: int = 2

    def __post_init__(self) -> None:
        super().__post_init__()
        self._check_between("horizon_days", 14, 365)
        self._check_between("top_n", 1, 200)
        self._check_between("backtest_origins", 0, 12)


def review(ctx: Any) -> WeeklyHealth | None:
    """The review of the report's period and region (``None``, said in the report, when
    the dataset lacks a table or holds too few closed deals to fit a model)."""
    p = ctx.params
    try:
        return ctx.attempt(
            weekly_health,
            ctx.data,
            period=p.period,
            filters=ctx.filters,
            horizon_days=p.horizon_days,
            backtest_origins=p.backtest_origins,
            lang=ctx.lang,
            fingerprint=ctx.fingerprint,
        )
    except InsufficientDataError as e:
        ctx.text("deal_health_weekly.insufficient", detail=str(e))
        return None


def show_findings(ctx: Any, weekly: WeeklyHealth | None) -> None:
    """What a reader must know before the scores: the verdict against the baselines,
    leaking features, features that could not be computed; then the counts."""
    if weekly is None:
        return
    ctx.heading("deal_health_weekly.findings")
    ctx.bullets(weekly.key_findings(ctx.lang))


def _points(score: pd.Series) -> pd.Series:
    """A 0-100 score rounded to whole points (``-0.4`` gives ``0``, not ``-0``)."""
    return score.round() + 0.0


def _signed_points(change: pd.Series) -> pd.Series:
    """A score change as text in whole points: ``+12``, ``-3``, ``0`` (blank when unknown)."""

    def show(x: float) -> str:
        if pd.isna(x):
            return ""
        v = round(float(x))
        return f"{v:+d}" if v else "0"

    return change.map(show)


def _money(values: pd.Series, currency: str) -> pd.Series:
    return values.map(lambda x: money(x, currency)).astype("str")


def _currency(weekly: WeeklyHealth) -> str:
    return str(getattr(weekly.model, "currency_", "CNY"))


def section_key(period: str, section: str) -> str:
    """Message key of a section title: claims "this week" only when the period is one week.

    ``section`` is ``"actions"`` or ``"movers"``.
    """
    p = Period.parse(period)
    weekly = p.end - p.start == pd.Timedelta(days=7) and p.start.dayofweek == 0
    return f"deal_health_weekly.{section}_{'week' if weekly else 'now'}"


def at_risk_rows(weekly: WeeklyHealth | None, top_n: int) -> pd.DataFrame | None:
    """The action list's first ``top_n`` rows, in display order.

    Output columns: :data:`~salesml.health.interventions.ACTION_COLUMNS`, with
    ``health_score`` rounded to whole points, ``change`` as signed text (``+12``) and
    ``amount`` in the dataset's currency.
    """
    if weekly is None:
        return None
    rows = weekly.actions[list(ACTION_COLUMNS)].head(top_n)
    return rows.assign(
        health_score=_points(rows["health_score"]),
        change=_signed_points(rows["change"]),
        amount=_money(rows["amount"], _currency(weekly)),
    )


def group_rows(weekly: WeeklyHealth | None, by: str) -> pd.DataFrame | None:
    """Open deals by ``region`` or ``rep_id``.

    Output columns: ``by``, ``open_deals``, ``pipeline`` (in the dataset's currency),
    ``mean_score`` (whole points), ``at_risk_deals``.
    """
    if weekly is None:
        return None
    g = weekly.by_region if by == "region" else weekly.by_rep
    return g.rename(columns={"at_risk": "at_risk_deals"}).assign(
        open_deals=g["open_deals"].astype("int64"),
        pipeline=_money(g["pipeline"], _currency(weekly)),
        mean_score=_points(g["mean_score"]),
        at_risk_deals=g["at_risk"].astype("int64"),
    )


def mover_rows(weekly: WeeklyHealth | None) -> pd.DataFrame | None:
    """Deals whose score moved most in the 7 days before the review.

    Output columns: ``deal_id``, ``owner``, ``amount`` (dataset currency),
    ``health_score`` and ``score_7d_before`` (whole points), ``change`` (signed text).
    """
    if weekly is None:
        return None
    m = weekly.movers
    return m.rename(columns={"previous": "score_7d_before"}).assign(
        amount=_money(m["amount"], _currency(weekly)),
        health_score=_points(m["health_score"]),
        score_7d_before=_points(m["previous"]),
        change=_signed_points(m["change"]),
    )


def band_rule(weekly: WeeklyHealth | None, lang: str = "en") -> str:
    """The model's band rule in ``lang`` (the default bands when there is no model)."""
    return (
        describe_bands(weekly.model.bands, lang)
        if weekly is not None
        else describe_bands(lang=lang)
    )


def model_card_rows(weekly: WeeklyHealth | None, lang: str = "en") -> pd.DataFrame | None:
    """The model card for people (``item``, ``value``): the verdict against the baselines
    first, then counts with separators, the base rate as a percentage, methods and the
    band rule in ``lang``, the caveats last."""
    if weekly is None:
        return None
    return weekly.card.rows(lang)


def card_note_key(weekly: WeeklyHealth | None) -> str:
    """The sentence under the card: how to read the backtest, or why there is none."""
    if weekly is not None and weekly.backtest is not None:
        return "deal_health_weekly.card_note"
    return "deal_health_weekly.no_backtest"


def backtest_rows(weekly: WeeklyHealth | None) -> pd.DataFrame | None:
    """Pooled backtest metrics of the model and both baselines (``None`` if not run).

    Output columns: ``model`` (``health_model``, ``stage_baseline``, ``rules_baseline``),
    ``auc``, ``brier``, ``log_loss``, ``ece``, ``n_snapshots`` (snapshots scored, an integer).
    """
    if weekly is None or weekly.backtest is None:
        return None
    m = weekly.backtest.table[["model", "auc", "brier", "log_loss", "ece", "n"]]
    return m.rename(columns={"n": "n_snapshots"}).assign(
        model=m["model"].replace({"model": "health_model"}),
        n_snapshots=m["n"].round().astype("int64"),
    )


def calibration_rows(weekly: WeeklyHealth | None) -> pd.DataFrame | None:
    """The backtest's reliability tables (``model``, ``bin``, ``mean_pred``, ``observed``,
    ``n``) for the calibration curve, ``None`` without a backtest."""
    if weekly is None or weekly.backtest is None:
        return None
    return weekly.backtest.calibration


REPORT = ReportSpec(
    name="deal_health_weekly",
    params=DealHealthWeeklyParams,
    description="At-risk deals with reasons and actions, score distribution, movers, model card.",
    tables=("deals",),
)
