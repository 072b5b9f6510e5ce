"""Deal-health rule signals: the shipped ``signals.yaml`` on the shared signal engine.

The rule engine (parsing, availability, evaluation, phrases) is
:mod:`salesml.scoring.signals`; this module is its deal configuration: the default
rules in ``signals.yaml`` next to it, evaluated on deal snapshots.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from salesml.scoring.signals import (
    RulesLike,
    SignalRule,
    evaluate_signals,
    parse_rules,
    render_phrase,
    render_phrases,
)
from salesml.scoring.signals import load_signal_rules as _load_rules
from salesml.scoring.signals import signal_availability as _availability

__all__ = [
    "DEFAULT_SIGNALS_PATH",
    "SignalRule",
    "health_signals",
    "load_signal_rules",
    "render_phrase",
    "render_phrases",
    "signal_availability",
]

#: The shipped rule file.
DEFAULT_SIGNALS_PATH = Path(__file__).with_name("signals.yaml")


def load_signal_rules(
    rules: str | Path | Sequence[Mapping[str, Any]] | None = None,
) -> list[SignalRule]:
    """Read and check signal rules (``None``: the shipped ``signals.yaml``).

    See :func:`salesml.scoring.signals.load_signal_rules`.
    """
    return _load_rules(rules, default=DEFAULT_SIGNALS_PATH)


def signal_availability(
    snapshots: pd.DataFrame,
    rules: RulesLike = None,
    *,
    unavailable: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Rules that cannot be computed on ``snapshots`` -> why (default rules: ``signals.yaml``).

    See :func:`salesml.scoring.signals.signal_availability`.
    """
    parsed = parse_rules(rules, default=DEFAULT_SIGNALS_PATH)
    return _availability(snapshots, parsed, unavailable=unavailable)


def health_signals(
    snapshots: pd.DataFrame,
    *,
    rules: RulesLike = None,
    lang: str = "en",
    unavailable: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Evaluate rule signals on deal snapshots.

    Parameters
    ----------
    snapshots
        Output of :func:`salesml.health.deal_snapshots` / :func:`build_features`
        (any frame with the columns the rules name).
    rules
        Rules (see :func:`load_signal_rules`); default the shipped ``signals.yaml``:
        technical plan revised > 3 times, terms adjusted >= 3 times, no activity for
        14 days, quote viewed > 48 h without reply, stalled beyond the stage's p90.
    lang
        ``en`` or ``zh`` for the phrases.
    unavailable
        Feature -> missing table (default ``snapshots.attrs["unavailable"]``).

    Returns
    -------
    pandas.DataFrame
        See :func:`salesml.scoring.signals.evaluate_signals`: one nullable boolean
        column per rule (``<NA>``: unavailable), ``n_signals``, ``n_unavailable``,
        ``signal_text``; ``attrs["unavailable"]`` names each unavailable rule's reason.
    """
    parsed = parse_rules(rules, default=DEFAULT_SIGNALS_PATH)
    return evaluate_signals(
        snapshots, rules=parsed, lang=lang, unavailable=unavailable, table="deal snapshots"
    )
