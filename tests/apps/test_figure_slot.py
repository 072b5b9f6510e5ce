"""The chart slot of the apps: updated in place and re-attached; old widgets closed later."""

from __future__ import annotations

import plotly.graph_objects as go

from salesml.apps import widgets


def _fig(title: str, kind: type = go.Scatter) -> go.Figure:
    return go.Figure(kind(x=[1, 2], y=[3, 4]), layout={"title": title})


def test_same_shape_in_place_and_reattached_other_shape_new(monkeypatch) -> None:
    now = [1000.0]
    monkeypatch.setattr(widgets.time, "monotonic", lambda: now[0])
    slot = widgets.FigureSlot()
    slot.show(_fig("first"))
    first = slot.figure
    seen = []
    slot.observe(lambda c: seen.append(tuple(c["new"])), names="children")
    slot.show(_fig("second"))  # same shape: the same model, updated, and a new view
    assert slot.figure is first and first.layout.title.text == "second"
    assert seen == [(), (first,)]
    slot.show(_fig("bars", go.Bar))  # another trace type: a new widget
    bars = slot.figure
    assert bars is not first and bars.data[0].type == "bar" and seen[-1] == (bars,)
    # retired widgets stay open for RETIRE_SECONDS (the page may still build them)
    assert first.comm is not None
    now[0] += widgets.FigureSlot.RETIRE_SECONDS + 1
    slot.show(_fig("line again"))
    assert first.comm is None  # closed at the next redraw
    assert bars.comm is not None  # retired just now
