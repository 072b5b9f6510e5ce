"""Widgets of the funnel explorer, linked to :class:`FunnelExplorerState` (no analytics here)."""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as w

from salesml.apps.funnel_explorer.state import FunnelExplorerState
from salesml.apps.widgets import draw_chart, language_toggle, linked_dropdown, result_widgets
from salesml.i18n import t
from salesml.reports.tables import frame_html

__all__ = ["FunnelExplorerView"]


_BREAKPOINT_COLUMNS = ["region", "stage", "decided", "conversion", "baseline", "gap_pp"]
# the Kaplan-Meier pair only (one estimator), and why a cell is blank
_DURATION_COLUMNS = ["stage", "stays", "open", "km_median_days", "km_p90_days", "note"]


def _plot_funnel(result: Any, lang: str) -> Any:
    from salesml.plotting.pipeline import funnel_chart

    return funnel_chart(result, lang=lang)


class FunnelExplorerView(w.VBox):
    """Controls, busy indicator, error box, funnel chart and two tables.

    Parameters
    ----------
    state
        The state the controls are linked to; the view redraws when ``state.result``
        changes and never computes anything itself.
    """

    def __init__(self, state: FunnelExplorerState, **kwargs: Any) -> None:
        self.state = state
        self.controls = [
            linked_dropdown(state, trait, values, description_key=f"app.{trait}", all_key=all_key)
            for trait, values, all_key in (
                ("region", state.regions, "app.all"),
                ("segment", state.segments, "app.all"),
                ("channel", state.channels, "app.all"),
                ("period", state.periods, "app.whole_history"),
            )
        ]
        self.language = language_toggle(state)
        self.busy, self.error, self.headline, self.chart = result_widgets(state)
        self.busy.layout.margin = "0 16px 0 0"
        self.breakpoints = w.HTML()
        self.breakpoints.add_class("salesml-breakpoints")
        self.durations = w.HTML()
        self.durations.add_class("salesml-durations")
        self.notes = w.HTML()
        self.notes.add_class("salesml-notes")
        self.title = w.HTML()
        self.breakpoints_title = w.HTML()
        self.durations_title = w.HTML()
        tables = w.HBox(
            [
                w.VBox(
                    [self.breakpoints_title, self.breakpoints],
                    layout=w.Layout(margin="0 32px 0 0"),
                ),
                w.VBox([self.durations_title, self.durations]),
            ],
            layout=w.Layout(flex_flow="row wrap"),
        )
        super().__init__(
            [
                w.HBox(
                    [self.title, self.language],
                    layout=w.Layout(justify_content="space-between", align_items="center"),
                ),
                w.HBox(self.controls, layout=w.Layout(flex_flow="row wrap")),
                w.HBox([self.busy, self.headline], layout=w.Layout(align_items="center")),
                self.error,
                self.chart,
                tables,
                self.notes,
            ],
            **kwargs,
        )
        state.observe(self._redraw, names=["result", "lang"])
        self._redraw()

    def _redraw(self, _: Any = None) -> None:
        r = self.state.result
        lang = self.state.lang
        self.title.value = f"<h2>{html.escape(t('funnel_explorer.title', lang))}</h2>"
        self.breakpoints_title.value = (
            f"<h4>{html.escape(t('funnel_explorer.breakpoints', lang))}</h4>"
        )
        self.durations_title.value = f"<h4>{html.escape(t('funnel_explorer.durations', lang))}</h4>"
        if r is None:
            return
        draw_chart(self.state, self.chart, lambda: _plot_funnel(r.funnel, lang))
        self.headline.value = html.escape(t("funnel_explorer.deals", lang, n=r.funnel.n_deals))
        rows = r.breakpoint_rows
        self.breakpoints.value = frame_html(
            rows[[c for c in _BREAKPOINT_COLUMNS if c in rows]],
            lang,
            percent=["conversion", "baseline"],
            label_values=["stage"],
        )
        overall = r.durations.overall
        self.durations.value = frame_html(
            overall[[c for c in _DURATION_COLUMNS if c in overall]],
            lang,
            label_values=["stage", "note"],
        )
        notes = "".join(f"<li>{html.escape(n.text(lang))}</li>" for n in r.notes)
        self.notes.value = f"<ul><small>{notes}</small></ul>" if notes else ""
