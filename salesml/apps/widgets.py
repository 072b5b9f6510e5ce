"""Widget building blocks shared by the app views (imports ipywidgets; states must not)."""

from __future__ import annotations

import copy
import html
import logging
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

import ipywidgets as w

from salesml.apps.base import AppState, viewer_error
from salesml.i18n import label, t
from salesml.reports.tables import frame_html

log = logging.getLogger(__name__)

# plotly's FigureWidget imports nbformat, whose validator imports jsonschema, which
# imports the optional ``rfc3987_syntax`` (an IRI grammar built at import: seconds on
# a busy machine) only to check "iri" formats, which no chart uses. Marking it absent
# before plotly loads makes jsonschema skip that one format check; first renders get
# that much faster. Only the app kernels import this module.
if "rfc3987_syntax" not in sys.modules:
    sys.modules["rfc3987_syntax"] = None  # type: ignore[assignment]

__all__ = [
    "FigureSlot",
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


class FigureSlot(w.VBox):
    """A place for a plotly chart that views redraw with :meth:`show`.

    A figure of the same shape (trace count and types) updates the current
    ``FigureWidget`` in place, sends the whole figure as the model's data and then
    re-attaches the widget: the page drops its view and draws a new view of the same
    model from that data. Updating the page's view alone is not reliable: plotly's view loses an
    update that arrives while it is drawing or resizing (seen on a busy machine: the
    impact explorer's and funnel explorer's charts kept the previous selection while the
    tables beside them changed), and an in-place update does not redraw changed bar
    labels. A new widget model is avoided: it ships the 5 MB plotly.js module, which
    anywidget must initialise within 2 s or it gives up ("Failed to initialize model")
    and the chart stays empty. Any other figure replaces the widget by a new one built
    *with* its traces (plotly's FigureWidget does not draw traces added to an empty
    widget before the page shows it, nor reliably traces of a new type added afterwards).

    A replaced widget is closed once it has been retired for :attr:`RETIRE_SECONDS`
    (checked at the next redraw), not at once: closing a widget whose model the page is
    still initialising makes the page log "Failed to initialize model".
    """

    #: Seconds a replaced widget is kept before it is closed.
    RETIRE_SECONDS: float = 120.0

    def __init__(self, **kwargs: Any) -> None:
        super().__init__([], **kwargs)
        self.figure: Any = None
        self._retired: list[tuple[float, Any]] = []

    def show(self, fig: Any) -> None:
        """Display plotly figure ``fig``."""
        import plotly.graph_objects as go

        cur = self.figure
        same = cur is not None and [t.type for t in cur.data] == [t.type for t in fig.data]
        if same:
            with cur.batch_update():
                for old, fresh in zip(cur.data, fig.data, strict=True):
                    old.update(fresh.to_plotly_json(), overwrite=True)
                cur.layout = fig.layout
            # the whole figure as the model's data (what a new view draws from), then a
            # new view of the same model: the page's model may not have applied the
            # incremental update yet when it creates the view
            cur._widget_data = copy.deepcopy(cur._data)
            cur._widget_layout = copy.deepcopy(cur._layout)
            self.children = []
            self.children = [cur]
            return
        now = time.monotonic()
        self.figure = go.FigureWidget(fig)
        self.children = [self.figure]
        keep = []
        for since, old in self._retired:
            if now - since >= self.RETIRE_SECONDS:
                old.close()
            else:
                keep.append((since, old))
        if cur is not None:
            keep.append((now, cur))
        self._retired = keep


def result_widgets(state: AppState) -> tuple[w.HTML, w.HTML, w.HTML, FigureSlot]:
    """The busy indicator, error box, headline and chart slot of an app view.

    The headline and chart carry the CSS classes ``salesml-headline`` and
    ``salesml-chart`` that the browser tests look for.
    """
    busy = busy_indicator(state)
    error = error_box(state)
    headline = w.HTML()
    headline.add_class("salesml-headline")
    chart = FigureSlot()
    chart.add_class("salesml-chart")
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
