"""Monthly scores and movers: a planted improvement is found, stable skills stay put."""

from __future__ import annotations

import numpy as np
import pytest

from salesml.capability import capability_trend


@pytest.fixture(scope="module")
def improved(demo_data):
    """Demo data where one rep's technical responses get much better in the last 3 months."""
    data, truth = demo_data
    ce = data.collab_events.copy()
    end = ce["occurred_at"].max()
    rep = truth.rep_skills["technical"].sort_values().index[3]  # a weak technical rep
    m = (
        (ce["actor_id"] == rep)
        & (ce["kind"] == "response")
        & (ce["role"] == "technical")
        & (ce["occurred_at"] > end - np.timedelta64(92, "D"))
    ).to_numpy()
    q = ce["quality"].to_numpy(copy=True)
    q[m] = 5.0
    ce["quality"] = q
    # and faster: a tenth of the time
    req_t = ce.set_index("event_id")["occurred_at"]
    asked = ce.loc[m, "request_id"].map(req_t).to_numpy()
    ce.loc[m, "occurred_at"] = asked + (ce.loc[m, "occurred_at"].to_numpy() - asked) / 10
    return data.replace(collab_events=ce), rep


def test_trend_has_one_block_per_month(demo_data) -> None:
    data, _ = demo_data
    r = capability_trend(data, months=3)
    assert r.months == sorted(r.months) and len(r.months) == 3
    assert set(r.table["month"]) == set(r.months)
    per_month = r.table.groupby("month").size()
    assert (per_month == 3 * data.reps["rep_id"].nunique()).all()
    assert (r.table.groupby("month")["month_end"].nunique() == 1).all()
    assert r.key_findings("en") and r.key_findings("zh")
    assert r.title() in r._repr_html_()


def test_planted_improvement_is_a_mover_and_stable_reps_are_not(demo_data, improved) -> None:
    data, _ = demo_data
    better, rep = improved
    r = capability_trend(better, months=6)
    up = r.movers[(r.movers["direction"] == "up") & (r.movers["scenario"] == "technical")]
    assert rep in set(up["rep_id"]), r.movers
    row = up[up["rep_id"] == rep].iloc[0]
    assert row["change_lower"] > 0
    assert any(rep in s for s in r.key_findings("en"))
    # in the untouched data skills are constant: few false movers (90% intervals, 60 tests)
    base = capability_trend(data, months=6)
    assert len(base.movers) <= 6, base.movers


def test_bad_months_are_refused(demo_data) -> None:
    data, _ = demo_data
    with pytest.raises(ValueError, match="months"):
        capability_trend(data, months=1)
    with pytest.raises(ValueError, match="months"):
        capability_trend(data, months=400)
