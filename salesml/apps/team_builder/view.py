"""Widgets of the team builder, linked to :class:`TeamBuilderState` (no analytics here)."""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as w

from salesml.apps.team_builder.state import NO_GROUP, TeamBuilderState
from salesml.apps.widgets import draw_chart, language_toggle, linked_dropdown, result_widgets
from salesml.i18n import label, t
from salesml.reports.tables import frame_html

__all__ = ["TeamBuilderView"]


def _plot_rep(state: TeamBuilderState, lang: str) -> Any:
    from salesml.plotting.capability import capability_radar

    one = state.scores.table[state.scores.table["rep_id"] == state.rep]
    result = type(state.scores)(table=one.assign(team=one["name"]))
    return capability_radar(result, lang=lang, cols=1)


class TeamBuilderView(w.VBox):
    """Rep picker, the rep's radar and evidence, a move control and the group summary."""

    def __init__(self, state: TeamBuilderState, **kwargs: Any) -> None:
        self.state = state
        self.pick = linked_dropdown(state, "rep", state.reps, description_key="team_builder.rep")
        self.target = linked_dropdown(
            state,
            "move_to",
            state.group_names,
            description_key="team_builder.move_to",
            all_key="team_builder.no_group",
        )
        self.move = w.Button(description=t("team_builder.move", state.lang))
        self.move.add_class("salesml-move")
        self.move.on_click(lambda _: state.move_selected())
        self.language = language_toggle(state)
        self.busy, self.error, self.headline, self.chart = result_widgets(state)
        self.title = w.HTML()
        self.evidence = w.HTML()
        self.evidence.add_class("salesml-evidence")
        self.groups = w.HTML()
        self.groups.add_class("salesml-groups")
        super().__init__(
            [
                w.HBox(
                    [self.title, self.language],
                    layout=w.Layout(justify_content="space-between", align_items="center"),
                ),
                w.HBox([self.pick, self.target, self.move, self.busy]),
                self.error,
                self.headline,
                w.HBox([self.chart, self.evidence], layout=w.Layout(flex_flow="row wrap")),
                self.groups,
            ],
            **kwargs,
        )
        state.observe(self._redraw_rep, names=["evidence", "lang"])
        state.observe(self._redraw_groups, names=["summary", "lang"])
        self._redraw_rep()
        self._redraw_groups()

    def _redraw_rep(self, _: Any = None) -> None:
        s, lang = self.state, self.state.lang
        self.title.value = f"<h2>{html.escape(t('team_builder.title', lang))}</h2>"
        self.move.description = t("team_builder.move", lang)
        if s.evidence is None:
            return
        draw_chart(s, self.chart, lambda: _plot_rep(s, lang))
        self.evidence.value = frame_html(s.evidence, lang, label_values=["scenario"])
        group = s.assignment.get(s.rep, NO_GROUP)
        self.headline.value = html.escape(
            t("team_builder.in_group", lang, rep=s.rep, group=label(group, lang))
            if group
            else t("team_builder.in_no_group", lang, rep=s.rep)
        )

    def _redraw_groups(self, _: Any = None) -> None:
        s, lang = self.state, self.state.lang
        if s.summary is None:
            return
        self.groups.value = frame_html(
            s.summary,
            lang,
            percent=["coverage", "predicted_win_rate"],
            label_values=["scenario", "outcome", "group"],
        )
        self._redraw_rep()
