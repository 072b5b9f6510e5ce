"""The review instant and the model fit on what was known then (report and app alike)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from salesml.data.bundle import SalesData
from salesml.health.model import DealHealthModel
from salesml.health.snapshots import deal_snapshots
from salesml.periods import PeriodLike, as_period
from salesml.scoring.asof import AsOfFit
from salesml.scoring.asof import fit_as_of as _fit_scoring_as_of

__all__ = ["AsOfFit", "data_end", "fit_as_of", "review_as_of"]


def data_end(data: SalesData) -> pd.Timestamp:
    """The latest dated fact of the dataset."""
    tr = data.time_range
    if tr is None:
        raise ValueError("the dataset has no dated rows: give as_of")
    return pd.Timestamp(tr[1])


def review_as_of(
    data: SalesData,
    *,
    period: PeriodLike | None = None,
    as_of: str | pd.Timestamp | None = None,
) -> pd.Timestamp:
    """The instant a deal-health review looks from.

    ``as_of`` when given; else the last second of ``period``, or the end of the data
    when that is earlier (a review of the current month shows today); else the end of
    the data.
    """
    if as_of is not None:
        return pd.Timestamp(as_of)
    end = data_end(data)
    p = as_period(period)
    if p is None:
        return end
    return min(p.end - pd.Timedelta(seconds=1), end)


def fit_as_of(
    data: SalesData,
    *,
    as_of: str | pd.Timestamp | None = None,
    period: PeriodLike | None = None,
    horizon_days: int = 90,
    history_days: int = 540,
    snapshot_freq: str = "W-MON",
    model_kwargs: dict[str, Any] | None = None,
    fingerprint: str | None = None,
) -> AsOfFit:
    """A :class:`DealHealthModel` fit on what was known at the review instant.

    The ``deal_health_weekly`` report and the ``deal_whatif`` app both call this, so
    for the same dataset and period they score every deal alike.

    Parameters
    ----------
    data
        The dataset (its history after the instant is never used).
    as_of, period
        The instant (:func:`review_as_of`).
    horizon_days
        The health score is P(won within this many days).
    history_days, snapshot_freq
        Training snapshots every ``snapshot_freq`` over the ``history_days`` before it.
    model_kwargs
        Settings for :class:`DealHealthModel`.
    fingerprint
        Dataset fingerprint for the card (default ``data.fingerprint()``: the one a
        report header shows for the same data).

    Returns
    -------
    salesml.scoring.AsOfFit
        ``as_of``, ``model``, ``snapshots`` (every training snapshot), ``training``
        (those fit on), ``fingerprint``.
    """
    data.require("deals", analysis="deal health")
    t = review_as_of(data, period=period, as_of=as_of)

    def snapshots(past: SalesData, **kw: Any) -> pd.DataFrame:
        return deal_snapshots(past, horizon_days=horizon_days, **kw)

    return _fit_scoring_as_of(
        data,
        as_of=t,
        model=DealHealthModel(**(model_kwargs or {})),
        snapshots=snapshots,
        first=pd.Timestamp(data.deals["created_at"].min()),
        history_days=history_days,
        snapshot_freq=snapshot_freq,
        fingerprint=fingerprint,
    )
