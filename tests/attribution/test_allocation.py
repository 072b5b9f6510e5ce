"""Tests of activity-based cost allocation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from salesml.attribution import RuleError, allocate_costs, default_rules, load_rules
from salesml.data.bundle import MissingTableError, SalesData


def test_conservation_per_category_and_month(demo_allocation) -> None:
    al = demo_allocation
    al.check_conservation()
    s = al.monthly
    np.testing.assert_allclose(s["allocated"] + s["unallocated"], s["incurred"], rtol=1e-9)
    assert al.total_incurred == pytest.approx(al.data.costs["amount"].sum())
    assert al.lines["amount"].sum() == pytest.approx(al.total_allocated, rel=1e-9)
    # the default rules place nearly everything on the simulator's data
    assert al.total_allocated / al.total_incurred > 0.99
    assert set(al.unallocated.columns) >= {"category", "reason", "amount", "lines"}


def test_direct_links_go_to_their_row(demo_allocation) -> None:
    al = demo_allocation
    costs = al.data.costs
    linked = costs[(costs["category"] == "samples") & costs["activity_id"].notna()]
    ln = al.lines[al.lines["cost_id"].isin(linked["cost_id"])]
    assert len(ln) == len(linked)
    got = ln.set_index(ln["cost_id"].astype(str))["activity_id"]
    want = linked.set_index("cost_id")["activity_id"]
    assert (got.reindex(want.index) == want).all()
    com = costs[costs["category"] == "commissions"]
    ln = al.lines[al.lines["cost_id"].isin(com["cost_id"])]
    assert (
        ln["deal_id"].to_numpy()
        == com.set_index("cost_id").loc[ln["cost_id"].astype(str), "deal_id"].to_numpy()
    ).all()


def test_media_goes_to_campaign_leads_of_the_month(demo_allocation) -> None:
    al = demo_allocation
    data = al.data
    ln = al.lines[al.lines["rule"].astype(str).str.startswith("media[0]")]
    assert ln["amount"].sum() > 0.95 * al.data.costs.query("category == 'media'")["amount"].sum()
    leads = data.leads.set_index("lead_id")
    costs = data.costs.set_index("cost_id")
    lead_camp = leads.loc[ln["driver_id"].astype(str), "campaign_id"].to_numpy()
    cost_camp = costs.loc[ln["cost_id"].astype(str), "campaign_id"].to_numpy()
    assert (lead_camp == cost_camp).all()
    lead_m = leads.loc[ln["driver_id"].astype(str), "created_at"].dt.to_period("M").to_numpy()
    cost_m = costs.loc[ln["cost_id"].astype(str), "incurred_at"].dt.to_period("M").to_numpy()
    assert (lead_m == cost_m).all()


def test_field_labour_by_duration_within_store_month(demo_allocation) -> None:
    al = demo_allocation
    ln = al.lines[al.lines["category"] == "field_promotion_labor"]
    one = ln[ln["cost_id"] == ln["cost_id"].iloc[0]]
    acts = al.data.activities.set_index("activity_id").loc[one["activity_id"].astype(str)]
    share = one["amount"].to_numpy() / one["amount"].sum()
    dur = acts["duration_min"].fillna(0).to_numpy()
    np.testing.assert_allclose(share, dur / dur.sum(), rtol=1e-9)
    assert acts["kind"].isin(["visit", "demo"]).all()
    assert one["store_id"].nunique() == 1


def test_views_add_up(demo_allocation) -> None:
    al = demo_allocation
    assert al.by_channel()["total"].sum() == pytest.approx(al.total_allocated, rel=1e-9)
    by_store = al.by_store()
    assert {"total", "store_materials"} <= set(by_store.columns)
    act = al.by_activity()
    assert act["total"].sum() == pytest.approx(
        al.lines.loc[al.lines["activity_id"].notna(), "amount"].sum()
    )
    cust = al.by_customer()
    assert (cust["total"] >= 0).all()


def test_cost_path_of_a_won_deal(demo_allocation) -> None:
    al = demo_allocation
    won = al.data.deals[al.data.deals["outcome"] == "won"]["deal_id"].iloc[0]
    path = al.cost_path(won)
    assert "commissions" in set(path["category"].astype(str))
    assert path["amount"].sum() == pytest.approx(al.by_deal().loc[won, "total"])
    assert (path["amount"] <= path["line_amount"] + 1e-9).all()
    with pytest.raises(KeyError, match="not in the deals table"):
        al.cost_path("NO-SUCH-DEAL")


def test_unallocated_reasons(demo) -> None:
    data, _ = demo
    no_mm = SalesData({k: v for k, v in data.tables.items() if k != "material_movements"})
    rules = default_rules()
    del rules["categories"]["tools"]
    al = allocate_costs(no_mm, rules=rules)
    al.check_conservation()
    un = al.unallocated.set_index("category")
    assert un.loc["store_materials", "reason"] == "no_table"
    assert un.loc["tools", "reason"] == "no_rule"
    inc = data.costs.groupby("category")["amount"].sum()
    assert un.loc["tools", "amount"] == pytest.approx(inc["tools"])
    # a scope nothing matches leaves the line unallocated with that reason
    rules = default_rules()
    rules["categories"]["travel"] = [
        {"driver": "activities", "filter": 'kind == "nothing"', "scope": ["rep_id", "month"]}
    ]
    al = allocate_costs(data, rules=rules)
    assert (al.costs.loc[al.costs["category"] == "travel", "reason"] == "no_driver").all()
    al.check_conservation()


def test_unknown_category_is_kept_with_reason(demo) -> None:
    data, _ = demo
    costs = data.costs.copy()
    costs.loc[costs.index[:3], "category"] = "Media "
    al = allocate_costs(data.replace(costs=costs))
    al.check_conservation()
    row = al.unallocated.set_index("category").loc["Media "]
    assert row["reason"] == "unknown_category" and row["lines"] == 3


def test_missing_costs_table(demo) -> None:
    data, _ = demo
    with pytest.raises(MissingTableError, match="costs"):
        allocate_costs(SalesData({"deals": data.deals}))


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"driver": "planets"}, "driver 'planets' unknown"),
        ({"filter": "__import__('os')"}, "function '__import__'"),
        ({"filter": "kind.upper()"}, "attribute access"),
        ({"weight": "duration_min ** 2"}, "'**'"),
        ({"colour": "red"}, "unknown key"),
    ],
)
def test_bad_rules_are_refused(change: dict, needle: str) -> None:
    rules = default_rules()
    rules["categories"]["travel"][0].update(change)
    with pytest.raises(RuleError, match="travel") as info:
        load_rules(rules)
    assert needle in str(info.value)


def test_rule_columns_checked_against_tables(demo) -> None:
    data, _ = demo
    rules = default_rules()
    rules["categories"]["travel"][0]["filter"] = 'knd == "visit"'
    with pytest.raises(RuleError, match="unknown column 'knd'"):
        allocate_costs(data, rules=rules)
    rules = default_rules()
    rules["categories"]["travel"][0]["scope"] = ["rep_id", "planet"]
    with pytest.raises(RuleError, match="planet"):
        allocate_costs(data, rules=rules)
    with pytest.raises(RuleError, match="unknown cost category"):
        load_rules({"categories": {"snacks": []}})


def test_rules_from_yaml_file(demo, tmp_path) -> None:
    data, _ = demo
    rules = default_rules()
    rules["categories"]["tools"] = [
        {
            "name": "visits only",
            "driver": "activities",
            "filter": 'kind == "visit"',
            "scope": ["rep_id", "month"],
        }
    ]
    p = tmp_path / "rules.yaml"
    p.write_text(yaml.safe_dump(rules, allow_unicode=True), "utf-8")
    al = allocate_costs(data, rules=p)
    ln = al.lines[al.lines["category"] == "tools"]
    kinds = al.data.activities.set_index("activity_id").loc[ln["activity_id"].astype(str), "kind"]
    assert (kinds == "visit").all()
    al.check_conservation()


def test_input_not_modified(demo) -> None:
    data, _ = demo
    before = data.costs.copy()
    allocate_costs(data)
    pd.testing.assert_frame_equal(data.costs, before)


# ---------------------------------------------------------------------- hypothesis
def _tiny_dataset(seed: int, n_costs: int, n_acts: int) -> SalesData:
    rng = np.random.default_rng(seed)
    months = pd.to_datetime(["2026-01-15", "2026-02-15", "2026-03-15"])
    reps = [f"R{i}" for i in range(3)]
    stores = [f"S{i}" for i in range(2)]
    customers = pd.DataFrame(
        {
            "customer_id": [f"C{i}" for i in range(6)],
            "segment": "mid_market",
            "region": "华东",
            "source_channel": rng.choice(["wechat", "referral"], 6),
            "created_at": pd.Timestamp("2026-01-01"),
            "store_id": rng.choice([*stores, None], 6),
        }
    )
    acts = pd.DataFrame(
        {
            "activity_id": [f"A{i}" for i in range(n_acts)],
            "customer_id": rng.choice(customers["customer_id"], n_acts),
            "deal_id": None,
            "rep_id": rng.choice(reps, n_acts),
            "kind": rng.choice(["visit", "call", "demo"], n_acts),
            "channel": "onsite",
            "occurred_at": months[rng.integers(0, 3, n_acts)]
            + pd.to_timedelta(rng.integers(-10, 10, n_acts), "D"),
            "duration_min": np.where(rng.random(n_acts) < 0.2, np.nan, rng.integers(0, 90, n_acts)),
        }
    )
    costs = pd.DataFrame(
        {
            "cost_id": [f"X{i}" for i in range(n_costs)],
            "category": rng.choice(["travel", "tools", "field_promotion_labor", "gifts"], n_costs),
            "amount": np.round(rng.random(n_costs) * 1000, 2),
            "incurred_at": months[rng.integers(0, 3, n_costs)],
            "campaign_id": None,
            "channel": None,
            "store_id": rng.choice([*stores, None], n_costs),
            "rep_id": rng.choice([*reps, None], n_costs),
            "activity_id": np.where(
                rng.random(n_costs) < 0.3,
                rng.choice(acts["activity_id"], n_costs) if n_acts else None,
                None,
            ),
            "deal_id": None,
        }
    )
    return SalesData({"customers": customers, "activities": acts, "costs": costs})


_rule = st.fixed_dictionaries(
    {
        "driver": st.just("activities"),
        "scope": st.sampled_from(
            [[], ["month"], ["rep_id"], ["rep_id", "month"], ["store_id", "month"], ["activity_id"]]
        ),
    },
    optional={
        "filter": st.sampled_from(
            [
                'kind == "visit"',
                'kind in ["visit", "demo"]',
                "duration_min >= 30",
                "isnull(duration_min)",
                'kind != "call" and duration_min < 60',
            ]
        ),
        "weight": st.sampled_from(["duration_min", "fillna(duration_min, 0) + 1", "1"]),
        "when": st.sampled_from(["amount > 200", "notnull(rep_id)", "isnull(store_id)"]),
    },
)


@pytest.mark.slow
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10_000),
    n_costs=st.integers(0, 30),
    n_acts=st.integers(0, 40),
    rules=st.dictionaries(
        st.sampled_from(["travel", "tools", "field_promotion_labor", "gifts"]),
        st.lists(_rule, min_size=0, max_size=3),
        max_size=4,
    ),
)
def test_conservation_under_random_rules_and_data(seed, n_costs, n_acts, rules) -> None:
    data = _tiny_dataset(seed, n_costs, n_acts)
    al = allocate_costs(data, rules={"categories": rules})
    al.check_conservation()
    assert al.costs["allocated"].sum() + al.costs["unallocated"].sum() == pytest.approx(
        data.costs["amount"].sum(), abs=1e-6
    )
    assert (al.costs["unallocated"] >= -1e-9).all()
    placed = al.costs["rule"] != ""
    assert (al.costs.loc[~placed, "reason"] != "").all()
    assert (al.costs.loc[placed, "unallocated"].abs() < 1e-6).all()


def test_bad_input_names_table_column_and_row(demo) -> None:
    data, _ = demo
    costs = data.costs.copy()
    costs["incurred_at"] = costs["incurred_at"].astype(object)
    costs.loc[costs.index[3], "incurred_at"] = "2025年5月28日"
    with pytest.raises(ValueError, match="incurred_at") as info:
        allocate_costs(data.replace(costs=costs))
    assert "'costs'" in str(info.value) and str(costs["cost_id"].iloc[3]) in str(info.value)
    costs = data.costs.copy()
    costs.loc[costs.index[5], "amount"] = -1.0
    with pytest.raises(ValueError, match="non-negative") as info:
        allocate_costs(data.replace(costs=costs))
    assert str(costs["cost_id"].iloc[5]) in str(info.value)
    with pytest.raises(ValueError, match="category"):
        allocate_costs(data.replace(costs=data.costs.drop(columns="category")))
    leads = data.leads.assign(created_at=data.leads["created_at"].astype(str))
    leads.loc[leads.index[0], "created_at"] = "not a date"
    with pytest.raises(ValueError, match="'leads'") as info:
        allocate_costs(data.replace(leads=leads))
    assert "not a date" in str(info.value)
