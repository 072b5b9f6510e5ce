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
