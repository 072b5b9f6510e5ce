"""Impact measurement: did a process change really move the KPIs, with honest intervals.

- :func:`kpi_series`: the KPIs the data supports as period series, each a ratio of a
  numerator and a denominator defined once (:data:`KPIS`); the seed's KPIs the data
  model cannot measure are listed with the table they would need.
- :func:`impact`: for each KPI the baseline, the observed value after the go-live, the
  effect (absolute and relative) with a 95% interval and the naive before/after
  difference, by interrupted time series (``its``), staggered difference-in-differences
  (``did``) or a structural time-series counterfactual (``sts``).
"""

from __future__ import annotations

from salesml.impact.estimate import METHODS, ImpactResult, impact, parse_go_live
from salesml.impact.its import Estimate, ImpactInputError
from salesml.impact.kpis import KPIS, NOT_MEASURABLE, KpiDef, KpiSeriesResult, kpi_series

__all__ = [
    "KPIS",
    "METHODS",
    "NOT_MEASURABLE",
    "Estimate",
    "ImpactInputError",
    "ImpactResult",
    "KpiDef",
    "KpiSeriesResult",
    "impact",
    "kpi_series",
    "parse_go_live",
]
