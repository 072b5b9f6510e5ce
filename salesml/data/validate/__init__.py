"""Validation of sales tables against the data model, with a quarantine.

Every row read is either loaded or quarantined, never dropped silently:
``read == loaded + quarantined`` holds for every table. Each rejected row is
recorded once per broken rule and column, with the file, the row position, the
CSV line, the row's key, the offending value and a message a manager can act on.

The package has three parts, used in this order by :func:`validate`:

- :mod:`~salesml.data.validate.parse`: raw columns to the model's dtypes (dates,
  numbers, true/false), recording the cells that do not parse;
- :mod:`~salesml.data.validate.rules`: the rules (``csv_syntax``, ``dtype``,
  ``date_format``, ``not_null``, ``allowed_values``, ``non_negative``,
  ``unique_key``, ``time_order``, ``foreign_key``, ``parent_rejected``; see there);
- :mod:`~salesml.data.validate.report`: the :class:`ValidationReport` and its
  quarantine frame.

Speed: every check is vectorised over whole columns (Arrow compute for text); at
tier M all rules run in about 1.8 s where pandera's lazy mode checks the
single-table rules alone in 2.2 s (bench/README.md).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

import numpy as np
import pandas as pd

from salesml.data.bundle import SalesData
from salesml.data.config import DatasetConfig
from salesml.data.schema import SPECS, TABLE_NAMES
from salesml.data.validate.parse import ISO_DATE_RE, finalise_table, fresh_index, parse_table
from salesml.data.validate.report import (
    QUARANTINE_COLUMNS,
    ValidationReport,
    quarantine_frame,
    typed_quarantine,
)
from salesml.data.validate.rules import (
    RULES,
    CheckedTable,
    check_references,
    check_table,
    to_pandera,
)

__all__ = [
    "ISO_DATE_RE",
    "QUARANTINE_COLUMNS",
    "RULES",
    "ValidationReport",
    "finalise_table",
    "parse_table",
    "to_pandera",
    "validate",
]

_UNREADABLE_COLUMNS = ("row", "line", "text", "reason")


def validate(
    data_or_raw_tables: SalesData | Mapping[str, pd.DataFrame],
    *,
    config: DatasetConfig | None = None,
    files: Mapping[str, str] | None = None,
    lines: Mapping[str, np.ndarray] | None = None,
    unreadable: Mapping[str, pd.DataFrame] | None = None,
    notes: list[str] | None = None,
    progress: bool = False,
    unchecked_parents: Collection[str] = (),
    compact: bool = False,
) -> ValidationReport:
    """Validate tables against the data model; quarantine what breaks a rule.

    Parameters
    ----------
    data_or_raw_tables
        A :class:`SalesData` or a mapping table name -> DataFrame as read (columns
        may be strings, typed, or object columns of mixed values).
    config
        Dataset settings (stage order, cost category names, ``date_formats``);
        defaults to the bundle's config or the defaults.
    files
        Table -> file name, used in messages (``deals.csv line 17: ...``). A name
        ending in ``.csv`` makes ``line`` = row + 2 (header on line 1; quoted cells
        spanning lines would shift it: pass ``lines``).
    lines
        Table -> the CSV line each row starts on, where that is not row + 2
        (:func:`salesml.data.io.csv_line_numbers`).
    unreadable
        Table -> the CSV lines that could not be read as a row (columns ``row``,
        ``line``, ``text``, ``reason``; :func:`salesml.data.csvfile.read_csv_file`).
        Each ``row`` is an empty placeholder row of the table, quarantined under
        ``csv_syntax`` and looked at by no other rule.
    notes
        Notes from reading the files, put first in the report's notes.
    progress
        Show a progress bar over the tables being checked.
    unchecked_parents
        Tables holding only part of their rows (loaded for a period): foreign keys
        pointing at them are not checked (a note says so), as for an absent table.
    compact
        Hold foreign-key ids and category columns as pandas ``category``
        (:func:`~salesml.data.validate.parse.compact_columns`); categorical columns as
        read stay integer codes throughout the checks.

    Returns
    -------
    ValidationReport
        ``.data`` holds the clean tables (model columns parsed to their dtypes,
        extra columns carried along, a fresh ``RangeIndex``).

    Raises
    ------
    ValueError
        When a table lacks a required (non-nullable) column altogether: that is a
        mapping problem, not a row problem, and the message names file and column.
    """
    source = None
    if isinstance(data_or_raw_tables, SalesData):
        config = config or data_or_raw_tables.config
        source = data_or_raw_tables.source
        raw_tables: Mapping[str, pd.DataFrame] = data_or_raw_tables.tables
    else:
        raw_tables = data_or_raw_tables
    config = config or DatasetConfig()
    files = dict(files or {})
    unknown = sorted(set(raw_tables) - set(TABLE_NAMES))
    if unknown:
        raise ValueError(
            f"unknown table(s) {unknown}; the data model has: {', '.join(TABLE_NAMES)}"
        )
    found: list[str] = list(notes or [])
    tables: dict[str, CheckedTable] = {}
    bads: dict[str, dict[str, np.ndarray]] = {}
    for name in TABLE_NAMES:
        if name not in raw_tables:
            continue
        raw = raw_tables[name]
        spec = SPECS[name]
        label = files.get(name) or name
        lacking = [c.name for c in spec.columns if c.name not in raw.columns and not c.nullable]
        if lacking:
            raise ValueError(
                f"{label}: required column(s) {', '.join(lacking)} missing (it has: "
                f"{', '.join(map(str, raw.columns))}); map or add them before loading"
            )
        added = [c.name for c in spec.columns if c.name not in raw.columns]
        if added:
            found.append(f"{label}: optional column(s) {', '.join(added)} absent, added as empty")
        raw = fresh_index(raw)
        parsed, bad = parse_table(name, raw, config=config, compact=compact)
        row_lines = (lines or {}).get(name)
        if row_lines is not None and len(row_lines) != len(raw):
            raise ValueError(f"lines for {label}: {len(row_lines)} given for {len(raw)} rows")
        t = CheckedTable(
            name,
            raw,
            parsed,
            files.get(name),
            rejected=np.zeros(len(raw), dtype=bool),
            lines=row_lines,
        )
        bad_lines = (unreadable or {}).get(name)
        if bad_lines is not None and len(bad_lines):
            missing = [c for c in _UNREADABLE_COLUMNS if c not in bad_lines.columns]
            rows = bad_lines["row"].to_numpy(dtype=np.int64) if "row" in bad_lines else None
            if missing or rows is None or rows.min() < 0 or rows.max() >= len(raw):
                raise ValueError(
                    f"unreadable lines for {label}: need columns {', '.join(_UNREADABLE_COLUMNS)} "
                    f"and rows within the table's {len(raw)} rows"
                )
            t.add_unreadable(bad_lines)
        tables[name] = t
        bads[name] = bad
    if progress:
        from tqdm import tqdm  # text bars: tqdm.auto would pull in ipywidgets

        bar = tqdm(tables.items(), desc="validating", unit="table", leave=False, delay=1.0)
    else:
        bar = tables.items()
    for name, t in bar:
        check_table(t, bads[name], config)
    check_references(tables, found, unchecked_parents=unchecked_parents)

    clean: dict[str, pd.DataFrame] = {}
    qframes, counts, rejected = [], [], {}
    for name, t in tables.items():
        keep = ~t.rejected
        df = t.parsed[keep].reset_index(drop=True) if t.rejected.any() else t.parsed
        clean[name] = finalise_table(name, df, config, compact=compact)
        qf = quarantine_frame(t)
        if qf is not None:
            qframes.append(qf)
        n_bad = int(t.rejected.sum())
        if n_bad:
            rejected[name] = t.raw[t.rejected]
        counts.append(
            {
                "table": name,
                "file": t.file or "",
                "read": len(t.raw),
                "loaded": len(clean[name]),
                "quarantined": n_bad,
            }
        )
        if len(clean[name]) + n_bad != len(t.raw):  # pragma: no cover - an invariant
            raise AssertionError(f"conservation broken for {name}")
    counts_df = (
        pd.DataFrame(counts).set_index("table")
        if counts
        else pd.DataFrame(columns=["file", "read", "loaded", "quarantined"]).rename_axis("table")
    )
    report = ValidationReport(
        data=SalesData(clean, config, source=source),
        quarantine=typed_quarantine(qframes),
        counts=counts_df,
        rejected=rejected,
        notes=found,
    )
    report.data.validation = report
    return report
