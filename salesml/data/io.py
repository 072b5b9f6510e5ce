"""Reading and writing dataset folders.

A dataset folder holds ``dataset.yaml`` (see :class:`~salesml.data.config.DatasetConfig`)
and one file per table, named after the table:

- ``deals.parquet`` (native), or
- ``deals/`` a folder of Parquet parts (read in file-name order; the simulator
  writes large tiers this way), or
- ``deals/month=2026-01/part-0.parquet, ...`` a hive-style Parquet dataset
  partitioned by month of the table's time column (``save_dataset(...,
  partition="month")``, and ``salesml generate`` for presets M and larger), which
  ``load_dataset(period=...)`` reads only the months of; a partitioned table comes
  back in month order (within a month in stored order), or
- ``deals.csv`` in UTF-8 (with or without BOM), GB18030/GBK (what Excel in China
  writes) or UTF-16 with a byte-order mark. The encoding is taken from the
  ``encoding=`` argument, else from ``dataset.yaml`` ``encoding``, else detected
  strictly (:mod:`salesml.data.encoding`): a file that is not valid throughout in
  one of them is refused with the line and byte offset, never decoded best effort.

``dataset.yaml`` ``files`` may point a table at another file name inside the folder
(``.csv``, ``.tsv``, ``.txt`` or ``.parquet``); a path leading outside the folder
(absolute, through ``..`` or a symlink) is refused. Any subset of tables may be
present; ``data.missing_tables`` lists the rest.

CSV cells are read as text (:mod:`salesml.data.csvfile`) and parsed to the model's
dtypes by :func:`salesml.data.validate.validate`, so a bad cell, and a line that is
not a row at all (rule ``csv_syntax``), is quarantined instead of crashing the load.
Columns beyond the model's are carried along. In CSV they are typed by the
``column_types`` hints :func:`save_dataset` writes to ``dataset.yaml``
(``{table: {column: dtype}}``); without a hint an extra column becomes a datetime
when every filled cell is an ISO date, a number when every filled cell is numeric
(``int64`` if all are whole and none is empty), else it stays text.

CSV files written by :func:`save_dataset` are safe to open in a spreadsheet: text
cells beginning with ``= + - @`` are prefixed with ``'``
(:func:`salesml.data.csvsafe.safe_csv_frame`) and ``dataset.yaml`` records
``csv_formulas: escaped`` so that loading removes the prefix again.
"""

from __future__ import annotations

import copy
import functools
import importlib
import shutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from salesml.data.bundle import SalesData
from salesml.data.config import DatasetConfig
from salesml.data.csvfile import CsvError, csv_line_numbers, read_csv_file
from salesml.data.csvsafe import restore_csv_arrays, safe_csv_frame
from salesml.data.encoding import check_encoding
from salesml.data.errors import DatasetError
from salesml.data.folder import (
    TEXT_SUFFIXES,
    dataset_folder,
    describe_files,
    find_table_files,
    folder_fingerprint,
    table_parts,
)
from salesml.data.partitions import (
    PARTITION_COLUMN,
    PARTITIONED_TABLES,
    period_window,
    read_parquet_table,
    write_month_partitions,
)
from salesml.data.quarantine import read_stored_quarantine
from salesml.data.schema import SPECS, TABLE_NAMES
from salesml.data.streamed import read_columns, stream_validate
from salesml.data.validate import ValidationReport, finalise_table, parse_table
from salesml.data.validate import validate as _validate
from salesml.data.validate.parse import compact_columns, text_frame, type_extra_arrays

__all__ = [
    "RawTables",
    "csv_line_numbers",
    "describe_files",
    "detect_encoding",
    "find_table_files",
    "folder_fingerprint",
    "load_dataset",
    "read_csv_table",
    "read_raw_tables",
    "save_dataset",
    "validate_dataset",
]


def detect_encoding(path: str | Path) -> str:
    """The encoding a CSV file decodes in strictly: ``utf-8-sig``, ``gb18030`` or ``utf-16``.

    The whole file is checked (see :func:`salesml.data.encoding.check_encoding`);
    a file valid in none of them raises :class:`~salesml.data.encoding.EncodingError`
    naming the line and byte offset.
    """
    return check_encoding(path).encoding


def read_csv_table(
    path: str | Path, *, encoding: str | None = None, delimiter: str | None = ","
) -> tuple[pd.DataFrame, str]:
    """Read a CSV file as text columns (empty cells missing).

    Parameters
    ----------
    path
        The CSV file.
    encoding
        Its encoding; ``None`` or ``"auto"`` detects it strictly.
    delimiter
        Field separator (``","``; ``";"`` or ``"\\t"`` for some exports; ``None``
        takes it from the header line).

    Returns
    -------
    frame, encoding
        Every column of pandas ``str`` dtype, and the encoding used.

    Raises
    ------
    DatasetError
        When the file does not decode strictly, its header names a column twice, or a
        line cannot be read as a row (use :func:`salesml.data.csvfile.read_csv_file`
        to set such lines aside instead).
    """
    got = read_csv_file(path, encoding=encoding, delimiter=delimiter)
    if len(got.unreadable):
        first = got.unreadable.iloc[0]
        raise CsvError(
            f"{Path(path).name}: {len(got.unreadable)} line(s) cannot be read as rows "
            f"(first at line {int(first['line'])}: {first['reason']})"
        )
    return got.frame, got.encoding


@dataclass
class RawTables:
    """The tables of a dataset folder as read, before validation.

    Attributes
    ----------
    tables
        Table -> frame as read (CSV model columns as text, extra columns typed,
        an empty placeholder row for each line that could not be read).
    config
        The folder's ``dataset.yaml``.
    files
        Table -> file name (for messages).
    lines
        Table -> CSV line of each row, for the CSV files where that is not row + 2.
    unreadable
        Table -> the CSV lines that could not be read as rows (``row, line, text,
        reason``), for :func:`salesml.data.validate.validate`.
    notes
        Things worth telling that are not errors (from decoding).
    """

    tables: dict[str, pd.DataFrame]
    config: DatasetConfig
    files: dict[str, str] = field(default_factory=dict)
    lines: dict[str, np.ndarray] = field(default_factory=dict)
    unreadable: dict[str, pd.DataFrame] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    period_cut: list[str] = field(default_factory=list)


def _columns_arg(
    columns: Mapping[str, Iterable[str]] | None, found: Mapping[str, Path]
) -> dict[str, list[str]]:
    """``columns=`` checked: known tables, lists of column names."""
    if columns is None:
        return {}
    if not isinstance(columns, Mapping):
        raise TypeError("columns= must map table names to lists of column names")
    out: dict[str, list[str]] = {}
    for t, cols in columns.items():
        if t not in SPECS:
            raise KeyError(
                f"columns=: unknown table {t!r}; the data model has: {', '.join(TABLE_NAMES)}"
            )
        if isinstance(cols, str) or not all(isinstance(c, str) for c in cols):
            raise TypeError(f"columns= for {t}: give a list of column names, got {cols!r}")
        out[t] = list(dict.fromkeys(cols))
    return out


def _selected_tables(
    folder: Path, config: DatasetConfig, tables: Iterable[str] | None
) -> dict[str, Path]:
    """The table files of ``folder`` to read: all present, or those of ``tables``."""
    found = find_table_files(folder, config)
    if tables is not None:
        wanted = list(tables)
        for t in wanted:
            if t not in SPECS:
                raise KeyError(f"unknown table {t!r}; the data model has: {', '.join(TABLE_NAMES)}")
        present = list(found)
        found = {t: p for t, p in found.items() if t in wanted}
        if present and not found:
            raise FileNotFoundError(
                f"{folder} has none of the tables asked for ({', '.join(wanted) or 'none'}); "
                f"it has: {', '.join(present)}"
            )
    if not found:
        raise FileNotFoundError(
            f"{folder} holds no table files (expected e.g. deals.parquet or deals.csv)"
        )
    return found


def read_raw_tables(
    path: str | Path,
    *,
    encoding: str | None = None,
    tables: Iterable[str] | None = None,
    progress: bool = False,
    period: object = None,
    lookback_days: float = 0.0,
    columns: Mapping[str, Iterable[str]] | None = None,
    validate: bool = True,
    compact: bool = False,
) -> RawTables:
    """Read the tables of a dataset folder as they are, without validation.

    ``period``, ``lookback_days``, ``columns``, ``validate`` and ``compact`` are
    those of :func:`load_dataset`: Parquet tables are read with only the months, rows
    and columns asked for (``validate`` adds the columns the rules need), with
    ``compact`` their foreign-key and category columns as pandas ``category``; CSV
    tables are read whole (``load_dataset`` cuts them after validation).

    Returns
    -------
    RawTables
        ``period_cut`` lists the tables whose rows the period already cut.
    """
    from tqdm import tqdm  # text bars: tqdm.auto would pull in ipywidgets

    folder = dataset_folder(path)
    config = DatasetConfig.read(folder)
    found = _selected_tables(folder, config, tables)
    window = period_window(period, lookback_days)
    wanted_cols = _columns_arg(columns, found)
    declared = encoding if encoding not in (None, "", "auto") else config.encoding
    hints: dict[str, dict[str, str]] = config.extra.get("column_types") or {}
    escaped = config.extra.get("csv_formulas") == "escaped"
    out = RawTables({}, config)
    bar = tqdm(
        found.items(), desc="reading", unit="table", disable=not progress, leave=False, delay=1.0
    )
    for name, p in bar:
        bar.set_postfix_str(p.name, refresh=False)
        out.files[name] = p.name + ("/" if p.is_dir() else "")
        if p.is_file() and p.suffix.lower() in TEXT_SUFFIXES:
            got = read_csv_file(p, encoding=declared, delimiter=config.extra.get("delimiter"))
            arrays = restore_csv_arrays(got.columns) if escaped else got.columns
            spec = SPECS[name]
            extras = [c for c in arrays if c not in spec]
            typed = type_extra_arrays(arrays, extras, hints.get(name), n_rows=got.n_rows)
            done = set(typed.columns)
            text = text_frame({c: a for c, a in arrays.items() if c not in done}, got.n_rows)
            df = pd.concat([text, typed], axis=1)[list(arrays)] if typed.shape[1] else text
            out.tables[name] = got.table(df)
            out.notes += got.notes
            if got.lines is not None:
                out.lines[name] = got.lines
            if len(got.unreadable):
                out.unreadable[name] = got.unreadable
        elif p.is_dir() or p.suffix.lower() in (".parquet", ".pq"):
            out.tables[name] = read_parquet_table(
                p,
                table_parts(p, folder, name),
                name,
                columns=read_columns(name, wanted_cols.get(name), validate),
                window=window if name in PARTITIONED_TABLES else None,
                dictionary=list(compact_columns(name)) if compact else None,
            )
            if window is not None and name in PARTITIONED_TABLES:
                out.period_cut.append(name)
        else:
            raise DatasetError(
                f"{p.name} (table {name}): unsupported file type {p.suffix!r}; "
                "save it as CSV (UTF-8 or GB18030) or Parquet"
            )
    return out


def load_dataset(
    path: str | Path,
    *,
    validate: bool = True,
    encoding: str | None = None,
    tables: Iterable[str] | None = None,
    progress: bool = True,
    period: object = None,
    lookback_days: float = 0.0,
    columns: Mapping[str, Iterable[str]] | None = None,
    compact: bool = False,
    client: Any = None,
) -> SalesData:
    """Load a dataset folder into a :class:`SalesData` bundle.

    Parameters
    ----------
    path
        The dataset folder (``dataset.yaml`` + one file per table).
    validate
        Validate and quarantine bad rows (the default). With ``False`` the model
        columns are only parsed (unparseable cells become missing) and nothing
        is checked: use it only for data you trust. A CSV line that cannot be read
        as a row is then an error (it could not be quarantined).
    encoding
        Encoding of the CSV files, overriding ``dataset.yaml`` (default: detected).
    tables
        Load only these tables (default: every table present).
    progress
        Show progress bars.
    period
        Load only the rows of the big dated tables (:data:`PARTITIONED_TABLES`:
        activities, collab_events, costs, material_movements, stage_history, quotes,
        payments, leads, deals) whose time column (``occurred_at``, ``created_at``, ...)
        lies in ``[period.start - lookback_days, period.end)``: a
        :class:`~salesml.periods.Period` or its text (``2026-Q3``). From a
        month-partitioned folder only the months of that window are read. Tables
        without a time column, and the smaller dated ones (reps, stores, customers,
        campaigns, contracts, approvals), are loaded whole. A deal is in when it was
        created in the window: give a look-back covering the deal cycles you need.
        Foreign keys pointing at a table the period cut (an activity of a deal created
        before the window) are not checked (a note says so); CSV tables are read
        whole, validated, then cut.
    lookback_days
        Days before ``period.start`` to load as well (0 to 36600).
    columns
        Table -> the columns to return (projection; other tables whole). Parquet
        files are read with only those columns plus, when validating, the key,
        foreign-key, time and required columns the rules need; rules on columns
        not read are not checked.
    compact
        Hold the foreign-key ids (``deal_id``, ``customer_id``, ``rep_id``,
        ``lead_id``, ``campaign_id``, ... of the tables that point at them) and the
        category columns (``kind``, ``channel``, ``stage``, ``outcome``, cost
        ``category``, ...) as pandas ``category`` of ``str`` values instead of
        ``str`` (the list per table is
        :func:`salesml.data.validate.parse.compact_columns`; each table's own key and
        every other column keep their usual dtype). Parquet files are read straight
        into integer codes from their dictionary pages and validation works on the
        codes, so a big dataset takes about half the memory (tier L: see
        ``bench/README.md``). Values, missing cells, validation and quarantine are
        the same as without it; code that compares or groups these columns works
        unchanged (group with ``observed=True``).
    client
        A ``distributed.Client`` to validate the partitions on (else a scheduler named
        by ``SALESML_DASK_SCHEDULER``, else this process; see
        :func:`salesml.distributed.resolve_client`). A folder whose Parquet tables are
        stored as several files (month partitions, part folders) is validated one
        piece at a time (:mod:`salesml.data.streamed`): each month is read, parsed and
        checked on its own, the cross-row rules (keys unique across months, foreign
        keys) run on the key columns of all rows at the end, and the result is the same
        as validating the whole tables, with much less memory. On a cluster the
        workers read their own pieces, so the folder must be readable from them.

    Returns
    -------
    SalesData
        With ``.validation`` holding the :class:`~salesml.data.validate.ValidationReport`
        (``None`` when ``validate=False``) and ``.stored_quarantine`` the rows
        ``salesml import`` rejected or skipped (``quarantine.parquet``; no rows when
        the folder has none); ``.quarantine`` holds both.

    Raises
    ------
    DatasetError
        (a ``ValueError``) for a file, setting or encoding that cannot be used, in one
        line naming the file and the key, line or byte.

    Examples
    --------
    >>> data = load_dataset("datasets/demo")                 # doctest: +SKIP
    >>> data.validation.headline()                           # doctest: +SKIP
    >>> data.validation.quarantine                           # doctest: +SKIP
    """
    folder = Path(path)
    if folder.is_dir() and DatasetConfig.read(folder).source is not None:  # a database
        # The SQL reader sits above this module (it imports through the mapping engine,
        # which reads files with this module): it is looked up by name when a dataset
        # names a database, so the data layer's imports stay one-way.
        if columns is not None or lookback_days:
            raise DatasetError(
                f"{folder}: columns= and lookback_days= apply to file datasets; this dataset "
                "reads from a database (dataset.yaml source:), which takes period= only"
            )
        load_sql = importlib.import_module("salesml.data.sql").load_sql
        data = load_sql(folder, period=period, validate=validate, tables=tables, progress=progress)
        if compact:
            for name, df in list(data.tables.items()):
                data.tables[name] = finalise_table(name, df, data.config, compact=True)
        return data
    if validate:
        streamed = _streamed_load(
            folder,
            tables=tables,
            period=period,
            lookback_days=lookback_days,
            columns=columns,
            compact=compact,
            client=client,
            progress=progress,
        )
        if streamed is not None:
            return streamed
    raw = read_raw_tables(
        folder,
        encoding=encoding,
        tables=tables,
        progress=progress,
        period=period,
        lookback_days=lookback_days,
        columns=columns,
        validate=validate,
        compact=compact,
    )
    config = raw.config
    window = period_window(period, lookback_days)
    wanted_cols = _columns_arg(columns, raw.tables)
    if validate:
        report = _validate(
            raw.tables,
            config=config,
            files=raw.files,
            lines=raw.lines,
            unreadable=raw.unreadable,
            notes=raw.notes,
            progress=progress,
            unchecked_parents=raw.period_cut,
            compact=compact,
        )
        data = report.data
        _cut(data.tables, window, wanted_cols)
        data.source = folder
        data.fingerprint_source = functools.partial(folder_fingerprint, folder)
        data.validation = report
        data.stored_quarantine = read_stored_quarantine(folder)  # what `salesml import` lost
        return data
    if raw.unreadable:
        name, bad = next(iter(raw.unreadable.items()))
        raise CsvError(
            f"{raw.files[name]}: {len(bad)} line(s) cannot be read as rows (first at line "
            f"{int(bad['line'].iloc[0])}: {bad['reason'].iloc[0]}); load with validate=True "
            "to quarantine them"
        )
    out = {}
    for name, df in raw.tables.items():
        parsed, _ = parse_table(name, df, config=config, compact=compact)
        try:
            out[name] = finalise_table(name, parsed, config, compact=compact)
        except (TypeError, ValueError):
            out[name] = parsed  # e.g. an empty cell in a true/false column
    _cut(out, window, wanted_cols)
    data = SalesData(out, config, source=folder)
    data.fingerprint_source = functools.partial(folder_fingerprint, folder)
    data.stored_quarantine = read_stored_quarantine(folder)
    return data


def _streamable(found: Mapping[str, Path]) -> bool:
    """Whether every table is Parquet (then validation can run piece by piece)."""
    return all(p.is_dir() or p.suffix.lower() in (".parquet", ".pq") for p in found.values())


def _streamed_load(
    folder: Path,
    *,
    tables: Iterable[str] | None,
    period: object,
    lookback_days: float,
    columns: Mapping[str, Iterable[str]] | None,
    compact: bool,
    client: Any,
    progress: bool,
    keep: bool = True,
    force: bool = False,
) -> SalesData | None:
    """A validated load piece by piece, or ``None`` when the whole-table path applies.

    Streamed when every table is Parquet and some table has several files (or a
    cluster is named, or ``force``); CSV tables are validated whole.
    """
    from salesml.distributed import resolve_client

    folder = dataset_folder(folder)
    config = DatasetConfig.read(folder)
    found = _selected_tables(folder, config, tables)
    if not _streamable(found):
        return None
    client = resolve_client(client)
    several = any(p.is_dir() and len(table_parts(p, folder, n)) > 1 for n, p in found.items())
    if not (several or client is not None or force):
        return None
    window = period_window(period, lookback_days)
    wanted_cols = _columns_arg(columns, found)
    period_cut = [n for n in found if window is not None and n in PARTITIONED_TABLES]
    report = stream_validate(
        folder,
        found,
        config,
        window=window,
        columns=wanted_cols,
        compact=compact,
        keep=keep,
        client=client,
        progress=progress,
        unchecked_parents=period_cut,
    )
    data = report.data
    if keep:
        _cut(data.tables, window, wanted_cols)
    data.source = folder
    data.fingerprint_source = functools.partial(folder_fingerprint, folder)
    data.validation = report
    data.stored_quarantine = read_stored_quarantine(folder)
    return data


def validate_dataset(
    path: str | Path,
    *,
    tables: Iterable[str] | None = None,
    period: object = None,
    lookback_days: float = 0.0,
    compact: bool = True,
    client: Any = None,
    progress: bool = False,
) -> ValidationReport:
    """Validate a dataset folder without holding its tables: the report only.

    Every Parquet table is read one piece (a month folder, a part file) at a time and
    checked; only the key, foreign-key and date columns of every row are kept for the
    cross-row rules (keys unique across months, foreign keys), so memory stays about
    one piece plus those columns (and, with ``compact``, the foreign keys as integer
    codes). The quarantine, counts and notes are those
    ``load_dataset(path, ...).validation`` gives. A folder with CSV tables is loaded
    and validated whole.

    Parameters
    ----------
    path
        The dataset folder.
    tables, period, lookback_days
        As for :func:`load_dataset`.
    compact
        Read foreign keys and categories as categoricals (less memory; same report).
    client
        A ``distributed.Client`` (else ``SALESML_DASK_SCHEDULER``, else this process).
        The workers read their own pieces from ``path``.
    progress
        Show a progress bar over the pieces.

    Returns
    -------
    ValidationReport
        ``.data`` holds no tables (load them with :func:`load_dataset`).
    """
    folder = dataset_folder(path)
    data = _streamed_load(
        folder,
        tables=tables,
        period=period,
        lookback_days=lookback_days,
        columns=None,
        compact=compact,
        client=client,
        progress=progress,
        keep=False,
        force=True,
    )
    if data is None:  # CSV tables: the whole-table validation
        data = load_dataset(
            folder, tables=tables, period=period, lookback_days=lookback_days, progress=progress
        )
        data.tables.clear()
    report = data.validation
    assert report is not None
    return report


def _cut(
    tables: dict[str, pd.DataFrame],
    window: tuple[pd.Timestamp, pd.Timestamp] | None,
    columns: Mapping[str, list[str]],
) -> None:
    """Apply the period window (to tables not cut when read) and the projection in place."""
    for name, df in list(tables.items()):
        tc = SPECS[name].time_column
        if window is not None and name in PARTITIONED_TABLES and tc in df.columns:
            ts = df[tc]
            keep = ((ts >= window[0]) & (ts < window[1])).fillna(False).to_numpy(dtype=bool)
            if not keep.all():
                df = df[keep].reset_index(drop=True)
        if name in columns:
            absent = [c for c in columns[name] if c not in df.columns]
            if absent:
                raise DatasetError(
                    f"table {name}: column(s) {', '.join(absent)} asked for in columns= are "
                    f"not in it (it has: {', '.join(map(str, df.columns))})"
                )
            df = df[columns[name]]
        tables[name] = df


def save_dataset(
    data: SalesData,
    path: str | Path,
    *,
    format: Literal["parquet", "csv"] = "parquet",
    encoding: str = "utf-8",
    overwrite: bool = True,
    progress: bool = False,
    partition: Literal["month"] | None = None,
) -> Path:
    """Write a :class:`SalesData` bundle as a dataset folder.

    Parameters
    ----------
    data
        The bundle to write.
    path
        Target folder (created if needed). Other files in it are left alone.
    format
        ``parquet`` (default) or ``csv``.
    encoding
        Encoding of CSV files (``utf-8``, ``utf-8-sig`` for Excel, ``gb18030``);
        recorded in ``dataset.yaml``. Text cells a spreadsheet would run as formulas
        are written with a leading ``'`` (removed again on load).
    overwrite
        Replace existing table files; with ``False`` raise if the folder already
        holds a dataset.
    progress
        Show a progress bar when writing takes more than a second.
    partition
        ``"month"``: write the big dated tables (:data:`PARTITIONED_TABLES`) as
        hive-style Parquet datasets ``<table>/month=YYYY-MM/part-0.parquet`` by month
        of their time column (rows without one in ``month=none``), text columns
        dictionary-encoded, so that ``load_dataset(period=...)`` reads only the
        months it needs. A table with a column of its own named ``month`` is written
        as one file. Parquet only.

    Returns
    -------
    Path
        The folder.
    """
    if format not in ("parquet", "csv"):
        raise ValueError(f"format must be 'parquet' or 'csv', got {format!r}")
    if partition not in (None, "month"):
        raise ValueError(f"partition must be None or 'month', got {partition!r}")
    if partition and format != "parquet":
        raise ValueError("partition='month' needs format='parquet'")
    folder = Path(path)
    if folder.exists() and not folder.is_dir():
        raise NotADirectoryError(f"{folder} exists and is not a folder")
    if not overwrite and folder.is_dir():
        existing = [p.name for p in folder.iterdir() if p.name == "dataset.yaml"]
        existing += [p.name for p in find_table_files(folder).values()]
        if existing:
            raise FileExistsError(
                f"{folder} already holds a dataset ({', '.join(sorted(existing))}); "
                "pass overwrite=True to replace it"
            )
    folder.mkdir(parents=True, exist_ok=True)
    config = copy.deepcopy(data.config)
    config.files = {}
    config.source = None  # the copy is of the rows, not of where they came from
    hints: dict[str, dict[str, str]] = {}
    from tqdm import tqdm  # text bars: tqdm.auto would pull in ipywidgets

    items = tqdm(
        data.tables.items(),
        desc="writing",
        unit="table",
        disable=not progress,
        leave=False,
        delay=1.0,
    )
    for name, df in items:
        for stale in (folder / f"{name}.parquet", folder / f"{name}.csv"):
            if stale.is_file():
                stale.unlink()
        part_dir = folder / name
        if part_dir.is_dir() and all(
            p.suffix == ".parquet" or (p.is_dir() and p.name.startswith(f"{PARTITION_COLUMN}="))
            for p in part_dir.iterdir()
        ):
            shutil.rmtree(part_dir)
        tc = SPECS[name].time_column
        if (
            partition == "month"
            and name in PARTITIONED_TABLES
            and tc in df.columns
            and PARTITION_COLUMN not in df.columns
        ):
            write_month_partitions(df, part_dir, name)
        elif format == "parquet":
            df.to_parquet(folder / f"{name}.parquet", index=False)
        else:
            safe_csv_frame(df).to_csv(folder / f"{name}.csv", index=False, encoding=encoding)
            extra = {c: str(df[c].dtype) for c in df.columns if c not in SPECS[name]}
            if extra:
                hints[name] = extra
    config.extra.pop("column_types", None)
    config.extra.pop("csv_formulas", None)
    if format == "csv":
        config.encoding = encoding
        config.extra["csv_formulas"] = "escaped"
        if hints:
            config.extra["column_types"] = hints
    config.write(folder)
    return folder
