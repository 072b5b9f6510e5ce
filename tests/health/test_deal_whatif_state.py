"""The deal what-if app's state, without a browser."""

from __future__ import annotations

import pytest

from salesml.apps.deal_whatif.state import DRIVERS, DealWhatifState


@pytest.fixture(scope="module")
def state(demo, fitted):
    data, _ = demo
    return DealWhatifState(data, model=fitted, as_of="2026-10-26", max_deals=50)


def test_controls_start_at_the_deal_values(state):
    row = state.features.loc[state.deal_id]
    assert state.plan_revisions == round(row["plan_revisions"])
    assert state.days_since_activity == pytest.approx(row["days_since_activity"])
    r = state.result
    assert r.deal_id == state.deal_id
    assert r.score == pytest.approx(r.actual_score)
    assert r.low <= r.score <= r.high
    assert len(r.reasons) == 5


def test_drivers_move_the_score_the_right_way(state):
    state.deal_id = state.deals[1]
    before = state.result.score
    state.plan_revisions = state.plan_revisions + 6
    more_revisions = state.result.score
    assert more_revisions <= before  # monotone: revisions never help
    state.days_since_activity = state.days_since_activity + 30
    assert state.result.score <= more_revisions
    assert state.result.actual_score == pytest.approx(before)
    edited = state.edited_snapshot()
    for trait, col in DRIVERS.items():
        assert edited[col].iloc[0] == pytest.approx(float(getattr(state, trait)))


def test_choosing_a_deal_resets_the_controls(state):
    state.deal_id = state.deals[2]
    state.terms_revisions = 7
    state.deal_id = state.deals[3]
    row = state.features.loc[state.deals[3]]
    assert state.terms_revisions == round(row["terms_revisions"])
    assert state.result.score == pytest.approx(state.result.actual_score)
    state.deal_id = "no-such-deal"
    assert "no-such-deal" in state.error
