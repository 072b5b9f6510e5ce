"""Opt-in planted behaviour for impact measurement: a staggered go-live and KPI seasonality.

Both are off by default, so every dataset generated without them is unchanged.

- ``staggered_go_live=True``: the regions go live one after another, in the order of
  :data:`~salesml.simulator.params.REGIONS`, ``step`` months apart around the
  configured go-live month (``step = max(1, months // 9)``: two months in the demo).
  Each KPI effect then applies from the go-live of the region of the lead, deal or
  request (:attr:`Truth.region_go_live`).
- ``kpi_seasonality=True``: response times (first response to leads, cross-team
  responses) are slower around Chinese New Year: x(1 + :data:`SEASON_HOLIDAY`) from 7
  days before to 10 days after the new year, x(1 + :data:`SEASON_REBOUND`) for the 20
  days after that. A naive before/after comparison whose "before" holds the holiday
  overstates the improvement; an estimate that models the calendar does not.

Neither draws random numbers: the dates and factors are deterministic functions of the
configuration, so switching them on changes no draw of any other step.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from salesml.simulator.config import SimulationConfig
from salesml.simulator.params import REGIONS

__all__ = [
    "SEASON_HOLIDAY",
    "SEASON_REBOUND",
    "go_live_of",
    "region_go_live_days",
    "season",
]

SEASON_HOLIDAY = 0.6
SEASON_REBOUND = 0.2


def region_go_live_days(cfg: SimulationConfig, t0p: pd.Timestamp, go_live_month: int) -> np.ndarray:
    """Each region's go-live (days since the start), ``step`` months apart.

    The middle region goes live at ``go_live_month``; every date is kept at least two
    months inside the window.
    """
    step = max(1, cfg.months // 9)
    n = len(REGIONS)
    months = go_live_month + (np.arange(n) - n // 2) * step
    months = np.clip(months, 2, cfg.months - 2)
    return np.array([float((t0p + pd.DateOffset(months=int(m)) - t0p).days) for m in months])


def go_live_of(w: object, region: np.ndarray) -> float | np.ndarray:
    """The go-live (days since the start) that applies to entities of ``region``.

    The single go-live when the rollout is not staggered (a scalar, as before).
    """
    per_region = getattr(w, "region_go_live", None)
    if per_region is None:
        return w.go_live  # type: ignore[attr-defined]
    return per_region[np.asarray(region, dtype=int)]


def season(t0: np.datetime64, t: np.ndarray) -> np.ndarray:
    """The response-time factor at times ``t`` (float days since ``t0``)."""
    from salesml.simulator.world import cny_dates

    t = np.asarray(t, dtype=float)
    start = pd.Timestamp(t0)
    days = np.floor(np.nan_to_num(t, nan=0.0))
    off = np.full(t.shape, 10_000.0)
    for cny in cny_dates(range(start.year - 1, start.year + 6)):
        d = days - float((cny - start).days)
        off = np.where(np.abs(d) < np.abs(off), d, off)
    out = np.ones(t.shape)
    out[(off >= -7) & (off <= 10)] += SEASON_HOLIDAY
    out[(off > 10) & (off <= 30)] += SEASON_REBOUND
    return out
