"""Store material movements: the cleaned rows shared by the ledger, anomalies and rollout.

From ``material_movements`` (receive, issue, redeem, transfer_in, transfer_out, loss).
Rows that cannot enter the ledger (negative or missing quantities, unknown kinds or
stores) and transfers without their counterpart are listed in ``problems``, never
dropped silently; a transfer still in transit at the end of the data is not a problem.

A *served customer* of a store in a month is one of its customers (``customers.store_id``)
with an activity or a scanned redemption that month: it is observable even where a store
stops scanning (its redemptions then name no customer).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from salesml.data.bundle import SalesData
from salesml.data.checks import require_columns
from salesml.filters import FilterSpec
from salesml.results import Note

__all__ = [
    "KINDS",
    "TRANSFER_DAYS",
    "movements",
    "problems_notes",
    "served_customers",
    "store_filter",
]

#: Movement kinds and the sign they move stock on hand by.
KINDS: dict[str, int] = {
    "receive": 1,
    "transfer_in": 1,
    "issue": -1,
    "redeem": -1,
    "transfer_out": -1,
    "loss": -1,
}
_COLUMNS = ("movement_id", "store_id", "sku", "kind", "qty", "occurred_at")
#: Days a transfer may take before its missing counterpart is a problem.
TRANSFER_DAYS = 3.0
_PROBLEM_COLUMNS = ["row", "movement_id", "column", "problem", "value"]


def movements(data: SalesData, as_of: pd.Timestamp | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Clean movements (with ``signed`` qty and ``cost``) and the problem rows."""
    data.require("material_movements", analysis="store materials")
    mv = data["material_movements"]
    require_columns(mv, "material_movements", _COLUMNS, "store materials")
    cols = [
        c
        for c in (*_COLUMNS, "unit_cost", "scanned", "customer_id", "ref_store_id")
        if c in mv.columns
    ]
    mv = mv.loc[:, cols].copy()
    mv["_row"] = np.arange(len(mv))
    mv["occurred_at"] = pd.to_datetime(mv["occurred_at"], errors="coerce").astype("datetime64[ns]")
    mv["qty"] = pd.to_numeric(mv["qty"], errors="coerce").astype(float)
    for c, default in (("unit_cost", np.nan), ("scanned", True), ("customer_id", None)):
        if c not in mv.columns:
            mv[c] = default
    if "ref_store_id" not in mv.columns:
        mv["ref_store_id"] = None
    mv["unit_cost"] = pd.to_numeric(mv["unit_cost"], errors="coerce")
    if as_of is not None:
        mv = mv.loc[~(mv["occurred_at"] >= as_of).to_numpy()]
    kind = mv["kind"].astype(object).to_numpy()
    qty = mv["qty"].to_numpy(float)
    checks = [
        (~np.isin(kind, list(KINDS)), "kind", "unknown_kind"),
        (np.isnan(qty), "qty", "missing_qty"),
        (qty < 0, "qty", "negative_qty"),
        (mv["occurred_at"].isna().to_numpy(), "occurred_at", "missing_time"),
        (mv["store_id"].isna().to_numpy(), "store_id", "missing_store"),
    ]
    if data.has("stores"):
        known = mv["store_id"].isin(data["stores"]["store_id"]).to_numpy()
        checks.append((~known & mv["store_id"].notna().to_numpy(), "store_id", "unknown_store"))
    bad = np.zeros(len(mv), dtype=bool)
    parts = []
    for m, column, problem in checks:
        if m.any():
            parts.append(_problem(mv, m, column, problem))
            bad |= m
    good = mv.loc[~bad].copy()
    good["signed"] = good["kind"].map(KINDS).to_numpy(float) * good["qty"].to_numpy(float)
    good["cost"] = good["qty"] * good["unit_cost"]
    good["scanned"] = good["scanned"].fillna(False).astype(bool)
    parts.append(_unmatched_transfers(good))
    problems = pd.concat([p for p in parts if len(p)] or [pd.DataFrame(columns=_PROBLEM_COLUMNS)])
    return good, problems.sort_values("row", kind="stable").reset_index(drop=True)


def _problem(mv: pd.DataFrame, mask: np.ndarray, column: str, problem: str) -> pd.DataFrame:
    sub = mv.loc[mask]
    return pd.DataFrame(
        {
            "row": sub["_row"].to_numpy(),
            "movement_id": sub["movement_id"].astype(str).to_numpy(dtype=object),
            "column": column,
            "problem": problem,
            "value": sub[column].astype(str).to_numpy(dtype=object),
        }
    )


def _unmatched_transfers(mv: pd.DataFrame) -> pd.DataFrame:
    """Transfers out without their transfer in at the other store (and vice versa).

    The n-th transfer out from A to B of a SKU and quantity is paired with the n-th
    transfer in at B from A of the same SKU and quantity; a pair more than
    :data:`TRANSFER_DAYS` apart, or an in before its out, is unmatched. A transfer out
    within that time of the end of the data is in transit, not a problem.
    """
    out = mv[mv["kind"] == "transfer_out"].assign(
        a=lambda d: d["store_id"], b=lambda d: d["ref_store_id"]
    )
    inn = mv[mv["kind"] == "transfer_in"].assign(
        a=lambda d: d["ref_store_id"], b=lambda d: d["store_id"]
    )
    if not len(out) and not len(inn):
        return pd.DataFrame(columns=_PROBLEM_COLUMNS)
    key = ["a", "b", "sku", "qty"]
    out = out.sort_values("occurred_at", kind="stable")
    inn = inn.sort_values("occurred_at", kind="stable")
    out["_n"] = out.groupby(key, dropna=False).cumcount()
    inn["_n"] = inn.groupby(key, dropna=False).cumcount()
    pair = out[[*key, "_n", "_row", "occurred_at"]].merge(
        inn[[*key, "_n", "_row", "occurred_at"]],
        on=[*key, "_n"],
        how="outer",
        suffixes=("_out", "_in"),
        indicator=True,
    )
    gap = (pair["occurred_at_in"] - pair["occurred_at_out"]) / pd.Timedelta(days=1)
    ok = (pair["_merge"] == "both") & (gap >= 0) & (gap <= TRANSFER_DAYS)
    end = mv["occurred_at"].max()
    transit = (pair["_merge"] == "left_only") & (
        (end - pair["occurred_at_out"]) / pd.Timedelta(days=1) <= TRANSFER_DAYS
    )
    bad_out = pair.loc[~ok & ~transit & pair["_row_out"].notna(), "_row_out"].astype(int)
    bad_in = pair.loc[~ok & pair["_row_in"].notna(), "_row_in"].astype(int)
    rows = mv.set_index("_row")
    parts = []
    for r, problem in ((bad_out, "transfer_without_in"), (bad_in, "transfer_without_out")):
        if len(r):
            sub = rows.loc[r.to_numpy()]
            parts.append(
                pd.DataFrame(
                    {
                        "row": r.to_numpy(),
                        "movement_id": sub["movement_id"].astype(str).to_numpy(dtype=object),
                        "column": "ref_store_id",
                        "problem": problem,
                        "value": sub["ref_store_id"].astype(str).to_numpy(dtype=object),
                    }
                )
            )
    return pd.concat(parts) if parts else pd.DataFrame(columns=_PROBLEM_COLUMNS)


def store_filter(data: SalesData, spec: FilterSpec) -> set[str] | None:
    """Stores kept by ``filters`` (on the columns of ``stores``: region, city, store_id)."""
    if not spec:
        return None
    if not data.has("stores"):
        raise ValueError("store materials: filters need the stores table (region, city)")
    return set(spec.apply(data["stores"], table="stores")["store_id"].astype(str))


def served_customers(data: SalesData, mv: pd.DataFrame, as_of: pd.Timestamp | None) -> pd.DataFrame:
    """Served customers: (store_id, month, customer_id), distinct."""
    parts = []
    red = mv[(mv["kind"] == "redeem") & mv["scanned"] & mv["customer_id"].notna()]
    parts.append(red[["store_id", "customer_id", "occurred_at"]])
    if data.has("customers") and data.has("activities") and "store_id" in data["customers"].columns:
        cu = data["customers"][["customer_id", "store_id"]].dropna()
        ac = data["activities"][["customer_id", "occurred_at"]]
        if as_of is not None:
            ac = ac[ac["occurred_at"] < as_of]
        ac = ac[ac["customer_id"].isin(cu["customer_id"])].merge(cu, on="customer_id")
        parts.append(ac[["store_id", "customer_id", "occurred_at"]])
    s = pd.concat(parts, ignore_index=True)
    s["month"] = s["occurred_at"].dt.to_period("M")
    return s.drop_duplicates(["store_id", "month", "customer_id"])[
        ["store_id", "month", "customer_id"]
    ]


def problems_notes(problems: pd.DataFrame) -> list[Note]:
    """The note on the movement rows kept out (none when there are none)."""
    if not len(problems):
        return []
    return [
        Note(
            "ops.note.movement_problems",
            (
                ("rows", int(problems["row"].nunique())),
                ("kinds", ", ".join(sorted(problems["problem"].unique()))),
            ),
        )
    ]
