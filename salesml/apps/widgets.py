"""Widget building blocks shared by the app views (imports ipywidgets; states must not)."""

from __future__ import annotations

import functools
import html
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import anywidget
import ipywidgets as w
from traitlets import Unicode

from salesml.apps.base import AppState, viewer_error
from salesml.i18n import label, t
from salesml.reports.tables import frame_html

log = logging.getLogger(__name__)

_CHART_JS = (Path(__file__).parent / "chart.js").read_text(encoding="utf-8")

__all__ = [
    "FigureSlot",
    "PlotlyChart",
    "busy_indicator",
    "draw_chart",
    "error_box",
    "frame_html",
    "language_toggle",
    "launch",
    "linked_dropdown",
    "linked_text",
    "result_widgets",
]


def busy_indicator(state: AppState) -> w.HTML:
    """A small label showing "Computing…" while ``state.busy`` (and "Ready" otherwise)."""
    box = w.HTML()
    box.add_class("salesml-busy")

    def show(_: Any = None) -> None:
        if state.busy:
            box.value = (
                "<span style='color:#b36b00'>&#9203; "
                f"{html.escape(t('app.busy', state.lang))}</span>"
            )
        else:
            extra = f" · {state.last_seconds * 1000:.0f} ms" if state.last_seconds else ""
            box.value = (
                f"<span style='color:#2e7d32'>&#10003; {html.escape(t('app.ready', state.lang))}"
                f"{extra}</span>"
            )

    state.observe(show, names=["busy", "lang"])
    show()
    return box


def error_box(state: AppState) -> w.HTML:
    """A red box showing ``state.error``; hidden when there is none."""
    box = w.HTML()
    box.add_class("salesml-error")

    def show(_: Any = None) -> None:
        if state.error:
            box.value = (
                "<div style='border:1px solid #c62828;background:#ffebee;color:#b71c1c;"
                "padding:8px;border-radius:4px'>"
                f"<b>{html.escape(t('app.error', state.lang))}</b><br>"
                f"{html.escape(state.error)}</div>"
            )
            box.layout.display = None
        else:
            box.value = ""
            box.layout.display = "none"

    state.observe(show, names=["error", "lang"])
    show()
    return box


def linked_dropdown(
    state: AppState,
    trait: str,
    values: Sequence[str],
    *,
    description: str | None = None,
    all_label: str | None = None,
    description_key: str | None = None,
    all_key: str | None = None,
) -> w.Dropdown:
    """A dropdown two-way linked to ``state.<trait>``.

    Parameters
    ----------
    state, trait
        The state and the name of the trait holding the selected value.
    values
        The data values offered; options show their translated labels.
    description, all_label
        Fixed texts of the label and of a first option with value ``""`` ("no
        filter"); or, better, catalogue keys ``description_key`` / ``all_key``,
        which follow ``state.lang`` when the user switches language.
    """

    def options() -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        if all_key is not None or all_label is not None:
            out.append((t(all_key, state.lang) if all_key else str(all_label), ""))
        out.extend((label(v, state.lang), str(v)) for v in values)
        return out

    def text() -> str:
        return t(description_key, state.lang) if description_key else (description or trait)

    dd = w.Dropdown(
        options=options(),
        value=getattr(state, trait),
        description=text(),
        style={"description_width": "initial"},
        layout=w.Layout(width="auto"),
    )
    dd.add_class(f"salesml-{trait}")
    relabelling = False

    def to_state(change: dict[str, Any]) -> None:
        if not relabelling:
            setattr(state, trait, change["new"])

    def to_widget(change: dict[str, Any]) -> None:
        dd.value = change["new"]

    dd.observe(to_state, names="value")
    state.observe(to_widget, names=trait)

    def relabel(_: Any = None) -> None:
        # same values, new labels: replacing the options briefly resets the widget's
        # value, which must not reach the state (it would recompute twice)
        nonlocal relabelling
        current = getattr(state, trait)
        relabelling = True
        try:
            dd.options = options()
            dd.value = current
        finally:
            relabelling = False
        dd.description = text()

    state.observe(relabel, names=["lang"])
    return dd


def language_toggle(state: AppState) -> w.ToggleButtons:
    """English / 中文 buttons two-way linked to ``state.lang``."""
    toggle = w.ToggleButtons(
        options=[("EN", "en"), ("中文", "zh")],
        value=state.lang,
        style={"button_width": "56px"},
    )
    toggle.add_class("salesml-lang")
    w.link((toggle, "value"), (state, "lang"))
    return toggle


class PlotlyChart(anywidget.AnyWidget):
    """A plotly chart widget that redraws with ``Plotly.react`` when :attr:`figure_json` changes.

    Unlike plotly's ``FigureWidget``, the widget's module does not carry plotly.js
    (5 MB): anywidget gives a model 2 s to initialise, which a module that size misses
    on a busy page ("Failed to initialize model", and the chart stays empty). The
    page's first chart asks its kernel for plotly.js by a custom message and all the
    page's charts share that copy, so nothing is fetched from outside. Every redraw
    draws the whole figure (``Plotly.react`` diffs it), in order: an update that
    arrives while plotly is drawing is drawn next, not lost.

    anywidget drops every kernel message to a model that missed its 2 s start on a
    busy page (its ``ready`` stays rejected), so such a chart would never draw. Each
    view pings the kernel when it renders; one that hears no answer says it is
    ``stalled``, and :class:`FigureSlot` puts a fresh chart in its place.
    """

    _esm = _CHART_JS
    #: The figure as plotly JSON (``Figure.to_json()``).
    figure_json = Unicode("{}").tag(sync=True)
    #: What the page shows when the chart cannot be drawn (``{reason}``: why), and the
    #: reason when plotly.js never arrives; in the viewer's language (:meth:`set_lang`).
    failed_text = Unicode("").tag(sync=True)
    missing_text = Unicode("").tag(sync=True)
    #: Times one widget sends plotly.js (a page asks once; more are a page's retries
    #: or a viewer asking for 5 MB again and again, which is not answered).
    MAX_PLOTLY_SENDS: int = 3

    #: Pings answered per widget (one per view render; more are not answered).
    MAX_PINGS: int = 20

    def __init__(self, lang: str = "en", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._plotly_sends = 0
        self._pings = 0
        #: Called (no arguments) when a view of this chart says it hears nothing.
        self.on_stalled: Callable[[], None] | None = None
        self.set_lang(lang)
        self.on_msg(self._on_message)

    def set_lang(self, lang: str) -> None:
        """Show the chart's own messages in ``lang`` (``en`` or ``zh``)."""
        self.lang = lang
        self.failed_text = t("app.chart_failed", lang, reason="{reason}")
        self.missing_text = t("app.chart_library_missing", lang)

    def _on_message(self, widget: Any, content: Any, buffers: Any) -> None:
        kind = content.get("kind") if isinstance(content, dict) else None
        if kind == "plotly.js?":
            self._send_plotly()
        elif kind == "ping" and self._pings < self.MAX_PINGS:
            self._pings += 1
            self.send({"kind": "pong"})
        elif kind == "stalled" and self.on_stalled is not None:
            self.on_stalled()

    def _send_plotly(self) -> None:
        if self._plotly_sends >= self.MAX_PLOTLY_SENDS:
            log.warning("plotly.js asked for more than %d times; not sent", self.MAX_PLOTLY_SENDS)
            return
        self._plotly_sends += 1
        self.send({"kind": "plotly.js"}, buffers=[_plotly_js()])


@functools.cache
def _plotly_js() -> bytes:
    """plotly.js as shipped with the installed plotly package (read once)."""
    from plotly.offline import get_plotlyjs

    return get_plotlyjs().encode()


class FigureSlot(w.VBox):
    """A place for a plotly chart that views redraw with :meth:`show`.

    The slot holds one :class:`PlotlyChart`; :meth:`show` sends the new figure to it.
    A chart whose page view hears nothing from the kernel (see :class:`PlotlyChart`)
    is replaced by a fresh one with the same figure, at most :attr:`MAX_REPLACEMENTS`
    times. :attr:`figure` is the figure last shown (a ``go.Figure``).
    """

    MAX_REPLACEMENTS: int = 3

    def __init__(self, lang: str = "en", **kwargs: Any) -> None:
        self.chart = self._new_chart(lang)
        super().__init__([self.chart], **kwargs)
        self.figure: Any = None
        self.replacements = 0
        self._bound_said = False

    def _new_chart(self, lang: str) -> PlotlyChart:
        chart = PlotlyChart(lang=lang)
        chart.on_stalled = self._replace
        return chart

    def _replace(self) -> None:
        if self.replacements >= self.MAX_REPLACEMENTS:
            if not self._bound_said:  # said once, not per message
                self._bound_said = True
                log.warning(
                    "a chart's view heard nothing %d times; not replaced", self.replacements
                )
            return
        self.replacements += 1
        log.warning(
            "a chart's page view heard nothing from the kernel; replaced (%d)", self.replacements
        )
        old = self.chart
        self.chart = self._new_chart(old.lang)
        self.chart.figure_json = old.figure_json
        self.children = (self.chart,)
        old.on_stalled = None
        old.close()

    def show(self, fig: Any) -> None:
        """Display plotly figure ``fig``."""
        import plotly.graph_objects as go

        fig = fig if isinstance(fig, go.Figure) else go.Figure(fig)
        self.figure = fig
        self.chart.figure_json = fig.to_json()


def result_widgets(state: AppState) -> tuple[w.HTML, w.HTML, w.HTML, FigureSlot]:
    """The busy indicator, error box, headline and chart slot of an app view.

    The headline and chart carry the CSS classes ``salesml-headline`` and
    ``salesml-chart`` that the browser tests look for.
    """
    busy = busy_indicator(state)
    error = error_box(state)
    headline = w.HTML()
    headline.add_class("salesml-headline")
    chart = FigureSlot(lang=state.lang)
    chart.add_class("salesml-chart")
    state.observe(lambda c: chart.chart.set_lang(c["new"]), names="lang")
    return busy, error, headline, chart


def draw_chart(state: AppState, chart: FigureSlot, draw: Callable[[], Any]) -> None:
    """Show the figure ``draw()`` returns in ``chart``.

    A drawing problem must not kill the controls: it goes to ``state.error``.
    """
    try:
        chart.show(draw())
    except Exception as e:
        log.exception("drawing the chart failed")
        state.error = viewer_error(e)


def linked_text(state: AppState, trait: str, description: str, **kwargs: Any) -> w.Text:
    """A text box two-way linked to ``state.<trait>``; ``kwargs`` go to ``w.Text``."""
    box = w.Text(
        value=getattr(state, trait),
        description=description,
        style={"description_width": "initial"},
        **kwargs,
    )
    w.link((box, "value"), (state, trait))
    return box


def launch(
    view: Callable[[Any], w.Widget], state: Callable[..., Any], /, **kwargs: Any
) -> w.Widget:
    """Build ``view(state(**kwargs))``; if that fails, an error box saying why.

    The last cell of an app notebook calls this, so a missing dataset or table
    shows a readable message in the page (Voila hides tracebacks) instead of a
    blank app.
    """
    try:
        return view(state(**kwargs))
    except Exception as e:
        log.exception("the app could not start")
        lang = kwargs.get("lang", "en")
        lang = lang if lang in ("en", "zh") else "en"
        box = w.HTML(
            "<div style='border:1px solid #c62828;background:#ffebee;color:#b71c1c;"
            "padding:8px;border-radius:4px'>"
            f"<b>{html.escape(t('app.error', lang))}</b><br>"
            f"{html.escape(viewer_error(e))}</div>"
        )
        box.add_class("salesml-error")
        return box
