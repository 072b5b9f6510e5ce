"""Compact allocation lines: integer positions and amounts, a DataFrame only on demand.

At tier L an allocation has hundreds of millions of (cost line, driver row) pairs (a
month's tools lines of a rep each reach the rep's activities of the month). Holding them
as a DataFrame, or even as three arrays per line, took more memory than the machine has,
so :func:`~salesml.attribution.allocate_costs` keeps, per rule, a :class:`Part`: the cost
lines placed and their scope groups of driver rows with their shares, from which the
lines (cost position, driver-row position, amount) are generated a block at a time, with
the values the split made. :class:`AllocationLines` builds the public
:attr:`Allocation.lines <salesml.attribution.Allocation.lines>` frame from them the first
time it is asked for (then keeps it). CAC and ROI read the lines block by block
(:meth:`AllocationLines.unit_costs`) and never build the frame.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
import pyarrow as pa

from salesml.attribution.allocation.drivers import DRIVER_ID, customer_attrs
from salesml.data.bundle import SalesData
from salesml.data.validate.parse import arrow_text

__all__ = [
    "LINE_ATTRS",
    "LINE_COLUMNS",
    "AllocationLines",
    "Part",
    "StoredLines",
    "absent_links",
    "compact_attrs",
    "concat_attrs",
    "customer_channel_map",
    "driver_attrs",
    "lead_deal_map",
    "narrow_dictionary",
]

#: Link columns every allocation line carries (missing where the driver has none).
LINE_ATTRS: tuple[str, ...] = ("customer_id", "lead_id", "deal_id", "activity_id", "store_id")
#: Columns of :attr:`Allocation.lines`, in order.
LINE_COLUMNS: tuple[str, ...] = (
    "cost_id",
    "category",
    "month",
    "rule",
    "driver",
    "driver_id",
    "amount",
    *LINE_ATTRS,
    "channel",
    "action_at",
)

#: (Cost line, driver row) pairs generated at a time: bounds the arrays held at once.
BLOCK_PAIRS = 4_000_000


@dataclass(eq=False)
class Part:
    """One rule's placements, held as its scope groups rather than as lines.

    A rule splits each cost line over the driver rows of its scope group, so its lines
    are, per cost line in order, the group's rows in order, each with the amount
    ``amount[i] * share[j]``. Kept so, a part costs its cost lines and its groups' rows
    (at tier L a tools line of a rep-month reaches the rep's few hundred activities:
    15M lines a month, from about 1M rows and 100k cost lines); :meth:`blocks` gives the
    lines a block at a time, with the same values and order as :meth:`lines`.

    Attributes
    ----------
    cost
        Position in the ledger of each cost line the rule placed, in line order (int32).
    group
        Each cost line's group (a position in ``start`` / ``count``).
    start, count
        Per group: where its rows begin in ``rows`` / ``share``, and how many there are.
    rows
        Driver-row positions, group after group (int32).
    share
        Each row's share of its group's weight (float64).
    amount
        Each cost line's amount (float64).
    driver, label
        The driver and the rule's label.
    """

    cost: np.ndarray
    group: np.ndarray
    start: np.ndarray
    count: np.ndarray
    rows: np.ndarray
    share: np.ndarray
    amount: np.ndarray
    driver: str
    label: str

    def __len__(self) -> int:
        return int(self.count[self.group].sum()) if len(self.group) else 0

    def blocks(
        self, max_pairs: int = BLOCK_PAIRS
    ) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """The lines, a block of whole cost lines at a time (about ``max_pairs`` lines):
        cost positions (int32), driver-row positions (int32) and amounts."""
        cnt_all = self.count[self.group]
        ends = np.cumsum(cnt_all)
        lo = 0
        while lo < len(self.cost):
            base = ends[lo - 1] if lo else 0
            hi = max(int(np.searchsorted(ends, base + max_pairs, side="right")), lo + 1)
            cnt = cnt_all[lo:hi]
            tot = int(cnt.sum())
            if tot:
                first = np.cumsum(cnt) - cnt
                off = (
                    np.arange(tot, dtype="int64")
                    - np.repeat(first, cnt)
                    + np.repeat(self.start[self.group[lo:hi]], cnt)
                )
                yield (
                    np.repeat(self.cost[lo:hi], cnt).astype("int32"),
                    self.rows[off].astype("int32"),
                    np.repeat(self.amount[lo:hi], cnt) * self.share[off],
                )
            lo = hi

    def lines(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every line: cost positions, driver-row positions and amounts (all at once)."""
        got = list(self.blocks())
        if not got:
            return np.zeros(0, "int32"), np.zeros(0, "int32"), np.zeros(0, "float64")
        return tuple(np.concatenate([b[i] for b in got]) for i in range(3))  # type: ignore[return-value]

    def placed(self) -> np.ndarray:
        """The cost positions this part places (each reaches at least one row), sorted."""
        return np.unique(self.cost[self.count[self.group] > 0])

    def allocated(self, n: int) -> np.ndarray:
        """Per ledger position ``0..n-1``: the amount this part placed (each line's lines
        added in order, as one bincount over the lines)."""
        out = np.zeros(n, dtype="float64")
        for cidx, _, amt in self.blocks():
            # a block holds whole cost lines: each position's sum is made in one block
            out += np.bincount(cidx, weights=amt, minlength=n)
        return out

    def moved(self, cost_offset: int, rows: np.ndarray) -> Part:
        """This part with ``cost_offset`` added to its cost positions and its rows
        replaced by ``rows`` (the same rows, numbered in another driver table)."""
        cost = self.cost.astype("int64") + cost_offset
        return replace(
            self,
            cost=cost.astype("int32") if cost.max(initial=0) < 2**31 else cost,
            rows=rows,
        )


@dataclass(eq=False)
class AllocationLines:
    """The allocation lines of one allocation, held as integer positions and amounts.

    Parameters
    ----------
    costs
        The cost ledger the positions refer to (the filtered ledger, 0..n-1).
    parts
        Per rule that placed cost, in rule order, its :class:`Part` (cost lines, scope
        groups of driver rows and shares, driver and rule label).
    drivers
        The driver views the row positions refer to (only the columns lines need).
    data
        The dataset (deals link leads to deals; customers give the source channel).
    """

    costs: pd.DataFrame
    parts: list[Part]
    drivers: dict[str, pd.DataFrame]
    data: SalesData = field(repr=False)
    _frame: pd.DataFrame | None = field(default=None, repr=False)

    def __len__(self) -> int:
        return int(sum(len(p) for p in self.parts))

    @property
    def amount(self) -> np.ndarray:
        """Every line's amount, in the order of :meth:`frame`."""
        if not self.parts:
            return np.zeros(0, dtype="float64")
        return np.concatenate([p.lines()[2] for p in self.parts])

    def frame(self) -> pd.DataFrame:
        """The lines as the documented DataFrame (built once, then kept)."""
        if self._frame is None:
            self._frame = self._build()
        return self._frame

    def _build(self) -> pd.DataFrame:
        costs, data, cols = self.costs, self.data, list(LINE_COLUMNS)
        if not self.parts:
            out = pd.DataFrame({c: pd.Series(dtype="str") for c in cols})
            out["amount"] = out["amount"].astype("float64")
            out["action_at"] = pd.Series(dtype="datetime64[us]")
            return out
        attrs = {name: self._attrs(name) for name in {p.driver for p in self.parts}}
        frames = []
        cost_ids = pd.Index(costs["cost_id"].astype("str"))
        unique_ids = cost_ids.is_unique
        cat_codes = pd.Categorical(costs["category"].astype("str"))
        month_codes = pd.Categorical(costs["incurred_at"].dt.to_period("M"))
        for part in self.parts:
            cidx, drow, amt = part.lines()
            cidx, driver, label = cidx.astype("int64"), part.driver, part.label
            a = attrs[driver].iloc[drow].reset_index(drop=True)
            if unique_ids:
                cid = pd.Categorical.from_codes(cidx, categories=cost_ids)
            else:
                cid = cost_ids.to_numpy()[cidx]
            f = pd.DataFrame(
                {
                    "cost_id": cid,
                    "category": pd.Categorical.from_codes(
                        cat_codes.codes[cidx], categories=cat_codes.categories
                    ),
                    "month": pd.Categorical.from_codes(
                        month_codes.codes[cidx], categories=month_codes.categories
                    ),
                    "rule": label,
                    "driver": driver,
                    "amount": amt,
                }
            )
            frames.append(pd.concat([f, a], axis=1))
        del data
        out = pd.concat(frames, ignore_index=True)
        for c in ("cost_id", "category", "month", "rule", "driver", "channel", "store_id"):
            out[c] = out[c].astype("category")
        return out[cols]

    def _lead_deal(self) -> pd.Series | None:
        return lead_deal_map(self.data)

    def _customer_channel(self) -> pd.Series | None:
        return customer_channel_map(self.data)

    def _attrs(self, name: str) -> pd.DataFrame:
        """Per driver row: driver_id, the link columns, channel and action_at."""
        return driver_attrs(self.drivers[name], name, self._lead_deal(), self._customer_channel())

    def unit_costs(
        self,
        pos: pd.Series,
        marketing: frozenset[str] | set[str],
        acquired_at: np.ndarray,
        bounds: tuple[pd.Timestamp, pd.Timestamp] | None,
        *,
        before_acquisition: bool = True,
        in_period: bool = True,
    ) -> dict[str, np.ndarray]:
        """Per acquisition unit, the cost of the lines that reach it.

        A line reaches the unit of its customer, or of its lead when it has no customer
        (the same rule as mapping :attr:`Allocation.lines` ``customer_id`` / ``lead_id``
        through ``pos``). Each sum adds its lines in line order, so it equals, to the
        last bit, one ``bincount`` over the lines; the lines are generated part by part
        and only for the driver rows a sum takes (a period's sums read the period's rows).

        Parameters
        ----------
        pos
            Unit position by unit id (customer ids and lead ids).
        marketing
            The cost categories counted as marketing.
        acquired_at
            Per unit, when it was acquired (``NaT``: never).
        bounds
            The period ``[start, end)`` of ``cost`` / ``marketing_cost_all`` (``None``:
            every line).
        before_acquisition, in_period
            Which sums to make.

        Returns
        -------
        dict
            ``acquisition_cost`` and ``marketing_cost`` (lines dated at or before the
            unit's acquisition, all if never acquired) when ``before_acquisition``;
            ``cost`` and ``marketing_cost_all`` (lines dated in ``bounds``) when
            ``in_period``.
        """
        per_driver = self._unit_rows(pos)
        return _unit_costs(
            self.parts,
            per_driver,
            self.costs,
            marketing,
            acquired_at,
            bounds,
            before_acquisition=before_acquisition,
            in_period=in_period,
        )

    def _unit_rows(self, pos: pd.Series) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Per driver: each row's unit position (``-1``: none) and action time."""
        per_driver: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for name in {p.driver for p in self.parts}:
            dv = self.drivers[name]
            cust = (
                dv["customer_id"].astype("str")
                if "customer_id" in dv
                else pd.Series(pd.NA, index=dv.index, dtype="str")
            )
            lead = (
                dv["lead_id"].astype("str")
                if "lead_id" in dv
                else pd.Series(pd.NA, index=dv.index, dtype="str")
            )
            is_lead = cust.isna().to_numpy()
            upos = np.where(
                is_lead,
                lead.map(pos).to_numpy(dtype="float64", na_value=np.nan),
                cust.map(pos).to_numpy(dtype="float64", na_value=np.nan),
            )
            upos = np.where(np.isnan(upos), -1, upos).astype(_unit_dtype(len(pos)))
            per_driver[name] = (upos, dv["action_at"].to_numpy())
        return per_driver


def lead_deal_map(data: SalesData) -> pd.Series | None:
    """The first deal (by ``created_at``) each lead opened: ``deal_id`` by ``lead_id``."""
    if "deals" in data and "lead_id" in data.deals:
        dd = data.deals[data.deals["lead_id"].notna()].sort_values("created_at")
        return dd.drop_duplicates("lead_id").set_index("lead_id")["deal_id"]
    return None


def customer_channel_map(data: SalesData) -> pd.Series | None:
    """Each customer's ``source_channel`` by ``customer_id`` (``None`` without it)."""
    cust = customer_attrs(data)
    if cust is not None and "source_channel" in cust:
        return cust.set_index("customer_id")["source_channel"]
    return None


def driver_attrs(
    dv: pd.DataFrame,
    name: str,
    lead_deal: pd.Series | None,
    act_customer_channel: pd.Series | None,
) -> pd.DataFrame:
    """Per row of driver view ``dv``: driver_id, the link columns, channel and action_at.

    ``lead_deal`` (:func:`lead_deal_map`) gives a lead's deal, ``act_customer_channel``
    (:func:`customer_channel_map`) a customer's source channel.
    """
    a = pd.DataFrame(index=dv.index)
    a["driver_id"] = dv[DRIVER_ID[name]].astype("str")
    for c in LINE_ATTRS:
        a[c] = dv[c].astype("str") if c in dv else pd.Series(pd.NA, index=dv.index, dtype="str")
    if name == "leads" and lead_deal is not None:
        a["deal_id"] = dv["lead_id"].map(lead_deal).astype("str")
    if name == "redemptions":
        a["store_id"] = dv["store_id"].astype("str")
    ch = pd.Series(np.nan, index=dv.index, dtype="str")
    if act_customer_channel is not None and "customer_id" in dv:
        ch = dv["customer_id"].map(act_customer_channel).astype("str")
    if name == "leads":
        ch = ch.where(ch.notna(), dv["channel"].astype("str"))
    a["channel"] = ch
    a["action_at"] = dv["action_at"]
    return a


#: Driver -> the link column that is the driver row's own id (stored once, as driver_id).
_OWN_ID = {"leads": "lead_id", "activities": "activity_id", "deals": "deal_id"}
#: Columns of :func:`driver_attrs`, in order.
ATTR_COLUMNS: tuple[str, ...] = ("driver_id", *LINE_ATTRS, "channel", "action_at")


def compact_attrs(a: pd.DataFrame, name: str, absent: Iterable[str] = ()) -> pa.Table:
    """:func:`driver_attrs` rows held compactly, in Arrow: ids dictionary-encoded (indices
    as narrow as the dictionary allows), the row's own id once (as ``driver_id``), no
    column for the links in ``absent`` (those its driver never has, see
    :func:`absent_links`: read as all missing).

    Arrow rather than pandas ``category``: a pandas category index of millions of ids
    keeps a hash table of Python strings (about 60 bytes an id) once it is looked at.
    """
    import pyarrow.compute as pc

    own = _OWN_ID.get(name)
    skip = {own, *absent}
    cols: dict[str, pa.Array] = {}
    for c in ATTR_COLUMNS:
        if c in skip:
            continue
        if c == "action_at":
            cols[c] = pa.array(a[c].reset_index(drop=True), from_pandas=True)
        elif c == "driver_id":
            cols[c] = _small_offsets(arrow_text(a[c]))
        else:
            cols[c] = narrow_dictionary(pc.dictionary_encode(arrow_text(a[c])))
    return pa.table(cols)


def absent_links(columns: Iterable[str], name: str, lead_deal: pd.Series | None) -> list[str]:
    """The link columns :func:`driver_attrs` leaves all missing for a driver view with
    ``columns`` (activities have no lead, deals and redemptions no activity...)."""
    have = set(columns)
    if name == "leads" and lead_deal is not None:
        have.add("deal_id")
    if name == "redemptions":
        have.add("store_id")
    return [c for c in LINE_ATTRS if c not in have and c != _OWN_ID.get(name)]


def _small_offsets(arr: pa.Array) -> pa.Array:
    """A text array with 32-bit offsets when its text allows (4 bytes a row less)."""
    if pa.types.is_large_string(arr.type) and arr.nbytes < 2**31 - 1:
        return arr.cast(pa.string())
    return arr


def narrow_dictionary(arr: pa.Array) -> pa.Array:
    """A dictionary array with int8 / int16 indices when its dictionary is small enough
    (a store or channel column of 31M rows: 31 MB rather than 124)."""
    n = len(arr.dictionary)
    to = pa.int8() if n <= 127 else pa.int16() if n <= 32_767 else pa.int32()
    if arr.type.index_type == to:
        return arr
    return pa.DictionaryArray.from_arrays(arr.indices.cast(to), arr.dictionary)


def concat_attrs(tables: list[pa.Table]) -> pa.Table:
    """Row-wise concat of :func:`compact_attrs` tables, without copying: one chunk per
    table, each dictionary column keeping its own dictionary per chunk (readers take the
    chunks one at a time, or unify them only for a moment). Where the tables' indices
    differ in width, the narrower ones are widened (only those chunks are copied)."""
    if len(tables) == 1:
        return tables[0]
    fields = []
    for i, f in enumerate(tables[0].schema):
        types = [t.schema.field(i).type for t in tables]
        if pa.types.is_dictionary(f.type):
            widest = max((ty.index_type for ty in types), key=lambda ty: ty.bit_width)
            f = f.with_type(pa.dictionary(widest, f.type.value_type))
        elif any(pa.types.is_large_string(ty) for ty in types):
            f = f.with_type(pa.large_string())
        fields.append(f)
    schema = pa.schema(fields)
    return pa.concat_tables([t if t.schema == schema else t.cast(schema) for t in tables])


def _text(col: pa.ChunkedArray | pa.Array) -> pd.Series:
    """An Arrow text (or dictionary-of-text, or null) column as pandas ``str``."""
    chunks = col.chunks if isinstance(col, pa.ChunkedArray) else [col]
    out = []
    for c in chunks:
        if pa.types.is_dictionary(c.type):
            c = c.dictionary_decode()
        out.append(c.cast(pa.large_string()))
    whole = pa.concat_arrays(out) if out else pa.array([], type=pa.large_string())
    return pd.Series(whole, dtype="str", copy=False)


def _dict_map(col: pa.ChunkedArray | pa.Array, pos: pd.Series, keys: pa.Array) -> np.ndarray:
    """Per row of a dictionary text column: ``pos`` of its value (``-1`` if missing/absent)."""
    import pyarrow.compute as pc

    if isinstance(col, pa.ChunkedArray):  # chunk by chunk: each with its own dictionary
        if col.num_chunks == 0:
            return np.zeros(0, dtype="int64")
        return np.concatenate([_dict_map(c, pos, keys) for c in col.chunks])
    if pa.types.is_null(col.type):
        return np.full(len(col), -1, dtype="int64")
    if not pa.types.is_dictionary(col.type):
        col = pc.dictionary_encode(col)
    where = pc.index_in(col.dictionary.cast(pa.large_string()), value_set=keys)
    wi = pc.fill_null(where, -1).to_numpy(zero_copy_only=False).astype("int64")
    values = pos.to_numpy(dtype="int64")
    mapped = np.where(wi >= 0, values[np.maximum(wi, 0)] if len(values) else -1, -1)
    codes = pc.fill_null(col.indices.cast(pa.int64()), -1).to_numpy(zero_copy_only=False)
    return np.where(codes >= 0, mapped[np.maximum(codes, 0)] if len(mapped) else -1, -1)


def _column(st: pa.Table, name: str) -> pa.ChunkedArray:
    """Column ``name`` of a :func:`compact_attrs` table; all missing when it was not stored
    (a link its driver never has)."""
    if name in st.column_names:
        return st.column(name)
    return pa.chunked_array([pa.nulls(st.num_rows)], type=pa.null())


@dataclass(eq=False)
class StoredLines(AllocationLines):
    """Allocation lines whose driver rows are kept as their line attributes only.

    The allocation read month by month (:func:`~salesml.attribution.allocation.
    allocate_costs_by_month`) does not keep the driver views; per driver it keeps the
    rows lines reach, as :func:`compact_attrs` of :func:`driver_attrs` (``drivers`` maps
    a driver to that frame; ``parts`` point into it). :meth:`frame` and
    :meth:`unit_costs` give what :class:`AllocationLines` gives for the same lines.
    """

    def _attrs(self, name: str) -> pd.DataFrame:
        st = self.drivers[name]
        a = pd.DataFrame(index=pd.RangeIndex(st.num_rows))
        for c in ATTR_COLUMNS:
            src = _column(st, "driver_id" if c == _OWN_ID.get(name) else c)
            a[c] = src.to_pandas() if c == "action_at" else _text(src)
        return a

    def _unit_rows(self, pos: pd.Series) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """As :meth:`AllocationLines._unit_rows` (same values)."""
        keys = arrow_text(pd.Series(pos.index.astype("str")))
        per_driver: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for name in {p.driver for p in self.parts}:
            st = self.drivers[name]
            lead = _column(st, "driver_id" if name == "leads" else "lead_id")
            cust = _column(st, "customer_id")
            is_lead = cust.is_null().to_numpy(zero_copy_only=False)
            upos = np.where(is_lead, _dict_map(lead, pos, keys), _dict_map(cust, pos, keys))
            at = st.column("action_at").to_numpy()
            per_driver[name] = (upos.astype(_unit_dtype(len(pos))), at)
        return per_driver


def _unit_dtype(n: int) -> str:
    """The integer type of unit positions (``-1``: no unit) for ``n`` units."""
    return "int32" if n < 2**31 - 1 else "int64"


def _unit_costs(
    parts: list[Part],
    per_driver: dict[str, tuple[np.ndarray, np.ndarray]],
    costs: pd.DataFrame,
    marketing: frozenset[str] | set[str],
    acquired_at: np.ndarray,
    bounds: tuple[pd.Timestamp, pd.Timestamp] | None,
    *,
    before_acquisition: bool,
    in_period: bool,
) -> dict[str, np.ndarray]:
    """The sums of :meth:`AllocationLines.unit_costs` (``per_driver``: per driver row, the
    unit position, ``-1`` for none, and the action time).

    Whether a line counts depends on its driver row (date, unit) and its cost line's
    category; so each part is first cut to the rows a sum takes, and only their lines
    are generated, in the part's order (dropping lines keeps the others' order).
    """
    n = len(acquired_at)
    mkt_line = costs["category"].astype("str").isin(list(marketing)).to_numpy()
    sums: dict[str, np.ndarray] = {}
    if before_acquisition:
        sums["acquisition_cost"], sums["marketing_cost"] = np.zeros(n), np.zeros(n)
    if in_period:
        sums["cost"], sums["marketing_cost_all"] = np.zeros(n), np.zeros(n)
    lo, hi = (np.datetime64(b) for b in bounds) if bounds is not None else (None, None)
    for part in parts:
        upos_d, at_d = per_driver[part.driver]
        u_r, at_r = upos_d[part.rows], at_d[part.rows]
        ok = u_r >= 0
        mkt = mkt_line[part.cost]
        takes = []
        if before_acquisition:
            u_acq = acquired_at[np.where(ok, u_r, 0)] if n else np.zeros(0, "datetime64[us]")
            pre = ok & (np.isnat(u_acq) | (at_r <= u_acq)) if n else ok
            takes.append((pre, "acquisition_cost", "marketing_cost"))
        if in_period:
            inp = ok & (at_r >= lo) & (at_r < hi) if lo is not None else ok
            takes.append((inp, "cost", "marketing_cost_all"))
        for take, total, marketing_total in takes:
            if not take.any():
                continue
            for cidx, u, amt in _cut(part, take, u_r).blocks():
                np.add.at(sums[total], u, amt)
                if mkt.all():
                    np.add.at(sums[marketing_total], u, amt)
                elif mkt.any():
                    m = mkt_line[cidx]
                    np.add.at(sums[marketing_total], u[m], amt[m])
    return sums


def _cut(part: Part, take: np.ndarray, values: np.ndarray) -> Part:
    """``part`` keeping only the group rows where ``take``, each row replaced by its
    ``values`` entry (its lines are those of ``part`` whose row is taken, in order)."""
    group_of_row = np.repeat(np.arange(len(part.count)), part.count)
    count = np.bincount(group_of_row[take], minlength=len(part.count))
    return replace(
        part,
        start=np.cumsum(count) - count,
        count=count,
        rows=values[take],
        share=part.share[take],
    )
