"""Activity-based cost allocation: every cost line bound to the sales actions that used it.

:func:`allocate_costs` reads the cost ledger and a rule set (YAML shipped with the
package, see ``default_rules.yaml``; users pass their own path or dict) and binds
each cost line to *driver rows* — leads, activities, deals or redemptions of
store materials — in the line's scope, by weight. The result, an
:class:`Allocation`, keeps one row per (cost line, driver row) pair, the cost
lines left unallocated with the reason, and the views a controller asks for
(cost per activity, deal, customer, store; the cost path of one deal).

Conservation holds by construction and is checked: per category and month,
``allocated + unallocated == incurred``.
"""

from __future__ import annotations

import copy
import html
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from salesml.attribution._checks import require_amounts, require_columns, require_dates
from salesml.data.bundle import SalesData
from salesml.data.schema import COST_CATEGORIES
from salesml.data.yamlsafe import load_yaml
from salesml.rules.expr import Expr, ExpressionError, compile_expr

__all__ = [
    "DRIVERS",
    "REASONS",
    "Allocation",
    "RuleError",
    "allocate_costs",
    "default_rules",
    "driver_frame",
    "load_rules",
]

#: Driver tables a rule may name, with the source table each one needs.
DRIVERS: dict[str, str] = {
    "leads": "leads",
    "activities": "activities",
    "deals": "deals",
    "redemptions": "material_movements",
}

#: Reasons a cost line stays unallocated.
REASONS: dict[str, str] = {
    "no_rule": "no matching rule",
    "no_scope": "scope key missing on the cost line",
    "no_driver": "no driver rows in scope",
    "no_table": "driver table absent from the dataset",
    "unknown_category": "not one of the 12 cost categories",
}

_RULE_KEYS = {"name", "when", "driver", "filter", "scope", "weight", "description"}


class RuleError(ValueError):
    """A cost-allocation rule set is malformed (the message names category and rule)."""


# ---------------------------------------------------------------------- rules
def default_rules() -> dict[str, Any]:
    """The rule set shipped with salesml (a fresh copy: edit it freely)."""
    text = resources.files("salesml.attribution").joinpath("default_rules.yaml").read_text("utf-8")
    return load_yaml(text, what="the default cost-allocation rules")


@dataclass(frozen=True)
class _Rule:
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


def load_rules(rules: str | Path | dict[str, Any] | None = None) -> dict[str, Any]:
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


def _compile_rules(rules: dict[str, Any]) -> list[_Rule]:
    out = []
    for cat, lst in rules["categories"].items():
        for i, r in enumerate(lst):

            def c(key: str, r: dict[str, Any] = r) -> Expr | None:
                v = r.get(key)
                return None if v is None or v == "" else compile_expr(str(v))

            out.append(
                _Rule(
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


# ---------------------------------------------------------------------- driver views
def _month(ts: pd.Series) -> pd.Series:
    """Calendar month as an integer (year * 12 + month - 1); missing -> -1."""
    y = ts.dt.year.to_numpy(dtype="float64", na_value=np.nan)
    m = ts.dt.month.to_numpy(dtype="float64", na_value=np.nan)
    v = y * 12 + m - 1
    return pd.Series(np.where(np.isnan(v), -1, v).astype("int64"), index=ts.index)


def _customer_attrs(data: SalesData) -> pd.DataFrame | None:
    if not data.has("customers"):
        return None
    c = data.customers
    cols = [x for x in ("customer_id", "store_id", "region", "segment", "source_channel") if x in c]
    return c[cols].drop_duplicates("customer_id")


def _join_customer(df: pd.DataFrame, cust: pd.DataFrame | None) -> pd.DataFrame:
    if cust is None or "customer_id" not in df:
        return df
    add = cust[[c for c in cust.columns if c == "customer_id" or c not in df.columns]]
    if add.shape[1] == 1:
        return df
    return df.merge(add, on="customer_id", how="left", validate="many_to_one")


def driver_frame(data: SalesData, driver: str) -> pd.DataFrame:
    """The rows of one driver, with the columns rules may use.

    Parameters
    ----------
    data
        The dataset.
    driver
        ``leads``, ``activities``, ``deals`` or ``redemptions``.

    Returns
    -------
    pandas.DataFrame
        The driver table's own columns plus ``month`` (integer calendar month of the
        row's date), ``action_at`` (the date the action happened: lead created,
        activity occurred, deal closed if won else created, redemption occurred), and
        the customer's ``store_id``, ``region``, ``segment``, ``source_channel``
        where the table lacks them. ``redemptions`` also has ``value = qty * unit_cost``.
        Activities keep their own ``channel`` (onsite, phone, ...); deals get
        ``source_channel`` of their customer.
    """
    if driver not in DRIVERS:
        raise ValueError(f"unknown driver {driver!r}; drivers: {', '.join(DRIVERS)}")
    data.require(DRIVERS[driver], analysis=f"cost allocation to {driver}")
    table = DRIVERS[driver]
    date_col, key = {
        "leads": (("created_at",), "lead_id"),
        "activities": (("occurred_at",), "activity_id"),
        "deals": (("created_at", "closed_at"), "deal_id"),
        "redemptions": (("occurred_at",), "movement_id"),
    }[driver]
    src = data[table]
    need = {
        "leads": ("lead_id", "channel", "created_at"),
        "activities": ("activity_id", "customer_id", "occurred_at"),
        "deals": ("deal_id", "customer_id", "outcome", "created_at", "closed_at"),
        "redemptions": (
            "movement_id",
            "kind",
            "customer_id",
            "store_id",
            "qty",
            "unit_cost",
            "occurred_at",
        ),
    }[driver]
    require_columns(src, table, need, f"cost allocation to {driver}")
    for col in date_col:
        require_dates(src, table, col, key)
    cust = _customer_attrs(data)
    if driver == "leads":
        df = data.leads.copy()
        df["action_at"] = df["created_at"]
    elif driver == "activities":
        df = data.activities.copy()
        df["action_at"] = df["occurred_at"]
    elif driver == "deals":
        df = data.deals.copy()
        won = (df["outcome"] == "won").to_numpy() & df["closed_at"].notna().to_numpy()
        df["action_at"] = df["created_at"].where(~won, df["closed_at"])
    else:
        mm = data.material_movements
        keep = (mm["kind"] == "redeem").to_numpy() & mm["customer_id"].notna().to_numpy()
        df = mm.loc[keep].copy()
        df["value"] = df["qty"].astype("float64") * df["unit_cost"].astype("float64")
        df["action_at"] = df["occurred_at"]
    df = _join_customer(df, cust)
    df["month"] = _month(df["action_at"])
    return df.reset_index(drop=True)


# ---------------------------------------------------------------------- result
@dataclass
class Allocation:
    """Result of :func:`allocate_costs`.

    Attributes
    ----------
    lines
        One row per (cost line, driver row) pair: ``cost_id, category, month
        (Period), rule, driver, driver_id, amount, customer_id, lead_id, deal_id,
        activity_id, store_id, channel, action_at``. ``channel`` is the acquisition
        channel the action counts toward (the customer's ``source_channel``; for a lead
        without a customer, the lead's channel).
    costs
        The cost ledger with ``allocated``, ``unallocated``, ``rule`` (label of the
        rule that placed it) and ``reason`` (why it was not placed; empty if placed).
    summary
        Conservation per ``category`` and ``month``: ``incurred, allocated,
        unallocated, allocated_share``.
    unallocated
        Unallocated amount per ``category`` and ``reason`` (with line counts).
    rules
        The normalised rule set used.
    data
        The dataset allocated (kept for CAC, journeys and what-if).
    """

    lines: pd.DataFrame
    costs: pd.DataFrame
    summary: pd.DataFrame
    unallocated: pd.DataFrame
    rules: dict[str, Any]
    data: SalesData = field(repr=False)
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

    # ---------------------------------------------------------------- views
    def _view(self, key: str) -> pd.DataFrame:
        ln = self.lines[self.lines[key].notna()]
        out = ln.pivot_table(
            index=key,
            columns="category",
            values="amount",
            aggfunc="sum",
            fill_value=0.0,
            observed=True,
        )
        out.columns = [str(c) for c in out.columns]
        out.insert(0, "total", out.sum(axis=1))
        out.index.name = key
        return out.sort_values("total", ascending=False)

    def by_activity(self) -> pd.DataFrame:
        """Cost per activity: index ``activity_id``, columns ``total`` and one per category."""
        return self._view("activity_id")

    def by_deal(self) -> pd.DataFrame:
        """Cost per deal (its activities, direct links, the lead that opened it)."""
        return self._view("deal_id")

    def by_customer(self) -> pd.DataFrame:
        """Cost per customer (its leads, activities, deals and redemptions to it)."""
        return self._view("customer_id")

    def by_store(self) -> pd.DataFrame:
        """Cost per store (of the customer each action served, or the redeeming store)."""
        return self._view("store_id")

    def by_channel(self) -> pd.DataFrame:
        """Cost per acquisition channel."""
        return self._view("channel")

    def cost_path(self, deal_id: str) -> pd.DataFrame:
        """Which cost lines reached one deal, through which action, and why.

        Returns
        -------
        pandas.DataFrame
            One row per (cost line, action): ``cost_id, category, incurred_at,
            line_amount, rule, driver, driver_id, action_at, amount`` (the part of
            the line this deal received), sorted by ``action_at``.
        """
        ln = self.lines[self.lines["deal_id"] == deal_id]
        if ln.empty and "deals" in self.data and not (self.data.deals["deal_id"] == deal_id).any():
            raise KeyError(f"deal {deal_id!r} is not in the deals table")
        c = self.costs.set_index("cost_id")
        out = ln[["cost_id", "category", "rule", "driver", "driver_id", "action_at", "amount"]]
        out = out.assign(
            incurred_at=out["cost_id"].map(c["incurred_at"]),
            line_amount=out["cost_id"].map(c["amount"]),
        )
        cols = [
            "cost_id",
            "category",
            "incurred_at",
            "line_amount",
            "rule",
            "driver",
            "driver_id",
            "action_at",
            "amount",
        ]
        return out[cols].sort_values(["action_at", "cost_id"]).reset_index(drop=True)

    @property
    def total_incurred(self) -> float:
        """Sum of the cost ledger."""
        return float(self.costs["amount"].sum())

    @property
    def total_allocated(self) -> float:
        """Sum allocated to actions."""
        return float(self.costs["allocated"].sum())

    def check_conservation(self, rtol: float = 1e-9) -> None:
        """Raise ``AssertionError`` unless allocated + unallocated == incurred everywhere."""
        s = self.summary
        gap = (s["allocated"] + s["unallocated"] - s["incurred"]).abs()
        tol = rtol * np.maximum(s["incurred"].abs(), 1.0)
        if (gap > tol).any():
            bad = s[gap > tol].head()
            raise AssertionError(f"allocation does not conserve cost:\n{bad}")
        per_line = self.lines.groupby("cost_id", observed=True)["amount"].sum()
        alloc = self.costs.set_index("cost_id")["allocated"]
        diff = (per_line.reindex(alloc.index, fill_value=0.0) - alloc).abs()
        if (diff > rtol * np.maximum(alloc.abs(), 1.0)).any():
            raise AssertionError("allocation lines do not add up to the allocated amount")

    def _repr_html_(self) -> str:
        inc, al = self.total_incurred, self.total_allocated
        share = al / inc if inc else float("nan")
        by_cat = (
            self.summary.groupby("category", observed=True)[
                ["incurred", "allocated", "unallocated"]
            ]
            .sum()
            .round(0)
        )
        head = (
            f"{len(self.costs):,} cost lines, {inc:,.0f} incurred, {al:,.0f} allocated "
            f"({share:.1%}) to {len(self.lines):,} action shares"
        )
        reasons = ""
        if len(self.unallocated):
            reasons = "<p>Unallocated, by reason:</p>" + self.unallocated.round(2).to_html(
                index=False
            )
        return f"<div><b>Allocation</b>: {html.escape(head)}{by_cat.to_html()}{reasons}</div>"

    def __repr__(self) -> str:
        return (
            f"Allocation({len(self.costs):,} cost lines, {self.total_allocated:,.0f} of "
            f"{self.total_incurred:,.0f} allocated, {len(self.lines):,} lines)"
        )


# ---------------------------------------------------------------------- the algorithm
_ATTRS = ("customer_id", "lead_id", "deal_id", "activity_id", "store_id")
_DRIVER_ID = {
    "leads": "lead_id",
    "activities": "activity_id",
    "deals": "deal_id",
    "redemptions": "movement_id",
}


def _check_cols(expr: Expr | None, df: pd.DataFrame, rule: _Rule, what: str, table: str) -> None:
    if expr is None:
        return
    try:
        expr.check_columns(df.columns, table=table)
    except ExpressionError as e:
        raise RuleError(f"{rule.label}: {what}: {e}") from None


def allocate_costs(data: SalesData, rules: str | Path | dict[str, Any] | None = None) -> Allocation:
    """Bind every cost line to the sales actions that consumed it.

    Parameters
    ----------
    data
        A dataset with a ``costs`` table; the driver tables the rules name
        (leads, activities, deals, material_movements) are used when present,
        and ``customers`` supplies each action's store, region and source channel.
    rules
        ``None`` (the default rules shipped in ``default_rules.yaml``), a path to a
        YAML rule file, or a dict; see :func:`load_rules`.

    Returns
    -------
    Allocation
        Lines, per-cost-line status, conservation summary, unallocated reasons, views.

    Raises
    ------
    MissingTableError
        If ``costs`` is absent.
    RuleError
        If a rule is malformed or names a column its table does not have.

    Notes
    -----
    Each cost line takes the first rule of its category that applies to it (its
    ``when`` holds and every scope key is present on the line) and finds driver
    rows with positive weight in its scope; the line is split over those rows in
    proportion to the weights. Vectorised: one merge per rule, no loop over lines.
    """
    data.require("costs", analysis="cost allocation")
    rule_set = load_rules(rules)
    compiled = _compile_rules(rule_set)
    costs = data.costs.reset_index(drop=True)
    require_columns(
        costs, "costs", ("cost_id", "category", "amount", "incurred_at"), "cost allocation"
    )
    require_dates(costs, "costs", "incurred_at", "cost_id")
    require_amounts(costs, "costs", "amount", "cost_id")
    n = len(costs)
    cost_month = _month(costs["incurred_at"])
    cview = costs.assign(month=cost_month, _cidx=np.arange(n))

    pending = np.ones(n, dtype=bool)
    reason = np.full(n, "no_rule", dtype=object)
    rule_of = np.full(n, "", dtype=object)
    allocated = np.zeros(n, dtype="float64")

    drivers: dict[str, pd.DataFrame] = {}
    parts: list[tuple[np.ndarray, str, np.ndarray, np.ndarray, str]] = []
    cat = costs["category"].to_numpy(dtype=object)
    reason[~np.isin(cat, list(COST_CATEGORIES))] = "unknown_category"

    for rule in compiled:
        in_cat = pending & (cat == rule.category)
        if not in_cat.any():
            continue
        # Cost lines this rule applies to.
        sub = cview.loc[in_cat]
        if rule.when is not None:
            _check_cols(rule.when, sub, rule, "when", "costs")
            sub = sub.loc[rule.when.mask(sub, table="costs").to_numpy()]
        missing_key = [k for k in rule.scope if k not in sub.columns]
        if missing_key:
            raise RuleError(
                f"{rule.label}: scope key(s) {missing_key} are not columns of the cost ledger "
                f"(it has: {', '.join(map(str, costs.columns))}, month)"
            )
        if len(rule.scope):
            has_keys = np.ones(len(sub), dtype=bool)
            for k in rule.scope:
                col = sub[k]
                has_keys &= col.notna().to_numpy() & (
                    col.to_numpy() != -1 if k == "month" else True
                )
            idx_nokey = sub["_cidx"].to_numpy()[~has_keys]
            reason[idx_nokey] = np.where(
                reason[idx_nokey] == "no_rule", "no_scope", reason[idx_nokey]
            )
            sub = sub.loc[has_keys]
        if sub.empty:
            continue
        table = DRIVERS[rule.driver]
        if table not in data:
            reason[sub["_cidx"].to_numpy()] = "no_table"
            continue
        if rule.driver not in drivers:
            drivers[rule.driver] = driver_frame(data, rule.driver)
        dv = drivers[rule.driver]
        for k in rule.scope:
            if k not in dv.columns:
                raise RuleError(
                    f"{rule.label}: scope key {k!r} is not a column of driver {rule.driver!r} "
                    f"(it has: {', '.join(map(str, dv.columns))})"
                )
        _check_cols(rule.filter, dv, rule, "filter", rule.driver)
        _check_cols(rule.weight, dv, rule, "weight", rule.driver)
        keep = np.ones(len(dv), dtype=bool)
        if rule.filter is not None:
            keep &= rule.filter.mask(dv, table=rule.driver).to_numpy()
        if rule.weight is not None:
            w = pd.to_numeric(rule.weight.evaluate(dv, table=rule.driver), errors="coerce")
            w = w.to_numpy(dtype="float64", na_value=np.nan)
        else:
            w = np.ones(len(dv))
        keep &= np.isfinite(w) & (w > 0)
        d = dv.loc[keep, list(rule.scope)].assign(_w=w[keep], _drow=np.flatnonzero(keep))
        for k in rule.scope:
            if k != "month":
                d = d.loc[d[k].notna()]
        if rule.scope:
            d["_share"] = d["_w"] / d.groupby(list(rule.scope), sort=False)["_w"].transform("sum")
            m = sub[["_cidx", "amount", *rule.scope]].merge(
                d[[*rule.scope, "_drow", "_share"]], on=list(rule.scope), how="inner"
            )
        else:
            d["_share"] = d["_w"] / d["_w"].sum() if len(d) else d["_w"]
            m = sub[["_cidx", "amount"]].merge(d[["_drow", "_share"]], how="cross")
        cidx = m["_cidx"].to_numpy()
        amt = m["amount"].to_numpy(dtype="float64") * m["_share"].to_numpy(dtype="float64")
        placed = np.unique(cidx)
        not_placed = np.setdiff1d(sub["_cidx"].to_numpy(), placed)
        reason[not_placed] = "no_driver"
        pending[placed] = False
        reason[placed] = ""
        rule_of[placed] = rule.label
        allocated += np.bincount(cidx, weights=amt, minlength=n)
        parts.append((cidx, rule.driver, m["_drow"].to_numpy(), amt, rule.label))

    lines = _build_lines(costs, cost_month, parts, drivers, data)
    amounts = costs["amount"].to_numpy(dtype="float64")
    # Lines fully placed carry the exact amount (no rounding residue) in the ledger view.
    allocated = np.where(pending, 0.0, allocated)
    residual = amounts - allocated
    # a placed line's residual is float rounding of the shares, not unallocated money
    residual = np.where(np.abs(residual) <= 1e-9 * np.maximum(np.abs(amounts), 1.0), 0.0, residual)
    unalloc = np.where(pending, amounts, residual)
    reason_txt = np.where(pending, pd.Series(reason).map(REASONS).fillna("").to_numpy(), "")
    ledger = costs.assign(
        allocated=allocated,
        unallocated=unalloc,
        rule=rule_of.astype(str),
        reason=reason_txt.astype(str),
    )
    ledger_m = ledger.assign(month=costs["incurred_at"].dt.to_period("M"))
    summary = (
        ledger_m.groupby(["category", "month"], observed=True, sort=True)[
            ["amount", "allocated", "unallocated"]
        ]
        .sum()
        .rename(columns={"amount": "incurred"})
        .reset_index()
    )
    summary["allocated_share"] = summary["allocated"] / summary["incurred"].where(
        summary["incurred"] != 0
    )
    un = ledger.loc[pending]
    unallocated = (
        un.groupby(["category", "reason"], observed=True)["amount"]
        .agg(amount="sum", lines="size")
        .reset_index()
        .sort_values("amount", ascending=False)
        .reset_index(drop=True)
    )
    return Allocation(lines, ledger, summary, unallocated, rule_set, data)


def _build_lines(
    costs: pd.DataFrame,
    cost_month: pd.Series,
    parts: list[tuple[np.ndarray, str, np.ndarray, np.ndarray, str]],
    drivers: dict[str, pd.DataFrame],
    data: SalesData,
) -> pd.DataFrame:
    cols = [
        "cost_id",
        "category",
        "month",
        "rule",
        "driver",
        "driver_id",
        "amount",
        *_ATTRS,
        "channel",
        "action_at",
    ]
    if not parts:
        out = pd.DataFrame({c: pd.Series(dtype="str") for c in cols})
        out["amount"] = out["amount"].astype("float64")
        out["action_at"] = pd.Series(dtype="datetime64[us]")
        return out
    # Per-driver attribute tables (customer, lead, deal, activity, store, channel, date).
    attrs: dict[str, pd.DataFrame] = {}
    lead_deal = None
    if "deals" in data and "lead_id" in data.deals:
        dd = data.deals[data.deals["lead_id"].notna()].sort_values("created_at")
        lead_deal = dd.drop_duplicates("lead_id").set_index("lead_id")["deal_id"]
    act_customer_channel = None
    cust = _customer_attrs(data)
    if cust is not None and "source_channel" in cust:
        act_customer_channel = cust.set_index("customer_id")["source_channel"]
    for name, dv in drivers.items():
        a = pd.DataFrame(index=dv.index)
        a["driver_id"] = dv[_DRIVER_ID[name]].astype("str")
        for c in _ATTRS:
            a[c] = dv[c].astype("str") if c in dv else pd.Series(pd.NA, index=dv.index, dtype="str")
        if name == "leads" and lead_deal is not None:
            a["deal_id"] = dv["lead_id"].map(lead_deal).astype("str")
        if name == "redemptions":
            a["store_id"] = dv["store_id"].astype("str")
        ch = pd.Series(np.nan, index=dv.index, dtype="str")
        if act_customer_channel is not None and "customer_id" in dv:
            ch = dv["customer_id"].map(act_customer_channel).astype("str")
        if name == "leads":
            ch = ch.where(ch.notna(), dv["channel"].astype("str"))
        a["channel"] = ch
        a["action_at"] = dv["action_at"]
        attrs[name] = a
    frames = []
    cost_ids = pd.Index(costs["cost_id"].astype("str"))
    unique_ids = cost_ids.is_unique
    cat_codes = pd.Categorical(costs["category"].astype("str"))
    month_codes = pd.Categorical(costs["incurred_at"].dt.to_period("M"))
    for cidx, driver, drow, amt, label in parts:
        a = attrs[driver].iloc[drow].reset_index(drop=True)
        if unique_ids:
            cid = pd.Categorical.from_codes(cidx, categories=cost_ids)
        else:
            cid = cost_ids.to_numpy()[cidx]
        f = pd.DataFrame(
            {
                "cost_id": cid,
                "category": pd.Categorical.from_codes(
                    cat_codes.codes[cidx], categories=cat_codes.categories
                ),
                "month": pd.Categorical.from_codes(
                    month_codes.codes[cidx], categories=month_codes.categories
                ),
                "rule": label,
                "driver": driver,
                "amount": amt,
            }
        )
        frames.append(pd.concat([f, a], axis=1))
    out = pd.concat(frames, ignore_index=True)
    for c in ("cost_id", "category", "month", "rule", "driver", "channel", "store_id"):
        out[c] = out[c].astype("category")
    return out[cols]
