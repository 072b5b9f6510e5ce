"""Write ``leads.csv``: a marketing-automation lead export (one flat table, no dates).

The shape of a typical form-and-scoring tool's export: one row per lead, the form's
categorical answers (company size, industry, role, budget, timeline, how they heard
of us, pages visited), a ``Converted`` flag, and two columns written *after* the
outcome by sales (``Sales Notes`` and ``Lead Status`` tags such as "Closed - Customer")
that a model must not learn from. Conversion follows a planted logit of the form
answers (seeded), so a score can be checked against it. Run from the repository root::

    python datasets/examples/marketing_leads/make_export.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

N = 1500
SEED = 15


def make_export(n: int = N, seed: int = SEED) -> pd.DataFrame:
    """The export as a frame (``Converted`` is ``Yes``/``No``; ``p_planted`` separately)."""
    rng = np.random.default_rng(seed)
    size = rng.choice(["1-10", "11-50", "51-200", "201-1000", "1000+"], n)
    industry = rng.choice(["Construction", "Real estate", "Retail", "Hospitality", "Other"], n)
    role = rng.choice(["Owner", "Project manager", "Purchaser", "Student", "Other"], n)
    budget = rng.choice(["<50k", "50k-200k", ">200k", "Not sure"], n, p=[0.35, 0.3, 0.15, 0.2])
    timeline = rng.choice(["This month", "This quarter", "This year", "Just looking"], n)
    source = rng.choice(["Google", "WeChat article", "Trade fair", "Friend", "Other"], n)
    pages = rng.poisson(4, n)
    eta = (
        -2.2
        + np.select([size == "201-1000", size == "1000+", size == "1-10"], [0.6, 0.8, -0.4], 0.0)
        + np.select([budget == ">200k", budget == "50k-200k", budget == "Not sure"], [1.2, 0.6, -0.3], 0.0)
        + np.select([timeline == "This month", timeline == "This quarter", timeline == "Just looking"], [1.0, 0.5, -1.0], 0.0)
        + np.where(role == "Student", -1.5, 0.0)
        + np.where(source == "Friend", 0.5, 0.0)
        + 0.12 * pages
    )
    p = 1 / (1 + np.exp(-eta))
    converted = rng.random(n) < p
    notes = np.where(
        converted,
        rng.choice(["Signed after site visit", "PO received", "Won - repeat order"], n),
        np.where(rng.random(n) < 0.3, "No answer", ""),
    )
    status = np.where(
        converted,
        "Closed - Customer",
        rng.choice(["Nurturing", "Unqualified", "Closed - Lost"], n),
    )
    out = pd.DataFrame(
        {
            "Lead ID": [f"MA-{i:05d}" for i in range(1, n + 1)],
            "Company Size": size,
            "Industry": industry,
            "Job Role": role,
            "Budget": budget,
            "Timeline": timeline,
            "How did you hear about us": source,
            "Pages Visited": pages,
            "Sales Notes": notes,
            "Lead Status": status,
            "Converted": np.where(converted, "Yes", "No"),
        }
    )
    out.attrs["p_planted"] = p
    return out


if __name__ == "__main__":
    here = Path(__file__).parent
    frame = make_export()
    frame.to_csv(here / "leads.csv", index=False)
    pd.Series(frame.attrs["p_planted"], name="p_planted").round(6).to_csv(
        here / "planted.csv", index=False
    )
