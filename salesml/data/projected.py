"""Projected compact loads: what one analysis reads of a dataset folder.

:func:`load_projected` loads the present ones of some tables, compact, and of the big
ones only the columns the analysis reads (those their files have). Deal health
(:func:`salesml.health.load_health_data`) and lead potential
(:func:`salesml.potential.weekly.load_potential_data`) load through it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from salesml.data.bundle import SalesData
from salesml.data.config import DatasetConfig
from salesml.data.folder import TEXT_SUFFIXES, dataset_folder, find_table_files, table_parts
from salesml.data.io import load_dataset

__all__ = ["load_projected"]


def load_projected(
    path: str | Path,
    tables: Iterable[str],
    columns: Mapping[str, Iterable[str]],
    **options: Any,
) -> SalesData:
    """Load what one analysis reads: the present ones of ``tables``, compact, and of the
    tables named in ``columns`` only those columns (the ones their files have).

    A table stored as text (CSV, Excel) is read whole (it is mapped on import, so its
    columns are only known once read). ``options`` go to :func:`load_dataset`
    (``validate``, ``period``...; ``progress`` is off unless given).

    Parameters
    ----------
    path
        The dataset folder.
    tables
        The tables to load where present.
    columns
        Table -> the columns the analysis reads.
    **options
        More keywords of :func:`load_dataset`.

    Returns
    -------
    SalesData
        As :func:`load_dataset` with ``compact=True`` returns it.
    """
    import pyarrow.parquet as pq

    folder = dataset_folder(path)
    present = find_table_files(folder, DatasetConfig.read(folder))
    wanted = [t for t in tables if t in present]
    projected: dict[str, list[str]] = {}
    for t in wanted:
        p = present[t]
        parts = [] if p.suffix.lower() in TEXT_SUFFIXES else table_parts(p, folder, t)
        if t in columns and parts:
            have = set(pq.read_schema(parts[0]).names)
            projected[t] = [c for c in columns[t] if c in have]
    options = {"progress": False, **options}
    return load_dataset(folder, tables=wanted, columns=projected, compact=True, **options)
