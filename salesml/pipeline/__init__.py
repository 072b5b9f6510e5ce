"""Pipeline analytics: the funnel, stage conversion breakpoints, stage durations, lead leakage.

Every function takes a :class:`~salesml.data.SalesData` and keyword options
(``by``, ``period``, ``filters``) and returns a small result object with a ``.table``
DataFrame, ``summary()``, ``findings()`` / ``key_findings(lang)`` and a Jupyter card::

    from salesml.pipeline import funnel, funnel_breakpoints, key_findings
    f = funnel(data, by="region", period="2026-Q1")
    b = funnel_breakpoints(data, by="region", period="2026-Q1")
    key_findings(f, b, lang="zh")

Integer views of the deals are cached per table object (a dashboard recomputes the
same data with new filters); tables are read-only by convention, so call
:func:`clear_cache` after changing one in place.
"""

from __future__ import annotations

from salesml.periods import (
    PeriodLike,
    last_complete_period,
    mask_period,
    parse_period,
    period_label,
)
from salesml.pipeline._common import clear_cache
from salesml.pipeline.breakpoints import BreakpointResult, funnel_breakpoints
from salesml.pipeline.durations import DurationResult, stage_durations
from salesml.pipeline.findings import Finding, key_findings
from salesml.pipeline.funnel import FunnelResult, funnel
from salesml.pipeline.leakage import LeakageResult, lead_leakage

__all__ = [
    "BreakpointResult",
    "DurationResult",
    "Finding",
    "FunnelResult",
    "LeakageResult",
    "PeriodLike",
    "clear_cache",
    "funnel",
    "funnel_breakpoints",
    "key_findings",
    "last_complete_period",
    "lead_leakage",
    "mask_period",
    "parse_period",
    "period_label",
    "stage_durations",
]
