"""Calendar effects a KPI series is adjusted for: Chinese New Year and the yearly cycle."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["CNY", "calendar_features"]

#: First day of the lunar year (public calendar).
CNY: dict[int, str] = {
    2018: "2018-02-16",
    2019: "2019-02-05",
    2020: "2020-01-25",
    2021: "2021-02-12",
    2022: "2022-02-01",
    2023: "2023-01-22",
    2024: "2024-02-10",
    2025: "2025-01-29",
    2026: "2026-02-17",
    2027: "2027-02-06",
    2028: "2028-01-26",
    2029: "2029-02-13",
    2030: "2030-02-03",
    2031: "2031-01-23",
    2032: "2032-02-11",
}
#: Days around the new year (from, to) of the holiday and of the return to work.
HOLIDAY = (-7, 10)
REBOUND = (11, 30)


def calendar_features(periods: pd.DatetimeIndex, period_end: pd.DatetimeIndex) -> pd.DataFrame:
    """Per period: the share of its days in the New Year holiday and in the rebound
    after it, and the yearly cycle (``sin``/``cos`` of the day of year at mid-period).

    Parameters
    ----------
    periods, period_end
        First day of each period and the first day after it.

    Returns
    -------
    pandas.DataFrame
        Columns ``cny``, ``cny_rebound``, ``year_sin``, ``year_cos``, one row per period.
    """
    lo, hi = periods.min(), period_end.max()
    days = pd.date_range(lo, hi - pd.Timedelta(days=1), freq="D")
    off = np.full(len(days), 10_000)
    for year in range(lo.year - 1, hi.year + 2):
        if year in CNY:
            d = (days - pd.Timestamp(CNY[year])).days.to_numpy()
            off = np.where(np.abs(d) < np.abs(off), d, off)
    hol = ((off >= HOLIDAY[0]) & (off <= HOLIDAY[1])).astype(float)
    reb = ((off >= REBOUND[0]) & (off <= REBOUND[1])).astype(float)
    pos = np.searchsorted(periods.to_numpy(), days.to_numpy(), side="right") - 1
    n = np.bincount(pos, minlength=len(periods)).astype(float)
    mid = periods + (period_end - periods) / 2
    angle = 2 * np.pi * mid.day_of_year.to_numpy() / 365.25
    with np.errstate(invalid="ignore"):
        return pd.DataFrame(
            {
                "cny": np.bincount(pos, hol, len(periods)) / n,
                "cny_rebound": np.bincount(pos, reb, len(periods)) / n,
                "year_sin": np.sin(angle),
                "year_cos": np.cos(angle),
            },
            index=periods,
        )
