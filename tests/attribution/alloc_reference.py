"""The cost allocation as it was before the streaming rewrite (salesml 9224a3f), kept verbatim
as the reference the equality tests compare :func:`salesml.attribution.allocate_costs` with.

Only the return value differs: ``(ledger, lines, monthly)`` instead of an ``Allocation``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from salesml.attribution._checks import require_amounts, require_columns, require_dates
from salesml.attribution.allocation.drivers import DRIVER_ID, DRIVERS, customer_attrs, month_index
from salesml.attribution.allocation.rules import (
    Rule,
    RuleError,
    RulesLike,
    compile_rules,
    load_rules,
)
from salesml.attribution.units import (
    CYCLE_BANDS,
    MARKETING_CATEGORIES,
    NOT_ACQUIRED,
    UNKNOWN_CHANNEL,
    VISIT_BANDS,
    _band,
)
from salesml.data.bundle import SalesData
from salesml.data.schema import COST_CATEGORIES
from salesml.filters import FilterLike, FilterSpec
from salesml.i18n import money
from salesml.periods import PeriodLike, as_period
from salesml.results import Note
from salesml.rules.expr import Expr, ExpressionError

__all__ = ["reference_allocation", "reference_units"]

_ATTRS = ("customer_id", "lead_id", "deal_id", "activity_id", "store_id")


def _check_cols(expr: Expr | None, df: pd.DataFrame, rule: Rule, what: str, table: str) -> None:
    if expr is None:
        return
    try:
        expr.check_columns(df.columns, table=table)
    except ExpressionError as e:
        raise RuleError(f"{rule.label}: {what}: {e}") from None


def reference_allocation(
    data: SalesData,
    *,
    period: PeriodLike = None,
    as_of: str | pd.Timestamp | None = None,
    filters: FilterLike = None,
    rules: RulesLike = None,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
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
    as_period(period)
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
    return ledger, lines, monthly


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
    cust = customer_attrs(data)
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
    df["month"] = month_index(df["action_at"])
    return df.reset_index(drop=True)


def reference_units(allocation: Any, *, period: PeriodLike = None) -> pd.DataFrame:
    """One row per customer and per unconverted lead, with what CAC and ROI need.

    Parameters
    ----------
    allocation
        Result of :func:`~salesml.attribution.allocate_costs`.
    period
        Optional reporting period (any form :class:`~salesml.periods.Period` reads).
        Acquired customers count if acquired in it; the cost of never-acquired units
        counts if its action falls in it; revenue counts for deals won in it and cost
        for actions in it.

    Returns
    -------
    pandas.DataFrame
        Columns ``unit_id, unit_kind (customer/lead), channel, region, segment,
        store_id (of the customer; missing for leads), acquired (bool),
        acquired_at, first_touch_at, visits, cycle_days, visit_band, cycle_band,
        acquisition_cost, marketing_cost (part of acquisition_cost from
        MARKETING_CATEGORIES), cost (all allocated cost), marketing_cost_all,
        revenue (won amount)``.
    """
    p = as_period(period)
    key = ("units", p)
    cache = allocation.memo
    if key in cache:
        return cache[key]
    data = allocation.data
    data.require("customers", "deals", analysis="CAC")
    ccols = [
        c
        for c in ("customer_id", "source_channel", "created_at", "region", "segment", "store_id")
        if c in data.customers
    ]
    cust = data.customers[ccols].drop_duplicates("customer_id")
    deals = data.deals
    won = deals[(deals["outcome"] == "won") & deals["closed_at"].notna()]
    acq_at = won.groupby("customer_id", observed=True)["closed_at"].min()
    lines = allocation.lines
    # Customer units.
    cu = pd.DataFrame(
        {
            "unit_id": cust["customer_id"].astype("str").to_numpy(),
            "unit_kind": "customer",
            "channel": cust["source_channel"].astype("str").fillna(UNKNOWN_CHANNEL).to_numpy(),
        }
    )
    for c in ("region", "segment", "store_id"):
        cu[c] = cust[c].astype("str").to_numpy() if c in cust else pd.NA
    cu["acquired_at"] = cu["unit_id"].map(acq_at).astype("datetime64[us]")
    first = cust.set_index("customer_id")["created_at"]
    if "leads" in data:
        ld = data.leads
        lf = ld[ld["customer_id"].notna()].groupby("customer_id", observed=True)["created_at"].min()
        first = pd.concat([first, lf], axis=1).min(axis=1)
    cu["first_touch_at"] = cu["unit_id"].map(first).astype("datetime64[us]")
    # Lead units: unconverted leads (no customer).
    if "leads" in data:
        ld = data.leads
        orphan = ld[ld["customer_id"].isna()]
        lu = pd.DataFrame(
            {
                "unit_id": orphan["lead_id"].astype("str").to_numpy(),
                "unit_kind": "lead",
                "channel": orphan["channel"].astype("str").fillna(UNKNOWN_CHANNEL).to_numpy(),
                "acquired_at": pd.Series(pd.NaT, index=range(len(orphan)), dtype="datetime64[us]"),
                "first_touch_at": orphan["created_at"].astype("datetime64[us]").to_numpy(),
            }
        )
    else:
        lu = cu.iloc[:0]
    units = pd.concat([cu, lu], ignore_index=True)
    units["acquired"] = units["acquired_at"].notna()
    bounds = p.bounds if p is not None else None

    # Costs per unit: map each line to its unit row.
    pos = pd.Series(np.arange(len(units)), index=units["unit_id"].to_numpy())
    pos = pos[~pos.index.duplicated()]
    ln_unit = lines["customer_id"].astype("str").map(pos)
    lead_pos = lines["lead_id"].astype("str").map(pos)
    is_lead_line = lines["customer_id"].isna().to_numpy()
    upos = np.where(
        is_lead_line,
        lead_pos.to_numpy(dtype="float64", na_value=np.nan),
        ln_unit.to_numpy(dtype="float64", na_value=np.nan),
    )
    ok = ~np.isnan(upos)
    upos_i = upos[ok].astype("int64")
    amt = lines["amount"].to_numpy(dtype="float64")[ok]
    at = lines["action_at"].to_numpy()[ok]
    mkt = lines["category"].astype("str").isin(MARKETING_CATEGORIES).to_numpy()[ok]
    acq_np = units["acquired_at"].to_numpy()
    u_acq = acq_np[upos_i]
    pre = pd.isna(u_acq) | (at <= u_acq)
    in_period = np.ones(len(at), dtype=bool)
    if bounds is not None:
        in_period = (at >= np.datetime64(bounds[0])) & (at < np.datetime64(bounds[1]))
    n = len(units)

    def total(mask: np.ndarray) -> np.ndarray:
        return np.bincount(upos_i[mask], weights=amt[mask], minlength=n)

    units["acquisition_cost"] = total(pre)
    units["marketing_cost"] = total(pre & mkt)
    units["cost"] = total(in_period)
    units["marketing_cost_all"] = total(in_period & mkt)

    # Visits at or before acquisition (all visits if never acquired).
    if "activities" in data:
        act = data.activities
        v = act[act["kind"] == "visit"][["customer_id", "occurred_at"]]
        vp = v["customer_id"].astype("str").map(pos).to_numpy(dtype="float64", na_value=np.nan)
        okv = ~np.isnan(vp)
        vpi = vp[okv].astype("int64")
        va = acq_np[vpi]
        counted = pd.isna(va) | (v["occurred_at"].to_numpy()[okv] <= va)
        units["visits"] = np.bincount(vpi[counted], minlength=n)
    else:
        units["visits"] = 0
    cyc = (units["acquired_at"] - units["first_touch_at"]).dt.total_seconds() / 86400.0
    units["cycle_days"] = cyc.clip(lower=0)
    acquired = units["acquired"].to_numpy()
    vb = _band(units["visits"].to_numpy(dtype="float64"), VISIT_BANDS)
    cb = _band(units["cycle_days"].fillna(0).to_numpy(dtype="float64"), CYCLE_BANDS)
    units["visit_band"] = pd.Categorical(
        np.where(acquired, vb, NOT_ACQUIRED),
        categories=[*(b[0] for b in VISIT_BANDS), NOT_ACQUIRED],
        ordered=True,
    )
    units["cycle_band"] = pd.Categorical(
        np.where(acquired, cb, NOT_ACQUIRED),
        categories=[*(b[0] for b in CYCLE_BANDS), NOT_ACQUIRED],
        ordered=True,
    )
    # Revenue: won amounts of each customer's deals.
    wd = won
    if bounds is not None:
        wd = won[(won["closed_at"] >= bounds[0]) & (won["closed_at"] < bounds[1])]
    rev = wd.groupby("customer_id", observed=True)["amount"].sum()
    units["revenue"] = units["unit_id"].map(rev).fillna(0.0).to_numpy(dtype="float64")
    if bounds is not None:
        acq_in = (
            units["acquired"]
            & (units["acquired_at"] >= bounds[0])
            & (units["acquired_at"] < bounds[1])
        )
        # Acquired in the period: full acquisition cost; never acquired: cost in the period;
        # acquired in another period: nothing.
        never = ~units["acquired"]
        for col, alt in (("acquisition_cost", "cost"), ("marketing_cost", "marketing_cost_all")):
            units[col] = np.where(acq_in, units[col], np.where(never, units[alt], 0.0))
        units["acquired"] = acq_in
        for col in ("visit_band", "cycle_band"):
            units[col] = units[col].where(acq_in | never, NOT_ACQUIRED)
    units = units[
        [
            "unit_id",
            "unit_kind",
            "channel",
            "region",
            "segment",
            "store_id",
            "acquired",
            "acquired_at",
            "first_touch_at",
            "visits",
            "cycle_days",
            "visit_band",
            "cycle_band",
            "acquisition_cost",
            "marketing_cost",
            "cost",
            "marketing_cost_all",
            "revenue",
        ]
    ]
    cache[key] = units
    return units
