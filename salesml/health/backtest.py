"""Rolling-origin backtest of deal health against its two baselines, without leakage.

At each origin ``o`` the model is trained only on snapshots taken before ``o`` whose
label was already known at ``o`` (closed by then, or horizon over), and is scored on
the deals open at ``o``; their labels come from the later data. The baselines (the
historic win rate by stage; a logistic regression on the rule signals alone) run on
exactly the same rows. The machinery is :func:`salesml.scoring.rolling_origin`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from salesml.data.bundle import SalesData
from salesml.filters import FilterLike, FilterSpec
from salesml.health.baselines import health_baselines
from salesml.health.model import DealHealthModel
from salesml.health.scope import deal_mask
from salesml.health.snapshots import deal_snapshots
from salesml.periods import PeriodLike, as_period
from salesml.scoring.backtest import BacktestResult, rolling_origin
from salesml.scoring.metrics import (
    calibration_table,
    classification_metrics,
    expected_calibration_error,
)

__all__ = [
    "BacktestResult",
    "backtest",
    "calibration_table",
    "classification_metrics",
    "expected_calibration_error",
]


def backtest(
    data: SalesData,
    *,
    start: str | pd.Timestamp | None = None,
    end: str | pd.Timestamp | None = None,
    period: PeriodLike | None = None,
    freq: str = "MS",
    horizon_days: int | None = 90,
    snapshot_freq: str = "W-MON",
    history_start: str | pd.Timestamp | None = None,
    snapshots: pd.DataFrame | None = None,
    model_kwargs: dict[str, Any] | None = None,
    filters: FilterLike = None,
) -> BacktestResult:
    """Rolling-origin backtest of :class:`DealHealthModel` and two baselines.

    Parameters
    ----------
    data
        The full dataset.
    start, end, freq
        Origins: ``pandas.date_range(start, end, freq=freq)``.
    period
        Instead of ``start``/``end``: every origin at ``freq`` inside this period.
    horizon_days
        Label horizon (see :func:`deal_snapshots`).
    snapshot_freq
        Frequency of the training snapshots taken between ``history_start`` and the
        last origin (weekly by default; origins are always added).
    history_start
        First training snapshot date (default: the month start after the first deal).
    snapshots
        Precomputed snapshots (from :func:`deal_snapshots` on ``data`` with the same
        horizon) to reuse; origins they lack are built and added.
    model_kwargs
        Settings for :class:`DealHealthModel`.
    filters
        Score only the held-out deals these filters keep (a region, say); the models
        still learn from every deal.

    Returns
    -------
    BacktestResult
        ``table``: pooled ``auc``, ``brier``, ``log_loss``, ``ece``, ``n`` of
        ``model``, ``stage_baseline`` and ``rules_baseline``; see
        :class:`salesml.scoring.BacktestResult`.
    """
    p = as_period(period)
    if p is not None:
        origins = pd.date_range(p.start, p.end - pd.Timedelta(seconds=1), freq=freq)
    else:
        if start is None or end is None:
            raise ValueError("give the backtest origins as start and end, or as a period")
        origins = pd.date_range(pd.Timestamp(start), pd.Timestamp(end), freq=freq)
    if not len(origins):
        raise ValueError(f"no origin between {start} and {end} at frequency {freq!r}")
    if snapshots is None:
        first = (
            pd.Timestamp(history_start)
            if history_start is not None
            else (
                pd.Timestamp(data.deals["created_at"].min()).normalize() + pd.offsets.MonthBegin(1)
            )
        )
        dates = pd.date_range(first, origins[-1], freq=snapshot_freq).union(origins)
        snapshots = deal_snapshots(data, as_of=dates, horizon_days=horizon_days)
    have = set(pd.DatetimeIndex(snapshots["as_of"].unique()))
    absent = [o for o in origins if o not in have]
    if absent:
        # origins the given snapshots lack are built from the same data
        more = deal_snapshots(data, as_of=absent, horizon_days=horizon_days, fingerprint=False)
        attrs = snapshots.attrs
        snapshots = pd.concat([snapshots, more], ignore_index=True)
        snapshots.attrs = attrs
    spec = FilterSpec.parse(filters)
    kwargs = dict(model_kwargs or {})

    def evaluate(test: pd.DataFrame) -> np.ndarray:
        return deal_mask(test, spec, data)

    return rolling_origin(
        snapshots,
        origins=list(origins),
        make_model=lambda: DealHealthModel(**kwargs),
        make_baselines=health_baselines,
        keep=("stage",),
        evaluate=evaluate if spec else None,
        reference="stage_baseline",
        settings={
            "start": f"{origins[0]:%Y-%m-%d}",
            "end": f"{origins[-1]:%Y-%m-%d}",
            "freq": freq,
            "horizon_days": horizon_days,
            "snapshot_freq": snapshot_freq,
        },
    )
