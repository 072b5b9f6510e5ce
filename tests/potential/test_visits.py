"""Capacity planning: visit lists per rep, and the ranking backtest against simple policies."""

from __future__ import annotations

import pandas as pd
import pytest

from salesml.potential.visits import POOL, visit_backtest, visit_plan


def _scored() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "lead_id": [f"L{i}" for i in range(8)],
            "rep_id": ["anna", "anna", "anna", "ben", "ben", None, None, "anna"],
            "win_prob": [0.1, 0.5, 0.3, 0.2, 0.9, 0.4, 0.05, 0.6],
            "expected_revenue": [100.0, 900.0, 300.0, 50.0, 800.0, 400.0, 5.0, 700.0],
            "visits_needed": [1, 3, 1, 1, 2, 1, 1, 1],
        }
    )


def test_each_rep_gets_its_best_visits_up_to_capacity() -> None:
    plan = visit_plan(_scored(), capacity=2, currency="EUR")
    t = plan.table
    assert t.groupby("rep_id").size().to_dict() == {"anna": 2, "ben": 2, POOL: 2}
    anna = t.loc[t["rep_id"] == "anna"].sort_values("rank")
    assert anna["lead_id"].tolist() == ["L1", "L7"]
    assert plan.expected_revenue == pytest.approx(900 + 700 + 800 + 50 + 400 + 5)
    assert any(n.key == "potential.plan.unassigned" for n in plan.notes)
    assert "EUR" in plan.key_findings("en")[0] or "€" in plan.key_findings("en")[0]
    assert plan.key_findings("zh")[0].startswith("从")


def test_capacity_per_rep_and_value_per_visit() -> None:
    plan = visit_plan(_scored(), capacity={"anna": 1, "ben": 0}, visits_column="visits_needed")
    t = plan.table
    # per visit, L7 (700 / 1) beats L1 (900 / 3); ben has no capacity; the pool none
    assert t["lead_id"].tolist() == ["L7"]
    assert t["value_per_visit"].tolist() == [700.0]
    by = plan.by_rep.set_index("rep_id")
    assert by.loc["ben", "planned"] == 0 and by.loc["ben", "candidates"] == 2


def test_bad_capacity_is_refused() -> None:
    with pytest.raises(ValueError, match="between 0 and 200"):
        visit_plan(_scored(), capacity=1000)
    with pytest.raises(ValueError, match="whole number"):
        visit_plan(_scored(), capacity={"anna": -1})
    with pytest.raises(TypeError, match="capacity"):
        visit_plan(_scored(), capacity="5")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="expected_revenue"):
        visit_plan(_scored().drop(columns="expected_revenue"))


@pytest.mark.slow
def test_the_model_ranking_lands_on_more_revenue_per_visit(lead_backtest, lead_snaps) -> None:
    # the simulated leads have owners (15 sellers): two visits per owner and origin
    vb = visit_backtest(lead_backtest, lead_snaps, capacity=2)
    m = vb.table.set_index("policy")
    assert (m["visits"] == m.loc["model", "visits"]).all() and m.loc["model", "visits"] >= 150
    # demo, six monthly origins, 2 visits per owner (180 in all): measured 0.27
    # conversions per visit against 0.16 newest first and 0.18 channel rate; revenue
    # per visit 2.07x newest first (revenue within 90 days is noisy at demo: a few
    # dozen converted leads)
    cpv = m["conversions_per_visit"]
    assert cpv["model"] >= cpv["newest_first"] + 0.04
    assert cpv["model"] >= cpv["channel_rate"] + 0.04
    assert m.loc["model", "ratio_vs_newest_first"] >= 1.2
    assert m.loc["model", "revenue_per_visit"] > m.loc["channel_rate", "revenue_per_visit"]
    assert (m["low"] <= m["revenue_per_visit"]).all()
    assert "x" in vb.key_findings("en")[0]
