"""Figures of the pipeline analytics: funnel, breakpoint heatmap, stage durations, lead loss.

Every function takes a result of :mod:`salesml.pipeline`, computes nothing new and
returns a ``plotly.graph_objects.Figure``; ``lang`` switches every word (titles,
legends, axes, stage and group names, the words inside the chart) between English
and Chinese, all read from the label catalog, so a chart and the table under it agree.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from salesml.i18n import check_lang, label, t
from salesml.pipeline import (
    UNEXPLAINED,
    BreakpointResult,
    DurationResult,
    FunnelResult,
    LeakageResult,
)
from salesml.pipeline.findings import format_p
from salesml.plotting._style import styled

__all__ = ["breakpoint_heatmap", "funnel_chart", "lead_loss_bars", "stage_duration_bars"]

_UNEXPLAINED_COLOUR = "#d62728"
_REASON_COLOUR = "#1f77b4"
_GREY = "#e6e6e6"
_MAX_TRACES = 8


def _group_name(row: pd.Series, by: list[str], lang: str) -> str:
    return " / ".join(label(row[d], lang) for d in by)


def _layout(fig: go.Figure, title: str, lang: str, **kwargs: object) -> go.Figure:
    return styled(fig, t(title, lang), **kwargs)


def funnel_chart(
    result: FunnelResult,
    *,
    lang: str = "en",
    groups: Literal["auto", "overall", "each"] = "auto",
) -> go.Figure:
    """Funnel of deals reaching each stage (and won), with stage conversion in the labels.

    A stage whose conversion the data cannot measure (see ``FunnelResult.measurable``)
    says so instead of showing a rate.

    Parameters
    ----------
    result
        A :class:`~salesml.pipeline.FunnelResult`.
    lang
        ``"en"`` or ``"zh"``.
    groups
        ``"overall"``: one funnel of the whole cohort; ``"each"``: one funnel trace per
        group; ``"auto"`` (default): per group when the result is grouped into at most
        eight groups, otherwise overall.

    Returns
    -------
    plotly.graph_objects.Figure
    """
    check_lang(lang)
    tab = result.table
    width = len(result.stage_order) + 1
    n_groups = len(tab) // width if width else 0
    each = groups == "each" or (groups == "auto" and result.by and n_groups <= _MAX_TRACES)
    fig = go.Figure()
    frames = (
        [
            (
                _group_name(tab.iloc[i * width], result.by, lang),
                tab.iloc[i * width : (i + 1) * width],
            )
            for i in range(n_groups)
        ]
        if each and result.by
        else [(label("all", lang), result.overall())]
    )
    for name, g in frames:
        conv = []
        for c, m, st in zip(
            g["conversion"].astype(float), g["measurable"], g["stage"], strict=True
        ):
            if np.isfinite(c):
                conv.append(" · " + t("pipeline.chart.conv", lang, rate=c))
            elif not m and st != "won":
                conv.append(" · " + t("pipeline.chart.conv_na", lang))
            else:
                conv.append("")
        counts = [f"{int(r):,}" for r in g["reached"]]
        # several funnels side by side leave no room for the rates: those go to the hover
        text = counts if len(frames) > 1 else [a + b for a, b in zip(counts, conv, strict=True)]
        fig.add_trace(
            go.Funnel(
                name=name,
                y=[label(s, lang) for s in g["stage"]],
                x=g["reached"].to_numpy(),
                text=text,
                textinfo="text",
                customdata=conv,
                hovertemplate="%{y}: %{x:,}%{customdata}<extra>" + name + "</extra>",
            )
        )
    return _layout(fig, "pipeline.chart.funnel", lang)


def breakpoint_heatmap(
    result: BreakpointResult,
    *,
    lang: str = "en",
    value: Literal["gap_pp", "stage_gap_pp"] = "gap_pp",
) -> go.Figure:
    """Heatmap of conversion gaps (group x stage): colour only where the gap is significant.

    Parameters
    ----------
    result
        A :class:`~salesml.pipeline.BreakpointResult`.
    lang
        ``"en"`` or ``"zh"``.
    value
        ``"gap_pp"`` (against the rest of the organisation, default; coloured where
        ``significant``) or ``"stage_gap_pp"`` (against the group's own level at the
        other stages; coloured where ``stage_significant``).

    Returns
    -------
    plotly.graph_objects.Figure
        ``data[0]``: the significant cells, red where they convert worse, blue where
        better; ``data[1]``: the other cells in grey (their gap as text only), so that
        a gap with p = 0.99 is never painted as a strong colour. Breakpoints carry "◎";
        a note under the chart says what grey means.
    """
    check_lang(lang)
    sig_col, p_col, title, bar = (
        ("significant", "p_adjusted", "pipeline.chart.gap", "pipeline.chart.gap_colorbar")
        if value == "gap_pp"
        else (
            "stage_significant",
            "p_stage_adjusted",
            "pipeline.chart.stage_gap",
            "pipeline.chart.stage_gap_colorbar",
        )
    )
    tab = result.table
    stages = result.stage_order
    names = [_group_name(r, result.by, lang) for _, r in tab[result.by].iterrows()]
    tab = tab.assign(_group=names)
    groups = sorted(set(names))

    def grid(column: str, fill: object = np.nan) -> pd.DataFrame:
        m = tab.pivot_table(index="_group", columns="stage", values=column, aggfunc="max")
        return m.reindex(index=groups, columns=stages).fillna(fill)

    zv = grid(value).to_numpy(dtype=float)
    sig = grid(sig_col, False).to_numpy(dtype=bool) & np.isfinite(zv)
    flag = grid("breakpoint", False).to_numpy(dtype=bool)
    pv = grid(p_col).to_numpy(dtype=float)
    finite = np.isfinite(zv)
    text = np.where(
        finite,
        np.char.add(
            np.char.mod("%+.1f", np.round(np.nan_to_num(zv), 1) + 0.0),
            np.where(flag, " ◎", ""),
        ),
        "",
    )
    hover = np.array(
        [
            [
                t(
                    "pipeline.chart.hover_gap",
                    lang,
                    gap=f"{zv[i, j]:+.1f}",
                    p=format_p(pv[i, j]) if np.isfinite(pv[i, j]) else "",
                )
                if finite[i, j]
                else ""
                for j in range(zv.shape[1])
            ]
            for i in range(zv.shape[0])
        ],
        dtype=object,
    ).reshape(zv.shape)
    coloured = np.where(sig, zv, np.nan)
    lim = float(np.nanmax(np.abs(coloured))) if sig.any() else 1.0
    x = [label(s, lang) for s in stages]
    hovertemplate = "%{y} · %{x}: %{customdata}<extra></extra>"
    fig = go.Figure(
        [
            go.Heatmap(
                z=coloured,
                x=x,
                y=groups,
                text=np.where(sig, text, ""),
                texttemplate="%{text}",
                customdata=hover,
                colorscale="RdBu",
                zmid=0,
                zmin=-lim,
                zmax=lim,
                colorbar={"title": t(bar, lang)},
                hovertemplate=hovertemplate,
                hoverongaps=False,
            ),
            go.Heatmap(
                z=np.where(finite & ~sig, 0.0, np.nan),
                x=x,
                y=groups,
                text=np.where(finite & ~sig, text, ""),
                texttemplate="%{text}",
                customdata=hover,
                colorscale=[[0.0, _GREY], [1.0, _GREY]],
                showscale=False,
                hovertemplate=hovertemplate,
                hoverongaps=False,
            ),
        ]
    )
    fig.add_annotation(
        text=t("pipeline.chart.gap_grey", lang, alpha=f"{result.alpha:g}"),
        xref="paper",
        yref="paper",
        x=0,
        y=-0.12,
        xanchor="left",
        yanchor="top",
        showarrow=False,
        font={"size": 11},
    )
    fig.update_layout(
        xaxis_title=label("stage", lang),
        yaxis_title=" / ".join(label(d, lang) for d in result.by),
    )
    fig = _layout(fig, title, lang)
    fig.update_layout(margin={"b": 90})  # room for the note on grey cells
    return fig


def stage_duration_bars(
    result: DurationResult,
    *,
    lang: str = "en",
    by_group: bool = False,
) -> go.Figure:
    """Bars of the Kaplan-Meier median and 90th percentile of days per stage.

    Both bars come from the same estimator (open stays censored); a quantile that is
    not known yet (too many stays still open) shows an empty bar labelled so, never a
    completed-only figure in its place. A deals-only result (``method="cycle"``) shows
    the sales cycle, creation to close.

    Parameters
    ----------
    result
        A :class:`~salesml.pipeline.DurationResult`.
    lang
        ``"en"`` or ``"zh"``.
    by_group
        Show one Kaplan-Meier median bar per group (needs a grouped result) instead of
        the overall median and p90.

    Returns
    -------
    plotly.graph_objects.Figure
    """
    check_lang(lang)
    fig = go.Figure()
    unknown = t("pipeline.chart.not_known", lang)

    def bar(name: str, x: list[str], y: np.ndarray) -> go.Bar:
        known = np.isfinite(y)
        return go.Bar(
            name=name,
            x=x,
            y=np.where(known, y, 0.0),
            text=[f"{v:,.0f}" if k else unknown for v, k in zip(y, known, strict=True)],
            textposition="outside",
            cliponaxis=False,
        )

    if by_group and result.by:
        tab = result.table
        names = [_group_name(r, result.by, lang) for _, r in tab[result.by].iterrows()]
        tab = tab.assign(_group=names)
        for name in sorted(set(names)):
            g = tab[tab["_group"] == name]
            fig.add_trace(
                bar(
                    name,
                    [label(s, lang) for s in g["stage"]],
                    g["km_median_days"].to_numpy(dtype=float),
                )
            )
        fig.update_layout(legend_title_text=t("pipeline.chart.km_median", lang))
    else:
        o = result.overall
        x = [label(s, lang) for s in o["stage"]]
        fig.add_trace(
            bar(t("pipeline.chart.km_median", lang), x, o["km_median_days"].to_numpy(float))
        )
        fig.add_trace(bar(t("pipeline.chart.km_p90", lang), x, o["km_p90_days"].to_numpy(float)))
    fig.update_layout(barmode="group", yaxis_title=label("days", lang))
    title = "pipeline.chart.cycle" if result.method == "cycle" else "pipeline.chart.durations"
    return _layout(fig, title, lang)


def lead_loss_bars(result: LeakageResult, *, lang: str = "en", top: int = 12) -> go.Figure:
    """Horizontal bars of lost leads per reason, the unexplained ones highlighted.

    Parameters
    ----------
    result
        A :class:`~salesml.pipeline.LeakageResult`.
    lang
        ``"en"`` or ``"zh"``.
    top
        Show at most this many reasons (largest first).

    Returns
    -------
    plotly.graph_objects.Figure
    """
    check_lang(lang)
    r = result.reasons.head(top).iloc[::-1]
    names = [label(x, lang) for x in r["reason"]]
    colours = [_UNEXPLAINED_COLOUR if x == UNEXPLAINED else _REASON_COLOUR for x in r["reason"]]
    fig = go.Figure(
        go.Bar(
            x=r["lost"].to_numpy(),
            y=names,
            orientation="h",
            marker_color=colours,
            text=[f"{s:.0%}" for s in r["share_of_lost"]],
            textposition="auto",
            hovertemplate="%{y}: %{x:,}<extra></extra>",
        )
    )
    fig.update_layout(xaxis_title=label("lost_leads", lang), yaxis_title=label("reason", lang))
    return _layout(fig, "pipeline.chart.lead_loss", lang)
