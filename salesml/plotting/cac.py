"""Figures of cost attribution: CAC and ROI with intervals, multi-touch comparison, what-if.

Every function takes a result of :mod:`salesml.attribution` (a table from
:func:`~salesml.attribution.cac`, :func:`~salesml.attribution.roi`,
:func:`~salesml.attribution.touch_attribution` or
:func:`~salesml.attribution.what_if`), computes nothing new and returns a
``plotly.graph_objects.Figure``; ``lang`` switches labels between English and Chinese.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from salesml._labels import (
    ACTIVITY_KIND_ZH,
    CHANNEL_ZH,
    COST_CATEGORY_ZH,
    CYCLE_BAND_ZH,
    TOUCH_MODEL_ZH,
)
from salesml.plotting._style import styled

__all__ = [
    "cac_interval_chart",
    "cost_allocation_bars",
    "roi_interval_chart",
    "touch_comparison_chart",
    "what_if_chart",
]

_ZH = {
    **CHANNEL_ZH,
    "not acquired": "未获客",
    **ACTIVITY_KIND_ZH,
    **COST_CATEGORY_ZH,
    **TOUCH_MODEL_ZH,
    **CYCLE_BAND_ZH,
    # words
    "CAC by channel": "各渠道获客成本",
    "CAC by visit band": "按拜访次数的获客成本",
    "CAC by cycle band": "按成交周期的获客成本",
    "CAC": "获客成本",
    "ROI by channel": "各渠道投入产出比",
    "ROI (revenue / cost)": "投入产出比（收入/成本）",
    "CNY per acquired customer": "每获取一个客户的成本（元）",
    "share of conversions": "转化归因占比",
    "Multi-touch attribution by model": "多触点归因模型对比",
    "Cost by category": "各类费用归属",
    "allocated": "已归属",
    "unallocated": "未归属",
    "CNY": "元",
    "before": "调整前",
    "after": "调整后",
    "What-if: CAC by channel": "假设分析：各渠道获客成本",
    "95% interval": "95%区间",
}


def _label(key: object, lang: str) -> str:
    text = str(key)
    return _ZH.get(text, text) if lang == "zh" else text.replace("_", " ")


def _check(lang: str) -> None:
    if lang not in ("en", "zh"):
        raise ValueError(f"lang must be 'en' or 'zh', got {lang!r}")


def _layout(fig: go.Figure, title: str, lang: str, **kw: Any) -> go.Figure:
    return styled(fig, _label(title, lang), **kw)


def _group_col(table: pd.DataFrame, value: str) -> list[str]:
    dims = [c for c in ("channel", "visit_band", "cycle_band") if c in table.columns]
    if not dims:
        raise ValueError("the table has no grouping column (channel, visit_band, cycle_band)")
    if value not in table.columns:
        raise ValueError(f"the table has no {value!r} column")
    return dims


def _interval_chart(
    table: pd.DataFrame, value: str, title: str, axis: str, lang: str, sort: bool
) -> go.Figure:
    _check(lang)
    dims = _group_col(table, value)
    t = table.dropna(subset=[value])
    if sort:
        t = t.sort_values(value)
    names = [" / ".join(_label(r[d], lang) for d in dims) for _, r in t.iterrows()]
    est = t[value].to_numpy(dtype=float)
    lo = t.get(f"{value}_low", pd.Series(np.nan, index=t.index)).to_numpy(dtype=float)
    hi = t.get(f"{value}_high", pd.Series(np.nan, index=t.index)).to_numpy(dtype=float)
    hover = [
        f"{n}<br>{_label(value.upper(), lang)}: {e:,.2f}<br>{_label('95% interval', lang)}: "
        f"{a:,.2f} – {b:,.2f}"
        for n, e, a, b in zip(names, est, lo, hi, strict=True)
    ]
    fig = go.Figure(
        go.Bar(
            x=est,
            y=names,
            orientation="h",
            marker_color="#1f77b4",
            error_x={
                "type": "data",
                "symmetric": False,
                "array": np.nan_to_num(hi - est),
                "arrayminus": np.nan_to_num(est - lo),
                "color": "#444",
            },
            hovertext=hover,
            hoverinfo="text",
        )
    )
    fig.update_xaxes(title=_label(axis, lang))
    return _layout(fig, title, lang, height=max(300, 40 * len(names) + 120))


def cac_interval_chart(
    table: pd.DataFrame, *, lang: str = "en", title: str | None = None, sort: bool = True
) -> go.Figure:
    """CAC per group as bars with their 95% interval.

    Parameters
    ----------
    table
        Output of :func:`salesml.attribution.cac` (any ``by``); rows without a CAC
        (no acquisition) are left out.
    lang
        ``"en"`` or ``"zh"``.
    title
        Figure title (default from the grouping).
    sort
        Sort bars by CAC.
    """
    dims = _group_col(table, "cac")
    default = f"CAC by {dims[0].replace('_', ' ')}" if len(dims) == 1 else "CAC"
    return _interval_chart(
        table,
        "cac",
        title or default,
        "CNY per acquired customer",
        lang,
        sort and "band" not in dims[0],
    )


def roi_interval_chart(table: pd.DataFrame, *, lang: str = "en", sort: bool = True) -> go.Figure:
    """ROI (attributed revenue / allocated cost) per group with its 95% interval.

    Parameters
    ----------
    table
        Output of :func:`salesml.attribution.roi`.
    lang
        ``"en"`` or ``"zh"``.
    sort
        Sort bars by ROI.
    """
    return _interval_chart(table, "roi", "ROI by channel", "ROI (revenue / cost)", lang, sort)


def touch_comparison_chart(
    tidy: pd.DataFrame, *, lang: str = "en", metric: str = "share"
) -> go.Figure:
    """Grouped bars: each channel's credit under every attribution model.

    Parameters
    ----------
    tidy
        Output of :func:`salesml.attribution.touch_attribution` with several models.
    lang
        ``"en"`` or ``"zh"``.
    metric
        ``share`` (default), ``conversions`` or ``value``.
    """
    _check(lang)
    if metric not in ("share", "conversions", "value"):
        raise ValueError(f"metric must be share, conversions or value, got {metric!r}")
    fig = go.Figure()
    order = (
        tidy.groupby("channel")[metric].mean().sort_values(ascending=False).index.tolist()
        if len(tidy)
        else []
    )
    for model, g in tidy.groupby("model", sort=False):
        g = g.set_index("channel").reindex(order)
        name = str(model)
        base = name.split("_")[0] if name.startswith("markov") else name
        fig.add_bar(
            x=[_label(c, lang) for c in order],
            y=g[metric].to_numpy(dtype=float),
            name=_label(base, lang) + (name[len(base) :] if base != name else ""),
        )
    fig.update_yaxes(
        title=_label("share of conversions", lang) if metric == "share" else metric,
        tickformat=".0%" if metric == "share" else None,
    )
    return _layout(fig, "Multi-touch attribution by model", lang, barmode="group")


def cost_allocation_bars(cost_summary: pd.DataFrame, *, lang: str = "en") -> go.Figure:
    """Stacked bars of allocated and unallocated cost per category.

    Parameters
    ----------
    cost_summary
        A frame with ``category``, ``allocated`` and ``unallocated`` (e.g.
        ``CacMonthly.cost_summary`` or ``Allocation.summary`` grouped by category).
    lang
        ``"en"`` or ``"zh"``.
    """
    _check(lang)
    t = cost_summary.groupby("category", observed=True)[["allocated", "unallocated"]].sum()
    t = t.sort_values("allocated")
    names = [_label(c, lang) for c in t.index]
    fig = go.Figure()
    fig.add_bar(
        y=names,
        x=t["allocated"],
        name=_label("allocated", lang),
        orientation="h",
        marker_color="#1f77b4",
    )
    fig.add_bar(
        y=names,
        x=t["unallocated"].clip(lower=0),
        name=_label("unallocated", lang),
        orientation="h",
        marker_color="#d62728",
    )
    fig.update_xaxes(title=_label("CNY", lang))
    return _layout(
        fig, "Cost by category", lang, barmode="stack", height=max(300, 30 * len(names) + 120)
    )


def what_if_chart(result: dict[str, pd.DataFrame], *, lang: str = "en") -> go.Figure:
    """CAC per channel before and after a what-if change, with the new 95% interval.

    Parameters
    ----------
    result
        Output of :func:`salesml.attribution.what_if`.
    lang
        ``"en"`` or ``"zh"``.
    """
    _check(lang)
    c = result["cac"].dropna(subset=["cac"]).sort_values("cac_base")
    names = [_label(x, lang) for x in c["channel"]]
    fig = go.Figure()
    fig.add_bar(x=names, y=c["cac_base"], name=_label("before", lang), marker_color="#aec7e8")
    fig.add_bar(
        x=names,
        y=c["cac"],
        name=_label("after", lang),
        marker_color="#1f77b4",
        error_y={
            "type": "data",
            "symmetric": False,
            "array": np.nan_to_num(c["cac_high"] - c["cac"]),
            "arrayminus": np.nan_to_num(c["cac"] - c["cac_low"]),
        },
    )
    fig.update_yaxes(title=_label("CNY per acquired customer", lang))
    return _layout(fig, "What-if: CAC by channel", lang, barmode="group")
