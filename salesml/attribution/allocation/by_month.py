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
from salesml.attribution.allocation.rules import RuleError, RulesLike, compile_rules, load_rules
from salesml.data.bundle import SalesData
from salesml.data.config import DatasetConfig
from salesml.data.errors import DatasetError
from salesml.data.io import find_table_files, load_dataset
from salesml.data.partitions import NO_MONTH, PARTITION_COLUMN, is_hive
from salesml.data.validate import validate as _validate

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
    tables, line_parts, monthly = [], [], []
    offset = 0
    for m in tqdm(months, desc="allocating", unit="month", disable=not progress, leave=False):
        part = load_dataset(
            folder,
            tables=["costs", "activities"],
            period=Period.parse(m),
            validate=validate,
            progress=False,
        )
        costs_m, acts_m = part.costs, part.activities
        need = costs_m["activity_id"].dropna().astype("str")
        own = acts_m["activity_id"].astype("str")
        extra = linked[linked["activity_id"].isin(need) & ~linked["activity_id"].isin(own)]
        acts = pd.concat([acts_m, extra], ignore_index=True) if len(extra) else acts_m
        data_m = SalesData(
            {**whole.tables, "costs": costs_m, "activities": acts},
            whole.config,
            source=folder,
        )
        al = allocate_costs(data_m, rules=rule_set)
        tables.append(al.table)
        monthly.append(al.monthly)
        lines = al.lines
        cost_pos = pd.Index(al.table["cost_id"].astype("str")).get_indexer(
            lines["cost_id"].astype("str")
        )
        line_parts.append(
            pd.DataFrame(
                {
                    "cost_row": cost_pos.astype("int64") + offset,
                    "cost_id": lines["cost_id"].astype("str").to_numpy(),
                    "rule": pd.Categorical(lines["rule"].astype("str"), categories=labels),
                    "driver": pd.Categorical(lines["driver"].astype("str"), categories=drivers),
                    "driver_id": lines["driver_id"].astype("str").to_numpy(),
                    "amount": lines["amount"].to_numpy(dtype="float64"),
                }
            )
        )
        offset += len(al.table)
        del part, data_m, al, lines, acts, acts_m
    if not tables:
        raise DatasetError(f"{folder}: the costs table has no dated month to allocate")
    table = pd.concat(tables, ignore_index=True)
    for c in ("rule", "reason"):
        table[c] = table[c].astype("str")
    lines_all = pd.concat(line_parts, ignore_index=True)
    monthly_all = pd.concat(monthly, ignore_index=True)
    return MonthlyAllocation(table, lines_all, monthly_all, months, notes)
