"""Deal health: leak-free as-of snapshots, rule signals, a calibrated model with
reason codes, rolling-origin backtests and the director's intervention list.

The model engine (engines, calibration, bands, explanations, backtest, persistence)
is :mod:`salesml.scoring`; this package is its deal configuration. Typical use::

    from salesml.health import fit_as_of, build_features, interventions
    fit = fit_as_of(data, period="2026-10")          # what the report and the app fit
    today = build_features(data, as_of=fit.as_of)
    scored = fit.model.score(today)
    reasons = fit.model.explain(today, top=5, order="hurts_first")
    todo = interventions(scored, reasons)

or the whole review at once: ``weekly_health(data, period="2026-10")``.
"""

from __future__ import annotations

from salesml.health.asof import AsOfFit, fit_as_of, review_as_of
from salesml.health.backtest import (
    BacktestResult,
    backtest,
    calibration_table,
    classification_metrics,
    expected_calibration_error,
)
from salesml.health.baselines import health_baselines, stage_win_rate
from salesml.health.explain import CONTEXT_REASONS, explain_deals
from salesml.health.interventions import interventions, load_actions
from salesml.health.model import (
    ACTIONABLE_FEATURES,
    DRIVER_FEATURES,
    MODEL_FEATURES,
    DealHealthModel,
)
from salesml.health.persistence import load_model, save_model
from salesml.health.signals import health_signals, load_signal_rules
from salesml.health.snapshots import (
    build_features,
    deal_snapshots,
    load_health_data,
    unavailable_features,
)
from salesml.health.weekly import WeeklyHealth, weekly_health
from salesml.scoring.bands import band_name, band_range, describe_bands
from salesml.scoring.errors import FeatureMismatchError, InsufficientDataError

__all__ = [
    "ACTIONABLE_FEATURES",
    "CONTEXT_REASONS",
    "DRIVER_FEATURES",
    "MODEL_FEATURES",
    "AsOfFit",
    "BacktestResult",
    "DealHealthModel",
    "FeatureMismatchError",
    "InsufficientDataError",
    "WeeklyHealth",
    "backtest",
    "band_name",
    "band_range",
    "build_features",
    "calibration_table",
    "classification_metrics",
    "deal_snapshots",
    "describe_bands",
    "expected_calibration_error",
    "explain_deals",
    "fit_as_of",
    "health_baselines",
    "health_signals",
    "interventions",
    "load_actions",
    "load_health_data",
    "load_model",
    "load_signal_rules",
    "review_as_of",
    "save_model",
    "stage_win_rate",
    "unavailable_features",
    "weekly_health",
]
