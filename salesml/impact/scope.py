"""``filters=`` for the KPIs: the rows of the data a KPI is measured on.

A filter (:class:`salesml.filters.FilterSpec`) selects the rows of one *root* table
per KPI (:attr:`salesml.impact.KpiDef.filter_table`): the deals for the deal KPIs
(stage days, won cycle, touches per deal-day, cross-team response, payment delay),
the leads for first response, the reps for touches per rep-day, the material
movements for the loss rate. The tables that hang off the root are cut to the kept
rows by their key: a deal's stage history, activities, cross-team events and
contracts, a contract's payments, a rep's activities.

Column names are the root table's own columns; deals also take the dimensions of
:data:`salesml.filters.DIMENSIONS` (``region`` of the customer, or of the owning
rep when the dataset declares ``region_source: rep``; ``segment``, ``team``, ...),
material movements the ``region`` and ``city`` of their store. A KPI whose root
cannot resolve a filtered column (a lead has no region until it is a customer; the
cost lines of CAC have no region) is listed as not measurable under that filter,
never measured on a silently different population.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from salesml.data.bundle import SalesData
from salesml.filters import DIMENSIONS, FilterSpec, region_column
from salesml.rules.expr import compile_expr

__all__ = ["FilterColumnError", "filter_columns", "scoped"]

#: Tables cut to the rows of a filtered parent: parent -> (child, key) pairs.
CASCADE: dict[str, tuple[tuple[str, str], ...]] = {
    "deals": (
        ("stage_history", "deal_id"),
        ("activities", "deal_id"),
        ("collab_events", "deal_id"),
        ("contracts", "deal_id"),
    ),
    "contracts": (("payments", "contract_id"),),
    "reps": (("activities", "rep_id"),),
}
#: Columns joined onto material movements from their store.
_STORE_COLUMNS = ("region", "city")


class FilterColumnError(ValueError):
    """A KPI's rows cannot be filtered on ``columns`` (they carry no such column)."""

    def __init__(self, kpi: str, table: str, columns: list[str]) -> None:
        super().__init__(
            f"the KPI {kpi!r} cannot be filtered on {', '.join(map(repr, columns))}: "
            f"its {table} carry no such column"
        )
        self.columns = columns


def _region_source(data: SalesData) -> str | None:
    src = getattr(data.config, "region_source", None)
    if src is None:
        src = (data.config.extra or {}).get("region_source")
    return None if src is None else str(src)


def _wanted(spec: FilterSpec) -> list[str]:
    """The columns a filter reads: its column filters, then its expression's columns."""
    cols = list(spec.names)
    if spec.where is not None:
        cols += [c for c in compile_expr(spec.where).columns if c not in cols]
    return cols


def _view(data: SalesData, table: str, spec: FilterSpec) -> pd.DataFrame:
    """The root table with the filtered dimensions it can resolve joined in."""
    frame = data[table]
    extra: dict[str, np.ndarray] = {}
    for col in _wanted(spec):
        if col in frame.columns:
            continue
        if table == "deals" and col in DIMENSIONS:
            src_table, source, key = DIMENSIONS[col]
            if data.has(src_table) and key in frame and source in data[src_table].columns:
                own = data[src_table].drop_duplicates(key).set_index(key)[source]
                extra[col] = frame[key].map(own).to_numpy()
        elif table == "material_movements" and col in _STORE_COLUMNS and data.has("stores"):
            stores = data.stores.drop_duplicates("store_id").set_index("store_id")
            if col in stores.columns:
                extra[col] = frame["store_id"].map(stores[col]).to_numpy()
    return frame.assign(**extra) if extra else frame


def filter_columns(data: SalesData, table: str | None, spec: FilterSpec) -> list[str]:
    """The filtered columns the root ``table`` cannot resolve (all of them without a root)."""
    if table is None:
        return _wanted(spec) or ["where"]
    if not data.has(table):
        return []  # the KPI's missing table is reported as such
    spec = _renamed(data, table, spec)
    cols = set(_view(data, table, spec).columns)
    return [c for c in _wanted(spec) if c not in cols]


def _renamed(data: SalesData, table: str, spec: FilterSpec) -> FilterSpec:
    if table == "deals" and region_column(_region_source(data)) == "rep_region":
        return spec.renamed({"region": "rep_region"})
    return spec


def scoped(data: SalesData, kpi: str, table: str | None, spec: FilterSpec) -> SalesData:
    """The dataset cut to the rows ``spec`` keeps of the KPI's root ``table``.

    Raises
    ------
    FilterColumnError
        When the root table (or the KPI, without a root) cannot resolve a filtered column.
    ValueError
        When the ``where`` expression fails on the root table (naming it and the column).
    """
    if not spec:
        return data
    bad = filter_columns(data, table, spec)
    if bad:
        raise FilterColumnError(kpi, table or "records", bad)
    assert table is not None
    if not data.has(table):
        return data
    spec = _renamed(data, table, spec)
    keep = spec.mask(_view(data, table, spec), table=table)
    out: dict[str, pd.DataFrame] = {table: data[table][keep]}
    todo = [table]
    while todo:
        parent = todo.pop()
        for child, key in CASCADE.get(parent, ()):
            if not data.has(child) or key not in out[parent]:
                continue
            kept = pd.Index(out[parent][key].dropna().unique())
            frame = out.get(child, data[child])
            out[child] = frame[frame[key].isin(kept).to_numpy()]
            todo.append(child)
    return data.replace(**out)
