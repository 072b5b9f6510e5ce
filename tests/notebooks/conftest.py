"""Fixtures for executing the committed notebooks with tiny parameters."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def tiny_saved(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The simulator's ``tiny`` preset saved to disk, and its last complete month."""
    from salesml.data.io import save_dataset
    from salesml.demo import latest_complete_month
    from salesml.simulator import simulate

    data, _ = simulate(preset="tiny", seed=5)
    folder = tmp_path_factory.mktemp("nb") / "tiny"
    save_dataset(data, folder)
    return folder, latest_complete_month(data)
