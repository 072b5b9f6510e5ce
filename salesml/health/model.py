"""``DealHealthModel``: calibrated deal win probabilities from as-of deal snapshots.

A configuration of :class:`salesml.scoring.ScoringModel`: the snapshot features of
:mod:`salesml.health.snapshots`, the label "won within the horizon", the deal words
of the reasons (:mod:`salesml.health.explain`) and, for the small-data logistic
engine, the rule signals of ``signals.yaml`` as extra inputs. Engines, calibration,
bands, intervals, the leak guard, the card and saving are the scoring layer's.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import pandas as pd

from salesml.health.explain import HEALTH_PHRASING
from salesml.health.signals import (
    SignalRule,
    health_signals,
    load_signal_rules,
    signal_availability,
)
from salesml.health.snapshots import CATEGORICAL_FEATURES, NUMERIC_FEATURES
from salesml.scoring.explain import Phrasing
from salesml.scoring.model import ScoringModel

__all__ = [
    "ACTIONABLE_FEATURES",
    "DRIVER_FEATURES",
    "MODEL_FEATURES",
    "MONOTONE_DECREASING",
    "DealHealthModel",
]

#: Snapshot features the LightGBM engine uses by default: a lean set. The cumulative
#: per-kind activity counts are left out: they mostly restate the deal's age and
#: split reason credit among near-duplicates, which blurs the reason codes.
MODEL_FEATURES: tuple[str, ...] = (
    "stage_index",
    "days_in_stage",
    "age_days",
    "log_amount",
    "n_quotes",
    "quote_amount_change",
    "n_activities",
    "touches_30d",
    "days_since_activity",
    "days_since_visit",
    "reply_delay_hours_mean",
    "unanswered_messages",
    "message_wait_hours",
    "quote_unanswered_hours",
    "quote_wait_hours_max",
    "plan_revisions",
    "terms_revisions",
    "collab_open_requests",
    "collab_response_hours_mean",
    "collab_response_quality_mean",
    "visit_quality_mean",
    "rep_win_rate",
    "rep_activity_quality",
    "customer_prior_wins",
    *CATEGORICAL_FEATURES,
)
#: The planted-driver view: :data:`MODEL_FEATURES` without engagement and timing
#: (activity recency and counts, deal age, days in stage).
DRIVER_FEATURES: tuple[str, ...] = tuple(
    f
    for f in MODEL_FEATURES
    if f
    not in {
        "days_since_activity",
        "touches_30d",
        "n_activities",
        "days_since_visit",
        "age_days",
        "days_in_stage",
    }
)

#: Features whose effect on winning has a known direction; LightGBM is constrained to
#: it (more revisions, longer silence or waits never raise the win probability).
MONOTONE_DECREASING: tuple[str, ...] = (
    "plan_revisions",
    "terms_revisions",
    "days_since_activity",
    "quote_unanswered_hours",
    "quote_wait_hours_max",
    "reply_delay_hours_mean",
    "message_wait_hours",
    "unanswered_messages",
    "collab_open_requests",
)
#: Numeric snapshot features the team can change by how it works the deal (what the
#: what-if app offers): not the deal's stage, age, size, owner or customer.
ACTIONABLE_FEATURES: tuple[str, ...] = (
    "plan_revisions",
    "terms_revisions",
    "days_since_activity",
    "days_since_visit",
    "touches_30d",
    "n_activities",
    "reply_delay_hours_mean",
    "unanswered_messages",
    "message_wait_hours",
    "quote_unanswered_hours",
    "quote_wait_hours_max",
    "n_quotes",
    "quote_amount_change",
    "collab_open_requests",
    "collab_response_hours_mean",
)
_LOGIT_NUMERIC = (
    "stage_index",
    "log_amount",
    "days_in_stage",
    "days_since_activity",
    "rep_win_rate",
    "quote_wait_hours_max",
    "reply_delay_hours_mean",
)
_LOG_TRANSFORM = frozenset(
    {"days_in_stage", "days_since_activity", "quote_wait_hours_max", "reply_delay_hours_mean"}
)
#: Design columns that belong to another column's reason.
_GROUPS = {
    "stage_p90_days": "stage_index",
    "amount": "log_amount",
    "reply_delay_hours_max": "reply_delay_hours_mean",
    "touches_14d": "touches_30d",
    "quotes_viewed": "quote_wait_hours_max",
}


def _rule_dict(r: SignalRule) -> dict[str, str]:
    return {
        "name": r.name,
        "when": r.when,
        "severity": r.severity,
        "phrase_en": r.phrase_en,
        "phrase_zh": r.phrase_zh,
    }


class DealHealthModel(ScoringModel):
    """Calibrated deal health: P(win within the snapshot horizon), 0-100 score, bands.

    Parameters
    ----------
    min_closed_deals
        Distinct deals with a known outcome needed for the LightGBM engine (200);
        below it the regularised logistic engine is used (on the rule signals and a
        few features, with Laplace-approximation intervals).
    min_small_deals
        Fewest labelled deals accepted at all (60).
    signals
        Rule signals the logistic engine uses (default: the shipped ``signals.yaml``).
    **settings
        Everything else of :class:`~salesml.scoring.ScoringModel` (``calibration``,
        ``bands``, LightGBM settings, ``ridge``, ``features``: :data:`MODEL_FEATURES`
        by default, :data:`DRIVER_FEATURES` the planted-driver view, ``leak_guard``).

    Attributes
    ----------
    engine_ : str
        ``"lightgbm"`` or ``"logistic"``.
    features_ : list[str]
        Snapshot columns the model reads.
    n_closed_deals_ : int
        Distinct labelled deals seen in training.
    signal_rules_ : list[dict]
        The rule signals the logistic engine reads (empty for LightGBM).
    """

    kind: ClassVar[str] = "salesml.health.DealHealthModel"
    id_column: ClassVar[str] = "deal_id"
    score_column: ClassVar[str] = "health_score"
    numeric_features: ClassVar[tuple[str, ...]] = NUMERIC_FEATURES
    categorical_features: ClassVar[tuple[str, ...]] = CATEGORICAL_FEATURES
    default_features: ClassVar[tuple[str, ...]] = MODEL_FEATURES
    small_data_features: ClassVar[tuple[str, ...]] = _LOGIT_NUMERIC
    log_features: ClassVar[frozenset[str]] = _LOG_TRANSFORM
    monotone_decreasing: ClassVar[tuple[str, ...]] = MONOTONE_DECREASING
    feature_groups: ClassVar[Mapping[str, str]] = _GROUPS
    keep_columns: ClassVar[tuple[str, ...]] = (
        "deal_id",
        "as_of",
        "rep_id",
        "customer_id",
        "stage",
        "amount",
        "region",
    )
    builder_hint: ClassVar[str] = (
        "Build them with salesml.health.build_features / deal_snapshots of the same salesml version"
    )
    labelled_item: ClassVar[str] = "labelled deals"
    rows_item: ClassVar[str] = "labelled snapshots"
    phrasing: ClassVar[Phrasing] = HEALTH_PHRASING

    renamed_settings: ClassVar[frozenset[str]] = frozenset({"min_closed", "min_labelled"})

    def __init__(
        self,
        *,
        min_closed_deals: int = 200,
        min_small_deals: int = 60,
        signals: Sequence[Mapping[str, Any]] | str | None = None,
        **settings: Any,
    ) -> None:
        super().__init__(min_closed=min_closed_deals, min_labelled=min_small_deals, **settings)
        self.min_closed_deals = min_closed_deals
        self.min_small_deals = min_small_deals
        self.signals = signals

    # ------------------------------------------------------------ rule signals
    def _fit_derived(self, train: pd.DataFrame, engine: str) -> dict[str, Any]:
        if engine != "logistic":
            return {"signal_rules": []}
        rules = load_signal_rules(self.signals)
        off = signal_availability(train, rules)
        usable = [r for r in rules if r.name not in off]
        return {"signal_rules": [_rule_dict(r) for r in usable]}

    @property
    def signal_rules_(self) -> list[dict[str, str]]:
        """The rule signals the logistic engine reads (empty for the LightGBM engine)."""
        return list(self.derived_.get("signal_rules", []))

    def _signal_objects(self) -> list[SignalRule]:
        return [SignalRule(**r) for r in self.signal_rules_]

    def _derived(self, frame: pd.DataFrame) -> pd.DataFrame:
        rules = self._signal_objects()
        if not rules:
            return pd.DataFrame(index=frame.index)
        sig = health_signals(frame, rules=rules, unavailable={})
        return sig[[r.name for r in rules]]

    def _derived_required(self) -> list[str]:
        return sorted({c for r in self._signal_objects() for c in r.expr.columns})

    def _phrasing(self) -> Phrasing:
        own = {
            r["name"]: {"en": r["phrase_en"], "zh": r["phrase_zh"]}
            for r in self.signal_rules_
            if r["phrase_en"]
        }
        return dataclasses.replace(self.phrasing, templates=own) if own else self.phrasing

    @property
    def n_closed_deals_(self) -> int:
        """Distinct labelled deals seen in training."""
        return self.n_closed_
