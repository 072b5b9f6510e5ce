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

import numpy as np
import pandas as pd

from salesml.attribution._checks import require_columns, require_dates
from salesml.data.bundle import SalesData

__all__ = ["DRIVERS", "DRIVER_ID", "customer_attrs", "driver_frame", "month_index"]

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
    if driver not in DRIVERS:
        raise ValueError(f"unknown driver {driver!r}; drivers: {', '.join(DRIVERS)}")
    data.require(DRIVERS[driver], analysis=f"cost allocation to {driver}")
    table = DRIVERS[driver]
    date_col, key = {
        "leads": (("created_at",), "lead_id"),
        "activities": (("occurred_at",), "activity_id"),
        "deals": (("created_at", "closed_at"), "deal_id"),
        "redemptions": (("occurred_at",), "movement_id"),
    }[driver]
    src = data[table]
    need = {
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
    }[driver]
    require_columns(src, table, need, f"cost allocation to {driver}")
    for col in date_col:
        require_dates(src, table, col, key)
    cust = customer_attrs(data)
    if driver == "leads":
        df = data.leads.copy()
        df["action_at"] = df["created_at"]
    elif driver == "activities":
        df = data.activities.copy()
        df["action_at"] = df["occurred_at"]
    elif driver == "deals":
        df = data.deals.copy()
        won = (df["outcome"] == "won").to_numpy() & df["closed_at"].notna().to_numpy()
        df["action_at"] = df["created_at"].where(~won, df["closed_at"])
    else:
        mm = data.material_movements
        keep = (mm["kind"] == "redeem").to_numpy() & mm["customer_id"].notna().to_numpy()
        df = mm.loc[keep].copy()
        df["value"] = df["qty"].astype("float64") * df["unit_cost"].astype("float64")
        df["action_at"] = df["occurred_at"]
    df = _join_customer(df, cust)
    df["month"] = month_index(df["action_at"])
    return df.reset_index(drop=True)
