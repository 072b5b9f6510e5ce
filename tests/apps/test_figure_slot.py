"""The chart slot of the apps: one small chart widget for the slot's life, fed plotly JSON."""

from __future__ import annotations

import json

import plotly.graph_objects as go

from salesml.apps import widgets


def _fig(title: str, kind: type = go.Scatter) -> go.Figure:
    return go.Figure(kind(x=[1, 2], y=[3, 4]), layout={"title": title})


def test_one_chart_widget_redrawn_with_each_figure() -> None:
    slot = widgets.FigureSlot()
    chart = slot.chart
    assert slot.children == (chart,)
    sent = []
    chart.observe(lambda c: sent.append(json.loads(c["new"])), names="figure_json")
    slot.show(_fig("first"))
    slot.show(_fig("bars", go.Bar))  # another trace type: the same widget
    assert slot.children == (chart,) and slot.chart is chart
    assert [s["layout"]["title"]["text"] for s in sent] == ["first", "bars"]
    assert [s["data"][0]["type"] for s in sent] == ["scatter", "bar"]
    assert slot.figure.data[0].type == "bar"
    # the widget's module stays small: plotly.js is sent on request, not in the model
    assert len(chart._esm) < 10_000 and "Plotly.react" in chart._esm


def test_plotly_js_is_sent_when_the_page_asks() -> None:
    chart = widgets.PlotlyChart()
    out = []
    chart.send = lambda content, buffers=None: out.append((content, buffers))  # type: ignore[method-assign]
    chart._on_message(chart, {"kind": "something else"}, [])
    assert out == []
    chart._on_message(chart, {"kind": "plotly.js?"}, [])
    ((content, buffers),) = out
    assert content == {"kind": "plotly.js"} and len(buffers) == 1
    assert b"window.Plotly" in buffers[0] and len(buffers[0]) > 1_000_000
    # a viewer asking again and again gets it a bounded number of times
    for _ in range(10):
        chart._on_message(chart, {"kind": "plotly.js?"}, [])
    assert len(out) == widgets.PlotlyChart.MAX_PLOTLY_SENDS


def test_the_charts_own_messages_follow_the_viewers_language() -> None:
    """What the page shows when a chart cannot be drawn comes from the label catalog, in
    the app's language, and follows a change of language."""
    from salesml.apps.base import AppState
    from salesml.i18n import t

    slot = widgets.FigureSlot(lang="zh")
    assert slot.chart.failed_text == t("app.chart_failed", "zh", reason="{reason}")
    assert "{reason}" in slot.chart.failed_text and "图表" in slot.chart.failed_text
    assert slot.chart.missing_text == t("app.chart_library_missing", "zh")
    state = AppState()
    *_, chart = widgets.result_widgets(state)
    assert chart.chart.failed_text.startswith("The chart could not be drawn")
    state.lang = "zh"
    assert chart.chart.missing_text == t("app.chart_library_missing", "zh")
    js = chart.chart._esm
    assert 'model.get("failed_text")' in js and 'model.get("missing_text")' in js


def test_a_chart_whose_view_hears_nothing_is_replaced_with_the_same_figure() -> None:
    """anywidget drops kernel messages to a model that missed its 2 s start; the view
    pings, and one that hears no pong says ``stalled``: the slot puts a fresh chart
    with the same figure and language in its place, a bounded number of times."""
    slot = widgets.FigureSlot(lang="zh")
    slot.show(_fig("kept"))
    first = slot.chart
    pongs = []
    first.send = lambda content, buffers=None: pongs.append(content)  # type: ignore[method-assign]
    first._on_message(first, {"kind": "ping"}, [])
    assert pongs == [{"kind": "pong"}] and slot.chart is first
    first._on_message(first, {"kind": "stalled"}, [])
    second = slot.chart
    assert second is not first and slot.children == (second,)
    assert second.figure_json == first.figure_json and "kept" in second.figure_json
    assert second.missing_text == first.missing_text and second.lang == "zh"
    assert first.comm is None  # the stalled model is closed
    slot.show(_fig("next"))  # later figures go to the new chart
    assert "next" in second.figure_json
    for _ in range(10):
        slot.chart._on_message(slot.chart, {"kind": "stalled"}, [])
    assert slot.chart is not second and len(slot.children) == 1
    assert slot.replacements == widgets.FigureSlot.MAX_REPLACEMENTS and slot._bound_said
    # the page's script pings on render and reports a stall after STALL_MS
    js = second._esm
    assert 'kind: "ping"' in js and 'kind: "stalled"' in js and "STALL_MS" in js
