"""Figures of impact measurement: one counterfactual chart per KPI."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from salesml.i18n import check_lang, t
from salesml.plotting._style import styled

__all__ = ["counterfactual_chart"]


def counterfactual_chart(result: Any, kpi: str, *, lang: str = "en") -> go.Figure:
    """Observed KPI, its counterfactual with the interval, and the go-live marker.

    Parameters
    ----------
    result
        An :class:`~salesml.impact.ImpactResult`.
    kpi
        The KPI key; a KPI without an estimate gets an empty chart saying why.
    lang
        ``"en"`` or ``"zh"``.
    """
    check_lang(lang)
    title = t(f"impact.kpi.{kpi}", lang)
    fig = go.Figure()
    cf = result.counterfactuals.get(kpi)
    if cf is None or cf.empty:
        row = result.table.set_index("kpi").loc[kpi]
        fig.add_annotation(
            text=t(str(row["reason"]) or "impact.reason.missing_table", lang),
            showarrow=False,
            x=0.5,
            y=0.5,
            xref="paper",
            yref="paper",
        )
        return styled(fig, title)
    event_axis = result.diagnostics.get(kpi, {}).get("x_axis") == "event"
    if "region" in cf and cf["region"].notna().any():  # sts: pooled over regions by period
        cf = _pool(cf)
    cf = cf.sort_values("period")
    x = cf["period"]
    post = cf[cf["post"]]
    fig.add_trace(
        go.Scatter(
            x=pd.concat([post["period"], post["period"][::-1]]),
            y=pd.concat([post["upper"], post["lower"][::-1]]),
            fill="toself",
            fillcolor="rgba(150,150,150,0.25)",
            line={"width": 0},
            name=t("impact.chart.interval", lang, level=1 - result.alpha),
            hoverinfo="skip",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=x,
            y=cf["counterfactual"].where(cf["post"] | ~event_axis),
            mode="lines",
            line={"dash": "dash", "color": "#7f7f7f"},
            name=t("impact.chart.counterfactual", lang),
        )
    )
    fig.add_trace(
        go.Scatter(
            x=x,
            y=cf["observed"],
            mode="lines+markers",
            line={"color": "#1f77b4"},
            marker={"size": 4},
            name=t("impact.chart.observed", lang),
        )
    )
    marker = -0.5 if event_axis else result.go_live
    if not isinstance(marker, (dict, type(None))):
        fig.add_vline(x=marker, line={"color": "#d62728", "dash": "dot"})
        fig.add_annotation(
            x=marker,
            y=1.02,
            yref="paper",
            text=t("impact.chart.go_live", lang),
            showarrow=False,
            font={"color": "#d62728"},
        )
    xaxis = t("impact.chart.event_axis", lang) if event_axis else None
    return styled(fig, title, xaxis_title=xaxis, yaxis_title=t("impact.chart.value", lang))


def _pool(cf: pd.DataFrame) -> pd.DataFrame:
    """Average regions per period (for a chart of an ``sts`` estimate)."""
    g = cf.groupby("period")
    out = g[["observed", "counterfactual", "lower", "upper"]].mean()
    out["post"] = g["post"].max()
    out = out.reset_index()
    out.loc[~out["post"], ["counterfactual", "lower", "upper"]] = np.nan
    return out


def counterfactual_grid(result: Any, *, lang: str = "en") -> go.Figure:
    """:func:`counterfactual_chart` of every estimated KPI, one panel per KPI."""
    from plotly.subplots import make_subplots

    check_lang(lang)
    kpis = [k for k in result.table["kpi"] if k in result.counterfactuals]
    if not kpis:
        fig = go.Figure()
        fig.add_annotation(
            text=t("impact.chart.none", lang),
            showarrow=False,
            x=0.5,
            y=0.5,
            xref="paper",
            yref="paper",
        )
        return styled(fig, t("impact.chart.title", lang))
    fig = make_subplots(
        rows=len(kpis),
        cols=1,
        subplot_titles=[t(f"impact.kpi.{k}", lang) for k in kpis],
        vertical_spacing=min(0.3 / max(len(kpis) - 1, 1), 0.08),
    )
    for i, k in enumerate(kpis, start=1):
        one = counterfactual_chart(result, k, lang=lang)
        for tr in one.data:
            tr.showlegend = i == 1
            fig.add_trace(tr, row=i, col=1)
        for shape in one.layout.shapes:  # the go-live marker
            fig.add_vline(x=shape.x0, line=shape.line, row=i, col=1)
    fig.update_layout(height=260 * len(kpis) + 120)
    return styled(fig, t("impact.chart.title", lang))
