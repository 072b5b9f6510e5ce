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
    label_zh
        Chinese label shown to managers.
    """

    name: str
    kind: ColumnKind
    nullable: bool = False
    allowed: tuple[str, ...] | None = None
    min_value: float | None = None
    references: str | None = None
    label_zh: str = ""

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
    description
        One line for humans.
    """

    name: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    time_column: str | None = None
    time_orders: tuple[tuple[str, str], ...] = ()
    description: str = ""
    label_zh: str = ""
    _by_name: dict[str, Column] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_name", {c.name: c for c in self.columns})

    def __getitem__(self, name: str) -> Column:
        return self._by_name[name]

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

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


def _id(name: str, references: str | None = None, nullable: bool = False, zh: str = "") -> Column:
    return Column(name, "id", nullable=nullable, references=references, label_zh=zh)


def _ts(name: str, nullable: bool = False, zh: str = "") -> Column:
    return Column(name, "datetime", nullable=nullable, label_zh=zh)


def _cat(
    name: str, allowed: tuple[str, ...] | None = None, nullable: bool = False, zh: str = ""
) -> Column:
    return Column(name, "category", nullable=nullable, allowed=allowed, label_zh=zh)


def _money(name: str, nullable: bool = False, zh: str = "") -> Column:
    return Column(name, "float", nullable=nullable, min_value=0.0, label_zh=zh)


_SPEC_LIST: tuple[TableSpec, ...] = (
    TableSpec(
        "reps",
        ("rep_id",),
        (
            _id("rep_id", zh="销售ID"),
            Column("name", "str", label_zh="姓名"),
            _cat("team", zh="团队"),
            _cat("region", zh="大区"),
            _cat("role", zh="角色"),
            _id("manager_id", references="reps.rep_id", nullable=True, zh="上级"),
            _ts("hired_at", zh="入职时间"),
        ),
        time_column="hired_at",
        description="Sales reps, their team, region and manager.",
        label_zh="销售人员",
    ),
    TableSpec(
        "stores",
        ("store_id",),
        (
            _id("store_id", zh="门店ID"),
            Column("name", "str", label_zh="门店"),
            _cat("region", zh="大区"),
            _cat("city", zh="城市"),
        ),
        description="Physical stores or branches.",
        label_zh="门店",
    ),
    TableSpec(
        "customers",
        ("customer_id",),
        (
            _id("customer_id", zh="客户ID"),
            _cat("segment", zh="客户类型"),
            _cat("region", zh="大区"),
            _cat("source_channel", zh="来源渠道"),
            _ts("created_at", zh="创建时间"),
            _id("store_id", references="stores.store_id", nullable=True, zh="门店"),
        ),
        time_column="created_at",
        description="Accounts (companies or households) the organisation sells to.",
        label_zh="客户",
    ),
    TableSpec(
        "campaigns",
        ("campaign_id",),
        (
            _id("campaign_id", zh="活动ID"),
            _cat("channel", zh="渠道"),
            Column("name", "str", label_zh="活动名称"),
            _ts("started_at", zh="开始"),
            _ts("ended_at", zh="结束"),
            _money("budget", zh="预算"),
        ),
        time_column="started_at",
        time_orders=(("started_at", "ended_at"),),
        description="Marketing campaigns by channel.",
        label_zh="营销活动",
    ),
    TableSpec(
        "leads",
        ("lead_id",),
        (
            _id("lead_id", zh="线索ID"),
            _id("customer_id", references="customers.customer_id", nullable=True, zh="客户"),
            _cat("channel", zh="渠道"),
            _id("campaign_id", references="campaigns.campaign_id", nullable=True, zh="活动"),
            _ts("created_at", zh="创建时间"),
            _ts("first_response_at", nullable=True, zh="首次响应"),
            _cat("status", ("open", "converted", "lost"), zh="状态"),
            _cat("lost_reason", nullable=True, zh="流失原因"),
            _ts("converted_at", nullable=True, zh="转化时间"),
        ),
        time_column="created_at",
        time_orders=(("created_at", "first_response_at"), ("created_at", "converted_at")),
        description="Inbound and outbound leads; `lost_at` (optional) dates a loss.",
        label_zh="线索",
    ),
    TableSpec(
        "deals",
        ("deal_id",),
        (
            _id("deal_id", zh="商机ID"),
            _id("customer_id", references="customers.customer_id", zh="客户"),
            _id("rep_id", references="reps.rep_id", zh="负责销售"),
            _id("lead_id", references="leads.lead_id", nullable=True, zh="线索"),
            _ts("created_at", zh="创建时间"),
            _cat("stage", zh="阶段"),
            _money("amount", zh="金额"),
            _cat("product_line", zh="产品线"),
            _cat("outcome", ("open", "won", "lost"), zh="结果"),
            _ts("closed_at", nullable=True, zh="关闭时间"),
        ),
        time_column="created_at",
        time_orders=(("created_at", "closed_at"),),
        description="Opportunities; `stage` is the current (or last) stage.",
        label_zh="商机",
    ),
    TableSpec(
        "stage_history",
        ("deal_id", "entered_at"),
        (
            _id("deal_id", references="deals.deal_id", zh="商机"),
            _ts("entered_at", zh="进入时间"),
            _cat("stage", zh="阶段"),
        ),
        time_column="entered_at",
        description="One row each time a deal enters a stage.",
        label_zh="阶段历史",
    ),
    TableSpec(
        "activities",
        ("activity_id",),
        (
            _id("activity_id", zh="活动记录ID"),
            _id("customer_id", references="customers.customer_id", zh="客户"),
            _id("deal_id", references="deals.deal_id", nullable=True, zh="商机"),
            _id("rep_id", references="reps.rep_id", zh="销售"),
            _cat("kind", ACTIVITY_KINDS, zh="类型"),
            _cat("channel", zh="方式"),
            _ts("occurred_at", zh="发生时间"),
            Column("duration_min", "float", nullable=True, min_value=0.0, label_zh="时长(分钟)"),
            _ts("responded_at", nullable=True, zh="回复时间"),
            Column("quality", "float", nullable=True, label_zh="质量"),
        ),
        time_column="occurred_at",
        time_orders=(("occurred_at", "responded_at"),),
        description="Sales actions: visits, calls, messages, demos, samples, quotes ...",
        label_zh="销售活动",
    ),
    TableSpec(
        "quotes",
        ("quote_id",),
        (
            _id("quote_id", zh="报价ID"),
            _id("deal_id", references="deals.deal_id", zh="商机"),
            Column("version", "int", min_value=1, label_zh="版本"),
            _ts("sent_at", zh="发送时间"),
            _ts("first_viewed_at", nullable=True, zh="首次查看"),
            _ts("replied_at", nullable=True, zh="客户回复"),
            _money("amount", zh="报价金额"),
        ),
        time_column="sent_at",
        time_orders=(("sent_at", "first_viewed_at"), ("sent_at", "replied_at")),
        description="Quote versions sent to customers, when viewed and answered.",
        label_zh="报价",
    ),
    TableSpec(
        "contracts",
        ("contract_id",),
        (
            _id("contract_id", zh="合同ID"),
            _id("deal_id", references="deals.deal_id", zh="商机"),
            _ts("signed_at", zh="签约时间"),
            _money("amount", zh="合同金额"),
            Column("payment_terms_days", "int", min_value=0, label_zh="账期(天)"),
        ),
        time_column="signed_at",
        description="Signed contracts.",
        label_zh="合同",
    ),
    TableSpec(
        "payments",
        ("payment_id",),
        (
            _id("payment_id", zh="回款ID"),
            _id("contract_id", references="contracts.contract_id", zh="合同"),
            _ts("paid_at", zh="回款时间"),
            _money("amount", zh="金额"),
        ),
        time_column="paid_at",
        description="Payments received against contracts.",
        label_zh="回款",
    ),
    TableSpec(
        "costs",
        ("cost_id",),
        (
            _id("cost_id", zh="费用ID"),
            _cat("category", COST_CATEGORIES, zh="费用类别"),
            _money("amount", zh="金额"),
            _ts("incurred_at", zh="发生时间"),
            _id("campaign_id", references="campaigns.campaign_id", nullable=True, zh="活动"),
            _cat("channel", nullable=True, zh="渠道"),
            _id("store_id", references="stores.store_id", nullable=True, zh="门店"),
            _id("rep_id", references="reps.rep_id", nullable=True, zh="销售"),
            _id("activity_id", references="activities.activity_id", nullable=True, zh="活动记录"),
            _id("deal_id", references="deals.deal_id", nullable=True, zh="商机"),
        ),
        time_column="incurred_at",
        description="Cost ledger lines; links bind a line to what consumed it where known.",
        label_zh="费用",
    ),
    TableSpec(
        "material_movements",
        ("movement_id",),
        (
            _id("movement_id", zh="出入库ID"),
            _id("store_id", references="stores.store_id", zh="门店"),
            _cat("sku", zh="物料"),
            _cat("kind", MOVEMENT_KINDS, zh="类型"),
            Column("qty", "float", min_value=0.0, label_zh="数量"),
            _money("unit_cost", zh="单价"),
            _ts("occurred_at", zh="发生时间"),
            Column("scanned", "bool", label_zh="已扫码"),
            _id("customer_id", references="customers.customer_id", nullable=True, zh="客户"),
            _id("ref_store_id", references="stores.store_id", nullable=True, zh="对方门店"),
        ),
        time_column="occurred_at",
        description="Store material stock movements (receive, issue, redeem, transfer, loss).",
        label_zh="物料出入库",
    ),
    TableSpec(
        "approvals",
        ("approval_id",),
        (
            _id("approval_id", zh="审批ID"),
            _id("subject_id", references="customers.customer_id", zh="客户"),
            _cat("step", ("initial", "final"), zh="环节"),
            _id("reviewer_id", references="reps.rep_id", zh="审批人"),
            _ts("submitted_at", zh="提交时间"),
            _ts("decided_at", nullable=True, zh="决定时间"),
            _cat("decision", ("approved", "rejected", "pending"), zh="结果"),
        ),
        time_column="submitted_at",
        time_orders=(("submitted_at", "decided_at"),),
        description="Compliance approvals of customer records.",
        label_zh="审批",
    ),
    TableSpec(
        "collab_events",
        ("event_id",),
        (
            _id("event_id", zh="协作ID"),
            _id("deal_id", references="deals.deal_id", zh="商机"),
            _cat("role", COLLAB_ROLES, zh="角色"),
            _id("actor_id", references="reps.rep_id", zh="执行人"),
            _cat("kind", COLLAB_KINDS, zh="类型"),
            _ts("occurred_at", zh="发生时间"),
            _id("request_id", references="collab_events.event_id", nullable=True, zh="对应请求"),
            Column("quality", "float", nullable=True, label_zh="质量"),
        ),
        time_column="occurred_at",
        description="Cross-team collaboration on deals (requests, responses, revisions).",
        label_zh="协作事件",
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
