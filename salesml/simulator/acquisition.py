"""Step: the true acquisition of each customer and its true acquisition cost."""

from __future__ import annotations

import numpy as np
import pandas as pd

from salesml.simulator.params import CHANNELS
from salesml.simulator.state import ChunkState

__all__ = ["settle_acquisition"]


def settle_acquisition(s: ChunkState) -> None:
    """Acquisition times and true acquisition costs (no random draws).

    A customer is acquired when its first deal is won (the earliest close of its
    won deals). Its true acquisition cost is the consumption tied to it dated at or
    before the acquisition (all of it if never acquired); an unconverted lead's
    consumption counts toward its channel. Sets ``truth["cust_acq"]`` (days or NaN),
    ``truth["cust_cost"]`` (per customer) and ``truth["channel_cost"]`` (per channel,
    customers and unconverted leads).
    """
    d, sg, consumption = s.deals, s.stages, s.consumed
    nC = len(s.customers.ids)
    won, close_t, deal_c = sg.won, sg.close, d.customer
    acq = np.full(nC, np.nan)
    if won.any():
        first_win = pd.Series(close_t[won]).groupby(deal_c[won]).min()
        acq[first_win.index.to_numpy()] = first_win.to_numpy()
    # true acquisition cost: consumption dated at or before the customer's acquisition
    cidx = consumption["customer"].to_numpy()
    t_c = consumption["t"].to_numpy()
    acq_t = np.where(cidx >= 0, acq[np.maximum(cidx, 0)], np.nan)
    counts = (cidx < 0) | np.isnan(acq_t) | (t_c <= acq_t + 1e-9)
    amt = consumption["amount"].to_numpy() * counts
    s.truth["cust_acq"] = acq
    s.truth["cust_cost"] = np.bincount(cidx[cidx >= 0], weights=amt[cidx >= 0], minlength=nC)
    s.truth["channel_cost"] = np.bincount(
        consumption["channel"].to_numpy().astype(int), weights=amt, minlength=len(CHANNELS)
    )
