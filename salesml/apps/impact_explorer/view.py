"""Widgets of the impact explorer, linked to :class:`ImpactExplorerState` (no analytics here)."""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as w

from salesml.apps.impact_explorer.state import WINDOWS, ImpactExplorerState
from salesml.apps.widgets import draw_chart, language_toggle, linked_dropdown, result_widgets
from salesml.i18n import t

__all__ = ["ImpactExplorerView"]


def _plot(result: Any, kpi: str, lang: str) -> Any:
    from salesml.plotting.impact import counterfactual_chart

    return counterfactual_chart(result, kpi, lang=lang)


class ImpactExplorerView(w.VBox):
    """Controls, busy indicator, error box, the estimate's table and its chart.

    Parameters
    ----------
    state
        The state the controls are linked to; the view redraws when ``state.result``
        changes and never computes anything itself.
    """

    def __init__(self, state: ImpactExplorerState, **kwargs: Any) -> None:
        self.state = state
        self.kpi = w.Dropdown(style={"description_width": "initial"})
        self.kpi.add_class("salesml-kpi")
        self.method = w.Dropdown(style={"description_width": "initial"})
        self.window = w.Dropdown(style={"description_width": "initial"})
        self._options()
        w.link((self.kpi, "value"), (state, "kpi"))
        w.link((self.method, "value"), (state, "method"))
        w.link((self.window, "value"), (state, "window"))
        self.go_live = linked_dropdown(
            state, "go_live", state.go_lives, description_key="impact_explorer.go_live"
        )
        self.region = linked_dropdown(
            state, "region", state.regions, description_key="app.region", all_key="app.all"
        )
        self.language = language_toggle(state)
        self.busy, self.error, self.headline, self.chart = result_widgets(state)
        self.table = w.HTML()
        self.table.add_class("salesml-impact-table")
        self.title = w.HTML()
        super().__init__(
            [
                w.HBox(
                    [self.title, self.language],
                    layout=w.Layout(justify_content="space-between", align_items="center"),
                ),
                w.HBox(
                    [self.kpi, self.go_live, self.method, self.window, self.region],
                    layout=w.Layout(flex_flow="row wrap"),
                ),
                w.HBox([self.busy, self.headline], layout=w.Layout(align_items="center")),
                self.error,
                self.table,
                self.chart,
            ],
            **kwargs,
        )
        state.observe(self._redraw, names=["result", "lang"])
        self._redraw()

    def _options(self) -> None:
        lang = self.state.lang
        self.kpi.description = t("impact.col.kpi", lang)
        self.kpi.options = [(t(f"impact.kpi.{k}", lang), k) for k in self.state.kpis]
        self.method.description = t("impact.col.method", lang)
        self.method.options = [(t(f"impact.method.{m}", lang), m) for m in self.state.methods]
        self.window.description = t("impact_explorer.window", lang)
        self.window.options = [
            (t("impact_explorer.window_all", lang) if n == 0 else str(n), n) for n in WINDOWS
        ]
        self.kpi.value, self.method.value, self.window.value = (
            self.state.kpi,
            self.state.method,
            self.state.window,
        )

    def _redraw(self, change: Any = None) -> None:
        lang = self.state.lang
        if change is not None and change.get("name") == "lang":
            self._options()
        self.title.value = f"<h2>{html.escape(t('impact_explorer.title', lang))}</h2>"
        r = self.state.result
        if r is None:
            return
        self.table.value = r.to_html(lang)
        self.headline.value = html.escape(" ".join(r.key_findings(lang)))
        kpi = r.table["kpi"].iloc[0]
        draw_chart(self.state, self.chart, lambda: _plot(r, kpi, lang))
