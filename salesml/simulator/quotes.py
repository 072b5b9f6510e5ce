"""Step: quotes sent from the proposal stage on, viewed, answered or left unanswered."""

from __future__ import annotations

import numpy as np
import pandas as pd

from salesml.simulator.helpers import lognormal, make_ids
from salesml.simulator.stages import STAGE_INDEX
from salesml.simulator.state import ChunkState

__all__ = ["draw_quotes"]


def draw_quotes(s: ChunkState) -> None:
    """Writes the ``quotes`` table and plants ``truth["unanswered_quote_ids"]``.

    Every deal that reaches the proposal stage gets one quote plus a Poisson number
    of revised versions (more with more terms revisions), spread over the proposal
    and most of the negotiation stage. A deal planted with an unanswered quote gets
    no reply to its last version; the truth lists the quotes viewed and unanswered
    for more than 48 hours at the end.
    """
    rng, d, sg = s.rng, s.deals, s.stages
    T = s.end
    entered, dur = sg.entered, sg.duration
    prop, neg = STAGE_INDEX["proposal"], STAGE_INDEX["negotiation"]
    qd = np.flatnonzero(sg.reached[:, prop])
    n_q = 1 + rng.poisson(0.5 + 0.3 * np.minimum(d.terms_revisions[qd], 5))
    q_d = np.repeat(qd, n_q)
    q_ver = np.concatenate([np.arange(1, n + 1) for n in n_q]) if len(n_q) else np.array([], int)
    q_last = np.r_[q_ver[1:] == 1, True] if len(q_ver) else np.array([], bool)
    span_s = entered[q_d, prop]
    span_e = entered[q_d, prop] + dur[q_d, prop] + 0.7 * dur[q_d, neg]
    frac = (q_ver - 1 + rng.random(len(q_d)) * 0.8) / n_q[np.repeat(np.arange(len(qd)), n_q)]
    q_sent = span_s + frac * np.maximum(span_e - span_s, 0.05)
    viewed = rng.random(len(q_d)) < 0.88
    q_view = np.where(viewed, q_sent + lognormal(rng, 0.25, 1.0, len(q_d)), np.nan)
    unans = d.quote_unanswered[q_d] & q_last
    q_reply = np.where(viewed & ~unans, q_view + lognormal(rng, 0.4, 0.9, len(q_d)), np.nan)
    q_reply = np.where(viewed & ~unans & (rng.random(len(q_d)) < 0.05), np.nan, q_reply)
    q_amount = np.round(d.amount[q_d] * (1.12 - 0.04 * q_ver), -1)
    qk = (q_sent < T) & (q_sent <= sg.life_end[q_d])
    quotes = pd.DataFrame(
        {
            "quote_id": make_ids("Q", s.offsets["quote"] + 1, len(q_d), 7),
            "deal_id": d.ids[q_d],
            "version": q_ver,
            "sent_at": q_sent,
            "first_viewed_at": np.where(q_view < T, q_view, np.nan),
            "replied_at": np.where(q_reply < T, q_reply, np.nan),
            "amount": q_amount,
        }
    ).loc[qk]
    fv, rp = quotes["first_viewed_at"].to_numpy(), quotes["replied_at"].to_numpy()
    s.truth["unanswered_quote_ids"] = quotes["quote_id"].to_numpy()[
        ~np.isnan(fv) & (np.where(np.isnan(rp), T, rp) - fv > 2.0) & (T - fv > 2.0)
    ]
    s.tables["quotes"] = quotes
