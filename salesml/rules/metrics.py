"""Customer metrics as of any date: the one builder tier rules and follow-up rules read.

:func:`customer_metrics` turns a :class:`~salesml.data.SalesData` bundle into one row
per customer with the figures a sales director writes rules about. Every figure uses
only what was known at ``as_of`` (contracts signed, payments received and activities
logged up to and including that instant; deals closed later count as open), so a
rule evaluated at a past date sees what a manager saw then.

Metric columns (display names, en/zh, in the label catalog as ``value.<name>``; the
Chinese names are the aliases rules may use: ``月采购额 > 50000 and 复购率 > 0.6``):

============================  =================================================================
``monthly_purchase``          contract amount signed in the ``window_days`` before ``as_of``,
                              per month (30.4375 days)
``purchases_12m``             contracts signed in the ``lookback_days`` before ``as_of``
``purchase_amount_12m``       their amount
``repurchase_rate``           repeat purchases over purchases in the lookback,
                              ``(purchases_12m - 1) / purchases_12m`` (0 without purchases)
``days_since_purchase``       days since the last contract (missing: never bought)
``days_since_touch``          days since the last activity of a rep with the customer, or
                              since the customer was created when never touched
``touches_90d``               activities in the 90 days before ``as_of``
``open_pipeline``             amount of the customer's deals open at ``as_of``
``open_deals``                how many deals are open at ``as_of``
``overdue_amount``            amount of contracts past their payment due date
                              (``signed_at + payment_terms_days``) not yet received
``payment_delay_days``        mean days the customer's payments came (or are) late over
                              contracts due by ``as_of`` (0: always on time)
============================  =================================================================

Also carried: ``segment``, ``region``, ``owner_rep_id`` (the customer's owner when the
customers table has one, else the rep of its latest deal), ``created_at``,
``last_touch_at``, ``last_purchase_at``.

Tables used: customers (required); contracts + deals (purchases, pipeline);
payments (delays); activities (touches). A table that is absent leaves its metrics
at 0 / missing and is named in the result's notes by the callers.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from salesml.data.bundle import SalesData
from salesml.i18n import label

__all__ = [
    "DAYS_PER_MONTH",
    "METRICS",
    "customer_metrics",
    "metric_aliases",
    "resolve_as_of",
]

#: Days in an average month (365.25 / 12).
DAYS_PER_MONTH = 30.4375

#: The metric columns rules may name, in display order.
METRICS: tuple[str, ...] = (
    "monthly_purchase",
    "purchases_12m",
    "purchase_amount_12m",
    "repurchase_rate",
    "days_since_purchase",
    "days_since_touch",
    "touches_90d",
    "open_pipeline",
    "open_deals",
    "overdue_amount",
    "payment_delay_days",
)

_DAY = np.timedelta64(1, "D")


def resolve_as_of(data: SalesData, as_of: object = None) -> pd.Timestamp:
    """``as_of`` as a timestamp; ``None`` means the end of the data (its last dated row).

    Raises
    ------
    ValueError
        When ``as_of`` is not a date, or is ``None`` and the data has no dated rows.
    """
    if as_of is None:
        tr = data.time_range
        if tr is None:
            raise ValueError("the dataset has no dated rows; pass as_of explicitly")
        return pd.Timestamp(tr[1])
    try:
        ts = pd.Timestamp(as_of)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValueError(f"as_of must be a date or date-time, got {as_of!r}") from None
    if ts is pd.NaT:
        raise ValueError(f"as_of must be a date or date-time, got {as_of!r}")
    return ts.tz_localize(None) if ts.tzinfo is not None else ts


def metric_aliases(names: tuple[str, ...] | list[str] = METRICS) -> dict[str, str]:
    """Chinese display name -> column for ``names`` (the words rules may use).

    Names whose Chinese label is not one identifier (it would not parse) are left out.
    """
    out: dict[str, str] = {}
    for name in names:
        zh = label(name, "zh")
        if zh != name and zh.isidentifier():
            out[zh] = name
    return out


def _days(later: pd.Series | np.ndarray, earlier: pd.Series | np.ndarray) -> np.ndarray:
    diff = np.asarray(later, dtype="datetime64[ns]") - np.asarray(earlier, dtype="datetime64[ns]")
    return diff / _DAY


def customer_metrics(
    data: SalesData,
    *,
    as_of: object = None,
    window_days: float = 90.0,
    lookback_days: float = 365.0,
) -> pd.DataFrame:
    """One row per customer with the metrics of the module docstring, as of ``as_of``.

    Parameters
    ----------
    data
        The bundle (not modified). Needs ``customers``.
    as_of
        The instant the metrics describe (inclusive); default the end of the data.
    window_days
        Window of ``monthly_purchase``.
    lookback_days
        Window of ``purchases_12m``, ``purchase_amount_12m`` and ``repurchase_rate``.

    Returns
    -------
    pandas.DataFrame
        Index ``customer_id``; customers created after ``as_of`` are left out.

    Raises
    ------
    MissingTableError
        When the bundle has no customers table.
    ValueError
        For a window that is not positive.
    """
    if not window_days > 0 or not lookback_days > 0:
        raise ValueError("window_days and lookback_days must be positive numbers of days")
    data.require("customers", analysis="customer metrics")
    ts = resolve_as_of(data, as_of)
    t64 = np.datetime64(ts, "ns")
    cu = data.customers
    keep = ["customer_id", "segment", "region", "created_at"]
    if "owner_rep_id" in cu.columns:
        keep.append("owner_rep_id")
    cu = cu[[c for c in keep if c in cu.columns]]
    if "created_at" in cu.columns:
        cu = cu.loc[(cu["created_at"].isna() | (cu["created_at"] <= ts)).to_numpy()]
    out = cu.drop_duplicates("customer_id").set_index("customer_id")
    idx = out.index
    zeros = pd.Series(0.0, index=idx)

    # purchases: contracts signed by as_of, joined to their deal's customer
    deal_cust = None
    if data.has("deals"):
        deals = data.deals[
            ["deal_id", "customer_id", "rep_id", "created_at", "amount", "closed_at"]
        ]
        deals = deals.loc[(deals["created_at"] <= ts).to_numpy()]
        deal_cust = deals.set_index("deal_id")["customer_id"]
        open_ = deals.loc[(deals["closed_at"].isna() | (deals["closed_at"] > ts)).to_numpy()]
        g = open_.groupby("customer_id", observed=True)["amount"]
        out["open_pipeline"] = g.sum().reindex(idx).fillna(0.0)
        out["open_deals"] = g.size().reindex(idx).fillna(0).astype("int64")
        if "owner_rep_id" not in out.columns:
            latest = deals.sort_values("created_at").drop_duplicates("customer_id", keep="last")
            out["owner_rep_id"] = latest.set_index("customer_id")["rep_id"].reindex(idx)
    else:
        out["open_pipeline"] = zeros
        out["open_deals"] = 0
    out["monthly_purchase"] = zeros
    out["purchases_12m"] = 0
    out["purchase_amount_12m"] = zeros
    out["repurchase_rate"] = zeros
    out["last_purchase_at"] = pd.Series(pd.NaT, index=idx, dtype="datetime64[us]")
    out["overdue_amount"] = zeros
    out["payment_delay_days"] = zeros
    if deal_cust is not None and data.has("contracts"):
        k = data.contracts[["contract_id", "deal_id", "signed_at", "amount", "payment_terms_days"]]
        k = k.loc[(k["signed_at"] <= ts).to_numpy()]
        cust = k["deal_id"].map(deal_cust)
        k = k.assign(customer_id=cust.to_numpy()).loc[cust.notna().to_numpy()]
        age = _days(np.full(len(k), t64), k["signed_at"])
        in_win = age <= window_days
        in_look = age <= lookback_days
        amt = k["amount"].fillna(0.0).to_numpy(dtype=float)
        by = k["customer_id"].to_numpy()
        win = pd.Series(np.where(in_win, amt, 0.0)).groupby(by).sum()
        out["monthly_purchase"] = win.reindex(idx).fillna(0.0) / (window_days / DAYS_PER_MONTH)
        n12 = pd.Series(in_look.astype("int64")).groupby(by).sum().reindex(idx).fillna(0)
        out["purchases_12m"] = n12.astype("int64")
        a12 = pd.Series(np.where(in_look, amt, 0.0)).groupby(by).sum()
        out["purchase_amount_12m"] = a12.reindex(idx).fillna(0.0)
        out["repurchase_rate"] = ((n12 - 1).clip(lower=0) / n12.where(n12 > 0)).fillna(0.0)
        out["last_purchase_at"] = k.groupby("customer_id")["signed_at"].max().reindex(idx)
        # payments received by as_of against contracts due by as_of
        terms = pd.to_timedelta(k["payment_terms_days"].astype("float64").fillna(0.0), unit="D")
        due = (k["signed_at"] + terms).to_numpy()
        paid = pd.Series(0.0, index=k.index)
        first_paid = pd.Series(pd.NaT, index=k.index, dtype="datetime64[us]")
        if data.has("payments"):
            p = data.payments[["contract_id", "paid_at", "amount"]]
            p = p.loc[(p["paid_at"] <= ts).to_numpy()]
            gp = p.groupby("contract_id")
            paid = pd.Series(
                gp["amount"].sum().reindex(k["contract_id"]).to_numpy(), index=k.index
            ).fillna(0.0)
            first_paid = pd.Series(
                gp["paid_at"].min().reindex(k["contract_id"]).to_numpy(), index=k.index
            )
        is_due = due <= t64
        owed = np.where(is_due, np.clip(amt - paid.to_numpy(dtype=float), 0.0, None), 0.0)
        out["overdue_amount"] = pd.Series(owed).groupby(by).sum().reindex(idx).fillna(0.0)
        settled = np.where(first_paid.isna().to_numpy(), t64, first_paid.to_numpy("datetime64[ns]"))
        late = np.clip(_days(settled, due), 0.0, None)
        late = pd.Series(np.where(is_due, late, np.nan))
        out["payment_delay_days"] = late.groupby(by).mean().reindex(idx).fillna(0.0)
    days_p = _days(np.full(len(out), t64), out["last_purchase_at"])
    out["days_since_purchase"] = days_p

    last_touch = pd.Series(pd.NaT, index=idx, dtype="datetime64[us]")
    touches = pd.Series(0, index=idx)
    if data.has("activities"):
        a = data.activities[["customer_id", "occurred_at"]]
        a = a.loc[(a["occurred_at"] <= ts).to_numpy()]
        g = a.groupby("customer_id", observed=True)["occurred_at"]
        last_touch = g.max().reindex(idx)
        recent = a.loc[(_days(np.full(len(a), t64), a["occurred_at"]) <= 90.0)]
        touches = recent.groupby("customer_id", observed=True).size().reindex(idx).fillna(0)
    out["last_touch_at"] = last_touch
    since = last_touch.fillna(out["created_at"]) if "created_at" in out else last_touch
    out["days_since_touch"] = _days(np.full(len(out), t64), since)
    out["touches_90d"] = touches.astype("int64")
    out.index.name = "customer_id"
    return out
