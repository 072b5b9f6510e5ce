"""``deal_health_weekly``: at-risk deals with reasons and actions, movers, model card.

Declared as sections (:mod:`salesml.reports.sections`), like ``pipeline_weekly``: one
:func:`~salesml.health.weekly_health` call at the period's review instant (the instant
the ``deal_whatif`` app uses too) is the ``actions`` section's analysis, computed once;
the other sections show that same review. The notebook
``notebooks/reports/deal_health_weekly.ipynb`` is an import, the parameters cell,
``report = start_report("deal_health_weekly", globals())`` and one
``report.section(name)`` per cell: what the card says first (``findings``), then
``actions``, ``distribution``, ``movers`` and ``card``.

When the dataset holds too few closed deals to fit any model the review is a
:class:`NoHealthModel` (the reason, said under the findings heading) and the other
sections show their headings and notes only. Row functions format for people only
(whole points, money in the dataset's currency); they compute nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from salesml.health import WeeklyHealth, describe_bands, weekly_health
from salesml.health.interventions import ACTION_COLUMNS
from salesml.i18n import money
from salesml.plotting.health import calibration_curve, score_distribution
from salesml.reports.params import ReportParams
from salesml.reports.registry import ReportSpec
from salesml.reports.sections import Section, Table
from salesml.scoring import InsufficientDataError

if TYPE_CHECKING:
    from plotly.graph_objects import Figure

    from salesml.reports.notebook import Report

__all__ = [
    "REPORT",
    "SECTIONS",
    "DealHealthWeeklyParams",
    "NoHealthModel",
    "at_risk_rows",
    "backtest_rows",
    "band_rule",
    "calibration_rows",
    "card_note_key",
    "group_rows",
    "model_card_rows",
    "mover_rows",
    "review",
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


@dataclass(frozen=True)
class NoHealthModel:
    """The review when no health model could be fit (too few closed deals, one outcome).

    Attributes
    ----------
    detail
        Why, as :class:`~salesml.scoring.InsufficientDataError` said it.
    """

    detail: str


def _weekly(review: WeeklyHealth | NoHealthModel | None) -> WeeklyHealth | None:
    """The review if a model was fit, else ``None`` (what the row functions take)."""
    return review if isinstance(review, WeeklyHealth) else None


def review(report: Report) -> WeeklyHealth | NoHealthModel:
    """The review of the report's period and region: one
    :func:`~salesml.health.weekly_health` call at the period's review instant.

    A :class:`NoHealthModel` (said under the findings heading) when the dataset holds
    too few closed deals to fit a model; a missing table skips the report's sections
    (:class:`~salesml.data.MissingTableError`, handled by the sections API).
    """
    p = report.params
    try:
        return weekly_health(
            report.data,
            period=report.period,
            filters=report.filters,
            horizon_days=p.horizon_days,  # type: ignore[attr-defined]
            backtest_origins=p.backtest_origins,  # type: ignore[attr-defined]
            lang=report.lang,
            fingerprint=report.fingerprint,
        )
    except InsufficientDataError as e:
        return NoHealthModel(str(e))


def _findings(report: Report) -> list[str]:
    """What a reader must know before the scores: the verdict against the baselines,
    leaking features, features that could not be computed, then the counts; or why no
    model could be fit."""
    got = report.result("actions")
    if isinstance(got, NoHealthModel):
        return [report.t("deal_health_weekly.insufficient", detail=got.detail)]
    return got.key_findings(report.lang) if got is not None else []


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


# ---------------------------------------------------------------------- notes and figures
def _actions_note(
    review: WeeklyHealth | NoHealthModel | None, report: Report
) -> tuple[str, dict[str, Any]]:
    """How to read the action list: the horizon and the band rule (the default bands
    when no model was fit)."""
    return "deal_health_weekly.actions_note", {
        "horizon": report.params.horizon_days,  # type: ignore[attr-defined]
        "bands": band_rule(_weekly(review), report.lang),
    }


def _card_note(review: WeeklyHealth | NoHealthModel | None, report: Report) -> str:
    return card_note_key(_weekly(review))


def _distribution_figure(
    review: WeeklyHealth | NoHealthModel | None, *, lang: str = "en"
) -> Figure | None:
    """Histogram of the open deals' scores by region (``None`` without a model)."""
    weekly = _weekly(review)
    if weekly is None:
        return None
    return score_distribution(weekly.scored, by="region", lang=lang)


def _calibration_figure(
    review: WeeklyHealth | NoHealthModel | None, *, lang: str = "en"
) -> Figure | None:
    """The backtest's reliability diagram (``None`` without a backtest)."""
    rows = calibration_rows(_weekly(review))
    return None if rows is None else calibration_curve(rows, lang=lang)


SECTIONS: tuple[Section, ...] = (
    Section("findings", title="deal_health_weekly.findings", uses="actions", findings=_findings),
    Section(
        "actions",
        # "Deals to act on this week" on a weekly run (``.week``), "... now" otherwise
        title="deal_health_weekly.actions",
        note=_actions_note,
        compute=review,
        tables=(
            Table(
                rows=lambda res, r: at_risk_rows(_weekly(res), r.params.top_n),
                labels=("band",),
            ),
        ),
    ),
    Section(
        "distribution",
        title="deal_health_weekly.distribution",
        uses="actions",
        figure=_distribution_figure,
        tables=(
            Table(rows=lambda res, r: group_rows(_weekly(res), "region"), labels=("region",)),
            Table(rows=lambda res, r: group_rows(_weekly(res), "rep_id")),
        ),
    ),
    Section(
        "movers",
        title="deal_health_weekly.movers",
        uses="actions",
        tables=(Table(rows=lambda res, r: mover_rows(_weekly(res))),),
    ),
    Section(
        "card",
        title="deal_health_weekly.card",
        uses="actions",
        note=_card_note,
        figure=_calibration_figure,
        tables=(
            Table(
                rows=lambda res, r: model_card_rows(_weekly(res), r.lang),
                labels=("item",),
                max_rows=60,
            ),
            Table(rows=lambda res, r: backtest_rows(_weekly(res)), labels=("model",), decimals=3),
        ),
    ),
)

REPORT = ReportSpec(
    name="deal_health_weekly",
    params=DealHealthWeeklyParams,
    description="At-risk deals with reasons and actions, score distribution, movers, model card.",
    tables=("deals",),
    # only what deal health reads (every activity, quote and collaboration of a big
    # dataset, but not its leads, costs, payments...)
    loads=("deals", "stage_history", "activities", "quotes", "collab_events", "customers", "reps"),
    sections=SECTIONS,
    cadence="week",
)
