"""Step: two-step approvals of customer records, with planted SLA breaches."""

from __future__ import annotations

import numpy as np
import pandas as pd

from salesml.simulator.approval_docs import APPROVAL_DOCS_TAG, document_refs
from salesml.simulator.helpers import lognormal, make_ids
from salesml.simulator.params import SLA_HOURS
from salesml.simulator.state import ChunkState

__all__ = ["draw_approvals"]


def _decide(
    rng: np.random.Generator,
    submitted: np.ndarray,
    breach_rate: float,
    median_h: float,
    reject_rate: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Decision times (a planted share beyond the SLA) and rejections of one step."""
    n = len(submitted)
    breach = rng.random(n) < breach_rate
    hours = np.where(
        breach,
        rng.uniform(50, 200, n),
        lognormal(rng, median_h, 0.6, n).clip(0.5, 46),
    )
    return submitted + hours / 24.0, rng.random(n) < reject_rate


def draw_approvals(s: ChunkState) -> None:
    """Writes ``approvals``; plants ``truth["sla_breach_ids"]``.

    Key-account and mid-market customers are submitted for an initial review by
    their region's first manager, and unless rejected for a final one; 10% and 8%
    of the decisions take 50-200 hours (beyond the 48-hour SLA), the rest 0.5-46 h.
    """
    w, rng, cu = s.world, s.rng, s.customers
    T = s.end
    ap_c = np.flatnonzero(cu.segment <= 1)
    sub1 = cu.created[ap_c] + rng.uniform(0.05, 2, len(ap_c))
    dec1, rej1 = _decide(rng, sub1, 0.10, 14.0, 0.05)
    sub2 = dec1 + rng.uniform(0.1, 3, len(ap_c))
    dec2, rej2 = _decide(rng, sub2, 0.08, 10.0, 0.04)
    has2 = ~rej1
    mgr_pick = np.array([w.managers_by_region[r][0] for r in range(5)])
    rev = w.reps["rep_id"].to_numpy()[mgr_pick[cu.region[ap_c]]]
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
            "approval_id": make_ids("AP", s.offsets["approval"] + 1, len(ap), 7),
            "subject_id": cu.ids[ap["c"].to_numpy()],
            "step": ap["step"].to_numpy(dtype=object),
            "reviewer_id": ap["rev"].to_numpy(dtype=object),
            "submitted_at": ap["sub"].to_numpy(),
            "decided_at": np.where(pending, np.nan, dec),
            "decision": np.where(
                pending, "pending", np.where(ap["rej"].to_numpy(), "rejected", "approved")
            ).astype(object),
        }
    )
    drng = s.own_rng(APPROVAL_DOCS_TAG) if w.cfg.approval_documents else None
    if drng is not None:  # opt-in: the documents each step was decided on
        approvals["document_ref"] = document_refs(
            drng,
            approvals["approval_id"].to_numpy(),
            approvals["step"].to_numpy(),
            cu.segment[ap["c"].to_numpy()] == 0,
        )
    waited = np.where(pending, T, dec) - ap["sub"].to_numpy()
    s.truth["sla_breach_ids"] = approvals["approval_id"].to_numpy()[waited * 24 > SLA_HOURS]
    s.tables["approvals"] = approvals
