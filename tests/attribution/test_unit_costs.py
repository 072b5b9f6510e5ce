"""The per-unit costs of acquisition_units are the allocation lines summed in line order.

``acquisition_units`` sums the lines part by part, from each rule's scope groups, cut to
the rows a sum takes (:meth:`AllocationLines.unit_costs`); these tests sum the public
``Allocation.lines`` frame with one ``bincount`` per column instead, and ask for the same
floating-point values, bit for bit.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from salesml.attribution import acquisition_units
from salesml.attribution.units import MARKETING_CATEGORIES
from salesml.periods import Period


def _from_lines(al, period: str | None) -> dict[str, np.ndarray]:
    units = acquisition_units(al)  # whole history: the units' own columns
    pos = pd.Series(np.arange(len(units)), index=units["unit_id"].to_numpy())
    ln = al.lines
    cust = ln["customer_id"].astype("str")
    key = cust.where(cust.notna(), ln["lead_id"].astype("str"))
    u = key.map(pos).to_numpy(dtype="float64", na_value=np.nan)
    ok = ~np.isnan(u)
    ui, amt = u[ok].astype("int64"), ln["amount"].to_numpy()[ok]
    at = ln["action_at"].to_numpy()[ok]
    mkt = ln["category"].astype("str").isin(MARKETING_CATEGORIES).to_numpy()[ok]
    acq = units["acquired_at"].to_numpy()[ui]
    pre = pd.isna(acq) | (at <= acq)
    inp = np.ones(len(at), dtype=bool)
    if period is not None:
        lo, hi = Period.parse(period).bounds
        inp = (at >= np.datetime64(lo)) & (at < np.datetime64(hi))
    n = len(units)
    masks = {
        "acquisition_cost": pre,
        "marketing_cost": pre & mkt,
        "cost": inp,
        "marketing_cost_all": inp & mkt,
    }
    return {c: np.bincount(ui[m], weights=amt[m], minlength=n) for c, m in masks.items()}


@pytest.mark.parametrize("period", [None, "2025-09"])
def test_unit_costs_are_the_lines_summed_in_order(demo_allocation, period) -> None:
    exp = _from_lines(demo_allocation, period)
    # a fresh unit table: not one cached by another test
    demo_allocation.memo.clear()
    got = acquisition_units(demo_allocation, period=None)
    np.testing.assert_array_equal(got["acquisition_cost"].to_numpy(), exp["acquisition_cost"])
    np.testing.assert_array_equal(got["marketing_cost"].to_numpy(), exp["marketing_cost"])
    assert exp["acquisition_cost"].sum() > 0 and exp["marketing_cost"].sum() > 0
    if period is None:
        np.testing.assert_array_equal(got["cost"].to_numpy(), exp["cost"])
        np.testing.assert_array_equal(
            got["marketing_cost_all"].to_numpy(), exp["marketing_cost_all"]
        )
    else:
        # the period's sums, before acquisition_units applies its period rules to them
        units = acquisition_units(demo_allocation)
        pos = pd.Series(np.arange(len(units)), index=units["unit_id"].to_numpy())
        sums = demo_allocation.compact.unit_costs(
            pos,
            set(MARKETING_CATEGORIES),
            units["acquired_at"].to_numpy(),
            Period.parse(period).bounds,
            before_acquisition=False,
        )
        np.testing.assert_array_equal(sums["cost"], exp["cost"])
        np.testing.assert_array_equal(sums["marketing_cost_all"], exp["marketing_cost_all"])
        assert 0 < exp["cost"].sum() < _from_lines(demo_allocation, None)["cost"].sum()
