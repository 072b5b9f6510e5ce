"""Shared fixtures of the potential tests: the demo world with planted lead quality."""

from __future__ import annotations

import pandas as pd
import pytest

#: Monthly backtest origins of the demo world.
ORIGINS = ("2026-02-01", "2026-07-01")


@pytest.fixture(scope="session")
def quality_demo():
    """``simulate(preset="demo", seed=0, lead_quality=True)``: (data, truth)."""
    from salesml.simulator import simulate

    return simulate(preset="demo", seed=0, lead_quality=True)


@pytest.fixture(scope="session")
def lead_snaps(quality_demo):
    """Weekly lead snapshots from 2025-06 plus the monthly origins (90-day horizon)."""
    from salesml.potential import lead_snapshots

    data, _ = quality_demo
    weekly = pd.date_range("2025-06-02", ORIGINS[1], freq="W-MON")
    dates = weekly.union(pd.date_range(*ORIGINS, freq="MS"))
    return lead_snapshots(data, as_of=dates, horizon_days=90)


@pytest.fixture(scope="session")
def lead_backtest(quality_demo, lead_snaps):
    """The lead backtest at six monthly origins (2026-02 .. 2026-07) of the demo world."""
    from salesml.potential import backtest

    data, _ = quality_demo
    return backtest(
        data, kind="lead", start=ORIGINS[0], end=ORIGINS[1], freq="MS", snapshots=lead_snaps
    )
