"""The simulator's opt-in impact switches (issue 14): staggered go-live, KPI seasonality."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from salesml.simulator import SimulationConfig, Truth, simulate
from salesml.simulator.config import PRESETS


@pytest.fixture(scope="module")
def staggered():
    return simulate(preset="tiny", seed=2, staggered_go_live=True, kpi_seasonality=True)


def test_off_by_default_and_invisible_in_the_configuration() -> None:
    cfg = PRESETS["demo"]
    assert not cfg.staggered_go_live and not cfg.kpi_seasonality
    assert "staggered_go_live" not in cfg.to_dict()  # shipped expected-CAC keys unchanged
    on = SimulationConfig(staggered_go_live=True).to_dict()
    assert on["staggered_go_live"] is True
    assert SimulationConfig(**on) == SimulationConfig(staggered_go_live=True)


def test_default_output_is_the_same_as_without_the_switches(demo_data) -> None:
    data, truth = demo_data
    again, _ = simulate(preset="demo", seed=0, staggered_go_live=False, kpi_seasonality=False)
    assert again.fingerprint() == data.fingerprint()
    assert truth.region_go_live == {} and truth.kpi_season == {}


def test_regions_go_live_in_turn_and_truth_records_it(staggered, tmp_path) -> None:
    data, truth = staggered
    dates = [pd.Timestamp(d) for d in truth.region_go_live.values()]
    assert len(dates) == 5 and dates == sorted(dates) and len(set(dates)) == 5
    start, end = data.deals["created_at"].min(), truth.end
    assert all(start < d < end for d in dates)
    assert truth.kpi_season["holiday"] > 0
    back = Truth.load(truth.save(tmp_path / "truth"))
    assert back.region_go_live == truth.region_go_live and back.kpi_season == truth.kpi_season


def test_each_region_improves_from_its_own_date(staggered) -> None:
    data, truth = staggered
    ce = data.collab_events
    req = ce[ce["kind"] == "request"].set_index("event_id")["occurred_at"]
    resp = ce[(ce["kind"] == "response") & ce["request_id"].notna()]
    asked = resp["request_id"].map(req)
    hours = (resp["occurred_at"] - asked) / pd.Timedelta(hours=1)
    region = resp["deal_id"].map(
        data.deals.set_index("deal_id")["customer_id"].map(
            data.customers.set_index("customer_id")["region"]
        )
    )
    names = list(truth.region_go_live)
    first, last = names[0], names[-1]
    g_first = pd.Timestamp(truth.region_go_live[first])
    g_last = pd.Timestamp(truth.region_go_live[last])
    between = (asked >= g_first) & (asked < g_last)
    # between the first and the last go-live (outside the New Year weeks), the first
    # region is live and the last one is not
    cny = (asked >= "2026-02-10") & (asked <= "2026-03-19")
    m = between & ~cny
    ratio = np.exp(
        np.log(hours[m & (region == first)]).mean() - np.log(hours[m & (region == last)]).mean()
    )
    assert ratio < 0.85  # planted: x0.7 (skills differ by region, so not exact)


def test_seasonality_slows_responses_around_new_year() -> None:
    # one go-live (2026-05-01), New Year 2026-02-17 well before it
    data, _ = simulate(preset="demo", seed=2, kpi_seasonality=True)
    ce = data.collab_events
    req = ce[ce["kind"] == "request"].set_index("event_id")["occurred_at"]
    resp = ce[(ce["kind"] == "response") & ce["request_id"].notna()]
    asked = resp["request_id"].map(req)
    hours = (resp["occurred_at"] - asked) / pd.Timedelta(hours=1)
    off = (asked - pd.Timestamp("2026-02-17")).dt.days
    holiday = (off >= -7) & (off <= 10)
    near = ((off > 30) & (off <= 60)) | ((off < -7) & (off >= -37))
    ratio = np.exp(np.log(hours[holiday]).mean() - np.log(hours[near]).mean())
    assert 1.4 < ratio < 1.8  # planted x1.6


@pytest.fixture(scope="module")
def flat():
    return simulate(preset="demo", seed=0, flat_touches=True)


def test_flat_touches_is_opt_in_and_changes_only_what_follows_the_touches(demo_data, flat) -> None:
    assert not PRESETS["demo"].flat_touches
    assert "flat_touches" not in PRESETS["demo"].to_dict()
    data, _ = demo_data
    on, _ = flat
    # the steps before the activities draw the same (the touches have their own stream)
    for table in ("leads", "customers", "deals", "stage_history", "collab_events", "quotes"):
        pd.testing.assert_frame_equal(on[table], data[table], check_like=True)
    assert len(on.activities) != len(data.activities)


def test_flat_touches_arrive_at_one_rate_times_the_planted_change(flat) -> None:
    """The exact target: touches per open deal-day x1.12 from the go-live, whatever the mix."""
    from salesml.impact.kpis import kpi_events

    data, truth = flat
    ev, _, end = kpi_events(data, "touches_per_deal_day")
    gl = pd.Timestamp(truth.go_live)
    before, after = ev[ev["t"] < gl], ev[ev["t"] >= gl]
    rate_b = (before["num"].sum()) / before["den"].sum()
    rate_a = (after["num"].sum()) / after["den"].sum()
    # Poisson counts of ~25,000 and ~13,000 touches: the ratio is within 3% of 1.12
    assert after["num"].sum() > 10_000
    assert rate_a / rate_b == pytest.approx(1 + truth.kpi_effects["daily_touches"], rel=0.03)
    # weakly and strongly engaged deals are touched alike (the default ties it to engagement)
    d = data.deals.set_index("deal_id")
    n = data.activities["deal_id"].value_counts()
    days = (d["closed_at"].fillna(end) - d["created_at"]) / pd.Timedelta(days=1)
    per_day = (n.reindex(d.index, fill_value=0) / days.clip(lower=1.0))[days > 20]
    won = d.loc[per_day.index, "outcome"] == "won"
    assert per_day[won].mean() == pytest.approx(per_day[~won].mean(), rel=0.15)


def test_its_recovers_the_exact_touch_target_on_one_seed(flat) -> None:
    from salesml.impact import impact

    data, truth = flat
    row = impact(data, go_live=truth.go_live, kpis=["touches_per_deal_day"]).row(
        "touches_per_deal_day"
    )
    planted = truth.kpi_effects["daily_touches"]
    assert row["status"] == "ok" and row["significant"]
    assert row["rel_low"] <= planted <= row["rel_high"]
