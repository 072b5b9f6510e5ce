"""Step: the true cost consumption, every cost unit consumed by one action.

A consumption row is one action's use of one cost category at its true amount:
columns ``category, amount, customer`` (customer position, -1 for a lead that never
converted), ``lead_channel`` (the lead's channel for lead costs, else -1), ``t``,
``pool`` (the campaign, channel, rep, store or deal the ledger books it under),
``pool_kind``, ``activity`` (activity position for activity costs) and, once
complete, ``channel`` (the customer's source channel, or the lead's).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from salesml.simulator.params import CHANNELS, EXHIBITION_COST, KPI_EFFECTS, MEDIA_CPL
from salesml.simulator.rollout import go_live_of
from salesml.simulator.state import ChunkState

__all__ = ["draw_costs"]

# per-lead content and community costs (CNY) by channel
_LEAD_COSTS = (
    ("wechat", 35.0, "content"),
    ("online_ads", 25.0, "content"),
    ("referral", 300.0, "community_referral"),
)


def _rows(
    category: str,
    amount: np.ndarray,
    customer: np.ndarray,
    lead_channel: np.ndarray | int,
    t: np.ndarray,
    pool: np.ndarray | int,
    pool_kind: str,
    activity: np.ndarray | None = None,
) -> pd.DataFrame:
    cols = {
        "category": category,
        "amount": amount,
        "customer": customer,
        "lead_channel": lead_channel,
        "t": t,
        "pool": pool,
        "pool_kind": pool_kind,
    }
    if activity is not None:
        cols["activity"] = activity
    return pd.DataFrame(cols)


def _lead_costs(s: ChunkState) -> list[pd.DataFrame]:
    """Media per lead of the campaign channels, exhibition costs, content, referrals."""
    w, rng, ld = s.world, s.rng, s.leads
    lead_ch, lead_t, lead_camp = ld.channel, ld.created, ld.campaign
    lead_c_of = s.customers.of_lead  # -1 when the lead never became a customer
    out = []
    for ch, cpl in MEDIA_CPL.items():
        m = lead_ch == CHANNELS.index(ch)
        c = (
            cpl
            * np.where(
                lead_t[m] >= go_live_of(w, ld.region[m]),
                1 + KPI_EFFECTS["media_cost_per_lead"],
                1.0,
            )
            * np.exp(0.3 * rng.standard_normal(m.sum()))
        )
        out.append(
            _rows("media", c, lead_c_of[m], lead_ch[m], lead_t[m], lead_camp[m], "campaign_month")
        )
    m = lead_ch == CHANNELS.index("exhibition")
    if m.any():
        # each show's fixed cost (the chunk's share) split over its leads
        wts = np.exp(0.3 * rng.standard_normal(m.sum()))
        camp_of = lead_camp[m]
        tot = pd.Series(wts).groupby(camp_of).transform("sum").to_numpy()
        amount = EXHIBITION_COST * s.share * wts / tot
        out.append(
            _rows("events", amount, lead_c_of[m], lead_ch[m], lead_t[m], camp_of, "campaign")
        )
    for ch, cpl, cat in _LEAD_COSTS:
        m = lead_ch == CHANNELS.index(ch)
        amount = cpl * np.exp(0.3 * rng.standard_normal(m.sum()))
        k = CHANNELS.index(ch)
        out.append(_rows(cat, amount, lead_c_of[m], lead_ch[m], lead_t[m], k, "channel_month"))
    return out


def _activity_costs(s: ChunkState) -> list[pd.DataFrame]:
    """Travel per visit, field labour at store customers, samples, gifts, tools."""
    w, rng, a = s.world, s.rng, s.activities
    a_cust, a_rep, act_t, act_kind = a.customer, a.rep, a.at, a.kind
    cust_store = s.customers.store
    nA = len(act_t)
    out = []
    v = act_kind == "visit"
    amount = 150.0 * np.exp(0.6 * rng.standard_normal(v.sum()))
    out.append(
        _rows("travel", amount, a_cust[v], -1, act_t[v], a_rep[v], "rep_month", np.flatnonzero(v))
    )
    fl = np.isin(act_kind, ["visit", "demo"]) & (cust_store[a_cust] >= 0)
    amount = a.duration[fl] / 60.0 * 60.0 * np.exp(0.3 * rng.standard_normal(fl.sum()))
    pool = cust_store[a_cust[fl]]
    out.append(
        _rows(
            "field_promotion_labor",
            amount,
            a_cust[fl],
            -1,
            act_t[fl],
            pool,
            "store_month",
            np.flatnonzero(fl),
        )
    )
    smp = act_kind == "sample"
    amount = np.round(800.0 * np.exp(0.5 * rng.standard_normal(smp.sum())), 2)
    out.append(
        _rows(
            "samples",
            amount,
            a_cust[smp],
            -1,
            act_t[smp],
            a_rep[smp],
            "direct_or_rep_month",
            np.flatnonzero(smp),
        )
    )
    gm = np.isin(act_kind, ["visit", "meeting"]) & (rng.random(nA) < 0.3)
    amount = np.round(200.0 * np.exp(0.4 * rng.standard_normal(gm.sum())), 2)
    out.append(
        _rows("gifts", amount, a_cust[gm], -1, act_t[gm], a_rep[gm], "direct", np.flatnonzero(gm))
    )
    # tools: 500 CNY per rep-month (chunk share), consumed equally by that rep's activities
    key = a_rep * 1000 + w.month_of(act_t)
    n_in = pd.Series(1.0, index=key).groupby(level=0).transform("sum").to_numpy()
    amount = 500.0 * s.share / n_in
    out.append(_rows("tools", amount, a_cust, -1, act_t, a_rep, "rep_month", np.arange(nA)))
    return out


def _deal_costs(s: ChunkState) -> list[pd.DataFrame]:
    """Commissions on won deals (3%), channel fees on won partner deals (5%)."""
    d, sg = s.deals, s.stages
    deal_c, close_t = d.customer, sg.close
    wd_ = np.flatnonzero(sg.won)
    pdl = wd_[s.customers.channel[deal_c[wd_]] == CHANNELS.index("partner")]
    return [
        _rows(
            "commissions",
            np.round(0.03 * d.amount[wd_], 2),
            deal_c[wd_],
            -1,
            close_t[wd_],
            wd_,
            "deal",
        ),
        _rows(
            "channel_fees",
            np.round(0.05 * d.amount[pdl], 2),
            deal_c[pdl],
            -1,
            close_t[pdl],
            pdl,
            "deal",
        ),
    ]


def draw_costs(s: ChunkState) -> None:
    """Add the lead, activity and deal costs to ``consumption``; fill ``consumed``.

    ``consumed`` keeps the rows dated before the end, with their acquisition
    ``channel`` (the customer's source channel, or the unconverted lead's channel).
    """
    s.consumption += _lead_costs(s)
    s.consumption += _activity_costs(s)
    s.consumption += _deal_costs(s)
    consumption = pd.concat(s.consumption, ignore_index=True)
    consumption = consumption.loc[consumption["t"].to_numpy() < s.end]
    cc = consumption["customer"].to_numpy()
    lc = consumption["lead_channel"].to_numpy()
    consumption["channel"] = np.where(cc >= 0, s.customers.channel[np.maximum(cc, 0)], lc)
    s.consumed = consumption
