"""Reading and writing dataset folders.

A dataset folder holds ``dataset.yaml`` (see :class:`~salesml.data.config.DatasetConfig`)
and one file per table, named after the table:

- ``deals.parquet`` (native), or
- ``deals/`` a folder of Parquet parts (read in file-name order; the simulator
  writes large tiers this way), or
- ``deals.csv`` in UTF-8, UTF-8 with BOM, or GB18030/GBK (what Excel in China
  writes). The encoding is taken from the ``encoding=`` argument, else from
  ``dataset.yaml`` ``encoding``, else detected: UTF-8 (with or without BOM) is
  tried strictly first, then GB18030, then charset-normalizer's best guess.

``dataset.yaml`` ``files`` may point a table at another file name. Any subset of
tables may be present; ``data.missing_tables`` lists the rest.

CSV cells are read as text and parsed to the model's dtypes by
:func:`salesml.data.validate.validate`, so a bad cell is quarantined instead of
crashing the load. Columns beyond the model's are carried along. In CSV they are
typed by the ``column_types`` hints :func:`save_dataset` writes to ``dataset.yaml``
(``{table: {column: dtype}}``); without a hint an extra column becomes a datetime
when every filled cell is an ISO date, a number when every filled cell is numeric
(``int64`` if all are whole and none is empty), else it stays text.
"""

from __future__ import annotations

import codecs
import copy
import csv
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from salesml.data.bundle import SalesData
from salesml.data.config import DatasetConfig
from salesml.data.quarantine import read_stored_quarantine
from salesml.data.schema import SPECS, TABLE_NAMES
from salesml.data.validate import ISO_DATE_RE, _finalise, parse_table
from salesml.data.validate import validate as _validate

__all__ = [
    "csv_line_numbers",
    "describe_files",
    "detect_encoding",
    "find_table_files",
    "load_dataset",
    "read_csv_table",
    "read_raw_tables",
    "save_dataset",
]

_SNIFF_BYTES = 4 << 20
_ENCODING_ALIASES = {
    "utf8": "utf-8",
    "utf-8": "utf-8-sig",  # reading with -sig also accepts files without a BOM
    "utf8-sig": "utf-8-sig",
    "gbk": "gb18030",  # GB18030 is a superset of GBK and GB2312
    "gb2312": "gb18030",
    "cp936": "gb18030",
}


def _norm_encoding(enc: str) -> str:
    e = enc.strip().lower().replace("_", "-")
    return _ENCODING_ALIASES.get(e, e)


def detect_encoding(path: str | Path) -> str:
    """Guess the encoding of a CSV file: ``utf-8-sig``, ``gb18030`` or a best guess.

    UTF-8 is decoded strictly first (a BOM is accepted), then GB18030; the first
    4 MB are examined (a multi-byte character cut at the end is tolerated).
    """
    with Path(path).open("rb") as f:
        head = f.read(_SNIFF_BYTES)
    for enc in ("utf-8-sig", "gb18030"):
        try:
            codecs.getincrementaldecoder(enc)(errors="strict").decode(head, final=False)
            return enc
        except UnicodeDecodeError:
            continue
    from charset_normalizer import from_bytes

    best = from_bytes(head).best()
    return best.encoding if best is not None else "gb18030"


def read_csv_table(
    path: str | Path, *, encoding: str | None = None, delimiter: str = ","
) -> tuple[pd.DataFrame, str]:
    """Read a CSV file as text columns (empty cells missing).

    Parameters
    ----------
    path
        The CSV file.
    encoding
        Its encoding; ``None`` or ``"auto"`` detects it.
    delimiter
        Field separator (``","``; ``";"`` or ``"\\t"`` for some exports).

    Returns
    -------
    frame, encoding
        Every column of pandas ``str`` dtype, and the encoding used.
    """
    path = Path(path)
    enc = detect_encoding(path) if encoding in (None, "", "auto") else _norm_encoding(str(encoding))
    kwargs = {"dtype": "str", "keep_default_na": False, "na_values": [""], "sep": delimiter}
    try:
        df = pd.read_csv(path, encoding=enc, **kwargs)
    except UnicodeDecodeError as e:
        if encoding not in (None, "", "auto"):
            raise ValueError(
                f"{path.name} is not valid {encoding} ({e.reason} at byte {e.start}); "
                "fix the declared encoding in dataset.yaml or pass encoding="
            ) from None
        # detection looked at the head only; the tail may be GB18030
        enc = "gb18030"
        df = pd.read_csv(path, encoding=enc, **kwargs)
    df.columns = [str(c).strip() for c in df.columns]
    return df, enc


def csv_line_numbers(
    path: str | Path, encoding: str, n_rows: int, *, delimiter: str = ","
) -> np.ndarray | None:
    """The file line on which each data row of a CSV starts, when it is not row + 2.

    Quoted cells that span lines and skipped blank lines shift rows against lines;
    in the usual file neither happens and ``None`` is returned (line = row + 2,
    the header being line 1). Counting newline bytes decides that cheaply (UTF-8 and
    GB18030 never use the newline byte inside a character); only a file that needs
    it is walked with the csv module.
    """
    path = Path(path)
    with path.open("rb") as f:
        newlines, last = 0, b""
        while chunk := f.read(1 << 24):
            newlines += chunk.count(b"\n")
            last = chunk[-1:]
    lines_in_file = newlines + (0 if last in (b"\n", b"") else 1)
    if lines_in_file == n_rows + 1:
        return None
    starts = []
    with path.open(encoding=encoding, newline="") as f:
        rd = csv.reader(f, delimiter=delimiter)
        if next(rd, None) is None:
            return None
        prev = rd.line_num
        for row in rd:
            if row:  # pandas skips blank lines
                starts.append(prev + 1)
            prev = rd.line_num
    return np.asarray(starts, dtype=np.int64) if len(starts) == n_rows else None


def find_table_files(path: str | Path, config: DatasetConfig | None = None) -> dict[str, Path]:
    """Table name -> file (or Parquet folder) present in dataset folder ``path``."""
    folder = Path(path)
    config = config or DatasetConfig()
    out: dict[str, Path] = {}
    for name in TABLE_NAMES:
        if name in config.files:
            p = folder / config.files[name]
            if not p.exists():
                raise FileNotFoundError(
                    f"dataset.yaml names {config.files[name]} for table {name}, "
                    f"but {p} does not exist"
                )
            out[name] = p
            continue
        for cand in (folder / f"{name}.parquet", folder / f"{name}.csv", folder / name):
            if cand.is_file() or (cand.is_dir() and any(cand.glob("*.parquet"))):
                out[name] = cand
                break
    return out


def describe_files(path: str | Path) -> pd.DataFrame:
    """What a dataset folder holds, without loading it (fast even for millions of rows).

    Parquet row and column counts come from the file footers; CSV rows are counted
    as newline bytes minus the header (a cell spanning lines counts once per line).

    Returns
    -------
    pandas.DataFrame
        Index ``table``; columns ``file``, ``format``, ``rows``, ``columns``, ``mb``.
    """
    import pyarrow.parquet as pq

    folder = Path(path)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder} is not a dataset folder (expected a directory)")
    rows = []
    for name, p in find_table_files(folder, DatasetConfig.read(folder)).items():
        if p.suffix.lower() == ".csv":
            with p.open("rb") as f:
                header = f.readline()
                n = sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 24), b""))
            enc = detect_encoding(p)
            cols = len(next(csv.reader([header.decode(enc, errors="replace")]), []))
            size = p.stat().st_size
            fmt = "csv"
        else:
            parts = sorted(p.glob("*.parquet")) if p.is_dir() else [p]
            metas = [pq.ParquetFile(x).metadata for x in parts]
            n = sum(m.num_rows for m in metas)
            cols = metas[0].num_columns if metas else 0
            size = sum(x.stat().st_size for x in parts)
            fmt = "parquet" + (f" ({len(parts)} parts)" if p.is_dir() else "")
        rows.append(
            {
                "table": name,
                "file": p.name + ("/" if p.is_dir() else ""),
                "format": fmt,
                "rows": n,
                "columns": cols,
                "mb": round(size / 2**20, 1),
            }
        )
    return pd.DataFrame(rows).set_index("table")


def _read_parquet(p: Path) -> pd.DataFrame:
    if p.is_dir():
        parts = sorted(p.glob("*.parquet"))
        return pd.concat([pd.read_parquet(x) for x in parts], ignore_index=True)
    return pd.read_parquet(p)


def _type_extra(s: pd.Series, hint: str | None) -> pd.Series:
    """Type an extra (non-model) CSV column from its hint, else by inspection."""
    filled = s.notna()
    if hint is not None:
        h = hint.lower()
        try:
            if h.startswith("datetime64"):
                out = pd.to_datetime(s, format="ISO8601", errors="coerce").astype(hint)
            elif h in ("bool", "boolean"):
                m = {"true": True, "false": False}
                out = s.str.lower().map(m).astype("boolean")
                if h == "bool" and not out.isna().any():
                    out = out.astype("bool")
            elif h.startswith(("int", "uint", "float")) or h in ("Int64", "Float64"):
                out = pd.to_numeric(s, errors="coerce").astype(hint)
            else:
                return s.astype(hint) if h not in ("str", "string", "object") else s
        except (TypeError, ValueError):
            return s
        # a cell that does not fit the hint keeps the whole column as text
        return out if not (filled & out.isna()).any() else s
    if not filled.any():
        return s
    vals = s[filled]
    if vals.str.fullmatch(ISO_DATE_RE).all():
        return pd.to_datetime(s, format="ISO8601").astype("datetime64[us]")
    num = pd.to_numeric(vals, errors="coerce")
    if num.notna().all():
        v = num.to_numpy(dtype="float64")
        if filled.all() and np.all(v == np.round(v)) and not vals.str.contains(r"[.eE]").any():
            return pd.to_numeric(s).astype("int64")
        return pd.to_numeric(s, errors="coerce").astype("float64")
    return s


def read_raw_tables(
    path: str | Path,
    *,
    encoding: str | None = None,
    tables: Iterable[str] | None = None,
    progress: bool = False,
) -> tuple[dict[str, pd.DataFrame], DatasetConfig, dict[str, str], dict[str, np.ndarray]]:
    """Read the tables of a dataset folder as they are, without validation.

    Returns
    -------
    raw, config, files, lines
        Table -> frame as read (CSV model columns as text, extra columns typed),
        the folder's config, table -> file name (for messages), and table -> CSV
        line of each row for the CSV files where that is not row + 2.
    """
    from tqdm import tqdm  # text bars: tqdm.auto would pull in ipywidgets

    folder = Path(path)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder} is not a dataset folder (expected a directory)")
    config = DatasetConfig.read(folder)
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
    declared = encoding if encoding not in (None, "", "auto") else config.encoding
    hints: dict[str, dict[str, str]] = config.extra.get("column_types") or {}
    raw: dict[str, pd.DataFrame] = {}
    files: dict[str, str] = {}
    lines: dict[str, np.ndarray] = {}
    bar = tqdm(
        found.items(), desc="reading", unit="table", disable=not progress, leave=False, delay=1.0
    )
    for name, p in bar:
        bar.set_postfix_str(p.name, refresh=False)
        files[name] = p.name + ("/" if p.is_dir() else "")
        if p.suffix.lower() == ".csv":
            df, used = read_csv_table(p, encoding=declared)
            starts = csv_line_numbers(p, used, len(df))
            if starts is not None:
                lines[name] = starts
            spec = SPECS[name]
            extras = {
                c: _type_extra(df[c], (hints.get(name) or {}).get(c))
                for c in df.columns
                if c not in spec
            }
            raw[name] = df.assign(**extras) if extras else df
        elif p.is_dir() or p.suffix.lower() in (".parquet", ".pq"):
            raw[name] = _read_parquet(p)
        else:
            raise ValueError(
                f"{p.name} (table {name}): unsupported file type {p.suffix!r}; "
                "save it as CSV (UTF-8 or GB18030) or Parquet"
            )
    return raw, config, files, lines


def load_dataset(
    path: str | Path,
    *,
    validate: bool = True,
    encoding: str | None = None,
    tables: Iterable[str] | None = None,
    progress: bool = True,
) -> SalesData:
    """Load a dataset folder into a :class:`SalesData` bundle.

    Parameters
    ----------
    path
        The dataset folder (``dataset.yaml`` + one file per table).
    validate
        Validate and quarantine bad rows (the default). With ``False`` the model
        columns are only parsed (unparseable cells become missing) and nothing
        is checked: use it only for data you trust.
    encoding
        Encoding of the CSV files, overriding ``dataset.yaml`` (default: detected).
    tables
        Load only these tables (default: every table present).
    progress
        Show progress bars.

    Returns
    -------
    SalesData
        With ``.validation`` holding the :class:`~salesml.data.validate.ValidationReport`
        (``None`` when ``validate=False``) and ``.stored_quarantine`` the rows
        ``salesml import`` rejected or skipped (``quarantine.parquet``; no rows when
        the folder has none); ``.quarantine`` holds both.

    Examples
    --------
    >>> data = load_dataset("datasets/demo")                 # doctest: +SKIP
    >>> data.validation.headline()                           # doctest: +SKIP
    >>> data.validation.quarantine                           # doctest: +SKIP
    """
    folder = Path(path)
    raw, config, files, lines = read_raw_tables(
        folder, encoding=encoding, tables=tables, progress=progress
    )
    if validate:
        report = _validate(raw, config=config, files=files, lines=lines, progress=progress)
        data = report.data
        data.source = folder
        data.validation = report
        data.stored_quarantine = read_stored_quarantine(folder)  # what `salesml import` lost
        return data
    out = {}
    for name, df in raw.items():
        parsed, _ = parse_table(name, df, config=config)
        try:
            out[name] = _finalise(name, parsed, config)
        except (TypeError, ValueError):
            out[name] = parsed  # e.g. an empty cell in a true/false column
    data = SalesData(out, config, source=folder)
    data.stored_quarantine = read_stored_quarantine(folder)
    return data


def save_dataset(
    data: SalesData,
    path: str | Path,
    *,
    format: Literal["parquet", "csv"] = "parquet",
    encoding: str = "utf-8",
    overwrite: bool = True,
    progress: bool = False,
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
        recorded in ``dataset.yaml``.
    overwrite
        Replace existing table files; with ``False`` raise if the folder already
        holds a dataset.
    progress
        Show a progress bar when writing takes more than a second.

    Returns
    -------
    Path
        The folder.
    """
    if format not in ("parquet", "csv"):
        raise ValueError(f"format must be 'parquet' or 'csv', got {format!r}")
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
        if part_dir.is_dir() and all(p.suffix == ".parquet" for p in part_dir.iterdir()):
            shutil.rmtree(part_dir)
        if format == "parquet":
            df.to_parquet(folder / f"{name}.parquet", index=False)
        else:
            df.to_csv(folder / f"{name}.csv", index=False, encoding=encoding)
            extra = {c: str(df[c].dtype) for c in df.columns if c not in SPECS[name]}
            if extra:
                hints[name] = extra
    config.extra.pop("column_types", None)
    if format == "csv":
        config.encoding = encoding
        if hints:
            config.extra["column_types"] = hints
    config.write(folder)
    return folder
