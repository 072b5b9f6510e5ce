"""The house style every salesml figure shares."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go

__all__ = ["styled"]


def styled(fig: go.Figure, title: str, **kwargs: Any) -> go.Figure:
    """Apply the house layout (white template, margins, legend below) and ``title``."""
    fig.update_layout(
        title=title,
        template="plotly_white",
        margin={"l": 60, "r": 20, "t": 60, "b": 40},
        legend={"orientation": "h", "y": -0.15},
        **kwargs,
    )
    return fig
