"""The chart slot of the apps: a new widget per figure, old ones closed two minutes later."""

from __future__ import annotations

import plotly.graph_objects as go

from salesml.apps import widgets


def _fig(title: str) -> go.Figure:
    return go.Figure(go.Scatter(x=[1, 2], y=[3, 4]), layout={"title": title})


def test_each_figure_gets_a_new_widget_and_old_ones_close_later(monkeypatch) -> None:
    now = [1000.0]
    monkeypatch.setattr(widgets.time, "monotonic", lambda: now[0])
    slot = widgets.FigureSlot()
    slot.show(_fig("first"))
    first = slot.figure
    slot.show(_fig("second"))  # same shape: still a new widget, with the new title
    second = slot.figure
    assert second is not first and slot.children == (second,)
    assert second.layout.title.text == "second"
    assert first.comm is not None  # retired, not closed: the page may still build it
    now[0] += widgets.FigureSlot.RETIRE_SECONDS - 1
    slot.show(_fig("third"))
    assert first.comm is not None and second.comm is not None
    now[0] += 2
    slot.show(_fig("fourth"))
    assert first.comm is None  # retired over two minutes ago: closed
    assert second.comm is not None  # retired 2 s ago (replaced by the third)
