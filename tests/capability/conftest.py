"""Fixtures of the capability tests: demo scores computed once."""

from __future__ import annotations

import pytest

from salesml.capability import capability_scores


@pytest.fixture(scope="module")
def demo_scores(demo_data):
    """``capability_scores`` of the demo dataset (seed 0), default window."""
    data, _ = demo_data
    return capability_scores(data)
