"""The message catalogue: every title, label and sentence of reports and apps, in en and zh.

A report or app adds its own strings by calling :func:`register` at import time
of its catalog or state module (keys are namespaced ``<name>.<what>``), so no
central file needs editing::

    from salesml.reports.messages import register

    register({
        "cac_monthly.title": {"en": "Monthly CAC", "zh": "月度获客成本"},
    })

Look strings up with :func:`t`; ``{placeholders}`` are filled with ``str.format``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from salesml._labels import (
    CHANNEL_ZH,
    LOST_REASON_ZH,
    PRODUCT_LINE_ZH,
    SEGMENT_ZH,
    STAGE_ZH,
)

__all__ = ["LANGS", "MESSAGES", "label", "register", "t"]

LANGS: tuple[str, ...] = ("en", "zh")

#: key -> {lang -> text}. Shared strings live here; each report/app registers its own.
_ZH_NAMES: dict[str, str] = {
    **STAGE_ZH,
    **SEGMENT_ZH,
    **PRODUCT_LINE_ZH,
    **CHANNEL_ZH,
    **LOST_REASON_ZH,
}
#: English display names of the shared values (their Chinese names live in salesml._labels).
_VALUE_EN: dict[str, str] = {
    "qualification": "Qualification",
    "needs_analysis": "Needs analysis",
    "proposal": "Proposal",
    "negotiation": "Negotiation",
    "contract": "Contract",
    "won": "Won",
    "key_account": "Key account",
    "mid_market": "Mid-market",
    "small_business": "Small business",
    "online_ads": "Online ads",
    "wechat": "WeChat",
    "exhibition": "Exhibition",
    "store_walkin": "Store walk-in",
    "referral": "Referral",
    "telesales": "Telesales",
    "partner": "Partner",
    "equipment": "Equipment",
    "consumables": "Consumables",
    "service": "Service",
    "solution": "Solution",
    "price": "Price",
    "competitor": "Competitor",
    "no_budget": "No budget",
    "no_need": "No need",
    "unreachable": "Unreachable",
    "timing": "Timing",
}

MESSAGES: dict[str, dict[str, str]] = {}


def register(messages: Mapping[str, Mapping[str, str]], *, replace: bool = False) -> None:
    """Add strings to the catalogue.

    Parameters
    ----------
    messages
        Mapping key -> {"en": ..., "zh": ...}; both languages are required.
    replace
        Allow overwriting an existing key with a different text.

    Raises
    ------
    ValueError
        If a language is missing, or a key already exists with other text.
    """
    for key, texts in messages.items():
        missing = [lang for lang in LANGS if not texts.get(lang)]
        if missing:
            raise ValueError(f"message {key!r} lacks a text for: {', '.join(missing)}")
        new = {lang: str(texts[lang]) for lang in LANGS}
        old = MESSAGES.get(key)
        if old is not None and old != new and not replace:
            raise ValueError(f"message {key!r} is already registered with other text")
        MESSAGES[key] = new


def t(key: str, lang: str = "en", /, **values: Any) -> str:
    """The text of ``key`` in ``lang``, with ``{placeholders}`` filled from ``values``.

    An unknown key is returned as is (so a missing string shows up visibly
    instead of crashing a report); an unknown language raises ``ValueError``.
    """
    if lang not in LANGS:
        raise ValueError(f"unknown language {lang!r}; use one of {', '.join(LANGS)}")
    texts = MESSAGES.get(key)
    if texts is None:
        return key
    text = texts[lang]
    return text.format(**values) if values else text


def label(value: object, lang: str = "en") -> str:
    """Display label of a data value (a stage, channel, segment...), ``value`` itself if unknown."""
    s = str(value)
    texts = MESSAGES.get(f"value.{s}")
    return texts[lang] if texts and lang in texts else s


register(
    {
        # report frame
        "report.generated": {
            "en": "Dataset {dataset} · fingerprint {fingerprint} · period {period} "
            "({start} to {end}) · salesml {version}",
            "zh": "数据集 {dataset} · 指纹 {fingerprint} · 期间 {period}（{start} 至 {end}）"
            " · salesml {version}",
        },
        "report.region": {"en": "Region: {region}", "zh": "区域：{region}"},
        "report.quarantine": {
            "en": "⚠ {n} rows of the dataset broke a validation rule and are left out of "
            "this report ({tables}). `salesml validate {dataset} --quarantine-out FILE` "
            "lists them.",
            "zh": "⚠ 数据集中有 {n} 行未通过校验，未计入本报告（{tables}）。"
            "运行 `salesml validate {dataset} --quarantine-out FILE` 可查看明细。",
        },
        "report.all_regions": {"en": "All regions", "zh": "全部区域"},
        "report.findings": {"en": "Key findings", "zh": "关键发现"},
        "report.no_findings": {
            "en": "Nothing stands out in this period.",
            "zh": "本期没有明显异常。",
        },
        "report.missing_table": {
            "en": "Skipped: {detail}",
            "zh": "已跳过：{detail}",
        },
        "report.empty": {
            "en": "No data in this period for the selection.",
            "zh": "所选范围在本期没有数据。",
        },
        # app frame
        "app.all": {"en": "All", "zh": "全部"},
        "app.busy": {"en": "Computing…", "zh": "计算中…"},
        "app.ready": {"en": "Ready", "zh": "就绪"},
        "app.error": {"en": "Something went wrong", "zh": "出错了"},
        "app.region": {"en": "Region", "zh": "区域"},
        "app.segment": {"en": "Segment", "zh": "客户类型"},
        "app.channel": {"en": "Channel", "zh": "渠道"},
        "app.period": {"en": "Period", "zh": "期间"},
        "app.whole_history": {"en": "Whole history", "zh": "全部历史"},
        # data values
        # shared sales-domain values: Chinese names from salesml._labels
        **{
            f"value.{k}": {"en": en, "zh": _ZH_NAMES[k]}
            for k, en in _VALUE_EN.items()
        },
        # column names of the tables reports and apps show
        "value.region": {"en": "Region", "zh": "区域"},
        "value.segment": {"en": "Segment", "zh": "客户类型"},
        "value.channel": {"en": "Channel", "zh": "渠道"},
        "value.stage": {"en": "Stage", "zh": "阶段"},
        "value.reached": {"en": "Reached", "zh": "到达"},
        "value.open_here": {"en": "Open here", "zh": "停留中"},
        "value.lost_here": {"en": "Lost here", "zh": "在此流失"},
        "value.decided": {"en": "Decided", "zh": "已有结果"},
        "value.conversion": {"en": "Conversion", "zh": "转化率"},
        "value.cum_conversion": {"en": "Cumulative", "zh": "累计转化率"},
        "value.baseline": {"en": "Baseline", "zh": "基准"},
        "value.gap_pp": {"en": "Gap (pts)", "zh": "差距(百分点)"},
        "value.p_adjusted": {"en": "Adj. p", "zh": "校正p值"},
        "value.breakpoint": {"en": "Breakpoint", "zh": "断点"},
        "value.stays": {"en": "Stays", "zh": "停留次数"},
        "value.open": {"en": "Open", "zh": "进行中"},
        "value.median_days": {"en": "Median days", "zh": "中位天数"},
        "value.p90_days": {"en": "P90 days", "zh": "90分位天数"},
        "value.km_median_days": {"en": "Median days (KM)", "zh": "中位天数(KM)"},
        "value.km_p90_days": {"en": "P90 days (KM)", "zh": "90分位天数(KM)"},
        "value.reason": {"en": "Reason", "zh": "原因"},
        "value.lost": {"en": "Lost", "zh": "流失"},
        "value.share_of_lost": {"en": "Share of lost", "zh": "占流失比例"},
        "value.recorded": {"en": "Recorded", "zh": "有记录"},
        "value.leads": {"en": "Leads", "zh": "线索"},
        "value.converted": {"en": "Converted", "zh": "已转化"},
        "value.lost_with_reason": {"en": "Lost, reason given", "zh": "流失(有原因)"},
        "value.lost_unexplained": {"en": "Lost, no reason", "zh": "流失(无原因)"},
        "value.unexplained_share": {"en": "Unexplained share", "zh": "无原因占比"},
        "value.conversion_rate": {"en": "Conversion rate", "zh": "转化率"},
        "value.responded": {"en": "Responded", "zh": "已响应"},
        "value.no_response": {"en": "No response", "zh": "未响应"},
        "value.response_mean_h": {"en": "Response mean (h)", "zh": "平均响应(小时)"},
        "value.response_median_h": {"en": "Response median (h)", "zh": "响应中位数(小时)"},
        "value.response_p90_h": {"en": "Response p90 (h)", "zh": "响应90分位(小时)"},
        "value.(unexplained)": {"en": "(no reason recorded)", "zh": "（未记录原因）"},
    }
)
