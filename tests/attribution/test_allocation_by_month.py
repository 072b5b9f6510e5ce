"""Cost allocation month by month from a month-partitioned folder equals the whole-table one."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from salesml.attribution import allocate_costs
from salesml.attribution.allocation import RuleError, allocate_costs_by_month, default_rules
from salesml.data.errors import DatasetError
from salesml.data.io import load_dataset, save_dataset


@pytest.fixture(scope="module")
def demo_month(tmp_path_factory):
    """The tiny simulation, one sample cost line moved to the month after its activity."""
    from salesml.simulator import simulate

    data, _ = simulate(preset="tiny", seed=4, n_customers=80, n_deals=100, n_reps=6, months=6)
    costs = data.costs.copy()
    linked = np.flatnonzero(costs["activity_id"].notna().to_numpy())
    assert len(linked) > 3
    costs.loc[linked[0], "incurred_at"] = costs.loc[linked[0], "incurred_at"] + pd.Timedelta(
        days=40
    )
    data.tables["costs"] = costs
    root = tmp_path_factory.mktemp("by_month")
    return save_dataset(data, root / "month", partition="month"), save_dataset(data, root / "one")


@pytest.fixture(scope="module")
def by_month(demo_month):
    return allocate_costs_by_month(demo_month[0])


def _line_key(df: pd.DataFrame) -> pd.DataFrame:
    out = df[["cost_id", "rule", "driver", "driver_id", "amount"]].astype(
        {"cost_id": "str", "rule": "str", "driver": "str", "driver_id": "str"}
    )
    return out.sort_values(["cost_id", "driver", "driver_id"], kind="stable").reset_index(drop=True)


def test_month_by_month_equals_whole_table(demo_month, by_month):
    folder, _ = demo_month
    data = load_dataset(folder, progress=False)
    whole = allocate_costs(data)
    got = by_month
    assert len(got.months) >= 6 and got.months == sorted(got.months)
    # the ledger: same rows, order, amounts (exactly), rules and reasons
    cols = ["cost_id", "amount", "allocated", "unallocated", "rule", "reason"]
    exp = whole.table[cols].astype({"cost_id": "str", "rule": "str", "reason": "str"})
    pd.testing.assert_frame_equal(got.table[cols].astype({"cost_id": "str"}), exp, check_exact=True)
    assert (got.table["allocated"] > 0).mean() > 0.5
    # the lines: the same (cost line, driver row, amount) triples, bit for bit
    pd.testing.assert_frame_equal(_line_key(got.lines), _line_key(whole.lines), check_exact=True)
    assert len(got.lines) == len(whole.compact)
    ids = got.table["cost_id"].astype("str").to_numpy()
    assert (ids[got.lines["cost_row"].to_numpy()] == got.lines["cost_id"].to_numpy()).all()
    # conservation per category and month
    key = ["category", "month"]
    m_exp = whole.monthly.sort_values(key).reset_index(drop=True)
    m_got = got.monthly.sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(m_got, m_exp)
    np.testing.assert_allclose(
        got.monthly["allocated"] + got.monthly["unallocated"], got.monthly["incurred"]
    )


def test_linked_activity_in_another_month(demo_month, by_month):
    """A cost line naming an activity of an earlier month still reaches it."""
    folder, _ = demo_month
    data = load_dataset(folder, progress=False)
    costs = data.costs
    acts = data.activities.set_index("activity_id")["occurred_at"]
    linked = costs[costs["activity_id"].notna()]
    month_of = linked["activity_id"].map(acts).dt.to_period("M")
    cross = linked[month_of.to_numpy() != linked["incurred_at"].dt.to_period("M").to_numpy()]
    assert len(cross), "the demo has no cost linked across months to test with"
    got = by_month
    lines = got.lines[got.lines["cost_id"].isin(cross["cost_id"].astype("str"))]
    hit = lines[lines["driver"] == "activities"]
    assert set(hit["driver_id"]) == set(cross["activity_id"].astype("str"))
    assert (hit["amount"] > 0).all()


def test_rules_spanning_months_refused(demo_month):
    folder, single = demo_month
    rules = default_rules()
    rules["categories"]["tools"][0]["scope"] = ["rep_id"]
    with pytest.raises(RuleError, match=r"tools\[0\].*spans months"):
        allocate_costs_by_month(folder, rules=rules)
    with pytest.raises(DatasetError, match="not month-partitioned"):
        allocate_costs_by_month(single)


@pytest.fixture(scope="module")
def kept(demo_month):
    return allocate_costs_by_month(demo_month[0], keep_activities=True)


def test_lines_compact_until_asked(demo_month):
    got = allocate_costs_by_month(demo_month[0])
    assert got._lines is None and len(got) > 0  # nothing built yet
    assert len(got.lines) == len(got) and got._lines is not None
    assert got.data is not None and "activities" not in got.data


def test_allocation_for_cac_equals_whole(demo_month, kept):
    """CAC from the month-by-month allocation: the same units, lines and CAC, exactly."""
    from salesml.attribution import acquisition_units, cac

    whole = allocate_costs(load_dataset(demo_month[0], progress=False))
    al = kept.allocation()
    pd.testing.assert_frame_equal(al.lines, whole.lines, check_exact=True, check_categorical=False)
    for period in (None, "2025-Q3"):
        u_got = acquisition_units(al, period=period)
        u_exp = acquisition_units(whole, period=period)
        pd.testing.assert_frame_equal(u_got, u_exp, check_exact=True, check_categorical=False)
        assert u_got["acquisition_cost"].sum() > 0
    c_got = cac(al, by="all", n_boot=50, seed=3).table
    c_exp = cac(whole, by="all", n_boot=50, seed=3).table
    pd.testing.assert_frame_equal(c_got, c_exp, check_exact=True, check_categorical=False)
