"""Reason codes: per-deal contributions phrased in the words a sales manager uses."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from salesml.health.signals import _render_column, health_signals, render_phrase
from salesml.i18n import label

if TYPE_CHECKING:
    from salesml.health.model import DealHealthModel

__all__ = ["CONTEXT_REASONS", "REASON_PHRASES", "explain_deals", "phrase_reason"]

#: Reasons that describe the deal's setting rather than how it is being worked:
#: its stage and age, size, owner and customer profile. ``scope="actionable"``
#: leaves them out so the list shows what the team can change.
CONTEXT_REASONS: frozenset[str] = frozenset(
    {
        "stage_index",
        "age_days",
        "days_in_stage",
        "log_amount",
        "rep_win_rate",
        "rep_closed_deals",
        "rep_activity_quality",
        "visit_quality_mean",
        "customer_prior_wins",
        "region",
        "segment",
        "channel",
        "product_line",
        "tier",
    }
)

#: reason -> (en, zh) phrase templates over snapshot columns (plus derived ``*_days``).
REASON_PHRASES: dict[str, tuple[str, str]] = {
    "stage_index": ("at stage {stage}", "处于{stage_zh}阶段"),
    "days_in_stage": (
        "{days_in_stage:.0f} days in current stage",
        "当前阶段已停留 {days_in_stage:.0f} 天",
    ),
    "age_days": ("deal open for {age_days:.0f} days", "商机已开启 {age_days:.0f} 天"),
    "log_amount": ("amount ¥{amount:,.0f}", "金额 ¥{amount:,.0f}"),
    "n_quotes": ("{n_quotes:.0f} quote versions", "{n_quotes:.0f} 个报价版本"),
    "quote_amount_change": (
        "quote changed {quote_amount_change:+.0%} since the first version",
        "报价较首版变化 {quote_amount_change:+.0%}",
    ),
    "touches_30d": (
        "{touches_30d:.0f} touches in the last 30 days",
        "近 30 天跟进 {touches_30d:.0f} 次",
    ),
    "n_activities": ("{n_activities:.0f} activities so far", "累计 {n_activities:.0f} 次跟进"),
    "days_since_activity": (
        "no activity for {days_since_activity:.0f} days",
        "已 {days_since_activity:.0f} 天无跟进",
    ),
    "days_since_visit": (
        "last visit {days_since_visit:.0f} days ago",
        "上次拜访在 {days_since_visit:.0f} 天前",
    ),
    "reply_delay_hours_mean": (
        "customer messages answered in {reply_delay_hours_mean:.0f} h on average",
        "客户消息平均 {reply_delay_hours_mean:.0f} 小时回复",
    ),
    "unanswered_messages": (
        "{unanswered_messages:.0f} customer messages unanswered",
        "{unanswered_messages:.0f} 条客户消息未回复",
    ),
    "message_wait_hours": (
        "a customer message waiting {message_wait_hours:.0f} h for a reply",
        "客户消息已等待 {message_wait_hours:.0f} 小时",
    ),
    "quote_unanswered_hours": (
        "no reply {quote_unanswered_days:.0f} days after quote viewed",
        "报价查看后 {quote_unanswered_days:.0f} 天未回复",
    ),
    "quote_wait_hours_max": (
        "customer took up to {quote_wait_days:.1f} days to answer a viewed quote",
        "客户查看报价后最长 {quote_wait_days:.1f} 天才回复",
    ),
    "plan_revisions": (
        "{plan_revisions:.0f} technical plan revisions",
        "技术方案修改 {plan_revisions:.0f} 次",
    ),
    "terms_revisions": (
        "{terms_revisions:.0f} commercial terms revisions",
        "商务条款调整 {terms_revisions:.0f} 次",
    ),
    "doc_versions": (
        "{doc_versions:.0f} delivery document versions",
        "交付文档 {doc_versions:.0f} 个版本",
    ),
    "collab_requests": (
        "{collab_requests:.0f} requests to colleagues",
        "向同事发起 {collab_requests:.0f} 次协作",
    ),
    "collab_open_requests": (
        "{collab_open_requests:.0f} colleague requests unanswered",
        "{collab_open_requests:.0f} 个协作请求未响应",
    ),
    "collab_response_hours_mean": (
        "colleagues answer in {collab_response_hours_mean:.0f} h on average",
        "同事平均 {collab_response_hours_mean:.0f} 小时响应",
    ),
    "collab_response_quality_mean": (
        "colleague support quality {collab_response_quality_mean:.1f}/5",
        "协作质量 {collab_response_quality_mean:.1f}/5",
    ),
    "visit_quality_mean": (
        "visit quality {visit_quality_mean:.1f}/5",
        "拜访质量 {visit_quality_mean:.1f}/5",
    ),
    "rep_win_rate": ("owner's win rate {rep_win_rate:.0%}", "负责人赢单率 {rep_win_rate:.0%}"),
    "rep_closed_deals": (
        "owner has closed {rep_closed_deals:.0f} deals",
        "负责人已关闭 {rep_closed_deals:.0f} 个商机",
    ),
    "rep_activity_quality": (
        "owner's field quality {rep_activity_quality:.1f}/5",
        "负责人现场质量 {rep_activity_quality:.1f}/5",
    ),
    "customer_prior_wins": (
        "customer has bought {customer_prior_wins:.0f} times before",
        "客户此前成交 {customer_prior_wins:.0f} 次",
    ),
    "region": ("region {region}", "大区 {region}"),
    "segment": ("segment {segment}", "客户类型 {segment}"),
    "channel": ("came through {channel_en}", "来源渠道 {channel_zh}"),
    "product_line": ("product line {product_line}", "产品线 {product_line}"),
    "tier": ("customer tier {tier}", "客户等级 {tier}"),
    # rule signals (logistic engine)
    "plan_revised_often": (
        "technical plan revised {plan_revisions:.0f} times",
        "技术方案已修改 {plan_revisions:.0f} 次",
    ),
    "terms_adjusted_often": (
        "commercial terms adjusted {terms_revisions:.0f} times",
        "商务条款已调整 {terms_revisions:.0f} 次",
    ),
    "no_recent_activity": (
        "no activity for {days_since_activity:.0f} days",
        "已 {days_since_activity:.0f} 天无跟进",
    ),
    "quote_viewed_no_reply": (
        "no reply {quote_unanswered_days:.0f} days after quote viewed",
        "报价查看后 {quote_unanswered_days:.0f} 天未回复",
    ),
    "stalled_in_stage": (
        "{days_in_stage:.0f} days in {stage} (usual max {stage_p90_days:.0f})",
        "在{stage_zh}阶段停留 {days_in_stage:.0f} 天（通常不超过 {stage_p90_days:.0f} 天）",
    ),
}
_KIND_EN = {
    "visit": "visits",
    "call": "calls",
    "message": "customer messages",
    "email": "emails",
    "demo": "demos",
    "sample": "samples sent",
    "quote_sent": "quotes sent",
    "quote_viewed": "quote views",
    "meeting": "meetings",
}
_KIND_ZH = {
    "visit": "拜访",
    "call": "电话",
    "message": "客户消息",
    "email": "邮件",
    "demo": "演示",
    "sample": "样品",
    "quote_sent": "报价发送",
    "quote_viewed": "报价查看",
    "meeting": "会议",
}


def _template(reason: str, lang: str) -> str:
    if reason in REASON_PHRASES:
        en, zh = REASON_PHRASES[reason]
        return zh if lang == "zh" else en
    if reason.startswith("n_") and reason[2:] in _KIND_EN:
        k = reason[2:]
        return (
            f"{_KIND_ZH[k]} {{{reason}:.0f}} 次"
            if lang == "zh"
            else f"{{{reason}:.0f}} {_KIND_EN[k]}"
        )
    return f"{reason} = {{{reason}}}"


#: What to say when a reason's feature has no value yet (SHAP still weighs "missing").
MISSING_PHRASES: dict[str, tuple[str, str]] = {
    "reply_delay_hours_mean": ("no customer message answered yet", "暂无已回复的客户消息"),
    "message_wait_hours": ("no customer message waiting", "没有等待回复的客户消息"),
    "quote_unanswered_hours": ("no viewed quote waiting for a reply", "没有待回复的已查看报价"),
    "quote_wait_hours_max": ("no viewed quote answered yet", "暂无已回复的报价"),
    "quote_amount_change": ("no quote sent yet", "尚未发送报价"),
    "days_since_activity": ("no activity yet", "尚无跟进"),
    "days_since_visit": ("no visit yet", "尚无拜访"),
    "collab_response_hours_mean": ("no colleague request answered yet", "暂无同事响应的协作请求"),
    "collab_response_quality_mean": ("no colleague support rated yet", "暂无协作质量评分"),
    "visit_quality_mean": ("no visit rated yet", "暂无拜访质量评分"),
    "rep_win_rate": ("owner has no closed deals yet", "负责人尚无已关闭商机"),
    "rep_activity_quality": ("owner's field work not rated yet", "负责人现场质量暂无评分"),
}


def _missing_phrase(reason: str, lang: str) -> str:
    en, zh = MISSING_PHRASES.get(reason, (f"{reason}: no data yet", f"{reason}：暂无数据"))
    return zh if lang == "zh" else en


def phrase_reason(reason: str, row: dict[str, object], lang: str = "en") -> str:
    """The phrase for one reason of one deal (``row``: the deal's snapshot values)."""
    col = _main_column(reason)
    value = row.get(col)
    if col in row and (value is None or (isinstance(value, float) and np.isnan(value))):
        return _missing_phrase(reason, lang)
    return render_phrase(_template(reason, lang), _with_derived_row(row))


def _with_derived_row(row: dict[str, object]) -> dict[str, object]:
    out = dict(row)
    if "stage" in out and "stage_zh" not in out:
        out["stage_zh"] = label(out["stage"], "zh")
    if "channel" in out and "channel_zh" not in out:
        out["channel_zh"] = label(out["channel"], "zh")
        out["channel_en"] = str(out["channel"]).replace("_", " ")
    for src, dst in (
        ("quote_unanswered_hours", "quote_unanswered_days"),
        ("quote_wait_hours_max", "quote_wait_days"),
    ):
        v = out.get(src)
        if isinstance(v, int | float) and dst not in out:
            out[dst] = float(v) / 24
    return out


def _with_derived(snapshots: pd.DataFrame) -> pd.DataFrame:
    out = snapshots.copy()
    if "stage" in out:
        out["stage_zh"] = out["stage"].map(lambda s: label(s, "zh")).astype("str")
    if "channel" in out:
        out["channel_zh"] = out["channel"].map(lambda c: label(c, "zh")).astype("str")
        out["channel_en"] = out["channel"].astype("str").str.replace("_", " ")
    if "quote_unanswered_hours" in out:
        out["quote_unanswered_days"] = out["quote_unanswered_hours"] / 24
    if "quote_wait_hours_max" in out:
        out["quote_wait_days"] = out["quote_wait_hours_max"] / 24
    return out


def explain_deals(
    model: DealHealthModel,
    snapshots: pd.DataFrame,
    *,
    top: int = 5,
    lang: str = "en",
    scope: str = "all",
) -> pd.DataFrame:
    """Top reasons behind each deal's score, signed and ranked.

    Parameters
    ----------
    model
        A fitted :class:`~salesml.health.model.DealHealthModel`.
    snapshots
        Snapshots to explain (for example today's open deals).
    top
        Reasons kept per deal, ranked by absolute contribution.
    lang
        ``en`` or ``zh``.
    scope
        ``"all"`` ranks every reason; ``"actionable"`` leaves out the context reasons
        in :data:`CONTEXT_REASONS` (stage, age, amount, owner, customer profile).

    Returns
    -------
    pandas.DataFrame
        Long format, one row per (deal, reason): ``row`` (the snapshot's index label),
        ``deal_id``, ``rank`` (1 = strongest), ``reason`` (feature group), ``value``
        (the deal's value of the reason's main column), ``contribution`` (log-odds;
        positive raises the win probability), ``direction`` (``+``/``-``), ``kind``
        (``deal`` or ``context``) and ``phrase``.
    """
    if lang not in ("en", "zh"):
        raise ValueError(f"lang must be 'en' or 'zh', got {lang!r}")
    if top < 1:
        raise ValueError(f"top must be at least 1, got {top}")
    if scope not in ("all", "actionable"):
        raise ValueError(f"scope must be 'all' or 'actionable', got {scope!r}")
    contrib = model.contributions(snapshots).drop(columns="bias")
    if scope == "actionable":
        contrib = contrib.drop(columns=[c for c in contrib.columns if c in CONTEXT_REASONS])
    vals = contrib.to_numpy()
    k = min(top, vals.shape[1])
    order = np.argsort(-np.abs(vals), axis=1, kind="stable")[:, :k]
    rows = np.repeat(np.arange(len(contrib)), k)
    cols = order.ravel()
    reasons = np.asarray(contrib.columns)[cols]
    c = vals[rows, cols]
    snap = _with_derived(snapshots)
    if getattr(model, "engine_", "") == "logistic":
        sig = health_signals(snapshots, model.signal_rules_)
        for r in model.signal_rules_:
            snap[r["name"]] = sig[r["name"]].to_numpy()
    labels = snapshots.index.to_numpy()[rows]
    out = pd.DataFrame(
        {
            "row": labels,
            "deal_id": snapshots["deal_id"].to_numpy()[rows] if "deal_id" in snapshots else labels,
            "rank": np.tile(np.arange(1, k + 1), len(contrib)),
            "reason": reasons,
            "contribution": c,
            "direction": np.where(c >= 0, "+", "-"),
        }
    )
    value = pd.Series("", index=out.index, dtype="str")
    phrase = pd.Series("", index=out.index, dtype="str")
    for reason in pd.unique(reasons):
        sel = np.flatnonzero(reasons == reason)
        sub = snap.iloc[rows[sel]]
        sub.index = out.index[sel]
        col = reason if reason in snap else _main_column(str(reason))
        if col in snap:
            v = sub[col]
            if pd.api.types.is_float_dtype(v):
                v = v.round(2)
            value.iloc[sel] = v.astype("str").fillna("").to_numpy()
        rendered = _render_column(_template(str(reason), lang), sub)
        if col in snap and pd.api.types.is_bool_dtype(snap[col]):
            # a rule signal that did not fire: say so rather than state the signal
            off = ~sub[col].to_numpy(dtype=bool)
            prefix = "未触发：" if lang == "zh" else "not flagged: "
            rendered[off] = prefix + rendered[off]
        if col in snap:
            missing = sub[col].isna().to_numpy()
            if missing.any():
                rendered[missing] = _missing_phrase(str(reason), lang)
        phrase.iloc[sel] = rendered.to_numpy()
    out["value"] = value
    out["phrase"] = phrase
    out["kind"] = np.where(np.isin(reasons, list(CONTEXT_REASONS)), "context", "deal")
    return out[
        ["row", "deal_id", "rank", "reason", "value", "contribution", "direction", "kind", "phrase"]
    ]


def _main_column(reason: str) -> str:
    return {"log_amount": "amount", "stage_index": "stage"}.get(reason, reason)
