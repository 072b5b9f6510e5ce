"""Apply a mapping: read the export's files and translate them into raw model tables.

Vectorised over columns (value maps and patterns run on the distinct values only,
lookups are one index join), so an export of a million rows maps in seconds. Nothing
here rejects a row: the tables come out as text for :func:`salesml.data.validate.validate`,
together with what is needed to name the source in every message (file, line, the
source column behind each cell) and the rows the mapping's ``filter`` skipped.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from salesml.data.io import csv_line_numbers, read_csv_table
from salesml.data.mapping.spec import (
    ROW_FIELD,
    IdRule,
    ImportMapping,
    Lookup,
    TableMapping,
    ValueMap,
)
from salesml.data.quality import warnings_frame
from salesml.data.schema import SPECS
from salesml.data.validate import ISO_DATE_RE
from salesml.i18n import t
from salesml.rules.expr import ExpressionError, compile_expr

__all__ = [
    "PLACEHOLDER_COLUMN",
    "MappedExport",
    "MappedTable",
    "apply_mapping",
    "identifier",
    "loose_key",
    "read_source",
    "resolve_value_sets",
]

#: The flag column added to a parent table that received a placeholder row.
PLACEHOLDER_COLUMN = "is_placeholder"
_PLACEHOLDER_DATE = "2000-01-01"


@dataclass
class MappedTable:
    """One model table as the mapping produced it (text cells, not validated).

    Attributes
    ----------
    table, file
        Model table and its source file.
    frame
        The rows kept (source rows not skipped, in source order) then any
        placeholder rows; model columns as text.
    read
        Rows in the source file.
    source_rows
        For each row of ``frame``, its 0-based row in the source (-1: a placeholder).
    source_lines
        The CSV line each source row starts on (``None``: not a CSV file).
    skipped
        Source rows the mapping's ``filter`` left out.
    origins
        Model column -> (codes per row of ``frame``, names): which source column,
        lookup, default or placeholder each cell came from (code -1: none).
    """

    table: str
    file: str
    frame: pd.DataFrame
    read: int
    source_rows: np.ndarray
    source_lines: np.ndarray | None
    skipped: np.ndarray
    origins: dict[str, tuple[np.ndarray, list[str]]] = field(default_factory=dict)
    added: int = 0

    def line_of_source(self, rows: np.ndarray) -> np.ndarray:
        """The CSV line of 0-based source rows (header = line 1)."""
        rows = np.asarray(rows, dtype=np.int64)
        if self.source_lines is not None:
            return self.source_lines[rows]
        return rows + 2

    @property
    def lines(self) -> np.ndarray:
        """The source line of each row of ``frame`` (0 for placeholder rows)."""
        rows = self.source_rows
        out = np.zeros(len(rows), dtype=np.int64)
        real = rows >= 0
        out[real] = self.line_of_source(rows[real])
        return out

    def origin(self, column: str, rows: np.ndarray) -> np.ndarray:
        """The source of ``column`` at rows of ``frame`` (empty text where not known)."""
        rows = np.asarray(rows, dtype=np.int64)
        if column not in self.origins:
            return np.full(len(rows), "", dtype=object)
        codes, names = self.origins[column]
        lut = np.array([*names, ""], dtype=object)
        c = codes[rows]
        return lut[np.where(c < 0, len(names), c)]


@dataclass
class MappedExport:
    """Every table of an export as mapped, with the lookups' findings.

    Unpacks as ``raw, files, lines`` like the earlier tuple result.
    """

    tables: dict[str, MappedTable]
    warnings: pd.DataFrame
    notes: list[str] = field(default_factory=list)

    @property
    def raw(self) -> dict[str, pd.DataFrame]:
        """Model table -> frame to validate."""
        return {k: v.frame for k, v in self.tables.items()}

    @property
    def files(self) -> dict[str, str]:
        """Model table -> source file name (for messages)."""
        return {k: v.file for k, v in self.tables.items()}

    @property
    def lines(self) -> dict[str, np.ndarray]:
        """Model table -> the source line of each row."""
        return {k: v.lines for k, v in self.tables.items()}

    def __iter__(self) -> Iterator[object]:
        return iter((self.raw, self.files, self.lines))


# ---------------------------------------------------------------------- reading
def read_source(
    p: Path, encoding: str | None, delimiter: str = ","
) -> tuple[pd.DataFrame, np.ndarray | None]:
    """A source file as text columns (empty cells missing) and its CSV line starts."""
    if p.suffix.lower() in (".parquet", ".pq"):
        df = pd.read_parquet(p)
        return df.assign(**{c: df[c].astype("str") for c in df.columns}), None
    if p.suffix.lower() not in (".csv", ".txt", ".tsv"):
        raise ValueError(
            f"{p.name}: unsupported source file type {p.suffix!r}; export it as CSV "
            "(in Excel: Save As > CSV UTF-8) or Parquet"
        )
    df, used = read_csv_table(p, encoding=encoding, delimiter=delimiter)
    starts = csv_line_numbers(p, used, len(df), delimiter=delimiter)
    return df, starts


def _clean(s: pd.Series) -> pd.Series:
    """Text with spaces trimmed; empty cells missing."""
    txt = s if isinstance(s.dtype, pd.StringDtype) else s.astype("str")
    txt = txt.str.strip()
    return txt.mask(txt.str.len() == 0)


def loose_key(s: pd.Series) -> pd.Series:
    """Text compared loosely: case, spaces and punctuation ignored (``GTX Pro`` = ``GTXPro``)."""
    return s.str.casefold().str.replace(r"[\W_]+", "", regex=True)


def identifier(name: str) -> str:
    """A source column name as an expression name: ``Opportunity Name`` -> ``opportunity_name``."""
    out = re.sub(r"\W+", "_", name.strip().lower()).strip("_")
    return out if out and not out[0].isdigit() else f"c_{out}"


# ---------------------------------------------------------------------- steps
def _map_values(s: pd.Series, vm: ValueMap) -> pd.Series:
    """Translate through ``vm``, working on the distinct values only."""
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    uniq = np.asarray(uniques, dtype=object)
    target = uniq.copy()
    done = np.zeros(len(uniq), dtype=bool)
    if vm.exact and len(uniq):
        hit = pd.Index(uniq).isin(list(vm.exact))
        target[hit] = [vm.exact[u] for u in uniq[hit]]
        done |= hit
    if vm.patterns and len(uniq):
        arr = pa.array(uniq.tolist(), type=pa.large_string())
        for _key, regex, value in vm.patterns:
            if done.all():
                break
            m = pc.match_substring_regex(arr, regex).to_numpy(zero_copy_only=False)
            new = m & ~done
            target[new] = value
            done |= new
    if vm.other[0]:
        target[~done] = vm.other[1]
        done[:] = True
    lut = np.append(target, vm.empty[1] if vm.empty[0] else None)
    out = lut[np.where(codes < 0, len(target), codes)]
    return pd.Series(out, index=s.index, dtype="str")


def _template_id(df: pd.DataFrame, rule: IdRule) -> pd.Series:
    assert rule.template is not None
    n = len(df)
    out = pd.Series("", index=df.index, dtype="str")
    any_part = np.zeros(n, dtype=bool)
    pieces = re.split(r"(\{\{|\}\}|\{[^{}]*\})", rule.template)
    for piece in pieces:
        if not piece:
            continue
        if piece in ("{{", "}}"):
            out = out + piece[0]
        elif piece.startswith("{"):
            name = piece[1:-1]
            if name == ROW_FIELD:
                part = pd.Series(np.arange(1, n + 1), index=df.index).astype("str")
            else:
                part = _clean(df[name])
            any_part |= part.notna().to_numpy()
            out = out + part.fillna("")
        else:
            out = out + piece
    return out.mask(~any_part)


_HASH_KEY = "salesml-ids-v1.."  # 16 bytes; changing it changes every hashed id
_HEX = np.array([f"{i:02x}".encode() for i in range(256)], dtype="S2")


def _hash_id(df: pd.DataFrame, rule: IdRule) -> pd.Series:
    parts = [_clean(df[c]) for c in rule.hash]
    present = np.zeros(len(df), dtype=bool)
    joined = pd.Series("", index=df.index, dtype="str")
    for i, p in enumerate(parts):
        present |= p.notna().to_numpy()
        joined = joined + ("\x1f" if i else "") + p.fillna("")
    # 64-bit SipHash with a fixed key (vectorised): the same values give the same id in
    # every import
    h = pd.util.hash_array(joined.to_numpy(dtype=object), hash_key=_HASH_KEY, categorize=True)
    hexed = _HEX[h.astype(">u8").view(np.uint8).reshape(-1, 8)].view("S16").ravel()
    ids = pd.Series(hexed.astype("U16"), index=df.index, dtype="str").str[: rule.length]
    return (rule.prefix + ids).mask(~present)


@dataclass
class _Lookups:
    """Lookup files read once per export."""

    src: Path
    mapping: ImportMapping
    cache: dict[tuple[str, str | None, str], pd.DataFrame] = field(default_factory=dict)

    def frame(self, lk: Lookup, where: str) -> pd.DataFrame:
        k = (lk.file, lk.encoding or self.mapping.encoding, lk.delimiter)
        if k not in self.cache:
            p = self.src / lk.file
            if not p.is_file():
                raise FileNotFoundError(f"{where}: lookup file {p} does not exist")
            self.cache[k] = read_source(p, k[1], lk.delimiter)[0]
        df = self.cache[k]
        absent = [c for c in (lk.on, lk.value) if c not in df.columns]
        if absent:
            raise ValueError(
                f"{lk.file}: column(s) {', '.join(map(repr, absent))} named in {where} are not "
                f"in the file; it has: {', '.join(df.columns)}"
            )
        return df


def _lookup(
    df: pd.DataFrame,
    lk: Lookup,
    lookups: _Lookups,
    where: str,
    table: str,
    column: str,
    file: str,
    warnings: list[dict],
    notes: list[str],
) -> pd.Series:
    ref = lookups.frame(lk, where)
    on, val = _clean(ref[lk.on]), _clean(ref[lk.value])
    # the key column's distinct values are looked up once each
    codes, uniq = pd.factorize(_clean(df[lk.key]), use_na_sentinel=True)
    key = pd.Series(np.asarray(uniq, dtype=object), dtype="str")
    if lk.match == "loose":
        on, key = loose_key(on), loose_key(key)
    first = on.notna() & ~on.duplicated(keep="first")
    conflicting = on[on.notna()].duplicated(keep=False)
    if conflicting.any():
        dup = pd.DataFrame({"on": on, "val": val})[on.notna()][conflicting.to_numpy()]
        n_conf = int((dup.groupby("on")["val"].nunique() > 1).sum())
        if n_conf:
            notes.append(
                f"{where}: {n_conf} key(s) appear more than once in {lk.file} with different "
                f"{lk.value}; the first row of each is used"
            )
    idx = pd.Index(on[first].to_numpy())
    upos = np.append(idx.get_indexer(key.to_numpy()), -1)  # last: the empty cells
    vals = np.append(val[first].to_numpy(dtype=object), None)
    pos = upos[np.where(codes < 0, len(upos) - 1, codes)]
    out = pd.Series(vals[pos], index=df.index, dtype="str")
    umiss = np.flatnonzero(upos[:-1] < 0)
    if len(umiss):
        n_rows = np.bincount(codes[codes >= 0], minlength=len(uniq))[umiss]
        raw_keys = pd.Series(n_rows, index=np.asarray(uniq, dtype=object)[umiss])
        for value, n in raw_keys.sort_values(ascending=False, kind="stable").head(20).items():
            warnings.append(
                {
                    "table": table,
                    "column": column,
                    "check": "not_in_reference",
                    "value": str(value),
                    "suggestion": "",
                    "rows": int(n),
                    "message": t(
                        "quality.lookup_miss",
                        "en",
                        n=int(n),
                        file=file,
                        key=lk.key,
                        value=str(value),
                        ref=lk.file,
                        on=lk.on,
                        name=lk.name,
                    ),
                }
            )
    return out


def _iso_dates(s: pd.Series, formats: list[str]) -> pd.Series:
    """Rewrite cells matching one of ``formats`` as ISO text; leave the rest as written."""
    todo = s.notna() & ~s.str.fullmatch(ISO_DATE_RE).fillna(False)
    out = s.copy()
    for fmt in formats:
        if not todo.any():
            break
        parsed = pd.to_datetime(s[todo], format=fmt, errors="coerce")
        hit = parsed.notna()
        idx = hit[hit].index
        out.loc[idx] = parsed[hit].dt.strftime("%Y-%m-%d %H:%M:%S").str.removesuffix(" 00:00:00")
        todo.loc[idx] = False
    return out


class _Origins:
    """Which source fed each cell of one model column (a code per row, names)."""

    def __init__(self, n: int) -> None:
        self.names: list[str] = []
        self.code = np.full(n, -1, dtype=np.int8)

    def mark(self, rows: np.ndarray, name: str) -> None:
        if rows.any():
            self.names.append(name)
            self.code[rows] = len(self.names) - 1

    def take(self, values: pd.Series, name: str, col: pd.Series | None) -> pd.Series:
        """``col`` with its empty cells filled from ``values`` (``values`` if no ``col``)."""
        fresh = values.notna().to_numpy().copy()
        if col is not None:
            fresh &= col.isna().to_numpy()
        self.mark(fresh, name)
        return values if col is None else col.where(col.notna(), values)

    def default_to(self, name: str) -> None:
        """Name cells without a source after ``name``."""
        if name not in self.names:
            self.names.insert(0, name)
            self.code[self.code >= 0] += 1
        self.code[self.code < 0] = self.names.index(name)


def _typed_for_filter(s: pd.Series, kind: str | None, thousands: str | None) -> pd.Series:
    if kind in ("float", "int"):
        txt = s.str.replace(thousands, "", regex=False) if thousands else s
        return pd.to_numeric(txt, errors="coerce")
    if kind == "datetime":
        iso = s.where(s.str.fullmatch(ISO_DATE_RE).fillna(False))
        return pd.to_datetime(iso, format="ISO8601", errors="coerce")
    return s


def _map_table(
    src: Path,
    tm: TableMapping,
    mapping: ImportMapping,
    lookups: _Lookups,
    warnings: list[dict],
    notes: list[str],
) -> MappedTable:
    where = f"{mapping.path or 'mapping'}, table {tm.table}"
    p = src / tm.file
    if not p.is_file():
        raise FileNotFoundError(f"{where}: source file {p} does not exist")
    df, starts = read_source(p, tm.encoding or mapping.encoding, tm.delimiter)
    df = df.reset_index(drop=True)
    absent = [c for c in tm.source_columns if c not in df.columns]
    if absent:
        raise ValueError(
            f"{tm.file}: column(s) {', '.join(map(repr, absent))} named in {where} "
            f"are not in the file; it has: {', '.join(df.columns)}"
        )
    spec = SPECS[tm.table]
    n = len(df)
    formats = tm.date_formats + mapping.date_formats
    out: dict[str, pd.Series] = {}
    origins: dict[str, tuple[np.ndarray, list[str]]] = {}
    source_of = tm.source_of
    for m in tm.model_columns:
        if m in tm.constants:
            continue
        cells = _Origins(n)
        take = cells.take
        col: pd.Series | None = None
        if m in source_of:
            col = take(_clean(df[source_of[m]]), source_of[m], None)
        elif m in tm.ids:
            rule = tm.ids[m]
            built = _template_id(df, rule) if rule.template is not None else _hash_id(df, rule)
            col = take(built, f"ids.{m}", None)
        else:
            col = pd.Series(pd.NA, index=df.index, dtype="str")
        fill = tm.fill.get(m)
        for s_name in fill.fill_from if fill else ():
            if s_name.startswith("lookup."):
                lk = tm.lookups[s_name[len("lookup.") :]]
                values = _lookup(
                    df,
                    lk,
                    lookups,
                    f"{where}, lookups.{lk.name}",
                    tm.table,
                    m,
                    tm.file,
                    warnings,
                    notes,
                )
            else:
                values = _clean(df[s_name])
            col = take(values, s_name, col)
        vm = tm.values.get(m)
        if vm is not None:
            before = col.notna().to_numpy().copy()
            col = _map_values(col, vm)
            # a cell a value map emptied has no source any more; one it filled is the map's
            cells.code[before & col.isna().to_numpy()] = -1
            cells.mark(~before & col.notna().to_numpy(), f"values.{m}")
        if m in tm.placeholders:
            col = take(
                pd.Series(tm.placeholders[m], index=df.index, dtype="str"), f"placeholders.{m}", col
            )
        if fill is not None and fill.default is not None:
            col = take(
                pd.Series(fill.default, index=df.index, dtype="str"), f"fill.{m}.default", col
            )
        kind = spec[m].kind if m in spec else None
        if kind == "datetime":
            col = _iso_dates(col, formats)
        elif kind in ("float", "int") and tm.thousands:
            col = col.str.replace(tm.thousands, "", regex=False)
        if m in source_of:  # an empty cell is named after the column that should fill it
            cells.default_to(source_of[m])
        out[m] = col
        origins[m] = (cells.code, cells.names)
    for m, v in tm.constants.items():
        out[m] = pd.Series(v, index=df.index, dtype="str" if isinstance(v, str) else None)
    if tm.keep_unmapped:
        used = set(tm.columns)
        for c in df.columns:
            if c not in used and c not in out:
                out[c] = df[c]
    odd = [c for c in out if c not in spec and c not in df.columns]
    for c in odd:
        close = difflib.get_close_matches(c, spec.column_names, n=1, cutoff=0.85)
        if close:
            notes.append(
                f"{where}: {c!r} is not a column of the model's {tm.table}; it is carried along "
                f"as an extra column (did you mean {close[0]!r}?)"
            )
    order = [c.name for c in spec.columns if c.name in out]
    order += [c for c in out if c not in order]
    frame = pd.DataFrame({c: out[c] for c in order}, index=df.index)
    skip = np.zeros(n, dtype=bool)
    if tm.filter is not None:
        skip = _filter_mask(df, frame, tm, where)
    kept = np.flatnonzero(~skip)
    if skip.any():
        frame = frame.iloc[kept].reset_index(drop=True)
        origins = {m: (c[kept], names) for m, (c, names) in origins.items()}
    return MappedTable(
        table=tm.table,
        file=tm.file,
        frame=frame,
        read=n,
        source_rows=kept.astype(np.int64),
        source_lines=starts,
        skipped=np.flatnonzero(skip).astype(np.int64),
        origins=origins,
    )


def _filter_mask(df: pd.DataFrame, frame: pd.DataFrame, tm: TableMapping, where: str) -> np.ndarray:
    """Rows the table's ``filter`` leaves out."""
    assert tm.filter is not None
    spec = SPECS[tm.table]
    available: dict[str, str] = {c: "model" for c in frame.columns if identifier(c) == c}
    for c in df.columns:
        available.setdefault(identifier(c), c)
    available.setdefault(ROW_FIELD, ROW_FIELD)
    try:
        expr = compile_expr(tm.filter.expression, columns=list(available))
    except ExpressionError as e:
        raise ValueError(f"{where}, filter: {e}") from None
    cols = {}
    for name in expr.columns:
        origin = available[name]
        if origin == ROW_FIELD:
            cols[name] = pd.Series(np.arange(1, len(df) + 1), index=df.index)
        elif origin == "model":
            kind = spec[name].kind if name in spec else None
            cols[name] = _typed_for_filter(frame[name], kind, tm.thousands)
        else:
            cols[name] = _clean(df[origin])
    view = pd.DataFrame(cols, index=df.index)
    try:
        hit = expr.mask(view, table=tm.table).to_numpy(dtype=bool)
    except ExpressionError as e:
        raise ValueError(f"{where}, filter: {e}") from None
    return hit if tm.filter.skip else ~hit


def _add_placeholders(
    tables: dict[str, MappedTable], mapping: ImportMapping, notes: list[str]
) -> None:
    """Append one placeholder row per (parent table, id) the children point at."""
    for child, tm in mapping.tables.items():
        mt = tables[child]
        for col, pid in tm.placeholders.items():
            uses = (mt.frame[col] == pid).fillna(False).to_numpy(dtype=bool)
            if not uses.any():
                continue
            parent, pcol = SPECS[child][col].references.split(".")  # type: ignore[union-attr]
            if parent not in tables:
                notes.append(
                    f"{child}: {int(uses.sum()):,} rows point at the placeholder {pid!r}; the "
                    f"mapping has no {parent} table, so no placeholder row was added"
                )
                continue
            pt = tables[parent]
            if (pt.frame[pcol] == pid).fillna(False).any():
                notes.append(f"{parent}: {pid!r} is already in {pt.file}; its row is used")
                continue
            row = _placeholder_row(parent, pcol, pid, mt, uses)
            frame = pt.frame
            if PLACEHOLDER_COLUMN not in frame.columns:
                frame = frame.assign(**{PLACEHOLDER_COLUMN: False})
            add = pd.DataFrame({c: [row.get(c)] for c in frame.columns})
            add[PLACEHOLDER_COLUMN] = True
            for c in frame.columns:
                if c != PLACEHOLDER_COLUMN:
                    add[c] = add[c].astype(frame[c].dtype if frame[c].dtype != object else "str")
            pt.frame = pd.concat([frame, add], ignore_index=True)
            pt.source_rows = np.append(pt.source_rows, -1)
            for c, (codes, names) in list(pt.origins.items()):
                pt.origins[c] = (np.append(codes, np.int8(-1)), names)
            pt.added += 1
            notes.append(
                t(
                    "data.import.placeholder",
                    "en",
                    n=int(uses.sum()),
                    child=child,
                    pid=pid,
                    parent=parent,
                    column=col,
                )
            )


def _placeholder_row(
    parent: str, pcol: str, pid: str, child: MappedTable, uses: np.ndarray
) -> dict[str, str | None]:
    spec = SPECS[parent]
    dates = []
    tcol = SPECS[child.table].time_column
    if tcol and tcol in child.frame.columns:
        s = child.frame[tcol]
        iso = s.where(s.str.fullmatch(ISO_DATE_RE).fillna(False))
        parsed = pd.to_datetime(iso, format="ISO8601", errors="coerce")
        dates = [parsed[uses].min(), parsed.min()]
    first = next((d for d in dates if pd.notna(d)), None)
    day = first.strftime("%Y-%m-%d") if first is not None else _PLACEHOLDER_DATE
    row: dict[str, str | None] = {}
    for c in spec.columns:
        if c.name == pcol:
            row[c.name] = pid
        elif c.nullable:
            row[c.name] = None
        elif c.kind == "datetime":
            row[c.name] = day
        elif c.kind in ("float", "int"):
            row[c.name] = "0"
        elif c.kind == "bool":
            row[c.name] = "false"
        else:
            row[c.name] = pid
    return row


def apply_mapping(src_dir: str | Path, mapping: ImportMapping) -> MappedExport:
    """Read the source files and translate them into raw model tables (not validated).

    Parameters
    ----------
    src_dir
        Folder holding the export's files.
    mapping
        The parsed mapping.

    Returns
    -------
    MappedExport
        Per table the rows kept, the rows skipped and where each cell came from; the
        lookups' misses as data-quality warnings. Unpacks as ``raw, files, lines``.

    Raises
    ------
    FileNotFoundError, ValueError
        A source or lookup file that does not exist, a column the mapping names that
        the file lacks, a filter naming an unknown column; the message names the
        mapping, the table and the file.
    """
    src = Path(src_dir)
    if not src.is_dir():
        raise FileNotFoundError(f"{src} is not a folder of exported files")
    lookups = _Lookups(src, mapping)
    warnings: list[dict] = []
    notes: list[str] = []
    tables = {
        table: _map_table(src, tm, mapping, lookups, warnings, notes)
        for table, tm in mapping.tables.items()
    }
    _add_placeholders(tables, mapping, notes)
    return MappedExport(tables, warnings_frame(warnings), notes)


def resolve_value_sets(src: Path, mapping: ImportMapping) -> dict:
    """The mapping's ``dataset.value_sets`` with ``{file:, column:}`` entries read from the export.

    ``{"deals.product_line": {"file": "products.csv", "column": "product"}}`` becomes
    the distinct values of that column (at most
    :data:`~salesml.data.config.MAX_SET_VALUES`), so the dataset keeps the reference
    list after the export is gone.
    """
    from salesml.data.config import MAX_SET_VALUES

    raw = mapping.dataset.get("value_sets") or {}
    if not isinstance(raw, dict):
        return raw
    out = {}
    for key, entry in raw.items():
        if isinstance(entry, dict) and "file" in entry:
            extra = set(entry) - {"file", "column", "strict", "encoding", "delimiter"}
            if extra or "column" not in entry:
                raise ValueError(
                    f"{mapping.path or 'mapping'}: dataset.value_sets.{key}: a set read from "
                    "the export takes file:, column: (and optionally strict:, encoding:, delimiter:)"
                )
            p = src / str(entry["file"])
            if not p.is_file():
                raise FileNotFoundError(
                    f"{mapping.path or 'mapping'}: dataset.value_sets.{key}: {p} does not exist"
                )
            df = read_source(
                p, entry.get("encoding") or mapping.encoding, str(entry.get("delimiter", ","))
            )[0]
            col = str(entry["column"])
            if col not in df.columns:
                raise ValueError(
                    f"{p.name}: column {col!r} named in dataset.value_sets.{key} is not in the "
                    f"file; it has: {', '.join(df.columns)}"
                )
            values = _clean(df[col]).dropna().unique().tolist()
            if len(values) > MAX_SET_VALUES:
                raise ValueError(
                    f"{p.name}: column {col!r} has {len(values):,} distinct values; a value set "
                    f"holds at most {MAX_SET_VALUES:,}"
                )
            out[key] = {
                "values": [str(v) for v in values],
                "strict": bool(entry.get("strict", False)),
            }
        else:
            out[key] = entry
    return out
