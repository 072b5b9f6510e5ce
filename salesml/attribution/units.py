"""Acquisition units: one row per customer and per unconverted lead, with its costs.

Definitions (the same as the simulator's planted truth):

- a customer is **acquired** when its first deal is won (the earliest ``closed_at``
  of its won deals);
- its **acquisition cost** is the allocated cost of every action tied to it — its
  leads, activities, deals and redemptions to it — dated at or before the
  acquisition (all of it if it was never acquired);
- leads that never became customers count toward their lead channel.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from salesml.attribution.allocation import Allocation
from salesml.periods import PeriodLike, as_period

__all__ = [
    "CYCLE_BANDS",
    "DIMENSIONS",
    "MARKETING_CATEGORIES",
    "MIN_ACQUIRED_FOR_INTERVAL",
    "NOT_ACQUIRED",
    "UNKNOWN_CHANNEL",
    "VISIT_BANDS",
    "acquisition_units",
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
#: Channel of a customer or lead whose source channel is missing (kept, not dropped).
UNKNOWN_CHANNEL = "unknown_channel"
#: Band of the units not acquired (its cost is shown, its CAC is undefined).
NOT_ACQUIRED = "not_acquired"
#: Groups with fewer acquired customers (ROI: fewer units) get no interval: a bootstrap
#: of one or two customers says nothing about precision.
MIN_ACQUIRED_FOR_INTERVAL = 3
#: The per-unit cost sums of :func:`acquisition_units`, in its column order.
_COST_COLUMNS = ("acquisition_cost", "marketing_cost", "cost", "marketing_cost_all")
#: Cost categories that are channel budget (scaled by ``what_if(budget_shift=...)``).
MARKETING_CATEGORIES: tuple[str, ...] = (
    "media",
    "events",
    "content",
    "community_referral",
    "channel_fees",
)


def _band(values: np.ndarray, bands: Sequence[tuple[str, float]]) -> np.ndarray:
    edges = np.array([b[1] for b in bands], dtype="float64")
    labels = np.array([b[0] for b in bands], dtype=object)
    idx = np.searchsorted(edges, values, side="right") - 1
    return labels[np.clip(idx, 0, len(labels) - 1)]


def _positions(ids: pd.Series, pos: pd.Series) -> np.ndarray:
    """Per row, ``pos`` of its id (``-1`` for a missing or unknown id); a ``category``
    column is looked up once per category, not once per row."""
    if isinstance(ids.dtype, pd.CategoricalDtype):
        cats = pd.Index(ids.cat.categories.astype("str"))
        at = pd.Index(pos.index).get_indexer(cats)
        by_cat = np.where(at >= 0, pos.to_numpy()[np.maximum(at, 0)] if len(pos) else -1, -1)
        codes = ids.cat.codes.to_numpy()
        return np.where(codes >= 0, by_cat[np.maximum(codes, 0)] if len(by_cat) else -1, -1)
    got = ids.astype("str").map(pos).to_numpy(dtype="float64", na_value=np.nan)
    return np.where(np.isnan(got), -1, got).astype("int64")


def acquisition_units(allocation: Allocation, *, period: PeriodLike = None) -> pd.DataFrame:
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
    acq_np = units["acquired_at"].to_numpy()
    n = len(units)
    # The cost up to acquisition does not depend on the period: made once per allocation.
    pre_key = ("units_before_acquisition",)
    if pre_key not in cache:
        cache[pre_key] = allocation.compact.unit_costs(
            pos, set(MARKETING_CATEGORIES), acq_np, None, in_period=False
        )
    sums = dict(cache[pre_key])
    sums.update(
        allocation.compact.unit_costs(
            pos, set(MARKETING_CATEGORIES), acq_np, bounds, before_acquisition=False
        )
    )
    for col in _COST_COLUMNS:
        units[col] = sums[col]

    # Visits at or before acquisition (all visits if never acquired).
    if "activities" in data:
        act = data.activities
        visit = (act["kind"] == "visit").to_numpy()
        vp = _positions(act["customer_id"], pos)[visit]
        okv = vp >= 0
        vpi = vp[okv]
        va = acq_np[vpi]
        counted = pd.isna(va) | (act["occurred_at"].to_numpy()[visit][okv] <= va)
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
