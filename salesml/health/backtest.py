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
from salesml.filters import FilterSpec
from salesml.health.baselines import health_baselines
from salesml.health.model import DealHealthModel
from salesml.health.scope import deal_mask
from salesml.health.snapshots import deal_snapshots, open_deal_count
from salesml.scoring.backtest import BacktestResult
from salesml.scoring.metrics import (
    calibration_table,
    classification_metrics,
    expected_calibration_error,
)
from salesml.scoring.task import ScoringTask, task_backtest

__all__ = [
    "HEALTH_TASK",
    "BacktestResult",
    "backtest",
    "calibration_table",
    "classification_metrics",
    "expected_calibration_error",
]


def _first_deal(data: SalesData) -> pd.Timestamp:
    data.require("deals", analysis="deal health")
    return pd.Timestamp(data.deals["created_at"].min())


def _deal_mask(frame: pd.DataFrame, spec: FilterSpec, data: SalesData) -> np.ndarray:
    return deal_mask(frame, spec, data)


#: Deal health as a scoring task: deal snapshots, :class:`DealHealthModel`, the stage
#: and rules baselines; filters reach the deals' own and joined dimensions.
HEALTH_TASK = ScoringTask(
    build=deal_snapshots,
    first=_first_deal,
    model=DealHealthModel,
    baselines=health_baselines,
    reference="stage_baseline",
    keep=("stage",),
    mask=_deal_mask,
    cuts_itself=True,
    distributed=True,
    count=open_deal_count,
)


def backtest(data: SalesData, **settings: Any) -> BacktestResult:
    """Rolling-origin backtest of :class:`DealHealthModel` and two baselines.

    Parameters
    ----------
    data
        The full dataset.
    **settings
        ``start``, ``end``, ``freq`` (``"MS"``) or ``period`` (the origins);
        ``horizon_days`` (90; ``None``: won at all, see :func:`deal_snapshots`);
        ``snapshot_freq`` (``"W-MON"``) and ``history_start`` (training snapshots);
        ``snapshots`` (precomputed ones to reuse); ``model_kwargs`` (settings for
        :class:`DealHealthModel`); ``filters`` (score only the held-out deals they
        keep, a region say; the models still learn from every deal). See
        :func:`salesml.scoring.task.task_backtest`.

    Returns
    -------
    BacktestResult
        ``table``: pooled ``auc``, ``brier``, ``log_loss``, ``ece``, ``n`` of
        ``model``, ``stage_baseline`` and ``rules_baseline``; see
        :class:`salesml.scoring.BacktestResult`.
    """
    return task_backtest(data, HEALTH_TASK, **settings)
