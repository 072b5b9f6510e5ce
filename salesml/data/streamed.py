"""Validation streamed over a dataset's partitions, here or on a Dask cluster.

A Parquet table stored as several files (``<table>/month=YYYY-MM/...`` or a folder of
parts) is validated piece by piece: a month folder (or one part file) is read,
parsed and checked against the single-row rules (``dtype``, ``date_format``,
``not_null``, ``allowed_values``, ``non_negative``, ``time_order``), at most
:data:`LOAD_THREADS` pieces (two) at a time in this process. What the cross-row rules need, the key, foreign-key and date
columns of every row, is kept per piece; once every piece has been seen they are
joined and the cross-row rules (``unique_key`` across months, ``foreign_key`` into
other tables, ``parent_rejected``, a payment before its contract) run on them with the
same functions as :func:`salesml.data.validate.validate`. The report (quarantine rows
and their order, messages with the row in the whole table, counts, rejected rows as
read, notes) and the clean tables are the same as a validation of the whole tables
(``tests/data/test_streamed.py``), while only the running pieces' raw and parsed
frames and their rule temporaries are held at a time.

Each piece is a :class:`Piece` (table, file names): :func:`check_piece` reads its own
files from the folder, so on a cluster (:func:`salesml.distributed.map_pieces`) the
workers read their partitions and send back the parsed piece (for a load) or only its
key columns (for :func:`stream_validate` with ``keep=False``).
"""

from __future__ import annotations

import os
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from salesml.data.arrowpool import release_unused_memory
from salesml.data.bundle import SalesData
from salesml.data.config import DatasetConfig
from salesml.data.folder import table_parts
from salesml.data.partitions import (
    PARTITIONED_TABLES,
    is_hive,
    prune_parts,
    read_parquet_table,
    table_schema,
)
from salesml.data.schema import SPECS, TABLE_NAMES
from salesml.data.validate import ValidationReport, finalise_table, parse_table
from salesml.data.validate.parse import (
    compact_columns,
    forget_lookup_tables,
    fresh_index,
    known_unique_dtype,
)
from salesml.data.validate.report import place_quarantine, quarantine_parts, typed_quarantine
from salesml.data.validate.rules import (
    CheckedTable,
    check_references,
    check_table,
    check_unique_key,
)

__all__ = [
    "LOAD_THREADS",
    "PIECE_ROWS",
    "Piece",
    "PieceResult",
    "TablePlan",
    "check_piece",
    "concat_series",
    "cross_columns",
    "plan_pieces",
    "read_columns",
    "read_piece",
    "stream_validate",
]

#: Cross-table time orders whose child column's value a quarantine message shows as read.
_CROSS_TIME = (("payments", "paid_at", "contract_id", "contracts", "signed_at"),)
#: Rows validated together (a tier-L month of activities is about 1.3M rows; read,
#: parsed and checked, a million rows take a few hundred MB).
PIECE_ROWS = 1_000_000
#: Pieces read and checked at a time in this process (their Arrow reads and numpy
#: passes release the GIL); each holds its own piece, so two, not one per core.
LOAD_THREADS = min(2, os.cpu_count() or 1)
#: Rank of the issues found once every piece is in (after every single-row rule).
_LATE = 1_000_000


@dataclass(frozen=True)
class TablePlan:
    """How every piece of one table is read: its folder, schema, columns and rows."""

    name: str
    #: the table's file or folder, relative to the dataset folder
    root: str
    label: str
    schema: Any
    columns: list[str] | None
    window: tuple[pd.Timestamp, pd.Timestamp] | None
    #: the model columns read as categoricals (compact), else ``None``
    dictionary: list[str] | None


@dataclass(frozen=True)
class Piece:
    """Files of one table validated together (a month folder, a part file, a file)."""

    table: str
    index: int
    #: file names relative to the dataset folder, in the table's row order
    files: tuple[str, ...]


@dataclass
class PieceResult:
    """What :func:`check_piece` found in one piece (rows at their positions in it)."""

    table: str
    index: int
    n_rows: int
    #: the parsed rows (all of them; with ``keep=False`` only the cross-rule columns)
    frame: pd.DataFrame
    rejected: np.ndarray
    #: (rank, quarantine part) per issue; see :func:`quarantine_parts`
    issues: list[tuple[tuple[int, int], pd.DataFrame]]
    #: the rejected rows as read (index: position in the piece)
    rejected_raw: pd.DataFrame
    #: categories of the categorical columns as read (to unify the rejected rows')
    raw_categories: dict[str, pd.Index] = field(default_factory=dict)
    #: columns as read that the late rules show in messages (a payment's paid_at)
    raw_cross: pd.DataFrame | None = None
    added: list[str] = field(default_factory=list)


def plan_pieces(
    folder: Path,
    found: Mapping[str, Path],
    *,
    columns: Mapping[str, list[str]],
    window: tuple[pd.Timestamp, pd.Timestamp] | None,
    compact: bool,
    validate: bool = True,
    piece_rows: int | None = None,
) -> tuple[dict[str, TablePlan], list[Piece]]:
    """The pieces of every Parquet table in ``found``.

    A piece is a run of consecutive month folders (or part files) holding at most
    ``piece_rows`` rows (default :data:`PIECE_ROWS`, counted from the file footers; a
    bigger month is a piece of its own), so small tables are one piece and big ones
    one or a few months.

    Each table's schema is read once here (the footers of its files) and sent with
    every piece, so each piece has the whole table's columns and types.
    """
    piece_rows = PIECE_ROWS if piece_rows is None else piece_rows
    plans: dict[str, TablePlan] = {}
    pieces: list[Piece] = []
    for name in TABLE_NAMES:
        if name not in found:
            continue
        p = found[name]
        parts = table_parts(p, folder, name)
        win = window if name in PARTITIONED_TABLES else None
        parts = prune_parts(p, parts, name, win)
        dictionary = list(compact_columns(name)) if compact else None
        footers: dict[Path, Any] = {}
        schema = table_schema(p, parts, name, dictionary=dictionary, footers=footers)
        cols = read_columns(name, columns.get(name), validate)
        label = p.name + ("/" if p.is_dir() else "")
        plans[name] = TablePlan(
            name, p.relative_to(folder).as_posix(), label, schema, cols, win, dictionary
        )
        groups: dict[str, list[Path]] = {}
        hive = is_hive(p)
        for x in parts:
            group = x.parent.name if hive and x.parent != p else x.relative_to(p).as_posix()
            if not p.is_dir():
                group = ""
            groups.setdefault(group, []).append(x)
        merged: list[list[Path]] = []
        size = 0
        for files in groups.values():
            got = sum(footers[f].num_rows for f in files)
            if merged and size + got <= piece_rows:
                merged[-1] += files
                size += got
            else:
                merged.append(list(files))
                size = got
        for i, files in enumerate(merged):
            rel = tuple(f.relative_to(folder).as_posix() for f in files)
            pieces.append(Piece(name, i, rel))
    return plans, pieces


def read_columns(name: str, wanted: list[str] | None, validate: bool) -> list[str] | None:
    """The columns to read for ``wanted``: with validation also those its rules need."""
    if wanted is None:
        return None
    spec = SPECS[name]
    need = list(wanted)
    if validate:
        extra = [*spec.key, *(c for c, _, _ in spec.foreign_keys)]
        extra += [c.name for c in spec.columns if not c.nullable]
        if spec.time_column:
            extra.append(spec.time_column)
        need += [c for c in extra if c not in need]
    return need


def cross_columns(name: str) -> list[str]:
    """The columns of table ``name`` the cross-row rules read (key, foreign keys, dates)."""
    spec = SPECS[name]
    cols = [*spec.key, *(c for c, _, _ in spec.foreign_keys)]
    for child, col, fk, parent, pcol in _CROSS_TIME:
        if name == child:
            cols += [col, fk]
        if name == parent:
            cols += [SPECS[parent].key[0], pcol]
    return list(dict.fromkeys(cols))


def _ranks(name: str) -> dict[tuple[str, str], int]:
    """The order in which :func:`check_table` adds its issues, per (column, rule)."""
    spec = SPECS[name]
    out: dict[tuple[str, str], int] = {("*", "csv_syntax"): 0}
    for c in spec.columns:
        for rule in ("date_format", "dtype", "not_null", "allowed_values", "non_negative"):
            out[(c.name, rule)] = len(out)
    out[("+".join(spec.key), "unique_key")] = len(out)
    for _, later in spec.time_orders:
        out.setdefault((later, "time_order"), len(out))
    return out


def read_piece(piece: Piece, folder: str | Path, plan: TablePlan) -> pd.DataFrame:
    """The rows of one piece as read (a fresh ``RangeIndex``)."""
    root = Path(folder)
    files = [root / f for f in piece.files]
    raw = read_parquet_table(
        root / plan.root,
        files,
        plan.name,
        columns=plan.columns,
        window=plan.window,
        schema=plan.schema,
    )
    return fresh_index(raw)


def check_piece(
    piece: Piece,
    folder: str | Path,
    plans: Mapping[str, TablePlan],
    config: DatasetConfig,
    compact: bool,
    keep: bool,
) -> PieceResult:
    """Read one piece and apply the single-row rules to it (module level: runs on workers).

    Parameters
    ----------
    piece
        The piece (table and files).
    folder
        The dataset folder (a path the worker can read).
    plans
        Table -> :class:`TablePlan` (schema, columns, rows).
    config
        The dataset's settings.
    compact
        As for :func:`~salesml.data.io.load_dataset`.
    keep
        Return every parsed column (a load); else only :func:`cross_columns`.
    """
    plan = plans[piece.table]
    name = piece.table
    spec = SPECS[name]
    raw = read_piece(piece, folder, plan)
    lacking = [c.name for c in spec.columns if c.name not in raw.columns and not c.nullable]
    if lacking:
        raise ValueError(
            f"{plan.label}: required column(s) {', '.join(lacking)} missing (it has: "
            f"{', '.join(map(str, raw.columns))}); map or add them before loading"
        )
    added = [c.name for c in spec.columns if c.name not in raw.columns]
    parsed, bad = parse_table(name, raw, config=config, compact=compact)
    t = CheckedTable(name, raw, parsed, plan.label, rejected=np.zeros(len(raw), dtype=bool))
    check_table(t, bad, config, unique=False)
    ranks = _ranks(name)
    seen: dict[tuple[str, str], int] = {}
    issues = []
    for issue, part in zip(t.issues, quarantine_parts(t), strict=True):
        slot = (issue.column, issue.rule)
        if slot not in ranks:  # pragma: no cover - a rule check_table does not add
            raise AssertionError(f"unranked issue {slot} of {name}")
        seen[slot] = seen.get(slot, -1) + 1
        issues.append(((ranks[slot], seen[slot]), part))
    raw_cross = None
    cross_time = [col for child, col, *_ in _CROSS_TIME if child == name and col in raw]
    if cross_time:
        raw_cross = raw[cross_time]
    frame = parsed if keep else parsed[[c for c in cross_columns(name) if c in parsed.columns]]
    result = PieceResult(
        name,
        piece.index,
        len(raw),
        frame,
        t.rejected,
        issues,
        raw[t.rejected],
        {c: s.cat.categories for c, s in raw.items() if isinstance(s.dtype, pd.CategoricalDtype)},
        raw_cross,
        [f"{plan.label}: optional column(s) {', '.join(added)} absent, added as empty"]
        if added
        else [],
    )
    forget_lookup_tables(parsed)
    forget_lookup_tables(raw)
    del raw, parsed, frame, t, bad
    release_unused_memory()  # the piece's temporaries, before the next piece is read
    return result


def concat_series(parts: list[pd.Series], *, sort_categories: bool = False) -> pd.Series:
    """Series one after the other (fresh index); categoricals' categories unified in order.

    The categories come out in order of first appearance over the parts, which is how
    Arrow unifies the dictionaries of one read of all the files. With
    ``sort_categories`` text categories that differ between the parts come out sorted
    instead (as :func:`~salesml.data.validate.text.sorted_categories` would sort them
    afterwards, without a second pass over the codes).
    """
    if len(parts) == 1:
        s = parts[0]
        return s.reset_index(drop=True) if not _range_index(s.index) else s
    if all(isinstance(s.dtype, pd.CategoricalDtype) for s in parts):
        return _union_categoricals(parts, sort_categories)
    return pd.concat(parts, ignore_index=True)


def _union_categoricals(parts: list[pd.Series], sort: bool = False) -> pd.Series:
    """``union_categoricals`` of text categories through Arrow (hashing in C++, not objects).

    Categories in order of first appearance, as pandas' ``union_categoricals`` gives
    them, or sorted with ``sort`` when the parts' categories differ; categories that
    are not text go through pandas.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    cats = [s.cat.categories for s in parts]
    if not all(c.dtype == "str" for c in cats):
        cat = pd.api.types.union_categoricals([s.array for s in parts])
        return pd.Series(cat, name=parts[0].name)
    first = cats[0]
    if all(c is first or c.equals(first) for c in cats[1:]):
        union = first
        arrays = [None] * len(parts)
    else:
        arrays = [pa.array(c, type=pa.large_string()) for c in cats]
        flat_at = _sorted_union(arrays) if sort else None
        if flat_at is not None:  # ids packed to integers: one integer sort, no hashing
            union_arr, flat_at = flat_at
        else:
            union_arr = pc.unique(pa.chunked_array(arrays, type=pa.large_string()))
            if sort:
                union_arr = union_arr.take(pc.array_sort_indices(union_arr))
        union = pd.Index(
            union_arr.to_pandas(types_mapper=lambda t: pd.StringDtype("pyarrow", na_value=np.nan)),
            dtype="str",
        )
        if len(union) == len(first) and union.equals(first):
            union = first
    n_cats = len(union)  # the code width pandas picks (coerce_indexer_dtype)
    dtype = np.int8 if n_cats < 127 else np.int16 if n_cats < 32767 else np.int32
    remaps: list[np.ndarray | None] = [None] * len(parts)
    if arrays[0] is not None:
        # every part's categories looked up in one call: the union is hashed once, not
        # once per part (parts x union grows with the square of the data)
        if flat_at is None:
            flat_at = pc.index_in(
                pa.chunked_array(arrays, type=pa.large_string()), value_set=union_arr
            ).to_numpy()  # no nulls: each category is in the union
        flat = flat_at.astype(dtype)
        ends = np.cumsum([len(a) for a in arrays])[:-1]
        # code -1 (missing) stays -1: the last entry of each remap
        remaps = [np.append(r, dtype(-1)) for r in np.split(flat, ends)]
    codes = np.empty(sum(len(s) for s in parts), dtype=dtype)
    at = 0
    for s, remap in zip(parts, remaps, strict=True):
        old = s.cat.codes.to_numpy()
        codes[at : at + len(old)] = old if remap is None else remap[old]
        at += len(old)
    dtype = parts[0].dtype if union is first else known_unique_dtype(union)
    cat = pd.Categorical.from_codes(codes, dtype=dtype, validate=False)
    out = pd.Series(cat, name=parts[0].name)
    forget_lookup_tables(out)
    return out


def _sorted_union(arrays: list[Any]) -> tuple[Any, np.ndarray] | None:
    """The sorted distinct values of text arrays, and where each value is among them.

    The values are packed to integers (:func:`~salesml.data.validate.keys.pack_keys`,
    in the texts' order) and sorted once, which for ids is several times quicker than
    hashing them and sorting the distinct ones. ``None`` when they cannot be packed.
    """
    import pyarrow as pa

    from salesml.data.validate.keys import pack_keys

    got = pack_keys(arrays)
    if got is None:
        return None
    flat = np.concatenate(got[0])
    _, first, where = np.unique(flat, return_index=True, return_inverse=True)
    values = pa.chunked_array(arrays, type=pa.large_string()).take(pa.array(first))
    return values.combine_chunks(), where


def _range_index(idx: pd.Index) -> bool:
    return isinstance(idx, pd.RangeIndex) and idx.start == 0 and idx.step == 1


def _union_index(indexes: list[pd.Index]) -> pd.Index:
    out = indexes[0]
    for x in indexes[1:]:
        if not x.equals(out):
            out = out.append(x[~x.isin(out)])
    return out


def stream_validate(
    folder: Path,
    found: Mapping[str, Path],
    config: DatasetConfig,
    *,
    window: tuple[pd.Timestamp, pd.Timestamp] | None = None,
    columns: Mapping[str, list[str]] | None = None,
    compact: bool = False,
    keep: bool = True,
    client: Any = None,
    progress: bool = False,
    unchecked_parents: Collection[str] = (),
    piece_rows: int | None = None,
) -> ValidationReport:
    """Validate the Parquet tables ``found`` of ``folder`` piece by piece.

    Parameters
    ----------
    folder
        The dataset folder.
    found
        Table -> its Parquet file or folder (every table Parquet).
    config
        The folder's ``dataset.yaml``.
    window, columns, compact
        Rows, columns and dtypes to read (as :func:`~salesml.data.io.load_dataset`).
    keep
        Build the clean tables (``report.data``); with ``False`` only the cross-rule
        columns of every row are kept, and ``report.data`` has no tables.
    client
        A ``distributed.Client`` (or ``None``: this process, :data:`LOAD_THREADS`
        pieces at a time).
    progress
        Show a progress bar over the pieces.
    unchecked_parents
        Tables read for a period only (foreign keys into them are not checked).
    piece_rows
        Rows per piece (default :data:`PIECE_ROWS`; 1: every month apart).

    Returns
    -------
    ValidationReport
        The same as :func:`salesml.data.validate.validate` of the whole tables.
    """
    from salesml.distributed import map_pieces

    plans, pieces = plan_pieces(
        folder,
        found,
        columns=dict(columns or {}),
        window=window,
        compact=compact,
        piece_rows=piece_rows,
    )
    results: list[PieceResult] = map_pieces(
        check_piece,
        pieces,
        str(folder),
        plans,
        config,
        compact,
        keep,
        client=client,
        progress=progress,
        desc="validating",
        threads=LOAD_THREADS,
    )
    own: dict[str, list[Piece]] = {}
    for pc_ in pieces:
        own.setdefault(pc_.table, []).append(pc_)
    by_table: dict[str, list[PieceResult]] = {}
    for r in results:
        by_table.setdefault(r.table, []).append(r)
    del results
    notes: list[str] = []
    tables: dict[str, CheckedTable] = {}
    offsets: dict[str, np.ndarray] = {}
    columns_of = {name: list(rs[0].frame.columns) for name, rs in by_table.items()}
    for name, rs in by_table.items():
        notes += rs[0].added
        sizes = np.array([r.n_rows for r in rs], dtype=np.int64)
        offsets[name] = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        cross = [c for c in cross_columns(name) if c in rs[0].frame.columns]
        thin = pd.DataFrame(
            {c: concat_series([r.frame[c] for r in rs], sort_categories=True) for c in cross},
            copy=False,
        )
        if not cross:
            thin = pd.DataFrame(index=pd.RangeIndex(int(sizes.sum())))
        raw_thin = thin
        if rs[0].raw_cross is not None:
            rc = {c: concat_series([r.raw_cross[c] for r in rs]) for c in rs[0].raw_cross}
            raw_thin = thin.assign(**rc)
        if keep:  # the joined columns stand in for the pieces' own copies from now on
            for r in rs:
                r.frame = r.frame.drop(columns=cross)
        rejected = np.concatenate([r.rejected for r in rs])
        t = CheckedTable(name, raw_thin, thin, plans[name].label, rejected=rejected)
        check_unique_key(t)
        forget_lookup_tables(thin)
        tables[name] = t
        release_unused_memory()  # the pieces' copies of the joined columns
    check_references(tables, notes, unchecked_parents=unchecked_parents)
    release_unused_memory()

    qframes: list[pd.DataFrame] = []
    counts, rejected_rows, clean = [], {}, {}
    for name, rs in by_table.items():
        t = tables[name]
        label = plans[name].label
        ranks = _ranks(name)
        placed: list[tuple[tuple[int, int], int, pd.DataFrame]] = []
        for r, off in zip(rs, offsets[name], strict=True):
            for rank, part in r.issues:
                placed.append(
                    (
                        rank,
                        r.index,
                        place_quarantine(part, name, label, is_csv=False, offset=int(off)),
                    )
                )
        for k, (issue, part) in enumerate(zip(t.issues, quarantine_parts(t), strict=True)):
            rank = (
                (ranks[(issue.column, "unique_key")], 0)
                if issue.rule == "unique_key"
                else (_LATE + k, 0)
            )
            placed.append((rank, -1, place_quarantine(part, name, label, is_csv=False)))
        placed.sort(key=lambda x: (x[0], x[1]))
        qframes += [q for _, _, q in placed]
        n_bad = int(t.rejected.sum())
        if n_bad:
            rejected_rows[name] = _rejected_rows(
                rs, offsets[name], t.rejected, folder, plans[name], own[name]
            )
        if keep:
            clean[name] = finalise_table(
                name, _clean_frame(rs, offsets[name], t, columns_of[name]), config, compact=compact
            )
        n = len(t.parsed)
        counts.append(
            {"table": name, "file": label, "read": n, "loaded": n - n_bad, "quarantined": n_bad}
        )
        del tables[name], rs[:], t
        release_unused_memory()  # the table's pieces, now joined
    counts_df = (
        pd.DataFrame(counts).set_index("table")
        if counts
        else pd.DataFrame(columns=["file", "read", "loaded", "quarantined"]).rename_axis("table")
    )
    report = ValidationReport(
        data=SalesData(clean, config),
        quarantine=typed_quarantine(qframes),
        counts=counts_df,
        rejected=rejected_rows,
        notes=notes,
    )
    report.data.validation = report
    return report


def _clean_frame(
    rs: list[PieceResult], offsets: np.ndarray, t: CheckedTable, order: list[str]
) -> pd.DataFrame:
    """The rows of every piece that no rule rejected, built one column at a time.

    Each column's pieces are dropped once it is built, so the table is held about once
    (plus one column), not twice.
    """
    keeps = [~t.rejected[off : off + r.n_rows] for r, off in zip(rs, offsets, strict=True)]
    any_rejected = bool(t.rejected.any())
    columns = [dict(r.frame.items()) for r in rs]
    for r in rs:
        r.frame = pd.DataFrame()  # the columns live on in ``columns`` until joined
    out: dict[str, pd.Series] = {}
    for c in order:
        if c in t.parsed.columns:  # a joined key / foreign-key column
            s = t.parsed[c]
            out[c] = s[~t.rejected].reset_index(drop=True) if any_rejected else s
            continue
        parts = [cols[c] if k.all() else cols[c][k] for cols, k in zip(columns, keeps, strict=True)]
        out[c] = concat_series(parts, sort_categories=True)  # finalise_table sorts them
        del parts
        for cols in columns:
            del cols[c]
    return pd.DataFrame(out, copy=False)


def _rejected_rows(
    rs: list[PieceResult],
    offsets: np.ndarray,
    rejected: np.ndarray,
    folder: Path,
    plan: TablePlan,
    pieces: list[Piece],
) -> pd.DataFrame:
    """The rejected rows as read (index: row in the table), like the whole-table read's.

    Rows the cross-row rules rejected are read again from their piece's files; the
    categorical columns get the categories of a read of every piece.
    """
    frames = []
    for r, off in zip(rs, offsets, strict=True):
        mine = rejected[off : off + r.n_rows]
        if not mine.any():
            continue
        if mine.sum() == r.rejected.sum():
            got = r.rejected_raw
        else:  # rows rejected once every piece was in: read the piece again
            got = read_piece(pieces[r.index], folder, plan)[mine]
        frames.append(got.set_axis(got.index + int(off)))
    cats = {
        c: _union_index([r.raw_categories[c] for r in rs if c in r.raw_categories])
        for c, s in frames[0].items()
        if isinstance(s.dtype, pd.CategoricalDtype)
    }
    if cats:
        frames = [
            f.assign(**{c: f[c].cat.set_categories(v) for c, v in cats.items()}) for f in frames
        ]
    return pd.concat(frames) if len(frames) > 1 else frames[0]
