"""Step: activities on deals, account maintenance, and the quote activities."""

from __future__ import annotations

import numpy as np
import pandas as pd

from salesml.simulator.helpers import lognormal, make_ids
from salesml.simulator.params import KPI_EFFECTS, WIN_MODEL
from salesml.simulator.rollout import go_live_of
from salesml.simulator.state import Activities, ChunkState
from salesml.simulator.touches import flat_touches

__all__ = ["draw_activities"]

_KINDS = np.array(["visit", "call", "message", "email", "demo", "sample", "meeting"], dtype=object)
_KIND_P = np.array([0.20, 0.24, 0.30, 0.10, 0.06, 0.03, 0.07])
_CHANNEL_OF = {
    "visit": "onsite",
    "demo": "onsite",
    "meeting": "onsite",
    "sample": "onsite",
    "call": "phone",
    "message": "wechat",
    "email": "email",
    "quote_sent": "online",
    "quote_viewed": "online",
}
_MEDIAN_MINUTES = {"visit": 45.0, "call": 8.0, "meeting": 60.0, "demo": 90.0}


def draw_activities(s: ChunkState) -> None:
    """Writes the ``activities`` table (needs the ``quotes`` table).

    Deal activities arrive at a constant rate over the deal's life (higher for
    engaged customers, +12% after the go-live), so their timing carries no hint of
    the outcome; customers also get maintenance touches, and every quote adds a
    ``quote_sent`` and, when viewed, a ``quote_viewed`` activity. Visits, demos and
    meetings get a quality from the rep's skills; messages a reply delay.
    """
    w, rng, cu, d, sg = s.world, s.rng, s.customers, s.deals, s.stages
    T = s.end
    nD, nC = len(d.ids), len(cu.ids)
    deal_t, cust_t = d.created, cu.created
    quotes = s.tables["quotes"]
    life = np.maximum(sg.life_end - deal_t, 0.5)
    rate = w.cfg.activities_per_deal / 30.0  # per deal-day at a 40-day mean life
    mult = np.exp(WIN_MODEL["engagement_activity_rate"] * d.engagement - 0.08)
    n_act = rng.poisson(np.clip(rate * life * mult, 1, 400) * (1 + KPI_EFFECTS["daily_touches"]))
    ad = np.repeat(np.arange(nD), n_act)
    nA = len(ad)
    u = rng.random(nA)  # a constant rate until the deal closes: no hint of the outcome
    a_t = deal_t[ad] + u * life[ad]
    # go-live: +12% touches after it; thin the earlier ones
    gl = go_live_of(w, d.region[ad])
    keep_a = (a_t >= gl) | (rng.random(nA) < 1.0 / (1 + KPI_EFFECTS["daily_touches"]))
    keep_a &= a_t < T
    ad, a_t = ad[keep_a], a_t[keep_a]
    if w.cfg.flat_touches:  # opt-in: an exact planted target (salesml.simulator.touches)
        flat_rate = rate * float(np.mean(mult)) if nD else rate
        ad, a_t = flat_touches(
            deal_t,
            np.minimum(sg.life_end, T),
            go_live_of(w, d.region),
            flat_rate,
            KPI_EFFECTS["daily_touches"],
        )
    a_kind = _KINDS[rng.choice(len(_KINDS), size=len(ad), p=_KIND_P)]
    # account maintenance (no deal)
    n_maint = rng.poisson(np.array([6.0, 3.0, 1.5])[cu.segment] * (T - cust_t) / T)
    mc = np.repeat(np.arange(nC), n_maint)
    m_t = cust_t[mc] + rng.random(len(mc)) * (T - cust_t[mc])
    m_kind = _KINDS[rng.choice(4, size=len(mc), p=[0.3, 0.35, 0.25, 0.10])]
    # quote activities mirror quotes
    qv = quotes["first_viewed_at"].notna().to_numpy()
    q_deal_idx = (
        np.searchsorted(d.ids, quotes["deal_id"].to_numpy()) if len(quotes) else np.array([], int)
    )
    deal_c = d.customer
    act_d = np.concatenate([ad, np.full(len(mc), -1), q_deal_idx, q_deal_idx[qv]])
    act_c = np.concatenate([deal_c[ad], mc, deal_c[q_deal_idx], deal_c[q_deal_idx[qv]]])
    act_t = np.concatenate(
        [a_t, m_t, quotes["sent_at"].to_numpy(), quotes["first_viewed_at"].to_numpy()[qv]]
    )
    act_kind = np.concatenate(
        [
            a_kind,
            m_kind,
            np.full(len(quotes), "quote_sent", dtype=object),
            np.full(qv.sum(), "quote_viewed", dtype=object),
        ]
    )
    act_rep = np.where(act_d >= 0, d.rep[np.maximum(act_d, 0)], cu.rep[act_c])
    o = np.argsort(act_t, kind="stable")
    act_d, act_c, act_t, act_kind, act_rep = act_d[o], act_c[o], act_t[o], act_kind[o], act_rep[o]
    nA = len(act_t)
    duration = np.full(nA, np.nan)
    for kname, med in _MEDIAN_MINUTES.items():
        m = act_kind == kname
        duration[m] = np.round(lognormal(rng, med, 0.5, m.sum()))
    ask = w.skills[act_rep]
    qual = np.full(nA, np.nan)
    qm = np.isin(act_kind, ["visit", "demo", "meeting"])
    qual[qm] = np.clip(
        np.round(3.0 + 0.6 * ask[qm, 0] + 0.4 * ask[qm, 1] + 0.8 * rng.standard_normal(qm.sum())),
        1,
        5,
    )
    msg = act_kind == "message"
    dl = np.where(act_d >= 0, d.reply_hours[np.maximum(act_d, 0)], w.reply_base[act_rep])
    rdelay = dl * np.exp(0.6 * rng.standard_normal(nA)) / 24.0
    resp_act = np.where(msg & (rng.random(nA) > 0.03), act_t + rdelay, np.nan)
    resp_act = np.where(resp_act < T, resp_act, np.nan)
    act_ids = make_ids("A", s.offsets["activity"] + 1, nA, 9)
    s.activities = Activities(
        deal=act_d,
        customer=act_c,
        at=act_t,
        kind=act_kind,
        rep=act_rep,
        duration=duration,
        ids=act_ids,
    )
    s.tables["activities"] = pd.DataFrame(
        {
            "activity_id": act_ids,
            "customer_id": cu.ids[act_c],
            "deal_id": np.where(act_d >= 0, d.ids[np.maximum(act_d, 0)], None),
            "rep_id": w.reps["rep_id"].to_numpy()[act_rep],
            "kind": act_kind,
            "channel": pd.Series(act_kind).map(_CHANNEL_OF).to_numpy(dtype=object),
            "occurred_at": act_t,
            "duration_min": duration,
            "responded_at": resp_act,
            "quality": qual,
        }
    )
