"""``pipeline_weekly``: funnel, breakpoints, stage durations and lead leakage for a period."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from salesml.filters import DIMENSIONS
from salesml.pipeline import BreakpointResult, DurationResult, FunnelResult
from salesml.reports.params import ReportParams
from salesml.reports.registry import ReportSpec

__all__ = [
    "REPORT",
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


REPORT = ReportSpec(
    name="pipeline_weekly",
    params=PipelineWeeklyParams,
    description="Funnel conversion, regional breakpoints, stage durations and lead leakage.",
    tables=("deals",),
    loads=("reps", "customers", "leads", "deals", "stage_history"),
)
