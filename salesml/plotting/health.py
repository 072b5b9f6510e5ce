"""Deal-health figures (plotly): calibration curve, score distribution, reason waterfall.

Pure functions over results of :mod:`salesml.health`; nothing is computed here
beyond arranging the given numbers.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

__all__ = ["calibration_curve", "reason_waterfall", "score_distribution"]

_NAMES = {
    "en": {
        "model": "health model",
        "stage_baseline": "stage win rate",
        "rules_baseline": "rule signals",
        "perfect": "perfect calibration",
        "pred": "predicted win probability",
        "obs": "observed win rate",
        "score": "health score (0-100)",
        "deals": "deals",
        "calib": "Calibration on held-out time",
        "dist": "Health score distribution",
        "wf": "Why deal {deal} scores {score:.0f}",
        "base": "average deal",
        "final": "this deal",
        "logodds": "log-odds of winning",
        "other": "other reasons",
    },
    "zh": {
        "model": "健康度模型",
        "stage_baseline": "阶段历史赢率",
        "rules_baseline": "规则信号",
        "perfect": "完美校准",
        "pred": "预测赢单概率",
        "obs": "实际赢单率",
        "score": "健康分 (0-100)",
        "deals": "商机数",
        "calib": "时间外样本校准曲线",
        "dist": "健康分分布",
        "wf": "商机 {deal} 得分 {score:.0f} 的原因",
        "base": "平均商机",
        "final": "该商机",
        "logodds": "赢单对数几率",
        "other": "其他原因",
    },
}


def _t(lang: str) -> dict[str, str]:
    if lang not in _NAMES:
        raise ValueError(f"lang must be 'en' or 'zh', got {lang!r}")
    return _NAMES[lang]


def calibration_curve(calibration: pd.DataFrame, *, lang: str = "en") -> go.Figure:
    """Reliability diagram from ``BacktestResult.calibration`` (or one model's table).

    Parameters
    ----------
    calibration
        Columns ``mean_pred``, ``observed``, ``n`` and optionally ``model``.
    lang
        ``en`` or ``zh``.
    """
    t = _t(lang)
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=[0, 1],
            y=[0, 1],
            mode="lines",
            name=t["perfect"],
            line={"dash": "dash", "color": "grey"},
        )
    )
    groups = (
        calibration.groupby("model", sort=False)
        if "model" in calibration
        else [("model", calibration)]
    )
    for name, g in groups:
        fig.add_trace(
            go.Scatter(
                x=g["mean_pred"],
                y=g["observed"],
                mode="lines+markers",
                name=t.get(str(name), str(name)),
                marker={"size": np.clip(np.sqrt(g["n"].to_numpy(dtype=float)), 4, 20)},
                customdata=g["n"],
                hovertemplate="%{x:.2f} → %{y:.2f} (n=%{customdata})",
            )
        )
    fig.update_layout(
        title=t["calib"],
        xaxis_title=t["pred"],
        yaxis_title=t["obs"],
        xaxis_range=[0, 1],
        yaxis_range=[0, 1],
        template="plotly_white",
    )
    return fig


def score_distribution(
    scored: pd.DataFrame, *, by: str | None = None, lang: str = "en", bins: int = 20
) -> go.Figure:
    """Histogram of ``health_score`` from :meth:`DealHealthModel.score`, optionally split by a column."""
    t = _t(lang)
    fig = go.Figure()
    if by is not None and by in scored:
        for key, g in scored.groupby(by, sort=True):
            fig.add_trace(
                go.Histogram(
                    x=g["health_score"], name=str(key), xbins={"size": 100 / bins}, opacity=0.6
                )
            )
        fig.update_layout(barmode="overlay")
    else:
        fig.add_trace(
            go.Histogram(x=scored["health_score"], xbins={"size": 100 / bins}, name=t["deals"])
        )
    fig.update_layout(
        title=t["dist"],
        xaxis_title=t["score"],
        yaxis_title=t["deals"],
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
    t = _t(lang)
    c = contributions.drop(labels=["bias"], errors="ignore").astype(float)
    bias = float(contributions.get("bias", 0.0))
    order = c.abs().sort_values(ascending=False).index
    shown = c[order[:top]]
    rest = float(c[order[top:]].sum())
    labels = [str(phrases.get(k, k)) if phrases is not None else str(k) for k in shown.index]
    values = list(shown.to_numpy())
    if len(order) > top:
        labels.append(t["other"])
        values.append(rest)
    fig = go.Figure(
        go.Waterfall(
            orientation="h",
            measure=["absolute", *["relative"] * len(values), "total"],
            y=[t["base"], *labels, t["final"]],
            x=[bias, *values, bias + float(c.sum())],
            connector={"line": {"color": "lightgrey"}},
        )
    )
    fig.update_layout(
        title=t["wf"].format(deal=deal_id, score=health_score),
        xaxis_title=t["logodds"],
        template="plotly_white",
        yaxis={"autorange": "reversed"},
    )
    return fig
