"""Driver views: the sales actions a cost line can be bound to, with the columns rules use.

=============== ====================== =================================================
driver          source table           one row per
=============== ====================== =================================================
``leads``       ``leads``              lead (dated ``created_at``)
``activities``  ``activities``         visit, call, demo... (dated ``occurred_at``)
``deals``       ``deals``              deal (dated ``closed_at`` if won, else created)
``redemptions`` ``material_movements`` store-material redemption by a customer
=============== ====================== =================================================
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from salesml.attribution._checks import require_columns, require_dates
from salesml.data.bundle import SalesData

__all__ = [
    "DRIVERS",
    "DRIVER_ID",
    "customer_attrs",
    "driver_columns",
    "driver_frame",
    "driver_view",
    "month_index",
]

#: Driver tables a rule may name, with the source table each one needs.
DRIVERS: dict[str, str] = {
    "leads": "leads",
    "activities": "activities",
    "deals": "deals",
    "redemptions": "material_movements",
}
#: The id column of each driver's rows.
DRIVER_ID: dict[str, str] = {
    "leads": "lead_id",
    "activities": "activity_id",
    "deals": "deal_id",
    "redemptions": "movement_id",
}


def month_index(ts: pd.Series) -> pd.Series:
    """Calendar month as an integer (year * 12 + month - 1); missing -> -1."""
    y = ts.dt.year.to_numpy(dtype="float64", na_value=np.nan)
    m = ts.dt.month.to_numpy(dtype="float64", na_value=np.nan)
    v = y * 12 + m - 1
    return pd.Series(np.where(np.isnan(v), -1, v).astype("int64"), index=ts.index)


def customer_attrs(data: SalesData) -> pd.DataFrame | None:
    """The customer columns actions inherit (store, region, segment, source channel)."""
    if not data.has("customers"):
        return None
    c = data.customers
    cols = [x for x in ("customer_id", "store_id", "region", "segment", "source_channel") if x in c]
    return c[cols].drop_duplicates("customer_id")


def _join_customer(df: pd.DataFrame, cust: pd.DataFrame | None) -> pd.DataFrame:
    if cust is None or "customer_id" not in df:
        return df
    add = cust[[c for c in cust.columns if c == "customer_id" or c not in df.columns]]
    if add.shape[1] == 1:
        return df
    return df.merge(add, on="customer_id", how="left", validate="many_to_one")


def driver_frame(data: SalesData, driver: str) -> pd.DataFrame:
    """The rows of one driver, with the columns rules may use.

    Parameters
    ----------
    data
        The dataset.
    driver
        ``leads``, ``activities``, ``deals`` or ``redemptions``.

    Returns
    -------
    pandas.DataFrame
        The driver table's own columns plus ``month`` (integer calendar month of the
        row's date), ``action_at`` (the date the action happened: lead created,
        activity occurred, deal closed if won else created, redemption occurred), and
        the customer's ``store_id``, ``region``, ``segment``, ``source_channel``
        where the table lacks them. ``redemptions`` also has ``value = qty * unit_cost``.
        Activities keep their own ``channel`` (onsite, phone, ...); deals get
        ``source_channel`` of their customer.
    """
    df, _ = driver_view(data, driver)
    return df


_SOURCE = {
    "leads": ("leads", ("created_at",), "lead_id"),
    "activities": ("activities", ("occurred_at",), "activity_id"),
    "deals": ("deals", ("created_at", "closed_at"), "deal_id"),
    "redemptions": ("material_movements", ("occurred_at",), "movement_id"),
}
_NEED = {
    "leads": ("lead_id", "channel", "created_at"),
    "activities": ("activity_id", "customer_id", "occurred_at"),
    "deals": ("deal_id", "customer_id", "outcome", "created_at", "closed_at"),
    "redemptions": (
        "movement_id",
        "kind",
        "customer_id",
        "store_id",
        "qty",
        "unit_cost",
        "occurred_at",
    ),
}


def driver_columns(data: SalesData, driver: str) -> list[str]:
    """The columns of :func:`driver_frame` ``(data, driver)``, in order, without building it."""
    table = _SOURCE[driver][0]
    cols = [str(c) for c in data[table].columns]
    if driver == "redemptions" and "value" not in cols:
        cols.append("value")
    if "action_at" not in cols:
        cols.append("action_at")
    cust = customer_attrs(data)
    if cust is not None and "customer_id" in cols:
        cols += [str(c) for c in cust.columns if c != "customer_id" and c not in cols]
    if "month" not in cols:
        cols.append("month")
    return cols


def driver_view(
    data: SalesData, driver: str, columns: Iterable[str] | None = None
) -> tuple[pd.DataFrame, list[str]]:
    """The rows of :func:`driver_frame`, holding only ``columns`` (default: all).

    The same rows in the same order with the same values as :func:`driver_frame`; the
    table's own columns are not copied (pandas copy-on-write) and the customer's
    columns are taken by position rather than merged, so that a 31M-row activity
    table costs only the columns a rule set reads.

    Returns
    -------
    (pandas.DataFrame, list of str)
        The frame, and the names of every column :func:`driver_frame` would have
        (for the messages that list them).
    """
    if driver not in DRIVERS:
        raise ValueError(f"unknown driver {driver!r}; drivers: {', '.join(DRIVERS)}")
    data.require(DRIVERS[driver], analysis=f"cost allocation to {driver}")
    table, date_col, key = _SOURCE[driver]
    src = data[table]
    require_columns(src, table, _NEED[driver], f"cost allocation to {driver}")
    for col in date_col:
        require_dates(src, table, col, key)
    full = driver_columns(data, driver)
    want = set(full) if columns is None else set(columns) & set(full)
    own = [c for c in src.columns if c in want]
    if driver == "redemptions":
        mm = src
        keep = (mm["kind"] == "redeem").to_numpy() & mm["customer_id"].notna().to_numpy()
        base = mm.loc[keep]
        df = base[own].reset_index(drop=True)
        if "value" in want:
            df["value"] = (
                base["qty"].astype("float64").to_numpy()
                * base["unit_cost"].astype("float64").to_numpy()
            )
        action = base["occurred_at"].reset_index(drop=True)
    else:
        df = src[own].reset_index(drop=True) if own else pd.DataFrame(index=pd.RangeIndex(len(src)))
        if driver == "leads":
            action = src["created_at"].reset_index(drop=True)
        elif driver == "activities":
            action = src["occurred_at"].reset_index(drop=True)
        else:
            won = (src["outcome"] == "won").to_numpy() & src["closed_at"].notna().to_numpy()
            action = src["created_at"].where(~won, src["closed_at"]).reset_index(drop=True)
    if "action_at" in want and "action_at" not in df.columns:
        df["action_at"] = action
    cust = customer_attrs(data)
    if cust is not None and "customer_id" in full:
        add = [c for c in cust.columns if c != "customer_id" and c in want and c not in own]
        if add:
            ids = src["customer_id"] if driver != "redemptions" else src.loc[keep, "customer_id"]
            pos = pd.Index(cust["customer_id"]).get_indexer(ids)
            cu = cust.reset_index(drop=True)
            for c in add:
                df[c] = cu[c].reindex(pos).reset_index(drop=True)
    if "month" in want:
        df["month"] = month_index(action).to_numpy()
    return df[[c for c in full if c in df.columns]], full
