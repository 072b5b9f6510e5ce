"""Widgets of the visit planner, linked to :class:`VisitPlannerState` (no analytics here)."""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as w

from salesml.apps.visit_planner.state import VisitPlannerState
from salesml.apps.widgets import busy_indicator, error_box, linked_dropdown
from salesml.i18n import t
from salesml.potential.visits import MAX_VISITS
from salesml.reports.tables import frame_html

__all__ = ["VisitPlannerView"]


def _slider(state: VisitPlannerState, trait: str, key: str) -> w.IntSlider:
    s = w.IntSlider(
        value=getattr(state, trait),
        min=0,
        max=min(MAX_VISITS, 60),
        description=t(key, state.lang),
        style={"description_width": "initial"},
        continuous_update=False,
    )
    s.add_class(f"salesml-{trait.replace('_', '-')}")
    w.link((s, "value"), (state, trait))
    return s


class VisitPlannerView(w.VBox):
    """Capacity controls (every rep, a region's reps, one rep), the headline with the
    expected captured revenue change, and the visit list per rep."""

    def __init__(self, state: VisitPlannerState, **kwargs: Any) -> None:
        self.state = state
        lang = state.lang
        self.base = _slider(state, "base_capacity", "visit_planner.base_capacity")
        self.region = linked_dropdown(
            state,
            "region",
            state.regions,
            description_key="visit_planner.region",
            all_key="visit_planner.no_region",
        )
        self.region_capacity = _slider(state, "region_capacity", "visit_planner.region_capacity")
        self.rep = linked_dropdown(
            state,
            "rep",
            state.reps,
            description_key="visit_planner.rep",
            all_key="visit_planner.no_rep",
        )
        self.rep_capacity = _slider(state, "rep_capacity", "visit_planner.rep_capacity")
        self.busy = busy_indicator(state)
        self.error = error_box(state)
        self.headline = w.HTML()
        self.headline.add_class("salesml-headline")
        self.plan = w.HTML()
        self.plan.add_class("salesml-plan")
        title = w.HTML(f"<h2>{html.escape(t('visit_planner.title', lang))}</h2>")
        scope = w.HTML(f"<p>{html.escape(state.heading())}</p>")
        super().__init__(
            [
                title,
                scope,
                self.base,
                w.HBox([self.region, self.region_capacity]),
                w.HBox([self.rep, self.rep_capacity]),
                w.HBox([self.busy, self.headline], layout=w.Layout(align_items="center")),
                self.error,
                self.plan,
            ],
            **kwargs,
        )
        state.observe(self._redraw, names=["result"])
        self._redraw()

    def _redraw(self, _: Any = None) -> None:
        s = self.state
        self.headline.value = f"<b>{html.escape(s.headline())}</b>"
        self.plan.value = frame_html(
            s.plan_rows(),
            s.lang,
            money=("expected_revenue",),
            label_values=("kind",),
            max_rows=80,
            currency=s.data.config.currency,
        )
