"""Customer tiering: ordered rules in business language, first match wins, a default tier.

A tier rule book is YAML (or the same as a mapping)::

    tiers:
      - tier: A
        when: 月采购额 > 50000 and 复购率 > 0.6
      - tier: B
        when: 月采购额 > 10000 or 复购率 > 0.3
    default: C

Each ``when`` is a condition in the safe grammar of :mod:`salesml.rules.expr` over the
columns of :func:`salesml.rules.metrics.customer_metrics`; the metrics' Chinese names
(``月采购额``, ``复购率``, ``未跟进天数`` ...) are aliases. Rules are tried in order: a
customer gets the tier of the first rule it meets, or the default tier. Tiers are
ranked in the order they are listed (the first the highest, the default the lowest),
which says whether a customer moved up or down.

Refused, with the rule's position, the line of the file and a caret under the
character of the user's text: an unknown metric (with a close match suggested), a
comparison of the wrong kinds (``月采购额 > "高"``), a condition that names no metric
(it holds for everyone or no one), an empty rule book, and, on data, a rule that is
not the last and selects every customer (the rules below it could never apply).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import yaml

from salesml.data.bundle import SalesData
from salesml.i18n import check_lang, t
from salesml.results import AnalysisResult, Note
from salesml.rules._base import ExpressionError
from salesml.rules.expr import Expr, compile_expr
from salesml.rules.metrics import (
    customer_metrics,
    customer_metrics_at,
    metric_aliases,
    resolve_as_of,
)
from salesml.rules.rulefile import (
    MAX_RULES,
    RuleError,
    find_line,
    read_rule_source,
    wrap_expression_error,
)

__all__ = [
    "METRIC_DTYPES",
    "TierResult",
    "TierRule",
    "TierRules",
    "default_tier_rules",
    "tier_customers",
]

#: The kinds of the metric columns, known without data (rules are checked against them).
METRIC_DTYPES: dict[str, str] = {
    "monthly_purchase": "float64",
    "purchases_12m": "int64",
    "purchase_amount_12m": "float64",
    "repurchase_rate": "float64",
    "days_since_purchase": "float64",
    "days_since_touch": "float64",
    "touches_90d": "int64",
    "open_pipeline": "float64",
    "open_deals": "int64",
    "overdue_amount": "float64",
    "payment_delay_days": "float64",
    "segment": "str",
    "region": "str",
    "owner_rep_id": "str",
    "created_at": "datetime64[us]",
    "last_touch_at": "datetime64[us]",
    "last_purchase_at": "datetime64[us]",
}


def default_tier_rules() -> str:
    """The text of the shipped default tier rules (``salesml/rules/tiers.yaml``)."""
    return (resources.files("salesml.rules") / "tiers.yaml").read_text(encoding="utf-8")


#: Most customers a rule may select before "selects everyone" is an error.
_EVERYONE_MIN = 20
_MAX_TIER_NAME = 40


@dataclass(frozen=True)
class TierRule:
    """One tier rule: the tier, the condition as written, and its compiled form."""

    position: int
    tier: str
    when: str
    expr: Expr = field(repr=False)
    file_line: int | None = None


@dataclass(frozen=True)
class TierRules:
    """An ordered tier rule book (build with :meth:`parse`).

    Attributes
    ----------
    rules
        The rules in order (first match wins).
    default
        Tier of customers no rule selects.
    text
        The YAML the rules were read from (``None`` when given as a mapping).
    """

    rules: tuple[TierRule, ...]
    default: str
    text: str | None = None

    @property
    def tiers(self) -> list[str]:
        """Tiers from highest to lowest (rule order, then the default), each once."""
        return list(dict.fromkeys([r.tier for r in self.rules] + [self.default]))

    @classmethod
    def parse(
        cls, source: str | os.PathLike[str] | Mapping[str, Any] | TierRules | None = None
    ) -> TierRules:
        """Read and check a tier rule book (``None``: :func:`default_tier_rules`).

        Raises
        ------
        RuleError
            For YAML that cannot be read, missing keys, an empty book, an unknown
            metric, a comparison of the wrong kinds, or a condition naming no metric.
        """
        if isinstance(source, TierRules):
            return source
        parsed, text = read_rule_source(
            default_tier_rules() if source is None else source, what="tier rules"
        )
        unknown = sorted(set(parsed) - {"tiers", "default"})
        if unknown:
            raise RuleError(
                f"tier rules: unknown key(s) {', '.join(map(repr, unknown))}; "
                "write 'tiers:' (the list of rules) and 'default:' (the tier of the rest)"
            )
        items = parsed.get("tiers")
        if not items:
            raise RuleError(
                "the tier rules are empty: list at least one rule under 'tiers:', "
                "e.g. '- {tier: A, when: monthly_purchase > 50000}'"
            )
        if not isinstance(items, list):
            raise RuleError("tier rules: 'tiers:' must be a list of rules (lines starting '- ')")
        if len(items) > MAX_RULES:
            raise RuleError(f"tier rules: {len(items)} rules; at most {MAX_RULES} are allowed")
        default = parsed.get("default")
        if not isinstance(default, str | int) or not str(default).strip():
            raise RuleError(
                "tier rules: write 'default:' with the tier of customers no rule selects"
            )
        aliases = metric_aliases(tuple(METRIC_DTYPES))
        rules = []
        for i, item in enumerate(items, start=1):
            if not isinstance(item, Mapping):
                raise RuleError(f"tier rule {i}: write it as 'tier: ...' and 'when: ...'", rule=i)
            extra = sorted(set(item) - {"tier", "when"})
            if extra:
                raise RuleError(
                    f"tier rule {i}: unknown key(s) {', '.join(map(repr, extra))}; "
                    "a tier rule has 'tier' and 'when'",
                    rule=i,
                )
            tier, when = item.get("tier"), item.get("when")
            if not isinstance(tier, str | int) or not str(tier).strip():
                raise RuleError(f"tier rule {i}: 'tier:' is missing", rule=i)
            tier = str(tier).strip()
            if len(tier) > _MAX_TIER_NAME:
                raise RuleError(
                    f"tier rule {i}: tier names are at most {_MAX_TIER_NAME} characters"
                )
            if not isinstance(when, str) or not when.strip():
                raise RuleError(
                    f"tier rule {i} ({tier}): 'when:' is missing; write a condition such as "
                    "monthly_purchase > 50000",
                    rule=i,
                )
            where = f"tier rule {i} ({tier})"
            try:
                expr = compile_expr(when, columns=METRIC_DTYPES, aliases=aliases)
            except ExpressionError as e:
                raise wrap_expression_error(e, where=where, rule=i, source=text) from None
            line = find_line(text, when)
            if not expr.columns:
                raise RuleError(
                    f"{where}: the condition names no metric, so it holds for every customer "
                    "or for none; compare a metric, e.g. monthly_purchase > 50000",
                    when,
                    0,
                    length=len(when),
                    rule=i,
                    file_line=line,
                )
            if expr.kind not in ("bool", None):
                raise RuleError(
                    f"{where}: the condition gives a value, not true/false; compare it, "
                    "e.g. monthly_purchase > 50000",
                    when,
                    0,
                    length=len(when),
                    rule=i,
                    file_line=line,
                )
            rules.append(TierRule(i, tier, when, expr, line))
        return cls(tuple(rules), str(default).strip(), text)

    def to_yaml(self) -> str:
        """The rule book as YAML (what the rule editor saves)."""
        doc = {
            "tiers": [{"tier": r.tier, "when": r.when} for r in self.rules],
            "default": self.default,
        }
        return yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)

    def assign(self, metrics: pd.DataFrame, *, check_everyone: bool = True) -> pd.DataFrame:
        """Tier of each row of ``metrics``: columns ``tier``, ``rule`` (0: the default).

        Raises
        ------
        RuleError
            For a rule that is not the last and selects every one of at least 20
            customers (``check_everyone``), or an evaluation failure (with caret).
        """
        n = len(metrics)
        tier = np.full(n, self.default, dtype=object)
        rule = np.zeros(n, dtype="int64")
        left = np.ones(n, dtype=bool)
        for r in self.rules:
            try:
                m = r.expr.mask(metrics, table="customer metrics").to_numpy(dtype=bool)
            except ExpressionError as e:
                where = f"tier rule {r.position} ({r.tier})"
                raise wrap_expression_error(
                    e, where=where, rule=r.position, source=self.text
                ) from None
            if check_everyone and n >= _EVERYONE_MIN and m.all():
                raise RuleError(
                    f"tier rule {r.position} ({r.tier}) selects every one of the {n:,} customers, "
                    f"so every customer would be tier {r.tier}"
                    + (
                        " and the rules below it never apply"
                        if r.position < len(self.rules)
                        else ""
                    )
                    + "; check its threshold",
                    r.when,
                    0,
                    length=len(r.when),
                    rule=r.position,
                    file_line=r.file_line,
                )
            hit = m & left
            tier[hit] = r.tier
            rule[hit] = r.position
            left &= ~m
        return pd.DataFrame({"tier": tier, "rule": rule}, index=metrics.index)


def _why(rules: TierRules, metrics: pd.DataFrame, rule: np.ndarray) -> pd.Series:
    """``月采购额 = 62,000 · 复购率 = 0.67`` for the rule that fired on each row."""
    out = pd.Series("", index=metrics.index, dtype="str")
    for r in rules.rules:
        sel = rule == r.position
        if not sel.any():
            continue
        parts = []
        for name, col in zip(r.expr.names, r.expr.columns, strict=False):
            v = metrics.loc[sel, col]
            if pd.api.types.is_float_dtype(v.dtype):
                shown = v.map(lambda x: f"{x:,.2f}" if abs(x) < 10 else f"{x:,.0f}")
            else:
                shown = v.astype("str")
            parts.append(name + " = " + shown.astype("str"))
        joined = parts[0]
        for p in parts[1:]:
            joined = joined + " · " + p
        out.loc[sel] = joined.to_numpy()
    return out


@dataclass(kw_only=True)
class TierResult(AnalysisResult):
    """Customer tiers as of a date, why each fired, and how customers moved.

    Attributes
    ----------
    table
        Index ``customer_id``; ``tier``, ``rule`` (1-based position, 0: the default),
        ``rule_text`` (the condition as written), ``why`` (the values of the metrics
        the rule names, in the user's words), then the metric columns.
    history
        One row per move: ``customer_id``, ``at`` (the evaluation date the new tier
        was first seen), ``tier_from``, ``tier_to``, ``direction`` (``up`` / ``down``).
    rules
        The rule book used.
    """

    title_key: ClassVar[str] = "rules.tiers.title"

    history: pd.DataFrame
    rules: TierRules

    def counts(self) -> pd.Series:
        """Customers per tier, highest tier first."""
        return self.table["tier"].value_counts().reindex(self.rules.tiers, fill_value=0)

    def summary(self) -> pd.DataFrame:
        c = self.counts()
        return pd.DataFrame({"tier": c.index, "customers": c.to_numpy()})

    def key_findings(self, lang: str = "en") -> list[str]:
        check_lang(lang)
        c = self.counts()
        shares = " · ".join(f"{k} {v:,}" for k, v in c.items())
        out = [t("rules.tiers.finding.counts", lang, n=len(self.table), tiers=shares)]
        h = self.history
        if len(h):
            up = int((h["direction"] == "up").sum())
            out.append(t("rules.tiers.finding.moves", lang, n=len(h), up=up, down=len(h) - up))
        return out + [n.text(lang) for n in self.notes]


def _history_dates(ts: pd.Timestamp, start: pd.Timestamp | None, months: int) -> list[pd.Timestamp]:
    first = (ts - pd.DateOffset(months=months)).normalize().replace(day=1)
    dates = list(pd.date_range(first, ts, freq="MS"))
    if start is not None:
        dates = [d for d in dates if d >= start]
    if not dates or dates[-1] != ts:
        dates.append(ts)
    return dates


def tier_customers(
    data: SalesData,
    *,
    rules: str | os.PathLike[str] | Mapping[str, Any] | TierRules | None = None,
    as_of: object = None,
    history_months: int = 12,
    window_days: float = 90.0,
    lookback_days: float = 365.0,
) -> TierResult:
    """Tier every customer as of ``as_of`` with an ordered, first-match rule book.

    Parameters
    ----------
    data
        The bundle (not modified); needs ``customers`` (purchases need contracts and deals).
    rules
        YAML text, a YAML file, a mapping or :class:`TierRules`; default
        :func:`default_tier_rules`.
    as_of
        The date the tiers describe (default: the end of the data).
    history_months
        How far back tier moves are traced: the rules are evaluated at the start of each
        month of that span and at ``as_of`` (0: no history).
    window_days, lookback_days
        Windows of the metrics (see :func:`~salesml.rules.metrics.customer_metrics`).

    Returns
    -------
    TierResult

    Raises
    ------
    RuleError
        For a bad rule book (see :class:`TierRules`) or a rule selecting everyone.
    """
    book = TierRules.parse(rules)
    ts = resolve_as_of(data, as_of)
    if not isinstance(history_months, int) or history_months < 0 or history_months > 120:
        raise ValueError("history_months must be a whole number of months from 0 to 120")
    kw = {"window_days": window_days, "lookback_days": lookback_days}
    metrics = customer_metrics(data, as_of=ts, **kw)
    tiers = book.assign(metrics)
    table = pd.concat(
        [
            tiers,
            pd.DataFrame(
                {
                    "rule_text": pd.Series(
                        np.array([""] + [r.when for r in book.rules], dtype=object)[tiers["rule"]],
                        index=metrics.index,
                        dtype="str",
                    ),
                    "why": _why(book, metrics, tiers["rule"].to_numpy()),
                },
                index=metrics.index,
            ),
            metrics,
        ],
        axis=1,
    )
    notes: list[Note] = []
    for name in ("contracts", "activities"):
        if not data.has(name):
            notes.append(Note("rules.note.table_missing", (("table", name),)))
    history = _tier_history(data, book, ts, history_months, kw)
    return TierResult(table=table, as_of=ts, notes=notes, history=history, rules=book)


def _tier_history(
    data: SalesData,
    book: TierRules,
    ts: pd.Timestamp,
    months: int,
    kw: Mapping[str, float],
) -> pd.DataFrame:
    cols = ["customer_id", "at", "tier_from", "tier_to", "direction"]
    if months == 0:
        return pd.DataFrame(columns=cols)
    tr = data.time_range
    dates = _history_dates(ts, tr[0] if tr else None, months)
    rank = {name: i for i, name in enumerate(book.tiers)}
    prev: pd.Series | None = None
    moves = []
    for d, m in zip(dates, customer_metrics_at(data, list(dates), **kw), strict=True):
        cur = book.assign(m, check_everyone=False)["tier"]
        if prev is not None:
            common = cur.index.intersection(prev.index)
            a, b = prev.reindex(common), cur.reindex(common)
            changed = (a != b).to_numpy()
            if changed.any():
                ra = a[changed].map(rank).to_numpy()
                rb = b[changed].map(rank).to_numpy()
                moves.append(
                    pd.DataFrame(
                        {
                            "customer_id": common[changed],
                            "at": d,
                            "tier_from": a[changed].to_numpy(),
                            "tier_to": b[changed].to_numpy(),
                            "direction": np.where(rb < ra, "up", "down"),
                        }
                    )
                )
        prev = cur
    if not moves:
        return pd.DataFrame(columns=cols)
    out = pd.concat(moves, ignore_index=True)
    return out.astype({"customer_id": "str", "tier_from": "str", "tier_to": "str"})
