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

from salesml.i18n import check_lang, label, t
from salesml.plotting._style import styled

__all__ = [
    "cac_interval_chart",
    "cost_allocation_bars",
    "roi_interval_chart",
    "touch_comparison_chart",
    "what_if_chart",
]

#: Words of the CAC figures: the English phrase -> its catalog key.
_PHRASES: dict[str, str] = {
    "not acquired": "cac.chart.not_acquired",
    "CAC by channel": "cac.chart.cac_by_channel",
    "CAC by visit band": "cac.chart.cac_by_visit_band",
    "CAC by cycle band": "cac.chart.cac_by_cycle_band",
    "CAC": "cac.chart.cac",
    "ROI by channel": "cac.chart.roi_by_channel",
    "ROI (revenue / cost)": "cac.chart.roi_revenue_cost",
    "CNY per acquired customer": "cac.chart.cny_per_acquired_customer",
    "share of conversions": "cac.chart.share_of_conversions",
    "Multi-touch attribution by model": "cac.chart.multi_touch_attribution_by_model",
    "Cost by category": "cac.chart.cost_by_category",
    "allocated": "cac.chart.allocated",
    "unallocated": "cac.chart.unallocated",
    "CNY": "cac.chart.cny",
    "before": "cac.chart.before",
    "after": "cac.chart.after",
    "What-if: CAC by channel": "cac.chart.what_if_cac_by_channel",
    "95% interval": "cac.chart.95_interval",
}


def _label(key: object, lang: str) -> str:
    text = str(key)
    return t(_PHRASES[text], lang) if text in _PHRASES else label(text, lang)


def _check(lang: str) -> None:
    check_lang(lang)


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
