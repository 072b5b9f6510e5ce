"""Store materials: the per-store, per-SKU ledger, alerts, cost per customer and its anomalies.

From ``material_movements`` (receive, issue, redeem, transfer_in, transfer_out, loss):

- :func:`material_ledger`: stock on hand per store, SKU and month, the store KPIs (loss
  rate, scan rate of redemptions, transfer frequency, material cost per served customer)
  and the inventory alerts (days of cover below the replenishment lead time, negative
  stock as a data error, unscanned redemptions);
- :func:`store_cost_anomalies`: material cost per served customer, store x month, against
  the mean of the region's other stores, and a size-aware robust ranking of stores;
- :func:`scan_rollout`: loss rate and transfers before and after the scan rollout.

A *served customer* of a store in a month is one of its customers (``customers.store_id``)
with an activity or a scanned redemption that month: it is observable even where a store
stops scanning (its redemptions then name no customer).

Rows that cannot enter the ledger (negative or missing quantities, unknown kinds or
stores) and transfers without their counterpart are listed in ``problems``, never
dropped silently; a transfer still in transit at the end of the data is not a problem.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import pandas as pd

from salesml.data.bundle import SalesData
from salesml.data.checks import require_columns
from salesml.filters import FilterLike, FilterSpec
from salesml.i18n import check_lang, t
from salesml.ops.changes import change_findings
from salesml.periods import Period, PeriodLike, as_period
from salesml.results import AnalysisResult, Note

__all__ = [
    "KINDS",
    "LedgerResult",
    "RolloutResult",
    "StoreAnomalyResult",
    "material_ledger",
    "scan_rollout",
    "store_cost_anomalies",
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


def _movements(data: SalesData, as_of: pd.Timestamp | None) -> tuple[pd.DataFrame, pd.DataFrame]:
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


def _store_filter(data: SalesData, spec: FilterSpec) -> set[str] | None:
    """Stores kept by ``filters`` (on the columns of ``stores``: region, city, store_id)."""
    if not spec:
        return None
    if not data.has("stores"):
        raise ValueError("store materials: filters need the stores table (region, city)")
    return set(spec.apply(data["stores"], table="stores")["store_id"].astype(str))


def _served(data: SalesData, mv: pd.DataFrame, as_of: pd.Timestamp | None) -> pd.DataFrame:
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
    mv, problems = _movements(data, ts)
    keep = _store_filter(data, spec)
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
    if len(problems):
        res.notes.append(
            Note(
                "ops.note.movement_problems",
                (
                    ("rows", int(problems["row"].nunique())),
                    ("kinds", ", ".join(sorted(problems["problem"].unique()))),
                ),
            )
        )
    return res


def _store_kpis(
    data: SalesData, mv: pd.DataFrame, ts: pd.Timestamp | None, p: Period | None
) -> pd.DataFrame:
    q = mv.groupby(["store_id", "kind"])["qty"].sum().unstack(fill_value=0.0)
    q = q.reindex(columns=list(KINDS), fill_value=0.0)
    red = mv[mv["kind"] == "redeem"]
    rg = red.groupby("store_id")
    served = _served(data, mv, ts)
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


@dataclass(kw_only=True)
class StoreAnomalyResult(AnalysisResult):
    """Stores whose material cost per served customer stands out from their region.

    Attributes
    ----------
    table
        One row per store, most anomalous first: ``store_id``, ``region``, ``score``
        (the larger of ``score_cost`` and ``score_units``: size-aware robust z of the
        log ratio of cost, and of units, per served customer to the region's other
        stores, over the window starting at ``window_start`` that maximises it), ``ratio``,
        ``ratio_low``, ``ratio_high`` (95% interval), ``served``
        (served customer-months in the window), ``flagged`` (``score >= threshold``),
        ``since`` (the month an anomaly started: when the store's scanned share of
        redemptions drops, the month after its last mostly scanned month before the
        drop; else ``window_start``).
    heatmap
        Store x month: ``store_id``, ``region``, ``month``, ``cost``, ``served``,
        ``cost_per_customer``, ``regional_cost_per_customer`` (the region's other
        stores), ``ratio``.
    threshold
        Score from which a store is flagged.
    """

    title_key: ClassVar[str] = "ops.title.store_anomalies"

    heatmap: pd.DataFrame = field(default_factory=pd.DataFrame)
    threshold: float = 4.0

    @property
    def flagged(self) -> pd.DataFrame:
        """The flagged stores."""
        return self.table[self.table["flagged"]]

    def key_findings(self, lang: str = "en") -> list[str]:
        """Each flagged store with its ratio and start, then the notes."""
        check_lang(lang)
        out = [
            t(
                "ops.finding.store_anomaly",
                lang,
                store=str(r["store_id"]),
                ratio=float(r["ratio"]),
                low=float(r["ratio_low"]),
                high=float(r["ratio_high"]),
                since=str(r["since"]),
            )
            for _, r in self.flagged.iterrows()
        ]
        if not out:
            out.append(t("ops.finding.no_store_anomaly", lang))
        return out + [n.text(lang) for n in self.notes]


def store_cost_anomalies(
    data: SalesData,
    *,
    period: PeriodLike = None,
    as_of: str | pd.Timestamp | None = None,
    filters: FilterLike = None,
    threshold: float = 4.0,
    min_months: int = 3,
) -> StoreAnomalyResult:
    """Rank stores by how far their material cost per served customer exceeds their region's.

    Method: per store and month, ``cost`` (redemptions at unit cost, scanned or not) and
    ``served`` customers. For each window from a start month to the end (at least
    ``min_months`` long), the store's log ratio ``log(cost / (served * rate))`` to the
    rate of its region's other stores; its deviation from the median over stores, times
    ``sqrt(served)`` (a small store's ratio is noisier), divided by 1.4826 x the median
    absolute deviation of those scaled deviations, is a robust z. The same z is computed
    on the *units* redeemed per served customer, which is far less noisy (one display
    stand costs as much as sixty leaflets, so a few stands swing a small store's cost);
    a store's score is the larger of the two, maximised over windows. The ratio shown
    and its interval, ``ratio * exp(+-1.96 * scale / sqrt(served))``, are the cost's over
    the chosen window.

    Parameters
    ----------
    data
        A bundle with ``material_movements``, ``stores`` (the region), ``customers``
        and ``activities`` (served customers).
    period, as_of, filters
        As in :func:`material_ledger`.
    threshold
        Score from which a store is flagged.
    min_months
        Shortest window.

    Returns
    -------
    StoreAnomalyResult
    """
    if not (0 < threshold <= 50 and 1 <= min_months <= 60):
        raise ValueError("threshold must be in (0, 50] and min_months in [1, 60]")
    data.require("stores", analysis="store cost anomalies")
    ts = pd.Timestamp(as_of) if as_of is not None else None
    p = as_period(period)
    spec = FilterSpec.parse(filters)
    mv, problems = _movements(data, ts)
    if p is not None:
        mv = mv[p.mask(mv["occurred_at"])]
    keep = _store_filter(data, spec)
    mv = mv.assign(month=mv["occurred_at"].dt.to_period("M"))
    red = mv[mv["kind"] == "redeem"]
    served = _served(data, mv, ts)
    if p is not None:
        served = served[
            (served["month"].dt.start_time < p.end) & (served["month"].dt.end_time >= p.start)
        ]
    st = data["stores"].drop_duplicates("store_id").set_index("store_id")["region"]
    hm = pd.DataFrame(
        {
            "cost": red.groupby(["store_id", "month"])["cost"].sum(),
            "units": red.groupby(["store_id", "month"])["qty"].sum(),
            "served": served.groupby(["store_id", "month"]).size(),
        }
    ).fillna(0.0)
    hm = hm.reset_index()
    hm["region"] = st.reindex(hm["store_id"]).to_numpy()
    rc = hm.groupby(["region", "month"])[["cost", "served"]].transform("sum")
    others = (rc["cost"] - hm["cost"]) / (rc["served"] - hm["served"]).where(
        rc["served"] - hm["served"] > 0
    )
    hm["cost_per_customer"] = hm["cost"] / hm["served"].where(hm["served"] > 0)
    hm["regional_cost_per_customer"] = others
    hm["ratio"] = hm["cost_per_customer"] / others
    months = sorted(hm["month"].unique())
    best = None
    for m0 in months[: max(len(months) - min_months + 1, 1)]:
        part = hm[hm["month"] >= m0]
        w = _window_scores(part, "cost")
        u = _window_scores(part, "units").set_index("store_id")["score"]
        w["score_cost"] = w["score"]
        w["score_units"] = u.reindex(w["store_id"]).to_numpy()
        w["score"] = w[["score_cost", "score_units"]].max(axis=1)
        w["window_start"] = str(m0)
        best = w if best is None else _keep_max(best, w)
    if best is None:
        table = pd.DataFrame(
            columns=[
                "store_id",
                "region",
                "score",
                "ratio",
                "ratio_low",
                "ratio_high",
                "served",
                "score_cost",
                "score_units",
                "window_start",
                "flagged",
                "since",
            ]
        )
    else:
        table = best.sort_values("score", ascending=False, kind="stable").reset_index(drop=True)
        table["flagged"] = table["score"] >= threshold
        table["since"] = table["window_start"]
        for i in range(len(table)):
            cp = _scan_change(red[red["store_id"] == table.at[i, "store_id"]])
            if cp is not None:
                table.at[i, "since"] = cp
    if keep is not None:
        table = table[table["store_id"].astype(str).isin(keep)].reset_index(drop=True)
        hm = hm[hm["store_id"].astype(str).isin(keep)]
    hm["month"] = hm["month"].astype(str)
    res = StoreAnomalyResult(
        table=table,
        heatmap=hm[
            [
                "store_id",
                "region",
                "month",
                "cost",
                "served",
                "cost_per_customer",
                "regional_cost_per_customer",
                "ratio",
            ]
        ].reset_index(drop=True),
        threshold=threshold,
        period=p,
        as_of=ts,
        filters=spec,
    )
    if len(problems):
        res.notes.append(
            Note(
                "ops.note.movement_problems",
                (
                    ("rows", int(problems["row"].nunique())),
                    ("kinds", ", ".join(sorted(problems["problem"].unique()))),
                ),
            )
        )
    return res


def _window_scores(hm: pd.DataFrame, measure: str) -> pd.DataFrame:
    """Robust size-aware z of ``measure`` per served customer against the region's other stores."""
    w = hm.groupby(["store_id", "region"], as_index=False)[[measure, "served"]].sum()
    reg = w.groupby("region")[[measure, "served"]].transform("sum")
    rate = (reg[measure] - w[measure]) / (reg["served"] - w["served"]).where(
        reg["served"] - w["served"] > 0
    )
    ok = (w["served"] > 0) & (rate > 0)
    lr = np.log(np.maximum(w[measure], 1.0) / (rate * w["served"])).where(ok)
    med = np.nanmedian(lr) if ok.any() else np.nan
    dev = (lr - med) * np.sqrt(w["served"])
    scale = 1.4826 * np.nanmedian(np.abs(dev - np.nanmedian(dev))) if ok.any() else np.nan
    w["score"] = dev / scale
    w["ratio"] = np.exp(lr)
    half = 1.96 * scale / np.sqrt(w["served"].where(w["served"] > 0))
    w["ratio_low"] = np.exp(lr - half)
    w["ratio_high"] = np.exp(lr + half)
    return w[["store_id", "region", "score", "ratio", "ratio_low", "ratio_high", "served"]]


def _keep_max(a: pd.DataFrame, b: pd.DataFrame) -> pd.DataFrame:
    both = pd.concat([a, b], ignore_index=True)
    both = both.sort_values("score", ascending=False, kind="stable", na_position="last")
    return both.drop_duplicates("store_id", keep="first")


def _scan_change(red: pd.DataFrame) -> str | None:
    """The month a store's scanned share of redemptions drops (None without a clear drop)."""
    if not len(red):
        return None
    m = red.groupby("month")["scanned"].agg(["sum", "size"]).sort_index()
    if len(m) < 2:
        return None
    s, n = m["sum"].to_numpy(float), m["size"].to_numpy(float)
    cs, cn = np.cumsum(s), np.cumsum(n)
    best, at = 0.0, None
    for k in range(1, len(m)):
        before = cs[k - 1] / cn[k - 1]
        after = (cs[-1] - cs[k - 1]) / (cn[-1] - cn[k - 1])
        if before - after > best:
            best, at = before - after, k
    if at is None or best < 0.3:
        return None
    # the drop happened after the last mostly scanned month before it (months without
    # redemptions in between tell nothing): the earliest month it can have started
    share = s / np.maximum(n, 1)
    scanned_before = np.flatnonzero(share[:at] >= 0.5)
    if not len(scanned_before):
        return str(m.index[at])
    return str(min(m.index[scanned_before[-1]] + 1, m.index[at]))


@dataclass(kw_only=True)
class RolloutResult(AnalysisResult):
    """Loss rate and transfers before and after the scan rollout.

    Attributes
    ----------
    table
        One row per KPI (``loss_rate``: loss / outflow; ``transfers_per_store_month``):
        ``before``, ``after``, ``change`` (after / before - 1), ``low``, ``high``
        (95% interval of the change, bootstrap over stores), ``stores``.
    rollout
        The rollout instant.
    """

    title_key: ClassVar[str] = "ops.title.scan_rollout"

    rollout: pd.Timestamp | None = None

    def key_findings(self, lang: str = "en") -> list[str]:
        """The change of each KPI with its interval."""
        return change_findings(self.table, "ops.finding.rollout", lang, self.notes)


def scan_rollout(
    data: SalesData,
    *,
    period: PeriodLike = None,
    as_of: str | pd.Timestamp | None = None,
    filters: FilterLike = None,
    rollout: str | pd.Timestamp | None = None,
    n_boot: int = 2000,
    seed: int = 0,
) -> RolloutResult:
    """Loss rate and transfer frequency before and after the scan rollout.

    Method (simple and stated): per store, the KPI before and after ``rollout``
    (loss rate = loss / (issued + redeemed); transfers out per store and 30 days of
    exposure, from the first movement to the rollout and from it to the end); the
    change is the ratio of the pooled after and before values minus one, its 95%
    interval the percentile interval of ``n_boot`` bootstrap resamples of stores
    (stores are the independent units).

    Parameters
    ----------
    data
        A bundle with ``material_movements``.
    period, as_of, filters
        As in :func:`material_ledger`.
    rollout
        The rollout date (default: ``dataset.yaml``'s ``go_live``).
    n_boot, seed
        Bootstrap resamples (at most 20,000) and their seed.

    Returns
    -------
    RolloutResult
    """
    if not (100 <= n_boot <= 20_000):
        raise ValueError("n_boot must be between 100 and 20000")
    r_ts = pd.Timestamp(rollout) if rollout is not None else data.config.go_live_ts
    if r_ts is None:
        raise ValueError("scan rollout: give rollout= or set go_live in dataset.yaml")
    ts = pd.Timestamp(as_of) if as_of is not None else None
    p = as_period(period)
    spec = FilterSpec.parse(filters)
    mv, problems = _movements(data, ts)
    if p is not None:
        mv = mv[p.mask(mv["occurred_at"])]
    keep = _store_filter(data, spec)
    if keep is not None:
        mv = mv[mv["store_id"].astype(str).isin(keep)]
    mv = mv.assign(
        after=(mv["occurred_at"] >= r_ts).to_numpy(), month=mv["occurred_at"].dt.to_period("M")
    )
    stores = np.array(sorted(mv["store_id"].astype(str).unique()), dtype=object)
    ix = pd.Index(stores)

    start = p.start if p is not None else mv["occurred_at"].min()
    stop = p.end if p is not None else (ts if ts is not None else mv["occurred_at"].max())
    if ts is not None:
        stop = min(stop, ts)
    exposure = {
        False: max((r_ts - start) / pd.Timedelta(days=30), 0.0),
        True: max((stop - r_ts) / pd.Timedelta(days=30), 0.0),
    }

    def per_store(flag: bool) -> pd.DataFrame:
        part = mv[mv["after"] == flag]
        q = part.pivot_table(
            index="store_id", columns="kind", values="qty", aggfunc="sum", fill_value=0.0
        )
        q = q.reindex(index=ix, columns=list(KINDS), fill_value=0.0)
        tr = part[part["kind"] == "transfer_out"].groupby("store_id").size().reindex(ix).fillna(0)
        months = pd.Series(exposure[flag], index=ix)
        return pd.DataFrame(
            {"loss": q["loss"], "out": q["issue"] + q["redeem"], "tr": tr, "months": months}
        )

    b, a = per_store(False), per_store(True)
    rng = np.random.default_rng([seed, 13])
    draws = (
        rng.integers(0, len(stores), size=(n_boot, len(stores)))
        if len(stores)
        else np.zeros((n_boot, 0), int)
    )
    rows = []
    for kpi, num, den in (
        ("loss_rate", "loss", "out"),
        ("transfers_per_store_month", "tr", "months"),
    ):
        bn, bd, an, ad = (x[c].to_numpy(float) for x, c in ((b, num), (b, den), (a, num), (a, den)))
        before = bn.sum() / bd.sum() if bd.sum() else np.nan
        after = an.sum() / ad.sum() if ad.sum() else np.nan
        with np.errstate(divide="ignore", invalid="ignore"):
            boot = (an[draws].sum(1) / ad[draws].sum(1)) / (bn[draws].sum(1) / bd[draws].sum(1)) - 1
        boot = boot[np.isfinite(boot)]
        rows.append(
            {
                "kpi": kpi,
                "before": before,
                "after": after,
                "change": after / before - 1 if before else np.nan,
                "low": float(np.percentile(boot, 2.5)) if len(boot) else np.nan,
                "high": float(np.percentile(boot, 97.5)) if len(boot) else np.nan,
                "stores": len(stores),
            }
        )
    res = RolloutResult(table=pd.DataFrame(rows), rollout=r_ts, period=p, as_of=ts, filters=spec)
    if len(problems):
        res.notes.append(
            Note(
                "ops.note.movement_problems",
                (
                    ("rows", int(problems["row"].nunique())),
                    ("kinds", ", ".join(sorted(problems["problem"].unique()))),
                ),
            )
        )
    return res
