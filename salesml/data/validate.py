"""Validation of sales tables against the data model, with a quarantine.

Every row read is either loaded or quarantined, never dropped silently:
``read == loaded + quarantined`` holds for every table. Each rejected row is
recorded once per broken rule and column, with the file, the row position, the
CSV line, the row's key, the offending value and a message a manager can act on.

Rules (names are stable; the simulator's fault injector uses the same ones):

``dtype``
    A non-empty cell of a number or true/false column that does not parse.
``date_format``
    A non-empty cell of a date column that is not ISO ``YYYY-MM-DD[ HH:MM[:SS]]``
    (nor one of the ``date_formats`` declared in ``dataset.yaml``).
``not_null``
    An empty cell in a required column.
``allowed_values``
    A category outside its closed set (e.g. deal ``outcome``; deal ``stage`` must
    be one of the dataset's ``stage_order``; cost ``category`` one of the 12 model
    categories or a name mapped to one in ``dataset.yaml``).
``non_negative``
    A number below its column's lower bound (amounts, quantities, durations).
``unique_key``
    A later duplicate of a key; the first row with that key is kept.
``time_order``
    A date earlier than the date it must follow (the spec's time orders, plus a
    payment before its contract was signed).
``foreign_key``
    A reference to an id that does not exist in the parent table as read.
``parent_rejected``
    A reference to a parent row that exists but was itself quarantined; reported
    apart from ``foreign_key`` so cascades are visible.

References to a table the dataset does not have are not checked (a note says so).

Speed: every check is vectorised over whole columns (Arrow compute for text).
pandera expresses the single-table rules declaratively (:func:`to_pandera`, used in
tests as an independent oracle) but is not on the load path: it cannot parse text
cells while recording which failed, nor express cross-table rules or the per-row
quarantine records, and its lazy mode checked the single-table rules alone in
2.2 s at tier M where this module runs all nine rules in 1.8 s (bench/README.md).
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from salesml.data.bundle import SalesData
from salesml.data.config import DatasetConfig
from salesml.data.schema import COST_CATEGORIES, SPECS, TABLE_NAMES, Column, TableSpec

__all__ = [
    "QUARANTINE_COLUMNS",
    "RULES",
    "ValidationReport",
    "parse_table",
    "to_pandera",
    "validate",
]

RULES: tuple[str, ...] = (
    "dtype",
    "date_format",
    "not_null",
    "allowed_values",
    "non_negative",
    "unique_key",
    "time_order",
    "foreign_key",
    "parent_rejected",
)

QUARANTINE_COLUMNS: tuple[str, ...] = (
    "table",
    "file",
    "row",
    "line",
    "key",
    "column",
    "rule",
    "value",
    "message",
)

#: ISO dates accepted everywhere: ``YYYY-MM-DD``, optionally `` HH:MM``, ``:SS``, fraction.
ISO_DATE_RE = r"\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)?"

_TRUE = ("true", "1", "yes", "y", "t", "1.0")
_FALSE = ("false", "0", "no", "n", "f", "0.0")

#: Cross-table time orders: (table, column, foreign-key column, parent table, parent column).
_CROSS_TIME_ORDERS: tuple[tuple[str, str, str, str, str], ...] = (
    ("payments", "paid_at", "contract_id", "contracts", "signed_at"),
)


# ---------------------------------------------------------------------- pandera
def to_pandera(spec: TableSpec, *, config: DatasetConfig | None = None) -> Any:
    """A pandera ``DataFrameSchema`` equivalent to the single-table rules of ``spec``.

    Covers dtypes, nullability, allowed values, lower bounds and key uniqueness
    (cross-table rules need the whole dataset and live in :func:`validate`).
    Extra columns are allowed (``strict=False``).

    Parameters
    ----------
    spec
        The table spec (``salesml.data.schema.SPECS[name]``).
    config
        Dataset settings; gives the allowed deal stages and cost category names.

    Returns
    -------
    pandera.pandas.DataFrameSchema
    """
    import pandera.pandas as pdr

    config = config or DatasetConfig()
    cols = {}
    for c in spec.columns:
        checks = []
        allowed = _allowed(spec.name, c, config)
        if allowed is not None:
            checks.append(pdr.Check.isin(sorted(allowed)))
        if c.min_value is not None:
            checks.append(pdr.Check.ge(c.min_value))
        single_key = len(spec.key) == 1 and c.name == spec.key[0]
        cols[c.name] = pdr.Column(
            c.pandas_dtype,
            nullable=c.nullable and not single_key,
            unique=single_key,
            checks=checks or None,
        )
    return pdr.DataFrameSchema(
        cols,
        strict=False,
        unique=list(spec.key) if len(spec.key) > 1 else None,
        name=spec.name,
    )


def _allowed(table: str, col: Column, config: DatasetConfig) -> set[str] | None:
    """The closed set of values a category column accepts (``None``: open set)."""
    if table in ("deals", "stage_history") and col.name == "stage" and config.stage_order:
        allowed = set(config.stage_order)
    elif table == "costs" and col.name == "category":
        allowed = set(COST_CATEGORIES) | set(config.cost_categories)
    else:
        allowed = set(col.allowed) if col.allowed is not None else None
    # dataset.yaml value_sets with strict: true narrow a text column further
    strict = config.strict_values(table, col.name)
    if strict is not None and col.kind in ("id", "str", "category"):
        return set(strict) if allowed is None else allowed & strict
    return allowed


# ---------------------------------------------------------------------- report
@dataclass
class ValidationReport:
    """What a validation found: clean data, the quarantine and per-table counts.

    Attributes
    ----------
    data
        The clean :class:`~salesml.data.bundle.SalesData` (rejected rows removed,
        columns parsed to the model's dtypes).
    quarantine
        One row per rejected row, broken rule and column; columns
        ``table, file, row, line, key, column, rule, value, message``. ``row`` is the
        0-based position as read, ``line`` the CSV line (header = 1; missing for
        Parquet and in-memory frames).
    counts
        Per table (index): ``file, read, loaded, quarantined`` (distinct rows).
    rejected
        Per table, the rejected rows exactly as read (index = ``row``).
    notes
        Things worth knowing that are not rejections (skipped checks, added columns).
    """

    data: SalesData
    quarantine: pd.DataFrame
    counts: pd.DataFrame
    rejected: dict[str, pd.DataFrame] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether nothing was rejected."""
        return not len(self.quarantine)

    @property
    def n_rejected(self) -> int:
        """Distinct rows rejected over all tables."""
        return int(self.counts["quarantined"].sum()) if len(self.counts) else 0

    def rule_counts(self) -> pd.DataFrame:
        """Rejections per table (rows) and rule (columns): quarantine records, not rows."""
        if not len(self.quarantine):
            return pd.DataFrame(index=pd.Index([], name="table"), columns=list(RULES), dtype=int)
        t = pd.crosstab(self.quarantine["table"], self.quarantine["rule"])
        return t.reindex(columns=[r for r in RULES if r in t.columns])

    def headline(self) -> str:
        """One sentence: how much was read, loaded and quarantined."""
        read = int(self.counts["read"].sum()) if len(self.counts) else 0
        loaded = int(self.counts["loaded"].sum()) if len(self.counts) else 0
        if self.ok:
            return f"validation: all {read:,} rows of {len(self.counts)} tables passed"
        bad = self.counts[self.counts["quarantined"] > 0]
        parts = ", ".join(f"{t} {int(n):,}" for t, n in bad["quarantined"].items())
        return (
            f"validation: {loaded:,} of {read:,} rows loaded, "
            f"{self.n_rejected:,} quarantined ({parts})"
        )

    def summary(self) -> pd.DataFrame:
        """Per table: file, read, loaded, quarantined and the count of each broken rule."""
        out = self.counts.copy()
        rc = self.rule_counts()
        for r in rc.columns:
            out[r] = rc[r].reindex(out.index).fillna(0).astype(int)
        return out

    def to_file(self, path: str | Path) -> Path:
        """Write the quarantine to ``path`` (``.parquet``, else CSV in UTF-8 with BOM).

        The BOM lets Excel open the Chinese text correctly.
        """
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        if p.suffix == ".parquet":
            self.quarantine.to_parquet(p, index=False)
        else:
            self.quarantine.to_csv(p, index=False, encoding="utf-8-sig")
        return p

    def __repr__(self) -> str:
        return f"ValidationReport({self.headline()})"

    def _repr_html_(self) -> str:
        head = f"<b>Validation</b>: {html.escape(self.headline())}"
        summ = self.summary()
        idle = [r for r in RULES if r in summ.columns and not summ[r].any()]
        body = summ.drop(columns=idle).to_html()
        if not self.ok:
            shown = self.quarantine.head(10)[["table", "column", "rule", "message"]]
            body += "<p><small>first rejections</small></p>" + shown.to_html(index=False)
        if self.notes:
            body += "<ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in self.notes) + "</ul>"
        return f"<div>{head}{body}</div>"


# ---------------------------------------------------------------------- parsing
def _is_textual(s: pd.Series) -> bool:
    return pd.api.types.is_string_dtype(s.dtype) or s.dtype == object


def _as_text(s: pd.Series) -> pd.Series:
    """Any column as pandas ``str`` (missing kept missing, empty strings missing)."""
    if pd.api.types.is_float_dtype(s.dtype):
        f = s.to_numpy(dtype="float64", na_value=np.nan)
        finite = np.isfinite(f)
        if finite.any() and np.all(f[finite] == np.round(f[finite])):
            s = s.astype("Int64")
    if isinstance(s.dtype, pd.StringDtype) and s.dtype.na_value is np.nan:
        out = s
    else:
        out = s.astype("str")
    if len(out) and pc.any(pc.equal(_arrow(out), "")).as_py():
        out = out.mask(out == "")
    return out


def _present(raw: pd.Series) -> np.ndarray:
    """Cells that hold something (not missing, not an empty string)."""
    miss = raw.isna().to_numpy()
    if _is_textual(raw):
        txt = raw.astype("str") if raw.dtype == object else raw
        miss = miss | (txt.str.strip().str.len() == 0).fillna(True).to_numpy(dtype=bool)
    return ~miss


def _parse_number(raw: pd.Series, integer: bool) -> tuple[pd.Series, np.ndarray]:
    """Parse to float64; return values and a mask of cells that failed to parse."""
    if pd.api.types.is_bool_dtype(raw.dtype):
        out = pd.Series(np.nan, index=raw.index)
        return out, raw.notna().to_numpy()
    if pd.api.types.is_numeric_dtype(raw.dtype):
        out = raw.astype("float64")
        bad = np.zeros(len(raw), dtype=bool)
    else:
        txt = raw.astype("str") if raw.dtype == object else raw
        out = pd.to_numeric(txt.str.strip(), errors="coerce").astype("float64")
        bad = _present(raw) & out.isna().to_numpy()
    if integer:
        v = out.to_numpy()
        frac = np.isfinite(v) & (v != np.round(v))
        if frac.any():
            bad = bad | frac
            out = out.mask(frac)
    return out, bad


def _parse_bool(raw: pd.Series) -> tuple[pd.Series, np.ndarray]:
    if pd.api.types.is_bool_dtype(raw.dtype):
        return raw.astype("boolean"), np.zeros(len(raw), dtype=bool)
    txt = _as_text(raw).str.strip().str.lower()
    mapping = dict.fromkeys(_TRUE, True) | dict.fromkeys(_FALSE, False)
    out = txt.map(mapping).astype("boolean")
    bad = _present(raw) & out.isna().to_numpy()
    return out, bad


def _parse_datetime(
    raw: pd.Series, formats: tuple[str, ...], timezone: str
) -> tuple[pd.Series, np.ndarray]:
    if pd.api.types.is_datetime64_any_dtype(raw.dtype):
        out = raw
        if getattr(raw.dtype, "tz", None) is not None:
            out = raw.dt.tz_convert(timezone).dt.tz_localize(None)
        return out.astype("datetime64[us]"), np.zeros(len(raw), dtype=bool)
    txt = _as_text(raw).str.strip()
    out = pd.Series(pd.NaT, index=raw.index, dtype="datetime64[us]")
    iso = txt.str.fullmatch(ISO_DATE_RE).fillna(False).to_numpy(dtype=bool)
    if iso.any():
        parsed = pd.to_datetime(txt[iso], format="ISO8601", errors="coerce")
        out[iso] = parsed.astype("datetime64[us]")
    todo = txt.notna().to_numpy() & out.isna().to_numpy()
    for fmt in formats:
        if not todo.any():
            break
        parsed = pd.to_datetime(txt[todo], format=fmt, errors="coerce").astype("datetime64[us]")
        out[todo] = parsed
        todo = txt.notna().to_numpy() & out.isna().to_numpy()
    bad = _present(raw) & out.isna().to_numpy()
    return out, bad


def parse_table(
    name: str,
    raw: pd.DataFrame,
    *,
    config: DatasetConfig | None = None,
) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """Parse every model column of ``raw`` to its dtype, without rejecting anything.

    Parameters
    ----------
    name
        Table name.
    raw
        The table as read (strings, or already typed columns, or a mix).
    config
        Dataset settings (declared ``date_formats`` in ``config.extra``, timezone).

    Returns
    -------
    parsed
        ``raw`` with model columns parsed (unparseable cells missing), missing
        nullable model columns added as empty, a fresh ``RangeIndex``.
    bad
        Column -> boolean mask of cells that did not parse.
    """
    config = config or DatasetConfig()
    spec = SPECS[name]
    formats = tuple(config.extra.get("date_formats") or ())
    parsed = raw.reset_index(drop=True)
    cols: dict[str, pd.Series] = {}
    bad: dict[str, np.ndarray] = {}
    for c in spec.columns:
        if c.name not in parsed.columns:
            continue
        s = parsed[c.name]
        if s.dtype == object:
            s = s.astype("str")  # once, rather than in every step below
        if c.kind in ("id", "str", "category"):
            cols[c.name] = _as_text(s)
        elif c.kind in ("float", "int"):
            cols[c.name], bad[c.name] = _parse_number(s, c.kind == "int")
        elif c.kind == "bool":
            cols[c.name], bad[c.name] = _parse_bool(s)
        elif c.kind == "datetime":
            cols[c.name], bad[c.name] = _parse_datetime(s, formats, config.timezone)
    for c in parsed.columns:
        # extra columns of plain text in object columns get pandas' text dtype, so a
        # frame read from CSV and the same frame built in memory come out alike
        if (
            c not in spec
            and parsed[c].dtype == object
            and pd.api.types.infer_dtype(parsed[c], skipna=True) in ("string", "empty")
        ):
            cols[c] = parsed[c].astype("str")
    if cols:
        parsed = parsed.assign(**cols)
    for c in spec.columns:
        if c.name not in parsed.columns and c.nullable:
            empty = {"datetime": pd.NaT, "float": np.nan, "int": np.nan}.get(c.kind, pd.NA)
            parsed[c.name] = pd.Series(empty, index=parsed.index).astype(_working_dtype(c))
    return parsed, bad


def _working_dtype(c: Column) -> str:
    return {"int": "float64", "bool": "boolean"}.get(c.kind, c.pandas_dtype)


def _finalise(name: str, df: pd.DataFrame, config: DatasetConfig) -> pd.DataFrame:
    """Cast the loaded rows' model columns to their final dtypes."""
    spec = SPECS[name]
    casts = {}
    for c in spec.columns:
        if c.name in df.columns and str(df[c.name].dtype) != c.pandas_dtype:
            casts[c.name] = df[c.name].astype(c.pandas_dtype)
    if name == "costs" and "category" in df.columns:
        renames = {k: v for k, v in config.cost_categories.items() if k != v}
        if renames:
            casts["category"] = df["category"].replace(renames).astype("str")
    return df.assign(**casts) if casts else df


# ---------------------------------------------------------------------- checks
@dataclass
class _Issue:
    positions: np.ndarray
    column: str
    rule: str
    explain: pd.Series | str


@dataclass
class _Table:
    name: str
    raw: pd.DataFrame
    parsed: pd.DataFrame
    file: str | None
    issues: list[_Issue] = field(default_factory=list)
    rejected: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    #: whether the rows are strictly sorted by the key (then lookups can bisect)
    key_sorted: bool = False
    #: CSV line of each row when it is not row + 2
    lines: np.ndarray | None = None

    @property
    def is_csv(self) -> bool:
        return bool(self.file and self.file.lower().endswith(".csv"))

    def line_of(self, pos: np.ndarray) -> np.ndarray:
        """CSV line of rows at ``pos`` (header = line 1)."""
        pos = np.asarray(pos, dtype="int64")
        return self.lines[pos] if self.lines is not None else pos + 2

    def add(self, mask: np.ndarray, column: str, rule: str, explain: pd.Series | str) -> None:
        pos = np.flatnonzero(mask)
        if not len(pos):
            return
        if isinstance(explain, pd.Series):
            explain = explain.iloc[pos] if len(explain) == len(mask) else explain
        self.issues.append(_Issue(pos, column, rule, explain))
        self.rejected[pos] = True

    @property
    def noun(self) -> str:
        return self.name[:-1] if self.name.endswith("s") else self.name

    def key_text(self, pos: np.ndarray) -> pd.Series:
        spec = SPECS[self.name]
        parts = [
            _as_text(self.parsed[k].iloc[pos]).fillna("") if k in self.parsed else None
            for k in spec.key
        ]
        parts = [p for p in parts if p is not None]
        if not parts:
            return pd.Series("", index=range(len(pos)), dtype="str")
        out = parts[0].reset_index(drop=True)
        for p in parts[1:]:
            out = out + "|" + p.reset_index(drop=True)
        return out.astype("str")


def _fmt_values(s: pd.Series) -> pd.Series:
    """Values as short text for messages (missing -> empty)."""
    return _as_text(s).fillna("").reset_index(drop=True) if len(s) else s.astype("str")


def _single_table_checks(t: _Table, bad: dict[str, np.ndarray], config: DatasetConfig) -> None:
    spec = SPECS[t.name]
    df = t.parsed
    n = len(df)
    fmts = tuple(config.extra.get("date_formats") or ())
    for c in spec.columns:
        if c.name not in df.columns:
            continue
        col_bad = bad.get(c.name, np.zeros(n, dtype=bool))
        if col_bad.any():
            if c.kind == "datetime":
                extra = f" or one of {', '.join(fmts)}" if fmts else ""
                t.add(
                    col_bad,
                    c.name,
                    "date_format",
                    f", which is not a date in a known format (expected 2025-05-01 or "
                    f"2025-05-01 14:30[:00]{extra})",
                )
            else:
                what = {"int": "a whole number", "bool": "true or false"}.get(c.kind, "a number")
                t.add(col_bad, c.name, "dtype", f", which is not {what}")
        s = df[c.name]
        isna = s.isna().to_numpy()
        if not c.nullable:
            t.add(isna & ~col_bad, c.name, "not_null", "; this column must be filled in")
        allowed = _allowed(t.name, c, config)
        if allowed is not None:
            out = ~isna & ~_is_in(s, pa.array(sorted(allowed), type=pa.large_string()))
            shown = ", ".join(sorted(allowed)) if len(allowed) <= 14 else f"{len(allowed)} names"
            t.add(out, c.name, "allowed_values", f", which is not allowed (use one of: {shown})")
        if c.min_value is not None:
            v = s.to_numpy(dtype="float64", na_value=np.nan)
            with np.errstate(invalid="ignore"):
                low = v < c.min_value
            label = c.name.replace("_", " ")
            text = (
                f"; {label} cannot be negative"
                if c.min_value == 0
                else f"; {label} must be at least {c.min_value:g}"
            )
            t.add(low, c.name, "non_negative", text)
    # unique key: later duplicates rejected, the first kept
    key = [k for k in spec.key if k in df.columns]
    if len(key) == len(spec.key):
        complete = df[key].notna().all(axis=1).to_numpy()
        t.key_sorted = _strictly_increasing([df[k] for k in key])
        dup = (
            np.zeros(n, dtype=bool)
            if t.key_sorted
            else _later_duplicates([df[k] for k in key]) & complete
        )
        if dup.any():
            first = pd.Series(np.flatnonzero(complete & ~dup), dtype="int64")
            ktxt_all = t.key_text(np.arange(n))
            first.index = ktxt_all.iloc[first.to_numpy()].to_numpy()
            firstpos = ktxt_all.iloc[np.flatnonzero(dup)].map(first).to_numpy()
            where = _where_series(t, firstpos)
            explain = pd.Series("", index=range(n), dtype="str")
            explain.iloc[np.flatnonzero(dup)] = (
                ", which repeats the key of " + where + "; only the first row with this key is kept"
            ).to_numpy()
            t.add(dup, key[0] if len(key) == 1 else "+".join(key), "unique_key", explain)
    # time order within a row
    for earlier, later in spec.time_orders:
        if earlier in df.columns and later in df.columns:
            a, b = df[earlier], df[later]
            wrong = (b < a).fillna(False).to_numpy(dtype=bool)
            if wrong.any():
                explain = pd.Series("", index=range(n), dtype="str")
                idx = np.flatnonzero(wrong)
                explain.iloc[idx] = (
                    f", before {earlier} (" + _fmt_values(a.iloc[idx]) + f"); {later} cannot "
                    f"come before {earlier}"
                ).to_numpy()
                t.add(wrong, later, "time_order", explain)


def _where_series(t: _Table, pos: np.ndarray) -> pd.Series:
    """'line 17' / 'row 15' for positions (int array)."""
    pos = np.asarray(pos, dtype="int64")
    if t.is_csv:
        return "line " + pd.Series(t.line_of(pos)).astype("str")
    return "row " + pd.Series(pos).astype("str")


def _arrow(s: pd.Series) -> pa.Array:
    """A text column as one Arrow large_string array (zero-copy for pandas ``str``)."""
    arr = pa.array(s, from_pandas=True)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    return arr if arr.type == pa.large_string() else arr.cast(pa.large_string())


def _is_in(s: pd.Series, values: pa.Array) -> np.ndarray:
    """``s.isin(values)`` for text, through Arrow (pandas' isin loops in Python for str)."""
    return pc.is_in(_arrow(s), value_set=values).to_numpy(zero_copy_only=False).astype(bool)


def _codes(s: pd.Series) -> np.ndarray:
    """Integer codes of a column's values (missing -> -1), fast for Arrow-backed text."""
    if isinstance(s.dtype, pd.StringDtype):
        enc = pc.dictionary_encode(_arrow(s))
        return pc.fill_null(enc.indices, -1).to_numpy().astype(np.int64)
    codes, _ = pd.factorize(s, use_na_sentinel=True)
    return codes.astype(np.int64)


def _strictly_increasing(cols: list[pd.Series]) -> bool:
    """Whether the rows are sorted strictly by the key ``cols`` (then no key repeats).

    Exports and simulators usually write ids in order: this check costs one
    comparison pass instead of hashing every key.
    """
    n = len(cols[0])
    if n < 2:
        return True
    arrs = []
    for c in cols:
        a = _arrow(c) if isinstance(c.dtype, pd.StringDtype) else pa.array(c, from_pandas=True)
        if a.null_count:
            return False
        arrs.append(a)
    ok = None
    for a in reversed(arrs):
        lo, hi = a.slice(0, n - 1), a.slice(1)
        lt = pc.less(lo, hi)
        ok = lt if ok is None else pc.or_(lt, pc.and_(pc.equal(lo, hi), ok))
    return bool(pc.all(ok).as_py())


def _fixed_width(arr: pa.Array) -> np.ndarray | None:
    """Zero-copy ``S<w>`` view of a text array whose values all take ``w`` bytes.

    ``None`` when there are missing values or the widths differ. Ids in exports
    usually have one width ("A0000001"), which lets lookups run as binary search.
    """
    if arr.null_count or not len(arr) or arr.type != pa.large_string():
        return None
    _, off_buf, data_buf = arr.buffers()
    offsets = np.frombuffer(off_buf, dtype=np.int64, count=len(arr) + 1, offset=arr.offset * 8)
    w = int(offsets[1] - offsets[0])
    if w <= 0 or not np.all(np.diff(offsets) == w):
        return None
    return np.frombuffer(data_buf, dtype=f"S{w}", count=len(arr), offset=int(offsets[0]))


def _lookup(child: pa.Array, parent: pa.Array, parent_sorted: bool) -> np.ndarray:
    """For each child value, the first parent row holding it (-1: none; nulls: -1).

    Hashing the parent costs most when it is the larger side (3M activity ids
    referenced by 300k cost lines): then a sorted parent is bisected instead.
    """
    if parent_sorted and len(parent) > len(child) - child.null_count:
        keys = _fixed_width(parent)
        present = np.asarray(child.is_valid())
        vals = _fixed_width(child.drop_null()) if keys is not None else None
        if vals is not None and vals.dtype == keys.dtype:
            i = np.searchsorted(keys, vals)
            ic = np.minimum(i, len(keys) - 1)
            hit = keys[ic] == vals
            pos = np.full(len(child), -1, dtype=np.int64)
            pos[present] = np.where(hit, ic, -1)
            return pos
    found = pc.index_in(child, value_set=parent)
    return pc.fill_null(found, -1).to_numpy().astype(np.int64)


def _later_duplicates(cols: list[pd.Series]) -> np.ndarray:
    """Rows whose key (all ``cols``) already appeared at an earlier row."""
    codes = [_codes(c) for c in cols]
    if len(codes) == 1:
        return pd.Series(codes[0]).duplicated(keep="first").to_numpy()
    return pd.DataFrame({i: c for i, c in enumerate(codes)}).duplicated(keep="first").to_numpy()


def _cross_table_checks(tables: dict[str, _Table], notes: list[str]) -> None:
    # cross-table time orders (use the first row of each parent key as read)
    for child, col, fk, parent, pcol in _CROSS_TIME_ORDERS:
        if child not in tables or parent not in tables:
            continue
        c, p = tables[child], tables[parent]
        if col not in c.parsed or fk not in c.parsed or pcol not in p.parsed:
            continue
        pk = SPECS[parent].key[0]
        pos = _lookup(_arrow(c.parsed[fk]), _arrow(p.parsed[pk]), False)
        ref = p.parsed[pcol].to_numpy()
        if len(ref):
            bound = pd.Series(ref[np.maximum(pos, 0)], index=c.parsed.index).mask(pos < 0)
        else:
            bound = pd.Series(pd.NaT, index=c.parsed.index, dtype=p.parsed[pcol].dtype)
        wrong = (c.parsed[col] < bound).fillna(False).to_numpy(dtype=bool)
        if wrong.any():
            idx = np.flatnonzero(wrong)
            explain = pd.Series("", index=range(len(wrong)), dtype="str")
            explain.iloc[idx] = (
                f", before its {parent[:-1]}'s {pcol} (" + _fmt_values(bound.iloc[idx]) + ")"
            ).to_numpy()
            c.add(wrong, col, "time_order", explain)

    # foreign keys in topological order; self references iterate to a fixpoint
    for name in TABLE_NAMES:
        if name not in tables:
            continue
        t = tables[name]
        for col, parent, pcol in SPECS[name].foreign_keys:
            if col not in t.parsed:
                continue
            if parent not in tables:
                notes.append(
                    f"{name}.{col} refers to {parent}, which the dataset does not have: not checked"
                )
                continue
            p = tables[parent]
            child = t.parsed[col]
            present = child.notna().to_numpy()
            # index_in gives the first parent row holding each key; later rows with the
            # same key are always rejected (unique_key), so that row decides whether
            # the reference is loaded
            single_key = SPECS[parent].key == (pcol,)
            pos = _lookup(_arrow(child), _arrow(p.parsed[pcol]), p.key_sorted and single_key)
            missing = present & (pos < 0)
            pfile = p.file or parent
            t.add(
                missing,
                col,
                "foreign_key",
                f", which is not in {pfile}: it points at a {p.noun.replace('_', ' ')} that does not exist",
            )
            found = present & (pos >= 0)
            while True:
                orphan = found & p.rejected[np.maximum(pos, 0)]
                new = orphan & ~_rule_mask(t, col, "parent_rejected")
                t.add(
                    new,
                    col,
                    "parent_rejected",
                    f", whose row in {pfile} was itself rejected (see its quarantine rows)",
                )
                if parent != name or not new.any():
                    break


def _rule_mask(t: _Table, column: str, rule: str) -> np.ndarray:
    m = np.zeros(len(t.parsed), dtype=bool)
    for i in t.issues:
        if i.column == column and i.rule == rule:
            m[i.positions] = True
    return m


def _quarantine_frame(t: _Table) -> pd.DataFrame | None:
    frames = []
    label = t.file or t.name
    for i in t.issues:
        pos = i.positions
        first_col = i.column.split("+")[0]
        src = t.raw[first_col] if first_col in t.raw.columns else t.parsed[first_col]
        value = _fmt_values(src.iloc[pos])
        where = _where_series(t, pos)
        explain = (
            i.explain.reset_index(drop=True)
            if isinstance(i.explain, pd.Series)
            else pd.Series(i.explain, index=range(len(pos)), dtype="str")
        )
        shown = value.where(value.str.len() > 0, "empty")
        if i.rule not in ("non_negative", "time_order"):
            shown = shown.where(shown == "empty", "'" + shown + "'")
        message = label + " " + where + ": column " + i.column + " is " + shown + explain
        frames.append(
            pd.DataFrame(
                {
                    "table": t.name,
                    "file": label,
                    "row": pos.astype("int64"),
                    "line": pd.array(
                        t.line_of(pos) if t.is_csv else [pd.NA] * len(pos), dtype="Int64"
                    ),
                    "key": t.key_text(pos).to_numpy(),
                    "column": i.column,
                    "rule": i.rule,
                    "value": value.to_numpy(),
                    "message": message.to_numpy(),
                }
            )
        )
    if not frames:
        return None
    return pd.concat(frames, ignore_index=True)


_TEXT_QCOLS = ("table", "file", "key", "column", "rule", "value", "message")


def _empty_quarantine() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "table": pd.Series(dtype="str"),
            "file": pd.Series(dtype="str"),
            "row": pd.Series(dtype="int64"),
            "line": pd.Series(dtype="Int64"),
            "key": pd.Series(dtype="str"),
            "column": pd.Series(dtype="str"),
            "rule": pd.Series(dtype="str"),
            "value": pd.Series(dtype="str"),
            "message": pd.Series(dtype="str"),
        }
    )


# ---------------------------------------------------------------------- entry point
def validate(
    data_or_raw_tables: SalesData | Mapping[str, pd.DataFrame],
    *,
    config: DatasetConfig | None = None,
    files: Mapping[str, str] | None = None,
    lines: Mapping[str, np.ndarray] | None = None,
    progress: bool = False,
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
    progress
        Show a progress bar over the tables being checked.

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
    notes: list[str] = []
    tables: dict[str, _Table] = {}
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
            notes.append(f"{label}: optional column(s) {', '.join(added)} absent, added as empty")
        raw = raw.reset_index(drop=True)
        parsed, bad = parse_table(name, raw, config=config)
        row_lines = (lines or {}).get(name)
        if row_lines is not None and len(row_lines) != len(raw):
            raise ValueError(f"lines for {label}: {len(row_lines)} given for {len(raw)} rows")
        tables[name] = _Table(
            name,
            raw,
            parsed,
            files.get(name),
            rejected=np.zeros(len(raw), dtype=bool),
            lines=row_lines,
        )
        bads[name] = bad
    if progress:
        from tqdm import tqdm  # text bars: tqdm.auto would pull in ipywidgets

        bar = tqdm(tables.items(), desc="validating", unit="table", leave=False, delay=1.0)
    else:
        bar = tables.items()
    for name, t in bar:
        _single_table_checks(t, bads[name], config)
    _cross_table_checks(tables, notes)

    clean: dict[str, pd.DataFrame] = {}
    qframes, counts, rejected = [], [], {}
    for name, t in tables.items():
        keep = ~t.rejected
        df = t.parsed[keep].reset_index(drop=True) if t.rejected.any() else t.parsed
        clean[name] = _finalise(name, df, config)
        qf = _quarantine_frame(t)
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
        assert len(clean[name]) + n_bad == len(t.raw), f"conservation broken for {name}"
    quarantine = pd.concat(qframes, ignore_index=True) if qframes else _empty_quarantine()
    quarantine = quarantine.astype(
        {"line": "Int64", "row": "int64", **dict.fromkeys(_TEXT_QCOLS, "str")}
    )
    counts_df = (
        pd.DataFrame(counts).set_index("table")
        if counts
        else pd.DataFrame(columns=["file", "read", "loaded", "quarantined"]).rename_axis("table")
    )
    report = ValidationReport(
        data=SalesData(clean, config, source=source),
        quarantine=quarantine,
        counts=counts_df,
        rejected=rejected,
        notes=notes,
    )
    report.data.validation = report
    return report
