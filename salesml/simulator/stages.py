"""Step: each deal's pass through the stage order (the planted win process)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from salesml.data.schema import DEFAULT_STAGE_ORDER
from salesml.simulator.helpers import lognormal, sigmoid
from salesml.simulator.params import (
    KPI_EFFECTS,
    REGIONS,
    SEG_AMOUNT,
    SEG_LOGIT,
    STAGE_ALPHA,
    STAGE_MEDIAN_DAYS,
    WIN_MODEL,
)
from salesml.simulator.rollout import go_live_of
from salesml.simulator.state import ChunkState, Deals, Stages

__all__ = ["STAGE_INDEX", "draw_stages", "pass_logits"]

#: Position of each stage in the default stage order.
STAGE_INDEX: dict[str, int] = {name: i for i, name in enumerate(DEFAULT_STAGE_ORDER)}


def pass_logits(d: Deals, skills: np.ndarray) -> np.ndarray:
    """Logit of passing each stage, ``(n_deals, K)``, from :data:`WIN_MODEL`.

    ``skills`` holds the reps' latent skills ``(n_reps, 3)``.
    """
    wm = WIN_MODEL
    K = len(DEFAULT_STAGE_ORDER)
    k_idx = np.arange(K)[None, :]
    sk = skills[d.rep]
    base = (
        wm["skill_technical"] * sk[:, 0]
        + wm["skill_commercial"] * sk[:, 1]
        + wm["skill_delivery"] * sk[:, 2]
        + wm["log_amount_vs_segment"] * (np.log(d.amount) - np.log(SEG_AMOUNT[d.segment]))
        + SEG_LOGIT[d.segment]
        + wm["engagement"] * d.engagement
        + wm["log_reply_delay_hours"]
        * (np.log(d.reply_hours) - np.log(wm["reply_delay_reference_hours"]))
    )
    st = STAGE_INDEX
    logit = STAGE_ALPHA[None, :] + base[:, None]
    logit = (
        logit
        + (k_idx >= st[wm["plan_revisions_from_stage"]])
        * (wm["plan_revisions_gt3"] * (d.plan_revisions > 3))[:, None]
    )
    logit = (
        logit
        + (k_idx >= st[wm["terms_revisions_from_stage"]])
        * (wm["terms_revisions_ge3"] * (d.terms_revisions >= 3))[:, None]
    )
    logit = (
        logit
        + (k_idx >= st[wm["quote_unanswered_from_stage"]])
        * (wm["quote_unanswered_48h"] * d.quote_unanswered)[:, None]
    )
    bp_r, bp_k = REGIONS.index(wm["breakpoint"]["region"]), st[wm["breakpoint"]["stage"]]
    logit[:, bp_k] += np.where(d.region == bp_r, wm["breakpoint"]["logit"], 0.0)
    return logit


def draw_stages(s: ChunkState) -> None:
    """Pass decisions and durations per stage; the deal's timeline and outcome.

    A deal passes stage *k* with probability ``sigmoid(pass_logits)``; it is won
    when it passes every stage and closes (won or lost) at the end of the last
    stage it enters. Stage durations shrink after the go-live. Writes the
    ``stage_history`` table.
    """
    w, rng, d = s.world, s.rng, s.deals
    T = s.end
    gl = go_live_of(w, d.region)
    K = len(DEFAULT_STAGE_ORDER)
    nD = len(d.ids)
    k_idx = np.arange(K)[None, :]
    pass_p = sigmoid(pass_logits(d, w.skills))
    passes = rng.random((nD, K)) < pass_p
    exit_k = np.where(passes.all(axis=1), K, np.argmin(passes, axis=1))  # first failed stage
    won_planned = exit_k == K
    dur = lognormal(
        rng, STAGE_MEDIAN_DAYS[None, :] * np.where(d.segment == 0, 1.4, 1.0)[:, None], 0.6, (nD, K)
    )
    entered = np.empty((nD, K))
    t_cur = d.created.copy()
    for k in range(K):
        entered[:, k] = t_cur
        dk = np.where(t_cur >= gl, dur[:, k] * (1 + KPI_EFFECTS["stage_duration_days"]), dur[:, k])
        dur[:, k] = dk
        t_cur = t_cur + dk
    last_k = np.minimum(exit_k, K - 1)
    close_t = entered[np.arange(nD), last_k] + dur[np.arange(nD), last_k]
    closed = close_t < T
    reached = (k_idx <= last_k[:, None]) & (entered < T)
    outcome = np.where(closed, np.where(won_planned, "won", "lost"), "open").astype(object)
    decided = (k_idx < last_k[:, None]) | ((k_idx == last_k[:, None]) & closed[:, None])
    decided &= reached
    s.stages = Stages(
        pass_prob=pass_p,
        passes=passes,
        duration=dur,
        entered=entered,
        last=last_k,
        close=close_t,
        closed=closed,
        reached=reached,
        current=reached.sum(axis=1) - 1,
        outcome=outcome,
        decided=decided,
        won=outcome == "won",
        # deal "life" for event placement: until close or the end
        life_end=np.where(closed, close_t, T),
    )
    sh_d, sh_k = np.nonzero(reached)
    s.tables["stage_history"] = pd.DataFrame(
        {
            "deal_id": d.ids[sh_d],
            "entered_at": entered[sh_d, sh_k],
            "stage": np.array(DEFAULT_STAGE_ORDER, dtype=object)[sh_k],
        }
    )
