"""The baselines potential must beat: the historic conversion rate of the lead's channel
(an account's segment), and the rule signals alone."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from salesml.scoring.baselines import Baseline, GroupRateBaseline, SignalsBaseline
from salesml.scoring.signals import RulesLike, evaluate_signals, parse_rules

__all__ = [
    "ACCOUNT_SIGNALS_PATH",
    "LEAD_SIGNALS_PATH",
    "account_baselines",
    "lead_baselines",
    "potential_signals",
]

#: The shipped lead rule file.
LEAD_SIGNALS_PATH = Path(__file__).with_name("lead_signals.yaml")
#: The shipped account rule file.
ACCOUNT_SIGNALS_PATH = Path(__file__).with_name("account_signals.yaml")


def potential_signals(
    snapshots: pd.DataFrame, *, kind: str = "lead", rules: RulesLike = None, lang: str = "en"
) -> pd.DataFrame:
    """Rule signals on lead (``kind="lead"``) or account snapshots.

    See :func:`salesml.scoring.signals.evaluate_signals`; the default rules are the
    shipped ``lead_signals.yaml`` / ``account_signals.yaml``.
    """
    default = LEAD_SIGNALS_PATH if kind == "lead" else ACCOUNT_SIGNALS_PATH
    parsed = parse_rules(rules, default=default)
    return evaluate_signals(snapshots, rules=parsed, lang=lang, table=f"{kind} snapshots")


def _rules_baseline(default: Path, rules: RulesLike, what: str) -> SignalsBaseline:
    parsed = parse_rules(rules, default=default)
    names = [r.name for r in parsed]

    def signals(frame: pd.DataFrame) -> pd.DataFrame:
        return evaluate_signals(frame, rules=parsed, table=what)[names]

    return SignalsBaseline(signals)


def lead_baselines(rules: RulesLike = None) -> dict[str, Baseline]:
    """Fresh lead baselines: ``channel_baseline`` and ``rules_baseline``."""
    return {
        "channel_baseline": GroupRateBaseline("channel", prior_weight=5.0, id_column="lead_id"),
        "rules_baseline": _rules_baseline(LEAD_SIGNALS_PATH, rules, "lead snapshots"),
    }


def account_baselines(rules: RulesLike = None) -> dict[str, Baseline]:
    """Fresh account baselines: ``segment_baseline`` and ``rules_baseline``."""
    return {
        "segment_baseline": GroupRateBaseline("segment", prior_weight=5.0, id_column="customer_id"),
        "rules_baseline": _rules_baseline(ACCOUNT_SIGNALS_PATH, rules, "account snapshots"),
    }
