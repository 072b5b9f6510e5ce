"""Figures of :mod:`salesml.ops`: the store x month cost heatmap and war-room response trends."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from salesml.i18n import check_lang, t
from salesml.ops.materials import StoreAnomalyResult
from salesml.ops.warroom import WarRoomResult
from salesml.plotting._style import styled

__all__ = ["response_trend", "store_cost_heatmap"]


def store_cost_heatmap(result: StoreAnomalyResult, *, lang: str = "en") -> go.Figure:
    """Material cost per served customer, store x month, as a ratio to the region's other stores.

    Parameters
    ----------
    result
        A :class:`~salesml.ops.StoreAnomalyResult`.
    lang
        ``"en"`` or ``"zh"``.

    Returns
    -------
    plotly.graph_objects.Figure
        ``data[0]``: a heatmap of ``log2(ratio)`` (0 = the regional mean, +1 = twice it),
        stores in the ranking's order (most anomalous on top), flagged stores marked "◎".
    """
    check_lang(lang)
    hm = result.heatmap
    order = [s for s in result.table["store_id"] if s in set(hm["store_id"])]
    flagged = set(result.flagged["store_id"])
    grid = hm.pivot_table(index="store_id", columns="month", values="ratio", aggfunc="first")
    grid = grid.reindex(index=order)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.log2(grid.to_numpy(dtype=float))
    z[~np.isfinite(z)] = np.nan
    text = np.where(np.isfinite(z), np.char.mod("%.1f×", np.nan_to_num(2.0**z)), "")
    y = [f"{s} ◎" if s in flagged else str(s) for s in grid.index]
    lim = float(np.nanmax(np.abs(z))) if np.isfinite(z).any() else 1.0
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=[str(m) for m in grid.columns],
            y=y,
            text=text,
            texttemplate="%{text}",
            colorscale="RdBu_r",
            zmid=0,
            zmin=-lim,
            zmax=lim,
            colorbar={"title": t("ops.chart.log2_ratio", lang)},
            hoverongaps=False,
        )
    )
    fig.update_yaxes(autorange="reversed")
    return styled(fig, t("ops.chart.store_heatmap", lang), height=max(300, 22 * len(y) + 120))


def response_trend(result: WarRoomResult, *, lang: str = "en") -> go.Figure:
    """Median and p90 request -> response hours by month.

    Returns
    -------
    plotly.graph_objects.Figure
        ``data[0]``: the median, ``data[1]``: the 90th percentile, by request month.
    """
    check_lang(lang)
    tr = result.trend
    fig = go.Figure(
        [
            go.Scatter(
                x=tr["month"],
                y=tr["median_h"],
                mode="lines+markers",
                name=t("ops.chart.median", lang),
            ),
            go.Scatter(x=tr["month"], y=tr["p90_h"], mode="lines", name=t("ops.chart.p90", lang)),
        ]
    )
    fig.update_yaxes(title=t("ops.chart.hours", lang), rangemode="tozero")
    return styled(fig, t("ops.chart.response_trend", lang))
