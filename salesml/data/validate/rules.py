"""The validation rules: which rows of a parsed table break which rule.

Rules (names are stable; the simulator's fault injector uses the same ones):

``csv_syntax``
    A line of a CSV file that cannot be read as one row: more fields than the
    header, or a quote that is never closed properly, which would swallow the lines
    after it. The line is set aside (its row is empty) and the rest of the file loads.
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

Every check is vectorised over whole columns (Arrow compute for text). pandera
expresses the single-table rules declaratively (:func:`to_pandera`, used in tests
as an independent oracle) but is not on the load path: it cannot parse text cells
while recording which failed, nor express cross-table rules or the per-row
quarantine records.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from salesml.data.config import DatasetConfig
from salesml.data.schema import COST_CATEGORIES, SPECS, TABLE_NAMES, Column, TableSpec
from salesml.data.validate.keys import KeyIndex, common_width, pack_keys
from salesml.data.validate.text import arrow_chunks, arrow_text, as_text, text_is_in

__all__ = [
    "RULES",
    "CheckedTable",
    "Issue",
    "allowed_values",
    "check_references",
    "check_table",
    "check_unique_key",
    "fmt_values",
    "to_pandera",
    "where_text",
]

RULES: tuple[str, ...] = (
    "csv_syntax",
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
        allowed = allowed_values(spec.name, c, config)
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


def allowed_values(table: str, col: Column, config: DatasetConfig) -> set[str] | None:
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


TEXT_SUFFIXES: tuple[str, ...] = (".csv", ".tsv", ".txt")


@dataclass
class Issue:
    """Rows of one table that break one rule in one column."""

    positions: np.ndarray
    column: str
    rule: str
    explain: pd.Series | str
    #: the values to show (default: the table's cells at ``positions`` in ``column``)
    values: pd.Series | None = None


@dataclass
class CheckedTable:
    """A table under validation: as read, as parsed, and what was found so far.

    Rows marked ``unreadable`` (CSV lines that could not be read as a row) carry no
    cells: they are quarantined under ``csv_syntax`` only and no other rule looks at
    them.
    """

    name: str
    raw: pd.DataFrame
    parsed: pd.DataFrame
    file: str | None
    issues: list[Issue] = field(default_factory=list)
    rejected: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    #: whether the rows are strictly sorted by the key (then lookups can bisect)
    key_sorted: bool = False
    #: a big table's single text key as sorted codes (lookups into it bisect them)
    key_index: KeyIndex | None = None
    #: CSV line of each row when it is not row + 2
    lines: np.ndarray | None = None
    #: rows standing for CSV lines that could not be read
    unreadable: np.ndarray | None = None

    @property
    def is_csv(self) -> bool:
        """Whether the table was read from a delimited text file (rows have lines)."""
        return bool(self.file and self.file.lower().endswith(TEXT_SUFFIXES))

    def line_of(self, pos: np.ndarray) -> np.ndarray:
        """CSV line of rows at ``pos`` (header = line 1)."""
        pos = np.asarray(pos, dtype="int64")
        return self.lines[pos] if self.lines is not None else pos + 2

    def add(self, mask: np.ndarray, column: str, rule: str, explain: pd.Series | str) -> None:
        """Record that the rows in ``mask`` break ``rule`` in ``column``, and reject them."""
        if self.unreadable is not None and rule != "csv_syntax":
            mask = mask & ~self.unreadable
        pos = np.flatnonzero(mask)
        if not len(pos):
            return
        if isinstance(explain, pd.Series):
            explain = explain.iloc[pos] if len(explain) == len(mask) else explain
        self.issues.append(Issue(pos, column, rule, explain))
        self.rejected[pos] = True

    def add_unreadable(self, lines: pd.DataFrame) -> None:
        """Quarantine the rows standing for unreadable CSV lines.

        ``lines`` has the columns ``row`` (the placeholder row), ``line``, ``text``
        (the line, shortened) and ``reason`` (why it could not be read).
        """
        if not len(lines):
            return
        n = len(self.parsed)
        rows = lines["row"].to_numpy(dtype=np.int64)
        mask = np.zeros(n, dtype=bool)
        mask[rows] = True
        self.unreadable = mask
        order = np.argsort(rows, kind="stable")
        reason = lines["reason"].astype("str").iloc[order].reset_index(drop=True)
        text = lines["text"].astype("str").iloc[order].reset_index(drop=True)
        self.issues.append(Issue(rows[order], "*", "csv_syntax", reason, values=text))
        self.rejected[rows] = True

    @property
    def noun(self) -> str:
        return self.name[:-1] if self.name.endswith("s") else self.name

    def key_text(self, pos: np.ndarray) -> pd.Series:
        spec = SPECS[self.name]
        parts = [
            as_text(self.parsed[k].iloc[pos]).fillna("") if k in self.parsed else None
            for k in spec.key
        ]
        parts = [p for p in parts if p is not None]
        if not parts:
            return pd.Series("", index=range(len(pos)), dtype="str")
        out = parts[0].reset_index(drop=True)
        for p in parts[1:]:
            out = out + "|" + p.reset_index(drop=True)
        return out.astype("str")


def fmt_values(s: pd.Series) -> pd.Series:
    """Values as short text for messages (missing -> empty)."""
    return as_text(s).fillna("").reset_index(drop=True) if len(s) else s.astype("str")


def check_table(
    t: CheckedTable, bad: dict[str, np.ndarray], config: DatasetConfig, *, unique: bool = True
) -> None:
    """Apply the single-table rules to ``t`` (``bad``: cells that did not parse).

    With ``unique=False`` the key's uniqueness is left to the caller
    (:func:`check_unique_key` on all the table's rows, when ``t`` is one partition).
    """
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
        allowed = allowed_values(t.name, c, config)
        if allowed is not None:
            out = ~isna & ~text_is_in(s, pa.array(sorted(allowed), type=pa.large_string()))
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
    if unique:
        check_unique_key(t)
    # time order within a row
    for earlier, later in spec.time_orders:
        if earlier in df.columns and later in df.columns:
            a, b = df[earlier], df[later]
            wrong = (b < a).fillna(False).to_numpy(dtype=bool)
            if wrong.any():
                explain = pd.Series("", index=range(n), dtype="str")
                idx = np.flatnonzero(wrong)
                explain.iloc[idx] = (
                    f", before {earlier} (" + fmt_values(a.iloc[idx]) + f"); {later} cannot "
                    f"come before {earlier}"
                ).to_numpy()
                t.add(wrong, later, "time_order", explain)


def check_unique_key(t: CheckedTable) -> None:
    """``unique_key``: reject later duplicates of the table's key (the first row is kept).

    Also sets ``t.key_sorted``, which lets foreign-key lookups into ``t`` bisect.
    """
    spec = SPECS[t.name]
    df = t.parsed
    n = len(df)
    key = [k for k in spec.key if k in df.columns]
    if len(key) == len(spec.key):
        complete = df[key].notna().all(axis=1).to_numpy()
        t.key_sorted = _strictly_increasing([df[k] for k in key])
        if t.key_sorted:
            dup = np.zeros(n, dtype=bool)
        elif len(key) == 1 and (got := _packed_duplicates(df[key[0]])) is not None:
            dup = got[0] & complete
            if n > _INDEX_ROWS and t.name in _PARENTS:  # for the foreign keys into it
                t.key_index = got[1]
        else:  # the packed codes were tried above (a single key) or do not apply
            dup = _unpacked_duplicates([df[k] for k in key]) & complete
        if dup.any():
            first = pd.Series(np.flatnonzero(complete & ~dup), dtype="int64")
            ktxt_all = t.key_text(np.arange(n))
            first.index = ktxt_all.iloc[first.to_numpy()].to_numpy()
            firstpos = ktxt_all.iloc[np.flatnonzero(dup)].map(first).to_numpy()
            where = where_text(t, firstpos)
            explain = pd.Series("", index=range(n), dtype="str")
            explain.iloc[np.flatnonzero(dup)] = (
                ", which repeats the key of " + where + "; only the first row with this key is kept"
            ).to_numpy()
            t.add(dup, key[0] if len(key) == 1 else "+".join(key), "unique_key", explain)


def where_text(t: CheckedTable, pos: np.ndarray) -> pd.Series:
    """'line 17' (CSV) or 'row 15' for row positions (int array)."""
    pos = np.asarray(pos, dtype="int64")
    if t.is_csv:
        return "line " + pd.Series(t.line_of(pos)).astype("str")
    return "row " + pd.Series(pos).astype("str")


def _lookup_column(child: pd.Series, parent: pd.Series, parent_sorted: bool) -> np.ndarray:
    """:func:`_lookup` of a child column in a parent column (pandas text or categorical).

    A categorical child is looked up once per category, then spread by its codes, so
    no string is built per row.
    """
    if isinstance(child.dtype, pd.CategoricalDtype):
        cats = pd.Series(child.cat.categories, dtype="str")
        pos = np.append(_lookup(arrow_text(cats), arrow_chunks(parent), parent_sorted), -1)
        return pos[child.cat.codes.to_numpy()]
    return _lookup(arrow_text(child), arrow_chunks(parent), parent_sorted)


def _codes(s: pd.Series) -> np.ndarray:
    """Integer codes of a column's values (missing -> -1), fast for Arrow-backed text."""
    if isinstance(s.dtype, pd.StringDtype):
        enc = pc.dictionary_encode(arrow_text(s))
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
        a = (
            arrow_chunks(c)
            if isinstance(c.dtype, pd.StringDtype)
            else pa.array(c, from_pandas=True)
        )
        if a.null_count:
            return False
        arrs.append(a)
    ok = None
    for a in reversed(arrs):
        lo, hi = a.slice(0, n - 1), a.slice(1)
        lt = pc.less(lo, hi)
        ok = lt if ok is None else pc.or_(lt, pc.and_(pc.equal(lo, hi), ok))
    return bool(pc.all(ok).as_py())


#: Tables some foreign key points into, and the rows from which their key is indexed
#: (:class:`~salesml.data.validate.keys.KeyIndex`) rather than hashed for every lookup.
_PARENTS = frozenset(parent for spec in SPECS.values() for _, parent, _ in spec.foreign_keys)
_INDEX_ROWS = 100_000
#: Unsorted parents longer than this are looked up through a hash of the child's values.
_SORT_LOOKUP_ROWS = 1_000_000


def _lookup(child: pa.Array, parent: pa.Array | pa.ChunkedArray, parent_sorted: bool) -> np.ndarray:
    """For each child value, the first parent row holding it (-1: none; nulls: -1).

    Hashing the parent costs most when it is the larger side (31M activity ids
    referenced by 3M cost lines: a hash table of gigabytes): a sorted parent's
    fixed-width ids are bisected in place; a big unsorted parent is probed against a
    hash of the child's distinct values instead, and each value's first parent row is
    the first probe that hits it.
    """
    big = len(parent) > len(child) - child.null_count
    if big and len(parent) > _SORT_LOOKUP_ROWS and not parent_sorted:
        values = pc.unique(child.drop_null())
        which = pc.index_in(parent, value_set=values)  # per parent row: its child value
        rows = np.flatnonzero(which.is_valid().to_numpy(zero_copy_only=False))
        got = pc.drop_null(which).to_numpy().astype(np.int64)
        del which
        first = np.full(len(values) + 1, -1, dtype=np.int64)  # last slot: nulls, missing
        hit, at = np.unique(got, return_index=True)  # rows ascend: the first is the earliest
        first[hit] = rows[at]
        del rows, got
        slot = pc.fill_null(pc.index_in(child, value_set=values), len(values))
        return first[slot.to_numpy().astype(np.int64)]
    if isinstance(parent, pa.ChunkedArray):
        parent = parent.combine_chunks()
    if big and parent_sorted:
        present = np.asarray(child.is_valid())
        both = common_width([parent, child.drop_null()]) if len(parent) else None
        if both is not None:
            skeys, vals = both
            i = np.searchsorted(skeys, vals)  # the first of a run: the earliest row
            ic = np.minimum(i, len(skeys) - 1)
            hit = skeys[ic] == vals
            pos = np.full(len(child), -1, dtype=np.int64)
            pos[present] = np.where(hit, ic, -1)
            return pos
    found = pc.index_in(child, value_set=parent)
    return pc.fill_null(found, -1).to_numpy().astype(np.int64)


def _later_duplicates(cols: list[pd.Series]) -> np.ndarray:
    """Rows whose key (all ``cols``) already appeared at an earlier row."""
    if len(cols) == 1 and (got := _packed_duplicates(cols[0])) is not None:
        return got[0]
    return _unpacked_duplicates(cols)


def _unpacked_duplicates(cols: list[pd.Series]) -> np.ndarray:
    """:func:`_later_duplicates` without trying packed text codes (tried already)."""
    if len(cols) > 1 and (joined := _joined_codes(cols)) is not None:
        return _sorted_duplicates(joined)
    codes = [_codes(c) for c in cols]
    if len(codes) == 1:
        return pd.Series(codes[0]).duplicated(keep="first").to_numpy()
    return pd.DataFrame({i: c for i, c in enumerate(codes)}).duplicated(keep="first").to_numpy()


def _joined_codes(cols: list[pd.Series]) -> np.ndarray | None:
    """One ``uint64`` per row for a key of text, categorical and date columns, or ``None``.

    A stage change's key (deal, entered at) is the deal's number (its category code,
    or for text its number in order of first appearance) and the time in steps of the
    times' common divisor (whole seconds: 26 bits for two years) or, when the values
    are sparser than the rows, its rank among them, joined as the digits of one number; equal exactly when the keys are. Rows with a
    missing part get codes of their own (``unique_key`` ignores them). ``None`` when a
    column is of another kind or the digits need more than 64 bits.
    """
    n = len(cols[0])
    digits, missing = [], np.zeros(n, dtype=bool)
    for c in cols:
        if isinstance(c.dtype, pd.CategoricalDtype):
            v = c.cat.codes.to_numpy().astype(np.int64)
            missing |= v < 0
        elif isinstance(c.dtype, pd.StringDtype):  # a text id: its distinct values numbered
            v = _codes(c)
            missing |= v < 0
        elif pd.api.types.is_datetime64_dtype(c.dtype):
            v = c.to_numpy().view(np.int64)
            missing |= v == np.iinfo(np.int64).min  # NaT
        else:
            return None
        digits.append(v)
    total, parts = 1, []
    for i, v in enumerate(digits):
        ok = v[~missing]
        if not len(ok):
            return None
        low = int(ok.min())
        step = int(np.gcd.reduce(ok - low)) or 1
        radix = (int(ok.max()) - low) // step + 1
        if radix > len(ok):  # sparse (times to the microsecond): number the distinct values
            distinct, rank = np.unique(ok, return_inverse=True)
            v = np.zeros(n, dtype=np.int64)
            v[~missing] = rank
            digits[i], low, step, radix = v, 0, 1, len(distinct)
        parts.append((low, step, radix))
        total *= radix
    if total * 2 > 2**64:  # and room for the missing rows' own codes
        return None
    out = np.zeros(n, dtype=np.uint64)
    for v, (low, step, radix) in zip(digits, parts, strict=True):
        out *= np.uint64(radix)
        out += ((np.where(missing, low, v) - low) // step).astype(np.uint64)
    where = np.flatnonzero(missing)
    out[where] = np.uint64(total) + np.arange(len(where), dtype=np.uint64)
    return out


def _sorted_duplicates(codes: np.ndarray, ordered: np.ndarray | None = None) -> np.ndarray:
    """Rows whose code appeared at an earlier row, by one integer sort of the codes.

    Only the rows of repeated codes are then marked in row order (``ordered``: the
    codes sorted, when the caller has them).
    """
    ordered = np.sort(codes) if ordered is None else ordered
    again = ordered[1:] == ordered[:-1]
    dup = np.zeros(len(codes), dtype=bool)
    if again.any():
        repeated = np.unique(ordered[1:][again])
        at = np.minimum(np.searchsorted(repeated, codes), len(repeated) - 1)
        rows = np.flatnonzero(repeated[at] == codes)
        dup[rows] = pd.Series(codes[rows]).duplicated(keep="first").to_numpy()
    return dup


def _packed_duplicates(col: pd.Series) -> tuple[np.ndarray, KeyIndex] | None:
    """:func:`_later_duplicates` of a single text key, and the key's :class:`KeyIndex`.

    The key is checked on its packed codes (:func:`~salesml.data.validate.keys.pack_keys`,
    8 bytes per row, where hashing 31M distinct ids takes gigabytes): one integer sort
    says whether any code repeats, and only the rows of repeated codes are then marked
    in row order. ``None`` when the key is not text or the codes cannot be made.
    """
    if not isinstance(col.dtype, pd.StringDtype) or len(col) < 2:
        return None
    got = pack_keys(arrow_chunks(col).chunks)
    if got is None:
        return None
    parts, scheme = got
    codes = parts[0] if len(parts) == 1 else np.concatenate(parts)
    del parts
    ordered = np.sort(codes)
    return _sorted_duplicates(codes, ordered), KeyIndex(scheme, ordered)


def check_references(
    tables: dict[str, CheckedTable], notes: list[str], *, unchecked_parents: Collection[str] = ()
) -> None:
    """Apply the cross-table rules: payment dates, foreign keys, rejected parents.

    Foreign keys into ``unchecked_parents`` (tables loaded for a period only) are
    not checked, with a note, as for a parent table the dataset does not have. The
    tables' key indexes (``key_index``) are dropped once the lookups are done.
    """
    # cross-table time orders (use the first row of each parent key as read)
    for child, col, fk, parent, pcol in _CROSS_TIME_ORDERS:
        if child not in tables or parent not in tables:
            continue
        c, p = tables[child], tables[parent]
        if col not in c.parsed or fk not in c.parsed or pcol not in p.parsed:
            continue
        pk = SPECS[parent].key[0]
        pos = _lookup_column(c.parsed[fk], p.parsed[pk], False)
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
                f", before its {parent[:-1]}'s {pcol} (" + fmt_values(bound.iloc[idx]) + ")"
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
            if parent in unchecked_parents:
                notes.append(
                    f"{name}.{col} refers to {parent}, loaded for a period only: not checked"
                )
                continue
            p = tables[parent]
            child = t.parsed[col]
            present = child.notna().to_numpy()
            # a categorical child is decided per category and spread to its rows as
            # true/false (no row position per row: 31M at tier L)
            refs = _References(child, p, pcol, SPECS[parent].key == (pcol,))
            missing = present & _spread(~refs.exists, refs.codes)
            pfile = p.file or parent
            t.add(
                missing,
                col,
                "foreign_key",
                f", which is not in {pfile}: it points at a {p.noun.replace('_', ' ')} that does not exist",
            )
            found = present & ~missing
            while True:
                orphan = found & _spread(refs.parent_rejected(), refs.codes)
                new = orphan & ~_rule_mask(t, col, "parent_rejected")
                t.add(
                    new,
                    col,
                    "parent_rejected",
                    f", whose row in {pfile} was itself rejected (see its quarantine rows)",
                )
                if parent != name or not new.any():
                    break
    for t in tables.values():
        t.key_index = None  # only for these lookups (tier L: 8 bytes per activity)


class _References:
    """Where each value of a foreign-key column is in its parent table.

    Per value of ``child`` (per category of a categorical child, with ``codes``
    saying which row has which; ``codes`` is ``None`` otherwise): whether the parent
    has it (``exists``) and, asked after each round of rejections, whether the first
    parent row holding it was rejected. Later rows with the same key are always
    rejected (``unique_key``), so that first row decides whether the reference is
    loaded. A parent with a :class:`~salesml.data.validate.keys.KeyIndex` (a big
    table, ids in no order) is asked through its sorted codes; otherwise each value's
    first parent row is looked up (:func:`_lookup`).
    """

    def __init__(self, child: pd.Series, parent: CheckedTable, column: str, single_key: bool):
        self.parent, self.column = parent, column
        self.codes: np.ndarray | None = None
        values = child
        if isinstance(child.dtype, pd.CategoricalDtype):
            values = pd.Series(child.cat.categories, dtype="str")
            self.codes = child.cat.codes.to_numpy()
        self.index = parent.key_index if single_key else None
        if self.index is not None:
            self.exists, self._packed = self.index.find(arrow_text(values))
            self._pos = None
        else:
            sorted_ = parent.key_sorted and single_key
            self._pos = _lookup(arrow_text(values), arrow_chunks(parent.parsed[column]), sorted_)
            self.exists = self._pos >= 0

    def parent_rejected(self) -> np.ndarray:
        """Per value: the parent has it and its first row holding it is rejected."""
        p = self.parent
        if self._pos is not None:
            return self.exists & p.rejected[np.maximum(self._pos, 0)]
        # the rejected rows that are the first of their key (the later ones repeat it)
        rows = np.flatnonzero(p.rejected & ~_rule_mask(p, self.column, "unique_key"))
        if not len(rows):
            return np.zeros(len(self.exists), dtype=bool)
        bad, _ = self.index.scheme.pack_any(arrow_text(p.parsed[self.column].iloc[rows]))
        bad = np.unique(bad)
        at = np.minimum(np.searchsorted(bad, self._packed), len(bad) - 1)
        return self.exists & (bad[at] == self._packed)


def _spread(per_value: np.ndarray, codes: np.ndarray | None) -> np.ndarray:
    """A true/false per value of :class:`_References` per row (code -1: false)."""
    if codes is None:
        return per_value
    if not per_value.any():  # the usual case (nothing missing, no parent rejected)
        return np.zeros(len(codes), dtype=bool)
    return np.append(per_value, False)[codes]


def _rule_mask(t: CheckedTable, column: str, rule: str) -> np.ndarray:
    m = np.zeros(len(t.parsed), dtype=bool)
    for i in t.issues:
        if i.column == column and i.rule == rule:
            m[i.positions] = True
    return m
