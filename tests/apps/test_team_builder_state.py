"""Team builder state (no browser): selection, moves, live group summary, the view's links."""

from __future__ import annotations

import time

import numpy as np
import pytest

from salesml.apps.team_builder.state import TeamBuilderState


@pytest.fixture(scope="module")
def state(demo_data) -> TeamBuilderState:
    data, _ = demo_data
    return TeamBuilderState(data)


def test_opens_at_the_exact_placement(state: TeamBuilderState) -> None:
    assert state.group_names == ["key_accounts", "pricing"]
    placed = state.proposal.table.set_index("rep_id")["group"].to_dict()
    assert state.assignment == placed
    s = state.summary.set_index("group")
    assert (s["size"] == 4).all() and (s["capacity"] == 4).all()
    assert ((s["coverage"] >= 0) & (s["coverage"] <= 1)).all()
    assert (s["predicted_win_rate"].between(0, 1)).all()
    assert np.isfinite(s["predicted_cycle_days"]).all()


def test_selecting_a_rep_shows_its_evidence(state: TeamBuilderState) -> None:
    rep = state.reps[7]
    state.rep = rep
    ev = state.evidence
    assert list(ev["scenario"]) == ["technical", "commercial", "delivery"]
    expected = state.scores.table[state.scores.table["rep_id"] == rep]["evidence"].tolist()
    assert ev["evidence"].tolist() == expected
    assert state.move_to == state.assignment.get(rep, "")


def test_moving_a_weak_rep_in_lowers_the_group_and_is_fast(state: TeamBuilderState) -> None:
    before = state.summary.set_index("group").loc["pricing"]
    wide = state.scores.table.pivot(index="rep_id", columns="scenario", values="score")
    free = [r for r in state.reps if r not in state.assignment]
    weakest = wide.loc[free, "commercial"].idxmin()
    state.rep = weakest
    state.move_to = "pricing"
    t0 = time.perf_counter()
    state.move_selected()
    elapsed = time.perf_counter() - t0
    after = state.summary.set_index("group").loc["pricing"]
    assert after["size"] == before["size"] + 1
    assert after["mean_capability"] < before["mean_capability"]
    assert elapsed < 0.3
    state.move(weakest, "")
    assert state.summary.set_index("group").loc["pricing", "size"] == before["size"]
    with pytest.raises(ValueError, match="unknown group"):
        state.move(weakest, "nowhere")


def test_view_is_linked_to_the_state(state: TeamBuilderState) -> None:
    from salesml.apps.team_builder.view import TeamBuilderView

    view = TeamBuilderView(state)
    view.pick.value = state.reps[2]
    assert state.rep == state.reps[2]
    assert "salesml" in view.evidence.value or "<table" in view.evidence.value
    n_before = state.summary.set_index("group").loc["key_accounts", "size"]
    view.target.value = "key_accounts"
    view.move.click()
    assert state.summary.set_index("group").loc["key_accounts", "size"] >= n_before
    state.lang = "zh"
    assert "团队组建" in view.title.value
    state.lang = "en"
