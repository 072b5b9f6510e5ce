"""salesml.attribution: cost allocation, CAC and ROI with intervals, multi-touch attribution."""

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
