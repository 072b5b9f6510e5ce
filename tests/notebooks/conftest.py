"""Fixtures for executing the committed notebooks with tiny parameters."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def tiny_saved(tiny_dataset: Path) -> tuple[Path, str]:
    """The shared ``tiny`` dataset (tests/conftest.py) and its last complete month."""
    from salesml.demo import latest_complete_month

    return tiny_dataset, latest_complete_month(tiny_dataset)
