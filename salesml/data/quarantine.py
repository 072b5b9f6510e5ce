"""The quarantine that stays with a dataset: ``quarantine.parquet`` in its folder.

``salesml import`` writes the rows it could not load (and the rows the mapping's
``filter`` skipped) into the dataset folder it creates, so whoever loads the folder
later still knows: :func:`salesml.data.io.load_dataset` reads the file back
(``data.stored_quarantine``), and ``data.quarantine`` holds it together with what
the load itself rejected. ``salesml validate``, ``salesml info``, the data card,
report headers and ``run.json`` count both ("1,588 deals rows were rejected at
import; see quarantine.parquet").

The stored frame has one row per rejected row, broken rule and column
(:data:`STORED_COLUMNS`):

``stage``
    ``import`` (rejected or skipped while importing an export) or ``load``
    (rejected while loading the dataset folder).
``table, file, row, line, key, column, rule, value, message``
    As in :attr:`salesml.data.validate.ValidationReport.quarantine`; for the
    ``import`` stage ``file``, ``row`` and ``line`` refer to the *source* file (row is
    0-based, line counts the header as 1) and ``source_column`` names its column.
``source_column``
    The export's column behind ``column`` (empty when not known).

Rows the mapping's ``filter`` skipped on purpose carry rule :data:`SKIPPED` and are
counted apart: they are not rejections.

Public API: :func:`write_stored_quarantine`, :func:`read_stored_quarantine`,
:func:`quarantine_counts`, :func:`quarantine_headlines`, :func:`dataset_quarantine`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pandas as pd

from salesml.i18n import t

__all__ = [
    "QUARANTINE_FILE",
    "SKIPPED",
    "STAGES",
    "STORED_COLUMNS",
    "dataset_quarantine",
    "empty_stored_quarantine",
    "quarantine_counts",
    "quarantine_headlines",
    "read_stored_quarantine",
    "write_stored_quarantine",
]

#: File name of the stored quarantine inside a dataset folder.
QUARANTINE_FILE = "quarantine.parquet"
#: Rule of the rows a mapping's ``filter`` skipped (counted, not rejected).
SKIPPED = "skipped"
#: Stages a quarantine row can come from.
STAGES: tuple[str, ...] = ("import", "load")
#: Columns of the stored quarantine, in order.
STORED_COLUMNS: tuple[str, ...] = (
    "stage",
    "table",
    "file",
    "row",
    "line",
    "key",
    "column",
    "source_column",
    "rule",
    "value",
    "message",
)
_TEXT = ("stage", "table", "file", "key", "column", "source_column", "rule", "value", "message")
_COUNT_COLUMNS = ("skipped", "rejected_at_import", "rejected_at_load", "rejected")


def empty_stored_quarantine() -> pd.DataFrame:
    """A stored quarantine without rows (the columns and dtypes of :data:`STORED_COLUMNS`)."""
    cols: dict[str, pd.Series] = {c: pd.Series(dtype="str") for c in _TEXT}
    cols["row"] = pd.Series(dtype="int64")
    cols["line"] = pd.Series(dtype="Int64")
    return pd.DataFrame({c: cols[c] for c in STORED_COLUMNS})


def _as_stored(frame: pd.DataFrame, stage: str | None) -> pd.DataFrame:
    """``frame`` with the stored columns, in order and typed; ``stage`` fills a missing stage."""
    if stage is not None and stage not in STAGES:
        raise ValueError(f"stage must be one of {', '.join(STAGES)}, got {stage!r}")
    out = frame.copy()
    if "stage" not in out.columns or stage is not None:
        if stage is None:
            raise ValueError("the quarantine has no 'stage' column: pass stage='import' or 'load'")
        out["stage"] = stage
    for c in STORED_COLUMNS:
        if c not in out.columns:
            out[c] = pd.NA if c == "line" else ("" if c in _TEXT else 0)
    bad = sorted(set(out["stage"].astype("str")) - set(STAGES))
    if bad:
        raise ValueError(f"quarantine stages must be {', '.join(STAGES)}; found {bad}")
    out = out[list(STORED_COLUMNS)].reset_index(drop=True)
    return out.astype({"row": "int64", "line": "Int64", **dict.fromkeys(_TEXT, "str")}).fillna(
        {c: "" for c in _TEXT}
    )


def write_stored_quarantine(
    folder: str | Path, frame: pd.DataFrame, *, stage: str | None = None
) -> Path:
    """Write ``frame`` as the dataset folder's ``quarantine.parquet`` (replacing it).

    An empty frame is written too: it records that the import rejected nothing.

    Parameters
    ----------
    folder
        The dataset folder.
    frame
        Quarantine rows (:attr:`ValidationReport.quarantine` columns, optionally
        ``stage`` and ``source_column``).
    stage
        ``"import"`` or ``"load"`` for every row (required when ``frame`` has no
        ``stage`` column).

    Returns
    -------
    Path
        The file written.
    """
    p = Path(folder) / QUARANTINE_FILE
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(p.name + ".tmp")
    _as_stored(frame, stage).to_parquet(tmp, index=False)
    os.replace(tmp, p)  # a reader never sees half a file
    return p


def read_stored_quarantine(folder: str | Path) -> pd.DataFrame:
    """The stored quarantine of a dataset folder (no rows when it has none).

    Raises
    ------
    ValueError
        When ``quarantine.parquet`` exists but lacks the stored columns (it names them).
    """
    p = Path(folder) / QUARANTINE_FILE
    if not p.is_file():
        return empty_stored_quarantine()
    frame = pd.read_parquet(p)
    lacking = [c for c in ("stage", "table", "row", "rule") if c not in frame.columns]
    if lacking:
        raise ValueError(
            f"{p}: not a salesml quarantine (column(s) {', '.join(lacking)} missing); "
            "remove it or import the export again"
        )
    return _as_stored(frame, None)


def quarantine_counts(frame: pd.DataFrame) -> pd.DataFrame:
    """Distinct rows per table: skipped, rejected at import, rejected at load, rejected.

    Parameters
    ----------
    frame
        A stored quarantine, or :func:`dataset_quarantine` (rows of both stages).

    Returns
    -------
    pandas.DataFrame
        Index ``table``; integer columns ``skipped`` (the mapping's filter),
        ``rejected_at_import``, ``rejected_at_load`` and ``rejected`` (the two summed).
        A row counts once however many rules it broke.
    """
    if not len(frame):
        return pd.DataFrame(
            {c: pd.Series(dtype="int64") for c in _COUNT_COLUMNS},
            index=pd.Index([], name="table", dtype="str"),
        )
    f = frame if "stage" in frame.columns else frame.assign(stage="load")
    rows = f.drop_duplicates(["stage", "table", "file", "row"])
    skipped = rows["rule"] == SKIPPED
    parts = {
        "skipped": rows[skipped & (rows["stage"] == "import")],
        "rejected_at_import": rows[~skipped & (rows["stage"] == "import")],
        "rejected_at_load": rows[rows["stage"] == "load"],
    }
    out = pd.DataFrame({k: v.groupby("table").size() for k, v in parts.items()})
    out = out.reindex(columns=list(_COUNT_COLUMNS[:3])).fillna(0).astype("int64")
    out["rejected"] = out["rejected_at_import"] + out["rejected_at_load"]
    out.index.name = "table"
    return out


def quarantine_headlines(
    frame: pd.DataFrame, *, lang: str = "en", file: str = QUARANTINE_FILE
) -> list[str]:
    """One sentence per table and stage that lost rows, for headers and the command line.

    For example ``"1,588 deals rows were rejected at import; see quarantine.parquet"``.
    Empty when nothing was skipped or rejected.
    """
    counts = quarantine_counts(frame)
    out = []
    for table, row in counts.iterrows():
        if row["rejected_at_import"]:
            out.append(
                t(
                    "data.quarantine.import",
                    lang,
                    n=int(row["rejected_at_import"]),
                    table=table,
                    file=file,
                )
            )
        if row["rejected_at_load"]:
            out.append(t("data.quarantine.load", lang, n=int(row["rejected_at_load"]), table=table))
        if row["skipped"]:
            out.append(t("data.quarantine.skipped", lang, n=int(row["skipped"]), table=table))
    return out


def dataset_quarantine(data: Any) -> pd.DataFrame:
    """Everything a dataset lost: its stored quarantine plus what its load rejected.

    Parameters
    ----------
    data
        A :class:`~salesml.data.bundle.SalesData` (its ``stored_quarantine`` and
        ``validation``; either may be ``None``).

    Returns
    -------
    pandas.DataFrame
        The :data:`STORED_COLUMNS`; the load's rejections carry ``stage == "load"``.
    """
    parts = []
    stored = getattr(data, "stored_quarantine", None)
    if stored is not None and len(stored):
        parts.append(_as_stored(stored, None))
    report = getattr(data, "validation", None)
    if report is not None and len(report.quarantine):
        q = report.quarantine
        parts.append(_as_stored(q.drop(columns="stage", errors="ignore"), "load"))
    if not parts:
        return empty_stored_quarantine()
    return pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
