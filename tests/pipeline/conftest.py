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


# A deals-only dataset shaped like a public CRM sample export after `salesml import`:
# opportunities with a deal_stage of Prospecting / Engaging / Won / Lost, agents in three
# regional offices (English names), accounts by country, amounts in USD, open deals
# without an amount yet (the realised close_value is not known before close), one
# opportunity without an account, one closed deal without a close date, and no
# stage_history at all.
CRM_OPPORTUNITIES = """\
opportunity_id,sales_agent,product,account,deal_stage,engage_date,close_date,list_price
O01,Anna Snell,GTX Pro,Kinexs,Won,2017-01-02,2017-01-12,4821
O02,Anna Snell,GTX Basic,Kinexs,Lost,2017-01-03,2017-01-23,550
O03,Anna Snell,MG Special,Zengols,Won,2017-01-05,2017-02-04,55
O04,Anna Snell,GTX Pro,Zengols,Engaging,2017-01-20,,
O05,Boris Otwell,GTX Basic,Zensuntech,Lost,2017-01-04,2017-01-09,550
O06,Boris Otwell,GTX Pro,Zensuntech,Won,2017-01-06,2017-01-26,4821
O07,Boris Otwell,MG Advanced,Kinexs,Engaging,2017-02-01,,3393
O08,Boris Otwell,GTX Basic,,Prospecting,2017-02-10,,
O09,Cecily Lampkin,GTX Pro,Zengols,Lost,2017-01-10,2017-02-19,4821
O10,Cecily Lampkin,MG Special,Zensuntech,Won,2017-01-11,2017-01-16,55
O11,Cecily Lampkin,GTX Basic,Kinexs,Engaging,2017-02-05,,550
O12,Cecily Lampkin,GTX Pro,Kinexs,Prospecting,2017-02-15,,
O13,Darcel Schlecht,MG Advanced,Zengols,Won,2017-01-15,,3393
O14,Darcel Schlecht,GTX Basic,Zensuntech,Lost,2017-01-16,2017-01-31,550
"""
CRM_AGENTS = """\
sales_agent,manager,regional_office
Anna Snell,Dustin Brinkmann,Central
Boris Otwell,Cara Losch,East
Cecily Lampkin,Summer Sewald,West
Darcel Schlecht,Dustin Brinkmann,Central
"""
CRM_ACCOUNTS = """\
account,sector,year_established,office_location
Kinexs,medical,2005,Philippines
Zengols,medical,1985,Italy
Zensuntech,marketing,1998,United States
(no account),unknown,2017,(unknown)
"""


def build_crm(region_source: str = "rep") -> SalesData:
    """The CRM-shaped deals-only dataset (reps, customers, deals; USD; no stage history).

    Mapped the way the worked example's mapping maps the export: Won/Lost become the
    outcome with the deal left at ``engaging``, every other stage name is the stage of
    an open deal; ``amount`` is the list price, known for some open deals only.
    """
    import io

    from salesml.data.config import DatasetConfig

    opp = pd.read_csv(io.StringIO(CRM_OPPORTUNITIES), dtype={"list_price": "float64"})
    agents = pd.read_csv(io.StringIO(CRM_AGENTS))
    accounts = pd.read_csv(io.StringIO(CRM_ACCOUNTS))
    outcome = opp["deal_stage"].map({"Won": "won", "Lost": "lost"}).fillna("open")
    stage = opp["deal_stage"].map({"Prospecting": "prospecting"}).fillna("engaging")
    deals = pd.DataFrame(
        {
            "deal_id": opp["opportunity_id"],
            "customer_id": opp["account"].fillna("(no account)"),
            "rep_id": opp["sales_agent"],
            "created_at": pd.to_datetime(opp["engage_date"]),
            "stage": stage,
            "amount": opp["list_price"].where(outcome != "open", opp["list_price"]),
            "product_line": opp["product"],
            "outcome": outcome,
            "closed_at": pd.to_datetime(opp["close_date"]),
        }
    )
    # closed deals carry the realised value as their amount, as the import fills it
    deals.loc[outcome != "open", "amount"] = opp.loc[outcome != "open", "list_price"]
    reps = pd.DataFrame(
        {
            "rep_id": agents["sales_agent"],
            "name": agents["sales_agent"],
            "team": agents["manager"],
            "region": agents["regional_office"],
            "role": "sales",
            "manager_id": None,
            "hired_at": pd.Timestamp("2015-01-01"),
        }
    )
    customers = pd.DataFrame(
        {
            "customer_id": accounts["account"],
            "segment": accounts["sector"],
            "region": accounts["office_location"],
            "source_channel": "unknown",
            "created_at": pd.to_datetime(accounts["year_established"].astype(str), format="%Y"),
        }
    )
    config = DatasetConfig.from_dict(
        {
            "name": "crm-sample",
            "currency": "USD",
            "timezone": "America/New_York",
            "stage_order": ["prospecting", "engaging"],
            "region_source": region_source,
        }
    )
    return SalesData({"reps": reps, "customers": customers, "deals": deals}, config)


@pytest.fixture(scope="module")
def crm() -> SalesData:
    """:func:`build_crm` with ``region_source: rep`` (the agents' offices are the regions)."""
    return build_crm()


@pytest.fixture(scope="module")
def crm_by_customer() -> SalesData:
    """:func:`build_crm` with ``region_source: customer`` (the default)."""
    return build_crm("customer")
