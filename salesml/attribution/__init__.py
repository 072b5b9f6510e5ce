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
from salesml.attribution.cac import acquisition_units, cac, roi, what_if

__all__ = [
    "Allocation",
    "RuleError",
    "acquisition_units",
    "allocate_costs",
    "cac",
    "default_rules",
    "driver_frame",
    "load_rules",
    "roi",
    "what_if",
]
