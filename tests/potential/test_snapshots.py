"""Lead and account snapshots: leak-free features, labels from the later data, bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from salesml.data.bundle import SalesData
from salesml.data.config import DatasetConfig
from salesml.potential import (
    account_features,
    account_snapshots,
    lead_features,
    lead_snapshots,
)

FIXTURES = Path(__file__).parent / "fixtures"
T = pd.Timestamp("2026-03-02")


def test_lead_features_see_only_the_past(quality_demo) -> None:
    data, _ = quality_demo
    full = lead_features(data, as_of=T)
    cut = lead_features(data.as_of(T), as_of=T)
    pd.testing.assert_frame_equal(full, cut)
    # every lead is open at T: created before, not converted or lost by then
    leads = data.leads.set_index("lead_id").loc[full["lead_id"]]
    assert (leads["created_at"] <= T).all()
    assert not ((leads["converted_at"] <= T) | (leads["lost_at"] <= T)).any()
    # an inspection after T is not known at T
    later = leads["inspected_at"] > T
    assert later.any()
    assert (full.loc[later.to_numpy(), "inspected"] == 0).all()
    assert full.loc[later.to_numpy(), "findings_reported"].isna().all()
    # and every lead open at T is there
    all_leads = data.leads
    open_at = (all_leads["created_at"] <= T) & ~(
        (all_leads["converted_at"] <= T) | (all_leads["lost_at"] <= T)
    )
    assert set(all_leads.loc[open_at, "lead_id"]) == set(full["lead_id"])


def test_lead_labels_follow_the_later_data(quality_demo) -> None:
    data, _ = quality_demo
    snaps = lead_snapshots(data, as_of=[T, T + pd.Timedelta(days=7)], horizon_days=30)
    leads = data.leads.set_index("lead_id").loc[snaps["lead_id"]]
    conv = leads["converted_at"].to_numpy()
    t = snaps["as_of"].to_numpy()
    within = (conv > t) & (conv <= t + np.timedelta64(30, "D"))
    assert (snaps["label"].to_numpy() == within.astype(float)).all()
    assert (snaps["label_known_at"] > snaps["as_of"]).all()
    # revenue only for converted leads; lost leads have none
    lost = snaps["label"].eq(0) & leads["status"].eq("lost").to_numpy()
    assert (snaps.loc[lost, "revenue"].fillna(0) == 0).all()
    assert snaps.attrs["horizon_days"] == 30 and snaps.attrs["kind"] == "lead"


def test_account_snapshots_exclude_open_deals_and_see_only_the_past(quality_demo) -> None:
    data, _ = quality_demo
    full = account_features(data, as_of=T)
    cut = account_features(data.as_of(T), as_of=T)
    pd.testing.assert_frame_equal(full, cut)
    deals = data.as_of(T).deals
    open_customers = set(deals.loc[deals["outcome"] == "open", "customer_id"])
    assert not open_customers & set(full["customer_id"])
    snaps = account_snapshots(data, as_of=[T], horizon_days=90)
    won = data.deals.loc[data.deals["outcome"] == "won"]
    in_window = won.loc[
        (won["closed_at"] > T) & (won["closed_at"] <= T + pd.Timedelta(days=90)), "customer_id"
    ]
    expected = snaps["customer_id"].isin(set(in_window)).astype(float)
    assert (snaps["label"] == expected).all()
    assert (snaps.loc[snaps["label"] == 1, "revenue"] > 0).all()


def _fixture_data() -> SalesData:
    leads = pd.read_csv(FIXTURES / "crm_leads.csv", dtype="str", keep_default_na=False)
    leads = leads.replace("", None).rename(columns={"owner": "rep_id"})
    for c in ("created_at", "first_response_at", "converted_at", "lost_at"):
        leads[c] = pd.to_datetime(leads[c])
    deals = pd.read_csv(FIXTURES / "crm_deals.csv", dtype="str", keep_default_na=False)
    deals = deals.replace("", None)
    for c in ("created_at", "closed_at"):
        deals[c] = pd.to_datetime(deals[c])
    deals["amount"] = deals["amount"].astype("float64")
    return SalesData({"leads": leads, "deals": deals}, DatasetConfig(name="crm", currency="EUR"))


def test_a_hand_made_export_scores_what_it_has() -> None:
    data = _fixture_data()
    f = lead_features(data, as_of="2025-03-15")
    # open on 15 March: created by then, not yet converted or lost
    assert set(f["lead_id"]) == {
        "W-1002",
        "W-1003",
        "W-1004",
        "W-1005",
        "W-1006",
        "W-1007",
        "W-1008",
    }
    by_id = f.set_index("lead_id")
    assert by_id.loc["W-1007", "responded"] == 0 and by_id.loc["W-1007", "waiting_hours"] > 0
    assert by_id.loc["W-1005", "rep_id"] == "<NA>" or pd.isna(by_id.loc["W-1005", "rep_id"])
    assert by_id.loc["W-1003", "rep_id"] == "ben"
    # no inspections or project sizes in this export: named, not invented
    un = f.attrs["unavailable"]
    assert un["findings_reported"] == "leads.findings_reported"
    assert un["log_project_area"] == "leads.project_area_m2"
    assert f["findings_reported"].isna().all() and f.attrs["currency"] == "EUR"
    snaps = lead_snapshots(data, as_of=["2025-03-10", "2025-03-15"], horizon_days=30)
    s = snaps.set_index(["as_of", "lead_id"])
    assert s.loc[(pd.Timestamp("2025-03-10"), "W-1004"), "label"] == 1.0
    assert s.loc[(pd.Timestamp("2025-03-15"), "W-1006"), "label"] == 0.0
    # W-1008 converted on 10 April (within 30 days of 15 March), its customer won 30,000
    # on 20 May: outside the window, so no revenue within the horizon
    assert s.loc[(pd.Timestamp("2025-03-15"), "W-1008"), "label"] == 1.0
    assert s.loc[(pd.Timestamp("2025-03-15"), "W-1008"), "revenue"] == 0.0
    assert s.loc[(pd.Timestamp("2025-03-10"), "W-1001"), "revenue"] == 12000.0


def test_bad_input_is_named() -> None:
    data = _fixture_data()
    with pytest.raises(ValueError, match="needs a leads table"):
        lead_features(SalesData({"deals": data.deals}, data.config), as_of="2025-03-15")
    leads = data.leads.copy()
    leads.loc[3, "status"] = "Converted"
    bad = SalesData({"leads": leads, "deals": data.deals}, data.config)
    with pytest.raises(ValueError, match=r"row 4 \(W-1004: 'Converted'\)"):
        lead_snapshots(bad, as_of="2025-03-15")
    with pytest.raises(ValueError, match="customers table"):
        account_features(data, as_of="2025-03-15")
    with pytest.raises(ValueError, match="horizon_days"):
        lead_snapshots(data, as_of="2025-03-15", horizon_days=0)
