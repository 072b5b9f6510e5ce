"""Fixtures of the pipeline analytics tests: a hand-built tiny dataset, simulator data."""

from __future__ import annotations

import pandas as pd
import pytest

from salesml.data.bundle import SalesData

STAGES = ["qualification", "needs_analysis", "proposal", "negotiation", "contract"]


def _ts(s: str) -> pd.Timestamp:
    return pd.Timestamp(s)


def build_tiny() -> SalesData:
    """Six deals with known funnel, durations and leads.

    ====  ======  ==========================  ========  ======================
    deal  region  stages entered (day)        outcome   closed
    ====  ======  ==========================  ========  ======================
    D1    华东     q0 n2 p5 ng9 c14             won       day 20
    D2    华东     q0 n1 p3                     lost      day 7 (at proposal)
    D3    华东     q0 n4                        open      -
    D4    华南     q0                           lost      day 10 (qualification)
    D5    华南     q0 n3 p6 ng8 c10             won       day 12
    D6    华南     q0 n1 p2 ng3 c4              open      -
    ====  ======  ==========================  ========  ======================

    All deals are created on 2026-01-05 (D1..D3) or 2026-02-02 (D4..D6).
    """
    customers = pd.DataFrame(
        {
            "customer_id": ["C1", "C2", "C3", "C4"],
            "segment": ["key_account", "mid_market", "key_account", "small_business"],
            "region": ["华东", "华东", "华南", "华南"],
            "source_channel": ["wechat", "referral", "wechat", "online_ads"],
            "created_at": pd.to_datetime(["2025-12-01"] * 4),
            "store_id": [None, None, None, None],
        }
    )
    reps = pd.DataFrame(
        {
            "rep_id": ["R001", "R002"],
            "name": ["张三", "李四"],
            "team": ["T1", "T2"],
            "region": ["华东", "华南"],
            "role": ["sales", "sales"],
            "manager_id": [None, None],
            "hired_at": pd.to_datetime(["2024-01-01", "2024-01-01"]),
        }
    )
    d0 = {"D1": "2026-01-05", "D2": "2026-01-05", "D3": "2026-01-05"}
    d0 |= {"D4": "2026-02-02", "D5": "2026-02-02", "D6": "2026-02-02"}
    entered = {
        "D1": [0, 2, 5, 9, 14],
        "D2": [0, 1, 3],
        "D3": [0, 4],
        "D4": [0],
        "D5": [0, 3, 6, 8, 10],
        "D6": [0, 1, 2, 3, 4],
    }
    closed = {"D1": 20, "D2": 7, "D4": 10, "D5": 12}
    outcome = {"D1": "won", "D2": "lost", "D3": "open", "D4": "lost", "D5": "won", "D6": "open"}
    cust = {"D1": "C1", "D2": "C2", "D3": "C1", "D4": "C3", "D5": "C4", "D6": "C3"}
    rows = []
    hist = []
    for d, days in entered.items():
        start = _ts(d0[d])
        rows.append(
            {
                "deal_id": d,
                "customer_id": cust[d],
                "rep_id": "R001" if cust[d] in ("C1", "C2") else "R002",
                "lead_id": None,
                "created_at": start,
                "stage": STAGES[len(days) - 1],
                "amount": 1000.0,
                "product_line": "equipment" if d in ("D1", "D4") else "service",
                "outcome": outcome[d],
                "closed_at": start + pd.Timedelta(days=closed[d]) if d in closed else pd.NaT,
            }
        )
        for k, day in enumerate(days):
            hist.append(
                {"deal_id": d, "entered_at": start + pd.Timedelta(days=day), "stage": STAGES[k]}
            )
    deals = pd.DataFrame(rows)
    deals["closed_at"] = pd.to_datetime(deals["closed_at"])
    history = pd.DataFrame(hist)
    # leads: 6 lost (2 without reason), 2 converted, 2 open; response hours known
    created = pd.Timestamp("2026-01-10 09:00")
    leads = pd.DataFrame(
        {
            "lead_id": [f"L{i}" for i in range(10)],
            "customer_id": [None] * 6 + ["C1", "C2", None, None],
            "channel": [
                *("wechat", "wechat", "wechat", "online_ads", "online_ads", "referral"),
                *("wechat", "referral", "online_ads", "wechat"),
            ],
            "campaign_id": [None] * 10,
            "created_at": [created] * 10,
            "first_response_at": [created + pd.Timedelta(hours=h) for h in range(1, 10)] + [pd.NaT],
            "status": ["lost"] * 6 + ["converted"] * 2 + ["open"] * 2,
            "lost_reason": ["price", "price", None, "competitor", None, "price"] + [None] * 4,
            "converted_at": [pd.NaT] * 6 + [created + pd.Timedelta(days=3)] * 2 + [pd.NaT] * 2,
            "lost_at": [created + pd.Timedelta(days=5)] * 6 + [pd.NaT] * 4,
        }
    )
    leads["first_response_at"] = pd.to_datetime(leads["first_response_at"])
    leads["converted_at"] = pd.to_datetime(leads["converted_at"])
    tables = {
        "customers": customers,
        "reps": reps,
        "deals": deals,
        "stage_history": history,
        "leads": leads,
    }
    return SalesData(tables)


@pytest.fixture(scope="module")
def tiny() -> SalesData:
    """The hand-built six-deal dataset of :func:`build_tiny`."""
    return build_tiny()
