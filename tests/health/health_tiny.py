"""A tiny hand-built dataset for deal-health unit tests (no simulator needed)."""

from __future__ import annotations

import pandas as pd

from salesml.data.bundle import SalesData


def tiny_data() -> SalesData:
    """Three deals: D1 won, D2 lost, D3 open; a few activities, quotes, collab events."""
    ts = pd.Timestamp
    deals = pd.DataFrame(
        {
            "deal_id": ["D1", "D2", "D3"],
            "customer_id": ["C1", "C2", "C1"],
            "rep_id": ["R001", "R001", "R002"],
            "lead_id": [None, None, None],
            "created_at": [ts("2025-01-01"), ts("2025-01-05"), ts("2025-02-01")],
            "stage": ["contract", "proposal", "needs_analysis"],
            "amount": [10000.0, 5000.0, 8000.0],
            "product_line": ["equipment", "service", "equipment"],
            "outcome": ["won", "lost", "open"],
            "closed_at": [ts("2025-03-01"), ts("2025-02-20"), pd.NaT],
        }
    )
    sh = pd.DataFrame(
        {
            "deal_id": ["D1"] * 5 + ["D2"] * 3 + ["D3"] * 2,
            "entered_at": [
                ts("2025-01-01"),
                ts("2025-01-10"),
                ts("2025-01-20"),
                ts("2025-02-01"),
                ts("2025-02-15"),
                ts("2025-01-05"),
                ts("2025-01-15"),
                ts("2025-02-01"),
                ts("2025-02-01"),
                ts("2025-02-20"),
            ],
            "stage": [
                "qualification",
                "needs_analysis",
                "proposal",
                "negotiation",
                "contract",
                "qualification",
                "needs_analysis",
                "proposal",
                "qualification",
                "needs_analysis",
            ],
        }
    )
    acts = pd.DataFrame(
        {
            "activity_id": [f"A{i}" for i in range(6)],
            "customer_id": ["C1", "C1", "C2", "C2", "C1", "C1"],
            "deal_id": ["D1", "D1", "D2", "D2", "D3", "D3"],
            "rep_id": ["R001", "R001", "R001", "R001", "R002", "R002"],
            "kind": ["visit", "message", "call", "message", "visit", "message"],
            "channel": ["onsite", "wechat", "phone", "wechat", "onsite", "wechat"],
            "occurred_at": [
                ts("2025-01-03"),
                ts("2025-01-12"),
                ts("2025-01-07"),
                ts("2025-01-16"),
                ts("2025-02-03"),
                ts("2025-02-10"),
            ],
            "duration_min": [60.0, None, 10.0, None, 45.0, None],
            "responded_at": [
                pd.NaT,
                ts("2025-01-12 05:00"),
                pd.NaT,
                ts("2025-01-18"),
                pd.NaT,
                ts("2025-03-01"),
            ],
            "quality": [4.0, None, None, None, 3.0, None],
        }
    )
    quotes = pd.DataFrame(
        {
            "quote_id": ["Q1", "Q2", "Q3"],
            "deal_id": ["D1", "D1", "D3"],
            "version": [1, 2, 1],
            "sent_at": [ts("2025-01-21"), ts("2025-01-28"), ts("2025-02-12")],
            "first_viewed_at": [ts("2025-01-22"), ts("2025-01-29"), ts("2025-02-13")],
            "replied_at": [ts("2025-01-25"), ts("2025-01-30"), ts("2025-03-10")],
            "amount": [10000.0, 9000.0, 8000.0],
        }
    )
    collab = pd.DataFrame(
        {
            "event_id": ["E1", "E2", "E3", "E4", "E5"],
            "deal_id": ["D1", "D1", "D3", "D3", "D3"],
            "role": ["technical", "technical", "technical", "technical", "commercial"],
            "actor_id": ["R001", "R003", "R002", "R003", "R002"],
            "kind": ["request", "response", "plan_revision", "plan_revision", "terms_revision"],
            "occurred_at": [
                ts("2025-01-11"),
                ts("2025-01-12"),
                ts("2025-02-05"),
                ts("2025-02-25"),
                ts("2025-02-14"),
            ],
            "request_id": [None, "E1", None, None, None],
            "quality": [None, 4.0, None, None, None],
        }
    )
    customers = pd.DataFrame(
        {
            "customer_id": ["C1", "C2"],
            "segment": ["key_account", "small_business"],
            "region": ["华东", "华南"],
            "source_channel": ["wechat", "referral"],
            "created_at": [ts("2024-12-01"), ts("2024-12-15")],
            "store_id": [None, None],
        }
    )
    return SalesData(
        {
            "deals": deals,
            "stage_history": sh,
            "activities": acts,
            "quotes": quotes,
            "collab_events": collab,
            "customers": customers,
        }
    )
