"""Figures of the capability scores: radar small multiples, one polar chart per team.

Functions take a :class:`~salesml.capability.CapabilityResult`, compute nothing new and
return a ``plotly.graph_objects.Figure``; every word comes from the label catalog.
"""

from __future__ import annotations

import math

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from salesml.capability import SCENARIOS, CapabilityResult
from salesml.i18n import check_lang, label, t
from salesml.plotting._style import styled

__all__ = ["capability_radar"]

#: Teams drawn at most (a larger organisation: filter by region or team).
MAX_TEAMS = 12


def capability_radar(
    result: CapabilityResult, *, lang: str = "en", max_teams: int = MAX_TEAMS, cols: int = 3
) -> go.Figure:
    """One polar radar per team; each rep a closed line over the three scenarios.

    The radius is the score's percentile among the reps (50 = the average rep); a
    dotted line marks reps flagged ``low_evidence`` (their position is uncertain).
    """
    check_lang(lang)
    tab = result.table.copy()
    tab["team"] = tab["team"].fillna("")
    teams = sorted(tab["team"].unique())[:max_teams]
    n = max(len(teams), 1)
    cols = min(cols, n)
    rows = math.ceil(n / cols)
    fig = make_subplots(
        rows=rows,
        cols=cols,
        specs=[[{"type": "polar"}] * cols for _ in range(rows)],
        subplot_titles=[label(tm, lang) or "-" for tm in teams],
    )
    theta = [label(s, lang) for s in SCENARIOS]
    for k, team in enumerate(teams):
        part = tab[tab["team"] == team]
        for rep, g in part.groupby("rep_id", sort=True):
            g = g.set_index("scenario").reindex(list(SCENARIOS))
            r = g["percentile"].tolist()
            name = g["name"].iloc[0] if isinstance(g["name"].iloc[0], str) else str(rep)
            low = bool(g["low_evidence"].any())
            fig.add_trace(
                go.Scatterpolar(
                    r=[*r, r[0]],
                    theta=[*theta, theta[0]],
                    name=name,
                    mode="lines+markers",
                    line={"dash": "dot" if low else "solid"},
                    hovertemplate="%{theta}: %{r:.0f}<extra>" + str(name) + "</extra>",
                ),
                row=k // cols + 1,
                col=k % cols + 1,
            )
    fig.update_polars(radialaxis={"range": [0, 100], "tickvals": [25, 50, 75]})
    return styled(
        fig,
        t("capability.chart.radar", lang),
        height=330 * rows,
        showlegend=False,
    )
