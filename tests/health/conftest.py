"""Shared fixtures for the deal-health tests: one demo dataset, weekly snapshots, one fit."""

from __future__ import annotations

import pandas as pd
import pytest

from salesml.health import DealHealthModel, deal_snapshots

#: Held-out origin: the model trains on what was known before it and is scored after it.
ORIGIN = pd.Timestamp("2026-06-01")
SNAPSHOT_DATES = pd.date_range("2025-06-01", "2026-10-31", freq="W-MON")


@pytest.fixture(scope="session")
def demo(demo_data):
    """``(data, truth)`` of the demo preset, seed 0 (the session-wide fixture)."""
    return demo_data


@pytest.fixture(scope="session")
def demo_snapshots(demo):
    """Weekly snapshots over the whole demo window (about 16k rows)."""
    data, _ = demo
    return deal_snapshots(data, as_of=SNAPSHOT_DATES, fingerprint=False)


@pytest.fixture(scope="session")
def split(demo_snapshots):
    """Training rows known at ORIGIN, and held-out rows taken at or after it."""
    s = demo_snapshots
    train = s.loc[(s["as_of"] < ORIGIN) & (s["label_known_at"] <= ORIGIN)]
    test = s.loc[(s["as_of"] >= ORIGIN) & s["label"].notna()]
    return train, test


@pytest.fixture(scope="session")
def fitted(split):
    """A LightGBM-engine model fit on the training split."""
    train, _ = split
    return DealHealthModel().fit(train)
