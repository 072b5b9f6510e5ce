"""Widgets of the CAC what-if app, linked to :class:`CacWhatIfState` (no analytics here)."""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as w

from salesml.apps.cac_whatif.state import CacWhatIfState
from salesml.apps.widgets import draw_chart, frame_html, linked_text, result_widgets
from salesml.attribution import readable_table
from salesml.i18n import label, money, t

__all__ = ["CacWhatIfView"]


_CAC_COLUMNS = [
    "channel",
    "budget_factor",
    "acquired",
    "cac",
    "cac_interval",
    "rel_precision",
    "cac_base",
]
_ROI_COLUMNS = [
    "channel",
    "budget_factor",
    "revenue",
    "cost",
    "roi",
    "roi_interval",
    "roi_base",
]
#: Tables scroll sideways inside the page instead of being cut at the widget's edge.
_TABLE_LAYOUT = {"overflow": "auto", "max_width": "100%"}


def _what_if_figure(result: Any, lang: str) -> Any:
    from salesml.plotting.cac import what_if_chart

    return what_if_chart(result, lang=lang)


class CacWhatIfView(w.VBox):
    """Budget sliders, elasticity, rule editor with live checking, chart and tables.

    Parameters
    ----------
    state
        The state; the view redraws when ``state.result`` or ``state.rule_check``
        changes and computes nothing itself.
    """

    def __init__(self, state: CacWhatIfState, **kwargs: Any) -> None:
        self.state = state
        lang = state.lang
        self.sliders: dict[str, w.FloatSlider] = {}
        for ch in state.channels:
            s = w.FloatSlider(
                value=state.budget.get(ch, 1.0),
                min=0.0,
                max=3.0,
                step=0.1,
                description=label(ch, lang),
                continuous_update=False,
                style={"description_width": "120px"},
                readout_format=".1f",
            )
            s.add_class(f"salesml-budget-{ch}")
            s.observe(lambda c, ch=ch: state.set_factor(ch, c["new"]), names="value")
            self.sliders[ch] = s
        self.elasticity = w.FloatSlider(
            value=state.elasticity,
            min=0.0,
            max=1.0,
            step=0.05,
            description=t("cac_whatif.elasticity", lang),
            continuous_update=False,
            style={"description_width": "120px"},
        )
        self.elasticity.add_class("salesml-elasticity")
        w.link((self.elasticity, "value"), (state, "elasticity"))
        # rule editor
        self.category = w.Dropdown(
            options=[(label(c, lang), c) for c in state.categories],
            value=state.edit_category,
            description=t("cac_whatif.category", lang),
            style={"description_width": "initial"},
        )
        self.category.add_class("salesml-rule-category")
        w.link((self.category, "value"), (state, "edit_category"))
        self.driver = w.Dropdown(
            options=[(t(f"attribution.driver.{d}", lang), d) for d in state.drivers],
            value=state.edit_driver,
            description=t("cac_whatif.driver", lang),
            style={"description_width": "initial"},
        )
        w.link((self.driver, "value"), (state, "edit_driver"))
        self.filter = linked_text(
            state,
            "edit_filter",
            t("cac_whatif.filter", lang),
            continuous_update=True,
            layout=w.Layout(width="480px"),
        )
        self.filter.add_class("salesml-rule-filter")
        self.scope = linked_text(state, "edit_scope", t("cac_whatif.scope", lang))
        self.weight = linked_text(state, "edit_weight", t("cac_whatif.weight", lang))
        self.rule_message = w.HTML()
        self.rule_message.add_class("salesml-rule-check")
        self.apply = w.Button(description=t("cac_whatif.apply", lang), button_style="primary")
        self.apply.add_class("salesml-rule-apply")
        self.apply.on_click(lambda _: state.apply_rule())
        self.reset = w.Button(description=t("cac_whatif.reset", lang))
        self.reset.on_click(lambda _: state.reset_rules())
        editor = w.VBox(
            [
                w.HTML(f"<h4>{html.escape(t('cac_whatif.rules', lang))}</h4>"),
                w.HBox([self.category, self.driver]),
                self.filter,
                w.HBox([self.scope, self.weight]),
                self.rule_message,
                w.HBox([self.apply, self.reset]),
            ]
        )
        self.busy, self.error, self.headline, self.chart = result_widgets(state)
        self.cac_table = w.HTML(layout=w.Layout(**_TABLE_LAYOUT))
        self.cac_table.add_class("salesml-cac")
        self.roi_table = w.HTML(layout=w.Layout(**_TABLE_LAYOUT))
        self.roi_table.add_class("salesml-roi")
        self.unallocated = w.HTML(layout=w.Layout(**_TABLE_LAYOUT))
        controls = w.VBox(
            [
                w.HTML(f"<h4>{html.escape(t('cac_whatif.budget', lang))}</h4>"),
                *self.sliders.values(),
                self.elasticity,
                w.HTML(f"<small>{html.escape(t('cac_whatif.elasticity_note', lang))}</small>"),
            ],
            layout=w.Layout(margin="0 32px 0 0"),
        )
        super().__init__(
            [
                w.HTML(f"<h2>{html.escape(t('cac_whatif.title', lang))}</h2>"),
                w.HBox([controls, editor], layout=w.Layout(flex_flow="row wrap")),
                w.HBox([self.busy, self.headline]),
                self.error,
                self.chart,
                w.HTML(f"<h4>{html.escape(t('cac_whatif.cac', lang))}</h4>"),
                self.cac_table,
                w.HTML(f"<h4>{html.escape(t('cac_whatif.roi', lang))}</h4>"),
                self.roi_table,
                w.HTML(f"<h4>{html.escape(t('cac_whatif.unallocated', lang))}</h4>"),
                self.unallocated,
            ],
            **kwargs,
        )
        state.observe(self._redraw, names=["result"])
        state.observe(self._show_check, names=["rule_check"])
        self._show_check()
        self._redraw()

    def _show_check(self, _: Any = None) -> None:
        msg = self.state.rule_check
        lang = self.state.lang
        if msg:
            self.rule_message.value = (
                "<pre style='color:#b71c1c;background:#ffebee;padding:4px;margin:0'>"
                f"{html.escape(msg)}</pre>"
            )
        else:
            self.rule_message.value = (
                f"<span style='color:#2e7d32'>&#10003; {html.escape(t('cac_whatif.rule_ok', lang))}"
                "</span>"
            )

    def _redraw(self, _: Any = None) -> None:
        r = self.state.result
        if r is None:
            return
        lang = self.state.lang
        draw_chart(self.state, self.chart, lambda: _what_if_figure(r, lang))
        tot = r.total.iloc[0]
        cur = r.currency
        self.headline.value = html.escape(
            t(
                "cac_whatif.total",
                lang,
                cac=money(tot["cac"], cur),
                base=money(tot["cac_base"], cur),
                n=f"{tot['acquired']:,.0f}",
            )
        )
        cac = readable_table(r.table, cur)
        self.cac_table.value = frame_html(
            cac[[c for c in _CAC_COLUMNS if c in cac]],
            lang,
            percent=["rel_precision"],
            # after a budget shift acquisitions are model estimates: whole customers
            counts=["acquired"],
            label_values=["channel"],
        )
        roi = readable_table(r.roi, cur)
        self.roi_table.value = frame_html(
            roi[[c for c in _ROI_COLUMNS if c in roi]],
            lang,
            decimals=2,
            label_values=["channel"],
        )
        self.unallocated.value = frame_html(
            readable_table(r.unallocated, cur), lang, label_values=["category", "reason"]
        )
