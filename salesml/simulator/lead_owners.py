"""Step: the owner (``rep_id``) of every lead, assigned the way a CRM's queue would.

A converted lead is owned by the rep who owns the customer it became (the rep of its
deals). Every other lead is assigned round-robin, in order of arrival, to the sellers
of the lead's region. No random number is drawn, so every other table and every
earlier planted figure stay as they were; the ``leads`` table gains the column
``rep_id`` (the golden digest of ``leads`` changed with it).
"""

from __future__ import annotations

import numpy as np

from salesml.simulator.state import ChunkState

__all__ = ["lead_owners"]


def lead_owners(s: ChunkState) -> np.ndarray:
    """The owner rep id of each lead of the chunk (by lead position)."""
    ld, cu, w = s.leads, s.customers, s.world
    owner = np.zeros(len(ld.channel), dtype=np.int64)
    order = np.argsort(ld.created, kind="stable")
    region = ld.region[order]
    for r, sellers in enumerate(w.sellers_by_region):
        here = order[region == r]
        if len(here) and len(sellers):
            owner[here] = np.asarray(sellers)[np.arange(len(here)) % len(sellers)]
    converted = cu.of_lead >= 0
    owner[converted] = cu.rep[cu.of_lead[converted]]
    return w.reps["rep_id"].to_numpy()[owner]
