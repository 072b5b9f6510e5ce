"""Customer acquisition cost (CAC) and ROI with bootstrap intervals.

Definitions (the same as the simulator's planted truth):

- a customer is **acquired** when its first deal is won (the earliest ``closed_at``
  of its won deals);
- its **acquisition cost** is the allocated cost of every action tied to it — its
  leads, activities, deals and redemptions to it — dated at or before the
  acquisition (all of it if it was never acquired);
- leads that never became customers count toward their lead channel;
- **CAC** of a group = acquisition cost of all the group's customers and
  unconverted leads / customers acquired in the group.

Intervals come from a Poisson bootstrap that resamples *units* (customers and
unconverted leads) within each group: a seeded ``(replicates x units)`` weight
matrix is multiplied into per-unit sums with numpy, in chunks, no Python loop
over units or replicates. ``rel_precision`` is the half-width over the estimate.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from salesml.attribution.allocation import Allocation

__all__ = [
    "CYCLE_BANDS",
    "DIMENSIONS",
    "FILTERS",
    "MARKETING_CATEGORIES",
    "VISIT_BANDS",
    "acquisition_units",
    "cac",
    "overall_cac",
    "roi",
    "what_if",
]

#: Grouping dimensions of :func:`cac` and :func:`roi`.
DIMENSIONS: tuple[str, ...] = ("channel", "visit_band", "cycle_band")
#: Visit-frequency bands: (label, lowest visit count).
VISIT_BANDS: tuple[tuple[str, int], ...] = (
    ("0", 0),
    ("1-2", 1),
    ("3-5", 3),
    ("6-10", 6),
    ("11+", 11),
)
#: Deal-cycle bands (days from first touch to acquisition): (label, lowest day count).
CYCLE_BANDS: tuple[tuple[str, float], ...] = (
    ("0-30d", 0),
    ("31-90d", 30.0 + 1e-9),
    ("91-180d", 90.0 + 1e-9),
    ("181d+", 180.0 + 1e-9),
)
NOT_ACQUIRED = "not acquired"
#: Groups with fewer acquired customers (ROI: fewer units) get no interval: a bootstrap
#: of one or two customers says nothing about precision.
MIN_ACQUIRED_FOR_INTERVAL = 3
#: Cost categories that are channel budget (scaled by ``what_if(budget_shift=...)``).
MARKETING_CATEGORIES: tuple[str, ...] = (
    "media",
    "events",
    "content",
    "community_referral",
    "channel_fees",
)
_PeriodLike = str | pd.Period | tuple[Any, Any] | None


def _band(values: np.ndarray, bands: Sequence[tuple[str, float]]) -> np.ndarray:
    edges = np.array([b[1] for b in bands], dtype="float64")
    labels = np.array([b[0] for b in bands], dtype=object)
    idx = np.searchsorted(edges, values, side="right") - 1
    return labels[np.clip(idx, 0, len(labels) - 1)]


def _period_bounds(period: _PeriodLike) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    """``[start, end)`` of a period: ``"2026-03"``, ``"2026-Q1"``, ``"2026-W05"``, a
    ``pandas.Period`` or a ``(start, end)`` pair (end exclusive)."""
    if period is None:
        return None
    if isinstance(period, tuple):
        return pd.Timestamp(period[0]), pd.Timestamp(period[1])
    if isinstance(period, pd.Period):
        return period.start_time, (period + 1).start_time
    try:
        from salesml.periods import parse_period
    except ImportError:  # pragma: no cover - pipeline is part of salesml
        p = pd.Period(str(period))
        return p.start_time, (p + 1).start_time
    bounds = parse_period(str(period))
    assert bounds is not None
    return bounds


#: Unit attributes :func:`cac` and :func:`roi` can filter on.
FILTERS: tuple[str, ...] = ("channel", "region", "segment", "store_id")


def _apply_filters(units: pd.DataFrame, filters: dict[str, Any] | None) -> pd.DataFrame:
    if not filters:
        return units
    bad = sorted(set(filters) - set(FILTERS))
    if bad:
        raise ValueError(f"unknown filter(s) {bad}; CAC filters on: {', '.join(FILTERS)}")
    keep = np.ones(len(units), dtype=bool)
    for k, v in filters.items():
        if v is None or v == "":
            continue
        vals = list(v) if isinstance(v, list | tuple | set) else [v]
        keep &= units[k].isin(vals).to_numpy()
    return units.loc[keep]


def acquisition_units(allocation: Allocation, *, period: _PeriodLike = None) -> pd.DataFrame:
    """One row per customer and per unconverted lead, with what CAC and ROI need.

    Parameters
    ----------
    allocation
        Result of :func:`~salesml.attribution.allocate_costs`.
    period
        Optional reporting period (``"2026-03"``, a ``pandas.Period`` or a
        ``(start, end)`` pair, end exclusive). Acquired customers count if acquired
        in it; the cost of never-acquired units counts if its action falls in it;
        revenue counts for deals won in it and cost for actions in it.

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
    key = ("units", str(period))
    cache = allocation._cache
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
            "channel": cust["source_channel"].astype("str").to_numpy(),
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
                "channel": orphan["channel"].astype("str").to_numpy(),
                "acquired_at": pd.Series(pd.NaT, index=range(len(orphan)), dtype="datetime64[us]"),
                "first_touch_at": orphan["created_at"].astype("datetime64[us]").to_numpy(),
            }
        )
    else:
        lu = cu.iloc[:0]
    units = pd.concat([cu, lu], ignore_index=True)
    units["acquired"] = units["acquired_at"].notna()
    bounds = _period_bounds(period)

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


# ---------------------------------------------------------------------- bootstrap
def _normalise_by(by: str | Sequence[str]) -> list[str]:
    cols = (list(DIMENSIONS) if by == "all" else [by]) if isinstance(by, str) else list(by)
    bad = [c for c in cols if c not in DIMENSIONS]
    if bad or not cols:
        raise ValueError(f"by must name dimensions among {DIMENSIONS} (or 'all'), got {by!r}")
    return cols


def _boot_sums(
    units: pd.DataFrame,
    by: list[str],
    columns: Sequence[str],
    *,
    n_boot: int,
    seed: int,
    chunk_cells: int = 20_000_000,
) -> tuple[pd.DataFrame, dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Group sums and Poisson-bootstrap replicate sums of ``columns`` per group.

    Returns the group keys (with ``units`` count), point sums ``{col: (G,)}`` and
    replicate sums ``{col: (n_boot, G)}``. Units are resampled within their group.
    """
    g = units.groupby(by, observed=True, sort=True).ngroup().to_numpy()
    order = np.argsort(g, kind="stable")
    gs = g[order]
    n_groups = int(gs.max()) + 1 if len(gs) else 0
    starts = np.searchsorted(gs, np.arange(n_groups))
    keys = (
        units.iloc[order][by]
        .assign(units=1)
        .groupby(by, observed=True, sort=True)
        .agg(units=("units", "size"))
        .reset_index()
    )
    vals = np.column_stack([units[c].to_numpy(dtype="float64")[order] for c in columns])
    point = {
        c: np.bincount(gs, weights=vals[:, i], minlength=n_groups) for i, c in enumerate(columns)
    }
    reps = {c: np.empty((n_boot, n_groups)) for c in columns}
    rng = np.random.default_rng(seed)
    n = len(gs)
    step = max(1, min(n_boot, chunk_cells // max(n, 1)))
    for b0 in range(0, n_boot, step):
        b1 = min(n_boot, b0 + step)
        w = rng.poisson(1.0, size=(b1 - b0, n)).astype("float32")
        for i, c in enumerate(columns):
            prod = w * vals[:, i].astype("float32")
            reps[c][b0:b1] = np.add.reduceat(prod, starts, axis=1) if n else 0.0
    return keys, point, reps


def _interval(est: np.ndarray, reps: np.ndarray, ci: float) -> tuple[np.ndarray, np.ndarray]:
    a = (1 - ci) / 2
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        lo = np.nanquantile(reps, a, axis=0)
        hi = np.nanquantile(reps, 1 - a, axis=0)
    bad = ~np.isfinite(est)
    return np.where(bad, np.nan, lo), np.where(bad, np.nan, hi)


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):
        out = num / den
    return np.where(den > 0, out, np.nan)


def _boot_cached(
    allocation: Allocation,
    by: list[str],
    period: _PeriodLike,
    n_boot: int,
    seed: int,
    filters: dict[str, Any] | None = None,
) -> tuple[pd.DataFrame, dict[str, np.ndarray], dict[str, np.ndarray]]:
    key = ("boot", tuple(by), str(period), n_boot, seed, repr(sorted((filters or {}).items())))
    cache = allocation._cache
    if key not in cache:
        units = _apply_filters(acquisition_units(allocation, period=period), filters)
        u = units.assign(
            acquired_n=units["acquired"].astype("float64"),
            other_cost=units["acquisition_cost"] - units["marketing_cost"],
            other_cost_all=units["cost"] - units["marketing_cost_all"],
        )
        cols = (
            "marketing_cost",
            "other_cost",
            "acquired_n",
            "marketing_cost_all",
            "other_cost_all",
            "revenue",
        )
        cache[key] = _boot_sums(u, by, cols, n_boot=n_boot, seed=seed)
    return cache[key]


def cac(
    allocation: Allocation,
    *,
    by: str | Sequence[str] = ("channel",),
    period: _PeriodLike = None,
    filters: dict[str, Any] | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    ci: float = 0.95,
) -> pd.DataFrame:
    """Cost per acquired customer, with bootstrap intervals.

    Parameters
    ----------
    allocation
        Result of :func:`~salesml.attribution.allocate_costs`.
    by
        ``"channel"`` (the customer's source channel), ``"visit_band"`` (visits up
        to acquisition), ``"cycle_band"`` (days from first touch to acquisition),
        a sequence of these, or ``"all"`` for the three together. By channel, the
        cost of never-acquired customers and unconverted leads is part of the
        channel's CAC (the definition above); by band, those units form the
        ``"not acquired"`` band (its cost is shown, its CAC is undefined) and the
        other bands' CAC is the acquired customers' own acquisition cost.
    period
        Optional reporting period; see :func:`acquisition_units`.
    filters
        ``{attribute: value or list}`` on ``channel``, ``region``, ``segment``,
        ``store_id`` (of the customer). Unconverted leads have no region, segment or
        store, so filtering on those leaves them out.
    n_boot
        Bootstrap replicates.
    seed
        Seed of the bootstrap.
    ci
        Interval coverage (0.95 for a 95% interval).

    Returns
    -------
    pandas.DataFrame
        One row per group: the ``by`` columns, ``units`` (customers and unconverted
        leads), ``acquired``, ``acquisition_cost``, ``cac``, ``cac_low``,
        ``cac_high``, ``rel_precision`` (half-width / cac). Groups with fewer than
        :data:`MIN_ACQUIRED_FOR_INTERVAL` acquired customers get no interval.
    """
    cols = _normalise_by(by)
    if not 0 < ci < 1:
        raise ValueError(f"ci must be between 0 and 1, got {ci}")
    keys, point, reps = _boot_cached(allocation, cols, period, n_boot, seed, filters)
    return _cac_table(keys, point, reps, ci)


def _cac_table(
    keys: pd.DataFrame,
    point: dict[str, np.ndarray],
    reps: dict[str, np.ndarray],
    ci: float,
    *,
    cost_scale: tuple[np.ndarray, np.ndarray] | None = None,
    acq_scale: np.ndarray | None = None,
) -> pd.DataFrame:
    k = acq_scale if acq_scale is not None else 1.0
    cost = _scaled_cost(point, "", cost_scale)
    acq = point["acquired_n"] * k
    est = _ratio(cost, acq)
    rc = _scaled_cost(reps, "", cost_scale)
    acquired = (
        point["acquired_n"] * k
        if acq_scale is not None
        else (point["acquired_n"].round().astype("int64"))
    )
    return _estimate_table(
        keys,
        {"acquired": acquired, "acquisition_cost": cost},
        "cac",
        est,
        _ratio(rc, reps["acquired_n"] * k),
        ci,
        few=point["acquired_n"] < MIN_ACQUIRED_FOR_INTERVAL,
    )


def roi(
    allocation: Allocation,
    *,
    by: str | Sequence[str] = ("channel",),
    period: _PeriodLike = None,
    filters: dict[str, Any] | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    ci: float = 0.95,
) -> pd.DataFrame:
    """Attributed revenue (won amount) over allocated cost, with bootstrap intervals.

    Parameters
    ----------
    allocation, by, period, filters, n_boot, seed, ci
        As in :func:`cac`. Revenue is the won amount of the group's customers;
        cost is every allocated cost of the group's customers and unconverted leads
        (not only the part up to acquisition).

    Returns
    -------
    pandas.DataFrame
        The ``by`` columns, ``units``, ``revenue``, ``cost``, ``roi``, ``roi_low``,
        ``roi_high``, ``rel_precision``.
    """
    cols = _normalise_by(by)
    keys, point, reps = _boot_cached(allocation, cols, period, n_boot, seed, filters)
    return _roi_table(keys, point, reps, ci)


def _roi_table(
    keys: pd.DataFrame,
    point: dict[str, np.ndarray],
    reps: dict[str, np.ndarray],
    ci: float,
    *,
    cost_scale: tuple[np.ndarray, np.ndarray] | None = None,
    rev_scale: np.ndarray | None = None,
) -> pd.DataFrame:
    k = rev_scale if rev_scale is not None else 1.0
    cost = _scaled_cost(point, "_all", cost_scale)
    rev = point["revenue"] * k
    est = _ratio(rev, cost)
    rc = _scaled_cost(reps, "_all", cost_scale)
    return _estimate_table(
        keys,
        {"revenue": rev, "cost": cost},
        "roi",
        est,
        _ratio(reps["revenue"] * k, rc),
        ci,
        few=keys["units"].to_numpy() < MIN_ACQUIRED_FOR_INTERVAL,
    )


def _scaled_cost(
    sums: dict[str, np.ndarray],
    suffix: str,
    cost_scale: tuple[np.ndarray, np.ndarray] | None,
) -> np.ndarray:
    """``marketing_cost<suffix>`` and ``other_cost<suffix>`` of ``sums`` added up, each
    multiplied by its factor of ``cost_scale`` (``(marketing, other)``; none: 1)."""
    fm, fo = cost_scale if cost_scale is not None else (1.0, 1.0)
    return sums[f"marketing_cost{suffix}"] * fm + sums[f"other_cost{suffix}"] * fo


def _estimate_table(
    keys: pd.DataFrame,
    columns: dict[str, Any],
    name: str,
    est: np.ndarray,
    rep_est: np.ndarray,
    ci: float,
    *,
    few: np.ndarray,
) -> pd.DataFrame:
    """``keys`` plus ``columns``, the estimate ``name`` with its bootstrap interval
    (``name_low``, ``name_high``; none where ``few``) and ``rel_precision``."""
    lo, hi = _interval(est, rep_est, ci)
    lo, hi = np.where(few, np.nan, lo), np.where(few, np.nan, hi)
    out = keys.copy()
    for col, values in columns.items():
        out[col] = values
    out[name] = est
    out[f"{name}_low"] = lo
    out[f"{name}_high"] = hi
    with np.errstate(all="ignore"):
        out["rel_precision"] = (hi - lo) / 2 / est
    return out


def what_if(
    allocation: Allocation,
    *,
    budget_shift: dict[str, float] | None = None,
    rules: Any = None,
    elasticity: float = 0.7,
    by: str | Sequence[str] = ("channel",),
    period: _PeriodLike = None,
    filters: dict[str, Any] | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    ci: float = 0.95,
) -> dict[str, pd.DataFrame]:
    """CAC and ROI after moving channel budget or changing the allocation rules.

    Parameters
    ----------
    allocation
        The baseline allocation. Its unit table and bootstrap replicate sums are
        cached on it, so repeated calls only rescale arrays (milliseconds).
    budget_shift
        ``{channel: factor}``: the channel's marketing budget (cost lines of
        :data:`MARKETING_CATEGORIES` bound to its leads and customers) is multiplied
        by ``factor`` (``1.2`` = +20%).
    rules
        A different rule set (path or dict); the allocation is recomputed once and
        cached under the rule set's content.
    elasticity
        Assumed response of acquisitions to budget: a channel whose budget is
        multiplied by ``f`` acquires ``f ** elasticity`` times as many customers, and
        its non-marketing cost and revenue scale the same way. ``1`` means constant
        returns; below 1, diminishing returns. An assumption to vary, not an estimate.
    by, period, filters, n_boot, seed, ci
        As in :func:`cac`; only groupings that include ``channel`` can be shifted.

    Returns
    -------
    dict
        ``{"cac": DataFrame, "roi": DataFrame}`` shaped like :func:`cac` / :func:`roi`,
        plus columns ``cac_base`` / ``roi_base`` and ``budget_factor``.
    """
    if rules is not None:
        allocation = _realloc(allocation, rules)
    cols = _normalise_by(by)
    keys, point, reps = _boot_cached(allocation, cols, period, n_boot, seed, filters)
    shift = dict(budget_shift or {})
    if shift and "channel" not in cols:
        raise ValueError("budget_shift needs a grouping that includes 'channel'")
    known = set(keys["channel"]) if "channel" in keys else set()
    unknown = sorted(set(shift) - known)
    if unknown:
        raise ValueError(f"unknown channel(s) {unknown}; channels: {sorted(known)}")
    for ch, f in shift.items():
        if not np.isfinite(f) or f < 0:
            raise ValueError(f"budget factor of {ch!r} must be >= 0, got {f}")
    if "channel" in keys:
        f = keys["channel"].map(shift).fillna(1.0).to_numpy(dtype="float64")
    else:
        f = np.ones(len(keys))
    k = f**elasticity
    base_c = _cac_table(keys, point, reps, ci)
    base_r = _roi_table(keys, point, reps, ci)
    c = _cac_table(keys, point, reps, ci, cost_scale=(f, k), acq_scale=k)
    r = _roi_table(keys, point, reps, ci, cost_scale=(f, k), rev_scale=k)
    c["cac_base"] = base_c["cac"].to_numpy()
    r["roi_base"] = base_r["roi"].to_numpy()
    c["budget_factor"] = f
    r["budget_factor"] = f
    return {"cac": c, "roi": r}


def _realloc(allocation: Allocation, rules: Any) -> Allocation:
    import json

    from salesml.attribution.allocation import allocate_costs, load_rules

    norm = load_rules(rules)
    key = ("realloc", json.dumps(norm, sort_keys=True, default=str))
    if key not in allocation._cache:
        allocation._cache[key] = allocate_costs(allocation.data, norm)
    return allocation._cache[key]


def overall_cac(
    allocation: Allocation,
    *,
    period: _PeriodLike = None,
    filters: dict[str, Any] | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    ci: float = 0.95,
) -> pd.Series:
    """CAC and ROI of everything selected (all channels together), with intervals.

    Same definitions and bootstrap replicates as :func:`cac` by channel (the
    channel groups are resampled independently, so their replicate sums add up).

    Returns
    -------
    pandas.Series
        ``units, acquired, acquisition_cost, cac, cac_low, cac_high, rel_precision,
        revenue, cost, roi, roi_low, roi_high``.
    """
    keys, point, reps = _boot_cached(allocation, ["channel"], period, n_boot, seed, filters)
    p = {k: np.array([v.sum()]) for k, v in point.items()}
    r = {k: v.sum(axis=1, keepdims=True) for k, v in reps.items()}
    k1 = pd.DataFrame({"units": [int(keys["units"].sum())]})
    c = _cac_table(k1, p, r, ci).iloc[0]
    o = _roi_table(k1, p, r, ci).iloc[0]
    return pd.concat([c, o.drop(["units", "rel_precision"])])
