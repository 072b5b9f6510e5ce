"""Store materials ledger: stock per store, SKU and month, the store KPIs and the alerts.

:func:`material_ledger` gives stock on hand per store, SKU and month, the store KPIs
(loss rate, scan rate of redemptions, transfer frequency, material cost per served
customer) and the inventory alerts (days of cover below the replenishment lead time,
negative stock as a data error, unscanned redemptions). Movements and their problems
come from :mod:`salesml.ops.movements`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import pandas as pd

from salesml.data.bundle import SalesData
from salesml.filters import FilterLike, FilterSpec
from salesml.i18n import check_lang, t
from salesml.ops.movements import (
    KINDS,
    movements,
    problems_notes,
    served_customers,
    store_filter,
)
from salesml.periods import Period, PeriodLike, as_period
from salesml.results import AnalysisResult

__all__ = ["LedgerResult", "material_ledger"]


@dataclass(kw_only=True)
class LedgerResult(AnalysisResult):
    """The store materials ledger.

    Attributes
    ----------
    table
        Per ``store_id``, ``sku`` and ``month``: the quantities ``receive``,
        ``transfer_in``, ``issue``, ``redeem``, ``transfer_out``, ``loss``, ``net`` and
        ``stock_end`` (on hand at the month's end, from the first movement on).
    stores
        Per store: ``outflow`` (issued + redeemed), ``loss``, ``loss_rate`` (loss /
        outflow), ``redemptions``, ``scan_rate`` (scanned share of redemptions),
        ``transfers`` (out), ``transfers_per_month``, ``material_cost`` (cost of
        redemptions), ``served_customers``, ``cost_per_customer``.
    alerts
        ``store_id``, ``sku``, ``alert`` (``low_cover``, ``negative_stock``,
        ``unscanned_redemptions``), ``month``, ``value``, ``threshold``.
    problems
        Rows kept out of the ledger or unmatched: ``row``, ``movement_id``, ``column``,
        ``problem``, ``value``.
    """

    title_key: ClassVar[str] = "ops.title.ledger"

    stores: pd.DataFrame = field(default_factory=pd.DataFrame)
    alerts: pd.DataFrame = field(default_factory=pd.DataFrame)
    problems: pd.DataFrame = field(default_factory=pd.DataFrame)

    def summary(self) -> pd.DataFrame:
        """The per-store KPIs."""
        return self.stores

    def key_findings(self, lang: str = "en") -> list[str]:
        """Loss and scan rates, the alerts by kind, then the notes."""
        check_lang(lang)
        s = self.stores
        out = []
        if len(s):
            out.append(
                t(
                    "ops.finding.ledger",
                    lang,
                    stores=len(s),
                    loss=float(s["loss"].sum() / max(s["outflow"].sum(), 1)),
                    scan=float(
                        (s["scan_rate"] * s["redemptions"]).sum() / max(s["redemptions"].sum(), 1)
                    ),
                )
            )
        for alert, n in self.alerts["alert"].value_counts().sort_index().items():
            out.append(t(f"ops.finding.alert.{alert}", lang, n=int(n)))
        return out + [n.text(lang) for n in self.notes]


def material_ledger(
    data: SalesData,
    *,
    period: PeriodLike = None,
    as_of: str | pd.Timestamp | None = None,
    filters: FilterLike = None,
    lead_time_days: float = 7.0,
    cover_window_days: float = 90.0,
) -> LedgerResult:
    """The per-store, per-SKU ledger, store KPIs and inventory alerts.

    Parameters
    ----------
    data
        A bundle with ``material_movements`` (``stores`` for filters, ``customers`` and
        ``activities`` for served customers).
    period
        Months shown and KPIs measured (stock is carried from the first movement on).
    as_of
        Ignore movements from this instant on.
    filters
        On the columns of ``stores`` (``region``, ``city``, ``store_id``).
    lead_time_days
        Replenishment lead time: an SKU whose days of cover (stock on hand over the
        average daily outflow of the last ``cover_window_days``) fall below it is alerted.
    cover_window_days
        Window of the outflow rate of days of cover.

    Returns
    -------
    LedgerResult
    """
    if not (0 < lead_time_days <= 365 and 1 <= cover_window_days <= 3650):
        raise ValueError("lead_time_days must be in (0, 365] and cover_window_days in [1, 3650]")
    ts = pd.Timestamp(as_of) if as_of is not None else None
    p = as_period(period)
    spec = FilterSpec.parse(filters)
    mv, problems = movements(data, ts)
    keep = store_filter(data, spec)
    if keep is not None:
        mv = mv[mv["store_id"].astype(str).isin(keep)]
    mv = mv.assign(month=mv["occurred_at"].dt.to_period("M"))
    qty = mv.groupby(["store_id", "sku", "month", "kind"])["qty"].sum().unstack(fill_value=0.0)
    qty = qty.reindex(columns=list(KINDS), fill_value=0.0)
    qty.columns.name = None
    qty["net"] = sum(qty[k] * s for k, s in KINDS.items())
    qty["stock_end"] = qty.groupby(level=["store_id", "sku"])["net"].cumsum()
    ledger = qty.reset_index()
    in_p = mv if p is None else mv[p.mask(mv["occurred_at"])]
    end = (
        ts
        if ts is not None
        else (mv["occurred_at"].max() if len(mv) else pd.Timestamp("1970-01-01"))
    )
    if p is not None:
        ledger = ledger[
            (ledger["month"].dt.start_time < p.end) & (ledger["month"].dt.end_time >= p.start)
        ]
        end = min(end, p.end)
    stores = _store_kpis(data, in_p, ts, p)
    alerts = _alerts(mv, qty, end, lead_time_days, cover_window_days)
    res = LedgerResult(
        table=ledger.reset_index(drop=True),
        stores=stores,
        alerts=alerts,
        problems=problems,
        period=p,
        as_of=ts,
        filters=spec,
    )
    res.notes.extend(problems_notes(problems))
    return res


def _store_kpis(
    data: SalesData, mv: pd.DataFrame, ts: pd.Timestamp | None, p: Period | None
) -> pd.DataFrame:
    q = mv.groupby(["store_id", "kind"])["qty"].sum().unstack(fill_value=0.0)
    q = q.reindex(columns=list(KINDS), fill_value=0.0)
    red = mv[mv["kind"] == "redeem"]
    rg = red.groupby("store_id")
    served = served_customers(data, mv, ts)
    if p is not None:
        served = served[
            (served["month"].dt.start_time < p.end) & (served["month"].dt.end_time >= p.start)
        ]
    n_served = served.groupby("store_id")["customer_id"].nunique()
    months = mv["occurred_at"].dt.to_period("M").groupby(mv["store_id"]).nunique().clip(lower=1)
    out = pd.DataFrame(
        {
            "outflow": q["issue"] + q["redeem"],
            "loss": q["loss"],
            "redemptions": rg.size(),
            "scan_rate": rg["scanned"].mean(),
            "transfers": mv[mv["kind"] == "transfer_out"].groupby("store_id").size(),
            "months": months,
            "material_cost": rg["cost"].sum(),
            "served_customers": n_served,
        }
    )
    out.index.name = "store_id"
    out = out.fillna(
        {"redemptions": 0, "transfers": 0, "material_cost": 0.0, "served_customers": 0}
    )
    out["loss_rate"] = out["loss"] / out["outflow"].where(out["outflow"] > 0)
    out["transfers_per_month"] = out["transfers"] / out["months"]
    out["cost_per_customer"] = out["material_cost"] / out["served_customers"].where(
        out["served_customers"] > 0
    )
    if data.has("stores"):
        st = data["stores"].drop_duplicates("store_id").set_index("store_id")
        for c in ("region", "city"):
            if c in st.columns:
                out[c] = st[c].reindex(out.index)
    cols = [
        c
        for c in (
            "region",
            "city",
            "outflow",
            "loss",
            "loss_rate",
            "redemptions",
            "scan_rate",
            "transfers",
            "transfers_per_month",
            "material_cost",
            "served_customers",
            "cost_per_customer",
        )
        if c in out.columns
    ]
    return (
        out[cols]
        .astype({"redemptions": int, "transfers": int, "served_customers": int})
        .reset_index()
    )


def _alerts(
    mv: pd.DataFrame, qty: pd.DataFrame, end: pd.Timestamp, lead: float, window: float
) -> pd.DataFrame:
    parts = []
    neg = qty[qty["stock_end"] < 0].reset_index()
    if len(neg):
        first = neg.groupby(["store_id", "sku"], as_index=False).first()
        parts.append(
            pd.DataFrame(
                {
                    "store_id": first["store_id"],
                    "sku": first["sku"],
                    "alert": "negative_stock",
                    "month": first["month"].astype(str),
                    "value": first["stock_end"],
                    "threshold": 0.0,
                }
            )
        )
    on_hand = qty.groupby(level=["store_id", "sku"])["stock_end"].last()
    recent = mv[(mv["occurred_at"] > end - pd.Timedelta(days=window)) & (mv["occurred_at"] <= end)]
    use = (
        recent[recent["kind"].isin(["issue", "redeem", "loss"])]
        .groupby(["store_id", "sku"])["qty"]
        .sum()
    )
    rate = use.reindex(on_hand.index).fillna(0.0) / window
    cover = on_hand / rate.where(rate > 0)
    low = cover[(cover < lead) & (on_hand >= 0)].reset_index(name="value")
    if len(low):
        parts.append(
            low.assign(alert="low_cover", month=f"{end:%Y-%m}", threshold=float(lead))[
                ["store_id", "sku", "alert", "month", "value", "threshold"]
            ]
        )
    red = mv[mv["kind"] == "redeem"]
    un = red[~red["scanned"]].groupby(["store_id", red["occurred_at"].dt.to_period("M")]).size()
    if len(un):
        u = un.reset_index(name="value")
        parts.append(
            pd.DataFrame(
                {
                    "store_id": u["store_id"],
                    "sku": None,
                    "alert": "unscanned_redemptions",
                    "month": u["occurred_at"].astype(str),
                    "value": u["value"].astype(float),
                    "threshold": 0.0,
                }
            )
        )
    cols = ["store_id", "sku", "alert", "month", "value", "threshold"]
    if not parts:
        return pd.DataFrame(columns=cols)
    return (
        pd.concat(parts, ignore_index=True)[cols]
        .sort_values(["alert", "store_id", "month"], kind="stable")
        .reset_index(drop=True)
    )
