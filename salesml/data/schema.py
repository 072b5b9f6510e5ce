"""Table specifications of the salesml data model.

Every table a dataset may hold is described once here, declaratively: its key,
its columns (kind, nullability, allowed values, lower bounds, foreign keys), the
time-order rules between its columns and the column that dates each row. The
specs drive parsing, validation (through pandera schemas built from them),
``SalesData.as_of`` and the simulator, so the five never drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import pandas as pd

from salesml.i18n import label, t

__all__ = [
    "ACTIVITY_KINDS",
    "COLLAB_KINDS",
    "COLLAB_ROLES",
    "COST_CATEGORIES",
    "DEFAULT_STAGE_ORDER",
    "MOVEMENT_KINDS",
    "SPECS",
    "TABLE_NAMES",
    "Column",
    "ColumnKind",
    "TableSpec",
    "describe_schema",
    "empty_table",
    "spec",
]

ColumnKind = Literal["id", "str", "category", "datetime", "float", "int", "bool"]

COST_CATEGORIES: tuple[str, ...] = (
    "media",
    "field_promotion_labor",
    "samples",
    "store_materials",
    "events",
    "travel",
    "gifts",
    "commissions",
    "channel_fees",
    "content",
    "tools",
    "community_referral",
)
ACTIVITY_KINDS: tuple[str, ...] = (
    "visit",
    "call",
    "message",
    "email",
    "demo",
    "sample",
    "quote_sent",
    "quote_viewed",
    "meeting",
)
MOVEMENT_KINDS: tuple[str, ...] = (
    "receive",
    "issue",
    "redeem",
    "transfer_in",
    "transfer_out",
    "loss",
)
COLLAB_ROLES: tuple[str, ...] = ("technical", "commercial", "delivery")
COLLAB_KINDS: tuple[str, ...] = (
    "request",
    "response",
    "plan_revision",
    "terms_revision",
    "doc_version",
)
#: Stage order used when ``dataset.yaml`` names none.
DEFAULT_STAGE_ORDER: tuple[str, ...] = (
    "qualification",
    "needs_analysis",
    "proposal",
    "negotiation",
    "contract",
)


@dataclass(frozen=True)
class Column:
    """One column of a table.

    Parameters
    ----------
    name
        Column name in the data model.
    kind
        ``id`` (string key), ``str`` (free text), ``category`` (string from a closed
        set), ``datetime``, ``float``, ``int`` or ``bool``.
    nullable
        Whether missing values are allowed.
    allowed
        Closed set of values for ``category`` columns (``None``: open set).
    min_value
        Inclusive lower bound for numeric columns (``0`` for amounts and quantities).
    references
        ``"table.column"`` this column points at (a foreign key).

    Its display name comes from the label catalog (``value.<name>``, see
    :meth:`label`); what it means from ``schema.<table>.<name>`` (see
    :meth:`TableSpec.about_column`), both in ``salesml/labels``.
    """

    name: str
    kind: ColumnKind
    nullable: bool = False
    allowed: tuple[str, ...] | None = None
    min_value: float | None = None
    references: str | None = None

    def label(self, lang: str = "en") -> str:
        """Display name of the column in ``lang`` (from the label catalog)."""
        return label(self.name, lang)

    @property
    def label_zh(self) -> str:
        """Chinese display name (the catalog's; kept for older callers)."""
        return self.label("zh")

    @property
    def pandas_dtype(self) -> str:
        """The pandas dtype a parsed column of this kind has."""
        return {
            "id": "str",
            "str": "str",
            "category": "str",
            "datetime": "datetime64[us]",
            "float": "float64",
            "int": "Int64",
            "bool": "bool" if not self.nullable else "boolean",
        }[self.kind]


@dataclass(frozen=True)
class TableSpec:
    """Specification of one table.

    Parameters
    ----------
    name
        Table name (also the file stem in a dataset folder).
    key
        Column(s) that identify a row uniquely.
    columns
        Required columns, in order. More columns in the data are carried along.
    time_column
        Column that dates the row: ``SalesData.as_of(ts)`` drops rows dated after ``ts``.
    time_orders
        Pairs ``(earlier, later)`` of datetime columns: ``later >= earlier`` must hold
        where both are present.

    Its name and what it and each column mean live in the label catalog
    (``salesml/labels/schema.yaml``: ``schema.table.<name>``, ``schema.about.<name>``,
    ``schema.<name>.<column>``), in English and Chinese; ``salesml schema`` prints them.
    """

    name: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    time_column: str | None = None
    time_orders: tuple[tuple[str, str], ...] = ()
    _by_name: dict[str, Column] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_name", {c.name: c for c in self.columns})

    def __getitem__(self, name: str) -> Column:
        return self._by_name[name]

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def label(self, lang: str = "en") -> str:
        """Display name of the table in ``lang`` (``schema.table.<name>``)."""
        return t(f"schema.table.{self.name}", lang)

    @property
    def label_zh(self) -> str:
        """Chinese display name (the catalog's; kept for older callers)."""
        return self.label("zh")

    def about(self, lang: str = "en") -> str:
        """What the table holds, one sentence in ``lang`` (``schema.about.<name>``)."""
        return t(f"schema.about.{self.name}", lang)

    @property
    def description(self) -> str:
        """What the table holds, in English."""
        return self.about("en")

    def about_column(self, column: str, lang: str = "en") -> str:
        """What ``column`` means and when it may be empty (``schema.<table>.<column>``)."""
        return t(f"schema.{self.name}.{self[column].name}", lang)

    @property
    def column_names(self) -> list[str]:
        """Names of the required columns, in order."""
        return [c.name for c in self.columns]

    @property
    def foreign_keys(self) -> list[tuple[str, str, str]]:
        """``(column, parent_table, parent_column)`` for every reference."""
        out = []
        for c in self.columns:
            if c.references:
                table, col = c.references.split(".")
                out.append((c.name, table, col))
        return out


def _id(name: str, references: str | None = None, nullable: bool = False) -> Column:
    return Column(name, "id", nullable=nullable, references=references)


def _ts(name: str, nullable: bool = False) -> Column:
    return Column(name, "datetime", nullable=nullable)


def _cat(name: str, allowed: tuple[str, ...] | None = None, nullable: bool = False) -> Column:
    return Column(name, "category", nullable=nullable, allowed=allowed)


def _money(name: str, nullable: bool = False) -> Column:
    return Column(name, "float", nullable=nullable, min_value=0.0)


_SPEC_LIST: tuple[TableSpec, ...] = (
    TableSpec(
        "reps",
        ("rep_id",),
        (
            _id("rep_id"),
            Column("name", "str"),
            _cat("team"),
            _cat("region"),
            _cat("role"),
            _id("manager_id", references="reps.rep_id", nullable=True),
            _ts("hired_at"),
        ),
        time_column="hired_at",
    ),
    TableSpec(
        "stores",
        ("store_id",),
        (
            _id("store_id"),
            Column("name", "str"),
            _cat("region"),
            _cat("city"),
        ),
    ),
    TableSpec(
        "customers",
        ("customer_id",),
        (
            _id("customer_id"),
            _cat("segment"),
            _cat("region"),
            _cat("source_channel"),
            _ts("created_at"),
            _id("store_id", references="stores.store_id", nullable=True),
        ),
        time_column="created_at",
    ),
    TableSpec(
        "campaigns",
        ("campaign_id",),
        (
            _id("campaign_id"),
            _cat("channel"),
            Column("name", "str"),
            _ts("started_at"),
            _ts("ended_at"),
            _money("budget"),
        ),
        time_column="started_at",
        time_orders=(("started_at", "ended_at"),),
    ),
    TableSpec(
        "leads",
        ("lead_id",),
        (
            _id("lead_id"),
            _id("customer_id", references="customers.customer_id", nullable=True),
            _cat("channel"),
            _id("campaign_id", references="campaigns.campaign_id", nullable=True),
            _ts("created_at"),
            _ts("first_response_at", nullable=True),
            _cat("status", ("open", "converted", "lost")),
            _cat("lost_reason", nullable=True),
            _ts("converted_at", nullable=True),
        ),
        time_column="created_at",
        time_orders=(("created_at", "first_response_at"), ("created_at", "converted_at")),
    ),
    TableSpec(
        "deals",
        ("deal_id",),
        (
            _id("deal_id"),
            _id("customer_id", references="customers.customer_id"),
            _id("rep_id", references="reps.rep_id"),
            _id("lead_id", references="leads.lead_id", nullable=True),
            _ts("created_at"),
            _cat("stage"),
            # open deals are often not priced yet in a CRM: see schema.deals.amount
            _money("amount", nullable=True),
            _cat("product_line"),
            _cat("outcome", ("open", "won", "lost")),
            _ts("closed_at", nullable=True),
        ),
        time_column="created_at",
        time_orders=(("created_at", "closed_at"),),
    ),
    TableSpec(
        "stage_history",
        ("deal_id", "entered_at"),
        (
            _id("deal_id", references="deals.deal_id"),
            _ts("entered_at"),
            _cat("stage"),
        ),
        time_column="entered_at",
    ),
    TableSpec(
        "activities",
        ("activity_id",),
        (
            _id("activity_id"),
            _id("customer_id", references="customers.customer_id"),
            _id("deal_id", references="deals.deal_id", nullable=True),
            _id("rep_id", references="reps.rep_id"),
            _cat("kind", ACTIVITY_KINDS),
            _cat("channel"),
            _ts("occurred_at"),
            Column("duration_min", "float", nullable=True, min_value=0.0),
            _ts("responded_at", nullable=True),
            Column("quality", "float", nullable=True),
        ),
        time_column="occurred_at",
        time_orders=(("occurred_at", "responded_at"),),
    ),
    TableSpec(
        "quotes",
        ("quote_id",),
        (
            _id("quote_id"),
            _id("deal_id", references="deals.deal_id"),
            Column("version", "int", min_value=1),
            _ts("sent_at"),
            _ts("first_viewed_at", nullable=True),
            _ts("replied_at", nullable=True),
            _money("amount"),
        ),
        time_column="sent_at",
        time_orders=(("sent_at", "first_viewed_at"), ("sent_at", "replied_at")),
    ),
    TableSpec(
        "contracts",
        ("contract_id",),
        (
            _id("contract_id"),
            _id("deal_id", references="deals.deal_id"),
            _ts("signed_at"),
            _money("amount"),
            Column("payment_terms_days", "int", min_value=0),
        ),
        time_column="signed_at",
    ),
    TableSpec(
        "payments",
        ("payment_id",),
        (
            _id("payment_id"),
            _id("contract_id", references="contracts.contract_id"),
            _ts("paid_at"),
            _money("amount"),
        ),
        time_column="paid_at",
    ),
    TableSpec(
        "costs",
        ("cost_id",),
        (
            _id("cost_id"),
            _cat("category", COST_CATEGORIES),
            _money("amount"),
            _ts("incurred_at"),
            _id("campaign_id", references="campaigns.campaign_id", nullable=True),
            _cat("channel", nullable=True),
            _id("store_id", references="stores.store_id", nullable=True),
            _id("rep_id", references="reps.rep_id", nullable=True),
            _id("activity_id", references="activities.activity_id", nullable=True),
            _id("deal_id", references="deals.deal_id", nullable=True),
        ),
        time_column="incurred_at",
    ),
    TableSpec(
        "material_movements",
        ("movement_id",),
        (
            _id("movement_id"),
            _id("store_id", references="stores.store_id"),
            _cat("sku"),
            _cat("kind", MOVEMENT_KINDS),
            Column("qty", "float", min_value=0.0),
            _money("unit_cost"),
            _ts("occurred_at"),
            Column("scanned", "bool"),
            _id("customer_id", references="customers.customer_id", nullable=True),
            _id("ref_store_id", references="stores.store_id", nullable=True),
        ),
        time_column="occurred_at",
    ),
    TableSpec(
        "approvals",
        ("approval_id",),
        (
            _id("approval_id"),
            _id("subject_id", references="customers.customer_id"),
            _cat("step", ("initial", "final")),
            _id("reviewer_id", references="reps.rep_id"),
            _ts("submitted_at"),
            _ts("decided_at", nullable=True),
            _cat("decision", ("approved", "rejected", "pending")),
        ),
        time_column="submitted_at",
        time_orders=(("submitted_at", "decided_at"),),
    ),
    TableSpec(
        "collab_events",
        ("event_id",),
        (
            _id("event_id"),
            _id("deal_id", references="deals.deal_id"),
            _cat("role", COLLAB_ROLES),
            _id("actor_id", references="reps.rep_id"),
            _cat("kind", COLLAB_KINDS),
            _ts("occurred_at"),
            _id("request_id", references="collab_events.event_id", nullable=True),
            Column("quality", "float", nullable=True),
        ),
        time_column="occurred_at",
    ),
)

SPECS: dict[str, TableSpec] = {s.name: s for s in _SPEC_LIST}
TABLE_NAMES: tuple[str, ...] = tuple(SPECS)


def spec(table: str) -> TableSpec:
    """Return the spec of ``table``.

    Raises
    ------
    KeyError
        With the list of known tables when ``table`` is not one.
    """
    try:
        return SPECS[table]
    except KeyError:
        raise KeyError(
            f"unknown table {table!r}; the data model has: {', '.join(TABLE_NAMES)}"
        ) from None


def empty_table(table: str) -> pd.DataFrame:
    """An empty DataFrame with the required columns and dtypes of ``table``."""
    s = spec(table)
    return pd.DataFrame({c.name: pd.Series(dtype=c.pandas_dtype) for c in s.columns})


def _allowed_text(table: str, col: Column, lang: str, stage_order: tuple[str, ...]) -> str:
    if table in ("deals", "stage_history") and col.name == "stage":
        return t("schema.allowed.stage_order", lang, stages=", ".join(stage_order))
    if table == "costs" and col.name == "category":
        return t("schema.allowed.cost_categories", lang)
    return ", ".join(col.allowed) if col.allowed else ""


def describe_schema(
    table: str | None = None,
    *,
    lang: str = "en",
    stage_order: tuple[str, ...] | list[str] | None = None,
) -> pd.DataFrame:
    """The data model for people: its tables, or one table's columns, with what they mean.

    Parameters
    ----------
    table
        A table name for its columns; ``None`` for the list of tables.
    lang
        ``"en"`` or ``"zh"`` for the descriptions (both display names are always shown).
    stage_order
        The dataset's stages (shown as the allowed values of ``stage``; default
        :data:`DEFAULT_STAGE_ORDER`).

    Returns
    -------
    pandas.DataFrame
        For the tables (index ``table``): ``label_en, label_zh, key, columns,
        required, time_column, about``. For one table (index ``column``):
        ``label_en, label_zh, type, required, allowed, references, min_value, about``
        (``required`` is a bool; ``about`` says when an optional column may be empty
        and what analyses do then).
    """
    stages = tuple(stage_order or DEFAULT_STAGE_ORDER)
    if table is None:
        rows = [
            {
                "table": s.name,
                "label_en": s.label("en"),
                "label_zh": s.label("zh"),
                "key": ", ".join(s.key),
                "columns": len(s.columns),
                "required": sum(not c.nullable for c in s.columns),
                "time_column": s.time_column or "",
                "about": s.about(lang),
            }
            for s in SPECS.values()
        ]
        return pd.DataFrame(rows).set_index("table")
    s = spec(table)
    rows = [
        {
            "column": c.name,
            "label_en": c.label("en"),
            "label_zh": c.label("zh"),
            "type": c.kind,
            "required": not c.nullable,
            "allowed": _allowed_text(s.name, c, lang, stages),
            "references": c.references or "",
            "min_value": c.min_value,
            "about": s.about_column(c.name, lang),
        }
        for c in s.columns
    ]
    return pd.DataFrame(rows).set_index("column")
