"""State of the rule editor: edit one tier or follow-up rule, see what it selects, save YAML. No widgets.

The customer metrics (for tier rules) and each subject's frame (for follow-up rules)
are computed once, as of the end of the data; editing a condition then only
re-evaluates that condition, so the counts follow the typing. A condition that does
not parse keeps the last good selection and sets ``parse_error`` (the message with its
caret line) and ``caret`` (the 0-based character of the user's text it points at).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from traitlets import Enum, Instance, Int, List, Unicode, observe

from salesml.apps.base import AppState, load_app_data
from salesml.data.bundle import SalesData
from salesml.data.yamlsafe import load_yaml
from salesml.rules._base import ExpressionError
from salesml.rules.followups import FollowupRules, _apply_rule
from salesml.rules.metrics import customer_metrics, resolve_as_of
from salesml.rules.subjects import build_subject
from salesml.rules.tiering import TierRules

__all__ = ["RuleEditorResult", "RuleEditorState"]

#: Rows of the selection the editor shows at most.
MAX_SHOWN = 50
#: Largest rule file the editor saves.
MAX_SAVE_BYTES = 1 << 20


@dataclass(frozen=True)
class RuleEditorResult:
    """What the edited rule selects now, against the rule as it was.

    Attributes
    ----------
    before, after
        How many customers (tier rules: those the rule gives its tier, first match) or
        tasks (follow-up rules) the saved rule and the edited rule select.
    entering, leaving
        How many are selected only after / only before the edit.
    rows
        The first :data:`MAX_SHOWN` selected rows (customers with the metrics the rule
        names and ``why``; tasks with their reason and owner).
    tier_counts
        Tier rules: customers per tier, before and after (index tier).
    """

    before: int
    after: int
    entering: int
    leaving: int
    rows: pd.DataFrame
    tier_counts: pd.DataFrame | None = None


class RuleEditorState(AppState):
    """Rule editor: pick a rule, edit its condition, watch the selection; save the book as YAML.

    Parameters
    ----------
    data
        The dataset (customers for tier rules; each follow-up subject's tables).
    tier_rules, followup_rules
        The books to edit (default: the shipped ones).
    lang
        ``en`` or ``zh``.

    Attributes
    ----------
    book
        ``tier`` or ``followup``: which rule book is being edited.
    rule_names
        The rules of that book (``A``, ``B`` ... or the follow-up rule ids).
    rule_index
        Position of the rule being edited (0-based).
    text
        The condition being edited (starts as the rule's saved condition).
    parse_error
        ``""``, or the message (with a caret line) why ``text`` cannot be used.
    caret
        0-based character of ``text`` the error points at (-1: none).
    result
        The latest good :class:`RuleEditorResult`.
    """

    TABLES: tuple[str, ...] = (
        "reps",
        "customers",
        "deals",
        "activities",
        "quotes",
        "contracts",
        "payments",
        "approvals",
    )

    book = Enum(["tier", "followup"], default_value="tier")
    rule_names = List(Unicode())
    rule_index = Int(0)
    text = Unicode("")
    parse_error = Unicode("")
    caret = Int(-1)
    result = Instance(RuleEditorResult, allow_none=True)

    def __init__(
        self,
        data: SalesData,
        *,
        tier_rules: Any = None,
        followup_rules: Any = None,
        lang: str = "en",
        **kwargs: Any,
    ) -> None:
        super().__init__(lang=lang, **kwargs)
        self.data = data
        self.as_of = resolve_as_of(data)
        self.tiers = TierRules.parse(tier_rules)
        self.followups = FollowupRules.parse(followup_rules)
        self._metrics = customer_metrics(data, as_of=self.as_of)
        self._frames: dict[tuple[str, float | None], pd.DataFrame] = {}
        self._select_rule()

    @classmethod
    def from_dataset(
        cls, dataset: str | os.PathLike[str] | None = None, *, lang: str = "en"
    ) -> RuleEditorState:
        """Load a dataset folder (default: ``$SALESML_DATASET`` or ``datasets/demo``)."""
        return cls(load_app_data(dataset, cls.TABLES, compact=True), lang=lang)

    # ------------------------------------------------------------------ selection
    @observe("book")
    def _on_book(self, change: Mapping[str, Any]) -> None:
        self.rule_index = 0
        self._select_rule()

    @observe("rule_index")
    def _on_rule(self, change: Mapping[str, Any]) -> None:
        self._select_rule()

    def _select_rule(self) -> None:
        rules = self.tiers.rules if self.book == "tier" else self.followups.rules
        self.rule_names = [r.tier if self.book == "tier" else r.id for r in rules]
        if not 0 <= self.rule_index < len(rules):
            self.rule_index = 0
            return
        saved = rules[self.rule_index].when
        if self.text == saved:
            self.recompute()
        else:
            self.text = saved  # observed: recomputes

    @observe("text")
    def _on_text(self, change: Mapping[str, Any]) -> None:
        self.recompute()

    # ------------------------------------------------------------------ books
    def edited_tiers(self) -> TierRules:
        """The tier book with the edited condition (raises RuleError when it does not parse)."""
        doc = {
            "tiers": [
                {"tier": r.tier, "when": self.text if i == self.rule_index else r.when}
                for i, r in enumerate(self.tiers.rules)
            ],
            "default": self.tiers.default,
        }
        return TierRules.parse(doc)

    def edited_followups(self) -> FollowupRules:
        """The follow-up book with the edited condition (raises RuleError when it does not parse)."""
        items = []
        for i, r in enumerate(self.followups.rules):
            d = r.as_dict()
            if i == self.rule_index:
                d["when"] = self.text
            items.append(d)
        return FollowupRules.parse({"rules": items})

    def yaml_text(self) -> str:
        """The edited book as YAML (what :meth:`save` writes)."""
        book = self.edited_tiers() if self.book == "tier" else self.edited_followups()
        return book.to_yaml()

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the edited book to ``path`` (``.yaml``/``.yml``), read back and checked.

        Raises
        ------
        RuleError
            When the edited condition does not parse (nothing is written).
        ValueError
            For another file extension.
        """
        p = Path(path)
        if p.suffix.lower() not in (".yaml", ".yml"):
            raise ValueError(f"{p.name}: rule books are saved as .yaml files")
        text = self.yaml_text()
        if len(text.encode("utf-8")) > MAX_SAVE_BYTES:
            raise ValueError("the rule book is larger than 1 MB; refused")
        p.write_text(text, encoding="utf-8")
        reread = load_yaml(p, what=f"rule file {p}")
        (TierRules if self.book == "tier" else FollowupRules).parse(reread)
        return p

    # ------------------------------------------------------------------ compute
    def recompute(self) -> None:
        """Re-evaluate the edited rule; a parse error keeps the last good result."""
        with self.computing():
            try:
                result = self._tier_result() if self.book == "tier" else self._followup_result()
            except ExpressionError as e:
                self.parse_error = str(e)
                self.caret = -1 if e.offset is None else int(e.offset)
                return
            self.parse_error = ""
            self.caret = -1
            self.result = result

    def _tier_result(self) -> RuleEditorResult:
        rule = self.tiers.rules[self.rule_index]
        before = self.tiers.assign(self._metrics, check_everyone=False)
        edited = self.edited_tiers()
        after = edited.assign(self._metrics)
        was = before["rule"] == rule.position
        now = after["rule"] == rule.position
        counts = pd.DataFrame(
            {
                "before": before["tier"].value_counts(),
                "after": after["tier"].value_counts(),
            }
        )
        counts = counts.reindex(self.tiers.tiers).fillna(0).astype("int64")
        cols = [c for c in edited.rules[self.rule_index].expr.columns if c in self._metrics]
        rows = self._metrics.loc[now.to_numpy(), cols].head(MAX_SHOWN).reset_index()
        return RuleEditorResult(
            before=int(was.sum()),
            after=int(now.sum()),
            entering=int((now & ~was).sum()),
            leaving=int((was & ~now).sum()),
            rows=rows,
            tier_counts=counts,
        )

    def _frame(self, subject: str, within: float | None, tiers: pd.Series | None) -> pd.DataFrame:
        key = (subject, within)
        if key not in self._frames:
            self._frames[key] = build_subject(
                self.data, subject, as_of=self.as_of, tiers=tiers, within_days=within
            )
        return self._frames[key]

    def _followup_result(self) -> RuleEditorResult:
        saved = self.followups.rules[self.rule_index]
        edited = self.edited_followups()
        rule = edited.rules[self.rule_index]
        tiers = None
        if saved.subject == "customer":
            tiers = self.tiers.assign(self._metrics, check_everyone=False)["tier"]
        frame = self._frame(saved.subject, saved.within_days, tiers)
        before = _apply_rule(saved, frame, self.as_of, self.followups, self.lang)
        after = _apply_rule(rule, frame, self.as_of, edited, self.lang)
        b, a = set(before["task_id"]), set(after["task_id"])
        cols = ["subject_id", "rep_id", "status", "reason"]
        return RuleEditorResult(
            before=len(b),
            after=len(a),
            entering=len(a - b),
            leaving=len(b - a),
            rows=after[cols].head(MAX_SHOWN).reset_index(drop=True),
        )
