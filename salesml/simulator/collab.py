"""Step: collaboration events (plan and terms revisions, colleague requests, delivery docs)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from salesml.simulator.helpers import make_ids
from salesml.simulator.params import KPI_EFFECTS
from salesml.simulator.rollout import go_live_of, season
from salesml.simulator.stages import STAGE_INDEX
from salesml.simulator.state import ChunkState

__all__ = ["draw_collab"]

_ROLES = np.array(["technical", "commercial", "delivery"], dtype=object)


def _part(
    d: np.ndarray,
    role: object,
    kind: str,
    t: np.ndarray,
    actor: np.ndarray,
    quality: np.ndarray | float,
    req: np.ndarray | int,
) -> pd.DataFrame:
    """Rows of one kind of event: deal position, role, kind, time, actor, quality, request."""
    return pd.DataFrame(
        {"d": d, "role": role, "kind": kind, "t": t, "actor": actor, "quality": quality, "req": req}
    )


def draw_collab(s: ChunkState) -> None:
    """Writes the ``collab_events`` table.

    Plan revisions fall before the proposal decision, terms revisions between the
    proposal and the negotiation decisions; requests to a colleague of the region
    arrive at a constant rate while the deal is open and are answered faster by
    skilled colleagues (and after the go-live); won deals get delivery documents.
    Events sit on the deal's planned timeline; those after it closes never happen,
    so what is visible at any date carries no hint of the deal's future outcome.
    """
    w, rng, d, sg = s.world, s.rng, s.deals, s.stages
    T = s.end
    nD = len(d.ids)
    deal_t, d_rep, entered, dur, life_end = d.created, d.rep, sg.entered, sg.duration, sg.life_end
    ce_parts = []
    # plan revisions: before the proposal pass decision
    prop = STAGE_INDEX["proposal"]
    pr_end = entered[:, prop] + 0.8 * dur[:, prop]
    rd = np.repeat(np.arange(nD), d.plan_revisions)
    rt = deal_t[rd] + rng.random(len(rd)) * (pr_end[rd] - deal_t[rd])
    ok = rt <= life_end[rd]
    rd, rt = rd[ok], rt[ok]
    ce_parts.append(_part(rd, "technical", "plan_revision", rt, d_rep[rd], np.nan, -1))
    neg = STAGE_INDEX["negotiation"]
    tr_s = entered[:, prop]
    tr_end = entered[:, neg] + 0.8 * dur[:, neg]
    rd = np.repeat(np.arange(nD), d.terms_revisions)
    rt = tr_s[rd] + rng.random(len(rd)) * np.maximum(tr_end[rd] - tr_s[rd], 0.01)
    ok = rt <= life_end[rd]
    rd, rt = rd[ok], rt[ok]
    ce_parts.append(_part(rd, "commercial", "terms_revision", rt, d_rep[rd], np.nan, -1))
    # requests to a colleague in the same region and responses
    # requests arrive at a constant rate while the deal is open (about 1.6 per 35 days)
    n_req = rng.poisson(1.6 / 35.0 * np.maximum(life_end - deal_t, 0.5))
    rq = np.repeat(np.arange(nD), n_req)
    nR = len(rq)
    role_i = rng.integers(0, 3, nR)
    reg = d.region[rq]
    n_all = np.array([np.sum(w.rep_region == r) for r in range(5)])
    flat = np.concatenate([np.flatnonzero(w.rep_region == r) for r in range(5)])
    offs_r = np.concatenate([[0], np.cumsum(n_all)[:-1]])
    colleague = flat[offs_r[reg] + (rng.random(nR) * n_all[reg]).astype(int)]
    req_t = deal_t[rq] + rng.random(nR) * (life_end[rq] - deal_t[rq])
    csk = w.skills[colleague, role_i]
    resp_hours = np.exp(np.log(8.0) - 0.45 * csk + 0.5 * rng.standard_normal(nR))
    gl = go_live_of(w, reg)
    resp_hours = np.where(
        req_t >= gl, resp_hours * (1 + KPI_EFFECTS["collab_response_hours"]), resp_hours
    )
    if w.cfg.kpi_seasonality:
        resp_hours = resp_hours * season(w.t0, req_t)
    quality = np.clip(np.round(3.0 + 0.9 * csk + 0.7 * rng.standard_normal(nR)), 1, 5)
    ce_parts.append(_part(rq, _ROLES[role_i], "request", req_t, d_rep[rq], np.nan, -1))
    ce_parts.append(
        _part(
            rq,
            _ROLES[role_i],
            "response",
            req_t + resp_hours / 24.0,
            colleague,
            quality,
            np.arange(nR),  # the request's position among the requests
        )
    )
    # delivery documents after a win
    wd = np.flatnonzero(sg.won)
    n_doc = rng.poisson(1.5, len(wd))
    dd = np.repeat(wd, n_doc)
    dq = np.clip(
        np.round(3.0 + 0.9 * w.skills[d_rep[dd], 2] + 0.7 * rng.standard_normal(len(dd))), 1, 5
    )
    doc_t = sg.close[dd] + rng.uniform(0.5, 20, len(dd))
    ce_parts.append(_part(dd, "delivery", "doc_version", doc_t, d_rep[dd], dq, -1))
    ce = pd.concat(ce_parts, ignore_index=True)
    # ids: requests get ids first so responses can point at them
    n_ce = len(ce)
    ce_ids = make_ids("E", s.offsets["event"] + 1, n_ce, 8)
    req_rows = np.flatnonzero((ce["kind"] == "request").to_numpy())
    req_ref = np.full(n_ce, None, dtype=object)
    is_resp = (ce["kind"] == "response").to_numpy()
    req_ref[is_resp] = ce_ids[req_rows[ce["req"].to_numpy()[is_resp]]]
    collab = pd.DataFrame(
        {
            "event_id": ce_ids,
            "deal_id": d.ids[ce["d"].to_numpy()],
            "role": ce["role"].to_numpy(),
            "actor_id": w.reps["rep_id"].to_numpy()[ce["actor"].to_numpy()],
            "kind": ce["kind"].to_numpy(),
            "occurred_at": ce["t"].to_numpy(),
            "request_id": req_ref,
            "quality": ce["quality"].to_numpy(),
        }
    )
    # a response after the end is unseen; its request stays
    s.tables["collab_events"] = collab.loc[ce["t"].to_numpy() < T]
