"""Lead-to-cash per customer: each lead's chain lead -> deal -> quote -> contract -> payment.

:func:`lead_to_cash` compares groups; :func:`customer_journeys` follows every lead on
its own. A lead's chain is its first deal (``deals.lead_id``), that deal's first quote
sent, the contract signed on it and the instant its payments covered the contract
amount (full payment). For each step the table gives the instant and the days since
the previous step, and for each lead the last step it reached and how it stands:

- ``paid``: the contract is paid in full (the chain is complete);
- ``lost``: the lead was lost, or its deal was lost (``stopped_at`` says where);
- ``open``: still in progress at the step after ``reached``.

Every step is vectorised (merges and group-bys), so tier L runs in seconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pandas as pd

from salesml.data.bundle import SalesData
from salesml.filters import FilterLike, FilterSpec
from salesml.i18n import check_lang, t
from salesml.periods import PeriodLike, as_period
from salesml.results import AnalysisResult, Note

__all__ = ["STEPS", "CustomerJourneys", "customer_journeys"]

#: The steps of the chain, in order.
STEPS: tuple[str, ...] = ("lead", "deal", "quote", "contract", "payment")
#: How a lead's chain stands.
STATES: tuple[str, ...] = ("paid", "lost", "open")
#: Share of the contract amount that counts as paid in full (cents of rounding).
_FULL = 0.999
_DAY = pd.Timedelta(days=1)


@dataclass(kw_only=True)
class CustomerJourneys(AnalysisResult):
    """Every lead's lead-to-cash chain.

    Attributes
    ----------
    table
        One row per lead: ``lead_id``, ``customer_id``, ``channel``, ``rep_id`` (the
        lead's owner, else the deal's), ``deal_id``, ``contract_id``; the instants
        ``lead_at``, ``deal_at``, ``quote_at``, ``contract_at``, ``paid_at`` (full
        payment) and ``first_paid_at``; the days of each step ``days_to_deal``,
        ``days_to_quote``, ``days_to_contract``, ``days_to_payment`` (each since the
        previous step) and ``days_lead_to_cash``; ``paid_share``; ``reached`` (the
        last step reached, :data:`STEPS`), ``state`` (:data:`STATES`) and
        ``stopped_at`` (the step a lost or open chain has not passed; empty when paid).
    """

    title_key: ClassVar[str] = "potential.journey.title"

    def summary(self) -> pd.DataFrame:
        """Per step: leads that reached it, that stopped there (lost / open), and the
        median days the step took."""
        tab = self.table
        days = {
            "deal": "days_to_deal",
            "quote": "days_to_quote",
            "contract": "days_to_contract",
            "payment": "days_to_payment",
        }
        reached_i = tab["reached"].map({s: i for i, s in enumerate(STEPS)})
        rows = []
        for i, step in enumerate(STEPS):
            at_step = tab["stopped_at"] == step
            rows.append(
                {
                    "step": step,
                    "reached": int((reached_i >= i).sum()),
                    "lost_here": int((at_step & (tab["state"] == "lost")).sum()),
                    "open_here": int((at_step & (tab["state"] == "open")).sum()),
                    "median_days": float(tab[days[step]].median()) if step in days else np.nan,
                }
            )
        return pd.DataFrame(rows)

    def key_findings(self, lang: str = "en") -> list[str]:
        """How many chains are complete, and the step most chains stop at."""
        lang = check_lang(lang)
        tab = self.table
        if not len(tab):
            return [n.text(lang) for n in self.notes]
        stops = tab.loc[tab["state"] != "paid", "stopped_at"].value_counts()
        out = [
            t(
                "potential.journey.finding",
                lang,
                paid=f"{int((tab['state'] == 'paid').sum()):,}",
                leads=f"{len(tab):,}",
                step=t(f"potential.journey.step.{stops.index[0]}", lang) if len(stops) else "-",
                stopped=f"{int(stops.iloc[0]) if len(stops) else 0:,}",
            )
        ]
        return out + [n.text(lang) for n in self.notes]


def _first_by(frame: pd.DataFrame, key: str, time: str) -> pd.DataFrame:
    """The earliest row of ``frame`` per ``key`` by ``time`` (ties: table order)."""
    ordered = frame.sort_values(time, kind="stable")
    return ordered.drop_duplicates(key)


def _full_payment(contracts: pd.DataFrame, payments: pd.DataFrame) -> pd.DataFrame:
    """Per contract: ``first_paid_at``, ``paid_at`` (when the running total covered the
    amount; NaT until then) and ``paid_share``."""
    pay = payments.loc[payments["contract_id"].isin(contracts["contract_id"])]
    pay = pay.sort_values(["contract_id", "paid_at"], kind="stable")
    amount = contracts.drop_duplicates("contract_id").set_index("contract_id")["amount"]
    due = pay["contract_id"].map(amount).astype("float64")
    running = pd.to_numeric(pay["amount"], errors="coerce").fillna(0.0)
    running = running.groupby(pay["contract_id"].to_numpy()).cumsum()
    covered = running >= _FULL * due.where(due > 0)
    g = pay.groupby("contract_id")
    out = pd.DataFrame(
        {
            "first_paid_at": g["paid_at"].min(),
            "paid_at": pay.loc[covered.to_numpy()].groupby("contract_id")["paid_at"].min(),
            "paid_total": running.groupby(pay["contract_id"].to_numpy()).max(),
        }
    )
    out = out.reindex(amount.index)
    out["paid_share"] = (out["paid_total"].fillna(0.0) / amount.where(amount > 0)).clip(0, 1)
    return out.drop(columns="paid_total")


def customer_journeys(
    data: SalesData,
    *,
    period: PeriodLike | None = None,
    as_of: str | pd.Timestamp | None = None,
    filters: FilterLike = None,
) -> CustomerJourneys:
    """Each lead's chain lead -> deal -> quote -> contract -> payment.

    Parameters
    ----------
    data
        Needs ``leads`` and ``deals`` (a lead's first deal by ``deals.lead_id``);
        ``quotes``, ``contracts`` and ``payments`` add their steps (a missing table
        is said in a note and its step never reached).
    period
        Leads created in this period (default: every lead).
    as_of
        Cut the data at this instant first (``SalesData.as_of``): the chains as they
        stood then.
    filters
        Filters on the lead rows (columns of the table: ``channel``, ``rep_id``, ...).

    Returns
    -------
    CustomerJourneys
        One row per lead; :meth:`~CustomerJourneys.summary` per step.

    Raises
    ------
    ValueError
        Without a leads or deals table, or when ``deals`` has no ``lead_id`` column.
    """
    if not data.has("leads"):
        raise ValueError(
            "customer journeys need a leads table (lead_id, channel, created_at, status); "
            "the dataset has none"
        )
    data.require("deals", analysis="customer journeys")
    if "lead_id" not in data.deals:
        raise ValueError("deals has no column 'lead_id': cannot tell which deal a lead became")
    ts = pd.Timestamp(as_of) if as_of is not None else None
    if ts is not None:
        data = data.as_of(ts)
    p = as_period(period)
    notes: list[Note] = []
    leads = data.leads
    if p is not None:
        leads = leads.loc[(leads["created_at"] >= p.start) & (leads["created_at"] < p.end)]
    tab = pd.DataFrame(
        {
            "lead_id": leads["lead_id"].astype("str").to_numpy(),
            "channel": leads["channel"].astype("str").to_numpy(),
            "lead_at": leads["created_at"].to_numpy(),
            "lead_status": leads["status"].astype("str").to_numpy(),
        }
    )
    for col in ("customer_id", "rep_id"):
        tab[col] = (
            leads[col].astype("str").where(leads[col].notna()).to_numpy() if col in leads else None
        )
    deals = data.deals.loc[data.deals["lead_id"].notna()]
    deals = deals.assign(lead_id=deals["lead_id"].astype("str"))
    first = _first_by(deals, "lead_id", "created_at").set_index("lead_id")
    lid = tab["lead_id"]
    tab["deal_id"] = lid.map(first["deal_id"].astype("str"))
    tab["deal_at"] = lid.map(first["created_at"])
    tab["deal_outcome"] = lid.map(first["outcome"].astype("str")).fillna("")
    tab["rep_id"] = tab["rep_id"].fillna(lid.map(first["rep_id"].astype("str")))
    tab["customer_id"] = tab["customer_id"].fillna(lid.map(first["customer_id"].astype("str")))
    did = tab["deal_id"]
    for table, col, step in (
        ("quotes", "sent_at", "quote_at"),
        ("contracts", "signed_at", "contract_at"),
    ):
        if data.has(table):
            rows = _first_by(data[table].loc[data[table]["deal_id"].isin(did)], "deal_id", col)
            rows = rows.assign(deal_id=rows["deal_id"].astype("str")).set_index("deal_id")
            tab[step] = did.map(rows[col])
            if table == "contracts":
                tab["contract_id"] = did.map(rows["contract_id"].astype("str"))
        else:
            tab[step] = pd.NaT
            notes.append(Note("potential.journey.no_table", (("table", table),)))
    if "contract_id" not in tab:
        tab["contract_id"] = None
    if data.has("payments") and data.has("contracts"):
        k = data.contracts.loc[data.contracts["contract_id"].isin(tab["contract_id"])]
        k = k.assign(contract_id=k["contract_id"].astype("str"))
        pay = data.payments.assign(contract_id=data.payments["contract_id"].astype("str"))
        full = _full_payment(k, pay)
        for col in ("first_paid_at", "paid_at", "paid_share"):
            tab[col] = tab["contract_id"].map(full[col])
        tab["paid_share"] = tab["paid_share"].where(
            tab["contract_id"].isna(), tab["paid_share"].fillna(0.0)
        )
    else:
        tab["first_paid_at"] = pd.NaT
        tab["paid_at"] = pd.NaT
        tab["paid_share"] = np.nan
        if data.has("contracts"):
            notes.append(Note("potential.journey.no_table", (("table", "payments"),)))
    for col in ("deal_at", "quote_at", "contract_at", "first_paid_at", "paid_at"):
        tab[col] = pd.to_datetime(tab[col])
    chain = ["lead_at", "deal_at", "quote_at", "contract_at", "paid_at"]
    names = ["days_to_deal", "days_to_quote", "days_to_contract", "days_to_payment"]
    for prev, cur, name in zip(chain[:-1], chain[1:], names, strict=True):
        tab[name] = (tab[cur] - tab[prev]) / _DAY
    tab["days_lead_to_cash"] = (tab["paid_at"] - tab["lead_at"]) / _DAY
    # the last step reached: every step needs the ones before it
    reached = np.zeros(len(tab), dtype="int64")
    ok = np.ones(len(tab), dtype=bool)
    for i, col in enumerate(chain[1:], start=1):
        ok &= tab[col].notna().to_numpy()
        reached[ok] = i
    steps = np.array(STEPS, dtype=object)
    tab["reached"] = steps[reached]
    lost = (tab["lead_status"].eq("lost") & (reached == 0)) | (
        tab["deal_outcome"].eq("lost") & (reached >= 1) & (reached < 3)
    )
    paid = reached == len(STEPS) - 1
    tab["state"] = np.where(paid, "paid", np.where(lost, "lost", "open"))
    nxt = np.minimum(reached + 1, len(STEPS) - 1)
    tab["stopped_at"] = np.where(paid, "", steps[nxt])
    spec = FilterSpec.parse(filters)
    if spec:
        tab = tab.loc[spec.mask(tab, table="leads")]
    cols = [
        "lead_id",
        "customer_id",
        "channel",
        "rep_id",
        "deal_id",
        "contract_id",
        "lead_at",
        "deal_at",
        "quote_at",
        "contract_at",
        "first_paid_at",
        "paid_at",
        *names,
        "days_lead_to_cash",
        "paid_share",
        "reached",
        "state",
        "stopped_at",
    ]
    out = tab[cols].sort_values(["lead_at", "lead_id"], kind="stable").reset_index(drop=True)
    return CustomerJourneys(table=out, period=p, as_of=ts, filters=spec, notes=notes)
