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

__all__ = ["LANGS", "MESSAGES", "label", "register", "t"]

LANGS: tuple[str, ...] = ("en", "zh")

#: key -> {lang -> text}. Shared strings live here; each report/app registers its own.
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
        "value.qualification": {"en": "Qualification", "zh": "资格确认"},
        "value.needs_analysis": {"en": "Needs analysis", "zh": "需求分析"},
        "value.proposal": {"en": "Proposal", "zh": "方案报价"},
        "value.negotiation": {"en": "Negotiation", "zh": "商务谈判"},
        "value.contract": {"en": "Contract", "zh": "签约"},
        "value.won": {"en": "Won", "zh": "赢单"},
        "value.key_account": {"en": "Key account", "zh": "大客户"},
        "value.mid_market": {"en": "Mid-market", "zh": "中型客户"},
        "value.small_business": {"en": "Small business", "zh": "小微客户"},
        "value.online_ads": {"en": "Online ads", "zh": "线上广告"},
        "value.wechat": {"en": "WeChat", "zh": "微信"},
        "value.exhibition": {"en": "Exhibition", "zh": "展会"},
        "value.store_walkin": {"en": "Store walk-in", "zh": "门店到访"},
        "value.referral": {"en": "Referral", "zh": "转介绍"},
        "value.telesales": {"en": "Telesales", "zh": "电话销售"},
        "value.partner": {"en": "Partner", "zh": "合作伙伴"},
    }
)
