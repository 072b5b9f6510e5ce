"""``pipeline_weekly``: funnel, breakpoints, stage durations and lead leakage for a period.

The worked example of a report declared as sections: the parameters (one schema),
then one :class:`~salesml.reports.sections.Section` per part of the page, each naming
its title, the analysis call, the figure and the table formats. The notebook
``notebooks/reports/pipeline_weekly.ipynb`` is imports, the parameters cell,
``report = start_report("pipeline_weekly", globals())`` and one
``report.section(name)`` per cell.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

from salesml.filters import DIMENSIONS
from salesml.pipeline import (
    BreakpointResult,
    DurationResult,
    FunnelResult,
    LeakageResult,
    funnel,
    funnel_breakpoints,
    key_findings,
    lead_leakage,
    stage_durations,
)
from salesml.plotting.pipeline import (
    breakpoint_heatmap,
    funnel_chart,
    lead_loss_bars,
    stage_duration_bars,
)
from salesml.reports.params import ReportParams
from salesml.reports.registry import ReportSpec
from salesml.reports.sections import Section, Table

if TYPE_CHECKING:
    from salesml.reports.notebook import Report

__all__ = [
    "REPORT",
    "SECTIONS",
    "PipelineWeeklyParams",
    "breakpoint_rows",
    "duration_rows",
    "funnel_rows",
]


@dataclass(frozen=True)
class PipelineWeeklyParams(ReportParams):
    """Parameters of ``pipeline_weekly``.

    Parameters
    ----------
    dataset, period, region, lang
        See :class:`~salesml.reports.params.ReportParams`. ``period`` selects the
        deal cohort (deals created in it) and the leads created in it.
    breakpoints_by
        Dimension the breakpoint table compares groups on (``region``, ``segment``,
        ``channel``, ``team``...).
    n_findings
        How many key findings the summary lists.
    """

    breakpoints_by: str = "region"
    n_findings: int = 3

    def __post_init__(self) -> None:
        super().__post_init__()
        allowed = sorted(set(DIMENSIONS) | {"rep_id", "product_line"})
        if self.breakpoints_by not in allowed:
            raise ValueError(
                f"breakpoints_by must be one of {', '.join(allowed)}; got {self.breakpoints_by!r}"
            )
        self._check_between("n_findings", 1, 10)


# ---------------------------------------------------------------------- the analysis calls
def _funnel(r: Report) -> FunnelResult:
    return funnel(r.data, period=r.period, filters=r.filters)


def _breakpoints(r: Report) -> BreakpointResult:
    by = r.params.breakpoints_by  # type: ignore[attr-defined]
    return funnel_breakpoints(r.data, by=by, period=r.period, filters=r.filters_except(by))


def _durations(r: Report) -> DurationResult:
    return stage_durations(r.data, period=r.period, filters=r.filters)


def _leakage(r: Report) -> LeakageResult:
    # leads carry no region until they convert: the section says so (scope_note)
    return lead_leakage(r.data, period=r.period)


def _findings(r: Report) -> list[str]:
    results = r.results("funnel", "breakpoints", "durations", "leakage")
    return key_findings(*results, lang=r.lang, n=r.params.n_findings)  # type: ignore[attr-defined]


# ---------------------------------------------------------------------- the rows shown
def funnel_rows(result: FunnelResult | None) -> pd.DataFrame | None:
    """The funnel table of the report (``None`` when the funnel was skipped).

    Output columns: ``stage``, ``reached``, ``open_here``, ``lost_here``,
    ``conversion``, ``cum_conversion`` (see :class:`~salesml.pipeline.FunnelResult`).
    """
    if result is None:
        return None
    cols = ["stage", "reached", "open_here", "lost_here", "conversion", "cum_conversion"]
    return result.overall()[cols]


def breakpoint_rows(
    result: BreakpointResult | None, region: str | None, by: str
) -> pd.DataFrame | None:
    """The breakpoint rows to show: the selected group's stages, else the flagged and worst gaps.

    Output columns: the ``by`` dimension, ``stage``, ``decided``, ``conversion``,
    ``baseline``, ``gap_pp``, ``p_adjusted``, ``breakpoint`` (``None`` when skipped).
    """
    if result is None:
        return None
    t = result.table
    if region and by == "region" and "region" in t:
        rows = t[t["region"] == region].sort_values("step")
    else:
        flagged = t[t["breakpoint"]]
        rows = flagged if len(flagged) >= 5 else t.nsmallest(5, "gap_pp")
    cols = [*result.by, "stage", "decided", "conversion", "baseline", "gap_pp", "p_adjusted"]
    out = rows[[c for c in [*cols, "breakpoint"] if c in rows]].reset_index(drop=True)
    if "p_adjusted" in out:  # small p-values must not print as 0.00
        out["p_adjusted"] = out["p_adjusted"].map(
            lambda p: "" if pd.isna(p) else f"{p:.1e}" if p < 0.001 else f"{p:.3f}"
        )
    return out


def duration_rows(result: DurationResult | None) -> pd.DataFrame | None:
    """Days in each stage for the whole selection (``None`` when skipped).

    Output columns: ``stage``, ``stays``, ``open``, ``median_days``, ``p90_days``,
    ``km_median_days``, ``km_p90_days`` (see :class:`~salesml.pipeline.DurationResult`).
    """
    if result is None:
        return None
    cols = ["stage", "stays", "open", "median_days", "p90_days", "km_median_days", "km_p90_days"]
    return result.overall[cols]


SECTIONS: tuple[Section, ...] = (
    Section("findings", title="report.findings", findings=_findings),
    Section(
        "funnel",
        title="pipeline_weekly.funnel",
        note="pipeline_weekly.funnel_note",
        compute=_funnel,
        figure=funnel_chart,
        tables=(
            Table(
                rows=lambda res, r: funnel_rows(res),
                percent=("conversion", "cum_conversion"),
                labels=("stage",),
            ),
        ),
    ),
    Section(
        "breakpoints",
        title="pipeline_weekly.breakpoints",
        note="pipeline_weekly.breakpoints_note",
        compute=_breakpoints,
        figure=breakpoint_heatmap,
        tables=(
            Table(
                rows=lambda res, r: breakpoint_rows(res, r.params.region, r.params.breakpoints_by),
                percent=("conversion", "baseline"),
                decimals=2,
                labels=("stage",),
            ),
        ),
    ),
    Section(
        "durations",
        title="pipeline_weekly.durations",
        compute=_durations,
        figure=stage_duration_bars,
        tables=(Table(rows=lambda res, r: duration_rows(res), labels=("stage",)),),
    ),
    Section(
        "leakage",
        title="pipeline_weekly.leakage",
        scope_note="pipeline_weekly.leakage_scope",
        compute=_leakage,
        figure=lead_loss_bars,
        tables=(
            Table(rows="reasons", percent=("share_of_lost",), labels=("reason",)),
            Table(
                rows="by_channel",
                percent=("unexplained_share", "conversion_rate"),
                labels=("channel",),
            ),
        ),
    ),
)

REPORT = ReportSpec(
    name="pipeline_weekly",
    params=PipelineWeeklyParams,
    description="Funnel conversion, regional breakpoints, stage durations and lead leakage.",
    tables=("deals",),
    loads=("reps", "customers", "leads", "deals", "stage_history"),
    sections=SECTIONS,
    cadence="week",
)
