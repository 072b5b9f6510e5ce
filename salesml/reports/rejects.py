"""Rows a dataset lost before a report saw them: rejected at import, or quarantined at load.

A report header and ``run.json`` count both, per table, so a report never says "all
rows passed" about a dataset whose import dropped rows. The import quarantine is the
one ``salesml import`` stores with the dataset (:mod:`salesml.data.quarantine`); rows a
mapping's filter skipped on purpose are not rejections and are not counted here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from salesml.data.bundle import SalesData
from salesml.data.quarantine import QUARANTINE_FILE, quarantine_counts, read_stored_quarantine

__all__ = ["Rejected", "rejected_rows"]


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
        counts = quarantine_counts(read_stored_quarantine(Path(folder)))
        for table, n in counts["rejected_at_import"].items():
            if n > 0:
                out.append(Rejected(str(table), "import", int(n), QUARANTINE_FILE))
    v = data.validation
    if v is not None and len(v.counts) and "quarantined" in v.counts:
        q = v.counts["quarantined"]
        for table, n in q[q > 0].items():
            out.append(Rejected(str(table), "load", int(n)))
    return out
