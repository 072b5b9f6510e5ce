"""Pipeline analytics: the funnel, stage conversion breakpoints, stage durations, lead leakage.

Every function follows the analysis contract of :mod:`salesml.results`:
``f(data, *, period=None, as_of=None, filters=None, by=None, ...)`` with keyword-only
options, a :class:`~salesml.periods.Period` (or its text) for ``period`` and a
:class:`~salesml.filters.FilterSpec` (or what it parses) for ``filters``; each returns
an :class:`~salesml.results.AnalysisResult` with a documented ``.table``,
``summary()``, ``key_findings(lang)``, ``notes`` and a Jupyter card::

    from salesml.periods import Period
    from salesml.pipeline import funnel, funnel_breakpoints, key_findings
    q1 = Period.parse("2026-Q1")
    f = funnel(data, period=q1, by="region")
    b = funnel_breakpoints(data, period=q1, by="region")
    key_findings(f, b, lang="zh")

``region`` means the customer's region, or the owning rep's when ``dataset.yaml``
declares ``region_source: rep`` (``customer_region`` and ``rep_region`` name either
explicitly). A deals-only dataset (no ``stage_history``) still gets a funnel (from
``deals.stage``) and the sales cycle (``created_at`` to ``closed_at``); what the data
cannot measure is marked and explained in the result's notes.

Integer views of the deals are cached per table object (a dashboard recomputes the
same data with new filters); tables are read-only by convention, so call
:func:`clear_cache` after changing one in place.
"""

from __future__ import annotations

from salesml.pipeline.breakpoints import BreakpointResult, funnel_breakpoints
from salesml.pipeline.durations import CYCLE, DurationResult, stage_durations
from salesml.pipeline.findings import Finding, PipelineResult, key_findings
from salesml.pipeline.funnel import WON, FunnelResult, funnel
from salesml.pipeline.index import clear_cache
from salesml.pipeline.leakage import UNEXPLAINED, LeakageResult, lead_leakage

__all__ = [
    "CYCLE",
    "UNEXPLAINED",
    "WON",
    "BreakpointResult",
    "DurationResult",
    "Finding",
    "FunnelResult",
    "LeakageResult",
    "PipelineResult",
    "clear_cache",
    "funnel",
    "funnel_breakpoints",
    "key_findings",
    "lead_leakage",
    "stage_durations",
]
