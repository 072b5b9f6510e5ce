"""Widgets of the deal what-if app, linked to :class:`DealWhatifState` (no analytics here)."""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as w

from salesml.apps.deal_whatif.state import DealWhatifState
from salesml.apps.widgets import draw_chart, result_widgets
from salesml.health import band_name, band_range, describe_bands
from salesml.i18n import t

__all__ = ["DealWhatifView"]


def _waterfall(result: Any, lang: str) -> Any:
    from salesml.plotting.health import reason_waterfall

    return reason_waterfall(
        result.contributions,
        phrases=result.phrases,
        deal_id=result.deal_id,
        health_score=result.score,
        lang=lang,
    )


class DealWhatifView(w.VBox):
    """Deal search and picker, one slider per driver that moves the model, the score line,
    a note on drivers without effect for this deal, a reason waterfall and list.

    Parameters
    ----------
    state
        The state the controls are linked to; the view redraws when ``state.result``
        or ``state.options`` change and never computes anything itself.
    """

    def __init__(self, state: DealWhatifState, **kwargs: Any) -> None:
        self.state = state
        lang = state.lang
        style = {"description_width": "initial"}
        self.search = w.Text(
            value=state.search,
            placeholder=t("deal_whatif.search", lang),
            description=t("deal_whatif.search", lang),
            style=style,
            continuous_update=False,
        )
        self.search.add_class("salesml-search")
        w.link((self.search, "value"), (state, "search"))
        self.matches = w.HTML()
        self.matches.add_class("salesml-matches")
        self.deal = w.Dropdown(
            options=list(state.options),
            value=state.deal_id or None,
            description=t("deal_whatif.deal", lang),
            style=style,
            layout=w.Layout(width="90%"),
        )
        self.deal.add_class("salesml-deal")
        self.deal.observe(self._on_pick, names=["value"])
        self.sliders: dict[str, w.Widget] = {}
        for d in state.drivers:
            cls = w.IntSlider if d.integer else w.FloatSlider
            start = self._shown(d.feature, d.low)
            s = cls(
                min=d.low,
                max=max(d.high, start),
                step=d.step,
                value=start,
                description=d.label(lang),
                style=style,
                continuous_update=False,
            )
            s.add_class("salesml-driver")
            s.add_class(f"salesml-{d.feature.replace('_', '-')}")
            s.observe(self._on_slider(d.feature), names=["value"])
            self.sliders[d.feature] = s
        self.busy, self.error, self.headline, self.chart = result_widgets(state)
        self.no_effect = w.HTML()
        self.no_effect.add_class("salesml-no-effect")
        self.reasons = w.HTML()
        self.reasons.add_class("salesml-reasons")
        title = w.HTML(f"<h2>{html.escape(t('deal_whatif.title', lang))}</h2>")
        scope = w.HTML(f"<p>{html.escape(state.heading())}</p>")
        super().__init__(
            [
                title,
                scope,
                w.HBox([self.search, self.matches]),
                self.deal,
                w.VBox(list(self.sliders.values())),
                w.HBox([self.busy, self.headline], layout=w.Layout(align_items="center")),
                self.no_effect,
                self.error,
                self.chart,
                w.HTML(f"<h4>{html.escape(t('deal_whatif.reasons', lang))}</h4>"),
                self.reasons,
            ],
            **kwargs,
        )
        state.observe(self._redraw, names=["result"])
        state.observe(self._on_options, names=["options"])
        state.observe(self._on_values, names=["values"])
        self._on_options()
        self._redraw()

    # ------------------------------------------------------------------ wiring
    def _shown(self, feature: str, default: float) -> float:
        """The control position of a value (a missing value shows at the low end)."""
        v = self.state.values.get(feature)
        return default if v is None or v != v else float(v)

    def _on_pick(self, change: dict[str, Any]) -> None:
        if change["new"] and change["new"] != self.state.deal_id:
            self.state.deal_id = change["new"]

    def _on_slider(self, feature: str) -> Any:
        def handler(change: dict[str, Any]) -> None:
            if self._shown(feature, float("nan")) != change["new"]:
                self.state.set_value(feature, change["new"])

        return handler

    def _on_options(self, _: Any = None) -> None:
        options = list(self.state.options)
        if list(self.deal.options) != options:
            self.deal.options = options
            if self.state.deal_id in {v for _, v in options}:
                self.deal.value = self.state.deal_id
        self.matches.value = html.escape(self.state.matches_text())

    def _on_values(self, _: Any = None) -> None:
        for f, s in self.sliders.items():
            v = self._shown(f, s.min)
            s.max = max(s.max, v)
            if s.value != v:
                s.value = v

    def _redraw(self, _: Any = None) -> None:
        r = self.state.result
        if r is None:
            return
        lang = self.state.lang
        if self.deal.value != r.deal_id and r.deal_id in {v for _, v in self.deal.options}:
            self.deal.value = r.deal_id
        bands = self.state.model.bands
        self.headline.value = html.escape(
            t(
                "deal_whatif.score",
                lang,
                score=r.score,
                band=band_name(r.band, lang),
                band_range=band_range(r.band, bands),
                low=r.low,
                high=r.high,
                actual=r.actual_score,
            )
        )
        self.headline.tooltip = t("deal_whatif.bands", lang, bands=describe_bands(bands, lang))
        notes = self.state.no_effect_text()
        self.no_effect.value = "".join(f"<p><i>{html.escape(n)}</i></p>" for n in notes)
        draw_chart(self.state, self.chart, lambda: _waterfall(r, lang))
        items = "".join(
            f"<li>{html.escape(i)} ({c:+.2f})</li>"
            for i, c in zip(r.reason_items, r.reasons["contribution"], strict=True)
        )
        self.reasons.value = f"<ol>{items}</ol>"
