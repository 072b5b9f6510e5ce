"""Fixtures of the data-layer tests: a small clean simulation and the dirty demo."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def small_data():
    """A small clean simulated dataset (about 2,600 rows over 15 tables)."""
    from salesml.simulator import simulate

    data, _ = simulate(preset="tiny", seed=0, n_customers=40, n_deals=50, n_reps=6, months=4)
    return data


@pytest.fixture(scope="session")
def dirty_demo():
    """``simulate(preset="demo", seed=0, dirty=True)``: raw string tables and the truth."""
    from salesml.simulator import simulate

    return simulate(preset="demo", seed=0, dirty=True)


@pytest.fixture(scope="session")
def dirty_report(dirty_demo):
    """The validation report of the dirty demo, validated in memory."""
    from salesml.data.validate import validate

    raw, _ = dirty_demo
    return validate(raw)
