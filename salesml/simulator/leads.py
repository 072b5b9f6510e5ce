"""Step: leads arrive by channel, get a first response, convert, are lost or stay open."""

from __future__ import annotations

import numpy as np
import pandas as pd

from salesml.simulator.helpers import lognormal, make_ids, sample_times
from salesml.simulator.lead_owners import lead_owners
from salesml.simulator.lead_quality import lead_signal_columns, plant_lead_quality
from salesml.simulator.params import (
    CH_CONV,
    CH_CUST_SHARE,
    CH_RESPONSE_H,
    CHANNELS,
    KPI_EFFECTS,
    LOST_REASONS,
    REGION_WEIGHTS,
    UNEXPLAINED_LOSS_SHARE,
)
from salesml.simulator.rollout import go_live_of, season
from salesml.simulator.state import ChunkState, Leads

__all__ = ["draw_leads", "leads_table"]

# lost-reason shares among lost leads that have a reason (order of LOST_REASONS)
_REASON_P = np.array([0.30, 0.22, 0.16, 0.14, 0.10, 0.08])


def draw_leads(s: ChunkState) -> None:
    """Leads per channel with seasonality; response, conversion and loss times.

    Each channel gets ``Poisson(n_customers * customer share / conversion)`` leads.
    Exhibition leads arrive during shows; campaign channels' leads belong to the
    campaign running at the time. Faster first responses convert more often.
    """
    w, rng = s.world, s.rng
    T = s.end
    n_ch = len(CHANNELS)
    n_leads_ch = rng.poisson(s.n_customers * CH_CUST_SHARE / CH_CONV)
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
    gl = go_live_of(w, lead_region)
    resp_h = np.where(lead_t >= gl, resp_h * (1 + KPI_EFFECTS["first_response_hours"]), resp_h)
    if w.cfg.kpi_seasonality:
        resp_h = resp_h * season(w.t0, lead_t)
    never = rng.random(nL) < 0.04
    resp_t = np.where(never, np.nan, lead_t + resp_h / 24.0)
    # conversion: faster responses convert more (normalised so channel mean ~ conv)
    fac = np.exp(-0.18 * (np.log1p(resp_h) - np.log1p(CH_RESPONSE_H[lead_ch])))
    p_conv = np.clip(CH_CONV[lead_ch] * fac, 0.01, 0.95)
    p_conv[never] *= 0.1
    if s.quality_rng is not None:  # opt-in; its own stream, the shared one is unchanged
        p_conv, s.lead_quality = plant_lead_quality(s.quality_rng, lead_t, p_conv)
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
    reason = np.array(LOST_REASONS, dtype=object)[rng.choice(len(LOST_REASONS), nL, p=_REASON_P)]
    s.leads = Leads(
        channel=lead_ch,
        created=lead_t,
        campaign=lead_camp,
        region=lead_region,
        first_response=resp_t,
        converted_at=conv_t,
        lost_at=lost_t,
        converted=conv_ok,
        lost=lost_ok,
        status=status,
        lost_reason=np.where(lost_ok & has_reason, reason, None),
    )


def leads_table(s: ChunkState) -> pd.DataFrame:
    """The ``leads`` table of the chunk (ids numbered after earlier chunks')."""
    ld, cu, w = s.leads, s.customers, s.world
    lead_cust = cu.of_lead
    planted = lead_signal_columns(s.lead_quality, w.t0, s.end) if s.lead_quality is not None else {}
    return pd.DataFrame(
        {
            "lead_id": lead_ids(s),
            "customer_id": np.where(lead_cust >= 0, cu.ids[np.maximum(lead_cust, 0)], None),
            "channel": np.array(CHANNELS, dtype=object)[ld.channel],
            "campaign_id": np.where(
                ld.campaign >= 0,
                w.campaigns["campaign_id"].to_numpy()[np.maximum(ld.campaign, 0)],
                None,
            ),
            "created_at": ld.created,
            "first_response_at": ld.first_response,
            "status": ld.status,
            "lost_reason": ld.lost_reason,
            "converted_at": np.where(ld.converted, ld.converted_at, np.nan),
            "lost_at": np.where(ld.lost, ld.lost_at, np.nan),
            **planted,
            "rep_id": lead_owners(s),
        }
    ).sort_values("created_at", kind="stable")


def lead_ids(s: ChunkState) -> np.ndarray:
    """The ids of the chunk's leads, by lead position."""
    return make_ids("L", s.offsets["lead"] + 1, len(s.leads.channel), 8)
