"""A small hand-made dataset shaped like a real export: empty cells, a typo, no store
column, another currency. Every analysis does something sensible and says what it did."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from salesml.attribution import allocate_costs, cac, cac_monthly, touch_attribution
from salesml.data.bundle import SalesData
from salesml.data.config import DatasetConfig
from salesml.plotting.cac import cac_interval_chart

T = pd.Timestamp


@pytest.fixture(scope="module")
def export() -> SalesData:
    customers = pd.DataFrame(
        {
            "customer_id": ["C1", "C2", "C3", "C4"],
            "segment": ["mid_market", "key_account", None, "mid_market"],
            "region": ["East", "East", "West", None],
            "source_channel": ["wechat", "referral", "wechat", None],
            "created_at": [T("2026-01-03"), T("2026-01-10"), T("2026-02-01"), T("2026-02-11")],
        }
    )  # no store_id column at all
    leads = pd.DataFrame(
        {
            "lead_id": ["L1", "L2", "L3", "L4", "L5"],
            "customer_id": ["C1", "C2", "C3", None, None],
            "channel": ["wechat", "referral", "wechat", "online_ads", "online_ads"],
            "campaign_id": [None] * 5,
            "created_at": [
                T("2026-01-02"),
                T("2026-01-09"),
                T("2026-01-30"),
                T("2026-02-05"),
                T("2026-02-20"),
            ],
            "status": ["converted", "converted", "converted", "lost", "open"],
        }
    )
    deals = pd.DataFrame(
        {
            "deal_id": ["D1", "D2", "D3", "D4"],
            "customer_id": ["C1", "C2", "C3", "C4"],
            "rep_id": ["R1", "R2", "R1", "R2"],
            "lead_id": ["L1", "L2", "L3", None],
            "created_at": [T("2026-01-05"), T("2026-01-12"), T("2026-02-02"), T("2026-02-12")],
            "stage": ["contract", "contract", "proposal", "qualification"],
            "amount": [12000.0, 30000.0, 8000.0, 5000.0],
            "product_line": ["solution"] * 4,
            "outcome": ["won", "won", "open", "lost"],
            "closed_at": [T("2026-02-10"), T("2026-02-25"), pd.NaT, T("2026-02-28")],
        }
    )
    activities = pd.DataFrame(
        {
            "activity_id": [f"A{i}" for i in range(8)],
            "customer_id": ["C1", "C1", "C2", "C2", "C3", "C3", "C4", "C1"],
            "deal_id": ["D1", "D1", "D2", None, "D3", None, "D4", "D1"],
            "rep_id": ["R1", "R1", "R2", "R2", "R1", "R1", "R2", "R1"],
            "kind": ["visit", "call", "visit", "demo", "visit", "message", "call", "visit"],
            "channel": ["onsite", "phone", "onsite", "onsite", "onsite", "wechat", "phone", None],
            "occurred_at": pd.to_datetime(
                [
                    "2026-01-06",
                    "2026-01-20",
                    "2026-01-15",
                    "2026-02-01",
                    "2026-02-03",
                    "2026-02-15",
                    "2026-02-13",
                    "2026-02-05",
                ]
            ),
        }
    )  # no duration_min: the labour rule weighs by it
    costs = pd.DataFrame(
        {
            "cost_id": [f"X{i}" for i in range(7)],
            "category": ["media", "travel", "travel", "Media ", "tools", "commissions", "gifts"],
            "amount": [900.0, 120.0, 80.0, 50.0, 300.0, 600.0, 40.0],
            "incurred_at": pd.to_datetime(
                [
                    "2026-01-15",
                    "2026-01-20",
                    "2026-02-05",
                    "2026-02-07",
                    "2026-02-10",
                    "2026-02-11",
                    "2026-02-14",
                ]
            ),
            "campaign_id": [None] * 7,
            "channel": ["wechat", None, None, None, None, None, None],
            "store_id": [None] * 7,
            "rep_id": [None, "R1", "R1", None, None, None, "R2"],
            "activity_id": [None] * 7,
            "deal_id": [None, None, None, None, None, "D1", None],
        }
    )
    config = DatasetConfig(name="export", currency="USD")
    return SalesData(
        {
            "customers": customers,
            "leads": leads,
            "deals": deals,
            "activities": activities,
            "costs": costs,
        },
        config,
    )


def test_allocation_conserves_and_explains(export) -> None:
    al = allocate_costs(export)
    al.check_conservation()
    assert al.total_allocated + al.costs["unallocated"].sum() == pytest.approx(2090.0)
    un = al.unallocated.set_index("category")
    assert un.loc["Media ", "reason"] == "unknown_category"  # the typo kept, with its reason
    text = " ".join(al.key_findings("en"))
    assert "$" in text and "¥" not in text
    # the largest unbound part named by its category and its reason in words
    assert "Tools" in text and "lacks a key its rule needs" in text


def test_cac_and_report_tables(export) -> None:
    c = cac(export, n_boot=50).table.set_index("channel")
    assert c["acquired"].sum() == 2  # C1 and C2 won their first deal
    assert np.isfinite(c.loc["wechat", "cac"]) and c.loc["wechat", "cac"] > 0
    rep = cac_monthly(export, period="2026-02", n_boot=50)
    assert rep.overall["acquired"] == 2
    f = " ".join(rep.key_findings("zh"))
    assert "$" in f and "¥" not in f
    # a customer with no source channel is kept under its own, labelled, channel
    assert "unknown_channel" in set(c.index)
    assert "未记录渠道" in cac_interval_chart(rep, lang="zh").data[0].y or not np.isfinite(
        c.loc["unknown_channel", "cac"]
    )
    assert rep.cost_table()["incurred"].sum() == pytest.approx(1070.0)


def test_multi_touch_on_the_export(export) -> None:
    r = touch_attribution(export, model=["first", "last", "markov", "shapley"])
    sums = r.table.groupby("model")["conversions"].sum()
    np.testing.assert_allclose(sums, 2.0)
    assert "" not in set(r.table["channel"])
