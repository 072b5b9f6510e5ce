"""A hand-made deals-only dataset shaped like a public CRM sample export (issue 8).

The export it imitates has ``opportunity_id, sales_agent, product, account,
deal_stage (Prospecting/Engaging/Won/Lost), engage_date, close_date, close_value``,
35 agents in 3 regional offices, 85 accounts and 7 products, and nothing else: no
stage history, no activities, no quotes, no collaboration events. Mapped the way a
new user maps it:

- ``close_value`` -> ``amount``: the *realised* value, so a lost deal has amount 0 and
  an open deal none at all (the leak the guard must name);
- Won/Lost -> ``outcome``; the stage of a closed deal is the last open stage
  (``engaging``);
- the regional office -> ``reps.region``; the account's office location ->
  ``customers.region``; the sector (with the export's typo ``technolgy``) ->
  ``customers.segment``; account-less deals -> a placeholder customer;
- currency USD.

Outcomes are drawn independently of everything a snapshot can see (a 62% win rate
among closed deals), so no model can beat the historic win rate by stage: the honest
answer is the baseline's.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from salesml.data.bundle import SalesData
from salesml.data.config import DatasetConfig

OFFICES = ("Central", "East", "West")
PRODUCTS = {
    "GTX Basic": 550.0,
    "GTX Pro": 4821.0,
    "GTXPro": 4821.0,  # the export's typo, loaded as another product
    "MG Special": 55.0,
    "MG Advanced": 3393.0,
    "GTX Plus Pro": 5482.0,
    "GTK 500": 26768.0,
}
SECTORS = ("technolgy", "retail", "medical", "software", "finance", "marketing")
LOCATIONS = ("United States", "Philipines", "Kenya", "Norway", "Japan")


def crm_export(seed: int = 8, n_deals: int = 1400) -> SalesData:
    """The mapped export (``deals``, ``reps``, ``customers``; USD)."""
    rng = np.random.default_rng(seed)
    reps = pd.DataFrame(
        {
            "rep_id": [f"agent_{i:02d}" for i in range(35)],
            "name": [f"Agent {i:02d}" for i in range(35)],
            "team": [f"manager_{i % 6}" for i in range(35)],
            "region": [OFFICES[i % 3] for i in range(35)],
            "role": "rep",
            "manager_id": [None] * 35,
            "hired_at": pd.Timestamp("2016-01-04"),
        }
    )
    accounts = [f"account_{i:02d}" for i in range(85)]
    customers = pd.DataFrame(
        {
            "customer_id": [*accounts, "(no account)"],
            "segment": [SECTORS[i % len(SECTORS)] for i in range(85)] + ["unknown"],
            "region": [LOCATIONS[i % len(LOCATIONS)] for i in range(85)] + ["unknown"],
            "created_at": pd.Timestamp("2016-01-01"),
        }
    )
    start, end = pd.Timestamp("2016-10-20"), pd.Timestamp("2017-12-31")
    span = (end - start).days
    engage = start + pd.to_timedelta(rng.integers(0, span, n_deals), unit="D")
    closes = engage + pd.to_timedelta(rng.integers(5, 80, n_deals), unit="D")
    closed = closes <= end
    won = rng.random(n_deals) < 0.62
    outcome = np.where(~closed, "open", np.where(won, "won", "lost"))
    products = rng.choice(list(PRODUCTS), n_deals)
    price = np.array([PRODUCTS[p] for p in products])
    value = np.round(price * rng.uniform(0.8, 1.1, n_deals))
    amount = np.where(outcome == "won", value, np.where(outcome == "lost", 0.0, np.nan))
    # open deals: most have no account yet, about half are still prospecting
    no_account = (outcome == "open") & (rng.random(n_deals) < 0.75)
    account = np.where(no_account, "(no account)", rng.choice(accounts, n_deals))
    stage = np.where((outcome == "open") & (rng.random(n_deals) < 0.5), "prospecting", "engaging")
    deals = pd.DataFrame(
        {
            "deal_id": [f"OPP{i:05d}" for i in range(n_deals)],
            "customer_id": account,
            "rep_id": rng.choice(reps["rep_id"].to_numpy(), n_deals),
            "lead_id": [None] * n_deals,
            "created_at": engage,
            "stage": stage,
            "amount": amount,
            "product_line": products,
            "outcome": outcome,
            "closed_at": pd.Series(closes).where(closed, pd.NaT).to_numpy(),
        }
    )
    config = DatasetConfig(
        name="crm_export", currency="USD", timezone="UTC", stage_order=["prospecting", "engaging"]
    )
    return SalesData({"deals": deals, "reps": reps, "customers": customers}, config)
