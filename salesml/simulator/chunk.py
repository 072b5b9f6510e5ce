"""One chunk of customers: the steps that generate its tables, in order."""

from __future__ import annotations

import numpy as np
import pandas as pd

from salesml.data.schema import DEFAULT_STAGE_ORDER
from salesml.simulator.helpers import lognormal, make_ids, sample_times, sigmoid
from salesml.simulator.params import (
    CH_CONV,
    CH_CUST_SHARE,
    CH_RESPONSE_H,
    CHANNELS,
    EXHIBITION_COST,
    KPI_EFFECTS,
    LOST_REASONS,
    MEDIA_CPL,
    PL_PROB,
    PL_TECH,
    PRODUCT_LINES,
    REGION_WEIGHTS,
    REGIONS,
    SEG_AMOUNT,
    SEG_LOGIT,
    SEGMENTS,
    SKU_COST,
    SKUS,
    SLA_HOURS,
    STAGE_ALPHA,
    STAGE_MEDIAN_DAYS,
    UNEXPLAINED_LOSS_SHARE,
    WIN_MODEL,
)
from salesml.simulator.state import ChunkOutput
from salesml.simulator.world import World

__all__ = ["simulate_chunk"]


def simulate_chunk(
    w: World,
    rng: np.random.Generator,
    n_cust_target: int,
    n_deal_target: int,
    offs: dict[str, int],
) -> ChunkOutput:
    cfg = w.cfg
    T = float(w.n_days)
    gl = w.go_live
    K = len(DEFAULT_STAGE_ORDER)
    n_ch = len(CHANNELS)
    cons: list[pd.DataFrame] = []  # true cost consumption rows

    # ------------------------------------------------------------------ leads
    n_leads_ch = rng.poisson(n_cust_target * CH_CUST_SHARE / CH_CONV)
    lead_ch = np.repeat(np.arange(n_ch), n_leads_ch)
    nL = len(lead_ch)
    lead_t = sample_times(rng, nL, w.day_w)
    # exhibition leads arrive during shows
    ex = lead_ch == CHANNELS.index("exhibition")
    ex_camps = np.flatnonzero(w.camp_channel == "exhibition")
    pick = rng.choice(ex_camps, size=ex.sum())
    lead_t[ex] = w.camp_start[pick] + rng.uniform(0, 5, ex.sum()) + rng.uniform(0, 0.2, ex.sum())
    lead_t = np.minimum(lead_t, T - 1e-3)
    lead_camp = np.full(nL, -1)
    lead_camp[ex] = pick
    for ch in ("online_ads", "wechat", "telesales"):
        m = lead_ch == CHANNELS.index(ch)
        cs = np.flatnonzero(w.camp_channel == ch)
        pos = np.searchsorted(w.camp_start[cs], lead_t[m], side="right") - 1
        lead_camp[m] = cs[np.clip(pos, 0, len(cs) - 1)]
    lead_region = rng.choice(5, size=nL, p=REGION_WEIGHTS)
    # first response
    resp_h = lognormal(rng, CH_RESPONSE_H[lead_ch], 1.0, nL)
    resp_h = np.where(lead_t >= gl, resp_h * (1 + KPI_EFFECTS["first_response_hours"]), resp_h)
    never = rng.random(nL) < 0.04
    resp_t = np.where(never, np.nan, lead_t + resp_h / 24.0)
    # conversion: faster responses convert more (normalised so channel mean ~ conv)
    fac = np.exp(-0.18 * (np.log1p(resp_h) - np.log1p(CH_RESPONSE_H[lead_ch])))
    p_conv = np.clip(CH_CONV[lead_ch] * fac, 0.01, 0.95)
    p_conv[never] *= 0.1
    converted = rng.random(nL) < p_conv
    conv_t = np.where(
        converted, np.nan_to_num(resp_t, nan=lead_t) + lognormal(rng, 6.0, 0.8, nL), np.nan
    )
    lost_t = np.where(~converted, lead_t + lognormal(rng, 12.0, 0.7, nL), np.nan)
    conv_ok = converted & (conv_t < T)
    lost_ok = ~converted & (lost_t < T)
    status = np.where(conv_ok, "converted", np.where(lost_ok, "lost", "open")).astype(object)
    resp_t = np.where(resp_t < T, resp_t, np.nan)
    has_reason = rng.random(nL) >= UNEXPLAINED_LOSS_SHARE
    reason_p = np.array([0.30, 0.22, 0.16, 0.14, 0.10, 0.08])
    reason = np.array(LOST_REASONS, dtype=object)[rng.choice(len(LOST_REASONS), nL, p=reason_p)]
    lost_reason = np.where(lost_ok & has_reason, reason, None)

    # ------------------------------------------------------------------ customers
    cust_lead = np.flatnonzero(conv_ok)
    nC = len(cust_lead)
    cust_ids = make_ids("C", offs["customer"] + 1, nC, 7)
    cust_ch = lead_ch[cust_lead]
    cust_region = lead_region[cust_lead]
    cust_t = conv_t[cust_lead]
    seg_p = np.array(
        [
            [0.10, 0.40, 0.50],
            [0.05, 0.35, 0.60],
            [0.30, 0.50, 0.20],
            [0.02, 0.18, 0.80],
            [0.12, 0.43, 0.45],
            [0.05, 0.35, 0.60],
            [0.35, 0.45, 0.20],
        ]
    )
    u = rng.random(nC)[:, None]
    cust_seg = (u > np.cumsum(seg_p[cust_ch], axis=1)).sum(axis=1)
    cust_seg = np.minimum(cust_seg, 2)
    walkin = cust_ch == CHANNELS.index("store_walkin")
    has_store = walkin | (rng.random(nC) < 0.55)
    n_reg_st = np.array([len(s) for s in w.stores_by_region])
    st_local = (rng.random(nC) * n_reg_st[cust_region]).astype(int)
    st_offset = np.concatenate([[0], np.cumsum(n_reg_st)[:-1]])
    cust_store = np.where(has_store, st_offset[cust_region] + st_local, -1)
    n_sel = np.array([len(s) for s in w.sellers_by_region])
    sel_local = (rng.random(nC) * n_sel[cust_region]).astype(int)
    sel_flat = np.concatenate(w.sellers_by_region)
    sel_offset = np.concatenate([[0], np.cumsum(n_sel)[:-1]])
    cust_rep = sel_flat[sel_offset[cust_region] + sel_local]
    lead_cust = np.full(nL, -1)
    lead_cust[cust_lead] = np.arange(nC)

    # ------------------------------------------------------------------ deals
    n_extra = max(0, n_deal_target - nC) if nC else 0
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
    deal_ids = make_ids("D", offs["deal"] + 1, nD, 7)
    d_rep = cust_rep[deal_c]
    d_seg = cust_seg[deal_c]
    d_region = cust_region[deal_c]
    d_pl = rng.choice(len(PRODUCT_LINES), size=nD, p=PL_PROB)
    amount = np.round(
        lognormal(rng, SEG_AMOUNT[d_seg] * np.array([1.3, 0.5, 0.8, 1.6])[d_pl], 0.75, nD), -2
    )
    amount = np.maximum(amount, 1000.0)
    sk = w.skills[d_rep]
    plan_rev = rng.poisson(1.4 * PL_TECH[d_pl] * np.exp(-0.45 * sk[:, 0]))
    terms_rev = rng.poisson(1.1 * np.array([1.5, 1.0, 0.8])[d_seg] * np.exp(-0.4 * sk[:, 1]))
    reply_h = w.reply_base[d_rep] * np.exp(0.5 * rng.standard_normal(nD))
    reply_h = np.where(deal_t >= gl, reply_h * (1 + KPI_EFFECTS["first_response_hours"]), reply_h)
    quote_unans = rng.random(nD) < 0.22
    # latent engagement: engaged customers get more touches and win more often
    engage = rng.standard_normal(nD)
    # stage pass probabilities
    wm = WIN_MODEL
    k_idx = np.arange(K)[None, :]
    base = (
        wm["skill_technical"] * sk[:, 0]
        + wm["skill_commercial"] * sk[:, 1]
        + wm["skill_delivery"] * sk[:, 2]
        + wm["log_amount_vs_segment"] * (np.log(amount) - np.log(SEG_AMOUNT[d_seg]))
        + SEG_LOGIT[d_seg]
        + wm["engagement"] * engage
        + wm["log_reply_delay_hours"]
        * (np.log(reply_h) - np.log(wm["reply_delay_reference_hours"]))
    )
    st = {s: i for i, s in enumerate(DEFAULT_STAGE_ORDER)}
    logit = STAGE_ALPHA[None, :] + base[:, None]
    logit = (
        logit
        + (k_idx >= st[wm["plan_revisions_from_stage"]])
        * (wm["plan_revisions_gt3"] * (plan_rev > 3))[:, None]
    )
    logit = (
        logit
        + (k_idx >= st[wm["terms_revisions_from_stage"]])
        * (wm["terms_revisions_ge3"] * (terms_rev >= 3))[:, None]
    )
    logit = (
        logit
        + (k_idx >= st[wm["quote_unanswered_from_stage"]])
        * (wm["quote_unanswered_48h"] * quote_unans)[:, None]
    )
    bp_r, bp_k = REGIONS.index(wm["breakpoint"]["region"]), st[wm["breakpoint"]["stage"]]
    logit[:, bp_k] += np.where(d_region == bp_r, wm["breakpoint"]["logit"], 0.0)
    pass_p = sigmoid(logit)
    passes = rng.random((nD, K)) < pass_p
    exit_k = np.where(passes.all(axis=1), K, np.argmin(passes, axis=1))  # first failed stage
    won_planned = exit_k == K
    dur = lognormal(
        rng, STAGE_MEDIAN_DAYS[None, :] * np.where(d_seg == 0, 1.4, 1.0)[:, None], 0.6, (nD, K)
    )
    entered = np.empty((nD, K))
    t_cur = deal_t.copy()
    for k in range(K):
        entered[:, k] = t_cur
        dk = np.where(t_cur >= gl, dur[:, k] * (1 + KPI_EFFECTS["stage_duration_days"]), dur[:, k])
        dur[:, k] = dk
        t_cur = t_cur + dk
    last_k = np.minimum(exit_k, K - 1)
    close_t = entered[np.arange(nD), last_k] + dur[np.arange(nD), last_k]
    closed = close_t < T
    reached = (k_idx <= last_k[:, None]) & (entered < T)
    cur_stage = reached.sum(axis=1) - 1
    outcome = np.where(closed, np.where(won_planned, "won", "lost"), "open").astype(object)
    decided = (k_idx < last_k[:, None]) | ((k_idx == last_k[:, None]) & closed[:, None])
    decided &= reached
    won = outcome == "won"
    stage_names = np.array(DEFAULT_STAGE_ORDER, dtype=object)
    # deal "life" for event placement: until close or the end
    life_end = np.where(closed, close_t, T)

    # ------------------------------------------------------------------ stage history
    sh_d, sh_k = np.nonzero(reached)
    stage_history = pd.DataFrame(
        {
            "deal_id": deal_ids[sh_d],
            "entered_at": entered[sh_d, sh_k],
            "stage": stage_names[sh_k],
        }
    )

    # ------------------------------------------------------------------ collaboration events
    ce_parts = []
    # plan revisions: before the proposal pass decision
    prop = st["proposal"]
    # events sit on the deal's planned timeline; those after it closes never happen, so
    # what is visible at any date carries no hint of the deal's future outcome
    pr_end = entered[:, prop] + 0.8 * dur[:, prop]
    rd = np.repeat(np.arange(nD), plan_rev)
    rt = deal_t[rd] + rng.random(len(rd)) * (pr_end[rd] - deal_t[rd])
    ok = rt <= life_end[rd]
    rd, rt = rd[ok], rt[ok]
    ce_parts.append(
        pd.DataFrame(
            {
                "d": rd,
                "role": "technical",
                "kind": "plan_revision",
                "t": rt,
                "actor": d_rep[rd],
                "quality": np.nan,
                "req": -1,
            }
        )
    )
    neg = st["negotiation"]
    tr_s = entered[:, prop]
    tr_end = entered[:, neg] + 0.8 * dur[:, neg]
    rd = np.repeat(np.arange(nD), terms_rev)
    rt = tr_s[rd] + rng.random(len(rd)) * np.maximum(tr_end[rd] - tr_s[rd], 0.01)
    ok = rt <= life_end[rd]
    rd, rt = rd[ok], rt[ok]
    ce_parts.append(
        pd.DataFrame(
            {
                "d": rd,
                "role": "commercial",
                "kind": "terms_revision",
                "t": rt,
                "actor": d_rep[rd],
                "quality": np.nan,
                "req": -1,
            }
        )
    )
    # requests to a colleague in the same region and responses
    # requests arrive at a constant rate while the deal is open (about 1.6 per 35 days)
    n_req = rng.poisson(1.6 / 35.0 * np.maximum(life_end - deal_t, 0.5))
    rq = np.repeat(np.arange(nD), n_req)
    nR = len(rq)
    role_i = rng.integers(0, 3, nR)
    reg = d_region[rq]
    n_all = np.array([np.sum(w.rep_region == r) for r in range(5)])
    all_by_region = [np.flatnonzero(w.rep_region == r) for r in range(5)]
    flat = np.concatenate(all_by_region)
    offs_r = np.concatenate([[0], np.cumsum(n_all)[:-1]])
    colleague = flat[offs_r[reg] + (rng.random(nR) * n_all[reg]).astype(int)]
    req_t = deal_t[rq] + rng.random(nR) * (life_end[rq] - deal_t[rq])
    csk = w.skills[colleague, role_i]
    resp_hours = np.exp(np.log(8.0) - 0.45 * csk + 0.5 * rng.standard_normal(nR))
    resp_hours = np.where(
        req_t >= gl, resp_hours * (1 + KPI_EFFECTS["collab_response_hours"]), resp_hours
    )
    quality = np.clip(np.round(3.0 + 0.9 * csk + 0.7 * rng.standard_normal(nR)), 1, 5)
    roles = np.array(["technical", "commercial", "delivery"], dtype=object)
    ce_parts.append(
        pd.DataFrame(
            {
                "d": rq,
                "role": roles[role_i],
                "kind": "request",
                "t": req_t,
                "actor": d_rep[rq],
                "quality": np.nan,
                "req": -1,
            }
        )
    )
    ce_parts.append(
        pd.DataFrame(
            {
                "d": rq,
                "role": roles[role_i],
                "kind": "response",
                "t": req_t + resp_hours / 24.0,
                "actor": colleague,
                "quality": quality,
                "req": np.arange(nR),
            }
        )
    )  # req filled below
    # delivery documents after a win
    wd = np.flatnonzero(won)
    n_doc = rng.poisson(1.5, len(wd))
    dd = np.repeat(wd, n_doc)
    dq = np.clip(
        np.round(3.0 + 0.9 * w.skills[d_rep[dd], 2] + 0.7 * rng.standard_normal(len(dd))), 1, 5
    )
    ce_parts.append(
        pd.DataFrame(
            {
                "d": dd,
                "role": "delivery",
                "kind": "doc_version",
                "t": close_t[dd] + rng.uniform(0.5, 20, len(dd)),
                "actor": d_rep[dd],
                "quality": dq,
                "req": -1,
            }
        )
    )
    ce = pd.concat(ce_parts, ignore_index=True)
    # ids: requests get ids first so responses can point at them
    n_ce = len(ce)
    ce_ids = make_ids("E", offs["event"] + 1, n_ce, 8)
    is_req = (ce["kind"] == "request").to_numpy()
    req_rows = np.flatnonzero(is_req)
    req_ref = np.full(n_ce, None, dtype=object)
    is_resp = (ce["kind"] == "response").to_numpy()
    req_ref[is_resp] = ce_ids[req_rows[ce["req"].to_numpy()[is_resp]]]
    ce_keep = ce["t"].to_numpy() < T
    collab = pd.DataFrame(
        {
            "event_id": ce_ids,
            "deal_id": deal_ids[ce["d"].to_numpy()],
            "role": ce["role"].to_numpy(),
            "actor_id": w.reps["rep_id"].to_numpy()[ce["actor"].to_numpy()],
            "kind": ce["kind"].to_numpy(),
            "occurred_at": ce["t"].to_numpy(),
            "request_id": req_ref,
            "quality": ce["quality"].to_numpy(),
        }
    )
    # a response after the end is unseen; its request stays
    collab = collab.loc[ce_keep]

    # ------------------------------------------------------------------ quotes
    qd = np.flatnonzero(reached[:, prop])
    n_q = 1 + rng.poisson(0.5 + 0.3 * np.minimum(terms_rev[qd], 5))
    q_d = np.repeat(qd, n_q)
    q_ver = np.concatenate([np.arange(1, n + 1) for n in n_q]) if len(n_q) else np.array([], int)
    q_last = np.r_[q_ver[1:] == 1, True] if len(q_ver) else np.array([], bool)
    span_s = entered[q_d, prop]
    span_e = entered[q_d, prop] + dur[q_d, prop] + 0.7 * dur[q_d, neg]
    frac = (q_ver - 1 + rng.random(len(q_d)) * 0.8) / n_q[np.repeat(np.arange(len(qd)), n_q)]
    q_sent = span_s + frac * np.maximum(span_e - span_s, 0.05)
    viewed = rng.random(len(q_d)) < 0.88
    q_view = np.where(viewed, q_sent + lognormal(rng, 0.25, 1.0, len(q_d)), np.nan)
    unans = quote_unans[q_d] & q_last
    q_reply = np.where(viewed & ~unans, q_view + lognormal(rng, 0.4, 0.9, len(q_d)), np.nan)
    q_reply = np.where(viewed & ~unans & (rng.random(len(q_d)) < 0.05), np.nan, q_reply)
    q_amount = np.round(amount[q_d] * (1.12 - 0.04 * q_ver), -1)
    qk = (q_sent < T) & (q_sent <= life_end[q_d])
    quotes = pd.DataFrame(
        {
            "quote_id": make_ids("Q", offs["quote"] + 1, len(q_d), 7),
            "deal_id": deal_ids[q_d],
            "version": q_ver,
            "sent_at": q_sent,
            "first_viewed_at": np.where(q_view < T, q_view, np.nan),
            "replied_at": np.where(q_reply < T, q_reply, np.nan),
            "amount": q_amount,
        }
    ).loc[qk]
    fv, rp = quotes["first_viewed_at"].to_numpy(), quotes["replied_at"].to_numpy()
    unanswered_quote_ids = quotes["quote_id"].to_numpy()[
        ~np.isnan(fv) & (np.where(np.isnan(rp), T, rp) - fv > 2.0) & (T - fv > 2.0)
    ]

    # ------------------------------------------------------------------ activities
    life = np.maximum(life_end - deal_t, 0.5)
    rate = cfg.activities_per_deal / 30.0  # per deal-day at a 40-day mean life
    mult = np.exp(wm["engagement_activity_rate"] * engage - 0.08)
    n_act = rng.poisson(np.clip(rate * life * mult, 1, 400) * (1 + KPI_EFFECTS["daily_touches"]))
    ad = np.repeat(np.arange(nD), n_act)
    nA = len(ad)
    u = rng.random(nA)  # a constant rate until the deal closes: no hint of the outcome
    a_t = deal_t[ad] + u * life[ad]
    # go-live: +12% touches after it; thin the earlier ones
    keep_a = (a_t >= gl) | (rng.random(nA) < 1.0 / (1 + KPI_EFFECTS["daily_touches"]))
    keep_a &= a_t < T
    ad, a_t = ad[keep_a], a_t[keep_a]
    kinds = np.array(
        ["visit", "call", "message", "email", "demo", "sample", "meeting"], dtype=object
    )
    kp = np.array([0.20, 0.24, 0.30, 0.10, 0.06, 0.03, 0.07])
    a_kind = kinds[rng.choice(len(kinds), size=len(ad), p=kp)]
    # account maintenance (no deal)
    n_maint = rng.poisson(np.array([6.0, 3.0, 1.5])[cust_seg] * (T - cust_t) / T)
    mc = np.repeat(np.arange(nC), n_maint)
    m_t = cust_t[mc] + rng.random(len(mc)) * (T - cust_t[mc])
    m_kind = kinds[rng.choice(4, size=len(mc), p=[0.3, 0.35, 0.25, 0.10])]
    # quote activities mirror quotes
    qv = quotes["first_viewed_at"].notna().to_numpy()
    q_deal_idx = (
        np.searchsorted(deal_ids, quotes["deal_id"].to_numpy())
        if len(quotes)
        else np.array([], int)
    )
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
    act_rep = np.where(act_d >= 0, d_rep[np.maximum(act_d, 0)], cust_rep[act_c])
    o = np.argsort(act_t, kind="stable")
    act_d, act_c, act_t, act_kind, act_rep = act_d[o], act_c[o], act_t[o], act_kind[o], act_rep[o]
    nA = len(act_t)
    chan_of = {
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
    act_channel = pd.Series(act_kind).map(chan_of).to_numpy(dtype=object)
    dmed = {"visit": 45.0, "call": 8.0, "meeting": 60.0, "demo": 90.0}
    duration = np.full(nA, np.nan)
    for kname, med in dmed.items():
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
    dl = np.where(act_d >= 0, reply_h[np.maximum(act_d, 0)], w.reply_base[act_rep])
    rdelay = dl * np.exp(0.6 * rng.standard_normal(nA)) / 24.0
    resp_act = np.where(msg & (rng.random(nA) > 0.03), act_t + rdelay, np.nan)
    resp_act = np.where(resp_act < T, resp_act, np.nan)
    act_ids = make_ids("A", offs["activity"] + 1, nA, 9)
    activities = pd.DataFrame(
        {
            "activity_id": act_ids,
            "customer_id": cust_ids[act_c],
            "deal_id": np.where(act_d >= 0, deal_ids[np.maximum(act_d, 0)], None),
            "rep_id": w.reps["rep_id"].to_numpy()[act_rep],
            "kind": act_kind,
            "channel": act_channel,
            "occurred_at": act_t,
            "duration_min": duration,
            "responded_at": resp_act,
            "quality": qual,
        }
    )

    # ------------------------------------------------------------------ contracts, payments
    wdeals = np.flatnonzero(won)
    nK = len(wdeals)
    k_ids = make_ids("K", offs["contract"] + 1, nK, 7)
    terms = rng.choice([30, 60, 90], size=nK, p=[0.4, 0.4, 0.2])
    contracts = pd.DataFrame(
        {
            "contract_id": k_ids,
            "deal_id": deal_ids[wdeals],
            "signed_at": close_t[wdeals],
            "amount": amount[wdeals],
            "payment_terms_days": terms,
        }
    )
    unpaid = rng.random(nK) < 0.07
    two = rng.random(nK) < 0.35
    n_pay = np.where(unpaid, 0, np.where(two, 2, 1))
    pk = np.repeat(np.arange(nK), n_pay)
    inst = np.concatenate([np.arange(n) for n in n_pay]) if nK else np.array([], int)
    frac_amt = np.where(two[pk], 0.5, 1.0)
    pay_t = (
        close_t[wdeals][pk]
        + np.where(inst == 0, 0.5, 1.0) * terms[pk]
        + rng.normal(3, 6, len(pk)).clip(-5, 60)
    )
    pay_t = np.maximum(pay_t, close_t[wdeals][pk] + 0.1)
    payments = pd.DataFrame(
        {
            "payment_id": make_ids("P", offs["payment"] + 1, len(pk), 7),
            "contract_id": k_ids[pk],
            "paid_at": pay_t,
            "amount": np.round(amount[wdeals][pk] * frac_amt, 2),
        }
    ).loc[pay_t < T]

    # ------------------------------------------------------------------ material movements
    mm = []
    # redemptions to store customers
    sc = np.flatnonzero(cust_store >= 0)
    n_red = rng.poisson(1.6, len(sc))
    rc = np.repeat(sc, n_red)
    r_t = cust_t[rc] + rng.random(len(rc)) * np.minimum(120.0, T - cust_t[rc])
    r_sku = rng.choice(len(SKUS), size=len(rc), p=[0.15, 0.2, 0.15, 0.25, 0.15, 0.1])
    r_qty = rng.integers(1, 4, len(rc)).astype(float)
    r_store = cust_store[rc]
    anomalous = (r_store == w.anomalous_store) & (r_t >= w.anomaly_since)
    r_qty = np.where(anomalous, np.round(r_qty * 2.4), r_qty)
    scanned = ~anomalous
    mm.append(
        pd.DataFrame(
            {
                "store": r_store,
                "sku": r_sku,
                "kind": "redeem",
                "qty": r_qty,
                "t": r_t,
                "scanned": scanned,
                "cust": np.where(anomalous, -1, rc),
                "ref": -1,
                "true_cust": rc,
            }
        )
    )
    r_keep = r_t < T
    red_cost = r_qty * SKU_COST[r_sku]
    cons.append(
        pd.DataFrame(
            {
                "category": "store_materials",
                "amount": red_cost[r_keep],
                "customer": rc[r_keep],
                "lead_channel": -1,
                "t": r_t[r_keep],
                "pool": r_store[r_keep],
                "pool_kind": "store",
            }
        )
    )
    # receipts, internal issues, transfers and losses per store-month (chunk share)
    n_months = int(np.ceil(T / 30.4))
    st_ix = np.repeat(np.arange(len(w.stores)), n_months)
    mo = np.tile(np.arange(n_months), len(w.stores))
    share = n_cust_target / max(cfg.n_customers, 1)
    for kind, lam in (("receive", 3.0), ("issue", 1.5), ("loss", 0.2), ("transfer_out", 0.3)):
        cnt = rng.poisson(lam * min(1.0, share * 3), len(st_ix))
        ii = np.repeat(np.arange(len(st_ix)), cnt)
        t_ = np.minimum(mo[ii] * 30.4 + rng.random(len(ii)) * 30.4, T - 0.01)
        qty = (
            rng.integers(5, 60, len(ii)).astype(float)
            if kind == "receive"
            else rng.integers(1, 8, len(ii)).astype(float)
        )
        s_ = st_ix[ii]
        ref = np.full(len(ii), -1)
        if kind == "transfer_out":
            reg = w.store_region[s_]
            ref = (
                np.array([rng.choice(w.stores_by_region[r]) for r in reg], dtype=int)
                if len(reg)
                else ref
            )
            same = ref == s_
            ref[same] = (ref[same] + 1) % len(w.stores)
            sku_ = rng.integers(0, len(SKUS), len(ii))
            mm.append(
                pd.DataFrame(
                    {
                        "store": s_,
                        "sku": sku_,
                        "kind": "transfer_out",
                        "qty": qty,
                        "t": t_,
                        "scanned": True,
                        "cust": -1,
                        "ref": ref,
                        "true_cust": -1,
                    }
                )
            )
            mm.append(
                pd.DataFrame(
                    {
                        "store": ref,
                        "sku": sku_,
                        "kind": "transfer_in",
                        "qty": qty,
                        "t": t_ + 0.5,
                        "scanned": True,
                        "cust": -1,
                        "ref": s_,
                        "true_cust": -1,
                    }
                )
            )
            continue
        mm.append(
            pd.DataFrame(
                {
                    "store": s_,
                    "sku": rng.integers(0, len(SKUS), len(ii)),
                    "kind": kind,
                    "qty": qty,
                    "t": t_,
                    "scanned": True,
                    "cust": -1,
                    "ref": ref,
                    "true_cust": -1,
                }
            )
        )
    mmv = pd.concat(mm, ignore_index=True)
    mmv = mmv.loc[mmv["t"].to_numpy() < T].sort_values("t", kind="stable")
    store_ids = w.stores["store_id"].to_numpy()
    movements = pd.DataFrame(
        {
            "movement_id": make_ids("M", offs["movement"] + 1, len(mmv), 8),
            "store_id": store_ids[mmv["store"].to_numpy()],
            "sku": np.array(SKUS, dtype=object)[mmv["sku"].to_numpy()],
            "kind": mmv["kind"].to_numpy(dtype=object),
            "qty": mmv["qty"].to_numpy(float),
            "unit_cost": SKU_COST[mmv["sku"].to_numpy()],
            "occurred_at": mmv["t"].to_numpy(),
            "scanned": mmv["scanned"].to_numpy(bool),
            "customer_id": np.where(
                mmv["cust"].to_numpy() >= 0, cust_ids[np.maximum(mmv["cust"].to_numpy(), 0)], None
            ),
            "ref_store_id": np.where(
                mmv["ref"].to_numpy() >= 0, store_ids[np.maximum(mmv["ref"].to_numpy(), 0)], None
            ),
        }
    )
    # planted anomaly: the store's material cost per customer vs its region's other stores
    red = mmv[(mmv["kind"] == "redeem") & (mmv["t"] >= w.anomaly_since)]
    reg_of = w.store_region[red["store"].to_numpy()]
    cpc = (red["qty"] * SKU_COST[red["sku"].to_numpy()]).groupby(
        red["store"].to_numpy()
    ).sum() / red.groupby("store")["true_cust"].nunique()
    same_reg = [
        s
        for s in cpc.index
        if w.store_region[s] == w.store_region[w.anomalous_store] and s != w.anomalous_store
    ]
    anomaly_ratio = (
        float(cpc.get(w.anomalous_store, np.nan) / cpc.loc[same_reg].mean())
        if same_reg
        else float("nan")
    )
    del reg_of

    # ------------------------------------------------------------------ approvals
    ap_c = np.flatnonzero(cust_seg <= 1)
    sub1 = cust_t[ap_c] + rng.uniform(0.05, 2, len(ap_c))
    n_ap = len(ap_c)

    def decide(submitted: np.ndarray, breach_rate: float, median_h: float, reject_rate: float):
        """Decision times (a planted share beyond the SLA) and rejections of one step."""
        breach = rng.random(n_ap) < breach_rate
        hours = np.where(
            breach,
            rng.uniform(50, 200, n_ap),
            lognormal(rng, median_h, 0.6, n_ap).clip(0.5, 46),
        )
        return submitted + hours / 24.0, rng.random(n_ap) < reject_rate

    dec1, rej1 = decide(sub1, 0.10, 14.0, 0.05)
    sub2 = dec1 + rng.uniform(0.1, 3, n_ap)
    dec2, rej2 = decide(sub2, 0.08, 10.0, 0.04)
    has2 = ~rej1
    mgr_pick = np.array([w.managers_by_region[r][0] for r in range(5)])
    rev = w.reps["rep_id"].to_numpy()[mgr_pick[cust_region[ap_c]]]
    ap = pd.DataFrame(
        {
            "c": np.r_[ap_c, ap_c[has2]],
            "step": np.r_[np.full(len(ap_c), "initial"), np.full(has2.sum(), "final")],
            "rev": np.r_[rev, rev[has2]],
            "sub": np.r_[sub1, sub2[has2]],
            "dec": np.r_[dec1, dec2[has2]],
            "rej": np.r_[rej1, rej2[has2]],
        }
    )
    ap = ap.loc[ap["sub"].to_numpy() < T].sort_values("sub", kind="stable")
    dec = ap["dec"].to_numpy()
    pending = dec >= T
    approvals = pd.DataFrame(
        {
            "approval_id": make_ids("AP", offs["approval"] + 1, len(ap), 7),
            "subject_id": cust_ids[ap["c"].to_numpy()],
            "step": ap["step"].to_numpy(dtype=object),
            "reviewer_id": ap["rev"].to_numpy(dtype=object),
            "submitted_at": ap["sub"].to_numpy(),
            "decided_at": np.where(pending, np.nan, dec),
            "decision": np.where(
                pending, "pending", np.where(ap["rej"].to_numpy(), "rejected", "approved")
            ).astype(object),
        }
    )
    waited = np.where(pending, T, dec) - ap["sub"].to_numpy()
    sla_breach_ids = approvals["approval_id"].to_numpy()[waited * 24 > SLA_HOURS]

    # ------------------------------------------------------------------ true cost consumption
    lead_c_of = lead_cust  # -1 when the lead never became a customer
    ch_name = np.array(CHANNELS, dtype=object)
    # media + content + referral + events on leads
    for ch, cpl in MEDIA_CPL.items():
        m = lead_ch == CHANNELS.index(ch)
        c = (
            cpl
            * np.where(lead_t[m] >= gl, 1 + KPI_EFFECTS["media_cost_per_lead"], 1.0)
            * np.exp(0.3 * rng.standard_normal(m.sum()))
        )
        cons.append(
            pd.DataFrame(
                {
                    "category": "media",
                    "amount": c,
                    "customer": lead_c_of[m],
                    "lead_channel": lead_ch[m],
                    "t": lead_t[m],
                    "pool": lead_camp[m],
                    "pool_kind": "campaign_month",
                }
            )
        )
    m = lead_ch == CHANNELS.index("exhibition")
    if m.any():
        wts = np.exp(0.3 * rng.standard_normal(m.sum()))
        camp_of = lead_camp[m]
        tot = pd.Series(wts).groupby(camp_of).transform("sum").to_numpy()
        cons.append(
            pd.DataFrame(
                {
                    "category": "events",
                    "amount": EXHIBITION_COST * share * wts / tot,
                    "customer": lead_c_of[m],
                    "lead_channel": lead_ch[m],
                    "t": lead_t[m],
                    "pool": camp_of,
                    "pool_kind": "campaign",
                }
            )
        )
    for ch, cpl, cat in (
        ("wechat", 35.0, "content"),
        ("online_ads", 25.0, "content"),
        ("referral", 300.0, "community_referral"),
    ):
        m = lead_ch == CHANNELS.index(ch)
        cons.append(
            pd.DataFrame(
                {
                    "category": cat,
                    "amount": cpl * np.exp(0.3 * rng.standard_normal(m.sum())),
                    "customer": lead_c_of[m],
                    "lead_channel": lead_ch[m],
                    "t": lead_t[m],
                    "pool": CHANNELS.index(ch),
                    "pool_kind": "channel_month",
                }
            )
        )
    # activity-driven costs
    a_cust = act_c
    is_visit = act_kind == "visit"
    a_rep = act_rep
    cons.append(
        pd.DataFrame(
            {
                "category": "travel",
                "amount": 150.0 * np.exp(0.6 * rng.standard_normal(is_visit.sum())),
                "customer": a_cust[is_visit],
                "lead_channel": -1,
                "t": act_t[is_visit],
                "pool": a_rep[is_visit],
                "pool_kind": "rep_month",
                "activity": np.flatnonzero(is_visit),
            }
        )
    )
    fl = np.isin(act_kind, ["visit", "demo"]) & (cust_store[a_cust] >= 0)
    cons.append(
        pd.DataFrame(
            {
                "category": "field_promotion_labor",
                "amount": duration[fl] / 60.0 * 60.0 * np.exp(0.3 * rng.standard_normal(fl.sum())),
                "customer": a_cust[fl],
                "lead_channel": -1,
                "t": act_t[fl],
                "pool": cust_store[a_cust[fl]],
                "pool_kind": "store_month",
                "activity": np.flatnonzero(fl),
            }
        )
    )
    smp = act_kind == "sample"
    cons.append(
        pd.DataFrame(
            {
                "category": "samples",
                "amount": np.round(800.0 * np.exp(0.5 * rng.standard_normal(smp.sum())), 2),
                "customer": a_cust[smp],
                "lead_channel": -1,
                "t": act_t[smp],
                "pool": a_rep[smp],
                "pool_kind": "direct_or_rep_month",
                "activity": np.flatnonzero(smp),
            }
        )
    )
    gm = np.isin(act_kind, ["visit", "meeting"]) & (rng.random(nA) < 0.3)
    cons.append(
        pd.DataFrame(
            {
                "category": "gifts",
                "amount": np.round(200.0 * np.exp(0.4 * rng.standard_normal(gm.sum())), 2),
                "customer": a_cust[gm],
                "lead_channel": -1,
                "t": act_t[gm],
                "pool": a_rep[gm],
                "pool_kind": "direct",
                "activity": np.flatnonzero(gm),
            }
        )
    )
    # tools: 500 CNY per rep-month (chunk share), consumed equally by that rep's activities
    a_month = w.month_of(act_t)
    key = a_rep * 1000 + a_month
    n_in = pd.Series(1.0, index=key).groupby(level=0).transform("sum").to_numpy()
    cons.append(
        pd.DataFrame(
            {
                "category": "tools",
                "amount": 500.0 * share / n_in,
                "customer": a_cust,
                "lead_channel": -1,
                "t": act_t,
                "pool": a_rep,
                "pool_kind": "rep_month",
                "activity": np.arange(nA),
            }
        )
    )
    # deal-driven: commissions on won deals, channel fees on partner deals
    wd_ = np.flatnonzero(won)
    cons.append(
        pd.DataFrame(
            {
                "category": "commissions",
                "amount": np.round(0.03 * amount[wd_], 2),
                "customer": deal_c[wd_],
                "lead_channel": -1,
                "t": close_t[wd_],
                "pool": wd_,
                "pool_kind": "deal",
            }
        )
    )
    pdl = wd_[cust_ch[deal_c[wd_]] == CHANNELS.index("partner")]
    cons.append(
        pd.DataFrame(
            {
                "category": "channel_fees",
                "amount": np.round(0.05 * amount[pdl], 2),
                "customer": deal_c[pdl],
                "lead_channel": -1,
                "t": close_t[pdl],
                "pool": pdl,
                "pool_kind": "deal",
            }
        )
    )
    consumption = pd.concat(cons, ignore_index=True)
    consumption = consumption.loc[consumption["t"].to_numpy() < T]
    cc = consumption["customer"].to_numpy()
    lc = consumption["lead_channel"].to_numpy()
    consumption["channel"] = np.where(cc >= 0, cust_ch[np.maximum(cc, 0)], lc)

    # ------------------------------------------------------------------ ledger
    costs = record_ledger(
        w, rng, consumption, lead_camp, offs, act_ids, deal_ids, act_rep, d_rep, cust_store
    )

    # ------------------------------------------------------------------ assemble
    lead_ids = make_ids("L", offs["lead"] + 1, nL, 8)
    leads = pd.DataFrame(
        {
            "lead_id": lead_ids,
            "customer_id": np.where(lead_cust >= 0, cust_ids[np.maximum(lead_cust, 0)], None),
            "channel": ch_name[lead_ch],
            "campaign_id": np.where(
                lead_camp >= 0,
                w.campaigns["campaign_id"].to_numpy()[np.maximum(lead_camp, 0)],
                None,
            ),
            "created_at": lead_t,
            "first_response_at": resp_t,
            "status": status,
            "lost_reason": lost_reason,
            "converted_at": np.where(conv_ok, conv_t, np.nan),
            "lost_at": np.where(lost_ok, lost_t, np.nan),
        }
    ).sort_values("created_at", kind="stable")
    customers = pd.DataFrame(
        {
            "customer_id": cust_ids,
            "segment": np.array(SEGMENTS, dtype=object)[cust_seg],
            "region": np.array(REGIONS, dtype=object)[cust_region],
            "source_channel": ch_name[cust_ch],
            "created_at": cust_t,
            "store_id": np.where(cust_store >= 0, store_ids[np.maximum(cust_store, 0)], None),
            "owner_rep_id": w.reps["rep_id"].to_numpy()[cust_rep],
        }
    )
    deals = pd.DataFrame(
        {
            "deal_id": deal_ids,
            "customer_id": cust_ids[deal_c],
            "rep_id": w.reps["rep_id"].to_numpy()[d_rep],
            "lead_id": np.where(first, lead_ids[cust_lead][deal_c], None),
            "created_at": deal_t,
            "stage": stage_names[cur_stage],
            "amount": amount,
            "product_line": np.array(PRODUCT_LINES, dtype=object)[d_pl],
            "outcome": outcome,
            "closed_at": np.where(closed, close_t, np.nan),
        }
    )

    # acquisition: first won deal close per customer
    acq = np.full(nC, np.nan)
    if won.any():
        s = pd.Series(close_t[won]).groupby(deal_c[won]).min()
        acq[s.index.to_numpy()] = s.to_numpy()

    # true acquisition cost: consumption dated at or before the customer's acquisition
    cidx = consumption["customer"].to_numpy()
    t_c = consumption["t"].to_numpy()
    acq_t = np.where(cidx >= 0, acq[np.maximum(cidx, 0)], np.nan)
    counts = (cidx < 0) | np.isnan(acq_t) | (t_c <= acq_t + 1e-9)
    amt = consumption["amount"].to_numpy() * counts
    cust_cost = np.bincount(cidx[cidx >= 0], weights=amt[cidx >= 0], minlength=nC)
    channel_cost = np.bincount(
        consumption["channel"].to_numpy().astype(int), weights=amt, minlength=n_ch
    )
    del consumption
    lost_mask = status == "lost"
    reasons = pd.Series(lost_reason[lost_mask]).value_counts().to_dict()
    chunk = ChunkOutput(
        tables={
            "leads": leads,
            "customers": customers,
            "deals": deals,
            "stage_history": stage_history,
            "activities": activities,
            "quotes": quotes,
            "contracts": contracts,
            "payments": payments,
            "costs": costs,
            "material_movements": movements,
            "approvals": approvals,
            "collab_events": collab,
        },
        cust_cost=cust_cost,
        channel_cost=channel_cost,
        cust_channel=cust_ch,
        cust_acq=acq,
        cust_ids=cust_ids,
        deal_ids=deal_ids,
        pass_prob=pass_p,
        deal_region=d_region,
        reached=reached,
        passed=decided & passes,
        lost_leads=int(lost_mask.sum()),
        lost_no_reason=int((lost_mask & (lost_reason == None)).sum()),  # noqa: E711
        reasons={str(k): int(v) for k, v in reasons.items()},
        response_hours=((resp_t - lead_t) * 24.0)[~np.isnan(resp_t)],
        sla_breach_ids=sla_breach_ids,
        unanswered_quote_ids=unanswered_quote_ids,
        unpaid_contract_ids=k_ids[unpaid],
        anomaly_cost_ratio=anomaly_ratio,
    )
    return chunk


def record_ledger(
    w: World,
    rng: np.random.Generator,
    cons: pd.DataFrame,
    lead_camp: np.ndarray,
    offs: dict[str, int],
    act_ids: np.ndarray,
    deal_ids: np.ndarray,
    act_rep: np.ndarray,
    d_rep: np.ndarray,
    cust_store: np.ndarray,
) -> pd.DataFrame:
    """Record true consumption the way a real ledger does (direct lines and pools)."""
    T = float(w.n_days)
    # ledgers book by calendar month, on the month's last day
    month = w.month_of(cons["t"].to_numpy())
    month_end = np.minimum(w.month_starts[month + 1] - 0.5, T - 0.01)
    rep_ids = w.reps["rep_id"].to_numpy()
    store_ids = w.stores["store_id"].to_numpy()
    camp_ids = w.campaigns["campaign_id"].to_numpy()
    ch_name = np.array(CHANNELS, dtype=object)
    cat = cons["category"].to_numpy()
    pool = cons["pool"].to_numpy()
    out = []

    def agg(mask: np.ndarray, keys: dict[str, np.ndarray], when: np.ndarray) -> pd.DataFrame:
        df = pd.DataFrame(
            {
                **{k: v[mask] for k, v in keys.items()},
                "amount": cons["amount"].to_numpy()[mask],
                "when": when[mask],
            }
        )
        g = df.groupby(list(keys), sort=True, dropna=False).agg(
            amount=("amount", "sum"), when=("when", "max")
        )
        return g.reset_index()

    cat_arr = np.asarray(cat)
    amount = cons["amount"].to_numpy()
    when = cons["t"].to_numpy()
    # pooled lines: one per pool (campaign, channel, rep or store) and calendar month
    pooled = {
        "media": ("campaign_id", camp_ids),
        "content": ("channel", ch_name),
        "community_referral": ("channel", ch_name),
        "travel": ("rep_id", rep_ids),
        "tools": ("rep_id", rep_ids),
        "field_promotion_labor": ("store_id", store_ids),
        "store_materials": ("store_id", store_ids),
    }
    for c, (link, ids) in pooled.items():
        g = agg(cat_arr == c, {"pool": pool, "month": month}, month_end)
        line = {"category": c, "amount": g["amount"], "incurred_at": g["when"]}
        line[link] = ids[g["pool"].to_numpy()]
        if c == "media":
            line["channel"] = w.camp_channel[g["pool"].to_numpy()]
        out.append(pd.DataFrame(line))
    # events: one line per exhibition, dated at its start
    g = agg(cat_arr == "events", {"camp": pool}, when)
    out.append(
        pd.DataFrame(
            {
                "category": "events",
                "amount": g["amount"],
                "incurred_at": w.camp_start[g["camp"].to_numpy()],
                "campaign_id": camp_ids[g["camp"].to_numpy()],
                "channel": "exhibition",
            }
        )
    )

    def by_activity(c: str, mask: np.ndarray) -> pd.DataFrame:
        ai = act[mask].astype(int)
        return pd.DataFrame(
            {
                "category": c,
                "amount": amount[mask],
                "incurred_at": when[mask],
                "activity_id": act_ids[ai],
                "rep_id": rep_ids[act_rep[ai]],
            }
        )

    # samples: 60% booked per activity, 40% per rep and month; gifts: per activity
    act = cons["activity"].to_numpy()
    m = cat_arr == "samples"
    direct = m & (rng.random(len(cons)) < 0.6)
    out.append(by_activity("samples", direct))
    g = agg(m & ~direct, {"rep": pool, "month": month}, month_end)
    out.append(
        pd.DataFrame(
            {
                "category": "samples",
                "amount": g["amount"],
                "incurred_at": g["when"],
                "rep_id": rep_ids[g["rep"].to_numpy()],
            }
        )
    )
    out.append(by_activity("gifts", cat_arr == "gifts"))
    # commissions / channel fees: per won deal
    for c in ("commissions", "channel_fees"):
        m = cat_arr == c
        di = pool[m].astype(int)
        out.append(
            pd.DataFrame(
                {
                    "category": c,
                    "amount": amount[m],
                    "incurred_at": when[m],
                    "deal_id": deal_ids[di],
                    "rep_id": rep_ids[d_rep[di]] if c == "commissions" else None,
                    "channel": "partner" if c == "channel_fees" else None,
                }
            )
        )
    led = pd.concat(out, ignore_index=True)
    led = led.loc[led["amount"].to_numpy() > 0].sort_values("incurred_at", kind="stable")
    led["amount"] = np.round(led["amount"].to_numpy(), 2)
    for col in ("campaign_id", "channel", "store_id", "rep_id", "activity_id", "deal_id"):
        if col not in led:
            led[col] = None
    led.insert(0, "cost_id", make_ids("X", offs["cost"] + 1, len(led), 8))
    return led[
        [
            "cost_id",
            "category",
            "amount",
            "incurred_at",
            "campaign_id",
            "channel",
            "store_id",
            "rep_id",
            "activity_id",
            "deal_id",
        ]
    ].reset_index(drop=True)
