"""Follow-ups and automations: rules as data (condition + action + cooldown) turned into tasks.

A follow-up rule book is YAML (the shipped defaults are ``salesml/rules/followups.yaml``)::

    rules:
      - id: quote_second_followup
        subject: quote                 # quote | contract | customer | approval | activity
        when: 等待小时数 > 48           # safe grammar over the subject's columns
        anchor: first_viewed_at        # the event the task is about (default per subject)
        due_after_hours: 48            # due = anchor + this
        action: create_task            # create_task | escalate | dispatch | create_lead
        priority: high                 # high | medium | low
        cooldown_days: 0               # no second task on the same dedupe_by within this
        dedupe_by: quote_id            # default: the subject itself
        reason: rules.reason.quote_unanswered   # catalog key, or reason_en / reason_zh
        script: rules.script.quote_second       # catalog key, or script_en / script_zh

The columns of each subject are listed in :mod:`salesml.rules.subjects`. Actions:

- ``create_task``: the subject's owner (the deal's rep, the reviewer, the customer's owner)
  gets the task; their manager is named beside it;
- ``escalate``: the task goes to the owner's manager (the regional manager's collection
  list, a reviewer's manager), the owner is named beside it;
- ``dispatch``: the task goes to a senior rep of the subject's region (role ``senior``,
  else the sales reps hired at least ``senior_years`` years before, default 3), each task to
  the one with the least open work (open deals plus tasks already given in this run);
- ``create_lead``: a lead for the follow-up queue (``kind`` ``lead``), owned by the rep;
  :mod:`salesml.rules.leads` turns these tasks into rows of the leads table.

A task is identified by (rule, subject, anchor): the same event never makes two
tasks, however often the rules run. The cooldown also keeps a rule from making a new
task on the same ``dedupe_by`` value (a customer, say) within ``cooldown_days`` of
the previous one, including tasks given in earlier runs (``previous=``).

:func:`due_followups` returns every task the rules have created up to ``as_of``:
``status`` ``open`` (not settled at ``as_of``) or ``done`` (replied, paid, decided
since, with ``resolved_at``). Nothing after ``as_of`` is read.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import yaml

from salesml.data.bundle import SalesData
from salesml.i18n import check_lang, has_label, t
from salesml.results import AnalysisResult, Note
from salesml.rules._base import ExpressionError
from salesml.rules.assign import _cooldown, _dispatch, _open_load, _people, _region_manager
from salesml.rules.expr import Expr, compile_expr
from salesml.rules.metrics import customer_metrics, metric_aliases, resolve_as_of
from salesml.rules.rulefile import (
    MAX_RULES,
    RuleError,
    find_line,
    read_rule_source,
    wrap_expression_error,
)
from salesml.rules.subjects import SUBJECT_DTYPES, SUBJECT_TABLES, SUBJECTS, build_subject
from salesml.rules.template import TemplateError, check_template, render_template_column
from salesml.rules.tiering import TierRules

__all__ = [
    "ACTIONS",
    "PRIORITIES",
    "TASK_COLUMNS",
    "FollowupResult",
    "FollowupRule",
    "FollowupRules",
    "default_followup_rules",
    "due_followups",
]

#: What a rule may do.
ACTIONS: tuple[str, ...] = ("create_task", "escalate", "dispatch", "create_lead")
#: Priorities, most urgent first.
PRIORITIES: tuple[str, ...] = ("high", "medium", "low")

#: Columns of :attr:`FollowupResult.table`, in order.
TASK_COLUMNS: tuple[str, ...] = (
    "task_id",
    "rule_id",
    "kind",
    "subject",
    "subject_id",
    "deal_id",
    "customer_id",
    "rep_id",
    "owner_id",
    "owner_name",
    "manager_id",
    "region",
    "anchor_at",
    "due_at",
    "status",
    "resolved_at",
    "overdue_hours",
    "priority",
    "reason",
    "script",
)

_DEFAULT_ANCHOR = {
    "quote": "first_viewed_at",
    "contract": "due_at",
    "customer": "untouched_since",
    "approval": "submitted_at",
    "activity": "occurred_at",
}
_KEYS = {
    "id",
    "subject",
    "when",
    "anchor",
    "due_after_hours",
    "action",
    "priority",
    "cooldown_days",
    "dedupe_by",
    "within_days",
    "senior_years",
    "reason",
    "reason_en",
    "reason_zh",
    "script",
    "script_en",
    "script_zh",
}
_EVERYONE_MIN = 20
_MAX_TEXT = 500


@dataclass(frozen=True)
class FollowupRule:
    """One follow-up rule (see the module docstring for the fields)."""

    position: int
    id: str
    subject: str
    when: str
    expr: Expr = field(repr=False)
    anchor: str
    due_after_hours: float
    action: str
    priority: str
    cooldown_days: float
    dedupe_by: str
    within_days: float | None
    senior_years: float
    reason: dict[str, str]
    script: dict[str, str]
    file_line: int | None = None

    def as_dict(self) -> dict[str, Any]:
        """The rule as written in YAML (for saving)."""
        d: dict[str, Any] = {"id": self.id, "subject": self.subject, "when": self.when}
        d["anchor"] = self.anchor
        if self.due_after_hours:
            d["due_after_hours"] = self.due_after_hours
        d["action"] = self.action
        d["priority"] = self.priority
        if self.cooldown_days:
            d["cooldown_days"] = self.cooldown_days
        if self.dedupe_by != "subject_id":
            d["dedupe_by"] = self.dedupe_by
        if self.within_days is not None:
            d["within_days"] = self.within_days
        if self.action == "dispatch" and self.senior_years != 3.0:
            d["senior_years"] = self.senior_years
        for what in ("reason", "script"):
            texts = getattr(self, what)
            if "key" in texts:
                d[what] = texts["key"]
            elif texts:
                d[f"{what}_en"], d[f"{what}_zh"] = texts["en"], texts["zh"]
        return d

    def text(self, what: str, lang: str) -> str:
        """The reason or script template in ``lang`` (empty if the rule has none)."""
        texts = getattr(self, what)
        if "key" in texts:
            return t(texts["key"], lang)
        return texts.get(lang, "")


def _number(item: Mapping[str, Any], key: str, default: float | None, where: str, i: int) -> Any:
    v = item.get(key, default)
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, int | float) or not np.isfinite(v) or v < 0:
        raise RuleError(f"{where}: '{key}' must be a number of at least 0, got {v!r}", rule=i)
    if v > 10_000:
        raise RuleError(f"{where}: '{key}' is at most 10,000, got {v!r}", rule=i)
    return float(v)


def _texts(item: Mapping[str, Any], what: str, columns: list[str], where: str, i: int) -> dict:
    key = item.get(what)
    if key is not None:
        if not isinstance(key, str) or not has_label(key):
            raise RuleError(
                f"{where}: '{what}: {key}' is not a key of the label catalog; write "
                f"{what}_en and {what}_zh with the texts instead",
                rule=i,
            )
        texts: dict[str, str] = {"key": key}
        probe = [t(key, "en"), t(key, "zh")]
    else:
        en, zh = item.get(f"{what}_en"), item.get(f"{what}_zh")
        if en is None and zh is None:
            return {}
        if not isinstance(en, str) or not isinstance(zh, str):
            raise RuleError(f"{where}: write both {what}_en and {what}_zh as texts", rule=i)
        if len(en) > _MAX_TEXT or len(zh) > _MAX_TEXT:
            raise RuleError(f"{where}: {what} texts are at most {_MAX_TEXT} characters", rule=i)
        texts = {"en": en, "zh": zh}
        probe = [en, zh]
    for text in probe:
        try:
            check_template(text, names=columns)
        except TemplateError as e:
            raise RuleError(
                f"{where} ({what}): {e.reason}", e.text, e.offset, length=e.length, rule=i
            ) from None
    return texts


def _parse_rule(item: Any, i: int, text: str | None, seen: set[str], tier_ok: bool) -> FollowupRule:
    if not isinstance(item, Mapping):
        raise RuleError(f"follow-up rule {i}: write it as keys (id:, subject:, when:, ...)", rule=i)
    extra = sorted(set(item) - _KEYS)
    if extra:
        raise RuleError(
            f"follow-up rule {i}: unknown key(s) {', '.join(map(repr, extra))}; "
            f"a rule may have {', '.join(sorted(_KEYS))}",
            rule=i,
        )
    rid = item.get("id")
    if not isinstance(rid, str) or not rid.isidentifier() or len(rid) > 60:
        raise RuleError(
            f"follow-up rule {i}: 'id:' must be one word (letters, digits, _), got {rid!r}", rule=i
        )
    if rid in seen:
        raise RuleError(f"follow-up rule {i}: the id {rid!r} is used twice", rule=i)
    where = f"follow-up rule {i} ({rid})"
    subject = item.get("subject")
    if subject not in SUBJECTS:
        raise RuleError(
            f"{where}: 'subject:' must be one of {', '.join(SUBJECTS)}, got {subject!r}", rule=i
        )
    dtypes = SUBJECT_DTYPES[subject]
    columns = list(dtypes)
    when = item.get("when")
    if not isinstance(when, str) or not when.strip():
        raise RuleError(
            f"{where}: 'when:' is missing; write a condition such as hours_waiting > 48", rule=i
        )
    try:
        expr = compile_expr(when, columns=dtypes, aliases=metric_aliases(tuple(columns)))
    except ExpressionError as e:
        raise wrap_expression_error(e, where=where, rule=i, source=text) from None
    line = find_line(text, when)
    if not expr.columns:
        raise RuleError(
            f"{where}: the condition names no column, so it holds for every {subject} or for "
            "none; compare a column, e.g. hours_waiting > 48",
            when,
            0,
            length=len(when),
            rule=i,
            file_line=line,
        )
    if expr.kind not in ("bool", None):
        raise RuleError(
            f"{where}: the condition gives a value, not true/false; compare it",
            when,
            0,
            length=len(when),
            rule=i,
            file_line=line,
        )
    if "tier" in expr.columns and not tier_ok:
        raise RuleError(f"{where}: the rule reads 'tier' but no tier rules were given", rule=i)
    anchor = item.get("anchor", _DEFAULT_ANCHOR[subject])
    if anchor not in dtypes or not str(dtypes[anchor]).startswith("datetime"):
        dates = ", ".join(c for c, k in dtypes.items() if k.startswith("datetime"))
        raise RuleError(f"{where}: 'anchor:' must be a date column of {subject}s: {dates}", rule=i)
    action = item.get("action", "create_task")
    if action not in ACTIONS:
        raise RuleError(
            f"{where}: 'action:' must be one of {', '.join(ACTIONS)}, got {action!r}", rule=i
        )
    priority = item.get("priority", "medium")
    if priority not in PRIORITIES:
        raise RuleError(
            f"{where}: 'priority:' must be one of {', '.join(PRIORITIES)}, got {priority!r}",
            rule=i,
        )
    dedupe = item.get("dedupe_by", "subject_id")
    if dedupe not in dtypes or dtypes[dedupe] != "str":
        raise RuleError(f"{where}: 'dedupe_by:' must be an id column of {subject}s", rule=i)
    within = _number(item, "within_days", None, where, i)
    if within is not None and subject != "activity":
        raise RuleError(f"{where}: 'within_days' applies to activity rules only", rule=i)
    return FollowupRule(
        position=i,
        id=rid,
        subject=subject,
        when=when,
        expr=expr,
        anchor=anchor,
        due_after_hours=_number(item, "due_after_hours", 0.0, where, i),
        action=action,
        priority=priority,
        cooldown_days=_number(item, "cooldown_days", 0.0, where, i),
        dedupe_by=dedupe,
        within_days=within,
        senior_years=_number(item, "senior_years", 3.0, where, i),
        reason=_texts(item, "reason", columns, where, i),
        script=_texts(item, "script", columns, where, i),
        file_line=line,
    )


@dataclass(frozen=True)
class FollowupRules:
    """A follow-up rule book (build with :meth:`parse`)."""

    rules: tuple[FollowupRule, ...]
    text: str | None = None

    @classmethod
    def parse(
        cls,
        source: str | os.PathLike[str] | Mapping[str, Any] | FollowupRules | None = None,
        *,
        tiers: bool = True,
    ) -> FollowupRules:
        """Read and check a rule book (``None``: the shipped defaults).

        Parameters
        ----------
        source
            YAML text, a YAML file, a mapping, or a parsed book.
        tiers
            Whether customer tiers will be available (rules reading ``tier`` need them).

        Raises
        ------
        RuleError
            For YAML that cannot be read, an empty book, an unknown key, subject,
            column or action, a comparison of the wrong kinds (with a caret), a
            condition naming no column, or a phrase outside the template rules.
        """
        if isinstance(source, FollowupRules):
            return source
        if source is None:
            source = default_followup_rules()
        parsed, text = read_rule_source(source, what="follow-up rules")
        unknown = sorted(set(parsed) - {"rules"})
        if unknown:
            raise RuleError(
                f"follow-up rules: unknown key(s) {', '.join(map(repr, unknown))}; "
                "list the rules under 'rules:'"
            )
        items = parsed.get("rules")
        if not items:
            raise RuleError(
                "the follow-up rule book is empty: list at least one rule under 'rules:'"
            )
        if not isinstance(items, list):
            raise RuleError("follow-up rules: 'rules:' must be a list (lines starting '- ')")
        if len(items) > MAX_RULES:
            raise RuleError(f"follow-up rules: {len(items)} rules; at most {MAX_RULES} are allowed")
        seen: set[str] = set()
        out = []
        for i, item in enumerate(items, start=1):
            rule = _parse_rule(item, i, text, seen, tiers)
            seen.add(rule.id)
            out.append(rule)
        return cls(tuple(out), text)

    def to_yaml(self) -> str:
        """The rule book as YAML (what the rule editor saves)."""
        doc = {"rules": [r.as_dict() for r in self.rules]}
        return yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)

    def rule(self, rule_id: str) -> FollowupRule:
        """The rule with this id."""
        for r in self.rules:
            if r.id == rule_id:
                return r
        raise KeyError(
            f"no follow-up rule {rule_id!r}; rules: {', '.join(r.id for r in self.rules)}"
        )


def default_followup_rules() -> str:
    """The text of the shipped default rule book (``salesml/rules/followups.yaml``)."""
    return (resources.files("salesml.rules") / "followups.yaml").read_text(encoding="utf-8")


# ---------------------------------------------------------------------- result
@dataclass(kw_only=True)
class FollowupResult(AnalysisResult):
    """Every task the follow-up rules created up to ``as_of``.

    Attributes
    ----------
    table
        One row per task, columns :data:`TASK_COLUMNS`: ``task_id`` (stable: rule, subject
        and anchor), ``rule_id``, ``kind`` (``task`` / ``escalation`` / ``dispatch`` /
        ``lead``), ``subject`` and ``subject_id``, ``deal_id``, ``customer_id``, ``rep_id``
        (the subject's owner), ``owner_id`` / ``owner_name`` (who acts), ``manager_id``,
        ``region``, ``anchor_at`` (the event), ``due_at``, ``status`` (``open`` / ``done``),
        ``resolved_at``, ``overdue_hours`` (``as_of - due_at``), ``priority``, ``reason``
        and ``script`` (in ``lang``). Open tasks first, most urgent first.
    rules
        The rule book used.
    lang
        Language of ``reason`` and ``script``.
    """

    title_key: ClassVar[str] = "rules.followups.title"

    rules: FollowupRules
    lang: str = "en"

    def open(self) -> pd.DataFrame:
        """The open tasks (what a rep still has to do)."""
        return self.table[self.table["status"] == "open"]

    def summary(self) -> pd.DataFrame:
        """Open tasks per owner and rule, overdue ones counted apart."""
        o = self.open()
        if o.empty:
            return pd.DataFrame(columns=["owner_id", "owner_name", "rule_id", "tasks", "overdue"])
        g = o.assign(overdue=o["overdue_hours"] > 0).groupby(
            ["owner_id", "owner_name", "rule_id"], dropna=False
        )
        return (
            g.agg(tasks=("task_id", "size"), overdue=("overdue", "sum"))
            .reset_index()
            .sort_values(["overdue", "tasks"], ascending=False, ignore_index=True)
        )

    def key_findings(self, lang: str = "en") -> list[str]:
        check_lang(lang)
        o = self.open()
        out = [
            t(
                "rules.followups.finding.counts",
                lang,
                n=len(o),
                overdue=int((o["overdue_hours"] > 0).sum()),
                owners=o["owner_id"].nunique(),
                done=len(self.table) - len(o),
            )
        ]
        return out + [n.text(lang) for n in self.notes]


_KIND = {
    "create_task": "task",
    "escalate": "escalation",
    "dispatch": "dispatch",
    "create_lead": "lead",
}


def _empty_tasks() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="str") for c in TASK_COLUMNS}).astype(
        {
            "anchor_at": "datetime64[us]",
            "due_at": "datetime64[us]",
            "resolved_at": "datetime64[us]",
            "overdue_hours": "float64",
        }
    )


def _apply_rule(
    rule: FollowupRule,
    frame: pd.DataFrame,
    ts: pd.Timestamp,
    book: FollowupRules,
    lang: str,
) -> pd.DataFrame:
    try:
        hit = rule.expr.mask(frame, table=f"{rule.subject}s").to_numpy(dtype=bool)
    except ExpressionError as e:
        where = f"follow-up rule {rule.position} ({rule.id})"
        raise wrap_expression_error(e, where=where, rule=rule.position, source=book.text) from None
    if len(frame) >= _EVERYONE_MIN and hit.all():
        raise RuleError(
            f"follow-up rule {rule.position} ({rule.id}) selects every one of the {len(frame):,} "
            f"{rule.subject}s: that would send a task for each; check its threshold",
            rule.when,
            0,
            length=len(rule.when),
            rule=rule.position,
            file_line=rule.file_line,
        )
    f = frame.loc[hit]
    anchor = f[rule.anchor]
    f = f.loc[anchor.notna().to_numpy()]
    anchor = f[rule.anchor]
    out = pd.DataFrame(
        {
            "rule_id": rule.id,
            "kind": _KIND[rule.action],
            "subject": rule.subject,
            "subject_id": f["subject_id"].astype("str"),
            "deal_id": f["deal_id"].astype("str") if "deal_id" in f else pd.NA,
            "customer_id": f["customer_id"].astype("str"),
            "rep_id": f["rep_id"].astype("str"),
            "region": f["region"].astype("str"),
            "anchor_at": anchor.astype("datetime64[us]"),
            "due_at": (anchor + pd.Timedelta(hours=rule.due_after_hours)).astype("datetime64[us]"),
            "resolved_at": f["resolved_at"].astype("datetime64[us]"),
            "priority": rule.priority,
            "dedupe_key": f[rule.dedupe_by].astype("str"),
        },
        index=f.index,
    )
    out["task_id"] = (
        rule.id + "|" + out["subject_id"] + "|" + out["anchor_at"].dt.strftime("%Y-%m-%dT%H:%M:%S")
    )
    out["status"] = np.where(out["resolved_at"].isna(), "open", "done")
    out["reason"] = render_template_column(rule.text("reason", lang), f) if rule.reason else ""
    out["script"] = render_template_column(rule.text("script", lang), f) if rule.script else ""
    return out


def due_followups(
    data: SalesData,
    *,
    rules: str | os.PathLike[str] | Mapping[str, Any] | FollowupRules | None = None,
    as_of: object = None,
    tier_rules: str | os.PathLike[str] | Mapping[str, Any] | TierRules | None = None,
    previous: pd.DataFrame | None = None,
    lang: str = "en",
) -> FollowupResult:
    """Every follow-up task the rules have created up to ``as_of``, open ones first.

    Parameters
    ----------
    data
        The bundle (not modified). Each rule needs its subject's tables
        (:data:`salesml.rules.subjects.SUBJECT_TABLES`); rules whose tables are absent
        are skipped with a note.
    rules
        The follow-up rule book (YAML text, file, mapping or :class:`FollowupRules`);
        default: the shipped ``followups.yaml``.
    as_of
        The instant (default: the end of the data). Nothing after it is read.
    tier_rules
        Tier rules for rules that read ``tier`` (default: the shipped tier rules).
    previous
        Tasks given in earlier runs (``task_id``, ``rule_id``, ``dedupe_key``,
        ``anchor_at``; the outbox keeps them): their cooldowns still apply and their
        ``task_id`` are not repeated.
    lang
        Language of the ``reason`` and ``script`` columns.

    Returns
    -------
    FollowupResult

    Raises
    ------
    RuleError
        For a bad rule book, or a rule that selects every one of at least 20 subjects.
    """
    check_lang(lang)
    book = FollowupRules.parse(rules)
    ts = resolve_as_of(data, as_of)
    people = _people(data)
    notes: list[Note] = []
    tiers = metrics = None
    if any(r.subject == "customer" for r in book.rules) and data.has("customers"):
        metrics = customer_metrics(data, as_of=ts)  # once: tiers and the customer rules share it
        if any("tier" in r.expr.columns for r in book.rules):
            tiers = TierRules.parse(tier_rules).assign(metrics)["tier"]
    frames: dict[tuple[str, float | None], pd.DataFrame] = {}
    parts = []
    for rule in book.rules:
        lacking = [n for n in SUBJECT_TABLES[rule.subject] if not data.has(n)]
        if lacking:
            notes.append(
                Note("rules.note.rule_skipped", (("rule", rule.id), ("table", ", ".join(lacking))))
            )
            continue
        key = (rule.subject, rule.within_days)
        if key not in frames:
            frames[key] = build_subject(
                data,
                rule.subject,
                as_of=ts,
                tiers=tiers,
                within_days=rule.within_days,
                metrics=metrics,
            )
        part = _apply_rule(rule, frames[key], ts, book, lang)
        prev = None
        if previous is not None and len(previous):
            prev = previous[previous["rule_id"] == rule.id]
            part = part[~part["task_id"].isin(set(previous["task_id"].astype("str")))]
        part = part.loc[_cooldown(part, "dedupe_key", rule.cooldown_days, prev)]
        part.attrs["rule"] = rule
        parts.append(part)
    table = pd.concat(parts, ignore_index=True) if parts else _empty_tasks()
    if table.empty:
        table = _empty_tasks().assign(dedupe_key=pd.Series(dtype="str"))
    table["priority_rank"] = table["priority"].map({p: i for i, p in enumerate(PRIORITIES)})
    # owners
    owner = table["rep_id"].astype("str")
    rep_mgr = table["rep_id"].map(people["manager_id"]).astype("str")
    region_mgr = _region_manager(people)
    rep_mgr = rep_mgr.fillna(table["region"].map(region_mgr).astype("str"))
    esc = (table["kind"] == "escalation").to_numpy()
    owner = owner.where(~esc, rep_mgr.fillna(owner))
    disp = (table["kind"] == "dispatch").to_numpy()
    if disp.any():
        load = _open_load(data, ts, table.loc[~disp & (table["status"] == "open").to_numpy()])
        by_years = {r.id: r.senior_years for r in book.rules}
        for rid, g in table.loc[disp].groupby("rule_id"):
            owner.loc[g.index] = _dispatch(g, people, ts, by_years[str(rid)], load)
    table["owner_id"] = owner.astype("str")
    table["owner_name"] = table["owner_id"].map(people["name"]).astype("str")
    table["manager_id"] = table["owner_id"].map(people["manager_id"]).astype("str")
    table.loc[esc, "manager_id"] = table.loc[esc, "owner_id"]
    t64 = np.datetime64(ts, "ns")
    table["overdue_hours"] = (t64 - table["due_at"].to_numpy("datetime64[ns]")) / np.timedelta64(
        1, "h"
    )
    table = table.sort_values(
        ["status", "priority_rank", "due_at"], ascending=[False, True, True], kind="stable"
    )
    table = table.drop(columns=["priority_rank"]).reset_index(drop=True)
    cols = [*TASK_COLUMNS, "dedupe_key"]
    return FollowupResult(table=table[cols], as_of=ts, notes=notes, rules=book, lang=lang)


def load_rules_file(path: str | os.PathLike[str]) -> FollowupRules:
    """Read a follow-up rule book from a YAML file."""
    return FollowupRules.parse(Path(path))
