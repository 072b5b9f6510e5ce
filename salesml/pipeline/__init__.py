"""Pipeline analytics: the funnel, stage conversion breakpoints, stage durations, lead leakage.

Every function takes a :class:`~salesml.data.SalesData` and keyword options
(``by``, ``period``, ``filters``) and returns a small result object with a ``.table``
DataFrame, ``summary()``, ``findings()`` / ``key_findings(lang)`` and a Jupyter card::

    from salesml.pipeline import funnel, funnel_breakpoints
    f = funnel(data, by="region", period="2026-Q1")
    b = funnel_breakpoints(data, by="region")
"""

from __future__ import annotations

from salesml.pipeline.findings import Finding, key_findings
from salesml.pipeline.funnel import FunnelResult, funnel
from salesml.pipeline.periods import (
    PeriodLike,
    last_complete_period,
    mask_period,
    parse_period,
    period_label,
)

__all__ = [
    "Finding",
    "FunnelResult",
    "PeriodLike",
    "funnel",
    "key_findings",
    "last_complete_period",
    "mask_period",
    "parse_period",
    "period_label",
]
