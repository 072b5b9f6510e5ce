"""Compact allocation lines: integer positions and amounts, a DataFrame only on demand.

At tier L an allocation has tens of millions of (cost line, driver row) pairs. Holding
them as a DataFrame of strings took more memory than the machine has, so
:func:`~salesml.attribution.allocate_costs` keeps, per rule, three arrays — the cost
line's position in the ledger (int32), the driver row's position in its driver view
(int32) and the amount (float64) — and :class:`AllocationLines` builds the public
:attr:`Allocation.lines <salesml.attribution.Allocation.lines>` frame from them the first
time it is asked for (then keeps it). CAC and ROI read the arrays directly
(:meth:`AllocationLines.unit_arrays`) and never build the frame.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from salesml.attribution.allocation.drivers import DRIVER_ID, customer_attrs
from salesml.data.bundle import SalesData

__all__ = ["LINE_ATTRS", "LINE_COLUMNS", "AllocationLines"]

#: Link columns every allocation line carries (missing where the driver has none).
LINE_ATTRS: tuple[str, ...] = ("customer_id", "lead_id", "deal_id", "activity_id", "store_id")
#: Columns of :attr:`Allocation.lines`, in order.
LINE_COLUMNS: tuple[str, ...] = (
    "cost_id",
    "category",
    "month",
    "rule",
    "driver",
    "driver_id",
    "amount",
    *LINE_ATTRS,
    "channel",
    "action_at",
)

#: One rule's placements: (cost positions, driver, driver-row positions, amounts, rule label).
Part = tuple[np.ndarray, str, np.ndarray, np.ndarray, str]


@dataclass(eq=False)
class AllocationLines:
    """The allocation lines of one allocation, held as integer positions and amounts.

    Parameters
    ----------
    costs
        The cost ledger the positions refer to (the filtered ledger, 0..n-1).
    parts
        Per rule that placed cost, in rule order: cost-line positions, driver name,
        driver-row positions, amounts and the rule's label.
    drivers
        The driver views the row positions refer to (only the columns lines need).
    data
        The dataset (deals link leads to deals; customers give the source channel).
    """

    costs: pd.DataFrame
    parts: list[Part]
    drivers: dict[str, pd.DataFrame]
    data: SalesData = field(repr=False)
    _frame: pd.DataFrame | None = field(default=None, repr=False)

    def __len__(self) -> int:
        return int(sum(len(p[0]) for p in self.parts))

    @property
    def amount(self) -> np.ndarray:
        """Every line's amount, in the order of :meth:`frame`."""
        if not self.parts:
            return np.zeros(0, dtype="float64")
        return np.concatenate([p[3] for p in self.parts])

    def frame(self) -> pd.DataFrame:
        """The lines as the documented DataFrame (built once, then kept)."""
        if self._frame is None:
            self._frame = self._build()
        return self._frame

    def _build(self) -> pd.DataFrame:
        costs, data, cols = self.costs, self.data, list(LINE_COLUMNS)
        if not self.parts:
            out = pd.DataFrame({c: pd.Series(dtype="str") for c in cols})
            out["amount"] = out["amount"].astype("float64")
            out["action_at"] = pd.Series(dtype="datetime64[us]")
            return out
        attrs = {name: self._attrs(name) for name in {p[1] for p in self.parts}}
        frames = []
        cost_ids = pd.Index(costs["cost_id"].astype("str"))
        unique_ids = cost_ids.is_unique
        cat_codes = pd.Categorical(costs["category"].astype("str"))
        month_codes = pd.Categorical(costs["incurred_at"].dt.to_period("M"))
        for cidx, driver, drow, amt, label in self.parts:
            cidx = cidx.astype("int64")
            a = attrs[driver].iloc[drow].reset_index(drop=True)
            if unique_ids:
                cid = pd.Categorical.from_codes(cidx, categories=cost_ids)
            else:
                cid = cost_ids.to_numpy()[cidx]
            f = pd.DataFrame(
                {
                    "cost_id": cid,
                    "category": pd.Categorical.from_codes(
                        cat_codes.codes[cidx], categories=cat_codes.categories
                    ),
                    "month": pd.Categorical.from_codes(
                        month_codes.codes[cidx], categories=month_codes.categories
                    ),
                    "rule": label,
                    "driver": driver,
                    "amount": amt,
                }
            )
            frames.append(pd.concat([f, a], axis=1))
        del data
        out = pd.concat(frames, ignore_index=True)
        for c in ("cost_id", "category", "month", "rule", "driver", "channel", "store_id"):
            out[c] = out[c].astype("category")
        return out[cols]

    def _lead_deal(self) -> pd.Series | None:
        data = self.data
        if "deals" in data and "lead_id" in data.deals:
            dd = data.deals[data.deals["lead_id"].notna()].sort_values("created_at")
            return dd.drop_duplicates("lead_id").set_index("lead_id")["deal_id"]
        return None

    def _customer_channel(self) -> pd.Series | None:
        cust = customer_attrs(self.data)
        if cust is not None and "source_channel" in cust:
            return cust.set_index("customer_id")["source_channel"]
        return None

    def _attrs(self, name: str) -> pd.DataFrame:
        """Per driver row: driver_id, the link columns, channel and action_at."""
        dv = self.drivers[name]
        lead_deal = self._lead_deal()
        act_customer_channel = self._customer_channel()
        a = pd.DataFrame(index=dv.index)
        a["driver_id"] = dv[DRIVER_ID[name]].astype("str")
        for c in LINE_ATTRS:
            a[c] = dv[c].astype("str") if c in dv else pd.Series(pd.NA, index=dv.index, dtype="str")
        if name == "leads" and lead_deal is not None:
            a["deal_id"] = dv["lead_id"].map(lead_deal).astype("str")
        if name == "redemptions":
            a["store_id"] = dv["store_id"].astype("str")
        ch = pd.Series(np.nan, index=dv.index, dtype="str")
        if act_customer_channel is not None and "customer_id" in dv:
            ch = dv["customer_id"].map(act_customer_channel).astype("str")
        if name == "leads":
            ch = ch.where(ch.notna(), dv["channel"].astype("str"))
        a["channel"] = ch
        a["action_at"] = dv["action_at"]
        return a

    def unit_arrays(
        self, pos: pd.Series, marketing: frozenset[str] | set[str]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Per line that reaches an acquisition unit: unit position, amount, date, marketing.

        A line reaches the unit of its customer, or of its lead when it has no customer
        (the same rule as mapping :attr:`Allocation.lines` ``customer_id`` / ``lead_id``
        through ``pos``); lines reaching no unit are left out. Returned in line order.

        Parameters
        ----------
        pos
            Unit position by unit id (customer ids and lead ids).
        marketing
            The cost categories counted as marketing.
        """
        cat = self.costs["category"].astype("str")
        mkt_line = cat.isin(list(marketing)).to_numpy()
        per_driver: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for name in {p[1] for p in self.parts}:
            dv = self.drivers[name]
            cust = (
                dv["customer_id"].astype("str")
                if "customer_id" in dv
                else pd.Series(pd.NA, index=dv.index, dtype="str")
            )
            lead = (
                dv["lead_id"].astype("str")
                if "lead_id" in dv
                else pd.Series(pd.NA, index=dv.index, dtype="str")
            )
            is_lead = cust.isna().to_numpy()
            upos = np.where(
                is_lead,
                lead.map(pos).to_numpy(dtype="float64", na_value=np.nan),
                cust.map(pos).to_numpy(dtype="float64", na_value=np.nan),
            )
            per_driver[name] = (upos, dv["action_at"].to_numpy())
        ups, amts, ats, mkts = [], [], [], []
        for cidx, driver, drow, amt, _ in self.parts:
            upos_d, at_d = per_driver[driver]
            u = upos_d[drow]
            ok = ~np.isnan(u)
            ups.append(u[ok].astype("int64"))
            amts.append(amt[ok])
            ats.append(at_d[drow[ok]])
            mkts.append(mkt_line[cidx[ok]])
        if not ups:
            e = np.zeros(0)
            return e.astype("int64"), e, np.zeros(0, dtype="datetime64[us]"), e.astype(bool)
        return np.concatenate(ups), np.concatenate(amts), np.concatenate(ats), np.concatenate(mkts)
