"""salesml.attribution: cost allocation, CAC and ROI with intervals, multi-touch attribution.

Every analysis is ``f(data_or_allocation, *, period=None, as_of=None, filters=None, ...)``
and returns a result object (``.table``, ``summary()``, ``key_findings(lang)``, a card in
Jupyter)::

    from salesml.attribution import allocate_costs, cac, roi, what_if, journeys, touch_attribution

    alloc = allocate_costs(data)                        # default rules (default_rules.yaml)
    alloc.unallocated                                   # what could not be bound, and why
    alloc.cost_path("D000123")                          # which cost lines reached one deal
    cac(alloc).table                                    # CAC by channel, 95% bootstrap intervals
    cac(alloc, by="all", period="2026-09")              # channel x visit band x cycle band
    roi(alloc, filters={"region": "华东"})              # won revenue / allocated cost
    what_if(alloc, budget_shift={"wechat": 1.2})        # milliseconds after the first call
    touch_attribution(data, model=["first", "linear", "markov", "shapley"], period="2026-Q3")
    touch_attribution(path_data, model="markov", order="auto")   # ChannelAttribution's format
    transition_matrix(path_data, order=2).table
    choose_order(path_data).suggested_order

Layout: :mod:`~salesml.attribution.allocation` (rules, drivers, the algorithm, the
result), :mod:`~salesml.attribution.units` (acquisition units),
:mod:`~salesml.attribution.bootstrap`, :mod:`~salesml.attribution.cac` (CAC, ROI,
overall, what-if), :mod:`~salesml.attribution.journeys`,
:mod:`~salesml.attribution.touch` (multi-touch models), :mod:`~salesml.attribution.monthly`
(everything the monthly CAC report shows).
"""

from __future__ import annotations

from salesml.attribution.allocation import (
    DRIVERS,
    REASONS,
    Allocation,
    RuleError,
    allocate_costs,
    default_rules,
    driver_frame,
    load_rules,
)
from salesml.attribution.cac import (
    MONEY_COLUMNS,
    CacResult,
    OverallCac,
    RoiResult,
    WhatIfResult,
    cac,
    overall_cac,
    readable_table,
    roi,
    what_if,
)
from salesml.attribution.journeys import Journeys, journeys
from salesml.attribution.monthly import TOUCH_MODELS, CacMonthly, cac_monthly
from salesml.attribution.touch import (
    MODELS,
    AttributionInputWarning,
    OrderChoice,
    TouchAttribution,
    TransitionMatrix,
    choose_order,
    markov_removal_effects,
    path_table,
    touch_attribution,
    transition_matrix,
)
from salesml.attribution.units import (
    CYCLE_BANDS,
    DIMENSIONS,
    MARKETING_CATEGORIES,
    NOT_ACQUIRED,
    VISIT_BANDS,
    acquisition_units,
)

__all__ = [
    "CYCLE_BANDS",
    "DIMENSIONS",
    "DRIVERS",
    "MARKETING_CATEGORIES",
    "MODELS",
    "MONEY_COLUMNS",
    "NOT_ACQUIRED",
    "REASONS",
    "TOUCH_MODELS",
    "VISIT_BANDS",
    "Allocation",
    "AttributionInputWarning",
    "CacMonthly",
    "CacResult",
    "Journeys",
    "OrderChoice",
    "OverallCac",
    "RoiResult",
    "RuleError",
    "TouchAttribution",
    "TransitionMatrix",
    "WhatIfResult",
    "acquisition_units",
    "allocate_costs",
    "cac",
    "cac_monthly",
    "choose_order",
    "default_rules",
    "driver_frame",
    "journeys",
    "load_rules",
    "markov_removal_effects",
    "overall_cac",
    "path_table",
    "readable_table",
    "roi",
    "touch_attribution",
    "transition_matrix",
    "what_if",
]
