"""Step: converted leads become customers, with a segment, a store and an owner rep."""

from __future__ import annotations

import numpy as np
import pandas as pd

from salesml.simulator.helpers import make_ids
from salesml.simulator.params import CHANNELS, REGIONS, SEGMENTS
from salesml.simulator.state import ChunkState, Customers

__all__ = ["customers_table", "draw_customers"]

# segment mix (key account, mid market, small business) by source channel
_SEGMENT_P = np.array(
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


def draw_customers(s: ChunkState) -> None:
    """One customer per converted lead: segment by channel, a store, a seller of the region.

    Store walk-ins always have a store, 55% of the others too; the owner is a
    seller of the customer's region, uniformly.
    """
    w, rng, ld = s.world, s.rng, s.leads
    cust_lead = np.flatnonzero(ld.converted)
    nC = len(cust_lead)
    cust_ch = ld.channel[cust_lead]
    cust_region = ld.region[cust_lead]
    u = rng.random(nC)[:, None]
    cust_seg = (u > np.cumsum(_SEGMENT_P[cust_ch], axis=1)).sum(axis=1)
    cust_seg = np.minimum(cust_seg, 2)
    walkin = cust_ch == CHANNELS.index("store_walkin")
    has_store = walkin | (rng.random(nC) < 0.55)
    n_reg_st = np.array([len(x) for x in w.stores_by_region])
    st_local = (rng.random(nC) * n_reg_st[cust_region]).astype(int)
    st_offset = np.concatenate([[0], np.cumsum(n_reg_st)[:-1]])
    n_sel = np.array([len(x) for x in w.sellers_by_region])
    sel_local = (rng.random(nC) * n_sel[cust_region]).astype(int)
    sel_flat = np.concatenate(w.sellers_by_region)
    sel_offset = np.concatenate([[0], np.cumsum(n_sel)[:-1]])
    lead_cust = np.full(len(ld.channel), -1)
    lead_cust[cust_lead] = np.arange(nC)
    s.customers = Customers(
        lead=cust_lead,
        ids=make_ids("C", s.offsets["customer"] + 1, nC, 7),
        channel=cust_ch,
        region=cust_region,
        created=ld.converted_at[cust_lead],
        segment=cust_seg,
        store=np.where(has_store, st_offset[cust_region] + st_local, -1),
        rep=sel_flat[sel_offset[cust_region] + sel_local],
        of_lead=lead_cust,
    )


def customers_table(s: ChunkState) -> pd.DataFrame:
    """The ``customers`` table of the chunk."""
    cu, w = s.customers, s.world
    store_ids = w.stores["store_id"].to_numpy()
    return pd.DataFrame(
        {
            "customer_id": cu.ids,
            "segment": np.array(SEGMENTS, dtype=object)[cu.segment],
            "region": np.array(REGIONS, dtype=object)[cu.region],
            "source_channel": np.array(CHANNELS, dtype=object)[cu.channel],
            "created_at": cu.created,
            "store_id": np.where(cu.store >= 0, store_ids[np.maximum(cu.store, 0)], None),
            "owner_rep_id": w.reps["rep_id"].to_numpy()[cu.rep],
        }
    )
