"""Rows a dataset lost before a report saw them: rejected at import, or quarantined at load.

A report header and ``run.json`` count both, per table, so a report never says "all
rows passed" about a dataset whose import dropped rows.

The import quarantine is stored with the dataset by ``salesml import``. This module
reads it through :func:`salesml.data.quarantine.read_stored_quarantine` when that
function exists (``read_stored_quarantine(folder) -> DataFrame | None``, one row
per rejected row and broken rule, with at least a ``table`` column and, to count
rows rather than broken rules, ``row`` or ``line`` and ``file``). Until it does, it
reads ``quarantine.parquet`` or ``quarantine.csv`` of the dataset folder itself.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pandas as pd

from salesml.data.bundle import SalesData

__all__ = ["STORED_QUARANTINE_FILES", "Rejected", "rejected_rows"]

#: File names of the import quarantine in a dataset folder, in the order looked for.
STORED_QUARANTINE_FILES: tuple[str, ...] = ("quarantine.parquet", "quarantine.csv")


@dataclass(frozen=True)
class Rejected:
    """Rows of one table a dataset lost at one step.

    Attributes
    ----------
    table
        The table (``deals``).
    source
        ``"import"`` (rejected by ``salesml import``, kept in the dataset folder) or
        ``"load"`` (quarantined by validation when the report loaded the data).
    rows
        Distinct rows rejected.
    file
        Where to see them: the stored quarantine's file name for ``import``;
        ``None`` for ``load`` (``salesml validate --quarantine-out`` lists them).
    """

    table: str
    source: Literal["import", "load"]
    rows: int
    file: str | None = None


def _stored_reader() -> Callable[[Path], pd.DataFrame | None]:
    """The data layer's reader of the stored quarantine, else the fallback below."""
    try:
        module = importlib.import_module("salesml.data.quarantine")
    except ImportError:
        return _read_fallback
    reader = getattr(module, "read_stored_quarantine", None)
    return reader if callable(reader) else _read_fallback


def _read_fallback(folder: Path) -> pd.DataFrame | None:
    for name in STORED_QUARANTINE_FILES:
        path = folder / name
        if path.is_file():
            if name.endswith(".parquet"):
                return pd.read_parquet(path)
            return pd.read_csv(path, dtype=str, keep_default_na=False)
    return None


def _stored_file(folder: Path) -> str | None:
    return next((n for n in STORED_QUARANTINE_FILES if (folder / n).is_file()), None)


def _distinct_rows(q: pd.DataFrame) -> pd.Series:
    """Rejected rows per table: one quarantine record per broken rule, so deduplicate."""
    key = next(
        (
            cols
            for cols in (["file", "row"], ["file", "line"], ["row"], ["line"])
            if set(cols) <= set(q)
        ),
        None,
    )
    frame = q.drop_duplicates(["table", *key]) if key else q
    return frame["table"].astype(str).value_counts().sort_index()


def rejected_rows(data: SalesData) -> list[Rejected]:
    """Rows lost at import (stored with the dataset) and at load, per table.

    Parameters
    ----------
    data
        A bundle loaded from a folder (``data.source``); import rejections are read
        from that folder, load quarantines from ``data.validation``.

    Returns
    -------
    list of Rejected
        Import rejections first, then load quarantines; tables with none left out.
    """
    out: list[Rejected] = []
    folder = data.source
    if folder is not None and Path(folder).is_dir():
        stored = _stored_reader()(Path(folder))
        if stored is not None and len(stored) and "table" in stored:
            where = _stored_file(Path(folder)) or "quarantine.parquet"
            for table, n in _distinct_rows(stored).items():
                out.append(Rejected(str(table), "import", int(n), where))
    v = data.validation
    if v is not None and len(v.counts) and "quarantined" in v.counts:
        q = v.counts["quarantined"]
        for table, n in q[q > 0].items():
            out.append(Rejected(str(table), "load", int(n)))
    return out
