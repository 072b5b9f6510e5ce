"""Write the hand-made export of this folder (run once; the CSV files are committed).

It has the shape and the dirt of a public CRM sample export (opportunities with
sales agents, accounts, products with list prices, agents in regional offices):

- ``sales_pipeline.csv``: ``opportunity_id, sales_agent, product, account,
  deal_stage (Prospecting/Engaging/Won/Lost), engage_date, close_date, close_value``;
  open deals have no ``close_value`` and no ``close_date``, lost deals have
  ``close_value`` 0; about two thirds of the open deals have no account; Prospecting
  deals have no date at all; a few closed deals lack the engage date (the close date
  is there); the product ``GTX Pro`` is mostly written ``GTXPro``; ``MG Ultra`` is not
  in the product list; deals of the account ``Internal Test`` are test records; some
  account names carry a trailing space.
- ``accounts.csv``: ``account, sector, year_established, revenue, employees,
  office_location, subsidiary_of``, with ``technolgy`` beside ``technology`` and
  ``Philipines`` beside ``Philippines``.
- ``products.csv``: ``product, series, sales_price``.
- ``sales_teams.csv``: ``sales_agent, manager, regional_office`` (managers are not agents).

``python datasets/examples/sales_pipeline/make_export.py`` rewrites the files
(seeded, so identically).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).parent
rng = np.random.default_rng(20240611)

products = pd.DataFrame(
    {
        "product": ["GTX Basic", "GTX Pro", "MG Special", "MG Advanced", "GTX Plus Pro",
                    "GTX Plus Basic", "GTK 500"],
        "series": ["GTX", "GTX", "MG", "MG", "GTX", "GTX", "GTK"],
        "sales_price": [550, 4821, 55, 3393, 5482, 1096, 26768],
    }
)

offices = {"Central": "Dustin Brinkmann", "East": "Cara Losch", "West": "Summer Sewald"}
first = ["Anna", "Boris", "Cecily", "Darcel", "Elease", "Garret", "Hayden", "Jonathan",
         "Kami", "Lajuana", "Markita", "Niesha", "Reed", "Versie", "Violet"]
last = ["Snell", "Otwell", "Lampkin", "Schlecht", "Marsters", "Delafuente", "Hagans",
        "Berthelot", "Bicknell", "Vanaman", "Hansen", "Gloster", "Clapper", "Hillebrand",
        "Mclain"]
agents = [f"{a} {b}" for a, b in zip(first, last, strict=True)]
teams = pd.DataFrame(
    {
        "sales_agent": agents,
        "manager": [list(offices.values())[i % 3] for i in range(len(agents))],
        "regional_office": [list(offices)[i % 3] for i in range(len(agents))],
    }
)

sectors = (["technology"] * 7 + ["technolgy"] * 3 + ["medical"] * 4 + ["retail"] * 5
           + ["software"] * 4 + ["finance"] * 4 + ["marketing"] * 3)
locations = (["United States"] * 20 + ["Philipines"] * 2 + ["Philippines"] * 1
             + ["Kenya", "Norway", "Japan", "Italy", "Panama", "Poland", "Brazil"])
syllables = ["ac", "bel", "cor", "dan", "ex", "fin", "gol", "hat", "ion", "jet", "kin", "lum",
             "mor", "nex", "opt", "plex", "qua", "ron", "sun", "tri", "vol", "zen"]
names: list[str] = []
while len(names) < len(sectors):
    n = "".join(rng.choice(syllables, size=2)).capitalize() + rng.choice(
        [" Corp", "tech", " Inc", "s", "ex", " Group"]
    )
    if n not in names:
        names.append(n)
accounts = pd.DataFrame(
    {
        "account": names,
        "sector": rng.permutation(sectors),
        "year_established": rng.integers(1979, 2017, len(names)),
        "revenue": np.round(rng.uniform(4, 11000, len(names)), 2),
        "employees": rng.integers(9, 30000, len(names)),
        "office_location": rng.permutation(locations),
        "subsidiary_of": [""] * len(names),
    }
)
accounts.loc[[3, 11], "subsidiary_of"] = names[0]
accounts.loc[len(accounts)] = ["Internal Test", "software", 2016, 0, 1, "United States", ""]

n_deals = 640
stage = rng.choice(["Won", "Lost", "Engaging", "Prospecting"], size=n_deals,
                   p=[0.48, 0.30, 0.14, 0.08])
product = rng.choice(products["product"], size=n_deals, p=[.2, .12, .2, .15, .13, .12, .08])
engage = pd.Timestamp("2016-10-20") + pd.to_timedelta(rng.integers(0, 420, n_deals), "D")
cycle = pd.to_timedelta(rng.integers(1, 138, n_deals), "D")
price = products.set_index("product")["sales_price"].reindex(product).to_numpy()
deals = pd.DataFrame(
    {
        "opportunity_id": ["".join(rng.choice(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"), 8))
                           for _ in range(n_deals)],
        "sales_agent": rng.choice(agents, size=n_deals),
        "product": product,
        "account": rng.choice(names, size=n_deals),
        "deal_stage": stage,
        "engage_date": engage.strftime("%Y-%m-%d"),
        "close_date": (engage + cycle).strftime("%Y-%m-%d"),
        "close_value": np.where(
            stage == "Won", np.round(price * rng.uniform(0.85, 1.1, n_deals)).astype(int), 0
        ).astype(str),
    }
)
open_ = np.isin(stage, ["Engaging", "Prospecting"])
deals.loc[open_, ["close_date", "close_value"]] = ""
deals.loc[stage == "Prospecting", "engage_date"] = ""
no_account = open_ & (rng.random(n_deals) < 0.68)
deals.loc[no_account, "account"] = ""
closed_idx = np.flatnonzero(~open_)
deals.loc[rng.choice(closed_idx, 6, replace=False), "engage_date"] = ""
deals.loc[deals["product"] == "GTX Pro", "product"] = np.where(
    rng.random(int((deals["product"] == "GTX Pro").sum())) < 0.85, "GTXPro", "GTX Pro"
)
deals.loc[rng.choice(closed_idx, 3, replace=False), "product"] = "MG Ultra"
test_rows = rng.choice(closed_idx, 4, replace=False)
deals.loc[test_rows, "account"] = "Internal Test"
spaced = rng.choice(np.flatnonzero(deals["account"].str.len() > 0), 5, replace=False)
deals.loc[spaced, "account"] = deals.loc[spaced, "account"] + " "

if __name__ == "__main__":
    products.to_csv(HERE / "products.csv", index=False)
    teams.to_csv(HERE / "sales_teams.csv", index=False)
    accounts.to_csv(HERE / "accounts.csv", index=False)
    deals.to_csv(HERE / "sales_pipeline.csv", index=False)
    print(f"wrote {len(deals)} deals, {len(accounts)} accounts, {len(teams)} agents")
