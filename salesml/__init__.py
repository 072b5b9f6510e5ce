"""salesml: a Jupyter-native analytics and ML workbench for sales organisations.

The names a notebook needs most are re-exported here (imported lazily)::

    import salesml
    data, truth = salesml.simulate(preset="demo", seed=0)
    data = salesml.load_dataset("datasets/demo")
    salesml.funnel_breakpoints(data)              # where the funnel leaks
    salesml.cac(salesml.allocate_costs(data))     # CAC with intervals
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "DatasetConfig": "salesml.data.config",
    "MissingTableError": "salesml.data.bundle",
    "SalesData": "salesml.data.bundle",
    "load_dataset": "salesml.data.io",
    "save_dataset": "salesml.data.io",
    "simulate": "salesml.simulator",
    "Truth": "salesml.simulator",
    # pipeline
    "funnel": "salesml.pipeline",
    "funnel_breakpoints": "salesml.pipeline",
    "stage_durations": "salesml.pipeline",
    "lead_leakage": "salesml.pipeline",
    "key_findings": "salesml.pipeline",
    # impact measurement
    "impact": "salesml.impact",
    "kpi_series": "salesml.impact",
    # cost attribution and CAC
    "allocate_costs": "salesml.attribution",
    "cac": "salesml.attribution",
    "roi": "salesml.attribution",
    "what_if": "salesml.attribution",
    "journeys": "salesml.attribution",
    "touch_attribution": "salesml.attribution",
    # deal health
    "deal_snapshots": "salesml.health",
    "health_signals": "salesml.health",
    "DealHealthModel": "salesml.health",
    "backtest": "salesml.health",
    "interventions": "salesml.health",
    # tiering and follow-ups
    "tier_customers": "salesml.rules",
    "due_followups": "salesml.rules",
    "customer_metrics": "salesml.rules",
    # lead potential
    "lead_snapshots": "salesml.potential",
    "PotentialModel": "salesml.potential",
    "visit_plan": "salesml.potential",
    # rep capability
    "capability_scores": "salesml.capability",
    "capability_trend": "salesml.capability",
    "regroup": "salesml.capability",
    # reports
    "run_report": "salesml.reports",
}

__all__ = ["__version__", *sorted(_EXPORTS)]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'salesml' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__
