"""Tiny en/zh label dictionary for pipeline findings and figures."""

from __future__ import annotations

from typing import Literal

from salesml._labels import (
    CHANNEL_ZH,
    LOST_REASON_ZH,
    PRODUCT_LINE_ZH,
    SEGMENT_ZH,
    STAGE_ZH,
)

__all__ = ["Lang", "check_lang", "label"]

Lang = Literal["en", "zh"]

_ZH: dict[str, str] = {
    **STAGE_ZH,
    # dimensions
    "region": "大区",
    "segment": "客户类型",
    "channel": "渠道",
    "source_channel": "来源渠道",
    "rep_id": "销售",
    "product_line": "产品线",
    "team": "团队",
    "store_id": "门店",
    "all": "全部",
    **SEGMENT_ZH,
    **PRODUCT_LINE_ZH,
    **CHANNEL_ZH,
    **LOST_REASON_ZH,
    # axis and legend words
    "stage": "阶段",
    "deals": "商机数",
    "conversion": "转化率",
    "gap_pp": "与基准差距(百分点)",
    "days": "天数",
    "median": "中位数",
    "p90": "90分位",
    "leads": "线索数",
    "lost leads": "流失线索",
    "reason": "流失原因",
    "unexplained": "（未记录原因）",
    "Sales funnel": "销售漏斗",
    "Conversion gap vs. rest of organisation": "各阶段转化率与其余组织的差距",
    "Days in stage": "各阶段停留天数",
    "Why leads are lost": "线索流失原因",
}


def check_lang(lang: str) -> Lang:
    """Return ``lang`` if it is ``"en"`` or ``"zh"``; otherwise raise ``ValueError``."""
    if lang not in ("en", "zh"):
        raise ValueError(f"lang must be 'en' or 'zh', got {lang!r}")
    return lang  # type: ignore[return-value]


def label(key: object, lang: str = "en") -> str:
    """Display label of ``key`` (a stage, dimension value or axis word) in ``lang``."""
    text = str(key)
    if lang == "zh":
        return _ZH.get(text, text)
    return text.replace("_", " ") if text in _ZH and text[0].islower() else text
