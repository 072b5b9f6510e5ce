"""A sales organisation simulator with planted truth.

``simulate(preset="demo", seed=0)`` generates every table of the data model for a
mid-sized Chinese sales organisation (five regions, 32 stores, seven lead channels)
and returns it with a :class:`Truth` holding what the analytics should recover.

The generative story, in the order the code follows it:

1. **Leads** arrive by channel with seasonality (a Chinese New Year dip, a Q1 peak,
   quiet weekends). Each gets a first response after a channel- and go-live-dependent
   delay; it converts (faster responses convert more), is lost (with a recorded reason
   or, for the *unexplained* share, none) or is still open at the end.
2. **Customers** are the converted leads; some get repeat **deals** later. A deal's
   owner is its customer's rep.
3. Each deal passes stage *k* of the stage order with probability
   ``sigmoid(alpha_k + breakpoint[region, k] + beta · x)``, where ``x`` holds rep skills,
   log amount, segment, "technical plan revised more than 3 times", "commercial terms
   adjusted 3 or more times", the log mean reply delay to customer messages and "a
   viewed quote unanswered for more than 48 h". The events behind those drivers are
   generated before the stage decisions they affect. The product over stages is the
   deal's true win probability (:attr:`Truth.deal_win_prob`).
4. **Activities**, **quotes**, **collaboration events**, **contracts** and
   **payments** follow each deal's timeline; lost deals go quiet before they close.
5. **Costs**: every cost unit is consumed by one action (a lead, an activity, a
   deal, a material redemption) at a known true amount; the ledger then records them
   as real ledgers do, some lines linked to the action, most aggregated per campaign,
   channel, rep or store and month. :attr:`Truth.channel_cac` is computed from the
   true consumption; :attr:`Truth.channel_expected_cac` is its long-run expectation.
6. **Store materials** flow through 32 stores; one store stops scanning redemptions
   and spends about 2.4x its region's material cost per customer. Stock is conserved
   (a replenishment receipt covers any shortfall). Opt-in ``scan_loss_effect=x``
   (:mod:`~salesml.simulator.scan_effect`): losses follow outflows and change by ``x``
   at the scan rollout. **Approvals** of customer records have a 48-hour SLA with
   planted breaches; opt-in ``approval_documents=True``
   (:mod:`~salesml.simulator.approval_docs`) adds their document references.
7. After the **go-live** date, response delays, stage durations, activity rates,
   collaboration response times and media cost per lead move by known amounts
   (:attr:`Truth.kpi_effects`). Opt-in, for impact measurement
   (:mod:`~salesml.simulator.rollout`): ``staggered_go_live=True`` (one go-live per
   region, :attr:`Truth.region_go_live`), ``kpi_seasonality=True`` (slower
   responses around Chinese New Year) and ``flat_touches=True`` (one touch rate per
   open deal-day, :mod:`~salesml.simulator.touches`); all off by default, output unchanged.

With ``dirty=True`` the tables come back as a raw export would (every cell a string)
with faults injected at known rows (:attr:`Truth.faults`).

Layout: :mod:`~salesml.simulator.config` (sizes, presets), :mod:`~salesml.simulator.params`
(the generative parameters), :mod:`~salesml.simulator.world` (calendar, reps, stores,
campaigns), one module per step over a chunk of customers (``leads``, ``customers``,
``deals``, ``stages``, ``collab``, ``quotes``, ``activities``, ``payments``,
``materials``, ``approvals``, ``costs``, ``ledger``, ``acquisition``) passing a
:class:`~salesml.simulator.state.ChunkState` along, run in order by
:mod:`~salesml.simulator.chunk`; :mod:`~salesml.simulator.truth`,
:mod:`~salesml.simulator.expected` (each channel's expected CAC),
:mod:`~salesml.simulator.dirty` (the fault injector), :mod:`~salesml.simulator.generate`
(:func:`simulate`) and :mod:`~salesml.simulator.writer` (:func:`write_simulated`).
The package depends on :mod:`salesml.data` only.
"""

from __future__ import annotations

from salesml.simulator.config import PRESETS, SimulationConfig
from salesml.simulator.dirty import FAULT_PLAN, inject_faults, to_raw
from salesml.simulator.expected import expected_channel_cac
from salesml.simulator.generate import simulate
from salesml.simulator.params import CHANNELS, REGIONS
from salesml.simulator.truth import Truth
from salesml.simulator.writer import write_simulated

__all__ = [
    "CHANNELS",
    "FAULT_PLAN",
    "PRESETS",
    "REGIONS",
    "SimulationConfig",
    "Truth",
    "expected_channel_cac",
    "inject_faults",
    "simulate",
    "to_raw",
    "write_simulated",
]
