"""Shared fixtures of the attribution tests: one demo dataset and its allocation."""

from __future__ import annotations

import pytest

from salesml.attribution import allocate_costs
from salesml.simulator import simulate


@pytest.fixture(scope="session")
def demo():
    """``(data, truth)`` of the demo preset, seed 0."""
    return simulate(preset="demo", seed=0)


@pytest.fixture(scope="session")
def demo_allocation(demo):
    """The default-rule allocation of the demo dataset."""
    data, _ = demo
    return allocate_costs(data)
