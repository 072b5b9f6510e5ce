"""``cac_monthly``: CAC by channel, visit and cycle band with intervals, ROI, multi-touch, unallocated cost."""

from __future__ import annotations

from dataclasses import dataclass

from salesml._labels import (
    ACTIVITY_KIND_ZH,
    CHANNEL_ZH,
    COST_CATEGORY_ZH,
    CYCLE_BAND_ZH,
    TOUCH_MODEL_ZH,
    UNALLOCATED_REASON_ZH,
)
from salesml.reports.messages import MESSAGES, register
from salesml.reports.params import ReportParams
from salesml.reports.registry import ReportSpec

__all__ = ["MONEY_COLUMNS", "REPORT", "CacMonthlyParams", "register_cac_labels"]


@dataclass(frozen=True)
class CacMonthlyParams(ReportParams):
    """Parameters of ``cac_monthly``.

    Parameters
    ----------
    dataset, period, region, lang
        See :class:`~salesml.reports.params.ReportParams`. ``period`` selects the
        customers acquired in it (with their full acquisition cost) and the cost
        lines incurred in it; the previous period of the same length is compared.
    bootstrap
        Bootstrap replicates of the 95% intervals (0 is refused; 200 is quick,
        1000 is smoother).
    rules
        Path of a cost-allocation rule file (YAML); ``None`` for the default rules.
    seed
        Seed of the bootstrap.
    """

    bootstrap: int = 200
    rules: str | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        super().__post_init__()
        self._check_between("bootstrap", 20, 10_000)
        if self.rules is not None and not self.rules.strip():
            raise ValueError("rules: give the path of a rule file, or leave it unset")


register(
    {
        "cac_monthly.title": {"en": "Monthly customer acquisition cost", "zh": "月度获客成本报告"},
        "cac_monthly.by_channel": {"en": "CAC by source channel", "zh": "各来源渠道获客成本"},
        "cac_monthly.by_channel_note": {
            "en": "Cost per customer acquired in the period: every cost line is bound to the "
            "leads, activities, deals and redemptions that used it; a customer's cost up to its "
            "first won deal counts, and so does the cost of leads that never became customers. "
            "Bars show the 95% bootstrap interval; 'change' compares with the previous period.",
            "zh": "本期获取的每个客户的成本：每笔费用都归属到使用它的线索、活动、商机和物料核销；"
            "计入客户首次赢单前的成本，以及未转化线索的成本。误差线为95%自助法区间；"
            "“变化”为与上一期相比的变化。",
        },
        "cac_monthly.by_visit": {"en": "CAC by visit frequency", "zh": "按拜访频次的获客成本"},
        "cac_monthly.by_cycle": {"en": "CAC by deal-cycle length", "zh": "按成交周期的获客成本"},
        "cac_monthly.bands_note": {
            "en": "Acquired customers' own acquisition cost by band; the cost of prospects not "
            "acquired is shown as its own row.",
            "zh": "按分段统计已获客客户自身的获客成本；未获客对象的成本单列一行。",
        },
        "cac_monthly.by_all": {
            "en": "CAC by channel, visit band and cycle band together",
            "zh": "渠道 × 拜访频次 × 成交周期 组合获客成本",
        },
        "cac_monthly.roi": {"en": "ROI per channel", "zh": "各渠道投入产出比"},
        "cac_monthly.roi_note": {
            "en": "Won revenue in the period over the cost of the period's actions, per channel.",
            "zh": "各渠道本期赢单收入除以本期动作所消耗的成本。",
        },
        "cac_monthly.touch": {
            "en": "Multi-touch attribution: models side by side",
            "zh": "多触点归因：模型对比",
        },
        "cac_monthly.touch_note": {
            "en": "Journeys that converted (or last had a touch) in the period; touches are the "
            "lead's channel and the sales activities by kind. Markov removal effects are exact "
            "(no simulation); Shapley values are exact.",
            "zh": "本期转化（或最后一次触达在本期）的客户旅程；触点为线索渠道和按类型划分的销售活动。"
            "马尔可夫移除效应为精确解（非模拟），Shapley值为精确值。",
        },
        "cac_monthly.costs": {"en": "Cost allocation", "zh": "费用归属"},
        "cac_monthly.costs_scope": {
            "en": "The cost ledger has no region, so this section covers every region, "
            "not only {region}.",
            "zh": "费用台账没有区域信息，因此本节统计全部区域，而不仅是{region}。",
        },
        "cac_monthly.unallocated": {
            "en": "Unallocated cost and why",
            "zh": "未归属费用及原因",
        },
    }
)

#: Columns of the CAC tables (report and what-if app) holding CNY amounts.
MONEY_COLUMNS: tuple[str, ...] = (
    "acquisition_cost",
    "cac",
    "cac_low",
    "cac_high",
    "cac_previous",
    "cac_base",
    "revenue",
    "cost",
    "incurred",
    "allocated",
    "unallocated",
    "amount",
)

#: Display labels of the CAC tables' columns (registered where still absent,
#: so labels another module registered first keep their text).
_LABELS: dict[str, tuple[str, str]] = {
    "units": ("Units", "对象数"),
    "acquired": ("Acquired", "获客数"),
    "acquisition_cost": ("Acquisition cost", "获客成本合计"),
    "cac": ("CAC", "获客成本"),
    "cac_low": ("CAC low (95%)", "下限(95%)"),
    "cac_high": ("CAC high (95%)", "上限(95%)"),
    "rel_precision": ("Precision ±", "精度±"),
    "cac_previous": ("Previous CAC", "上期获客成本"),
    "change": ("Change", "变化"),
    "revenue": ("Revenue", "收入"),
    "cost": ("Cost", "成本"),
    "roi": ("ROI", "投入产出比"),
    "roi_low": ("ROI low (95%)", "下限(95%)"),
    "roi_high": ("ROI high (95%)", "上限(95%)"),
    "visit_band": ("Visits", "拜访次数"),
    "cycle_band": ("Deal cycle", "成交周期"),
    "incurred": ("Incurred", "发生额"),
    "allocated": ("Allocated", "已归属"),
    "unallocated": ("Unallocated", "未归属"),
    "allocated_share": ("Allocated share", "归属比例"),
    "category": ("Category", "费用类别"),
    "amount": ("Amount", "金额"),
    "lines": ("Lines", "行数"),
    "model": ("Model", "模型"),
    "budget_factor": ("Budget x", "预算倍数"),
    "cac_base": ("CAC before", "调整前获客成本"),
    "roi_base": ("ROI before", "调整前投入产出比"),
    "not acquired": ("not acquired", "未获客"),
}


#: English names of the values in the CAC tables; their Chinese names come from
#: :mod:`salesml._labels`, the source the figures and findings use too.
_VALUES_EN: dict[str, str] = {
    "media": "Media",
    "field_promotion_labor": "Field promotion labour",
    "samples": "Samples",
    "store_materials": "Store materials",
    "events": "Events",
    "travel": "Travel",
    "gifts": "Gifts",
    "commissions": "Commissions",
    "channel_fees": "Channel fees",
    "content": "Content",
    "tools": "Tools",
    "community_referral": "Community referral",
    "visit": "Visit",
    "call": "Call",
    "message": "Message",
    "email": "Email",
    "demo": "Demo",
    "sample": "Sample",
    "quote_sent": "Quote sent",
    "quote_viewed": "Quote viewed",
    "meeting": "Meeting",
    "first": "First touch",
    "last": "Last touch",
    "linear": "Linear",
    "position": "Position 40/20/40",
    "time_decay": "Time decay",
    "markov": "Markov",
    "shapley": "Shapley",
}

_VALUES_ZH: dict[str, str] = {
    **CHANNEL_ZH,
    **COST_CATEGORY_ZH,
    **ACTIVITY_KIND_ZH,
    **CYCLE_BAND_ZH,
    **TOUCH_MODEL_ZH,
    **UNALLOCATED_REASON_ZH,
}


def register_cac_labels() -> None:
    """Register the ``value.*`` labels of the CAC tables that are not registered yet.

    Values with a Chinese name in :mod:`salesml._labels` (channels, cost categories,
    activity kinds, cycle bands, attribution models, unallocated reasons) always take it from there,
    so a table and the figure beside it name a value alike.
    """
    register(
        {
            f"value.{k}": {"en": en, "zh": zh}
            for k, (en, zh) in _LABELS.items()
            if f"value.{k}" not in MESSAGES
        }
    )
    # The shared names win over a differing text registered earlier (keeping its English).
    register(
        {
            f"value.{k}": {
                "en": MESSAGES.get(f"value.{k}", {}).get("en") or _VALUES_EN.get(k, k),
                "zh": zh,
            }
            for k, zh in _VALUES_ZH.items()
        },
        replace=True,
    )


register_cac_labels()

REPORT = ReportSpec(
    name="cac_monthly",
    params=CacMonthlyParams,
    description="CAC by channel, visit and cycle band with 95% intervals; ROI; multi-touch "
    "attribution compared across models; unallocated cost and its reasons.",
    tables=("costs", "customers", "deals", "leads"),
    loads=(
        "costs",
        "customers",
        "deals",
        "leads",
        "activities",
        "material_movements",
        "campaigns",
        "stores",
    ),
)
