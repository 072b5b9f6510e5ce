"""Activity-based cost allocation: :func:`allocate_costs`.

Each cost line takes the first rule of its category that applies to it (its ``when``
holds and every scope key is present on the line) and finds driver rows with positive
weight in its scope; the line is split over those rows in proportion to the weights.
Vectorised: one merge per rule, no loop over lines. Conservation holds by construction
and is checked: per category and month, ``allocated + unallocated == incurred``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from salesml.attribution._checks import require_amounts, require_columns, require_dates
from salesml.attribution.allocation.drivers import (
    DRIVER_ID,
    DRIVERS,
    customer_attrs,
    driver_frame,
    month_index,
)
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

_ATTRS = ("customer_id", "lead_id", "deal_id", "activity_id", "store_id")


def _check_cols(expr: Expr | None, df: pd.DataFrame, rule: Rule, what: str, table: str) -> None:
    if expr is None:
        return
    try:
        expr.check_columns(df.columns, table=table)
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
        lines=lines,
        monthly=monthly,
        rules=rule_set,
        data=data,
        currency=data.config.currency,
        period=p,
        as_of=ts,
        filters=spec,
        notes=notes,
    )


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
    cust = customer_attrs(data)
    if cust is not None and "source_channel" in cust:
        act_customer_channel = cust.set_index("customer_id")["source_channel"]
    for name, dv in drivers.items():
        a = pd.DataFrame(index=dv.index)
        a["driver_id"] = dv[DRIVER_ID[name]].astype("str")
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
