"""What one chunk of customers carries from step to step, and what it yields.

Each step of :data:`salesml.simulator.chunk.STEPS` reads the records of the steps
before it from a :class:`ChunkState` and leaves its own record (a small dataclass of
arrays, one entry per lead, customer, deal or activity of the chunk) and its tables.
Times are float days since the simulation's start until
:func:`~salesml.simulator.helpers.finish_tables` turns them into timestamps.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from salesml.simulator.world import World

__all__ = [
    "Activities",
    "ChunkOutput",
    "ChunkState",
    "Customers",
    "Deals",
    "Leads",
    "Stages",
]


@dataclass
class Leads:
    """The chunk's leads (index = lead position)."""

    channel: np.ndarray  # channel index
    created: np.ndarray
    campaign: np.ndarray  # campaign index or -1
    region: np.ndarray
    first_response: np.ndarray  # NaN: never, or after the end
    converted_at: np.ndarray  # planned conversion time (NaN unless converted)
    lost_at: np.ndarray  # planned loss time (NaN unless lost)
    converted: np.ndarray  # bool: converted before the end
    lost: np.ndarray  # bool: lost before the end
    status: np.ndarray
    lost_reason: np.ndarray  # None: still open, converted, or lost without a reason


@dataclass
class Customers:
    """The chunk's customers: its converted leads (index = customer position)."""

    lead: np.ndarray  # lead position
    ids: np.ndarray
    channel: np.ndarray
    region: np.ndarray
    created: np.ndarray
    segment: np.ndarray
    store: np.ndarray  # store index or -1
    rep: np.ndarray  # owner rep index
    of_lead: np.ndarray  # per lead: customer position or -1


@dataclass
class Deals:
    """The chunk's deals and the drivers of their win process (index = deal position)."""

    customer: np.ndarray  # customer position
    first: np.ndarray  # bool: the customer's first deal (from its lead)
    created: np.ndarray
    ids: np.ndarray
    rep: np.ndarray
    segment: np.ndarray
    region: np.ndarray
    product_line: np.ndarray
    amount: np.ndarray
    plan_revisions: np.ndarray
    terms_revisions: np.ndarray
    reply_hours: np.ndarray  # the deal's median reply delay to customer messages
    quote_unanswered: np.ndarray  # bool: its last viewed quote goes unanswered
    engagement: np.ndarray  # latent z-score


@dataclass
class Stages:
    """Each deal's pass through the stage order (index = deal position, stage)."""

    pass_prob: np.ndarray  # (n, K) true pass probabilities
    passes: np.ndarray  # (n, K) bool: would pass stage k
    duration: np.ndarray  # (n, K) days in stage k
    entered: np.ndarray  # (n, K) planned entry times
    last: np.ndarray  # index of the last stage the deal enters
    close: np.ndarray  # planned close time
    closed: np.ndarray  # bool: closed before the end
    reached: np.ndarray  # (n, K) bool: entered stage k before the end
    current: np.ndarray  # index of the current stage
    outcome: np.ndarray
    decided: np.ndarray  # (n, K) bool: the pass decision of stage k is known
    won: np.ndarray
    life_end: np.ndarray  # close time, or the end for open deals


@dataclass
class Activities:
    """The chunk's activities, in time order (index = activity position)."""

    deal: np.ndarray  # deal position or -1
    customer: np.ndarray
    at: np.ndarray
    kind: np.ndarray
    rep: np.ndarray
    duration: np.ndarray  # minutes, NaN where not recorded
    ids: np.ndarray


@dataclass
class ChunkState:
    """The state passed from step to step over one chunk of customers.

    The records start empty (``None``) and each step fills its own; ``tables`` gathers
    the model tables, ``consumption`` the parts of the true cost consumption as steps
    add them (``consumed`` is their concatenation, see
    :func:`~salesml.simulator.costs.draw_costs`), and ``truth`` the truth pieces a
    step plants (planted ids, ratios).
    """

    world: World
    rng: np.random.Generator
    n_customers: int  # target number of customers of the chunk
    n_deals: int  # target number of deals of the chunk
    offsets: dict[str, int]  # id numbers already used by earlier chunks
    leads: Leads | None = None
    # opt-in planted lead quality: its own random stream, and what it planted
    quality_rng: np.random.Generator | None = None
    lead_quality: dict[str, np.ndarray] | None = None
    # (seed, chunk): keys the own random streams of opt-in plantings (own_rng)
    stream_key: tuple[int, ...] | None = None
    customers: Customers | None = None
    deals: Deals | None = None
    stages: Stages | None = None
    activities: Activities | None = None
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    consumption: list[pd.DataFrame] = field(default_factory=list)
    consumed: pd.DataFrame | None = None
    truth: dict[str, Any] = field(default_factory=dict)

    def own_rng(self, tag: int) -> np.random.Generator | None:
        """A random stream of its own for an opt-in planting (``[seed, chunk, tag]``).

        ``None`` without a :attr:`stream_key` (a run that plants nothing opt-in, such
        as the expected-CAC Monte Carlo): the planting is then left out.
        """
        if self.stream_key is None:
            return None
        return np.random.default_rng([*self.stream_key, tag])

    @property
    def end(self) -> float:
        """The end of the simulated window (days since the start)."""
        return float(self.world.n_days)

    @property
    def share(self) -> float:
        """The chunk's share of the simulation's customers (scales fixed costs)."""
        return self.n_customers / max(self.world.cfg.n_customers, 1)


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
    lead_quality: pd.DataFrame | None = None  # opt-in planted lead quality (index lead_id)
    # per contract: signed_at, due_at, amount, planted paid_in_full_at, never_paid
    contract_collection: pd.DataFrame | None = None
