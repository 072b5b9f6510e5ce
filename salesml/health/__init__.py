"""Deal health: leak-free as-of snapshots, rule signals, a calibrated model with
reason codes, rolling-origin backtests and the director's intervention list.

Typical use::

    from salesml.health import deal_snapshots, DealHealthModel, backtest
    snaps = deal_snapshots(data, as_of=pd.date_range("2025-06-01", "2026-09-28", freq="W-MON"))
    model = DealHealthModel().fit(snaps)
    today = build_features(data, as_of="2026-10-31")
    scored = model.score(today)
    reasons = model.explain(today, top=5)
    todo = interventions(scored, reasons)
"""

from __future__ import annotations

from salesml.health.backtest import (
    BacktestResult,
    backtest,
    calibration_table,
    classification_metrics,
    expected_calibration_error,
)
from salesml.health.explain import explain_deals
from salesml.health.interventions import interventions, load_actions
from salesml.health.model import (
    DRIVER_FEATURES,
    MODEL_FEATURES,
    DealHealthModel,
    FeatureMismatchError,
    InsufficientDataError,
)
from salesml.health.persistence import load_model, save_model
from salesml.health.signals import health_signals, load_signal_rules
from salesml.health.snapshots import build_features, deal_snapshots
from salesml.health.weekly import WeeklyHealth, weekly_health

__all__ = [
    "DRIVER_FEATURES",
    "MODEL_FEATURES",
    "BacktestResult",
    "DealHealthModel",
    "FeatureMismatchError",
    "InsufficientDataError",
    "WeeklyHealth",
    "backtest",
    "build_features",
    "calibration_table",
    "classification_metrics",
    "deal_snapshots",
    "expected_calibration_error",
    "explain_deals",
    "health_signals",
    "interventions",
    "load_actions",
    "load_model",
    "load_signal_rules",
    "save_model",
    "weekly_health",
]
