"""One chunk of customers: the steps that generate its tables, in order.

:data:`STEPS` lists the steps; each takes the :class:`~salesml.simulator.state.ChunkState`
and draws from its generator in turn, so their order fixes the data of a seed. A new
step that draws random numbers goes at the end, or uses a generator of its own, so
the tables of the existing steps stay identical.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from salesml.simulator.acquisition import settle_acquisition
from salesml.simulator.activities import draw_activities
from salesml.simulator.approvals import draw_approvals
from salesml.simulator.collab import draw_collab
from salesml.simulator.costs import draw_costs
from salesml.simulator.customers import customers_table, draw_customers
from salesml.simulator.deals import deals_table, draw_deals
from salesml.simulator.helpers import days_to_timestamps
from salesml.simulator.lead_quality import quality_truth
from salesml.simulator.leads import draw_leads, lead_ids, leads_table
from salesml.simulator.ledger import draw_ledger
from salesml.simulator.materials import draw_materials
from salesml.simulator.payments import draw_contracts_and_payments
from salesml.simulator.quotes import draw_quotes
from salesml.simulator.stages import draw_stages
from salesml.simulator.state import ChunkOutput, ChunkState
from salesml.simulator.world import World

__all__ = ["STEPS", "TABLE_ORDER", "Step", "chunk_output", "run_steps", "simulate_chunk"]

Step = Callable[[ChunkState], None]

#: The steps of a chunk, in the order they draw.
STEPS: tuple[Step, ...] = (
    draw_leads,
    draw_customers,
    draw_deals,
    draw_stages,
    draw_collab,
    draw_quotes,
    draw_activities,
    draw_contracts_and_payments,
    draw_materials,
    draw_approvals,
    draw_costs,
    draw_ledger,
    settle_acquisition,
)
#: The tables of a chunk, in the order a chunk lists them.
TABLE_ORDER: tuple[str, ...] = (
    "leads",
    "customers",
    "deals",
    "stage_history",
    "activities",
    "quotes",
    "contracts",
    "payments",
    "costs",
    "material_movements",
    "approvals",
    "collab_events",
)


def run_steps(
    world: World,
    rng: np.random.Generator,
    n_customers: int,
    n_deals: int,
    offsets: dict[str, int],
    steps: Sequence[Step] = STEPS,
    *,
    quality_rng: np.random.Generator | None = None,
    stream_key: tuple[int, ...] | None = None,
) -> ChunkState:
    """Run ``steps`` in order over one chunk and return its final state.

    ``quality_rng`` (opt-in) plants latent lead quality from that stream
    (:mod:`salesml.simulator.lead_quality`). ``stream_key`` (the seed and chunk
    number) keys the own streams of the configuration's other opt-in plantings
    (:meth:`ChunkState.own_rng`); without it they are not planted.
    """
    state = ChunkState(
        world=world,
        rng=rng,
        n_customers=n_customers,
        n_deals=n_deals,
        offsets=offsets,
        quality_rng=quality_rng,
        stream_key=stream_key,
    )
    for step in steps:
        step(state)
    return state


def chunk_output(s: ChunkState) -> ChunkOutput:
    """The tables and truth pieces of a chunk that ran every step of :data:`STEPS`."""
    ld, sg = s.leads, s.stages
    s.tables["leads"] = leads_table(s)
    s.tables["customers"] = customers_table(s)
    s.tables["deals"] = deals_table(s, lead_ids(s))
    lost_mask = ld.status == "lost"
    lost_reason = ld.lost_reason
    reasons = pd.Series(lost_reason[lost_mask]).value_counts().to_dict()
    resp_t, lead_t = ld.first_response, ld.created
    return ChunkOutput(
        tables={name: s.tables[name] for name in TABLE_ORDER},
        cust_cost=s.truth["cust_cost"],
        channel_cost=s.truth["channel_cost"],
        cust_channel=s.customers.channel,
        cust_acq=s.truth["cust_acq"],
        cust_ids=s.customers.ids,
        deal_ids=s.deals.ids,
        pass_prob=sg.pass_prob,
        deal_region=s.deals.region,
        reached=sg.reached,
        passed=sg.decided & sg.passes,
        lost_leads=int(lost_mask.sum()),
        lost_no_reason=int((lost_mask & (lost_reason == None)).sum()),  # noqa: E711
        reasons={str(k): int(v) for k, v in reasons.items()},
        response_hours=((resp_t - lead_t) * 24.0)[~np.isnan(resp_t)],
        sla_breach_ids=s.truth["sla_breach_ids"],
        unanswered_quote_ids=s.truth["unanswered_quote_ids"],
        unpaid_contract_ids=s.truth["unpaid_contract_ids"],
        anomaly_cost_ratio=s.truth["anomaly_cost_ratio"],
        lead_quality=(
            quality_truth(lead_ids(s), s.lead_quality) if s.lead_quality is not None else None
        ),
        contract_collection=contract_collection_truth(s),
    )


def contract_collection_truth(s: ChunkState) -> pd.DataFrame:
    """Each contract's planted payment schedule, for ``truth.contract_collection``.

    ``due_at`` is computed as the data's (``signed_at + payment_terms_days``) and
    ``paid_in_full_at`` converts the planted time of the last instalment the same way
    the ``payments`` table's ``paid_at`` is converted, so the truth and a rule reading
    the tables agree to the microsecond.
    """
    k = s.tables["contracts"]
    t0 = s.world.t0
    signed = pd.Series(days_to_timestamps(t0, k["signed_at"].to_numpy(float)))
    terms = pd.to_timedelta(k["payment_terms_days"].to_numpy(float), unit="D")
    full = s.truth["contract_paid_in_full_days"]
    return pd.DataFrame(
        {
            "signed_at": signed.to_numpy(),
            "due_at": (signed + terms).astype("datetime64[us]").to_numpy(),
            "amount": k["amount"].to_numpy(float),
            "paid_in_full_at": days_to_timestamps(t0, full),
            "never_paid": np.isnan(full),
        },
        index=pd.Index(k["contract_id"].astype("str"), name="contract_id", dtype="str"),
    )


def simulate_chunk(
    world: World,
    rng: np.random.Generator,
    n_customers: int,
    n_deals: int,
    offsets: dict[str, int],
    *,
    quality_rng: np.random.Generator | None = None,
    stream_key: tuple[int, ...] | None = None,
) -> ChunkOutput:
    """Generate one chunk of about ``n_customers`` customers and ``n_deals`` deals."""
    return chunk_output(
        run_steps(
            world,
            rng,
            n_customers,
            n_deals,
            offsets,
            quality_rng=quality_rng,
            stream_key=stream_key,
        )
    )
