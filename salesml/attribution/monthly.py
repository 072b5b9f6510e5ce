"""The tables of the monthly CAC report, computed once (report and app share them).

:func:`cac_monthly` allocates the costs, then computes CAC by channel, visit band,
cycle band and all three together (with bootstrap intervals), ROI per channel,
the multi-touch comparison across models, the unallocated cost with its reasons,
and the change against the previous period.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from salesml.attribution.allocation import Allocation, allocate_costs
from salesml.attribution.cac import _period_bounds, cac, overall_cac, roi
from salesml.attribution.journeys import journeys
from salesml.attribution.touch import touch_attribution
from salesml.data.bundle import SalesData
from salesml.i18n import label

__all__ = ["CacMonthly", "cac_monthly", "previous_period"]

_TEXT = {
    "overall": {
        "en": "CAC {cac} per acquired customer (95% interval {low} – {high}, ±{prec}), "
        "{n} customers acquired.",
        "zh": "每获取一个客户的成本(CAC)为 {cac}（95%区间 {low} – {high}，±{prec}），"
        "共获取 {n} 个客户。",
    },
    "change": {
        "en": "Previous period: CAC {prev} ({change} change).",
        "zh": "上一期 CAC 为 {prev}（变化 {change}）。",
    },
    "highest": {
        "en": "Highest CAC: {ch} at {cac}; lowest: {ch2} at {cac2}.",
        "zh": "CAC 最高的渠道：{ch}（{cac}）；最低：{ch2}（{cac2}）。",
    },
    "roi": {
        "en": "Best ROI: {ch}, {roi}x revenue per yuan of cost (interval {low}x – {high}x).",
        "zh": "ROI 最高的渠道：{ch}，每元成本带来 {roi} 倍收入（区间 {low} – {high} 倍）。",
    },
    "unallocated": {
        "en": "{amount} of {total} cost ({share}) could not be bound to sales actions; "
        "main reason: {reason} in {category}.",
        "zh": "{total} 成本中有 {amount}（{share}）无法归属到销售动作；主要原因：{category} "
        "的“{reason}”。",
    },
    "all_allocated": {
        "en": "All {total} of cost in the period was bound to sales actions.",
        "zh": "本期全部 {total} 成本均已归属到销售动作。",
    },
    "no_acquisitions": {
        "en": "No customer was acquired in the period; CAC is undefined.",
        "zh": "本期没有获取新客户，CAC 无法计算。",
    },
}


def _money(x: float) -> str:
    return "—" if not np.isfinite(x) else f"¥{x:,.0f}"


def previous_period(period: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The period just before ``period``: the previous month, quarter or year for
    ``YYYY-MM``, ``YYYY-Qn``, ``YYYY``; else the window of the same length ending
    where ``period`` starts (the previous ISO week for ``YYYY-Www``)."""
    text = period.strip()
    for pattern, freq in ((r"\d{4}-\d{2}", "M"), (r"\d{4}-Q[1-4]", "Q"), (r"\d{4}", "Y")):
        if re.fullmatch(pattern, text):
            p = pd.Period(text, freq=freq) - 1
            return p.start_time, (p + 1).start_time
    bounds = _period_bounds(period)
    assert bounds is not None
    start, end = bounds
    return start - (end - start), start


@dataclass
class CacMonthly:
    """Everything the ``cac_monthly`` report shows.

    Attributes
    ----------
    period
        The reporting period.
    overall, previous
        :func:`~salesml.attribution.cac.overall_cac` of the period and of the one before.
    by_channel
        :func:`cac` by channel plus ``cac_previous`` and ``change`` (relative).
    by_visit_band, by_cycle_band, by_all
        :func:`cac` by the other dimensions and by all three.
    roi
        :func:`roi` by channel.
    touch
        :func:`touch_attribution` of the period's journeys, every model stacked.
    cost_summary
        Per category: ``incurred, allocated, unallocated, allocated_share`` in the period.
    unallocated
        Unallocated cost of the period by ``category`` and ``reason``.
    allocation
        The allocation (whole history) the tables come from.
    """

    period: str
    overall: pd.Series
    previous: pd.Series
    by_channel: pd.DataFrame
    by_visit_band: pd.DataFrame
    by_cycle_band: pd.DataFrame
    by_all: pd.DataFrame
    roi: pd.DataFrame
    touch: pd.DataFrame
    cost_summary: pd.DataFrame
    unallocated: pd.DataFrame
    allocation: Allocation = field(repr=False)

    def findings(self, lang: Literal["en", "zh"] = "en") -> list[str]:
        """Key findings as sentences in ``lang``."""
        out = []
        o = self.overall
        if not o["acquired"]:
            out.append(_TEXT["no_acquisitions"][lang])
        else:
            out.append(
                _TEXT["overall"][lang].format(
                    cac=_money(o["cac"]),
                    low=_money(o["cac_low"]),
                    high=_money(o["cac_high"]),
                    prec=f"{o['rel_precision']:.1%}",
                    n=int(o["acquired"]),
                )
            )
        prev = self.previous
        if prev["acquired"] and o["acquired"]:
            out.append(
                _TEXT["change"][lang].format(
                    prev=_money(prev["cac"]), change=f"{o['cac'] / prev['cac'] - 1:+.1%}"
                )
            )
        ch = self.by_channel.dropna(subset=["cac"])
        if len(ch) >= 2:
            hi, lo = ch.loc[ch["cac"].idxmax()], ch.loc[ch["cac"].idxmin()]
            out.append(
                _TEXT["highest"][lang].format(
                    ch=_label(hi["channel"], lang),
                    cac=_money(hi["cac"]),
                    ch2=_label(lo["channel"], lang),
                    cac2=_money(lo["cac"]),
                )
            )
        r = self.roi.dropna(subset=["roi"])
        if len(r):
            best = r.loc[r["roi"].idxmax()]
            out.append(
                _TEXT["roi"][lang].format(
                    ch=_label(best["channel"], lang),
                    roi=f"{best['roi']:.1f}",
                    low=f"{best['roi_low']:.1f}",
                    high=f"{best['roi_high']:.1f}",
                )
            )
        total = float(self.cost_summary["incurred"].sum())
        un = float(self.cost_summary["unallocated"].sum())
        if un >= 0.01 and len(self.unallocated):  # any unbound cost is said, however small
            top = self.unallocated.iloc[0]
            reason = str(top["reason"])
            out.append(
                _TEXT["unallocated"][lang].format(
                    amount=_money(un),
                    total=_money(total),
                    share=f"{un / total:.1%}",
                    reason=label(reason, lang),
                    category=_label(top["category"], lang),
                )
            )
        elif total > 0:
            out.append(_TEXT["all_allocated"][lang].format(total=_money(total)))
        return out


def _label(value: object, lang: str) -> str:
    return label(value, lang)


def cac_monthly(
    data: SalesData | Allocation,
    *,
    period: str,
    filters: dict[str, Any] | None = None,
    rules: str | Path | dict[str, Any] | None = None,
    n_boot: int = 200,
    seed: int = 0,
    touch_label: Literal["kind", "channel"] | None = "kind",
) -> CacMonthly:
    """Compute the tables of the monthly CAC report.

    Parameters
    ----------
    data
        The dataset (allocated here with ``rules``) or an existing allocation.
    period
        Reporting period (``2026-10``, ``2026-Q3``, ``2026-W40``, a date range).
        Customers acquired in it count with their full acquisition cost; see
        :func:`~salesml.attribution.cac.acquisition_units`.
    filters
        ``{"region": ...}`` (or segment, channel, store_id) restricting the customers.
    rules
        Allocation rules (path or dict; ``None`` = defaults).
    n_boot
        Bootstrap replicates of the intervals.
    seed
        Seed of the bootstrap.
    touch_label
        Activity label of the journeys for the multi-touch comparison (``None``:
        lead channels only).

    Returns
    -------
    CacMonthly
    """
    al = data if isinstance(data, Allocation) else allocate_costs(data, rules)
    bounds = _period_bounds(period)
    assert bounds is not None
    prev = previous_period(period)
    kw = {"filters": filters, "n_boot": n_boot, "seed": seed}
    by_channel = cac(al, period=period, **kw)
    prev_channel = cac(al, period=prev, **kw).set_index("channel")["cac"]
    by_channel["cac_previous"] = by_channel["channel"].map(prev_channel)
    by_channel["change"] = by_channel["cac"] / by_channel["cac_previous"] - 1
    # journeys that ended (converted, or last touched) in the period
    j = journeys(al.data, activity_label=touch_label)
    end = j["converted_at"].where(j["converted"], j["last_touch_at"])
    j = j[(end >= bounds[0]) & (end < bounds[1])]
    if filters:
        cust = al.data.customers.set_index("customer_id")
        for k, v in filters.items():
            if v is None or v == "" or k == "channel":
                continue
            if k in cust:
                vals = list(v) if isinstance(v, list | tuple | set) else [v]
                j = j[j["journey_id"].map(cust[k]).isin(vals)]
        if filters.get("channel"):
            ch = filters["channel"]
            j = j[j["channel"].isin(list(ch) if isinstance(ch, list | tuple | set) else [ch])]
    touch = touch_attribution(
        j, ["first", "last", "linear", "position", "time_decay", "markov", "shapley"]
    )
    ledger = al.costs
    in_p = (ledger["incurred_at"] >= bounds[0]) & (ledger["incurred_at"] < bounds[1])
    lp = ledger[in_p]
    cost_summary = (
        lp.groupby("category", observed=True)[["amount", "allocated", "unallocated"]]
        .sum()
        .rename(columns={"amount": "incurred"})
        .reset_index()
        .sort_values("incurred", ascending=False)
        .reset_index(drop=True)
    )
    cost_summary["allocated_share"] = cost_summary["allocated"] / cost_summary["incurred"]
    un = lp[lp["reason"] != ""]
    unallocated = (
        un.groupby(["category", "reason"], observed=True)["unallocated"]
        .agg(amount="sum", lines="size")
        .reset_index()
        .sort_values("amount", ascending=False)
        .reset_index(drop=True)
    )
    return CacMonthly(
        period=period,
        overall=overall_cac(al, period=period, **kw),
        previous=overall_cac(al, period=prev, **kw),
        by_channel=by_channel,
        by_visit_band=cac(al, by="visit_band", period=period, **kw),
        by_cycle_band=cac(al, by="cycle_band", period=period, **kw),
        by_all=cac(al, by="all", period=period, **kw),
        roi=roi(al, period=period, **kw),
        touch=touch,
        cost_summary=cost_summary,
        unallocated=unallocated,
        allocation=al,
    )
