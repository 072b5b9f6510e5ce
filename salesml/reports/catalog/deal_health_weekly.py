"""``deal_health_weekly``: at-risk deals with reasons and actions, movers, model card."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from salesml.data.bundle import SalesData
from salesml.health import WeeklyHealth
from salesml.health.interventions import ACTION_COLUMNS
from salesml.health.model import describe_bands
from salesml.i18n import t
from salesml.reports.params import ReportParams, period_bounds
from salesml.reports.registry import ReportSpec

__all__ = [
    "REPORT",
    "DealHealthWeeklyParams",
    "at_risk_rows",
    "backtest_rows",
    "band_rule",
    "group_rows",
    "model_card_rows",
    "mover_rows",
    "review_instant",
    "section_key",
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
        Monthly origins of the backtest in the model card (0 skips it).
    """

    horizon_days: int = 90
    top_n: int = 20
    backtest_origins: int = 2

    def __post_init__(self) -> None:
        super().__post_init__()
        self._check_between("horizon_days", 14, 365)
        self._check_between("top_n", 1, 200)
        self._check_between("backtest_origins", 0, 12)







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


def section_key(period: str, section: str) -> str:
    """Message key of a section title: claims "this week" only when the period is one week.

    ``section`` is ``"actions"`` or ``"movers"``.
    """
    start, end = period_bounds(period)
    weekly = end - start == pd.Timedelta(days=7) and start.dayofweek == 0
    return f"deal_health_weekly.{section}_{'week' if weekly else 'now'}"


def review_instant(data: SalesData, period_end: pd.Timestamp) -> pd.Timestamp:
    """The review instant: the end of the period, or the end of the data if earlier."""
    last = period_end - pd.Timedelta(seconds=1)
    tr = data.time_range
    return min(last, tr[1]) if tr is not None else last


def at_risk_rows(weekly: WeeklyHealth | None, top_n: int) -> pd.DataFrame | None:
    """The action list's first ``top_n`` rows, in display order.

    Output columns: :data:`~salesml.health.interventions.ACTION_COLUMNS`, with
    ``health_score`` rounded to whole points and ``change`` as signed text (``+12``).
    """
    if weekly is None:
        return None
    rows = weekly.actions[list(ACTION_COLUMNS)].head(top_n)
    return rows.assign(
        health_score=_points(rows["health_score"]),
        change=_signed_points(rows["change"]),
    )


def group_rows(weekly: WeeklyHealth | None, by: str) -> pd.DataFrame | None:
    """Open deals by ``region`` or ``rep_id``.

    Output columns: ``by``, ``open_deals``, ``pipeline`` (yuan), ``mean_score``
    (whole points), ``at_risk_deals``.
    """
    if weekly is None:
        return None
    g = weekly.by_region if by == "region" else weekly.by_rep
    return g.rename(columns={"at_risk": "at_risk_deals"}).assign(
        open_deals=g["open_deals"].astype("int64"),
        mean_score=_points(g["mean_score"]),
        at_risk_deals=g["at_risk"].astype("int64"),
    )


def mover_rows(weekly: WeeklyHealth | None) -> pd.DataFrame | None:
    """Deals whose score moved most in the 7 days before the review.

    Output columns: ``deal_id``, ``owner``, ``amount``, ``health_score`` and
    ``score_7d_before`` (whole points), ``change`` (signed text, ``+12``).
    """
    if weekly is None:
        return None
    m = weekly.movers
    return m.rename(columns={"previous": "score_7d_before"}).assign(
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
    """The model card (``item``, ``value``) for people: counts with separators, the base
    win rate as a percentage, methods and the band rule in ``lang``."""
    if weekly is None:
        return None
    m = weekly.model
    shown = {
        "engine": t(f"deal_health_weekly.method.{m.engine_}", lang),
        "labelled deals": f"{m.n_closed_deals_:,}",
        "labelled snapshots": f"{m.n_rows_:,}",
        "base win rate": f"{m.base_rate_:.1%}",
        "calibration": t(f"deal_health_weekly.method.{m.calibrator_['method']}", lang),
        "bands (score)": band_rule(weekly, lang),
    }
    if m.calibration_window_ is not None:
        a, b = m.calibration_window_
        shown["calibration slice"] = t(
            "deal_health_weekly.calibration_slice",
            lang,
            start=f"{a:%Y-%m-%d}",
            end=f"{b:%Y-%m-%d}",
            rows=f"{m.n_calibration_rows_:,}",
        )
    card = m.summary.copy()
    card["value"] = [shown.get(i, v) for i, v in zip(card["item"], card["value"], strict=True)]
    return card


def backtest_rows(weekly: WeeklyHealth | None) -> pd.DataFrame | None:
    """Pooled backtest metrics of the model and both baselines (``None`` if not run).

    Output columns: ``model`` (``health_model``, ``stage_baseline``, ``rules_baseline``),
    ``auc``, ``brier``, ``log_loss``, ``ece``, ``n_snapshots`` (snapshots scored, an integer).
    """
    if weekly is None or weekly.backtest is None:
        return None
    m = weekly.backtest.metrics[["model", "auc", "brier", "log_loss", "ece", "n"]]
    return m.rename(columns={"n": "n_snapshots"}).assign(
        model=m["model"].replace({"model": "health_model"}),
        n_snapshots=m["n"].round().astype("int64"),
    )


REPORT = ReportSpec(
    name="deal_health_weekly",
    params=DealHealthWeeklyParams,
    description="At-risk deals with reasons and actions, score distribution, movers, model card.",
    tables=("deals", "stage_history"),
)
