"""The impact explorer's state (issue 14): controls recompute the estimate; no widgets."""

from __future__ import annotations

import pandas as pd
import pytest

from salesml.apps.impact_explorer.state import ImpactExplorerState


@pytest.fixture(scope="module")
def state(demo_data) -> ImpactExplorerState:
    data, _ = demo_data
    return ImpactExplorerState(data)


def test_starts_on_the_datasets_go_live_with_an_estimate(state, demo_data) -> None:
    _, truth = demo_data
    assert state.go_live == f"{truth.go_live:%Y-%m-%d}"
    assert state.kpi == "stage_days" and state.methods == ["its"]
    assert state.error == ""
    row = state.result.row("stage_days")
    assert row["status"] == "ok" and row["rel_low"] <= -0.15 <= row["rel_high"]


def test_each_control_recomputes(state) -> None:
    before = state.result
    state.kpi = "collab_response_hours"
    assert state.result is not before and list(state.result.table["kpi"]) == [
        "collab_response_hours"
    ]
    state.window = 26
    assert state.result.row("collab_response_hours")["n_pre"] <= 26
    state.region = state.regions[0]
    assert state.error == "" and state.result.row("collab_response_hours")["status"] == "ok"
    state.region = ""
    state.window = 0


def test_a_go_live_too_early_shows_why_without_a_number(state) -> None:
    state.kpi = "stage_days"
    state.go_live = state.go_lives[0]
    row = state.result.row("stage_days")
    assert row["status"] == "not_estimable" and pd.isna(row["rel_effect"])
    assert "too little data" in " ".join(state.result.key_findings("en"))


def test_values_not_offered_are_refused_and_the_last_result_kept(state) -> None:
    state.go_live = state.go_lives[-3]
    good = state.result
    state.window = 7  # not among the windows offered
    assert "choose a window" in state.error and state.result is good
    state.window = 0
    assert state.error == ""


def test_a_staggered_rollout_offers_did_and_sts(demo_data) -> None:
    from salesml.simulator import simulate

    data, truth = simulate(preset="tiny", seed=0, staggered_go_live=True)
    s = ImpactExplorerState(data, go_live_by_region=truth.region_go_live)
    assert s.methods == ["its", "did", "sts"]
    s.method = "did"
    assert s.error == "" and s.result.method == "did"
