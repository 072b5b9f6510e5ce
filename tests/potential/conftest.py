"""Shared fixtures of the potential tests: the demo world with planted lead quality."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def quality_demo():
    """``simulate(preset="demo", seed=0, lead_quality=True)``: (data, truth)."""
    from salesml.simulator import simulate

    return simulate(preset="demo", seed=0, lead_quality=True)


@pytest.fixture(scope="session")
def lead_backtest(quality_demo):
    """The lead backtest at six monthly origins (2026-02 .. 2026-07) of the demo world."""
    from salesml.potential import backtest

    data, _ = quality_demo
    return backtest(data, kind="lead", start="2026-02-01", end="2026-07-01", freq="MS")
