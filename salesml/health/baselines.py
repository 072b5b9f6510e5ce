"""The two baselines deal health must beat: win rate by stage, and the rule signals alone."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from salesml.health.signals import SignalRule, health_signals, load_signal_rules
from salesml.scoring.baselines import Baseline, GroupRateBaseline, SignalsBaseline

__all__ = ["BASELINES", "health_baselines", "rules_baseline", "stage_baseline", "stage_win_rate"]

#: Baseline names, in the order the backtest reports them.
BASELINES: tuple[str, ...] = ("stage_baseline", "rules_baseline")


def stage_baseline() -> GroupRateBaseline:
    """Historic win rate of the deal's stage, smoothed with 5 pseudo-deals at the overall rate."""
    return GroupRateBaseline("stage", prior_weight=5.0, id_column="deal_id")


def rules_baseline(
    rules: str | Path | Sequence[Mapping[str, Any]] | Sequence[SignalRule] | None = None,
) -> SignalsBaseline:
    """Logistic regression on the rule signals alone (default: ``signals.yaml``)."""
    parsed = load_signal_rules(rules) if not _is_parsed(rules) else list(rules)  # type: ignore[arg-type]
    names = [r.name for r in parsed]

    def signals(frame: pd.DataFrame) -> pd.DataFrame:
        return health_signals(frame, rules=parsed)[names]

    return SignalsBaseline(signals)


def _is_parsed(rules: object) -> bool:
    return (
        isinstance(rules, Sequence)
        and not isinstance(rules, str)
        and bool(rules)
        and all(isinstance(r, SignalRule) for r in rules)
    )


def health_baselines(
    rules: str | Path | Sequence[Mapping[str, Any]] | Sequence[SignalRule] | None = None,
) -> dict[str, Baseline]:
    """Fresh baselines by name: ``stage_baseline`` and ``rules_baseline``."""
    return {"stage_baseline": stage_baseline(), "rules_baseline": rules_baseline(rules)}


def stage_win_rate(train: pd.DataFrame, test: pd.DataFrame) -> np.ndarray:
    """The stage baseline fit on ``train`` and applied to ``test`` (one call)."""
    return stage_baseline().fit(train).predict(test)
