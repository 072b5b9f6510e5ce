"""Tests of CAC, ROI and what-if against the simulator's planted truth."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from salesml.attribution import NOT_ACQUIRED, acquisition_units, cac, default_rules, roi, what_if


@pytest.fixture(scope="module")
def by_channel(demo_allocation) -> pd.DataFrame:
    return cac(demo_allocation, n_boot=400).table.set_index("channel")


def test_channel_cac_matches_truth(demo, by_channel) -> None:
    _, truth = demo
    t = truth.channel_cac
    est = by_channel.reindex(t.index)
    # acquisitions are counted exactly; CAC within 5% of the planted truth
    np.testing.assert_array_equal(est["acquired"].to_numpy(), t["acquired_customers"].to_numpy())
    rel = (est["cac"] / t["cac"] - 1).abs()
    assert (rel < 0.05).all(), rel
    # the 95% interval covers the truth on this seed for every channel
    assert ((est["cac_low"] <= t["cac"]) & (t["cac"] <= est["cac_high"])).all()


def test_customer_acquisition_cost_close_to_truth(demo, demo_allocation) -> None:
    _, truth = demo
    u = acquisition_units(demo_allocation)
    cu = u[u["unit_kind"] == "customer"].set_index("unit_id")["acquisition_cost"]
    tc = truth.customer_acquisition_cost.reindex(cu.index)
    assert abs(cu.sum() / tc.sum() - 1) < 0.02
    assert np.corrcoef(cu.to_numpy(), tc.to_numpy())[0, 1] > 0.95


def test_interval_columns(by_channel) -> None:
    c = by_channel
    assert (c["cac_low"] <= c["cac"]).all() and (c["cac"] <= c["cac_high"]).all()
    np.testing.assert_allclose(
        c["rel_precision"], (c["cac_high"] - c["cac_low"]) / 2 / c["cac"], rtol=1e-12
    )
    assert (c["rel_precision"] > 0).all() and (c["rel_precision"] < 1).all()


def test_bootstrap_is_seeded(demo_allocation) -> None:
    a = cac(demo_allocation, n_boot=200, seed=3).table
    b = cac(demo_allocation, n_boot=200, seed=3).table
    c = cac(demo_allocation, n_boot=200, seed=4).table
    pd.testing.assert_frame_equal(a, b)
    assert not np.allclose(a["cac_low"], c["cac_low"])
    np.testing.assert_allclose(a["cac"], c["cac"])


def test_bands_and_all_dimensions(demo_allocation, by_channel) -> None:
    vb = cac(demo_allocation, by="visit_band", n_boot=100).table
    cb = cac(demo_allocation, by="cycle_band", n_boot=100).table
    al = cac(demo_allocation, by="all", n_boot=100).table
    total = by_channel["acquired"].sum()
    for t in (vb, cb, al):
        assert t["acquired"].sum() == total
        assert t["units"].sum() == by_channel["units"].sum()
    assert {"channel", "visit_band", "cycle_band"} <= set(al.columns)
    na = cb[cb["cycle_band"] == NOT_ACQUIRED].iloc[0]
    assert na["acquired"] == 0 and np.isnan(na["cac"])
    # the channel CAC carries the never-acquired pool, so it exceeds the acquired-only cost
    acq_cost = cb.loc[cb["cycle_band"] != NOT_ACQUIRED, "acquisition_cost"].sum()
    assert by_channel["acquisition_cost"].sum() == pytest.approx(acq_cost + na["acquisition_cost"])
    with pytest.raises(ValueError, match="dimensions"):
        cac(demo_allocation, by="region")


def test_period_acquisitions_add_up(demo_allocation, by_channel) -> None:
    u = acquisition_units(demo_allocation)
    months = u.loc[u["acquired"], "acquired_at"].dt.to_period("M").unique()
    total = sum(
        cac(demo_allocation, period=str(m), n_boot=20).table["acquired"].sum() for m in months[:3]
    )
    expect = u["acquired_at"].dt.to_period("M").isin(months[:3]).sum()
    assert total == expect


def test_roi(demo, demo_allocation) -> None:
    data, _ = demo
    r = roi(demo_allocation, n_boot=200).table.set_index("channel")
    won = data.deals[data.deals["outcome"] == "won"]["amount"].sum()
    assert r["revenue"].sum() == pytest.approx(won)
    assert r["cost"].sum() == pytest.approx(demo_allocation.lines["amount"].sum(), rel=1e-6)
    assert ((r["roi_low"] <= r["roi"]) & (r["roi"] <= r["roi_high"])).all()


def test_what_if(demo_allocation, by_channel) -> None:
    base = what_if(demo_allocation, n_boot=400)
    np.testing.assert_allclose(base.table["cac"], by_channel["cac"].to_numpy())
    # constant returns: CAC unchanged when a channel's budget grows
    w = what_if(demo_allocation, budget_shift={"wechat": 1.5}, elasticity=1.0, n_boot=400)
    np.testing.assert_allclose(w.table["cac"], w.table["cac_base"])
    # no response at all: the extra spend lands fully on the same customers
    w = what_if(demo_allocation, budget_shift={"wechat": 2.0}, elasticity=0.0, n_boot=400)
    c = w.table.set_index("channel")
    u = acquisition_units(demo_allocation)
    mk = u[u["channel"] == "wechat"]["marketing_cost"].sum()
    # doubling the marketing budget adds exactly the channel's marketing cost once more
    assert c.loc["wechat", "cac"] == pytest.approx(
        (by_channel.loc["wechat", "acquisition_cost"] + mk) / by_channel.loc["wechat", "acquired"]
    )
    others = c.drop(index="wechat")
    np.testing.assert_allclose(others["cac"], others["cac_base"])
    with pytest.raises(ValueError, match="unknown channel"):
        what_if(demo_allocation, budget_shift={"carrier_pigeon": 2.0})


def test_what_if_with_rules(demo_allocation) -> None:
    rules = default_rules()
    rules["categories"]["travel"] = []
    w = what_if(demo_allocation, rules=rules, n_boot=50)
    base = cac(demo_allocation, n_boot=50).table
    assert (w.table["cac"].to_numpy() < base["cac"].to_numpy()).all()


@pytest.mark.slow
def test_interval_coverage_over_seeds() -> None:
    """95% intervals cover each channel's expected (long-run) CAC near nominally over 50 seeds.

    The bootstrap interval targets the channel's long-run CAC (``truth.channel_expected_cac``,
    from the simulator's parameters), not the CAC one run realised: against the realised figure
    coverage is trivially 100%, which is what this test used to check. Over 50 demo seeds and
    7 channels (350 intervals) coverage must be near the nominal 95%: within [0.90, 0.98].
    """
    from salesml.attribution import allocate_costs
    from salesml.simulator import simulate

    hits = total = 0
    for seed in range(1, 51):
        data, truth = simulate(preset="demo", seed=seed)
        c = cac(allocate_costs(data), n_boot=300, seed=seed).table.set_index("channel")
        expected = truth.channel_expected_cac["cac"]
        est = c.reindex(expected.index)
        hits += int(((est["cac_low"] <= expected) & (expected <= est["cac_high"])).sum())
        total += len(expected)
        realised = truth.channel_cac["cac"].reindex(expected.index)
        assert ((est["cac"] / realised - 1).abs() < 0.05).all()
    assert total == 350
    assert 0.90 <= hits / total <= 0.98
