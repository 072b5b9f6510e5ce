"""The deal index of the pipeline analytics: integer views of the deals, dimensions, selection.

Every pipeline function works on integer codes rather than strings: the deals'
furthest stage, outcome, cohort dates, amounts and any dimension a user groups or
filters by are turned into numpy arrays once per dataset and kept in a small cache
keyed by the identity of the tables (a dashboard recomputes the same dataset with new
filters many times). Tables are treated as read-only, as everywhere in salesml: a
table that is *replaced* (``data.replace(deals=...)``, ``data.as_of(...)``) is a new
object and gets a fresh index; call :func:`clear_cache` after modifying a table in place.

Filters are one :class:`~salesml.filters.FilterSpec`: its column filters on deal
columns and on the shared :data:`~salesml.filters.DIMENSIONS` are matched on the
integer codes (no string comparison per row), its ``where`` expression is evaluated on
the deals table by the safe grammar of :mod:`salesml.rules.expr`. ``region`` means
the customer's or the owning rep's region as the dataset declares
(``dataset.yaml`` ``region_source``; :func:`region_source`).
"""

from __future__ import annotations

import weakref
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from salesml.data.bundle import SalesData
from salesml.data.checks import require_columns
from salesml.filters import DIMENSIONS, FilterSpec, region_column
from salesml.periods import Period

__all__ = [
    "MISSING",
    "NAT",
    "PIPELINE_TABLES",
    "DealIndex",
    "GroupBy",
    "Selection",
    "Stays",
    "clear_cache",
    "cut_as_of",
    "datetimes_ns",
    "deal_index",
    "deal_stays",
    "dimension",
    "linear_quantiles",
    "lookup_rows",
    "normalise_by",
    "region_source",
    "resolve_dimension",
    "select_deals",
    "stage_codes",
    "to_ns",
]

#: A grouping: ``None`` (whole organisation), one dimension, or several.
GroupBy = str | Sequence[str] | None
#: Group label of rows whose dimension value is missing.
MISSING = "(missing)"
#: The int64 nanosecond value that stands for a missing timestamp.
NAT = np.iinfo(np.int64).min
#: Tables the deal analytics read (what :func:`cut_as_of` cuts for them).
PIPELINE_TABLES = ("deals", "stage_history", "customers", "reps")

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


def region_source(data: SalesData) -> str:
    """Which region ``region`` means for ``data``: ``customer`` (default) or ``rep``.

    Read from ``dataset.yaml`` (``region_source``): the :class:`DatasetConfig` field,
    or, with a config that does not know the field yet, its ``extra`` mapping.
    """
    cfg = data.config
    src = getattr(cfg, "region_source", None)
    if src is None:
        extra = getattr(cfg, "extra", None)
        src = extra.get("region_source") if isinstance(extra, dict) else None
    return str(src or "customer")


def resolve_dimension(data: SalesData, name: str) -> str:
    """The dimension ``name`` stands for in ``data`` (``region`` -> ``rep_region`` when
    the dataset declares ``region_source: rep``); other names are returned unchanged."""
    if name == "region":
        return region_column(region_source(data))
    return name


def to_ns(ts: pd.Timestamp) -> int:
    """A timestamp as int64 nanoseconds (timezone dropped), comparable with :func:`datetimes_ns`."""
    if ts.tzinfo is not None:
        ts = ts.tz_localize(None)
    return int(ts.to_datetime64().astype("datetime64[ns]").view(np.int64))


def cut_as_of(
    data: SalesData, as_of: str | pd.Timestamp | None, tables: Iterable[str] = PIPELINE_TABLES
) -> tuple[SalesData, pd.Timestamp | None]:
    """``data`` as known at ``as_of`` (only ``tables``, cut by :meth:`SalesData.as_of`).

    ``as_of=None`` returns ``data`` itself (everything known).
    """
    if as_of is None:
        return data, None
    ts = pd.Timestamp(as_of)
    if ts.tzinfo is not None:
        ts = ts.tz_localize(None)
    part = SalesData({t: data[t] for t in tables if data.has(t)}, data.config, source=data.source)
    return part.as_of(ts), ts


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
    """A datetime column as int64 nanoseconds (missing = :data:`NAT`).

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
    :data:`NAT` where the deal is still open in it (censored).
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
        int64 nanoseconds (:data:`NAT` when missing).
    amount
        ``deals.amount`` as float (NaN where empty, or everywhere when the column is
        absent; open deals of a real CRM often have no amount yet).
    source
        ``"stage_history"`` or ``"deals.stage"``.
    first_stage_closes
        Whether any deal of the dataset closed (lost) at the first stage: without stage
        history, the only evidence that the first stage's conversion is measured rather
        than 100% by construction.
    """

    n: int
    reached: np.ndarray
    outcome: np.ndarray
    created: np.ndarray
    closed: np.ndarray
    amount: np.ndarray
    source: str
    stage_order: list[str]
    first_stage_closes: bool = True
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
        else np.full(len(deals), NAT)
    )
    if "amount" in deals.columns:
        amount = pd.to_numeric(deals["amount"], errors="coerce").to_numpy(
            dtype=np.float64, na_value=np.nan
        )
    else:
        amount = np.full(len(deals), np.nan)
    return DealIndex(
        n=len(deals),
        reached=reached.astype(np.int64),
        outcome=outcome,
        created=datetimes_ns(deals["created_at"], "deals", "created_at", analysis),
        closed=closed,
        amount=amount,
        source=source,
        stage_order=order,
        first_stage_closes=bool(((outcome == 2) & (reached == 0)).any()),
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
    keep = (row >= 0) & (step >= 0) & (entered != NAT)
    row, step, entered = row[keep], step[keep], entered[keep]
    o = np.lexsort((step, entered, row))
    row, step, entered = row[o], step[o], entered[o]
    same_next = np.zeros(len(row), dtype=bool)
    same_next[:-1] = row[1:] == row[:-1]
    nxt = np.empty_like(entered)
    nxt[:-1] = entered[1:]
    closed = idx.closed[row]
    closed_ok = closed != NAT
    end = np.where(same_next, nxt, np.where(closed_ok, closed, NAT))
    idx.stays = Stays(row=row, step=step, entered=entered, end=end, ended=end != NAT)
    return idx.stays


def dimension(
    data: SalesData, idx: DealIndex, name: str, analysis: str
) -> tuple[np.ndarray, pd.Index]:
    """Codes (one per deal) and sorted values of dimension ``name``; missing -> ``MISSING``.

    ``name`` is a deals column or one of :data:`~salesml.filters.DIMENSIONS`
    (``region`` resolved by :func:`resolve_dimension` first).
    """
    deals = data.deals
    name = resolve_dimension(data, name)
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
        One row per group: the dimension values, columns named as the caller named
        the dimensions (no columns without grouping).
    """

    idx: DealIndex
    rows: np.ndarray
    codes: np.ndarray
    keys: pd.DataFrame

    @property
    def n_groups(self) -> int:
        return len(self.keys) if len(self.keys.columns) else 1


def _match(uniques: pd.Index, wanted: tuple[Any, ...]) -> np.ndarray:
    """Positions in ``uniques`` of the ``wanted`` values (typed text read as the column's type)."""
    try:
        probe = pd.Index(list(wanted), dtype=object).astype(uniques.dtype)
    except (TypeError, ValueError):
        probe = pd.Index(list(wanted), dtype=object)
    pos = uniques.get_indexer(probe)
    return pos[pos >= 0]


def select_deals(
    data: SalesData,
    *,
    dims: Sequence[str],
    period: Period | None,
    filters: FilterSpec,
    analysis: str,
) -> Selection:
    """Deals of the cohort (``created_at`` in ``period``, kept by ``filters``), grouped.

    Column filters are matched on integer codes of the deal columns and dimensions;
    the ``where`` expression is evaluated on the deals table.
    """
    idx = deal_index(data, analysis)
    mask = np.ones(idx.n, dtype=bool)
    if period is not None:
        lo, hi = to_ns(period.start), to_ns(period.end)
        mask &= (idx.created >= lo) & (idx.created < hi)
    for col, values in filters.columns:
        codes, uniques = dimension(data, idx, col, analysis)
        mask &= np.isin(codes, _match(uniques, values))
    if filters.where is not None:
        mask &= FilterSpec(where=filters.where).mask(data.deals, table="deals")
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
