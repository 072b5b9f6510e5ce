"""The generative parameters of the simulated organisation.

Regions, stores, lead channels, segments, product lines and the coefficients of the
deal win process: the numbers every step draws from and the planted truth refers to.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from salesml.data.schema import DEFAULT_STAGE_ORDER

__all__ = [
    "CAMPAIGN_CHANNELS",
    "CHANNELS",
    "CH_CONV",
    "CH_CUST_SHARE",
    "CH_RESPONSE_H",
    "CITIES",
    "COLLECTION_GRACE_DAYS",
    "EXHIBITION_COST",
    "KPI_EFFECTS",
    "LOST_REASONS",
    "MEDIA_CPL",
    "PL_PROB",
    "PL_TECH",
    "PRODUCT_LINES",
    "REGIONS",
    "REGION_WEIGHTS",
    "SEGMENTS",
    "SEG_AMOUNT",
    "SEG_LOGIT",
    "SKUS",
    "SKU_COST",
    "SLA_HOURS",
    "STAGE_ALPHA",
    "STAGE_MEDIAN_DAYS",
    "STORES_PER_REGION",
    "UNEXPLAINED_LOSS_SHARE",
    "WIN_MODEL",
]

REGIONS: tuple[str, ...] = ("华东", "华南", "华北", "华中", "西南")
REGION_WEIGHTS = np.array([0.30, 0.25, 0.20, 0.15, 0.10])
CITIES: dict[str, tuple[str, ...]] = {
    "华东": ("上海", "杭州", "南京", "苏州", "宁波", "合肥", "无锡"),
    "华南": ("广州", "深圳", "东莞", "佛山", "厦门", "南宁", "福州"),
    "华北": ("北京", "天津", "石家庄", "济南", "青岛", "太原"),
    "华中": ("武汉", "长沙", "郑州", "南昌", "宜昌", "洛阳"),
    "西南": ("成都", "重庆", "昆明", "贵阳", "绵阳", "南充"),
}
STORES_PER_REGION = (8, 7, 7, 5, 5)  # 32 stores

CHANNELS: tuple[str, ...] = (
    "online_ads",
    "wechat",
    "exhibition",
    "store_walkin",
    "referral",
    "telesales",
    "partner",
)
# share of acquired customers, lead->customer conversion, median first response (h)
CH_CUST_SHARE = np.array([0.22, 0.20, 0.12, 0.18, 0.10, 0.08, 0.10])
CH_CONV = np.array([0.16, 0.22, 0.30, 0.38, 0.50, 0.10, 0.42])
CH_RESPONSE_H = np.array([3.0, 1.5, 20.0, 0.5, 4.0, 0.3, 10.0])
CAMPAIGN_CHANNELS = ("online_ads", "wechat", "exhibition", "telesales")
# true media cost per lead for campaign channels (CNY); exhibitions have a fixed cost
MEDIA_CPL = {"online_ads": 180.0, "wechat": 120.0, "telesales": 60.0}
EXHIBITION_COST = 60_000.0

SEGMENTS: tuple[str, ...] = ("key_account", "mid_market", "small_business")
SEG_AMOUNT = np.array([300_000.0, 80_000.0, 20_000.0])
SEG_LOGIT = np.array([-0.15, 0.0, 0.10])
PRODUCT_LINES: tuple[str, ...] = ("equipment", "consumables", "service", "solution")
PL_PROB = np.array([0.30, 0.30, 0.20, 0.20])
PL_TECH = np.array([1.4, 0.7, 0.9, 1.8])  # technical plan revision intensity factor

LOST_REASONS: tuple[str, ...] = (
    "price",
    "competitor",
    "no_budget",
    "no_need",
    "unreachable",
    "timing",
)
UNEXPLAINED_LOSS_SHARE = 0.28

SKUS: tuple[str, ...] = ("展架", "海报", "样品册", "礼品袋", "试用装", "宣传单")
SKU_COST = np.array([120.0, 15.0, 45.0, 8.0, 60.0, 2.0])

# Stage pass intercepts (logit) for the default stage order
STAGE_ALPHA = np.array([1.75, 1.50, 1.20, 1.45, 1.90])
STAGE_MEDIAN_DAYS = np.array([6.0, 10.0, 14.0, 12.0, 7.0])
WIN_MODEL: dict[str, Any] = {
    "stage_alpha": dict(zip(DEFAULT_STAGE_ORDER, STAGE_ALPHA.tolist(), strict=True)),
    "breakpoint": {"region": "西南", "stage": "proposal", "logit": -1.3},
    "skill_technical": 0.30,
    "skill_commercial": 0.35,
    "skill_delivery": 0.15,
    "log_amount_vs_segment": -0.25,
    "segment": dict(zip(SEGMENTS, SEG_LOGIT.tolist(), strict=True)),
    # drivers and the first stage index whose pass decision they affect
    "plan_revisions_gt3": -1.1,
    "plan_revisions_from_stage": "proposal",
    "terms_revisions_ge3": -0.8,
    "terms_revisions_from_stage": "negotiation",
    "log_reply_delay_hours": -0.35,
    "reply_delay_reference_hours": 3.0,
    "quote_unanswered_48h": -0.9,
    "quote_unanswered_from_stage": "negotiation",
    # a latent engagement z-score: log activity rate = 0.4 z, logit += 0.45 z at every stage
    "engagement": 0.45,
    "engagement_activity_rate": 0.4,
}
KPI_EFFECTS: dict[str, float] = {
    "first_response_hours": -0.30,
    "stage_duration_days": -0.15,
    "daily_touches": 0.12,
    "collab_response_hours": -0.30,
    "media_cost_per_lead": -0.10,
}
SLA_HOURS = 48.0
#: Days past its payment due date after which a contract not paid in full is on the
#: collection list (``truth.unpaid_contracts``; the default follow-up rule's 7 days).
COLLECTION_GRACE_DAYS = 7.0
