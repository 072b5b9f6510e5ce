"""Chinese names of sales-domain values shared by analytics text and figures.

Kept outside :mod:`salesml.attribution`, :mod:`salesml.pipeline` and
:mod:`salesml.plotting` so that each of them can import it without importing the others.
"""

from __future__ import annotations

__all__ = [
    "ACTIVITY_KIND_ZH",
    "CHANNEL_ZH",
    "COST_CATEGORY_ZH",
    "CYCLE_BAND_ZH",
    "LOST_REASON_ZH",
    "PRODUCT_LINE_ZH",
    "SEGMENT_ZH",
    "STAGE_ZH",
    "TOUCH_MODEL_ZH",
    "UNALLOCATED_REASON_ZH",
]

#: Deal stages of the default stage order, and the final "won" step of a funnel.
STAGE_ZH: dict[str, str] = {
    "qualification": "资格确认",
    "needs_analysis": "需求分析",
    "proposal": "方案报价",
    "negotiation": "商务谈判",
    "contract": "签约",
    "won": "赢单",
}

#: Customer segments.
SEGMENT_ZH: dict[str, str] = {
    "key_account": "大客户",
    "mid_market": "中型客户",
    "small_business": "小微客户",
}

#: Product lines.
PRODUCT_LINE_ZH: dict[str, str] = {
    "equipment": "设备",
    "consumables": "耗材",
    "service": "服务",
    "solution": "解决方案",
}

#: Recorded reasons of lost leads.
LOST_REASON_ZH: dict[str, str] = {
    "price": "价格",
    "competitor": "竞争对手",
    "no_budget": "无预算",
    "no_need": "无需求",
    "unreachable": "联系不上",
    "timing": "时机不对",
}

#: Lead channels.
CHANNEL_ZH: dict[str, str] = {
    "online_ads": "线上广告",
    "wechat": "微信",
    "exhibition": "展会",
    "store_walkin": "门店到访",
    "referral": "转介绍",
    "telesales": "电话销售",
    "partner": "合作伙伴",
}

#: Cost categories of the attribution rules.
COST_CATEGORY_ZH: dict[str, str] = {
    "media": "媒体投放",
    "field_promotion_labor": "地推人力",
    "samples": "样品",
    "store_materials": "门店物料",
    "events": "展会活动",
    "travel": "差旅",
    "gifts": "礼品",
    "commissions": "佣金",
    "channel_fees": "渠道费",
    "content": "内容",
    "tools": "工具",
    "community_referral": "社群转介绍",
}

#: Kinds of sales activities (touches of the multi-touch attribution).
ACTIVITY_KIND_ZH: dict[str, str] = {
    "visit": "拜访",
    "call": "电话",
    "message": "消息",
    "email": "邮件",
    "demo": "演示",
    "sample": "样品试用",
    "quote_sent": "发送报价",
    "quote_viewed": "查看报价",
    "meeting": "会议",
}

#: Deal-cycle bands of the CAC tables.
CYCLE_BAND_ZH: dict[str, str] = {
    "0-30d": "0-30天",
    "31-90d": "31-90天",
    "91-180d": "91-180天",
    "181d+": "181天以上",
}

#: Multi-touch attribution models.
TOUCH_MODEL_ZH: dict[str, str] = {
    "first": "首次触点",
    "last": "末次触点",
    "linear": "线性",
    "position": "位置(40/20/40)",
    "time_decay": "时间衰减",
    "markov": "马尔可夫",
    "shapley": "Shapley",
}

#: Why cost could not be bound to sales actions (reasons of the cost allocation).
UNALLOCATED_REASON_ZH: dict[str, str] = {
    "no matching rule": "没有匹配的规则",
    "scope key missing on the cost line": "费用行缺少范围字段",
    "no driver rows in scope": "范围内没有可承接的动作",
    "driver table absent from the dataset": "数据集中缺少承接表",
    "not one of the 12 cost categories": "不属于12类费用类别",
}
