"""Widgets of the deal what-if app, linked to :class:`DealWhatifState` (no analytics here)."""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as w

from salesml.apps.deal_whatif.state import DealWhatifState
from salesml.apps.widgets import draw_chart, result_widgets
from salesml.health.model import band_name, band_range, describe_bands
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
    """Deal picker, four driver sliders, the score line, a reason waterfall and list.

    Parameters
    ----------
    state
        The state the controls are linked to; the view redraws when ``state.result``
        changes and never computes anything itself.
    """

    def __init__(self, state: DealWhatifState, **kwargs: Any) -> None:
        self.state = state
        lang = state.lang
        style = {"description_width": "initial"}
        self.deal = w.Dropdown(
            options=state.deals,
            value=state.deal_id or None,
            description=t("deal_whatif.deal", lang),
            style=style,
        )
        self.deal.add_class("salesml-deal")
        w.link((self.deal, "value"), (state, "deal_id"))
        self.sliders = {
            "plan_revisions": w.IntSlider(min=0, max=12, step=1),
            "days_since_activity": w.FloatSlider(min=0, max=60, step=0.5),
            "reply_delay_hours": w.FloatSlider(min=0, max=72, step=0.5),
            "terms_revisions": w.IntSlider(min=0, max=8, step=1),
        }
        for name, s in self.sliders.items():
            s.description = t(f"deal_whatif.{name}", lang)
            s.style = style
            s.continuous_update = False
            s.add_class(f"salesml-{name.replace('_', '-')}")
            s.max = max(s.max, getattr(state, name))
            s.value = getattr(state, name)
            w.link((s, "value"), (state, name))
        self.busy, self.error, self.headline, self.chart = result_widgets(state)
        self.reasons = w.HTML()
        self.reasons.add_class("salesml-reasons")
        title = w.HTML(f"<h2>{html.escape(t('deal_whatif.title', lang))}</h2>")
        super().__init__(
            [
                title,
                self.deal,
                w.VBox(list(self.sliders.values())),
                w.HBox([self.busy, self.headline], layout=w.Layout(align_items="center")),
                self.error,
                self.chart,
                w.HTML(f"<h4>{html.escape(t('deal_whatif.reasons', lang))}</h4>"),
                self.reasons,
            ],
            **kwargs,
        )
        state.observe(self._redraw, names=["result"])
        self._redraw()

    def _redraw(self, _: Any = None) -> None:
        r = self.state.result
        if r is None:
            return
        lang = self.state.lang
        for name, s in self.sliders.items():
            s.max = max(s.max, getattr(self.state, name))
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
        draw_chart(self.state, self.chart, lambda: _waterfall(r, lang))
        items = "".join(
            f"<li>{html.escape(d)} {html.escape(p)} ({c:+.2f})</li>"
            for d, p, c in zip(
                r.reasons["direction"], r.reasons["phrase"], r.reasons["contribution"], strict=True
            )
        )
        self.reasons.value = f"<ol>{items}</ol>"
