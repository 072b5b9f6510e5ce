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

__all__ = [
    "Allocation",
    "RuleError",
    "allocate_costs",
    "default_rules",
    "driver_frame",
    "load_rules",
]
