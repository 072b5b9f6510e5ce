"""salesml.attribution: cost allocation, CAC and ROI with intervals, multi-touch attribution.

::

    from salesml.attribution import allocate_costs, cac, roi, what_if, journeys, touch_attribution

    alloc = allocate_costs(data)                  # default rules (default_rules.yaml)
    alloc.unallocated                             # what could not be bound, and why
    alloc.cost_path("D000123")                    # which cost lines reached one deal
    cac(alloc, by="channel")                      # CAC with 95% bootstrap intervals
    cac(alloc, by="all", period="2026-09")        # channel x visit band x cycle band
    roi(alloc)                                    # won revenue / allocated cost
    what_if(alloc, budget_shift={"wechat": 1.2})  # milliseconds after the first call
    touch_attribution(journeys(data), ["first", "linear", "markov", "shapley"])
"""

from __future__ import annotations

from salesml.attribution.allocation import (
    Allocation,
    RuleError,
    allocate_costs,
    default_rules,
    driver_frame,
    load_rules,
)
from salesml.attribution.cac import acquisition_units, cac, overall_cac, roi, what_if
from salesml.attribution.journeys import journeys
from salesml.attribution.monthly import CacMonthly, cac_monthly
from salesml.attribution.touch import MODELS, markov_removal_effects, path_table, touch_attribution

__all__ = [
    "MODELS",
    "Allocation",
    "CacMonthly",
    "RuleError",
    "acquisition_units",
    "allocate_costs",
    "cac",
    "cac_monthly",
    "default_rules",
    "driver_frame",
    "journeys",
    "load_rules",
    "markov_removal_effects",
    "overall_cac",
    "path_table",
    "roi",
    "touch_attribution",
    "what_if",
]
