"""Step: deals of each customer, with the drivers of their win process."""

from __future__ import annotations

import numpy as np
import pandas as pd

from salesml.data.schema import DEFAULT_STAGE_ORDER
from salesml.simulator.helpers import lognormal, make_ids
from salesml.simulator.params import KPI_EFFECTS, PL_PROB, PL_TECH, PRODUCT_LINES, SEG_AMOUNT
from salesml.simulator.rollout import go_live_of
from salesml.simulator.state import ChunkState, Deals

__all__ = ["deals_table", "draw_deals"]


def draw_deals(s: ChunkState) -> None:
    """Each customer's first deal, repeat deals up to the target, and their drivers.

    Repeat deals go to customers by segment weight and time left in the window.
    Drivers: product line, amount, technical plan and commercial terms revision
    counts (fewer for skilled reps), the reply delay to customer messages, whether
    the last viewed quote goes unanswered, and a latent engagement.
    """
    w, rng, cu = s.world, s.rng, s.customers
    T = s.end
    nC = len(cu.ids)
    cust_t, cust_seg = cu.created, cu.segment
    n_extra = max(0, s.n_deals - nC) if nC else 0
    seg_w = np.array([3.0, 1.5, 1.0])[cust_seg] * (T - cust_t) / T
    extra_c = rng.choice(nC, size=n_extra, p=seg_w / seg_w.sum()) if n_extra else np.array([], int)
    deal_c = np.concatenate([np.arange(nC), extra_c])
    nD = len(deal_c)
    first = np.zeros(nD, bool)
    first[:nC] = True
    deal_t = np.where(
        first,
        cust_t[deal_c] + rng.uniform(0, 3, nD),
        cust_t[deal_c] + rng.uniform(0.05, 1, nD) * (T - cust_t[deal_c]),
    )
    keep = deal_t < T - 0.5
    deal_c, first, deal_t = deal_c[keep], first[keep], deal_t[keep]
    order = np.argsort(deal_t, kind="stable")
    deal_c, first, deal_t = deal_c[order], first[order], deal_t[order]
    nD = len(deal_c)
    d_rep = cu.rep[deal_c]
    d_seg = cust_seg[deal_c]
    d_pl = rng.choice(len(PRODUCT_LINES), size=nD, p=PL_PROB)
    amount = np.round(
        lognormal(rng, SEG_AMOUNT[d_seg] * np.array([1.3, 0.5, 0.8, 1.6])[d_pl], 0.75, nD), -2
    )
    amount = np.maximum(amount, 1000.0)
    sk = w.skills[d_rep]
    plan_rev = rng.poisson(1.4 * PL_TECH[d_pl] * np.exp(-0.45 * sk[:, 0]))
    terms_rev = rng.poisson(1.1 * np.array([1.5, 1.0, 0.8])[d_seg] * np.exp(-0.4 * sk[:, 1]))
    reply_h = w.reply_base[d_rep] * np.exp(0.5 * rng.standard_normal(nD))
    gl = go_live_of(w, cu.region[deal_c])
    reply_h = np.where(deal_t >= gl, reply_h * (1 + KPI_EFFECTS["first_response_hours"]), reply_h)
    quote_unans = rng.random(nD) < 0.22
    # latent engagement: engaged customers get more touches and win more often
    engage = rng.standard_normal(nD)
    s.deals = Deals(
        customer=deal_c,
        first=first,
        created=deal_t,
        ids=make_ids("D", s.offsets["deal"] + 1, nD, 7),
        rep=d_rep,
        segment=d_seg,
        region=cu.region[deal_c],
        product_line=d_pl,
        amount=amount,
        plan_revisions=plan_rev,
        terms_revisions=terms_rev,
        reply_hours=reply_h,
        quote_unanswered=quote_unans,
        engagement=engage,
    )


def deals_table(s: ChunkState, lead_ids: np.ndarray) -> pd.DataFrame:
    """The ``deals`` table of the chunk (``lead_ids``: the chunk's lead ids)."""
    d, st, cu, w = s.deals, s.stages, s.customers, s.world
    stage_names = np.array(DEFAULT_STAGE_ORDER, dtype=object)
    return pd.DataFrame(
        {
            "deal_id": d.ids,
            "customer_id": cu.ids[d.customer],
            "rep_id": w.reps["rep_id"].to_numpy()[d.rep],
            "lead_id": np.where(d.first, lead_ids[cu.lead][d.customer], None),
            "created_at": d.created,
            "stage": stage_names[st.current],
            "amount": d.amount,
            "product_line": np.array(PRODUCT_LINES, dtype=object)[d.product_line],
            "outcome": st.outcome,
            "closed_at": np.where(st.closed, st.close, np.nan),
        }
    )
