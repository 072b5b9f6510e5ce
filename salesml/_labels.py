"""Chinese names of sales-domain values shared by analytics text and figures.

Kept outside :mod:`salesml.attribution`, :mod:`salesml.pipeline` and
:mod:`salesml.plotting` so that each of them can import it without importing the others.
"""

from __future__ import annotations

__all__ = ["CHANNEL_ZH", "COST_CATEGORY_ZH"]

#: Lead channels.
CHANNEL_ZH: dict[str, str] = {
    "online_ads": "线上广告",
    "wechat": "微信",
    "exhibition": "展会",
    "store_walkin": "到店",
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
