"""Simulated lead owners: the converted lead's deal rep, else the region's sellers in turn."""

from __future__ import annotations

import numpy as np

from salesml.potential import customer_journeys, visit_plan
from salesml.potential.visits import POOL


def test_every_lead_has_a_seller_and_a_converted_one_its_deal_rep(demo_data) -> None:
    data, _ = demo_data
    leads = data.leads
    reps = data.reps.set_index("rep_id")
    assert leads["rep_id"].notna().all()
    assert (leads["rep_id"].map(reps["role"]) == "sales").all()
    first = data.deals.loc[data.deals["lead_id"].notna()].set_index("lead_id")
    linked = leads.loc[leads["lead_id"].isin(first.index)]
    assert len(linked) > 1000
    np.testing.assert_array_equal(
        linked["rep_id"].to_numpy(), first.loc[linked["lead_id"], "rep_id"].to_numpy()
    )
    # the others are dealt round-robin: every seller gets a share of them
    other = leads.loc[~leads["lead_id"].isin(first.index), "rep_id"]
    sellers = set(data.reps.loc[data.reps["role"] == "sales", "rep_id"])
    counts = other.value_counts()
    assert set(counts.index) == sellers
    assert counts.max() <= 2.5 * counts.min()


def test_the_owner_reaches_the_visit_queue_and_the_chain(demo_data) -> None:
    data, _ = demo_data
    open_leads = data.leads.loc[data.leads["status"] == "open"].assign(expected_revenue=1.0)
    plan = visit_plan(open_leads, capacity=3)
    assert POOL not in set(plan.table["rep_id"])
    assert not any(n.key == "potential.plan.unassigned" for n in plan.notes)
    assert (plan.by_rep["planned"] <= 3).all() and plan.by_rep["planned"].sum() > 0
    tab = customer_journeys(data).table.set_index("lead_id")
    lead_owner = data.leads.set_index("lead_id")["rep_id"]
    assert (tab["rep_id"] == lead_owner.reindex(tab.index)).all()
