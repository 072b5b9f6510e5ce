"""The deal what-if app's state, without a browser."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from salesml.apps.deal_whatif.state import DealWhatifState
from salesml.health import build_features


@pytest.fixture(scope="module")
def state(demo, fitted):
    data, _ = demo
    return DealWhatifState(data, model=fitted, as_of="2026-10-26", sample=120)


def test_controls_start_at_the_deal_values(state):
    row = state.features.loc[state.deal_id]
    assert state.values["plan_revisions"] == row["plan_revisions"]
    assert state.values["days_since_activity"] == pytest.approx(row["days_since_activity"])
    r = state.result
    assert r.deal_id == state.deal_id
    assert r.score == pytest.approx(r.actual_score)
    assert r.low <= r.score <= r.high
    assert len(r.reasons) == 5


def test_drivers_move_the_score_the_right_way(state):
    state.deal_id = state.deals[1]
    before = state.result.score
    state.set_value("plan_revisions", state.values["plan_revisions"] + 6)
    more_revisions = state.result.score
    assert more_revisions <= before  # monotone: revisions never help
    state.set_value("days_since_activity", state.values["days_since_activity"] + 30)
    assert state.result.score <= more_revisions
    assert state.result.actual_score == pytest.approx(before)
    edited = state.edited_snapshot()
    for f, v in state.values.items():
        assert edited[f].iloc[0] == pytest.approx(float(v), nan_ok=True)
    with pytest.raises(ValueError, match="actionable"):
        state.set_value("stage_index", 3)


def test_choosing_a_deal_resets_the_controls(state):
    state.deal_id = state.deals[2]
    state.set_value("terms_revisions", 7)
    state.deal_id = state.deals[3]
    row = state.features.loc[state.deals[3]]
    assert state.values["terms_revisions"] == row["terms_revisions"]
    assert state.result.score == pytest.approx(state.result.actual_score)
    state.deal_id = "no-such-deal"
    assert "no-such-deal" in state.error


def test_offered_drivers_are_those_that_move_this_model(demo, fitted, state):
    """Issue 10 item 10: a control that moves nothing is not offered; what is offered moves."""
    data, _ = demo
    every = DealWhatifState(
        data, model=fitted, as_of="2026-10-26", sample=120, min_effect=0.0, max_drivers=99
    )
    effects = {d.feature: d.effect for d in every.drivers}
    assert set(effects) == set(state.candidates)
    moving = sorted((f for f, e in effects.items() if e >= 1.0), key=lambda f: -effects[f])
    assert [d.feature for d in state.drivers] == moving[: len(state.drivers)]
    assert len(state.drivers) == min(len(moving), 8)
    # features this model ignores (their trees never split on them) are not offered
    flat = {f for f, e in effects.items() if e < 1.0}
    assert flat and not flat & {d.feature for d in state.drivers}
    assert "plan_revisions" in {d.feature for d in state.drivers}
    # the effect is what moving the control does, measured again on other deals
    base = state.features.iloc[::5].reset_index(drop=True)
    for d in state.drivers:
        s = state._pd_scores(base, d.feature, d.grid())
        assert np.mean(s.max(axis=1) - s.min(axis=1)) >= 0.5


def test_a_driver_without_effect_for_this_deal_is_named(state):
    # the lowest-scored deals sit on the calibration floor: nothing moves them
    floor = state.deals[0]
    state.deal_id = floor
    r = state.result
    grid_ranges = {
        d.feature: np.ptp(state._pd_scores(state.features.loc[[floor]], d.feature, d.grid())[0])
        for d in state.drivers
    }
    expected = {f for f, rng in grid_ranges.items() if rng < 0.5}
    assert {f for f, _, _ in r.no_effect} == expected
    texts = state.no_effect_text()
    assert len(texts) == len(expected)
    assert all("has no effect on this deal's score" in x for x in texts)
    # and a deal whose score does move under plan revisions does not get the sentence
    movable = next(
        d
        for d in state.deals
        if np.ptp(
            state._pd_scores(state.features.loc[[d]], "plan_revisions", np.arange(0.0, 10.0))[0]
        )
        >= 0.5
    )
    state.deal_id = movable
    assert "plan_revisions" not in {f for f, _, _ in state.result.no_effect}


def test_picker_lists_flagged_deals_first_with_owner_amount_score_and_searches(demo, state):
    data, _ = demo
    scores = state.scores
    bands = scores["band"].tolist()
    order = {"at_risk": 0, "watch": 1, "healthy": 2}
    assert [order[b] for b in bands] == sorted(order[b] for b in bands)
    # every deal open at the instant is offered (none cut by amount)
    assert set(state.deals) == set(build_features(data, as_of=state.as_of)["deal_id"])
    label, deal = state.options[0]
    s = scores.loc[deal]
    assert deal in label and f"score {s['health_score']:.0f}" in label
    assert f"¥{s['amount']:,.0f}" in label
    owner = state.owners.loc[deal]
    assert owner in label
    # search by owner name, by rep id, by amount text; plain text, bounded
    target = state.deals[len(state.deals) // 2]
    rep = state.features.loc[target, "rep_id"]
    state.search = rep
    assert target in {v for _, v in state.options}
    assert all(
        rep in state.features.loc[v, "rep_id"] or v == state.deal_id for _, v in state.options
    )
    state.search = f"{scores.loc[target, 'amount']:,.0f}"
    assert target in {v for _, v in state.options}
    state.search = ".*"  # no patterns: matches nothing literally
    assert [v for _, v in state.options] == [state.deal_id]
    state.search = "x" * 5000
    assert len(state.search) <= 100
    state.search = ""
    assert len(state.options) == min(len(state.deals), state.max_options)


@pytest.mark.slow
def test_same_instant_and_scores_as_the_report(demo):
    """The app fit for a period is the report's fit: same instant, same scores."""
    from salesml.health import fit_as_of, review_as_of

    data, _ = demo
    app = DealWhatifState(data, period="2026-09", sample=40)
    assert app.as_of == review_as_of(data, period="2026-09")
    assert app.as_of == pd.Timestamp("2026-09-30 23:59:59")
    fit = fit_as_of(data, period="2026-09")
    now = build_features(data, as_of=fit.as_of)
    ours = fit.model.score(now).set_index("deal_id")["health_score"]
    theirs = app.scores["health_score"]
    assert np.allclose(theirs.loc[ours.index], ours)
    assert "2026-09" in app.heading()


def test_reasons_hurt_first_marked_and_capitalised(state):
    """Issue 10 item 11 in the app: what hurts first (▼), what helps marked (▲)."""
    for deal in state.deals[:10]:
        state.deal_id = deal
        r = state.result
        c = r.reasons["contribution"].to_numpy()
        assert list(c) == sorted(c[c < 0]) + sorted(c[c >= 0], reverse=True)
        marks = [i[0] for i in r.reason_items]
        assert marks == ["▼" if x < 0 else "▲" for x in c]
        assert all(i[2].isupper() or i[2].isdigit() for i in r.reason_items)
        assert r.reasons_text == "; ".join(r.reason_items)
