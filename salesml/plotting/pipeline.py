"""Figures of the pipeline analytics: funnel, breakpoint heatmap, stage durations, lead loss.

Every function takes a result of :mod:`salesml.pipeline`, computes nothing new and
returns a ``plotly.graph_objects.Figure``; ``lang`` switches labels between English
and Chinese.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import plotly.graph_objects as go

from salesml.i18n import check_lang, label, t
from salesml.pipeline.breakpoints import BreakpointResult
from salesml.pipeline.durations import DurationResult
from salesml.pipeline.funnel import FunnelResult
from salesml.pipeline.leakage import UNEXPLAINED, LeakageResult
from salesml.plotting._style import styled

__all__ = ["breakpoint_heatmap", "funnel_chart", "lead_loss_bars", "stage_duration_bars"]

_UNEXPLAINED_COLOUR = "#d62728"
_REASON_COLOUR = "#1f77b4"
_MAX_TRACES = 8


def _group_name(row: object, by: list[str], lang: str) -> str:
    return " / ".join(label(row[d], lang) for d in by)  # type: ignore[index]


def _layout(fig: go.Figure, title: str, lang: str, **kwargs: object) -> go.Figure:
    return styled(fig, t(title, lang), **kwargs)


def funnel_chart(
    result: FunnelResult,
    *,
    lang: str = "en",
    groups: Literal["auto", "overall", "each"] = "auto",
) -> go.Figure:
    """Funnel of deals reaching each stage (and won), with stage conversion in the labels.

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
    t = result.table
    width = len(result.stage_order) + 1
    n_groups = len(t) // width if width else 0
    each = groups == "each" or (groups == "auto" and result.by and n_groups <= _MAX_TRACES)
    fig = go.Figure()
    frames = (
        [
            (_group_name(t.iloc[i * width], result.by, lang), t.iloc[i * width : (i + 1) * width])
            for i in range(n_groups)
        ]
        if each and result.by
        else [(label("all", lang), result.overall())]
    )
    conv_word = "转化" if lang == "zh" else "conv."
    for name, g in frames:
        conv = [
            f" · {conv_word} {c:.0%}" if np.isfinite(c) else ""
            for c in g["conversion"].astype(float)
        ]
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
    """Heatmap of conversion gaps (group x stage), breakpoints marked with a ring.

    Parameters
    ----------
    result
        A :class:`~salesml.pipeline.BreakpointResult`.
    lang
        ``"en"`` or ``"zh"``.
    value
        ``"gap_pp"`` (against the rest of the organisation, default) or
        ``"stage_gap_pp"`` (against the group's own level at the other stages).

    Returns
    -------
    plotly.graph_objects.Figure
        Red cells convert worse, blue cells better; flagged breakpoints carry "◎".
    """
    check_lang(lang)
    t = result.table
    stages = result.funnel.stage_order
    names = [_group_name(r, result.by, lang) for _, r in t[result.by].iterrows()]
    t = t.assign(_group=names)
    groups = sorted(set(names))
    z = t.pivot_table(index="_group", columns="stage", values=value, dropna=False)
    z = z.reindex(index=groups, columns=stages)
    flag = t.pivot_table(index="_group", columns="stage", values="breakpoint", aggfunc="max")
    flag = flag.reindex(index=groups, columns=stages).fillna(False).astype(bool)
    zv = z.to_numpy(dtype=float)
    text = np.where(
        np.isfinite(zv),
        np.char.add(
            np.char.mod("%+.1f", np.round(np.nan_to_num(zv), 1) + 0.0),
            np.where(flag.to_numpy(), " ◎", ""),
        ),
        "",
    )
    lim = float(np.nanmax(np.abs(zv))) if np.isfinite(zv).any() else 1.0
    fig = go.Figure(
        go.Heatmap(
            z=zv,
            x=[label(s, lang) for s in stages],
            y=groups,
            text=text,
            texttemplate="%{text}",
            colorscale="RdBu",
            zmid=0,
            zmin=-lim,
            zmax=lim,
            colorbar={"title": label("gap_pp", lang)},
            hovertemplate="%{y} · %{x}: %{z:+.1f}<extra></extra>",
        )
    )
    return _layout(fig, "pipeline.chart.gap", lang)


def stage_duration_bars(
    result: DurationResult,
    *,
    lang: str = "en",
    by_group: bool = False,
) -> go.Figure:
    """Bars of median and p90 days per stage (Kaplan-Meier where estimable).

    Parameters
    ----------
    result
        A :class:`~salesml.pipeline.DurationResult`.
    lang
        ``"en"`` or ``"zh"``.
    by_group
        Show one median bar per group (needs a grouped result) instead of the
        overall median and p90.

    Returns
    -------
    plotly.graph_objects.Figure
    """
    check_lang(lang)
    fig = go.Figure()
    if by_group and result.by:
        t = result.table
        names = [_group_name(r, result.by, lang) for _, r in t[result.by].iterrows()]
        t = t.assign(_group=names, _med=t["km_median_days"].fillna(t["median_days"]))
        for name in sorted(set(names)):
            g = t[t["_group"] == name]
            fig.add_trace(
                go.Bar(name=name, x=[label(s, lang) for s in g["stage"]], y=g["_med"].to_numpy())
            )
    else:
        o = result.overall
        med = o["km_median_days"].fillna(o["median_days"]).to_numpy()
        p90 = o["km_p90_days"].fillna(o["p90_days"]).to_numpy()
        x = [label(s, lang) for s in o["stage"]]
        fig.add_trace(go.Bar(name=label("median", lang), x=x, y=med))
        fig.add_trace(go.Bar(name=label("p90", lang), x=x, y=p90))
    fig.update_layout(barmode="group", yaxis_title=label("days", lang))
    return _layout(fig, "pipeline.chart.durations", lang)


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
    fig.update_layout(xaxis_title=label("lost_leads", lang))
    return _layout(fig, "pipeline.chart.lead_loss", lang)
