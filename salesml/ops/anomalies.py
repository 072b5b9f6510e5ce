"""Store cost anomalies: material cost per served customer against the region's other stores.

:func:`store_cost_anomalies` ranks stores, size-aware and robust, on their material cost
(and units) per served customer, store x month, against the mean of the region's other
stores, and dates the start of an anomaly from the store's scanned share of redemptions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import pandas as pd

from salesml.data.bundle import SalesData
from salesml.filters import FilterLike, FilterSpec
from salesml.i18n import check_lang, t
from salesml.ops.movements import movements, problems_notes, served_customers, store_filter
from salesml.periods import PeriodLike, as_period
from salesml.results import AnalysisResult

__all__ = ["StoreAnomalyResult", "store_cost_anomalies"]


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
    mv, problems = movements(data, ts)
    if p is not None:
        mv = mv[p.mask(mv["occurred_at"])]
    keep = store_filter(data, spec)
    mv = mv.assign(month=mv["occurred_at"].dt.to_period("M"))
    red = mv[mv["kind"] == "redeem"]
    served = served_customers(data, mv, ts)
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
    res.notes.extend(problems_notes(problems))
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
