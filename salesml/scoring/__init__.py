"""The model engine layer shared by deal health and lead potential.

A scoring model is a configuration of :class:`ScoringModel` (features, label, how
reasons read) over as-of snapshots from a leak-free feature builder:

- :mod:`~salesml.scoring.engines`: LightGBM and the small-data logistic regression,
  one class per module behind the :class:`~salesml.scoring.engines.Engine` protocol;
- :mod:`~salesml.scoring.calibration`: the shrunk isotonic / Platt calibration on a
  later time slice;
- :mod:`~salesml.scoring.bands`: band cut-offs and names;
- :mod:`~salesml.scoring.explain`: contributions to reason codes phrased from the
  label catalog;
- :mod:`~salesml.scoring.baselines` and :mod:`~salesml.scoring.backtest`: the
  rolling-origin backtest against baselines;
- :mod:`~salesml.scoring.diagnostics` and :mod:`~salesml.scoring.card`: leak guard,
  the verdict against the baselines, the model card;
- :mod:`~salesml.scoring.persistence`: JSON plus LightGBM model text, no pickle;
- :mod:`~salesml.scoring.asof`: fit as of one instant (reports and apps alike).
"""

from __future__ import annotations

from salesml.scoring.asof import AsOfFit, fit_as_of, training_dates
from salesml.scoring.backtest import BacktestResult, rolling_origin
from salesml.scoring.bands import (
    BAND_CODES,
    DEFAULT_BANDS,
    assign_bands,
    band_name,
    band_range,
    describe_bands,
)
from salesml.scoring.baselines import Baseline, GroupRateBaseline, SignalsBaseline
from salesml.scoring.calibration import Calibrator, time_slice
from salesml.scoring.card import ModelCard, model_card
from salesml.scoring.diagnostics import LEAK_AUC, FitFacts, LeakWarning, Verdict, judge, leak_check
from salesml.scoring.engines import ENGINES, Engine, LightGBMEngine, LogisticEngine
from salesml.scoring.errors import FeatureMismatchError, InsufficientDataError
from salesml.scoring.explain import Phrasing, explain_contributions, join_reasons, reason_lists
from salesml.scoring.metrics import (
    calibration_table,
    classification_metrics,
    expected_calibration_error,
    single_feature_auc,
)
from salesml.scoring.model import ScoringModel

__all__ = [
    "BAND_CODES",
    "DEFAULT_BANDS",
    "ENGINES",
    "LEAK_AUC",
    "AsOfFit",
    "BacktestResult",
    "Baseline",
    "Calibrator",
    "Engine",
    "FeatureMismatchError",
    "FitFacts",
    "GroupRateBaseline",
    "InsufficientDataError",
    "LeakWarning",
    "LightGBMEngine",
    "LogisticEngine",
    "ModelCard",
    "Phrasing",
    "ScoringModel",
    "SignalsBaseline",
    "Verdict",
    "assign_bands",
    "band_name",
    "band_range",
    "calibration_table",
    "classification_metrics",
    "describe_bands",
    "expected_calibration_error",
    "explain_contributions",
    "fit_as_of",
    "join_reasons",
    "judge",
    "leak_check",
    "model_card",
    "reason_lists",
    "rolling_origin",
    "single_feature_auc",
    "time_slice",
    "training_dates",
]
