"""Customer acquisition cost (CAC) and ROI with bootstrap intervals, overall and what-if.

**CAC** of a group = acquisition cost of all the group's customers and unconverted
leads / customers acquired in the group (the units and their costs are defined in
:mod:`salesml.attribution.units`). **ROI** = won revenue of the group's customers /
every cost allocated to its customers and unconverted leads. Intervals come from a
Poisson bootstrap that resamples units within each group
(:mod:`salesml.attribution.bootstrap`); ``rel_precision`` is the half-width over the
estimate. Every function takes a dataset (allocated here with ``rules``) or an
:class:`~salesml.attribution.Allocation`, and returns a result object.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from salesml.attribution.allocation import Allocation, RulesLike, allocate_costs, load_rules
from salesml.attribution.allocation.by_month import allocate_dataset
from salesml.attribution.bootstrap import boot_sums, estimate_table, ratio
from salesml.attribution.estimates import (
    MONEY_COLUMNS,
    CacResult,
    OverallCac,
    RoiResult,
    WhatIfResult,
    group_label,
    readable_table,
)
from salesml.attribution.units import DIMENSIONS, MIN_ACQUIRED_FOR_INTERVAL, acquisition_units
from salesml.data.bundle import SalesData
from salesml.filters import FilterLike, FilterSpec
from salesml.periods import Period, PeriodLike, as_period

__all__ = [
    "MONEY_COLUMNS",
    "CacResult",
    "DataOrAllocation",
    "OverallCac",
    "RoiResult",
    "WhatIfResult",
    "as_allocation",
    "cac",
    "group_label",
    "overall_cac",
    "readable_table",
    "roi",
    "what_if",
]

#: Filter names that stand for a unit column.
_RENAMES = {"source_channel": "channel", "customer_region": "region"}

#: What the analyses take: a dataset, an allocation, or a dataset folder (allocated month by
#: month when month-partitioned, see :func:`~salesml.attribution.allocation.by_month.
#: allocate_dataset`).
DataOrAllocation = SalesData | Allocation | str | Path


# ---------------------------------------------------------------------- input
def as_allocation(
    source: DataOrAllocation,
    *,
    rules: RulesLike,
    as_of: str | pd.Timestamp | None,
    client: Any = None,
) -> Allocation:
    """The allocation to compute from: ``source`` itself, or allocated (once, cached).

    A dataset is allocated with ``rules`` as of ``as_of``; a dataset folder month by month
    when its costs and activities are month-partitioned (without ``as_of``; see
    :func:`~salesml.attribution.allocation.by_month.allocate_dataset`), else loaded and
    allocated; an allocation is used as it is, or re-allocated under other ``rules``
    (cached on it per rule set; month by month again when it was made so). An
    allocation made as of another instant is refused (its data is already cut).
    ``client`` runs a month-by-month allocation's months (see
    :func:`~salesml.attribution.allocate_costs_by_month`).
    """
    ts = None if as_of is None else pd.Timestamp(as_of)
    if isinstance(source, SalesData):
        return allocate_costs(source, rules=rules, as_of=ts)
    if isinstance(source, str | Path):
        if ts is None:
            return allocate_dataset(source, rules=rules, client=client)
        from salesml.data.io import load_dataset

        return allocate_costs(load_dataset(source, progress=False), rules=rules, as_of=ts)
    if not isinstance(source, Allocation):
        raise TypeError(
            "expected a dataset (SalesData), its folder or allocate_costs(data), got "
            f"{type(source).__name__}"
        )
    if ts is not None and ts != source.as_of:
        raise ValueError(
            f"this allocation was made as of {source.as_of}; to compute as of {ts:%Y-%m-%d}, "
            "pass the dataset, or allocate_costs(data, as_of=...) first"
        )
    if rules is None:
        return source
    norm = load_rules(rules)
    key = ("realloc", json.dumps(norm, sort_keys=True, default=str))
    if key not in source.memo:
        if source.folder is not None:
            again = allocate_dataset(source.folder, rules=norm, client=client)
            again = replace(again, period=source.period)
        else:
            again = allocate_costs(
                source.data, rules=norm, period=source.period, filters=source.filters
            )
        source.memo[key] = replace(again, as_of=source.as_of)
    return source.memo[key]


def _normalise_by(by: str | Sequence[str]) -> list[str]:
    cols = (list(DIMENSIONS) if by == "all" else [by]) if isinstance(by, str) else list(by)
    bad = [c for c in cols if c not in DIMENSIONS]
    if bad or not cols:
        raise ValueError(f"by must name dimensions among {DIMENSIONS} (or 'all'), got {by!r}")
    return cols


def _check_boot(n_boot: int, ci: float) -> None:
    if (
        isinstance(n_boot, bool)
        or not isinstance(n_boot, int | np.integer)
        or not 20 <= n_boot <= 100_000
    ):
        raise ValueError(f"n_boot must be a whole number from 20 to 100,000, got {n_boot!r}")
    if not 0 < ci < 1:
        raise ValueError(f"ci must be between 0 and 1, got {ci}")


def _boot_cached(
    al: Allocation,
    by: list[str],
    period: Period | None,
    n_boot: int,
    seed: int,
    spec: FilterSpec,
    client: Any,
) -> tuple[pd.DataFrame, dict[str, np.ndarray], dict[str, np.ndarray]]:
    key = ("boot", tuple(by), period, n_boot, seed, spec)  # where it ran changes no number
    cache = al.memo
    if key not in cache:
        units = acquisition_units(al, period=period)
        if spec:
            units = units[spec.renamed(_RENAMES).mask(units, table="acquisition units")]
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
        cache[key] = boot_sums(u, by, cols, n_boot=n_boot, seed=seed, client=client)
    return cache[key]


def _prepare(
    source: DataOrAllocation,
    *,
    by: str | Sequence[str],
    period: PeriodLike,
    as_of: str | pd.Timestamp | None,
    filters: FilterLike,
    rules: RulesLike,
    n_boot: int,
    seed: int,
    ci: float,
    client: Any,
) -> tuple[Allocation, list[str], Period | None, FilterSpec, tuple[Any, ...]]:
    from salesml.distributed import resolve_client

    _check_boot(n_boot, ci)
    client = resolve_client(client)
    al = as_allocation(source, rules=rules, as_of=as_of, client=client)
    cols = _normalise_by(by)
    p = as_period(period) if period is not None else al.period
    spec = FilterSpec.parse(filters)
    return al, cols, p, spec, _boot_cached(al, cols, p, int(n_boot), seed, spec, client)


# ---------------------------------------------------------------------- the analyses
def cac(
    data: DataOrAllocation,
    *,
    period: PeriodLike = None,
    as_of: str | pd.Timestamp | None = None,
    filters: FilterLike = None,
    by: str | Sequence[str] = ("channel",),
    rules: RulesLike = None,
    n_boot: int = 1000,
    seed: int = 0,
    ci: float = 0.95,
    client: Any = None,
) -> CacResult:
    """Cost per acquired customer, with bootstrap intervals.

    Parameters
    ----------
    data
        A dataset (allocated here with ``rules``), a dataset folder (allocated month by
        month when month-partitioned: :func:`~salesml.attribution.allocation.by_month.
        allocate_dataset`) or the result of :func:`~salesml.attribution.allocate_costs`
        (its unit table and bootstrap sums are cached on it).
    period
        Reporting period (default: the allocation's); acquired customers count if
        acquired in it, with their full acquisition cost; see
        :func:`~salesml.attribution.units.acquisition_units`.
    as_of
        Compute from what was known at this instant (with a dataset).
    filters
        A filter (:class:`~salesml.filters.FilterSpec` forms) on the acquisition units:
        ``channel``, ``region``, ``segment``, ``store_id`` (of the customer), ``unit_kind``,
        ``visits``... Unconverted leads have no region, segment or store, so filtering
        on those leaves them out.
    by
        ``"channel"`` (the customer's source channel), ``"visit_band"`` (visits up
        to acquisition), ``"cycle_band"`` (days from first touch to acquisition),
        a sequence of these, or ``"all"`` for the three together. By channel, the
        cost of never-acquired customers and unconverted leads is part of the
        channel's CAC; by band, those units form the ``not_acquired`` band (its cost
        is shown, its CAC is undefined) and the other bands' CAC is the acquired
        customers' own acquisition cost.
    rules
        Allocation rules (path or dict) when ``data`` is a dataset, or to re-allocate an
        allocation under other rules (cached per rule set).
    n_boot
        Bootstrap replicates (20 to 100,000).
    seed
        Seed of the bootstrap.
    ci
        Interval coverage (0.95 for a 95% interval).
    client
        A ``distributed.Client`` (or ``None``: ``$SALESML_DASK_SCHEDULER`` if set, else
        this process; see :func:`salesml.distributed.resolve_client`): the bootstrap
        replicates, and the months of a folder allocated month by month, run on it, with
        the same results (:func:`~salesml.attribution.bootstrap.boot_sums`).

    Returns
    -------
    CacResult
    """
    al, cols, p, spec, (keys, point, reps) = _prepare(
        data,
        by=by,
        period=period,
        as_of=as_of,
        filters=filters,
        rules=rules,
        n_boot=n_boot,
        seed=seed,
        ci=ci,
        client=client,
    )
    return CacResult(
        table=_cac_table(keys, point, reps, ci),
        period=p,
        as_of=al.as_of,
        filters=spec,
        by=tuple(cols),
        ci=ci,
        n_boot=int(n_boot),
        currency=al.currency,
    )


def roi(
    data: DataOrAllocation,
    *,
    period: PeriodLike = None,
    as_of: str | pd.Timestamp | None = None,
    filters: FilterLike = None,
    by: str | Sequence[str] = ("channel",),
    rules: RulesLike = None,
    n_boot: int = 1000,
    seed: int = 0,
    ci: float = 0.95,
    client: Any = None,
) -> RoiResult:
    """Attributed revenue (won amount) over allocated cost, with bootstrap intervals.

    Parameters
    ----------
    data, period, as_of, filters, by, rules, n_boot, seed, ci, client
        As in :func:`cac`. Revenue is the won amount of the group's customers (deals
        won in the period); cost is every cost allocated to the group's customers and
        unconverted leads for actions in the period (not only the part up to
        acquisition).

    Returns
    -------
    RoiResult
    """
    al, cols, p, spec, (keys, point, reps) = _prepare(
        data,
        by=by,
        period=period,
        as_of=as_of,
        filters=filters,
        rules=rules,
        n_boot=n_boot,
        seed=seed,
        ci=ci,
        client=client,
    )
    return RoiResult(
        table=_roi_table(keys, point, reps, ci),
        period=p,
        as_of=al.as_of,
        filters=spec,
        by=tuple(cols),
        ci=ci,
        n_boot=int(n_boot),
        currency=al.currency,
    )


def overall_cac(
    data: DataOrAllocation,
    *,
    period: PeriodLike = None,
    as_of: str | pd.Timestamp | None = None,
    filters: FilterLike = None,
    rules: RulesLike = None,
    n_boot: int = 1000,
    seed: int = 0,
    ci: float = 0.95,
    client: Any = None,
) -> OverallCac:
    """CAC and ROI of everything selected (all channels together), with intervals.

    Same definitions and bootstrap replicates as :func:`cac` by channel (the
    channel groups are resampled independently, so their replicate sums add up);
    the parameters are those of :func:`cac`.

    Returns
    -------
    OverallCac
    """
    al, _, p, spec, (keys, point, reps) = _prepare(
        data,
        by="channel",
        period=period,
        as_of=as_of,
        filters=filters,
        rules=rules,
        n_boot=n_boot,
        seed=seed,
        ci=ci,
        client=client,
    )
    pt = {k: np.array([v.sum()]) for k, v in point.items()}
    r = {k: v.sum(axis=1, keepdims=True) for k, v in reps.items()}
    k1 = pd.DataFrame({"units": [int(keys["units"].sum())]})
    c = _cac_table(k1, pt, r, ci)
    o = _roi_table(k1, pt, r, ci).drop(columns=["units", "rel_precision"])
    return OverallCac(
        table=pd.concat([c, o], axis=1),
        period=p,
        as_of=al.as_of,
        filters=spec,
        currency=al.currency,
    )


def what_if(
    data: DataOrAllocation,
    *,
    period: PeriodLike = None,
    as_of: str | pd.Timestamp | None = None,
    filters: FilterLike = None,
    budget_shift: Mapping[str, float] | None = None,
    rules: RulesLike = None,
    elasticity: float = 0.7,
    by: str | Sequence[str] = ("channel",),
    n_boot: int = 1000,
    seed: int = 0,
    ci: float = 0.95,
    client: Any = None,
) -> WhatIfResult:
    """CAC and ROI after moving channel budget or changing the allocation rules.

    Parameters
    ----------
    data
        The baseline: a dataset or an allocation. An allocation's unit table and
        bootstrap replicate sums are cached on it, so repeated calls only rescale
        arrays (milliseconds).
    period, as_of, filters, by, n_boot, seed, ci, client
        As in :func:`cac`; only groupings that include ``channel`` can be shifted.
    budget_shift
        ``{channel: factor}``: the channel's marketing budget (cost lines of
        :data:`~salesml.attribution.units.MARKETING_CATEGORIES` bound to its leads and
        customers) is multiplied by ``factor`` (``1.2`` = +20%; 0 to 100).
    rules
        A different rule set (path or dict); the allocation is recomputed once and
        cached under the rule set's content.
    elasticity
        Assumed response of acquisitions to budget (0 to 2): a channel whose budget is
        multiplied by ``f`` acquires ``f ** elasticity`` times as many customers, and
        its non-marketing cost and revenue scale the same way. ``1`` means constant
        returns; below 1, diminishing returns. An assumption to vary, not an estimate.

    Returns
    -------
    WhatIfResult
    """
    if not np.isfinite(elasticity) or not 0 <= elasticity <= 2:
        raise ValueError(f"elasticity must be from 0 to 2, got {elasticity}")
    al, cols, p, spec, (keys, point, reps) = _prepare(
        data,
        by=by,
        period=period,
        as_of=as_of,
        filters=filters,
        rules=rules,
        n_boot=n_boot,
        seed=seed,
        ci=ci,
        client=client,
    )
    shift = {str(k): float(v) for k, v in (budget_shift or {}).items()}
    if shift and "channel" not in cols:
        raise ValueError("budget_shift needs a grouping that includes 'channel'")
    known = set(keys["channel"]) if "channel" in keys else set()
    unknown = sorted(set(shift) - known)
    if unknown:
        raise ValueError(f"unknown channel(s) {unknown}; channels: {sorted(known)}")
    for ch, f in shift.items():
        if not np.isfinite(f) or not 0 <= f <= 100:
            raise ValueError(f"budget factor of {ch!r} must be from 0 to 100, got {f}")
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
    acq, cost = float(c["acquired"].sum()), float(c["acquisition_cost"].sum())
    acq0, cost0 = float(base_c["acquired"].sum()), float(base_c["acquisition_cost"].sum())
    total = pd.DataFrame(
        {
            "acquired": [acq],
            "acquisition_cost": [cost],
            "cac": [cost / acq if acq > 0 else np.nan],
            "acquired_base": [acq0],
            "cac_base": [cost0 / acq0 if acq0 > 0 else np.nan],
        }
    )
    return WhatIfResult(
        table=c,
        roi=r,
        total=total,
        budget_shift=shift,
        elasticity=float(elasticity),
        allocation=al,
        period=p,
        as_of=al.as_of,
        filters=spec,
        by=tuple(cols),
        ci=ci,
        n_boot=int(n_boot),
        currency=al.currency,
    )


# ---------------------------------------------------------------------- tables
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
    est = ratio(cost, acq)
    rc = _scaled_cost(reps, "", cost_scale)
    acquired = (
        point["acquired_n"] * k
        if acq_scale is not None
        else (point["acquired_n"].round().astype("int64"))
    )
    return estimate_table(
        keys,
        {"acquired": acquired, "acquisition_cost": cost},
        "cac",
        est,
        ratio(rc, reps["acquired_n"] * k),
        ci,
        few=point["acquired_n"] < MIN_ACQUIRED_FOR_INTERVAL,
    )


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
    est = ratio(rev, cost)
    rc = _scaled_cost(reps, "_all", cost_scale)
    return estimate_table(
        keys,
        {"revenue": rev, "cost": cost},
        "roi",
        est,
        ratio(reps["revenue"] * k, rc),
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
