"""Shared plumbing of the pipeline analytics: a cached deal index, dimensions, filters, groups.

Every pipeline function works on integer codes rather than strings: the deals'
furthest stage, outcome, cohort dates and any dimension a user groups or filters by
are turned into numpy arrays once per dataset and kept in a small cache keyed by the
identity of the tables (a dashboard recomputes the same dataset with new filters
many times). Tables are treated as read-only, as everywhere in salesml: a table that
is *replaced* (``data.replace(deals=...)``, ``data.as_of(...)``) is a new object and
gets a fresh index; call :func:`clear_cache` after modifying a table in place.
"""

from __future__ import annotations

import weakref
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from salesml.data.bundle import SalesData
from salesml.data.checks import require_columns
from salesml.filters import DIMENSIONS
from salesml.periods import PeriodLike, parse_period

__all__ = [
    "DIMENSIONS",
    "MISSING",
    "DealIndex",
    "Filters",
    "GroupBy",
    "Selection",
    "Stays",
    "clear_cache",
    "datetimes_ns",
    "deal_index",
    "deal_stays",
    "dimension",
    "linear_quantiles",
    "lookup_rows",
    "normalise_by",
    "require_columns",
    "select_deals",
    "stage_codes",
]

#: A filter mapping: column -> one value or a list of accepted values.
Filters = Mapping[str, Any] | None
#: A grouping: ``None`` (whole organisation), one dimension, or several.
GroupBy = str | Sequence[str] | None
#: Group label of rows whose dimension value is missing.
MISSING = "(missing)"


_NAT = np.iinfo(np.int64).min
_CACHE_SIZE = 4


def normalise_by(by: GroupBy) -> list[str]:
    """``by`` as a list of dimension names (empty for the whole organisation)."""
    if by is None:
        return []
    if isinstance(by, str):
        return [by]
    out = list(by)
    for b in out:
        if not isinstance(b, str):
            raise TypeError(f"group-by dimensions are column names, got {b!r}")
    return out


def _arrow(s: pd.Series) -> pa.Array | pa.ChunkedArray:
    """The column as a pyarrow array of strings (zero-copy for pandas' string dtype)."""
    try:
        arr = pa.array(s)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        arr = pa.array(s.astype("str"))
    if not pa.types.is_string(arr.type) and not pa.types.is_large_string(arr.type):
        arr = pc.cast(arr, pa.string())
    return arr


def lookup_rows(keys: pd.Series, reference: pd.Series) -> np.ndarray:
    """Row position in ``reference`` of each value of ``keys`` (``-1`` where absent).

    A hash join done by pyarrow: several times faster than ``Index.get_indexer`` on
    pandas' arrow-backed strings.
    """
    found = pc.index_in(_arrow(keys), value_set=_arrow(reference))
    return np.asarray(pc.fill_null(found, -1).to_numpy(zero_copy_only=False), dtype=np.int64)


def stage_codes(
    stage: pd.Series, order: Sequence[str], table: str, ids: pd.Series, analysis: str
) -> np.ndarray:
    """Position of each stage name in ``order`` (``-1`` for a missing stage).

    Raises
    ------
    ValueError
        Naming the table, column, row and value of the first stage name that is not
        in the stage order.
    """
    codes, uniques = pd.factorize(stage)
    pos = pd.Index(list(order)).get_indexer(pd.Index(uniques))
    if (pos < 0).any():
        bad_value = uniques[int(np.flatnonzero(pos < 0)[0])]
        row = int(np.flatnonzero((stage == bad_value).to_numpy(dtype=bool))[0])
        raise ValueError(
            f"{analysis}: table {table!r}, column 'stage', row {row} "
            f"(deal {ids.iloc[row]!r}) has stage {bad_value!r}, which is not in the stage "
            f"order {list(order)} (set stage_order in dataset.yaml)"
        )
    return np.where(codes >= 0, pos[np.maximum(codes, 0)], -1).astype(np.int64)


def datetimes_ns(s: pd.Series, table: str, column: str, analysis: str) -> np.ndarray:
    """A datetime column as int64 nanoseconds (missing = ``_NAT``).

    Raises
    ------
    ValueError
        Naming the table, column, row and value when the column holds something other
        than datetimes (for example unparsed text of a raw export).
    """
    if pd.api.types.is_datetime64_any_dtype(s):
        if getattr(s.dt, "tz", None) is not None:
            s = s.dt.tz_localize(None)
        return s.to_numpy(dtype="datetime64[ns]").view(np.int64)
    parsed = pd.to_datetime(s, errors="coerce", format="ISO8601")
    bad = parsed.isna() & s.notna()
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise ValueError(
            f"{analysis}: table {table!r}, column {column!r}, row {row} holds "
            f"{s.iloc[row]!r}, which is not a date and time; load the data with "
            f"salesml.load_dataset (or validate it) so that dates are parsed"
        )
    return parsed.to_numpy(dtype="datetime64[ns]").view(np.int64)


@dataclass
class Stays:
    """Every stage stay of every deal (from ``stage_history``), sorted by deal and time.

    ``end`` is the instant the stay ended (the next stage entered, or the deal's close);
    ``_NAT`` where the deal is still open in it (censored).
    """

    row: np.ndarray
    step: np.ndarray
    entered: np.ndarray
    end: np.ndarray
    ended: np.ndarray


@dataclass
class DealIndex:
    """Integer views of the deals (one entry per row of ``deals``), cached per dataset.

    Attributes
    ----------
    reached
        Furthest step (``0..len(stage_order)-1``; ``len(stage_order)`` = won).
    outcome
        ``0`` open, ``1`` won, ``2`` lost, ``3`` anything else.
    created, closed
        int64 nanoseconds (``_NAT`` when missing).
    source
        ``"stage_history"`` or ``"deals.stage"``.
    """

    n: int
    reached: np.ndarray
    outcome: np.ndarray
    created: np.ndarray
    closed: np.ndarray
    source: str
    stage_order: list[str]
    dims: dict[tuple[str, int], tuple[Any, np.ndarray, pd.Index]] = field(default_factory=dict)
    stays: Stays | None = None


_cache: OrderedDict[tuple[int, int, tuple[str, ...]], tuple[Any, Any, DealIndex]] = OrderedDict()


def clear_cache() -> None:
    """Forget every cached deal index (after modifying a table in place)."""
    _cache.clear()


def deal_index(data: SalesData, analysis: str) -> DealIndex:
    """The cached :class:`DealIndex` of ``data`` (built on first use)."""
    data.require("deals", analysis=analysis)
    deals = data.deals
    hist = data.tables.get("stage_history")
    order = tuple(data.stage_order)
    key = (id(deals), id(hist), order)
    hit = _cache.get(key)
    if hit is not None and hit[0]() is deals and (hist is None or hit[1]() is hist):
        _cache.move_to_end(key)
        return hit[2]
    idx = _build_index(deals, hist, list(order), analysis)
    _cache[key] = (weakref.ref(deals), weakref.ref(hist) if hist is not None else None, idx)
    while len(_cache) > _CACHE_SIZE:
        _cache.popitem(last=False)
    return idx


def _build_index(
    deals: pd.DataFrame, hist: pd.DataFrame | None, order: list[str], analysis: str
) -> DealIndex:
    require_columns(deals, "deals", ["deal_id", "created_at", "stage", "outcome"], analysis)
    n_stages = len(order)
    reached = np.maximum(stage_codes(deals["stage"], order, "deals", deals["deal_id"], analysis), 0)
    source = "deals.stage"
    if hist is not None:
        require_columns(hist, "stage_history", ["deal_id", "stage"], analysis)
        hstep = stage_codes(hist["stage"], order, "stage_history", hist["deal_id"], analysis)
        rows = lookup_rows(hist["deal_id"], deals["deal_id"])
        ok = (rows >= 0) & (hstep >= 0)
        best = np.full(len(deals), -1, dtype=np.int64)
        np.maximum.at(best, rows[ok], hstep[ok])
        reached = np.maximum(reached, best)
        source = "stage_history"
    oc, ou = pd.factorize(deals["outcome"])
    opos = pd.Index(["open", "won", "lost"]).get_indexer(pd.Index(ou))
    opos = np.where(opos < 0, 3, opos)
    outcome = np.where(oc >= 0, opos[np.maximum(oc, 0)], 3).astype(np.int8)
    reached = np.where(outcome == 1, n_stages, reached)
    closed = (
        datetimes_ns(deals["closed_at"], "deals", "closed_at", analysis)
        if "closed_at" in deals.columns
        else np.full(len(deals), _NAT)
    )
    return DealIndex(
        n=len(deals),
        reached=reached.astype(np.int64),
        outcome=outcome,
        created=datetimes_ns(deals["created_at"], "deals", "created_at", analysis),
        closed=closed,
        source=source,
        stage_order=order,
    )


def deal_stays(data: SalesData, idx: DealIndex, analysis: str) -> Stays:
    """The (cached) stage stays of the deals of ``idx``; needs ``stage_history``."""
    if idx.stays is not None:
        return idx.stays
    data.require("stage_history", analysis=analysis)
    hist = data.stage_history
    deals = data.deals
    require_columns(hist, "stage_history", ["deal_id", "entered_at", "stage"], analysis)
    step = stage_codes(hist["stage"], idx.stage_order, "stage_history", hist["deal_id"], analysis)
    row = lookup_rows(hist["deal_id"], deals["deal_id"])
    entered = datetimes_ns(hist["entered_at"], "stage_history", "entered_at", analysis)
    keep = (row >= 0) & (step >= 0) & (entered != _NAT)
    row, step, entered = row[keep], step[keep], entered[keep]
    o = np.lexsort((step, entered, row))
    row, step, entered = row[o], step[o], entered[o]
    same_next = np.zeros(len(row), dtype=bool)
    same_next[:-1] = row[1:] == row[:-1]
    nxt = np.empty_like(entered)
    nxt[:-1] = entered[1:]
    closed = idx.closed[row]
    closed_ok = closed != _NAT
    end = np.where(same_next, nxt, np.where(closed_ok, closed, _NAT))
    idx.stays = Stays(row=row, step=step, entered=entered, end=end, ended=end != _NAT)
    return idx.stays


def dimension(
    data: SalesData, idx: DealIndex, name: str, analysis: str
) -> tuple[np.ndarray, pd.Index]:
    """Codes (one per deal) and sorted values of dimension ``name``; missing -> ``MISSING``."""
    deals = data.deals
    if name in deals.columns:
        src_table, src = "deals", deals
        values: pd.Series = deals[name]
    elif name in DIMENSIONS:
        src_table, col, key = DIMENSIONS[name]
        data.require(src_table, analysis=f"{analysis} by {name!r}")
        src = data[src_table]
        require_columns(src, src_table, [key, col], f"{analysis} by {name!r}")
        require_columns(deals, "deals", [key], f"{analysis} by {name!r}")
    else:
        known = sorted(set(DIMENSIONS) | set(map(str, deals.columns)))
        raise ValueError(f"{analysis}: unknown dimension {name!r}; use one of: {', '.join(known)}")
    cache_key = (name, id(src))
    hit = idx.dims.get(cache_key)
    if hit is not None and hit[0]() is src:
        return hit[1], hit[2]
    if src_table == "deals":
        codes, uniques = pd.factorize(values, sort=True)
    else:
        ref = src.drop_duplicates(key)
        rows = lookup_rows(deals[key], ref[key])
        tcodes, uniques = pd.factorize(ref[col], sort=True)
        codes = np.where(rows >= 0, tcodes[np.maximum(rows, 0)], -1)
    uniques = pd.Index(uniques)
    if (codes < 0).any():
        uniques = pd.Index([*uniques.astype(object), MISSING])
        codes = np.where(codes < 0, len(uniques) - 1, codes)
    out = (np.asarray(codes, dtype=np.int64), uniques)
    idx.dims[cache_key] = (weakref.ref(src), *out)
    return out


@dataclass
class Selection:
    """Deals selected by period and filters, with their group codes.

    Attributes
    ----------
    rows
        Positions (in ``deals``) of the selected deals.
    codes
        Group code of each selected deal (``0..len(keys)-1``).
    keys
        One row per group: the dimension values (no columns without grouping).
    """

    idx: DealIndex
    rows: np.ndarray
    codes: np.ndarray
    keys: pd.DataFrame

    @property
    def n_groups(self) -> int:
        return len(self.keys) if len(self.keys.columns) else 1


def select_deals(
    data: SalesData,
    *,
    dims: Sequence[str],
    period: PeriodLike,
    filters: Filters,
    analysis: str,
) -> Selection:
    """Deals of the cohort (``created_at`` in ``period``, matching ``filters``), grouped."""
    idx = deal_index(data, analysis)
    mask = np.ones(idx.n, dtype=bool)
    bounds = parse_period(period)
    if bounds is not None:
        lo = bounds[0].to_datetime64().astype("datetime64[ns]").view(np.int64)
        hi = bounds[1].to_datetime64().astype("datetime64[ns]").view(np.int64)
        mask &= (idx.created >= lo) & (idx.created < hi)
    if filters:
        if not isinstance(filters, Mapping):
            raise TypeError(
                f"filters must be a mapping column -> value or list, got {type(filters).__name__}"
            )
        for col, value in filters.items():
            if value is None:
                continue
            codes, uniques = dimension(data, idx, str(col), analysis)
            wanted = list(value) if isinstance(value, list | tuple | set | frozenset) else [value]
            try:
                probe = pd.Index(wanted, dtype=object).astype(uniques.dtype)
            except (TypeError, ValueError):
                probe = pd.Index(wanted, dtype=object)
            pos = uniques.get_indexer(probe)
            mask &= np.isin(codes, pos[pos >= 0])
    rows = np.flatnonzero(mask)
    if not dims:
        return Selection(idx, rows, np.zeros(len(rows), dtype=np.int64), pd.DataFrame(index=[0]))
    combined = np.zeros(len(rows), dtype=np.int64)
    parts = []
    for d in dims:
        codes, uniques = dimension(data, idx, d, analysis)
        combined = combined * len(uniques) + codes[rows]
        parts.append(uniques)
    present, inverse = np.unique(combined, return_inverse=True)
    keys = {}
    rest = present
    for d, uniques in zip(reversed(dims), reversed(parts), strict=True):
        keys[d] = uniques.take(rest % len(uniques))
        rest = rest // len(uniques)
    key_frame = pd.DataFrame({d: np.asarray(keys[d]) for d in dims})
    for d in dims:
        if keys[d].dtype != object:
            key_frame[d] = key_frame[d].astype(keys[d].dtype)
    return Selection(idx, rows, inverse.astype(np.int64), key_frame)


def linear_quantiles(
    cell: np.ndarray,
    values: np.ndarray,
    qs: tuple[float, ...],
    n_cells: int,
    *,
    presorted: bool = False,
) -> np.ndarray:
    """Per-cell quantiles with linear interpolation (numpy's / pandas' default method).

    ``presorted=True`` promises that the rows are already sorted by cell, then value.
    """
    out = np.full((n_cells, len(qs)), np.nan)
    if not len(cell):
        return out
    if not presorted and n_cells <= 64:
        # few cells: selection (np.percentile partitions) beats a full sort
        order = np.argsort(cell, kind="stable")
        bounds = np.concatenate(([0], np.cumsum(np.bincount(cell, minlength=n_cells))))
        sorted_values = values[order]
        for k in range(n_cells):
            chunk = sorted_values[bounds[k] : bounds[k + 1]]
            if len(chunk):
                out[k] = np.percentile(chunk, [100 * q for q in qs])
        return out
    if presorted:
        v = values
    else:
        o = np.argsort(values, kind="stable")
        o = o[np.argsort(cell[o], kind="stable")]
        v = values[o]
    size = np.bincount(cell, minlength=n_cells)
    start = np.concatenate(([0], np.cumsum(size)[:-1]))
    has = size > 0
    for j, q in enumerate(qs):
        pos = start[has] + q * (size[has] - 1)
        lo = np.floor(pos).astype(np.int64)
        hi = np.ceil(pos).astype(np.int64)
        out[has, j] = v[lo] + (v[hi] - v[lo]) * (pos - lo)
    return out
