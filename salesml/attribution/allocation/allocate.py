"""Activity-based cost allocation: :func:`allocate_costs`.

Each cost line takes the first rule of its category that applies to it (its ``when``
holds and every scope key is present on the line) and finds driver rows with positive
weight in its scope; the line is split over those rows in proportion to the weights.
Vectorised and streamed: per rule, the scope keys are turned into integer group codes
(dictionary-encoded against the cost lines' own keys); what is kept per rule is its
scope groups (:class:`~salesml.attribution.allocation.lines.Part`: cost lines, driver
rows, shares), from which the (cost line, driver row) pairs are produced in blocks of
cost lines by repeat/gather, never as a string merge. Conservation holds by construction
and is checked: per category and month, ``allocated + unallocated == incurred``.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from salesml.attribution._checks import require_amounts, require_columns, require_dates
from salesml.attribution.allocation.drivers import DRIVER_ID as DRIVER_ID_OF
from salesml.attribution.allocation.drivers import DRIVERS, driver_view, month_index
from salesml.attribution.allocation.lines import LINE_ATTRS, AllocationLines, Part
from salesml.attribution.allocation.result import Allocation
from salesml.attribution.allocation.rules import (
    Rule,
    RuleError,
    RulesLike,
    compile_rules,
    load_rules,
)
from salesml.data.bundle import SalesData
from salesml.data.schema import COST_CATEGORIES
from salesml.filters import FilterLike, FilterSpec
from salesml.i18n import money
from salesml.periods import PeriodLike, as_period
from salesml.results import Note
from salesml.rules.expr import Expr, ExpressionError

__all__ = ["allocate_costs"]


def _check_cols(
    expr: Expr | None, columns: Iterable[str], rule: Rule, what: str, table: str
) -> None:
    if expr is None:
        return
    try:
        expr.check_columns(columns, table=table)
    except ExpressionError as e:
        raise RuleError(f"{rule.label}: {what}: {e}") from None


def allocate_costs(
    data: SalesData,
    *,
    period: PeriodLike = None,
    as_of: str | pd.Timestamp | None = None,
    filters: FilterLike = None,
    rules: RulesLike = None,
) -> Allocation:
    """Bind every cost line to the sales actions that consumed it.

    Parameters
    ----------
    data
        A dataset with a ``costs`` table; the driver tables the rules name
        (leads, activities, deals, material_movements) are used when present,
        and ``customers`` supplies each action's store, region and source channel.
    period
        The period the result's summary, unallocated cost and findings describe (the
        allocation itself covers the whole ledger: a customer acquired in the period
        carries cost from before it). :func:`~salesml.attribution.cac` and
        :func:`~salesml.attribution.roi` use it when they are given no period.
    as_of
        Allocate what was known at this instant (``data.as_of(as_of)``).
    filters
        Which cost lines to allocate, on the ledger's columns (``category``,
        ``channel``, ``store_id``, ``rep_id``, ``amount``...); the lines left out are
        counted in the result's notes.
    rules
        ``None`` (the default rules shipped in ``default_rules.yaml``), a path to a
        YAML rule file, or a dict; see :func:`~salesml.attribution.load_rules`.

    Returns
    -------
    Allocation
        Ledger with status, lines, conservation per month, unallocated reasons, views.

    Raises
    ------
    MissingTableError
        If ``costs`` is absent.
    RuleError
        If a rule is malformed or names a column its table does not have.
    ValueError
        A bad cost line (named by table, column and ``cost_id``), or a filter on a column
        the ledger does not have.
    """
    p = as_period(period)
    spec = FilterSpec.parse(filters)
    ts = None if as_of is None else pd.Timestamp(as_of)
    if ts is not None:
        data = data.as_of(ts)
    data.require("costs", analysis="cost allocation")
    rule_set = load_rules(rules)
    compiled = compile_rules(rule_set)
    costs = data.costs.reset_index(drop=True)
    require_columns(
        costs, "costs", ("cost_id", "category", "amount", "incurred_at"), "cost allocation"
    )
    require_dates(costs, "costs", "incurred_at", "cost_id")
    require_amounts(costs, "costs", "amount", "cost_id")
    notes: list[Note] = []
    if spec:
        keep = spec.mask(costs, table="costs")
        if not keep.all():
            left = costs.loc[~keep, "amount"].sum()
            notes.append(
                Note(
                    "attribution.note.cost_filter",
                    (
                        ("n", f"{int((~keep).sum()):,}"),
                        ("amount", money(left, data.config.currency)),
                    ),
                )
            )
        costs = costs.loc[keep].reset_index(drop=True)
    n = len(costs)
    cost_month = month_index(costs["incurred_at"])
    cview = costs.assign(month=cost_month, _cidx=np.arange(n))

    pending = np.ones(n, dtype=bool)
    reason = np.full(n, "no_rule", dtype=object)
    rule_of = np.full(n, "", dtype=object)
    allocated = np.zeros(n, dtype="float64")

    drivers: dict[str, pd.DataFrame] = {}
    driver_cols: dict[str, list[str]] = {}
    wanted = _wanted_columns(compiled)
    parts: list[Part] = []
    cat = costs["category"].to_numpy(dtype=object)
    reason[~np.isin(cat, list(COST_CATEGORIES))] = "unknown_category"

    for rule in compiled:
        in_cat = pending & (cat == rule.category)
        if not in_cat.any():
            continue
        # Cost lines this rule applies to.
        sub = cview.loc[in_cat]
        if rule.when is not None:
            _check_cols(rule.when, sub.columns, rule, "when", "costs")
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
            drivers[rule.driver], driver_cols[rule.driver] = driver_view(
                data, rule.driver, wanted[rule.driver]
            )
        dv = drivers[rule.driver]
        for k in rule.scope:
            if k not in driver_cols[rule.driver]:
                raise RuleError(
                    f"{rule.label}: scope key {k!r} is not a column of driver {rule.driver!r} "
                    f"(it has: {', '.join(driver_cols[rule.driver])})"
                )
        _check_cols(rule.filter, driver_cols[rule.driver], rule, "filter", rule.driver)
        _check_cols(rule.weight, driver_cols[rule.driver], rule, "weight", rule.driver)
        keep = np.ones(len(dv), dtype=bool)
        if rule.filter is not None:
            keep &= rule.filter.mask(dv, table=rule.driver).to_numpy()
        if rule.weight is not None:
            w = pd.to_numeric(rule.weight.evaluate(dv, table=rule.driver), errors="coerce")
            w = w.to_numpy(dtype="float64", na_value=np.nan)
        else:
            w = np.ones(len(dv))
        keep &= np.isfinite(w) & (w > 0)
        part = _place(sub, dv, rule.scope, keep, w, driver=rule.driver, label=rule.label)
        placed = part.placed()
        not_placed = np.setdiff1d(sub["_cidx"].to_numpy(), placed)
        reason[not_placed] = "no_driver"
        pending[placed] = False
        reason[placed] = ""
        rule_of[placed] = rule.label
        allocated += part.allocated(n)
        parts.append(part)
        del part, keep, w

    lines = AllocationLines(costs, parts, drivers, data)
    amounts = costs["amount"].to_numpy(dtype="float64")
    # Lines fully placed carry the exact amount (no rounding residue) in the ledger view.
    allocated = np.where(pending, 0.0, allocated)
    residual = amounts - allocated
    # a placed line's residual is float rounding of the shares, not unallocated money
    residual = np.where(np.abs(residual) <= 1e-9 * np.maximum(np.abs(amounts), 1.0), 0.0, residual)
    unalloc = np.where(pending, amounts, residual)
    reason_txt = np.where(pending, reason, "")
    ledger = costs.assign(
        allocated=allocated,
        unallocated=unalloc,
        rule=rule_of.astype(str),
        reason=reason_txt.astype(str),
    )
    monthly = (
        ledger.assign(month=costs["incurred_at"].dt.to_period("M"))
        .groupby(["category", "month"], observed=True, sort=True)[
            ["amount", "allocated", "unallocated"]
        ]
        .sum()
        .rename(columns={"amount": "incurred"})
        .reset_index()
    )
    monthly["allocated_share"] = monthly["allocated"] / monthly["incurred"].where(
        monthly["incurred"] != 0
    )
    return Allocation(
        table=ledger,
        compact=lines,
        monthly=monthly,
        rules=rule_set,
        data=data,
        currency=data.config.currency,
        period=p,
        as_of=ts,
        filters=spec,
        notes=notes,
    )


def _wanted_columns(compiled: list[Rule]) -> dict[str, set[str]]:
    """Per driver, the columns the rules and the allocation lines read."""
    out: dict[str, set[str]] = {}
    for rule in compiled:
        cols = out.setdefault(
            rule.driver,
            {*LINE_ATTRS, "action_at", "month", "channel", DRIVER_ID_OF[rule.driver]},
        )
        cols.update(rule.scope)
        for e in (rule.filter, rule.weight):
            if e is not None:
                cols.update(e.columns)
    return out


def _group_codes(
    sub: pd.DataFrame, d: pd.DataFrame, scope: tuple[str, ...]
) -> tuple[np.ndarray, np.ndarray, int]:
    """Integer codes of the scope-key tuples of cost lines (``sub``) and driver rows (``d``).

    Codes are dictionary-encoded against the cost lines' keys; a driver row whose tuple
    no cost line has gets ``-1``.
    """
    gc = np.zeros(len(sub), dtype="int64")
    gd = np.zeros(len(d), dtype="int64")
    ng = 1
    for k in scope:
        uniq = pd.Index(pd.unique(sub[k]))
        cc = uniq.get_indexer(sub[k]).astype("int64")
        # look up only the driver rows whose key a cost line has (isin runs on the
        # Arrow strings; a 31M-row id column is never turned into Python objects)
        dk = d[k]
        hit = dk.isin(uniq).to_numpy()
        cd = np.full(len(d), -1, dtype="int64")
        if hit.any():
            cd[hit] = uniq.get_indexer(dk[hit])
        gc = gc * len(uniq) + cc
        gd = np.where((gd < 0) | (cd < 0), -1, gd * len(uniq) + cd)
        # re-number the combined codes so the next key cannot overflow
        codes, uniq_g = pd.factorize(gc)
        gc = codes.astype("int64")
        gd = np.where(gd < 0, -1, pd.Index(uniq_g).get_indexer(gd))
        ng = len(uniq_g)
    return gc, gd, ng


def _place(
    sub: pd.DataFrame,
    dv: pd.DataFrame,
    scope: tuple[str, ...],
    keep: np.ndarray,
    w: np.ndarray,
    *,
    driver: str,
    label: str,
) -> Part:
    """The placements of one rule, as its scope groups (:class:`Part`).

    Its lines are the same pairs, in the same order and with the same floating-point
    values, as an inner merge of the cost lines with the kept driver rows on the scope
    keys (a cross join without scope), each line's amount times the row's share of its
    scope group's weight.
    """
    drows = np.flatnonzero(keep)
    wk = w[keep]
    d = dv.loc[keep, list(scope)].reset_index(drop=True) if scope else None
    if scope:
        ok = np.ones(len(drows), dtype=bool)
        for k in scope:
            if k != "month":
                ok &= d[k].notna().to_numpy()
        drows, wk, d = drows[ok], wk[ok], d.loc[ok].reset_index(drop=True)
        gc, gd, ng = _group_codes(sub, d, scope)
        m = gd >= 0
        drows, wk, gd = drows[m], wk[m], gd[m]
        # each row's share of its group's weight (the same sums as a groupby on the keys)
        share = wk / pd.Series(wk).groupby(gd, sort=False).transform("sum").to_numpy()
    else:
        gc = np.zeros(len(sub), dtype="int64")
        gd = np.zeros(len(drows), dtype="int64")
        ng = 1
        wsum = pd.Series(wk).sum()
        share = wk / wsum if len(wk) else wk
    order = np.argsort(gd, kind="stable")
    counts = np.bincount(gd, minlength=ng)
    return Part(
        cost=sub["_cidx"].to_numpy().astype("int32"),
        group=gc.astype("int32") if ng < 2**31 else gc,
        start=np.cumsum(counts) - counts,
        count=counts,
        rows=drows[order].astype("int32"),
        share=share[order],
        amount=sub["amount"].to_numpy(dtype="float64"),
        driver=driver,
        label=label,
    )
