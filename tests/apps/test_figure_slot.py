"""The chart slot of the apps: in place, redrawn when an update beat the page's draw."""

from __future__ import annotations

import plotly.graph_objects as go

from salesml.apps import widgets


def _fig(title: str, kind: type = go.Scatter) -> go.Figure:
    return go.Figure(kind(x=[1, 2], y=[3, 4]), layout={"title": title})


def _drawn(fig: go.FigureWidget) -> None:
    """What the page's plotly view sends once it has drawn the widget."""
    fig._js2py_layoutDelta = {"layout_delta": {}, "layout_edit_id": 0}


def test_in_place_and_redrawn_when_the_update_beat_the_draw(monkeypatch) -> None:
    now = [1000.0]
    monkeypatch.setattr(widgets.time, "monotonic", lambda: now[0])
    slot = widgets.FigureSlot()
    slot.show(_fig("first"))
    first = slot.figure
    slot.show(_fig("second"))  # same shape: in place, even before the page drew it
    assert slot.figure is first and first.layout.title.text == "second"
    assert slot.stale  # the page may draw "first": redraw once it reports
    seen = []
    slot.observe(lambda c: seen.append(tuple(c["new"])), names="children")
    _drawn(first)
    assert seen == [(), (first,)] and not slot.stale  # a new view of the same model
    slot.show(_fig("third"))  # drawn: in place, nothing to redraw later
    assert slot.figure is first and not slot.stale
    _drawn(first)
    assert seen == [(), (first,)]
    slot.show(_fig("bars", go.Bar))  # another trace type: a new widget
    bars = slot.figure
    assert bars is not first and bars.data[0].type == "bar" and not slot.drawn
    slot.show(_fig("more bars", go.Bar), new=True)  # asked for a new one
    assert slot.figure is not bars
    # retired widgets stay open for RETIRE_SECONDS (the page may still build them)
    assert first.comm is not None and bars.comm is not None
    now[0] += widgets.FigureSlot.RETIRE_SECONDS + 1
    slot.show(_fig("line again"))
    assert first.comm is None and bars.comm is None  # closed at the next redraw
