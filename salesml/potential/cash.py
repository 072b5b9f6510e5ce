"""Lead-to-cash: what each stage of "lead quality -> sales actions -> payment" contributes.

A staged decomposition of the cash collected per lead of a group (a channel, a
region, a rep) against the whole business::

    cash per lead = P(qualified | lead) x P(won | qualified) x won amount x share collected

- ``lead_quality``: P(qualified | lead), a lead converted into a customer with a deal;
- ``sales_actions``: P(won | qualified), the first deal of a converted lead won (the
  sales work: its touches per deal and first-response delay are shown beside it);
- ``deal_size``: the mean won amount of those deals;
- ``payment``: the share of the signed contract amount paid so far;

and, as a timing stage, ``days_to_cash``: days from signature to full payment (median).
Each stage's term is ``log(group / all)``; the terms add up exactly to the log ratio of
the group's cash per lead to the business's. Intervals (90%) come from a parametric
bootstrap of every stage at once (Jeffreys beta draws for the rates, normal draws for
the means), so the interval of each term reflects how many leads, deals and contracts
it rests on. A group that a stage cannot be measured for (leads without a region or an
owner) gets no term for it, and the card says why. The unexplained lead loss (lost
leads without a reason) and the first-response delay are shown for each group.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pandas as pd

from salesml.data.bundle import SalesData
from salesml.filters import FilterLike, FilterSpec
from salesml.i18n import check_lang, label, t
from salesml.periods import PeriodLike, as_period
from salesml.results import AnalysisResult, Note
from salesml.scoring.diagnostics import LabelledNote

__all__ = ["STAGES", "LeadToCash", "lead_to_cash"]

#: The multiplicative stages, in order.
STAGES: tuple[str, ...] = ("lead_quality", "sales_actions", "deal_size", "payment")
#: Groupings offered.
BY: tuple[str, ...] = ("channel", "region", "rep_id")
_Z90 = 1.6448536269514722


@dataclass(kw_only=True)
class LeadToCash(AnalysisResult):
    """The staged lead-to-cash decomposition by a grouping.

    Attributes
    ----------
    table
        One row per group (``group``; ``all`` first): ``leads``, ``qualified``,
        ``p_qualified``, ``closed_deals``, ``p_won``, ``won_amount_mean``,
        ``paid_share``, ``cash_per_lead``, ``days_to_cash`` (median) with
        ``days_to_cash_low`` / ``_high``, ``touches_per_deal``,
        ``first_response_hours`` (median), ``unexplained_loss_share``, and per stage
        ``<stage>`` (log ratio to all) with ``<stage>_low`` / ``<stage>_high``, and
        ``total`` (their sum) with its interval.
    by
        The grouping column.
    """

    title_key: ClassVar[str] = "potential.cash.title"
    by: str = "channel"

    def key_findings(self, lang: str = "en") -> list[str]:
        """The groups furthest above and below the business, and which stage drives each."""
        lang = check_lang(lang)
        g = self.table.loc[self.table["group"] != "all"].dropna(subset=["total"])
        out: list[str] = []
        for row in (g.nlargest(1, "total"), g.nsmallest(1, "total")):
            if not len(row):
                continue
            r = row.iloc[0]
            terms = r[list(STAGES)].astype("float64").dropna()
            if not len(terms):
                continue
            stage = str(terms.abs().idxmax())
            out.append(
                t(
                    "potential.cash.finding",
                    lang,
                    group=label(r["group"], lang),
                    ratio=f"{np.exp(r['total']):.2f}",
                    stage=t(f"potential.cash.stage.{stage}", lang),
                    factor=f"{np.exp(terms[stage]):.2f}",
                )
            )
        return out + [n.text(lang) for n in self.notes]


def _jeffreys(k: np.ndarray, n: np.ndarray, rng: np.random.Generator, b: int) -> np.ndarray:
    """``b`` draws of each rate's Jeffreys posterior (rows: draws)."""
    k = np.asarray(k, dtype="float64")
    n = np.asarray(n, dtype="float64")
    return rng.beta(k[None, :] + 0.5, np.maximum(n - k, 0)[None, :] + 0.5, size=(b, len(k)))


def _normal(m: np.ndarray, se: np.ndarray, rng: np.random.Generator, b: int) -> np.ndarray:
    m = np.asarray(m, dtype="float64")
    se = np.nan_to_num(np.asarray(se, dtype="float64"), nan=0.0)
    return m[None, :] + se[None, :] * rng.standard_normal((b, len(m)))


def _mean_se(values: pd.Series, keys: pd.Series, groups: pd.Index) -> tuple[pd.Series, pd.Series]:
    g = values.groupby(keys.to_numpy())
    mean = g.mean().reindex(groups)
    se = (g.std(ddof=1) / np.sqrt(g.size())).reindex(groups)
    return mean, se


def lead_to_cash(
    data: SalesData,
    *,
    by: str = "channel",
    period: PeriodLike | None = None,
    as_of: str | pd.Timestamp | None = None,
    filters: FilterLike = None,
    n_boot: int = 400,
    random_state: int = 0,
) -> LeadToCash:
    """Staged lead-to-cash decomposition by ``channel``, ``region`` or ``rep_id``.

    Parameters
    ----------
    data
        Needs ``leads`` and ``deals`` (first deals link to leads by ``deals.lead_id``);
        ``contracts`` and ``payments`` add the payment stage and days to cash,
        ``activities`` the touches per deal, ``customers`` the region.
    by
        The grouping: the lead's ``channel``; ``region`` (the lead's, else the
        customer's); ``rep_id`` (the deal's owner; a lead's owner when the export has one).
    period
        Leads created in this period (default: every lead).
    as_of
        Cut the data at this instant first (``SalesData.as_of``).
    filters
        Filters on the lead rows (columns of ``leads`` plus ``region``, ``rep_id``).
    n_boot
        Bootstrap draws of the intervals (at most 5,000).

    Raises
    ------
    ValueError
        Without a leads or deals table, or when no lead is decided yet.
    """
    if by not in BY:
        raise ValueError(f"by must be one of {', '.join(BY)}, got {by!r}")
    if not 50 <= n_boot <= 5000:
        raise ValueError(f"n_boot must be between 50 and 5,000, got {n_boot}")
    if not data.has("leads"):
        raise ValueError(
            "lead-to-cash needs a leads table (lead_id, channel, created_at, status); the "
            "dataset has none"
        )
    data.require("deals", analysis="lead-to-cash")
    ts = pd.Timestamp(as_of) if as_of is not None else None
    if ts is not None:
        data = data.as_of(ts)
    p = as_period(period)
    leads = data.leads
    if p is not None:
        leads = leads.loc[(leads["created_at"] >= p.start) & (leads["created_at"] < p.end)]
    leads = leads.assign(lead_id=leads["lead_id"].astype("str"))
    deals = data.deals.loc[data.deals["lead_id"].notna()].copy()
    deals["lead_id"] = deals["lead_id"].astype("str")
    first = deals.sort_values("created_at", kind="stable").drop_duplicates("lead_id")
    cust_region = None
    if data.has("customers") and "region" in data.customers:
        c = data.customers.drop_duplicates("customer_id").set_index("customer_id")["region"]
        cust_region = c
    notes: list[Note] = []
    # the lead's group
    if by == "channel":
        lead_group = leads["channel"].astype("str")
    elif by in leads.columns:
        lead_group = leads[by].astype("str")
    else:
        lead_group = None
        notes.append(LabelledNote("potential.cash.no_lead_group", (("by", by),), labelled=("by",)))
    # the deal's group
    deal_lead_channel = first["lead_id"].map(leads.set_index("lead_id")["channel"].astype("str"))
    if by == "channel":
        deal_group = deal_lead_channel
    elif by == "rep_id":
        deal_group = first["rep_id"].astype("str")
    else:
        own = first["lead_id"].map(leads.set_index("lead_id")[by]) if by in leads else None
        via = first["customer_id"].map(cust_region) if cust_region is not None else None
        if own is not None and via is not None:
            deal_group = own.fillna(via)
        else:
            deal_group = own if own is not None else via
        if deal_group is None:
            raise ValueError("neither leads nor customers carry a region: cannot group by region")
        deal_group = deal_group.astype("str")
    spec = FilterSpec.parse(filters)
    if spec:
        keep = spec.mask(
            leads.assign(**({} if lead_group is None else {by: lead_group})), table="leads"
        )
        leads = leads.loc[keep]
        if lead_group is not None:
            lead_group = lead_group.loc[keep]
        first = first.loc[first["lead_id"].isin(set(leads["lead_id"]))]
        deal_group = deal_group.loc[first.index]
    else:
        first = first.loc[first["lead_id"].isin(set(leads["lead_id"]))]
        deal_group = deal_group.loc[first.index]
    status = leads["status"].astype("str")
    decided = status.isin(["converted", "lost"])
    if not decided.any():
        raise ValueError(
            "no lead is converted or lost yet: lead-to-cash needs decided leads "
            "(wait for outcomes or widen the period)"
        )
    # stage 2-4 on first deals
    closed = first.loc[first["outcome"].astype("str").isin(["won", "lost"])]
    cg = deal_group.loc[closed.index]
    won = closed["outcome"].astype("str").eq("won")
    amount_col = "won_amount" if "won_amount" in closed else "amount"
    won_amt = pd.to_numeric(closed.loc[won, amount_col], errors="coerce")
    paid_share = pd.Series(dtype="float64")
    days_cash = pd.Series(dtype="float64")
    pay_keys = pd.Series(dtype="str")
    days_keys = pd.Series(dtype="str")
    if data.has("contracts") and data.has("payments"):
        k = data.contracts.loc[data.contracts["deal_id"].isin(closed.loc[won, "deal_id"])]
        paid = data.payments.groupby("contract_id").agg(
            paid=("amount", "sum"), last=("paid_at", "max")
        )
        k = k.join(paid, on="contract_id")
        share = (k["paid"].fillna(0) / k["amount"].where(k["amount"] > 0)).clip(0, 1)
        grp_of_deal = pd.Series(cg.to_numpy(), index=closed["deal_id"].to_numpy())
        pay_keys = k["deal_id"].map(grp_of_deal)
        paid_share = share
        full = share >= 0.999
        days_cash = ((k["last"] - k["signed_at"]) / pd.Timedelta(days=1)).where(full)
        days_keys = pay_keys
    else:
        notes.append(Note("potential.cash.no_payments"))
    groups = pd.Index(
        sorted(set(cg.dropna()) | (set(lead_group[decided]) if lead_group is not None else set()))
    )
    tab = pd.DataFrame(index=groups)
    if lead_group is not None:
        lg = lead_group[decided]
        conv = status[decided].eq("converted")
        tab["leads"] = lg.value_counts().reindex(groups).fillna(0)
        tab["qualified"] = conv.groupby(lg.to_numpy()).sum().reindex(groups).fillna(0)
        all_leads, all_q = float(decided.sum()), float(conv.sum())
    else:
        tab["leads"] = np.nan
        tab["qualified"] = np.nan
        all_leads = float(decided.sum())
        all_q = float(status[decided].eq("converted").sum())
    tab["closed_deals"] = cg.value_counts().reindex(groups).fillna(0)
    tab["won"] = won.groupby(cg.to_numpy()).sum().reindex(groups).fillna(0)
    amt_m, amt_se = _mean_se(won_amt, cg[won], groups)
    tab["won_amount_mean"], amt_se = amt_m, amt_se
    if len(paid_share):
        ps_m, ps_se = _mean_se(paid_share, pay_keys, groups)
    else:
        ps_m = pd.Series(1.0, index=groups)
        ps_se = pd.Series(0.0, index=groups)
    tab["paid_share"] = ps_m
    # the business as a whole
    all_row = {
        "leads": all_leads,
        "qualified": all_q,
        "closed_deals": float(len(closed)),
        "won": float(won.sum()),
        "won_amount_mean": float(won_amt.mean()),
        "paid_share": float(paid_share.mean()) if len(paid_share) else 1.0,
    }
    all_se = {
        "amount": float(won_amt.std(ddof=1) / np.sqrt(max(len(won_amt), 1))),
        "paid": float(paid_share.std(ddof=1) / np.sqrt(max(len(paid_share), 1)))
        if len(paid_share) > 1
        else 0.0,
    }
    rng = np.random.default_rng(random_state)
    b = int(n_boot)

    def draws(frame_leads, frame_q, closed_n, won_n, amt, amt_s, ps, ps_s):
        return (
            _jeffreys(frame_q, frame_leads, rng, b),
            _jeffreys(won_n, closed_n, rng, b),
            np.maximum(_normal(amt, amt_s, rng, b), 1e-9),
            np.clip(_normal(ps, ps_s, rng, b), 1e-6, 1.0),
        )

    g_draw = draws(
        tab["leads"].fillna(0).to_numpy(),
        tab["qualified"].fillna(0).to_numpy(),
        tab["closed_deals"].to_numpy(),
        tab["won"].to_numpy(),
        tab["won_amount_mean"].fillna(all_row["won_amount_mean"]).to_numpy(),
        amt_se.fillna(0).to_numpy(),
        tab["paid_share"].fillna(all_row["paid_share"]).to_numpy(),
        ps_se.fillna(0).to_numpy(),
    )
    a_draw = draws(
        np.array([all_row["leads"]]),
        np.array([all_row["qualified"]]),
        np.array([all_row["closed_deals"]]),
        np.array([all_row["won"]]),
        np.array([all_row["won_amount_mean"]]),
        np.array([all_se["amount"]]),
        np.array([all_row["paid_share"]]),
        np.array([all_se["paid"]]),
    )
    point_g = [
        (tab["qualified"] / tab["leads"]).to_numpy(dtype="float64"),
        (tab["won"] / tab["closed_deals"]).to_numpy(dtype="float64"),
        tab["won_amount_mean"].to_numpy(dtype="float64"),
        tab["paid_share"].to_numpy(dtype="float64"),
    ]
    point_a = [
        all_row["qualified"] / all_row["leads"],
        all_row["won"] / max(all_row["closed_deals"], 1),
        all_row["won_amount_mean"],
        all_row["paid_share"],
    ]
    measurable = [
        (tab["leads"] > 0).to_numpy(),
        (tab["closed_deals"] > 0).to_numpy(),
        (tab["won"] > 0).to_numpy(),
        np.isfinite(point_g[3]),
    ]
    total = np.zeros(len(groups))
    total_d = np.zeros((b, len(groups)))
    for i, stage in enumerate(STAGES):
        with np.errstate(divide="ignore", invalid="ignore"):
            term = np.log(point_g[i] / point_a[i])
            term_d = np.log(g_draw[i] / a_draw[i])
        term = np.where(measurable[i], term, np.nan)
        tab[stage] = term
        with warnings.catch_warnings():  # a stage a group lacks has no draws at all
            warnings.simplefilter("ignore", RuntimeWarning)
            lo, hi = np.nanquantile(np.where(measurable[i], term_d, np.nan), [0.05, 0.95], axis=0)
        tab[f"{stage}_low"] = np.where(measurable[i], lo, np.nan)
        tab[f"{stage}_high"] = np.where(measurable[i], hi, np.nan)
        # terms a group lacks (no lead stage by rep) count as the business's
        total += np.nan_to_num(term)
        total_d += np.where(measurable[i][None, :], np.nan_to_num(term_d), 0.0)
    tab["total"] = total
    tab["total_low"], tab["total_high"] = np.quantile(total_d, [0.05, 0.95], axis=0)
    tab["p_qualified"] = point_g[0]
    tab["p_won"] = point_g[1]
    cash = 1.0
    for v in point_a:
        cash *= v
    tab["cash_per_lead"] = np.exp(tab["total"]) * cash
    # days to cash (median, bootstrap over contracts)
    med = pd.Series(np.nan, index=groups)
    med_lo = med.copy()
    med_hi = med.copy()
    if len(days_cash.dropna()):
        dc = pd.DataFrame({"g": days_keys.to_numpy(), "d": days_cash.to_numpy()}).dropna()
        for g, sub in dc.groupby("g"):
            v = sub["d"].to_numpy()
            boots = np.median(rng.choice(v, size=(min(b, 200), len(v)), replace=True), axis=1)
            med[g], (med_lo[g], med_hi[g]) = np.median(v), np.quantile(boots, [0.05, 0.95])
    tab["days_to_cash"], tab["days_to_cash_low"], tab["days_to_cash_high"] = med, med_lo, med_hi
    # what is already measured elsewhere, shown beside: touches, response delay, loss
    if data.has("activities"):
        n_act = data.activities.groupby("deal_id").size()
        touches = closed["deal_id"].map(n_act).fillna(0)
        tab["touches_per_deal"] = touches.groupby(cg.to_numpy()).mean().reindex(groups)
    else:
        tab["touches_per_deal"] = np.nan
    if lead_group is not None and "first_response_at" in leads:
        rh = (leads["first_response_at"] - leads["created_at"]) / pd.Timedelta(hours=1)
        tab["first_response_hours"] = rh.groupby(lead_group.to_numpy()).median().reindex(groups)
        lost = status.eq("lost")
        no_reason = lost & (
            leads["lost_reason"].isna() if "lost_reason" in leads else pd.Series(True, leads.index)
        )
        share = no_reason.groupby(lead_group.to_numpy()).sum() / lost.groupby(
            lead_group.to_numpy()
        ).sum().where(lambda x: x > 0)
        tab["unexplained_loss_share"] = share.reindex(groups)
    else:
        tab["first_response_hours"] = np.nan
        tab["unexplained_loss_share"] = np.nan
    tab = tab.reset_index(names="group")
    head = {
        "group": "all",
        **all_row,
        **dict.fromkeys(STAGES, 0.0),
        "total": 0.0,
        "p_qualified": point_a[0],
        "p_won": point_a[1],
        "cash_per_lead": cash,
    }
    table = pd.concat([pd.DataFrame([head]), tab], ignore_index=True)
    cols = [
        "group",
        "leads",
        "qualified",
        "p_qualified",
        "closed_deals",
        "p_won",
        "won_amount_mean",
        "paid_share",
        "cash_per_lead",
        *[c for s in STAGES for c in (s, f"{s}_low", f"{s}_high")],
        "total",
        "total_low",
        "total_high",
        "days_to_cash",
        "days_to_cash_low",
        "days_to_cash_high",
        "touches_per_deal",
        "first_response_hours",
        "unexplained_loss_share",
    ]
    return LeadToCash(
        table=table.reindex(columns=cols),
        by=by,
        period=p,
        as_of=ts,
        filters=spec,
        notes=notes,
    )
