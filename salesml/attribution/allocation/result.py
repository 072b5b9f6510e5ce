"""The :class:`Allocation` result: every cost line bound to the sales actions that used it."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from salesml.attribution.allocation.lines import AllocationLines
from salesml.data.bundle import SalesData
from salesml.i18n import check_lang, label, money, t
from salesml.periods import PeriodLike, as_period
from salesml.results import AnalysisResult

__all__ = ["REASONS", "Allocation"]

#: Why a cost line stays unallocated (codes; their words are catalog labels ``value.<code>``).
REASONS: tuple[str, ...] = ("no_rule", "no_scope", "no_driver", "no_table", "unknown_category")


@dataclass(kw_only=True)
class Allocation(AnalysisResult):
    """Result of :func:`~salesml.attribution.allocate_costs`.

    Attributes
    ----------
    table
        The cost ledger (the lines ``filters`` kept), one row per cost line: its own
        columns plus ``allocated``, ``unallocated``, ``rule`` (the rule that placed it,
        ``""`` if none) and ``reason`` (a code of :data:`REASONS`, ``""`` when placed).
        Also available as :attr:`costs`.
    compact
        The lines as integer positions and amounts
        (:class:`~salesml.attribution.allocation.lines.AllocationLines`); CAC reads them
        without building :attr:`lines`.
    lines
        (property) One row per (cost line, driver row) pair: ``cost_id, category, month
        (pandas.Period), rule, driver, driver_id, amount, customer_id, lead_id, deal_id,
        activity_id, store_id, channel (the customer's source channel, else the lead's),
        action_at``.
    monthly
        Conservation per ``category`` and ``month``: ``incurred, allocated,
        unallocated, allocated_share`` (whole history).
    rules
        The normalised rule set used.
    data
        The dataset the actions come from (cut at ``as_of`` when given).
    currency
        ISO code of every amount (the dataset's).
    memo
        Tables derived from this allocation and kept for the next call (acquisition
        units, bootstrap sums, re-allocations under other rules), so that a what-if
        takes milliseconds.
    period
        When set, :meth:`summary`, :attr:`unallocated` and :meth:`key_findings` cover the
        cost lines incurred in it; the allocation itself always covers the whole ledger
        (an acquisition's cost reaches back before its period).
    folder
        The month-partitioned dataset folder this was allocated from month by month
        (:meth:`MonthlyAllocation.allocation
        <salesml.attribution.allocation.by_month.MonthlyAllocation.allocation>`;
        ``data`` then holds only what CAC reads), ``None`` when allocated in memory. A
        re-allocation under other rules reads the folder again.
    """

    title_key: ClassVar[str] = "attribution.allocation.title"
    compact: AllocationLines = field(repr=False)
    monthly: pd.DataFrame
    rules: dict[str, Any]
    data: SalesData = field(repr=False)
    currency: str = "CNY"
    memo: dict[Any, Any] = field(default_factory=dict, repr=False, compare=False)
    folder: Path | None = field(default=None, repr=False)

    @property
    def lines(self) -> pd.DataFrame:
        """One row per (cost line, driver row) pair (built from :attr:`compact` on first use)."""
        return self.compact.frame()

    @property
    def costs(self) -> pd.DataFrame:
        """The cost ledger with its allocation status (:attr:`table`)."""
        return self.table

    def for_period(self, period: PeriodLike) -> Allocation:
        """The same allocation describing ``period`` (summary, unallocated, findings)."""
        return replace(self, period=as_period(period))

    def in_period(self) -> pd.DataFrame:
        """The ledger rows incurred in :attr:`period` (all of them without a period)."""
        if self.period is None:
            return self.table
        return self.table[self.period.mask(self.table["incurred_at"])]

    def summary(self) -> pd.DataFrame:
        """Per category (of the period): ``incurred, allocated, unallocated, allocated_share``."""
        lp = self.in_period()
        out = (
            lp.groupby("category", observed=True)[["amount", "allocated", "unallocated"]]
            .sum()
            .rename(columns={"amount": "incurred"})
            .reset_index()
            .sort_values("incurred", ascending=False)
            .reset_index(drop=True)
        )
        out["allocated_share"] = out["allocated"] / out["incurred"].where(out["incurred"] != 0)
        return out

    @property
    def unallocated(self) -> pd.DataFrame:
        """Unallocated cost (of the period) by ``category`` and ``reason``: ``amount, lines``."""
        lp = self.in_period()
        un = lp[lp["reason"] != ""]
        return (
            un.groupby(["category", "reason"], observed=True)["unallocated"]
            .agg(amount="sum", lines="size")
            .reset_index()
            .sort_values("amount", ascending=False)
            .reset_index(drop=True)
        )

    def key_findings(self, lang: str = "en") -> list[str]:
        """What share of the cost was bound to sales actions, and why the rest was not."""
        check_lang(lang)
        lp = self.in_period()
        total = float(lp["amount"].sum())
        un = float(lp["unallocated"].sum())
        out = []
        top = self.unallocated
        if un >= 0.01 and len(top):  # any unbound cost is said, however small
            row = top.iloc[0]
            out.append(
                t(
                    "attribution.finding.unallocated",
                    lang,
                    amount=money(un, self.currency),
                    total=money(total, self.currency),
                    share=f"{un / total:.1%}",
                    category=label(row["category"], lang),
                    part=money(row["amount"], self.currency),
                    reason=label(row["reason"], lang),
                )
            )
        elif total > 0:
            out.append(
                t("attribution.finding.all_allocated", lang, total=money(total, self.currency))
            )
        else:
            out.append(t("attribution.finding.no_cost", lang))
        return out + super().key_findings(lang)

    def _view(self, key: str) -> pd.DataFrame:
        ln = self.lines[self.lines[key].notna()]
        out = ln.pivot_table(
            index=key,
            columns="category",
            values="amount",
            aggfunc="sum",
            fill_value=0.0,
            observed=True,
        )
        out.columns = [str(c) for c in out.columns]
        out.insert(0, "total", out.sum(axis=1))
        out.index.name = key
        return out.sort_values("total", ascending=False)

    def by_activity(self) -> pd.DataFrame:
        """Cost per activity: index ``activity_id``, columns ``total`` and one per category."""
        return self._view("activity_id")

    def by_deal(self) -> pd.DataFrame:
        """Cost per deal (its activities, direct links, the lead that opened it)."""
        return self._view("deal_id")

    def by_customer(self) -> pd.DataFrame:
        """Cost per customer (its leads, activities, deals and redemptions to it)."""
        return self._view("customer_id")

    def by_store(self) -> pd.DataFrame:
        """Cost per store (of the customer each action served, or the redeeming store)."""
        return self._view("store_id")

    def by_channel(self) -> pd.DataFrame:
        """Cost per acquisition channel."""
        return self._view("channel")

    def cost_path(self, deal_id: str) -> pd.DataFrame:
        """Which cost lines reached one deal, through which action, and why.

        Returns
        -------
        pandas.DataFrame
            One row per (cost line, action): ``cost_id, category, incurred_at,
            line_amount, rule, driver, driver_id, action_at, amount`` (the part of
            the line this deal received), sorted by ``action_at``.
        """
        ln = self.lines[self.lines["deal_id"] == deal_id]
        if ln.empty and "deals" in self.data and not (self.data.deals["deal_id"] == deal_id).any():
            raise KeyError(f"deal {deal_id!r} is not in the deals table")
        c = self.table.set_index("cost_id")
        out = ln[["cost_id", "category", "rule", "driver", "driver_id", "action_at", "amount"]]
        out = out.assign(
            incurred_at=out["cost_id"].map(c["incurred_at"]),
            line_amount=out["cost_id"].map(c["amount"]),
        )
        cols = [
            "cost_id",
            "category",
            "incurred_at",
            "line_amount",
            "rule",
            "driver",
            "driver_id",
            "action_at",
            "amount",
        ]
        return out[cols].sort_values(["action_at", "cost_id"]).reset_index(drop=True)

    @property
    def total_incurred(self) -> float:
        """Sum of the cost ledger."""
        return float(self.table["amount"].sum())

    @property
    def total_allocated(self) -> float:
        """Sum allocated to actions."""
        return float(self.table["allocated"].sum())

    def check_conservation(self, rtol: float = 1e-9) -> None:
        """Raise ``AssertionError`` unless allocated + unallocated == incurred everywhere."""
        s = self.monthly
        gap = (s["allocated"] + s["unallocated"] - s["incurred"]).abs()
        tol = rtol * np.maximum(s["incurred"].abs(), 1.0)
        if (gap > tol).any():
            bad = s[gap > tol].head()
            raise AssertionError(f"allocation does not conserve cost:\n{bad}")
        per_line = self.lines.groupby("cost_id", observed=True)["amount"].sum()
        alloc = self.table.set_index("cost_id")["allocated"]
        diff = (per_line.reindex(alloc.index, fill_value=0.0) - alloc).abs()
        if (diff > rtol * np.maximum(alloc.abs(), 1.0)).any():
            raise AssertionError("allocation lines do not add up to the allocated amount")

    def __repr__(self) -> str:
        return (
            f"Allocation({len(self.table):,} cost lines, {self.total_allocated:,.0f} of "
            f"{self.total_incurred:,.0f} allocated, {len(self.compact):,} lines)"
        )
