"""Widgets of the rule editor, linked to :class:`RuleEditorState` (no analytics here)."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import ipywidgets as w

from salesml.apps.rule_editor.state import RuleEditorState
from salesml.apps.widgets import busy_indicator, error_box, language_toggle
from salesml.i18n import t
from salesml.reports.tables import frame_html

__all__ = ["RuleEditorView"]


class RuleEditorView(w.VBox):
    """Book and rule pickers, the condition box, the caret error, counts, selection, save.

    Parameters
    ----------
    state
        The state the controls are linked to; the view redraws when ``state.result``,
        ``state.parse_error`` or ``state.lang`` change and computes nothing itself.
    """

    def __init__(self, state: RuleEditorState, **kwargs: Any) -> None:
        self.state = state
        self.title = w.HTML()
        self.language = language_toggle(state)
        self.book = w.ToggleButtons(options=self._book_options(), value=state.book)
        self.book.add_class("salesml-book")
        w.link((self.book, "value"), (state, "book"))
        self.rule = w.Dropdown(layout=w.Layout(width="auto"))
        self.rule.add_class("salesml-rule")
        self.text = w.Textarea(
            value=state.text, continuous_update=True, layout=w.Layout(width="90%", height="60px")
        )
        self.text.add_class("salesml-condition")
        w.link((self.text, "value"), (state, "text"))
        self.parse_error = w.HTML()
        self.parse_error.add_class("salesml-parse-error")
        self.counts = w.HTML()
        self.counts.add_class("salesml-counts")
        self.rows = w.HTML()
        self.rows.add_class("salesml-selection")
        self.path = w.Text(value="rules.yaml", layout=w.Layout(width="40%"))
        self.save_button = w.Button()
        self.save_button.add_class("salesml-save")
        self.saved = w.HTML()
        self.save_button.on_click(self._save)
        self.rule.observe(self._on_rule, names="value")
        super().__init__(
            [
                w.HBox(
                    [self.title, self.language],
                    layout=w.Layout(justify_content="space-between", align_items="center"),
                ),
                w.HBox([self.book, self.rule]),
                self.text,
                busy_indicator(state),
                self.parse_error,
                error_box(state),
                self.counts,
                self.rows,
                w.HBox([self.path, self.save_button, self.saved]),
            ],
            **kwargs,
        )
        state.observe(self._redraw, names=["result", "parse_error", "lang", "rule_names"])
        self._redraw()

    def _book_options(self) -> list[tuple[str, str]]:
        lang = self.state.lang
        return [
            (t("rule_editor.book.tier", lang), "tier"),
            (t("rule_editor.book.followup", lang), "followup"),
        ]

    def _on_rule(self, change: dict[str, Any]) -> None:
        if change["new"] is not None:
            self.state.rule_index = int(change["new"])

    def _save(self, _: Any) -> None:
        lang = self.state.lang
        try:
            p = self.state.save(Path(self.path.value))
        except Exception as e:  # shown, not raised: Voila hides tracebacks
            self.saved.value = html.escape(f"{type(e).__name__}: {e}")
            return
        self.saved.value = html.escape(t("rule_editor.saved", lang, path=str(p)))

    def _redraw(self, _: Any = None) -> None:
        s, lang = self.state, self.state.lang
        self.title.value = f"<h2>{html.escape(t('rule_editor.title', lang))}</h2>"
        self.save_button.description = t("rule_editor.save", lang)
        if list(self.book.options) != self._book_options():
            current = s.book
            self.book.options = self._book_options()
            self.book.value = current
        options = [(name, i) for i, name in enumerate(s.rule_names)]
        if list(self.rule.options) != options:
            self.rule.options = options
        self.rule.value = s.rule_index if s.rule_names else None
        self.parse_error.value = (
            f"<pre style='color:#b71c1c'>{html.escape(s.parse_error)}</pre>"
            if s.parse_error
            else ""
        )
        r = s.result
        if r is None:
            return
        self.counts.value = html.escape(
            t(
                "rule_editor.counts",
                lang,
                before=r.before,
                after=r.after,
                entering=r.entering,
                leaving=r.leaving,
            )
        )
        table = frame_html(r.rows, lang)
        if r.tier_counts is not None:
            table = frame_html(r.tier_counts.reset_index(names="tier"), lang) + table
        self.rows.value = table
