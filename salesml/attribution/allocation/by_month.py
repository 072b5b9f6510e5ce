"""Cost allocation read month by month from a month-partitioned dataset folder.

:func:`allocate_costs_by_month` gives the same ledger and allocation lines as
:func:`~salesml.attribution.allocate_costs` on the whole dataset, while holding only one
month of cost lines and activities at a time (tier L: 31M activities, 5.6M cost lines).
It relies on what the rules say: a rule binding cost to activities either shares the
cost line's month (``month`` in its scope: a month's costs only need that month's
activities) or names one activity (scope ``[activity_id]``: the linked activity, read
from whichever month holds it). The smaller driver tables (leads, deals, redemptions)
and customers are read whole, once.

Each month is allocated by :func:`~salesml.attribution.allocate_costs` on a dataset
made of that month's cost lines and activities (plus the linked activities of other
months), so the rule logic is the one of the in-memory path; the groups a month's
rules form hold the same rows in the same order, hence the same shares to the last
bit. Lines are kept as scope groups (:class:`~salesml.attribution.allocation.lines.Part`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from salesml.attribution.allocation.allocate import _wanted_columns, allocate_costs
from salesml.attribution.allocation.drivers import _NEED, month_index
from salesml.attribution.allocation.lines import (
    Part,
    StoredLines,
    absent_links,
    compact_attrs,
    concat_attrs,
    customer_channel_map,
    driver_attrs,
    lead_deal_map,
    narrow_dictionary,
)
from salesml.attribution.allocation.result import Allocation
from salesml.attribution.allocation.rules import (
    RulesLike,
    check_monthly_rules,
    compile_rules,
    load_rules,
)
from salesml.data.bundle import SalesData
from salesml.data.config import DatasetConfig
from salesml.data.errors import DatasetError
from salesml.data.io import find_table_files, load_dataset
from salesml.data.partitions import NO_MONTH, PARTITION_COLUMN, is_hive
from salesml.data.validate import validate as _validate
from salesml.data.validate.parse import arrow_text

__all__ = [
    "CAC_TABLES",
    "MonthlyAllocation",
    "allocate_costs_by_month",
    "allocate_dataset",
    "check_monthly_rules",
    "is_month_partitioned",
]

#: Tables read whole (small next to activities and costs), when the folder has them.
WHOLE_TABLES = ("customers", "leads", "deals", "material_movements")
#: Activity columns ``keep_activities=True`` keeps (what CAC's visits and journeys read).
KEPT_ACTIVITY_COLUMNS = ("customer_id", "kind", "channel", "occurred_at")
#: The tables allocation and CAC read (all of them loaded from a folder not partitioned).
CAC_TABLES = ("costs", "customers", "deals", "leads", "activities", "material_movements")
#: Columns of :attr:`MonthlyAllocation.lines`.
LINE_COLUMNS = ("cost_row", "cost_id", "rule", "driver", "driver_id", "amount")


@dataclass(eq=False)
class MonthlyAllocation:
    """The result of :func:`allocate_costs_by_month`.

    Attributes
    ----------
    table
        The cost ledger in stored (month) order with ``allocated``, ``unallocated``,
        ``rule`` and ``reason``, as :attr:`Allocation.table
        <salesml.attribution.Allocation.table>`.
    compact
        The lines as integer positions and amounts, with the line attributes of the
        driver rows they reach (:class:`~salesml.attribution.allocation.lines.
        StoredLines`); :meth:`allocation` hands them to CAC, which never builds a frame.
    monthly
        Conservation per category and month (``incurred``, ``allocated``,
        ``unallocated``, ``allocated_share``), as :attr:`Allocation.monthly`.
    months
        The months read, in order.
    notes
        What was not checked (foreign keys across months).
    rules
        The normalised rule set used.
    data
        The tables read whole (customers, leads, deals, material_movements; only the
        columns allocation and CAC read, ids as ``category``) and, when
        ``keep_activities=True``, the activities' ``customer_id, kind, channel,
        occurred_at`` gathered month by month; ``costs`` is :attr:`table`.
    """

    table: pd.DataFrame
    compact: StoredLines = field(repr=False)
    monthly: pd.DataFrame
    months: list[str]
    notes: list[str] = field(default_factory=list)
    rules: dict[str, Any] = field(default_factory=dict, repr=False)
    data: SalesData | None = field(default=None, repr=False)
    #: Per line, in :attr:`lines` order: (month position, rule position, part index).
    _order: list[int] = field(default_factory=list, repr=False)
    _lines: pd.DataFrame | None = field(default=None, repr=False)

    @property
    def lines(self) -> pd.DataFrame:
        """One row per (cost line, driver row), built on first use (then kept).

        Columns ``cost_row`` (position in :attr:`table`), ``cost_id``, ``rule`` and
        ``driver`` (categorical), ``driver_id`` and ``amount``; per month in rule order.
        """
        if self._lines is None:
            self._lines = self._build_lines()
        return self._lines

    def __len__(self) -> int:
        return len(self.compact)

    def _build_lines(self) -> pd.DataFrame:
        parts = [self.compact.parts[i] for i in self._order]
        if not parts:
            out = pd.DataFrame({c: pd.Series(dtype="str") for c in LINE_COLUMNS})
            out["cost_row"] = out["cost_row"].astype("int64")
            out["amount"] = out["amount"].astype("float64")
            return out
        labels = [r.label for r in compile_rules(self.rules)]
        drivers = sorted({r.driver for r in compile_rules(self.rules)})
        cost_ids = arrow_text(self.table["cost_id"].astype("str"))
        ids = {d: st.column("driver_id").combine_chunks() for d, st in self.compact.drivers.items()}
        frames = []
        for part in parts:
            cidx, drow, amt = part.lines()
            driver, label = part.driver, part.label
            frames.append(
                pd.DataFrame(
                    {
                        "cost_row": cidx.astype("int64"),
                        "cost_id": _taken(cost_ids, cidx),
                        "rule": pd.Categorical([label] * len(cidx), categories=labels),
                        "driver": pd.Categorical([driver] * len(cidx), categories=drivers),
                        "driver_id": _taken(ids[driver], drow),
                        "amount": amt,
                    }
                )
            )
        return pd.concat(frames, ignore_index=True)

    def allocation(self) -> Allocation:
        """This allocation as an :class:`~salesml.attribution.Allocation` for CAC and ROI.

        :func:`~salesml.attribution.cac`, :func:`~salesml.attribution.roi`,
        :func:`~salesml.attribution.what_if` and
        :func:`~salesml.attribution.cac_monthly` take it as they take
        ``allocate_costs(data)``, with the same results. Its ``data`` holds the tables
        read whole and the activities kept (``allocate_costs_by_month(...,
        keep_activities=True)``, needed for visits and journeys).
        """
        if self.data is None:
            raise ValueError("this allocation kept no data to compute CAC from")
        data = SalesData(
            {**self.data.tables, "costs": self.table}, self.data.config, source=self.data.source
        )
        return Allocation(
            table=self.table,
            compact=self.compact,
            monthly=self.monthly,
            rules=self.rules,
            data=data,
            currency=data.config.currency,
            folder=self.data.source,
        )


def _months(folder: Path, name: str) -> list[str]:
    p = find_table_files(folder).get(name)
    if p is None:
        raise DatasetError(f"{folder}: no {name} table to allocate")
    if not is_hive(p):
        raise DatasetError(
            f"{folder}: table {name} is not month-partitioned ({p.name}); write it with "
            "save_dataset(..., partition='month') or use allocate_costs on the loaded data"
        )
    key = f"{PARTITION_COLUMN}="
    return sorted(
        d.name[len(key) :]
        for d in p.iterdir()
        if d.is_dir() and d.name.startswith(key) and d.name[len(key) :] != NO_MONTH
    )


def _dataset(folder: Path, name: str) -> Any:
    import pyarrow as pa
    import pyarrow.dataset as ds

    p = find_table_files(folder)[name]
    if not is_hive(p):
        return ds.dataset(str(p), format="parquet")
    part = ds.partitioning(pa.schema([(PARTITION_COLUMN, pa.string())]), flavor="hive")
    return ds.dataset(str(p), format="parquet", partitioning=part)


def _file_columns(folder: Path, name: str) -> list[str] | None:
    """The columns stored for table ``name`` (``None`` when not a Parquet file or folder)."""
    p = find_table_files(folder)[name]
    if not (is_hive(p) or p.suffix == ".parquet"):
        return None
    return [c for c in _dataset(folder, name).schema.names if c != PARTITION_COLUMN]


def _cross_month_ids(folder: Path, months: list[str]) -> np.ndarray:
    """Activity ids cost lines name that are not activities of the cost line's own month."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.dataset as ds

    costs, acts = _dataset(folder, "costs"), _dataset(folder, "activities")
    out = []
    for m in months:
        at_m = ds.field(PARTITION_COLUMN) == m
        need = costs.to_table(columns=["activity_id"], filter=at_m).column(0)
        need = pc.unique(pc.drop_null(need.combine_chunks()))
        if not len(need):
            continue
        own = acts.to_table(columns=["activity_id"], filter=at_m).column(0).combine_chunks()
        miss = need.filter(pc.invert(pc.is_in(need, value_set=own)))
        if len(miss):
            out.append(miss.cast(pa.large_string()))
    if not out:
        return np.zeros(0, dtype=object)
    return pc.unique(pa.concat_arrays(out)).to_numpy(zero_copy_only=False)


def _linked_activities(
    folder: Path, ids: np.ndarray, columns: list[str] | None, validate: bool
) -> pd.DataFrame:
    """The activities whose ids are in ``ids`` (from any month), read like a month's."""
    import pyarrow as pa
    import pyarrow.dataset as ds

    from salesml.data.streamed import read_columns
    from salesml.data.validate import finalise_table, parse_table

    dset = _dataset(folder, "activities")
    names = [c for c in dset.schema.names if c != PARTITION_COLUMN]
    read = read_columns("activities", columns, validate) if columns is not None else names
    read = [c for c in names if c in set(read)]
    flt = ds.field("activity_id").isin(pa.array(ids, type=dset.schema.field("activity_id").type))
    raw = dset.to_table(columns=read, filter=flt).to_pandas()
    if validate:
        out = _validate({"activities": raw}).data["activities"]
    else:
        parsed, _ = parse_table("activities", raw)
        out = finalise_table("activities", parsed, DatasetConfig())
    return out[[c for c in columns if c in out.columns]] if columns is not None else out


#: Source table -> driver of the tables cut to the month's rows.
_DRIVER_OF = {"leads": "leads", "deals": "deals", "material_movements": "redemptions"}


def _taken(arr: object, pos: np.ndarray) -> pd.Series:
    """``arr[pos]`` as pandas ``str`` backed by Arrow (no Python string per line)."""
    import pyarrow as pa

    return pd.Series(arr.take(pa.array(pos)), dtype="str", copy=False)


def _isin(s: pd.Series, values: pd.Series) -> np.ndarray:
    """``s.isin(values)`` on the text of both, through Arrow (no Python object per value)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if not len(s):
        return np.zeros(0, dtype=bool)
    vset = pa.array(pd.unique(values.astype("str").to_numpy()), type=pa.large_string())
    got = pc.is_in(arrow_text(s.astype("str")), value_set=vset)
    return pc.fill_null(got, False).to_numpy(zero_copy_only=False).astype(bool)


def _row_months(table: str, df: pd.DataFrame) -> np.ndarray:
    """Calendar month (year * 12 + month - 1) of each row's action, as the driver views date it."""
    if table == "leads":
        action = df["created_at"]
    elif table == "deals":
        won = (df["outcome"] == "won").to_numpy() & df["closed_at"].notna().to_numpy()
        action = df["created_at"].where(~won, df["closed_at"])
    else:
        action = df["occurred_at"]
    return month_index(action).to_numpy()


def _month_rows(
    table: str,
    df: pd.DataFrame,
    months: np.ndarray,
    month_no: int,
    costs: pd.DataFrame,
    compiled: list,
) -> pd.DataFrame:
    """The rows of a driver table month ``month_no``'s cost lines can reach, in stored order.

    Rules with ``month`` in scope reach the rows of that month; a rule without it reaches
    only rows whose scope keys all take a value some cost line of the month has (other
    rows are in groups no cost line uses, so dropping them changes no share). A rule
    with no scope, or keyed on a column the table lacks, keeps every row.
    """
    keep = np.zeros(len(df), dtype=bool)
    for r in compiled:
        if r.driver != _DRIVER_OF[table]:
            continue
        if "month" in r.scope:
            keep |= months == month_no
            continue
        if not r.scope or any(k not in df.columns or k not in costs.columns for k in r.scope):
            return df
        hit = np.ones(len(df), dtype=bool)
        for k in r.scope:
            hit &= _isin(df[k], costs[k].dropna())
        keep |= hit
    return df[keep].reset_index(drop=True) if not keep.all() else df


@dataclass(eq=False)
class _MonthPiece:
    """What one month's allocation keeps: ledger, conservation, compact lines, activities."""

    table: pd.DataFrame
    monthly: pd.DataFrame
    #: Per rule that placed cost, its scope groups: cost positions in the month, rows of
    #: ``attrs[driver]``.
    parts: list[Part]
    attrs: dict[str, Any]
    activities: Any


def allocate_month(
    month: str,
    folder: str,
    rules: dict[str, Any],
    validate: bool,
    activity_columns: list[str] | None,
    keep_activities: bool,
    config: DatasetConfig,
    *,
    linked: pd.DataFrame,
    lead_deal: pd.Series | None,
    customer_channel: pd.Series | None,
    **whole: pd.DataFrame,
) -> _MonthPiece:
    """Allocate one month of a month-partitioned folder (read here: on a worker, there).

    ``whole`` are the tables read whole (customers, leads, deals, material_movements);
    ``linked`` the activities of other months this month's cost lines name.
    """
    from salesml.periods import Period

    compiled = compile_rules(rules)
    per = Period.parse(month)
    cols = {"activities": activity_columns} if activity_columns is not None else None
    part = load_dataset(
        Path(folder),
        tables=["costs", "activities"],
        period=per,
        validate=validate,
        columns=cols,
        progress=False,
    )
    costs_m, acts_m = part.costs, part.activities
    extra = linked
    if len(linked):
        need = costs_m["activity_id"].dropna().astype("str")
        lid = linked["activity_id"]
        extra = linked[_isin(lid, need) & ~_isin(lid, acts_m["activity_id"])]
    acts = pd.concat([acts_m, extra], ignore_index=True) if len(extra) else acts_m
    month_no = per.start.year * 12 + per.start.month - 1
    month_tables = {
        t: _month_rows(t, df, _row_months(t, df), month_no, costs_m, compiled)
        if t in _DRIVER_OF
        else df
        for t, df in whole.items()
    }
    data_m = SalesData({**month_tables, "costs": costs_m, "activities": acts}, config)
    al = allocate_costs(data_m, rules=rules)
    parts, attrs, used = [], {}, {}
    for name in sorted({p.driver for p in al.compact.parts}):
        # every row of a part's groups is reached: a group is the key of a cost line
        used[name] = np.unique(
            np.concatenate([p.rows for p in al.compact.parts if p.driver == name])
        )
        dv = al.compact.drivers[name].iloc[used[name]]
        absent = absent_links(dv.columns, name, lead_deal)
        a = driver_attrs(dv, name, lead_deal, customer_channel)
        attrs[name] = compact_attrs(a, name, absent)
        del a
    for part in al.compact.parts:
        parts.append(part.moved(0, np.searchsorted(used[part.driver], part.rows).astype("int32")))
    table, monthly = al.table, al.monthly
    kept = None
    if keep_activities:
        import pyarrow as pa
        import pyarrow.compute as pc

        kept = pa.table(
            {
                c: pa.array(acts_m[c], from_pandas=True)
                if c == "occurred_at"
                else narrow_dictionary(pc.dictionary_encode(arrow_text(acts_m[c].astype("str"))))
                for c in KEPT_ACTIVITY_COLUMNS
                if c in acts_m.columns
            }
        )
    del part, data_m, al, acts, acts_m, month_tables, extra
    _give_back_memory()
    return _MonthPiece(table, monthly, parts, attrs, kept)


def _give_back_memory() -> None:
    """Return the month's freed memory to the system (Arrow's pool, then the C heap), so
    that the next month reuses it rather than the process growing by fragments."""
    import contextlib
    import ctypes
    import gc

    import pyarrow as pa

    gc.collect()
    pa.default_memory_pool().release_unused()
    with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to trim
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def allocate_costs_by_month(
    path: str | Path,
    *,
    rules: RulesLike = None,
    validate: bool = True,
    keep_activities: bool = False,
    progress: bool = False,
    client: Any = None,
) -> MonthlyAllocation:
    """Allocate the cost ledger of a month-partitioned folder one month at a time.

    Parameters
    ----------
    path
        A dataset folder whose ``costs`` and ``activities`` are month-partitioned
        (``save_dataset(..., partition="month")``, ``salesml generate --preset M|L``).
    rules
        As for :func:`~salesml.attribution.allocate_costs`. Every rule driving
        activities must have ``month`` in its scope or scope ``[activity_id]``.
    validate
        Validate what is read (each month's costs and activities, the whole tables,
        the linked activities). Foreign keys from a month's rows into the tables read
        a month at a time are not checked (a note says so).
    keep_activities
        Also keep the activities' ``customer_id, kind, channel, occurred_at`` (compact),
        gathered month by month, so that :meth:`MonthlyAllocation.allocation` can give
        CAC its visit counts and journeys (at tier L about 0.5 GB).
    progress
        Show a progress bar over the months.
    client
        A ``distributed.Client`` (or ``None``: ``$SALESML_DASK_SCHEDULER`` if set, else
        in-process; see :func:`salesml.distributed.resolve_client`). On a cluster each
        month is read and allocated on a worker (send: the folder path and the month);
        the result is identical to the in-process one.

    Returns
    -------
    MonthlyAllocation
        Ledger, lines and conservation; equal to ``allocate_costs(load_dataset(path))``
        on data that loads without quarantine.

    Raises
    ------
    RuleError
        When a rule drives activities over more than one month (its scope has neither
        ``month`` nor is ``[activity_id]``): it cannot be computed a month at a time.
    DatasetError
        When ``costs`` or ``activities`` is not month-partitioned.
    """
    from salesml.distributed import map_pieces, resolve_client

    client = resolve_client(client)
    folder = Path(path)
    rule_set = load_rules(rules)
    compiled = check_monthly_rules(rule_set)
    months = _months(folder, "costs")
    _months(folder, "activities")
    present = find_table_files(folder)
    columns = _read_plan(folder, compiled, keep_activities)
    whole_names = [t for t in WHOLE_TABLES if t in present]
    whole = load_dataset(
        folder,
        tables=whole_names,
        columns={t: columns[t] for t in whole_names if columns.get(t) is not None},
        validate=validate,
        compact=True,
        progress=False,
    )
    notes = ["costs.activity_id and activities' foreign keys are checked within each month only"]
    cross = _cross_month_ids(folder, months)
    linked = _linked_activities(folder, cross, columns["activities"], validate)
    _give_back_memory()  # what reading the whole tables and every month's ids used
    pieces = map_pieces(
        allocate_month,
        months,
        str(folder),
        rule_set,
        validate,
        columns["activities"],
        keep_activities,
        whole.config,
        client=client,
        progress=progress,
        desc="allocating",
        linked=linked,
        lead_deal=lead_deal_map(whole),
        customer_channel=customer_channel_map(whole),
        **whole.tables,
    )
    if not pieces:
        raise DatasetError(f"{folder}: the costs table has no dated month to allocate")
    return _assemble(pieces, months, compiled, rule_set, whole, keep_activities, notes, folder)


def _read_plan(folder: Path, compiled: list, keep_activities: bool) -> dict[str, list[str] | None]:
    """Per table read, the columns allocation (and CAC, journeys) read; ``None``: all."""
    wanted = _wanted_columns(compiled)
    need: dict[str, set[str]] = {
        "customers": {"customer_id", "store_id", "region", "segment", "source_channel"},
        "leads": {"lead_id", "customer_id", "channel", "created_at"},
        "deals": {
            "deal_id",
            "customer_id",
            "lead_id",
            "outcome",
            "created_at",
            "closed_at",
            "amount",
        },
        "material_movements": set(_NEED["redemptions"]),
        "activities": set(_NEED["activities"]),
    }
    need["customers"].add("created_at")
    if keep_activities:
        need["activities"].update(KEPT_ACTIVITY_COLUMNS)
    for driver, table in (
        ("leads", "leads"),
        ("deals", "deals"),
        ("redemptions", "material_movements"),
        ("activities", "activities"),
    ):
        need[table].update(_NEED[driver])
        need[table].update(wanted.get(driver, set()))
    out: dict[str, list[str] | None] = {}
    present = find_table_files(folder)
    for table, cols in need.items():
        stored = _file_columns(folder, table) if table in present else None
        out[table] = None if stored is None else [c for c in stored if c in cols]
    return out


def _assemble(
    pieces: list[_MonthPiece],
    months: list[str],
    compiled: list,
    rule_set: dict[str, Any],
    whole: SalesData,
    keep_activities: bool,
    notes: list[str],
    folder: Path,
) -> MonthlyAllocation:
    """One :class:`MonthlyAllocation` from the months' pieces (positions made global).

    Each piece's part is let go once it is copied (the driver attributes and kept
    activities are not copied: their Arrow chunks are reused), so that assembling does
    not hold the months twice.
    """
    table = pd.concat([p.table for p in pieces], ignore_index=True)
    for c in ("rule", "reason"):
        table[c] = table[c].astype("str")
    monthly = pd.concat([p.monthly for p in pieces], ignore_index=True)
    cost_off = np.cumsum([0] + [len(p.table) for p in pieces])
    for p in pieces:
        p.table = p.table.iloc[:0]
    drivers = sorted({d for p in pieces for d in p.attrs})
    attrs, row_off = {}, {}
    for d in drivers:
        frames = [p.attrs[d] for p in pieces if d in p.attrs]
        attrs[d] = concat_attrs(frames)
        sizes = [p.attrs[d].num_rows if d in p.attrs else 0 for p in pieces]
        row_off[d] = np.cumsum([0, *sizes])
    for p in pieces:
        p.attrs.clear()
    rank = {r.label: i for i, r in enumerate(compiled)}
    keyed = []
    for mi, p in enumerate(pieces):
        for part in p.parts:
            rows = (part.rows.astype("int64") + row_off[part.driver][mi]).astype("int32")
            keyed.append((rank[part.label], mi, part.moved(int(cost_off[mi]), rows)))
        p.parts.clear()
    # rule-major (the order of allocate_costs on the whole ledger), and month-major for lines
    by_rule = sorted(range(len(keyed)), key=lambda i: (keyed[i][0], keyed[i][1]))
    parts = [keyed[i][2] for i in by_rule]
    where = {j: k for k, j in enumerate(by_rule)}
    order = [where[i] for i in range(len(keyed))]
    tables = dict(whole.tables)
    if keep_activities:
        kept = [p.activities for p in pieces if p.activities is not None]
        for p in pieces:
            p.activities = None
        if kept:
            acts = concat_attrs(kept)
            del kept  # the Arrow columns are then freed one by one as they convert
            tables["activities"] = acts.to_pandas(split_blocks=True, self_destruct=True)
            del acts
            for c in KEPT_ACTIVITY_COLUMNS:
                if c != "occurred_at" and c in tables["activities"]:
                    col = tables["activities"][c]
                    col = col.cat.set_categories(col.cat.categories.astype("str"))
                    tables["activities"][c] = col
    data = SalesData(tables, whole.config, source=folder)
    compact = StoredLines(table, parts, attrs, data)
    return MonthlyAllocation(table, compact, monthly, months, notes, rule_set, data, order)


def is_month_partitioned(path: str | Path) -> bool:
    """Whether the folder's ``costs`` and ``activities`` are month-partitioned (hive)."""
    present = find_table_files(Path(path))
    return all(t in present and is_hive(present[t]) for t in ("costs", "activities"))


def allocate_dataset(
    path: str | Path, *, rules: RulesLike = None, client: Any = None
) -> Allocation:
    """The allocation CAC reads, of a dataset folder, holding as little as it can.

    Parameters
    ----------
    path
        A dataset folder. When its costs and activities are month-partitioned
        (:func:`is_month_partitioned`), it is allocated month by month
        (:func:`allocate_costs_by_month` with ``keep_activities=True``, then
        :meth:`MonthlyAllocation.allocation`); otherwise the tables of
        :data:`CAC_TABLES` it has are loaded and allocated with
        :func:`~salesml.attribution.allocate_costs`. The results of CAC, ROI and
        journeys are the same either way.
    rules, client
        As for :func:`allocate_costs_by_month` (what is read is validated).

    Returns
    -------
    Allocation
        Its ``folder`` is set when allocated month by month.

    Raises
    ------
    RuleError
        When the folder is month-partitioned and a rule cannot be computed a month at a
        time (the message says to load the data instead).
    """
    folder = Path(path)
    if is_month_partitioned(folder):
        by_month = allocate_costs_by_month(folder, rules=rules, keep_activities=True, client=client)
        return by_month.allocation()
    present = find_table_files(folder)
    tables = [t for t in CAC_TABLES if t in present]
    data = load_dataset(folder, tables=tables, progress=False)
    return allocate_costs(data, rules=rules)
