"""The chart slot of the apps: in place once drawn, else a new widget; old ones closed later."""

from __future__ import annotations

import plotly.graph_objects as go

from salesml.apps import widgets


def _fig(title: str, kind: type = go.Scatter) -> go.Figure:
    return go.Figure(kind(x=[1, 2], y=[3, 4]), layout={"title": title})


def _drawn(fig: go.FigureWidget) -> None:
    """What the page's plotly view sends once it has drawn the widget."""
    fig._js2py_layoutDelta = {"layout_delta": {}, "layout_edit_id": 0}


def test_update_in_place_only_after_the_page_drew_the_widget(monkeypatch) -> None:
    now = [1000.0]
    monkeypatch.setattr(widgets.time, "monotonic", lambda: now[0])
    slot = widgets.FigureSlot()
    slot.show(_fig("first"))
    first = slot.figure
    slot.show(_fig("second"))  # not drawn yet: an update now would be lost, a new widget
    second = slot.figure
    assert second is not first and slot.children == (second,)
    assert second.layout.title.text == "second" and not slot.drawn
    _drawn(second)
    assert slot.drawn
    slot.show(_fig("third"))  # drawn, same shape: in place
    assert slot.figure is second and second.layout.title.text == "third"
    slot.show(_fig("bars", go.Bar))  # another trace type: a new widget again
    bars = slot.figure
    assert bars is not second and bars.data[0].type == "bar"
    # retired widgets stay open for RETIRE_SECONDS (the page may still build them)
    assert first.comm is not None and second.comm is not None
    now[0] += widgets.FigureSlot.RETIRE_SECONDS + 1
    slot.show(_fig("line again"))
    assert first.comm is None and second.comm is None  # closed at the next redraw
    assert bars.comm is not None  # retired just now
