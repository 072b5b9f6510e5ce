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
bit. Lines are kept as integer positions, categorical codes and amounts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from salesml.attribution.allocation.allocate import allocate_costs
from salesml.attribution.allocation.drivers import DRIVER_ID, month_index
from salesml.attribution.allocation.rules import RuleError, RulesLike, compile_rules, load_rules
from salesml.data.bundle import SalesData
from salesml.data.config import DatasetConfig
from salesml.data.errors import DatasetError
from salesml.data.io import find_table_files, load_dataset
from salesml.data.partitions import NO_MONTH, PARTITION_COLUMN, is_hive
from salesml.data.validate import validate as _validate
from salesml.data.validate.parse import arrow_text

__all__ = ["MonthlyAllocation", "allocate_costs_by_month"]

#: Tables read whole (small next to activities and costs), when the folder has them.
WHOLE_TABLES = ("customers", "leads", "deals", "material_movements", "reps", "stores", "campaigns")
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
    lines
        One row per (cost line, driver row): ``cost_row`` (position in ``table``),
        ``cost_id``, ``rule`` and ``driver`` (categorical), ``driver_id`` and
        ``amount``; per month in rule order.
    monthly
        Conservation per category and month (``incurred``, ``allocated``,
        ``unallocated``, ``allocated_share``), as :attr:`Allocation.monthly`.
    months
        The months read, in order.
    notes
        What was not checked (foreign keys across months).
    """

    table: pd.DataFrame
    lines: pd.DataFrame
    monthly: pd.DataFrame
    months: list[str]
    notes: list[str] = field(default_factory=list)


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


def _linked_activities(folder: Path, ids: np.ndarray, validate: bool) -> pd.DataFrame:
    """The activities whose ids are in ``ids`` (from every month), parsed like a load."""
    import pyarrow as pa
    import pyarrow.dataset as ds

    from salesml.data.validate import finalise_table, parse_table

    p = find_table_files(folder)["activities"]
    part = ds.partitioning(pa.schema([(PARTITION_COLUMN, pa.string())]), flavor="hive")
    dset = ds.dataset(str(p), format="parquet", partitioning=part)
    names = [c for c in dset.schema.names if c != PARTITION_COLUMN]
    flt = ds.field("activity_id").isin(pa.array(ids, type=dset.schema.field("activity_id").type))
    raw = dset.to_table(columns=names, filter=flt).to_pandas()
    if validate:
        return _validate({"activities": raw}).data["activities"]
    parsed, _ = parse_table("activities", raw)
    return finalise_table("activities", parsed, DatasetConfig())


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


def allocate_costs_by_month(
    path: str | Path,
    *,
    rules: RulesLike = None,
    validate: bool = True,
    progress: bool = False,
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
    progress
        Show a progress bar over the months.

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
    from tqdm import tqdm  # text bars: tqdm.auto would pull in ipywidgets

    from salesml.periods import Period

    folder = Path(path)
    rule_set = load_rules(rules)
    compiled = compile_rules(rule_set)
    for r in compiled:
        if r.driver == "activities" and "month" not in r.scope and r.scope != ("activity_id",):
            raise RuleError(
                f"{r.label}: scope {list(r.scope)} spans months; allocating month by month "
                "needs month in the scope of every activity rule (or scope [activity_id]): "
                "use allocate_costs on the loaded data instead"
            )
    months = _months(folder, "costs")
    _months(folder, "activities")
    present = find_table_files(folder)
    whole = load_dataset(
        folder,
        tables=[t for t in WHOLE_TABLES if t in present],
        validate=validate,
        progress=False,
    )
    notes = ["costs.activity_id and activities' foreign keys are checked within each month only"]
    links = load_dataset(
        folder, tables=["costs"], columns={"costs": ["activity_id"]}, validate=False, progress=False
    ).costs["activity_id"]
    link_ids = pd.unique(links.dropna().astype("str").to_numpy())
    del links
    linked = _linked_activities(folder, np.asarray(link_ids, dtype=object), validate)
    labels = [r.label for r in compiled]
    drivers = sorted({r.driver for r in compiled})
    month_of = {t: _row_months(t, df) for t, df in whole.tables.items() if t in _DRIVER_OF}
    tables, line_parts, monthly = [], [], []
    offset = 0
    for m in tqdm(months, desc="allocating", unit="month", disable=not progress, leave=False):
        per = Period.parse(m)
        part = load_dataset(
            folder, tables=["costs", "activities"], period=per, validate=validate, progress=False
        )
        costs_m, acts_m = part.costs, part.activities
        need = costs_m["activity_id"].dropna().astype("str")
        own = acts_m["activity_id"].astype("str")
        lid = linked["activity_id"]
        extra = linked[_isin(lid, need) & ~_isin(lid, own)]
        acts = pd.concat([acts_m, extra], ignore_index=True) if len(extra) else acts_m
        month_no = per.start.year * 12 + per.start.month - 1
        month_tables = {
            t: _month_rows(t, df, month_of[t], month_no, costs_m, compiled) if t in month_of else df
            for t, df in whole.tables.items()
        }
        data_m = SalesData(
            {**month_tables, "costs": costs_m, "activities": acts}, whole.config, source=folder
        )
        al = allocate_costs(data_m, rules=rule_set)
        tables.append(al.table)
        monthly.append(al.monthly)
        cost_ids = arrow_text(al.table["cost_id"].astype("str"))
        for cidx, driver, drow, amt, label in al.compact.parts:
            ids = arrow_text(al.compact.drivers[driver][DRIVER_ID[driver]].astype("str"))
            line_parts.append(
                pd.DataFrame(
                    {
                        "cost_row": cidx.astype("int64") + offset,
                        "cost_id": _taken(cost_ids, cidx),
                        "rule": pd.Categorical([label] * len(cidx), categories=labels),
                        "driver": pd.Categorical([driver] * len(cidx), categories=drivers),
                        "driver_id": _taken(ids, drow),
                        "amount": amt,
                    }
                )
            )
        offset += len(al.table)
        del part, data_m, al, acts, acts_m, month_tables
    if not tables:
        raise DatasetError(f"{folder}: the costs table has no dated month to allocate")
    table = pd.concat(tables, ignore_index=True)
    for c in ("rule", "reason"):
        table[c] = table[c].astype("str")
    lines_all = (
        pd.concat(line_parts, ignore_index=True)
        if line_parts
        else pd.DataFrame({c: pd.Series(dtype="str") for c in LINE_COLUMNS})
    )
    monthly_all = pd.concat(monthly, ignore_index=True)
    return MonthlyAllocation(table, lines_all, monthly_all, months, notes)
