"""Impact measurement: did a process change really move the KPIs, with honest intervals.

- :func:`kpi_series`: the KPIs the data supports as period series, each a ratio of a
  numerator and a denominator defined once (:data:`KPIS`); the seed's KPIs the data
  model cannot measure are listed with the table they would need.
"""

from __future__ import annotations

from salesml.impact.kpis import KPIS, NOT_MEASURABLE, KpiDef, KpiSeriesResult, kpi_series

__all__ = ["KPIS", "NOT_MEASURABLE", "KpiDef", "KpiSeriesResult", "kpi_series"]
