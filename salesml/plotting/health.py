"""Deal-health figures (plotly): calibration curve, score distribution, reason waterfall.

Pure functions over results of :mod:`salesml.health`; nothing is computed here
beyond arranging the given numbers.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from salesml.i18n import check_lang, label, t

__all__ = ["calibration_curve", "reason_waterfall", "score_distribution"]


def _t(key: str, lang: str, **values: object) -> str:
    return t(f"health.plot.{key}", check_lang(lang), **values)


def calibration_curve(calibration: pd.DataFrame, *, lang: str = "en") -> go.Figure:
    """Reliability diagram from ``BacktestResult.calibration`` (or one model's table).

    Each point is labelled with its bin's count (``n=412``) and the model's counts are
    drawn as bars on a second axis, so a point resting on a handful of snapshots is
    seen as such.

    Parameters
    ----------
    calibration
        Columns ``mean_pred``, ``observed``, ``n`` and optionally ``model``.
    lang
        ``en`` or ``zh``.
    """
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=[0, 1],
            y=[0, 1],
            mode="lines",
            name=_t("perfect", lang),
            line={"dash": "dash", "color": "grey"},
        )
    )
    groups = (
        list(calibration.groupby("model", sort=False))
        if "model" in calibration
        else [("model", calibration)]
    )
    for name, g in groups:
        shown = "health_model" if str(name) == "model" else str(name)
        n = g["n"].to_numpy(dtype=float)
        fig.add_trace(
            go.Scatter(
                x=g["mean_pred"],
                y=g["observed"],
                mode="lines+markers+text" if str(name) == "model" else "lines+markers",
                name=label(shown, lang),
                marker={"size": np.clip(np.sqrt(n), 4, 20)},
                text=[f"n={int(v):,}" for v in n],
                textposition="top center",
                customdata=g["n"],
                hovertemplate="%{x:.2f} → %{y:.2f} (n=%{customdata})",
            )
        )
    first = groups[0][1] if groups else calibration
    fig.add_trace(
        go.Bar(
            x=first["mean_pred"],
            y=first["n"],
            name=_t("bin_counts", lang),
            yaxis="y2",
            opacity=0.25,
            width=0.08,
            marker={"color": "grey"},
        )
    )
    fig.update_layout(
        title=_t("calibration", lang),
        xaxis_title=_t("predicted", lang),
        yaxis_title=_t("observed", lang),
        xaxis_range=[0, 1],
        yaxis_range=[0, 1],
        yaxis2={
            "overlaying": "y",
            "side": "right",
            "title": _t("bin_counts", lang),
            "showgrid": False,
        },
        template="plotly_white",
    )
    return fig


def score_distribution(
    scored: pd.DataFrame, *, by: str | None = None, lang: str = "en", bins: int = 20
) -> go.Figure:
    """Histogram of ``health_score`` from :meth:`DealHealthModel.score`, optionally split by a column."""
    fig = go.Figure()
    if by is not None and by in scored:
        for key, g in scored.groupby(by, sort=True):
            fig.add_trace(
                go.Histogram(
                    x=g["health_score"],
                    name=label(key, lang),
                    xbins={"size": 100 / bins},
                    opacity=0.6,
                )
            )
        fig.update_layout(barmode="overlay")
    else:
        fig.add_trace(
            go.Histogram(
                x=scored["health_score"], xbins={"size": 100 / bins}, name=_t("deals", lang)
            )
        )
    fig.update_layout(
        title=_t("distribution", lang),
        xaxis_title=_t("score", lang),
        yaxis_title=_t("deals", lang),
        xaxis_range=[0, 100],
        template="plotly_white",
    )
    return fig


def reason_waterfall(
    contributions: pd.Series,
    *,
    phrases: pd.Series | None = None,
    deal_id: str = "",
    health_score: float = float("nan"),
    top: int = 8,
    lang: str = "en",
) -> go.Figure:
    """Waterfall of one deal's reason contributions (log-odds) from the average deal.

    Parameters
    ----------
    contributions
        One row of :meth:`DealHealthModel.contributions` (reasons plus ``bias``).
    phrases
        Optional reason -> phrase labels (e.g. from ``explain`` for this deal, with
        ``top`` covering every reason, so no bar falls back to a feature name).
    deal_id, health_score
        For the title.
    top
        Reasons shown; the rest are summed into "other".
    """
    c = contributions.drop(labels=["bias"], errors="ignore").astype(float)
    bias = float(contributions.get("bias", 0.0))
    order = c.abs().sort_values(ascending=False).index
    shown = c[order[:top]]
    rest = float(c[order[top:]].sum())
    labels = [str(phrases.get(k, k)) if phrases is not None else str(k) for k in shown.index]
    values = list(shown.to_numpy())
    if len(order) > top:
        labels.append(_t("other", lang))
        values.append(rest)
    fig = go.Figure(
        go.Waterfall(
            orientation="h",
            measure=["absolute", *["relative"] * len(values), "total"],
            y=[_t("base", lang), *labels, _t("final", lang)],
            x=[bias, *values, bias + float(c.sum())],
            connector={"line": {"color": "lightgrey"}},
        )
    )
    fig.update_layout(
        title=_t("waterfall", lang, deal=deal_id, score=health_score),
        xaxis_title=_t("log_odds", lang),
        template="plotly_white",
        yaxis={"autorange": "reversed"},
    )
    return fig
