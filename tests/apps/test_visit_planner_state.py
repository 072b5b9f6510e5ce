"""The visit planner's state, without a browser: capacities, the plan, the change."""

from __future__ import annotations

import pytest
from traitlets import TraitError

from salesml.apps.visit_planner.state import VisitPlannerState
from salesml.potential.visits import POOL
from salesml.potential.weekly import weekly_potential


@pytest.fixture(scope="module")
def state():
    from salesml.simulator import simulate

    data, _ = simulate(preset="tiny", seed=7)
    return VisitPlannerState(data, lang="en", base_capacity=3)


def test_same_candidates_and_scores_as_the_report(state) -> None:
    report = weekly_potential(state.data, period=None, lang="en")
    assert report.as_of == state.review.as_of
    a = report.candidates.set_index(["kind", "id"])["win_prob"]
    b = state.review.candidates.set_index(["kind", "id"])["win_prob"]
    assert a.equals(b)


def test_capacity_changes_replan_and_report_the_change(state) -> None:
    base = state.result
    assert state.change == 0
    assert (base.table.groupby("rep_id").size() <= 3).all()
    region = state.regions[0]
    state.region = region
    state.region_capacity = 6
    t = state.result.table
    in_region = {r for r in state.reps if state.rep_region.get(r) == region}
    assert in_region
    sizes = t.groupby("rep_id").size()
    assert all(sizes.get(r, 0) <= 6 for r in in_region)
    assert any(sizes.get(r, 0) > 3 for r in in_region)
    assert state.change > 0  # more visits never capture less expected revenue
    assert state.change == pytest.approx(
        state.result.expected_revenue - state.reference.expected_revenue
    )
    # one rep with no visits at all
    rep = sorted(in_region)[0]
    state.rep = rep
    state.rep_capacity = 0
    assert rep not in set(state.result.table["rep_id"])
    # every simulated lead has an owner: no team pool to plan
    assert POOL not in state.capacities()
    assert "expected revenue" in state.headline()
    state.lang = "zh"
    assert "预期收入" in state.headline()
    state.rep = ""
    state.region = ""
    state.lang = "en"
    assert state.change == pytest.approx(0.0)


def test_bad_controls_are_refused(state) -> None:
    with pytest.raises(TraitError, match="between 0 and 200"):
        state.base_capacity = 1000
    with pytest.raises(TraitError, match="unknown region"):
        state.region = "Atlantis"
    with pytest.raises(TraitError, match="unknown rep"):
        state.rep = "R999"


def test_from_dataset_loads_projected_and_gives_the_same_plan(state, tmp_path) -> None:
    from salesml.data.io import save_dataset

    save_dataset(state.data, tmp_path, partition="month")
    opened = VisitPlannerState.from_dataset(str(tmp_path), lang="en")
    assert "quality" not in opened.data.activities.columns  # only what the review reads
    a = state.review.candidates.set_index(["kind", "id"])["win_prob"]
    b = opened.review.candidates.set_index(["kind", "id"])["win_prob"]
    assert a.index.equals(b.index)
    assert (abs(a - b) <= 1e-9).all()
