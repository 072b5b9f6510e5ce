"""What deal health's features are: their names, the tables and columns they need.

The catalogue the feature builder (:mod:`salesml.health.deal_arrays`), the model and
the loaders share; :mod:`salesml.health.snapshots` re-exports it.
"""

from __future__ import annotations

from salesml.data.bundle import SalesData
from salesml.data.schema import ACTIVITY_KINDS

__all__ = [
    "CATEGORICAL_FEATURES",
    "FEATURE_COLUMNS",
    "FEATURE_TABLES",
    "ID_COLUMNS",
    "LABEL_COLUMNS",
    "LOAD_COLUMNS",
    "NUMERIC_FEATURES",
    "TABLES",
    "unavailable_features",
]

#: Tables the feature builder reads (only ``deals`` is required).
TABLES = ("deals", "stage_history", "activities", "quotes", "collab_events", "customers", "reps")

#: The columns the feature builder reads, per table (``load_dataset(columns=...)``: a
#: big dataset loaded with only these, ``compact=True``, gives the same snapshots).
LOAD_COLUMNS: dict[str, tuple[str, ...]] = {
    "deals": (
        "deal_id",
        "customer_id",
        "rep_id",
        "created_at",
        "stage",
        "amount",
        "product_line",
        "outcome",
        "closed_at",
    ),
    "stage_history": ("deal_id", "entered_at", "stage"),
    "activities": (
        "activity_id",
        "deal_id",
        "rep_id",
        "kind",
        "occurred_at",
        "responded_at",
        "quality",
    ),
    "quotes": (
        "quote_id",
        "deal_id",
        "version",
        "sent_at",
        "first_viewed_at",
        "replied_at",
        "amount",
    ),
    "collab_events": (
        "event_id",
        "deal_id",
        "role",
        "kind",
        "occurred_at",
        "request_id",
        "quality",
    ),
}
#: Identifying and descriptive columns of a snapshot (not model inputs).
ID_COLUMNS: tuple[str, ...] = ("as_of", "deal_id", "rep_id", "customer_id", "stage")

#: String-valued features (one-hot encoded by the model).
CATEGORICAL_FEATURES: tuple[str, ...] = ("region", "segment", "channel", "product_line", "tier")

#: Numeric features, in a fixed order.
NUMERIC_FEATURES: tuple[str, ...] = (
    "stage_index",
    "days_in_stage",
    "stage_p90_days",
    "age_days",
    "amount",
    "log_amount",
    "n_quotes",
    "quote_amount_change",
    *(f"n_{k}" for k in ACTIVITY_KINDS),
    "n_activities",
    "touches_14d",
    "touches_30d",
    "days_since_activity",
    "days_since_visit",
    "reply_delay_hours_mean",
    "reply_delay_hours_max",
    "unanswered_messages",
    "message_wait_hours",
    "quotes_viewed",
    "quote_unanswered_hours",
    "quote_wait_hours_max",
    "plan_revisions",
    "terms_revisions",
    "doc_versions",
    "collab_requests",
    "collab_open_requests",
    "collab_response_hours_mean",
    "collab_response_quality_mean",
    "visit_quality_mean",
    "rep_win_rate",
    "rep_closed_deals",
    "rep_activity_quality",
    "customer_prior_wins",
)

#: The table each feature is computed from (beyond ``deals``): a dataset without it
#: cannot have the feature (the model card says which table is missing).
FEATURE_TABLES: dict[str, tuple[str, ...]] = {
    "stage_p90_days": ("stage_history",),
    **{f"n_{k}": ("activities",) for k in ACTIVITY_KINDS},
    **{
        f: ("activities",)
        for f in (
            "n_activities",
            "touches_14d",
            "touches_30d",
            "days_since_activity",
            "days_since_visit",
            "reply_delay_hours_mean",
            "reply_delay_hours_max",
            "unanswered_messages",
            "message_wait_hours",
            "visit_quality_mean",
            "rep_activity_quality",
        )
    },
    **{
        f: ("quotes",)
        for f in (
            "n_quotes",
            "quote_amount_change",
            "quotes_viewed",
            "quote_unanswered_hours",
            "quote_wait_hours_max",
        )
    },
    **{
        f: ("collab_events",)
        for f in (
            "plan_revisions",
            "terms_revisions",
            "doc_versions",
            "collab_requests",
            "collab_open_requests",
            "collab_response_hours_mean",
            "collab_response_quality_mean",
        )
    },
    "segment": ("customers",),
    "channel": ("customers",),
    "tier": ("customers",),
    "region": ("customers", "reps"),
}

#: Columns about the outcome (never features).
LABEL_COLUMNS: tuple[str, ...] = ("label", "label_known_at", "final_outcome", "closed_at")

#: Features that need an optional column of their table: feature -> (table, column).
FEATURE_COLUMNS: dict[str, tuple[str, str]] = {
    "reply_delay_hours_mean": ("activities", "responded_at"),
    "reply_delay_hours_max": ("activities", "responded_at"),
    "unanswered_messages": ("activities", "responded_at"),
    "message_wait_hours": ("activities", "responded_at"),
    "visit_quality_mean": ("activities", "quality"),
    "rep_activity_quality": ("activities", "quality"),
    "tier": ("customers", "tier"),
    "channel": ("customers", "source_channel"),
    "segment": ("customers", "segment"),
}


def unavailable_features(data: SalesData) -> dict[str, str]:
    """Features ``data`` cannot have -> what is missing: a table (``activities``; the
    first one when any of several would do) or a column (``customers.tier``)."""
    out = {}
    for feature, tables in FEATURE_TABLES.items():
        if not any(data.has(t) for t in tables):
            out[feature] = tables[0]
    for feature, (table, column) in FEATURE_COLUMNS.items():
        if feature not in out and data.has(table) and column not in data[table].columns:
            out[feature] = f"{table}.{column}"
    return out
