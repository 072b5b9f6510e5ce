"""A toy lead-scoring model on the scoring layer, shared by the scoring tests.

A module of its own (not the conftest) so that test modules can import it by a unique
name: ``from conftest import ...`` picks whichever conftest pytest loaded last.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pandas as pd

from salesml.scoring import Phrasing, ScoringModel


class LeadModel(ScoringModel):
    """A lead-like configuration: two numeric features, one channel, label "converted"."""

    kind: ClassVar[str] = "tests.LeadModel"
    id_column: ClassVar[str] = "lead_id"
    score_column: ClassVar[str] = "potential"
    numeric_features: ClassVar[tuple[str, ...]] = ("response_hours", "visits", "noise")
    categorical_features: ClassVar[tuple[str, ...]] = ("channel",)
    default_features: ClassVar[tuple[str, ...]] = ("response_hours", "visits", "noise", "channel")
    small_data_features: ClassVar[tuple[str, ...]] = ("response_hours", "visits")
    log_features: ClassVar[frozenset[str]] = frozenset({"response_hours"})
    monotone_decreasing: ClassVar[tuple[str, ...]] = ("response_hours",)
    keep_columns: ClassVar[tuple[str, ...]] = ("lead_id", "as_of", "channel")
    phrasing: ClassVar[Phrasing] = Phrasing(prefix="tests.reason", context=frozenset({"channel"}))


def lead_snapshots(n_leads: int = 1500, seed: int = 0) -> pd.DataFrame:
    """Weekly snapshots of leads with a planted conversion probability ``p_true``."""
    rng = np.random.default_rng(seed)
    weeks = pd.date_range("2025-01-06", periods=30, freq="W-MON")
    lead = np.arange(n_leads)
    start = rng.integers(0, len(weeks) - 3, n_leads)
    rows = []
    for k in range(3):  # each lead seen in three consecutive weeks
        rows.append(pd.DataFrame({"lead": lead, "week": start + k, "k": k}))
    df = pd.concat(rows, ignore_index=True)
    resp = rng.gamma(2.0, 6.0, n_leads)
    visits = rng.poisson(2.0, n_leads)
    channel = rng.choice(["web", "store", "referral"], n_leads, p=[0.5, 0.3, 0.2])
    eta = 0.8 - 0.08 * resp + 0.5 * visits + np.where(channel == "referral", 0.7, 0.0) - 1.0
    p = 1 / (1 + np.exp(-eta))
    y = (rng.random(n_leads) < p).astype(float)
    out = pd.DataFrame(
        {
            "lead_id": [f"L{i:05d}" for i in df["lead"]],
            "as_of": weeks[df["week"].to_numpy()],
            "response_hours": resp[df["lead"]] + df["k"].to_numpy(),
            "visits": visits[df["lead"]].astype(float),
            "noise": rng.normal(size=len(df)),
            "channel": channel[df["lead"]],
            "label": y[df["lead"]],
            "p_true": p[df["lead"]],
        }
    )
    out["label_known_at"] = out["as_of"] + pd.Timedelta(days=30)
    out.attrs = {"data_fingerprint": "toy", "horizon_days": 30, "currency": "EUR"}
    return out
