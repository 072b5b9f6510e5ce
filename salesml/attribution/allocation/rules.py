"""Cost-allocation rules: reading, checking and compiling a rule set.

A rule set maps each of the 12 cost categories to a list of rules; a cost line takes
the first rule of its category that applies to it. A rule names

- ``driver``: the sales actions that carry the cost (``leads``, ``activities``,
  ``deals``, ``redemptions``; see :mod:`salesml.attribution.allocation.drivers`);
- ``scope``: keys the cost line and its actions must share (``store_id``, ``month``...);
- ``when`` (on the cost line), ``filter`` and ``weight`` (on the actions): safe
  expressions (:mod:`salesml.rules.expr`), never ``eval``-ed;
- ``name`` and ``description``.

The shipped defaults are ``salesml/attribution/default_rules.yaml``.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from salesml.attribution.allocation.drivers import DRIVERS
from salesml.data.schema import COST_CATEGORIES
from salesml.data.yamlsafe import load_yaml
from salesml.rules.expr import Expr, ExpressionError, compile_expr

__all__ = [
    "Rule",
    "RuleError",
    "RulesLike",
    "check_monthly_rules",
    "compile_rules",
    "default_rules",
    "load_rules",
    "spanning_rule",
]

#: What every ``rules=`` argument accepts: ``None`` (defaults), a YAML path or a dict.
RulesLike = str | Path | dict[str, Any] | None

_RULE_KEYS = {"name", "when", "driver", "filter", "scope", "weight", "description"}


class RuleError(ValueError):
    """A cost-allocation rule set is malformed (the message names category and rule)."""


def default_rules() -> dict[str, Any]:
    """The rule set shipped with salesml (a fresh copy: edit it freely)."""
    text = resources.files("salesml.attribution").joinpath("default_rules.yaml").read_text("utf-8")
    return load_yaml(text, what="the default cost-allocation rules")


@dataclass(frozen=True)
class Rule:
    """One compiled rule: its category, position, driver, scope and expressions."""

    category: str
    index: int
    name: str
    driver: str
    scope: tuple[str, ...]
    when: Expr | None
    filter: Expr | None
    weight: Expr | None

    @property
    def label(self) -> str:
        return f"{self.category}[{self.index}] {self.name}"


def load_rules(rules: RulesLike = None) -> dict[str, Any]:
    """Read and check a rule set.

    Parameters
    ----------
    rules
        ``None`` for the default rules, a path to a YAML file, or a dict of the
        same shape (``{"categories": {category: [rule, ...]}}``; a bare
        ``{category: [rule, ...]}`` mapping is accepted too).

    Returns
    -------
    dict
        The normalised rule set ``{"version": 1, "categories": {...}}``.

    Raises
    ------
    RuleError
        Naming the category and rule at fault, for unknown categories, drivers or
        keys, a missing scope, or an expression outside the grammar.
    """
    if rules is None:
        raw: Any = default_rules()
    elif isinstance(rules, str | Path):
        p = Path(rules)
        if not p.exists():
            raise RuleError(f"rule file {str(p)!r} does not exist")
        raw = load_yaml(p, what=f"rule file {p}")
    elif isinstance(rules, dict):
        raw = copy.deepcopy(rules)
    else:
        raise RuleError(f"rules must be None, a path or a dict, got {type(rules).__name__}")
    if not isinstance(raw, dict):
        raise RuleError("a rule set must be a mapping with a 'categories' key")
    cats = raw.get("categories", raw if "categories" not in raw else None)
    if not isinstance(cats, dict):
        raise RuleError("'categories' must map a cost category to a list of rules")
    out: dict[str, list[dict[str, Any]]] = {}
    for cat, lst in cats.items():
        if cat in ("version",):
            continue
        if cat not in COST_CATEGORIES:
            raise RuleError(
                f"unknown cost category {cat!r} in rules; categories: {', '.join(COST_CATEGORIES)}"
            )
        if lst is None:
            lst = []
        if not isinstance(lst, list):
            raise RuleError(f"rules of category {cat!r} must be a list")
        clean = []
        for i, r in enumerate(lst):
            where = f"rule {i} of category {cat!r}"
            if not isinstance(r, dict):
                raise RuleError(f"{where} must be a mapping")
            extra = set(r) - _RULE_KEYS
            if extra:
                raise RuleError(
                    f"{where} has unknown key(s) {sorted(extra)}; allowed: {sorted(_RULE_KEYS)}"
                )
            driver = r.get("driver")
            if driver not in DRIVERS:
                raise RuleError(
                    f"{where}: driver {driver!r} unknown; drivers: {', '.join(DRIVERS)}"
                )
            scope = r.get("scope", [])
            if isinstance(scope, str):
                scope = [scope]
            if not isinstance(scope, list) or not all(isinstance(s, str) for s in scope):
                raise RuleError(f"{where}: scope must be a list of key names")
            for key in ("when", "filter", "weight"):
                v = r.get(key)
                if v is None or v == "":
                    continue
                if not isinstance(v, str | int | float) or isinstance(v, bool):
                    raise RuleError(f"{where}: {key} must be an expression (text)")
                try:
                    compile_expr(str(v))
                except ExpressionError as e:
                    raise RuleError(f"{where}: {key}: {e}") from None
            clean.append({**r, "scope": list(scope), "name": str(r.get("name", f"rule {i}"))})
        out[cat] = clean
    return {"version": 1, "categories": out}


def compile_rules(rules: dict[str, Any]) -> list[Rule]:
    """The rules of a checked rule set (:func:`load_rules`), in application order."""
    out = []
    for cat, lst in rules["categories"].items():
        for i, r in enumerate(lst):

            def c(key: str, r: dict[str, Any] = r) -> Expr | None:
                v = r.get(key)
                return None if v is None or v == "" else compile_expr(str(v))

            out.append(
                Rule(
                    cat,
                    i,
                    r["name"],
                    r["driver"],
                    tuple(r["scope"]),
                    c("when"),
                    c("filter"),
                    c("weight"),
                )
            )
    return out


def _spanning(compiled: list[Rule]) -> Rule | None:
    for r in compiled:
        if r.driver == "activities" and "month" not in r.scope and r.scope != ("activity_id",):
            return r
    return None


def spanning_rule(rules: RulesLike) -> Rule | None:
    """The first rule that drives activities over more than one month, if any.

    Such a rule (its scope has neither ``month`` nor is ``[activity_id]``) cannot be
    allocated a month at a time
    (:func:`~salesml.attribution.allocation.by_month.allocate_costs_by_month`).
    """
    return _spanning(compile_rules(load_rules(rules)))


def check_monthly_rules(rules: RulesLike) -> list[Rule]:
    """The compiled rules, checked to be computable a month at a time.

    Raises
    ------
    RuleError
        When a rule drives activities over more than one month (see :func:`spanning_rule`).
    """
    compiled = compile_rules(load_rules(rules))
    r = _spanning(compiled)
    if r is not None:
        raise RuleError(
            f"{r.label}: scope {list(r.scope)} spans months; allocating month by month "
            "needs month in the scope of every activity rule (or scope [activity_id]): "
            "use allocate_costs on the loaded data instead"
        )
    return compiled
