"""What one chunk of customers carries from step to step, and what it yields."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["ChunkOutput"]


@dataclass
class ChunkOutput:
    """The tables of one chunk and the pieces of the truth it contributes."""

    tables: dict[str, pd.DataFrame]
    cust_cost: np.ndarray  # true acquisition cost per customer of the chunk
    channel_cost: np.ndarray  # true acquisition cost per channel (customers and lost leads)
    cust_channel: np.ndarray
    cust_acq: np.ndarray  # acquisition time (days) or NaN
    cust_ids: np.ndarray
    deal_ids: np.ndarray
    pass_prob: np.ndarray
    deal_region: np.ndarray
    reached: np.ndarray  # (n_deals, K) bool: entered stage k
    passed: np.ndarray  # (n_deals, K) bool: passed stage k (decided)
    lost_leads: int
    lost_no_reason: int
    reasons: dict[str, int]
    response_hours: np.ndarray
    sla_breach_ids: np.ndarray
    unanswered_quote_ids: np.ndarray
    unpaid_contract_ids: np.ndarray
    anomaly_cost_ratio: float
