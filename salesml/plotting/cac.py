"""Figures of cost attribution: CAC and ROI with intervals, multi-touch comparison, what-if.

Every function takes a result of :mod:`salesml.attribution` (``cac``, ``roi``,
``touch_attribution``, ``what_if``, ``allocate_costs``; a plain table of the same shape is
accepted too), computes nothing new and returns a ``plotly.graph_objects.Figure``.
``lang`` switches every word between English and Chinese; names of channels, bands,
categories and models come from the label catalog, the same words the tables under the
figures use, and money is shown in the dataset's currency.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from salesml.attribution.touch import model_label
from salesml.i18n import check_lang, currency_symbol, label, money, t
from salesml.plotting._style import styled

__all__ = [
    "cac_interval_chart",
    "cost_allocation_bars",
    "roi_interval_chart",
    "touch_comparison_chart",
    "what_if_chart",
]

_DIMS = ("channel", "visit_band", "cycle_band")


def _table(result: Any) -> pd.DataFrame:
    return result.table if hasattr(result, "table") else result


def _currency(result: Any, currency: str | None) -> str:
    return currency or getattr(result, "currency", None) or "CNY"


def _dims(table: pd.DataFrame, value: str) -> list[str]:
    dims = [c for c in _DIMS if c in table.columns]
    if not dims:
        raise ValueError("the table has no grouping column (channel, visit_band, cycle_band)")
    if value not in table.columns:
        raise ValueError(f"the table has no {value!r} column")
    return dims


def _per_customer_axis(currency: str, lang: str) -> str:
    return t("cac.chart.per_acquired_customer", lang, currency=currency_symbol(currency).strip())


def _interval_chart(
    table: pd.DataFrame,
    value: str,
    title: str,
    axis: str,
    lang: str,
    sort: bool,
    fmt: Any,
) -> go.Figure:
    dims = _dims(table, value)
    rows = table.dropna(subset=[value])
    if sort:
        rows = rows.sort_values(value)
    names = [" / ".join(label(r[d], lang) for d in dims) for _, r in rows.iterrows()]
    est = rows[value].to_numpy(dtype=float)
    lo = rows.get(f"{value}_low", pd.Series(np.nan, index=rows.index)).to_numpy(dtype=float)
    hi = rows.get(f"{value}_high", pd.Series(np.nan, index=rows.index)).to_numpy(dtype=float)
    interval = t("cac.chart.95_interval", lang)
    hover = [
        f"{n}<br>{label(value, lang)}: {fmt(e)}"
        + (f"<br>{interval}: {fmt(a)} – {fmt(b)}" if np.isfinite(a) else "")
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
    fig.update_xaxes(title=axis)
    fig.update_yaxes(automargin=True)
    return styled(fig, title, height=max(300, 32 * len(names) + 140))


def cac_interval_chart(
    result: Any,
    *,
    lang: str = "en",
    title: str | None = None,
    sort: bool = True,
    currency: str | None = None,
) -> go.Figure:
    """CAC per group as bars with their 95% interval.

    Parameters
    ----------
    result
        :func:`salesml.attribution.cac` (any ``by``) or its table; groups without a CAC
        (nothing acquired) are left out.
    lang
        ``"en"`` or ``"zh"``.
    title
        Figure title (default from the grouping).
    sort
        Sort bars by CAC (bands keep their order).
    currency
        ISO code of the amounts (default: the result's).
    """
    check_lang(lang)
    table = _table(result)
    dims = _dims(table, "cac")
    cur = _currency(result, currency)
    if title is None:
        title = t(f"cac.chart.cac_by_{dims[0]}", lang) if len(dims) == 1 else label("cac", lang)
    return _interval_chart(
        table,
        "cac",
        title,
        _per_customer_axis(cur, lang),
        lang,
        sort and "band" not in dims[0],
        lambda x: money(x, cur),
    )


def roi_interval_chart(result: Any, *, lang: str = "en", sort: bool = True) -> go.Figure:
    """ROI (attributed revenue / allocated cost) per group with its 95% interval.

    Parameters
    ----------
    result
        :func:`salesml.attribution.roi` or its table.
    lang
        ``"en"`` or ``"zh"``.
    sort
        Sort bars by ROI.
    """
    check_lang(lang)
    return _interval_chart(
        _table(result),
        "roi",
        t("cac.chart.roi_by_channel", lang),
        t("cac.chart.roi_revenue_cost", lang),
        lang,
        sort,
        lambda x: f"{x:,.2f}",
    )


def touch_comparison_chart(result: Any, *, lang: str = "en", metric: str = "share") -> go.Figure:
    """Grouped bars: each channel's credit under every attribution model.

    Parameters
    ----------
    result
        :func:`salesml.attribution.touch_attribution` with several models, or its table.
    lang
        ``"en"`` or ``"zh"``.
    metric
        ``share`` (default), ``conversions`` or ``value``.
    """
    check_lang(lang)
    if metric not in ("share", "conversions", "value"):
        raise ValueError(f"metric must be share, conversions or value, got {metric!r}")
    tidy = _table(result)
    fig = go.Figure()
    order = (
        tidy.groupby("channel")[metric].mean().sort_values(ascending=False).index.tolist()
        if len(tidy)
        else []
    )
    for model, g in tidy.groupby("model", sort=False):
        g = g.set_index("channel").reindex(order)
        fig.add_bar(
            x=[label(c, lang) for c in order],
            y=g[metric].to_numpy(dtype=float),
            name=model_label(str(model), lang),
        )
    fig.update_yaxes(
        title=t("cac.chart.share_of_conversions", lang)
        if metric == "share"
        else label(metric, lang),
        tickformat=".0%" if metric == "share" else None,
    )
    fig.update_xaxes(automargin=True)
    return styled(fig, t("cac.chart.multi_touch_attribution_by_model", lang), barmode="group")


def cost_allocation_bars(
    result: Any, *, lang: str = "en", currency: str | None = None
) -> go.Figure:
    """Stacked bars of allocated and unallocated cost per category.

    Parameters
    ----------
    result
        :func:`salesml.attribution.allocate_costs` (its :meth:`summary`, the period's
        categories when it has a period) or a frame with ``category``, ``allocated`` and
        ``unallocated``.
    lang
        ``"en"`` or ``"zh"``.
    currency
        ISO code of the amounts (default: the result's).
    """
    check_lang(lang)
    cur = _currency(result, currency)
    frame = result.summary() if hasattr(result, "summary") and callable(result.summary) else result
    tab = frame.groupby("category", observed=True)[["allocated", "unallocated"]].sum()
    tab = tab.sort_values("allocated")
    names = [label(c, lang) for c in tab.index]
    fig = go.Figure()
    for col, colour, values in (
        ("allocated", "#1f77b4", tab["allocated"]),
        ("unallocated", "#d62728", tab["unallocated"].clip(lower=0)),
    ):
        fig.add_bar(
            y=names,
            x=values,
            name=label(col, lang),
            orientation="h",
            marker_color=colour,
            hovertext=[f"{n}: {money(v, cur)}" for n, v in zip(names, values, strict=True)],
            hoverinfo="text",
        )
    fig.update_xaxes(title=t("cac.chart.amount", lang, currency=currency_symbol(cur).strip()))
    fig.update_yaxes(automargin=True)
    return styled(
        fig,
        t("cac.chart.cost_by_category", lang),
        barmode="stack",
        height=max(300, 30 * len(names) + 120),
    )


def what_if_chart(result: Any, *, lang: str = "en", currency: str | None = None) -> go.Figure:
    """CAC per channel before and after a what-if change, with the new 95% interval.

    Parameters
    ----------
    result
        :func:`salesml.attribution.what_if` (or its CAC table with ``cac_base``).
    lang
        ``"en"`` or ``"zh"``.
    currency
        ISO code of the amounts (default: the result's).
    """
    check_lang(lang)
    cur = _currency(result, currency)
    c = _table(result).dropna(subset=["cac"]).sort_values("cac_base")
    names = [label(x, lang) for x in c["channel"]]
    fig = go.Figure()
    fig.add_bar(
        x=names,
        y=c["cac_base"],
        name=t("cac.chart.before", lang),
        marker_color="#aec7e8",
        hovertext=[money(v, cur) for v in c["cac_base"]],
        hoverinfo="text+name",
    )
    fig.add_bar(
        x=names,
        y=c["cac"],
        name=t("cac.chart.after", lang),
        marker_color="#1f77b4",
        error_y={
            "type": "data",
            "symmetric": False,
            "array": np.nan_to_num(c["cac_high"] - c["cac"]),
            "arrayminus": np.nan_to_num(c["cac"] - c["cac_low"]),
        },
        hovertext=[money(v, cur) for v in c["cac"]],
        hoverinfo="text+name",
    )
    fig.update_yaxes(title=_per_customer_axis(cur, lang))
    return styled(fig, t("cac.chart.what_if_cac_by_channel", lang), barmode="group")
