"""Session fixtures shared by every test folder.

- ``demo_data``: ``(SalesData, Truth)`` of ``simulate(preset="demo", seed=0)``, built
  once per session. Treat it as read-only (every salesml transform is pure).
- ``demo_dataset_dir``: that dataset written once as a Parquet dataset folder, with
  its truth in ``<dir>/truth``.
- ``tmp_dataset``: a factory ``tmp_dataset(data, format="parquet", encoding="utf-8")``
  that writes a bundle into a fresh folder under ``tmp_path`` and returns the path.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from salesml.data.bundle import SalesData


@pytest.fixture(scope="session")
def demo_data():
    """``simulate(preset="demo", seed=0)``: (data, truth), shared by the whole session."""
    from salesml.data.simulate import simulate

    return simulate(preset="demo", seed=0)


@pytest.fixture(scope="session")
def demo_dataset_dir(demo_data, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo dataset saved once as Parquet (truth in ``<dir>/truth``)."""
    from salesml.data.io import save_dataset

    data, truth = demo_data
    folder = tmp_path_factory.mktemp("demo_dataset")
    save_dataset(data, folder)
    truth.save(folder / "truth")
    return folder


@pytest.fixture
def tmp_dataset(tmp_path: Path) -> Callable[..., Path]:
    """Factory writing a bundle to a new folder under ``tmp_path``; returns the folder."""
    from salesml.data.io import save_dataset

    counter = iter(range(1_000_000))

    def write(data: SalesData, format: str = "parquet", encoding: str = "utf-8") -> Path:
        folder = tmp_path / f"dataset{next(counter)}"
        return save_dataset(data, folder, format=format, encoding=encoding)  # type: ignore[arg-type]

    return write
