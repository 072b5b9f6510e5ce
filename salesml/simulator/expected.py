"""Each channel's expected (long-run) cost per acquired customer.

``truth.channel_cac`` is what one simulated run realised: the channel's true
acquisition cost over its acquired customers *in that run*. A bootstrap interval
around an estimated CAC answers a different question: what the channel's customers
cost to win *in the long run*, under the same process. This module computes that
target from the simulator's own parameters.

For a configuration (a preset with its overrides) and a channel, with

- ``C`` = the channel's true acquisition cost in one run (exactly as in
  ``truth.channel_cac["acquisition_cost"]``: the consumption tied to the channel's
  customers dated at or before their acquisition, all the consumption of its
  never-acquired customers and of its unconverted leads, within the window), and
- ``A`` = the channel's customers acquired in that run (first deal won within the
  window),

the expected CAC is ``E[C] / E[A]``, the expectations taken over everything the
simulator draws for that configuration (the world: reps and their skills, campaign
dates; and every chunk of customers), that is over seeds. It is the limit of
``sum(C) / sum(A)`` over ever more seeds, the value a channel's realised CAC
scatters around (a ratio of expectations, not the expectation of the ratio).

There is no closed form (stage passes, window truncation and pooled costs
interact), so it is a Monte-Carlo: the simulator's own steps that acquire customers
and consume costs (:data:`COST_STEPS`, the same functions as a real run) over many
runs (:data:`SHIPPED_MC_CUSTOMERS` customers for the presets), from generators
seeded with :data:`MC_ENTROPY` (never the seed's stream, so no existing table
changes). The presets' values are
shipped in ``expected_cac.json`` (written by ``python -m salesml.simulator.refresh``);
other configurations are computed on first use and cached in the process.
"""

from __future__ import annotations

import functools
import json
from collections import defaultdict
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from salesml.simulator.acquisition import settle_acquisition
from salesml.simulator.activities import draw_activities
from salesml.simulator.chunk import Step, run_steps
from salesml.simulator.config import SimulationConfig
from salesml.simulator.costs import draw_costs
from salesml.simulator.customers import draw_customers
from salesml.simulator.deals import draw_deals
from salesml.simulator.leads import draw_leads
from salesml.simulator.materials import draw_materials
from salesml.simulator.params import CHANNELS
from salesml.simulator.quotes import draw_quotes
from salesml.simulator.stages import draw_stages
from salesml.simulator.world import build_world

__all__ = [
    "COST_STEPS",
    "EXPECTED_CAC_COLUMNS",
    "EXPECTED_CAC_FILE",
    "MC_CUSTOMERS",
    "MC_ENTROPY",
    "SHIPPED_MC_CUSTOMERS",
    "compute_expected_cac",
    "expected_channel_cac",
    "run_cost_process",
    "shipped_expected_cac",
    "shipped_table",
]

#: Entropy of the Monte-Carlo's generators (world ``r``: ``[MC_ENTROPY, r]``; its chunk
#: ``i``: ``[MC_ENTROPY, r, i]``), apart from every seed's own stream.
MC_ENTROPY = 0x5A1E5_CAC
#: Customers simulated (at least) for a configuration's expected CAC computed on demand.
MC_CUSTOMERS = 200_000
#: Customers simulated (at least) for each preset's shipped value (``refresh``).
SHIPPED_MC_CUSTOMERS = 400_000
#: The steps of a chunk that acquire customers and consume costs, in chunk order.
COST_STEPS = (
    draw_leads,
    draw_customers,
    draw_deals,
    draw_stages,
    draw_quotes,
    draw_activities,
    draw_materials,
    draw_costs,
    settle_acquisition,
)
#: The presets' expected CAC, shipped with the package.
EXPECTED_CAC_FILE = Path(__file__).with_name("expected_cac.json")
#: Columns of the expected-CAC table.
EXPECTED_CAC_COLUMNS = ["acquired_per_run", "acquisition_cost_per_run", "cac", "cac_mc_se"]


def _chunk_sizes(cfg: SimulationConfig) -> list[tuple[int, int]]:
    """``(customers, deals)`` targets of each chunk of a run (as ``simulate`` splits)."""
    n = max(1, int(np.ceil(cfg.n_customers / cfg.chunk_customers)))
    return [
        (
            cfg.n_customers // n + (1 if i < cfg.n_customers % n else 0),
            cfg.n_deals // n + (1 if i < cfg.n_deals % n else 0),
        )
        for i in range(n)
    ]


def run_cost_process(
    config: SimulationConfig,
    key: tuple[int, ...],
    *,
    steps: Sequence[Step] = COST_STEPS,
    max_customers: int | None = None,
) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """One run's chunks: yield ``(customers target, cost per channel, acquired per channel)``.

    The world is drawn from ``default_rng([*key])`` and chunk ``i`` from
    ``default_rng([*key, i])``: with ``key=(seed,)`` and ``steps=STEPS`` this is
    exactly the run ``simulate(seed=seed)`` makes. Stops after the chunk that
    reaches ``max_customers`` customers.
    """
    world = build_world(config, np.random.default_rng([*key]))
    done = 0
    for i, (nc, nd) in enumerate(_chunk_sizes(config)):
        rng = np.random.default_rng([*key, i])
        s = run_steps(world, rng, nc, nd, defaultdict(int), steps)
        acquired = ~np.isnan(s.truth["cust_acq"])
        yield (
            nc,
            s.truth["channel_cost"],
            np.bincount(s.customers.channel[acquired], minlength=len(CHANNELS)),
        )
        done += nc
        if max_customers is not None and done >= max_customers:
            return


def compute_expected_cac(
    config: SimulationConfig,
    customers: int = MC_CUSTOMERS,
    *,
    steps: Sequence[Step] = COST_STEPS,
    entropy: int = MC_ENTROPY,
) -> pd.DataFrame:
    """Run the Monte-Carlo of :func:`expected_channel_cac` (no shipped value, no cache).

    ``steps`` and ``entropy`` exist for tests: any step list that contains the cost
    steps in chunk order has the same expectation.
    """
    cfg = config
    worlds, sizes, costs, acqs = [], [], [], []
    r = 0
    while sum(sizes) < customers:  # whole runs, the last one cut short
        left = customers - sum(sizes)
        for nc, cost, acq in run_cost_process(cfg, (entropy, r), steps=steps, max_customers=left):
            worlds.append(r)
            sizes.append(nc)
            costs.append(cost)
            acqs.append(acq)
        r += 1
    worlds_a = np.asarray(worlds)
    cost_m, acq_m = np.asarray(costs), np.asarray(acqs, dtype=float)
    # replicate units for the standard error: worlds (whole runs), or chunks of one world
    unit = worlds_a if worlds_a.max() > 0 else np.arange(len(worlds_a))
    n_units = int(unit.max()) + 1
    cost_u = np.stack([np.bincount(unit, cost_m[:, k], n_units) for k in range(len(CHANNELS))], 1)
    acq_u = np.stack([np.bincount(unit, acq_m[:, k], n_units) for k in range(len(CHANNELS))], 1)
    tot_c, tot_a = cost_m.sum(axis=0), acq_m.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        cac = tot_c / tot_a
        resid = cost_u - cac[None, :] * acq_u
        se = np.sqrt((resid**2).sum(axis=0) * n_units / max(n_units - 1, 1)) / tot_a
    runs = sum(sizes) / max(cfg.n_customers, 1)
    return pd.DataFrame(
        {
            "acquired_per_run": tot_a / runs,
            "acquisition_cost_per_run": tot_c / runs,
            "cac": np.where(tot_a > 0, cac, np.nan),
            "cac_mc_se": np.where(tot_a > 0, se, np.nan),
        },
        index=pd.Index(CHANNELS, name="channel"),
    )


@functools.lru_cache(maxsize=16)
def _cached(cfg: SimulationConfig, customers: int) -> pd.DataFrame:
    return compute_expected_cac(cfg, customers)


def expected_channel_cac(config: SimulationConfig, *, customers: int | None = None) -> pd.DataFrame:
    """Each channel's expected CAC ``E[C] / E[A]`` for ``config`` (see the module doc).

    Parameters
    ----------
    config
        The simulation's configuration (a preset with its overrides).
    customers
        Customers the Monte-Carlo simulates (at least): about ``customers /
        config.n_customers`` runs. ``None``: the shipped value when ``config`` is a
        preset's (computed over :data:`SHIPPED_MC_CUSTOMERS`), else a Monte-Carlo
        over :data:`MC_CUSTOMERS` (seconds to minutes), cached in the process.

    Returns
    -------
    pandas.DataFrame
        Index ``channel``; columns ``acquired_per_run`` (``E[A]``),
        ``acquisition_cost_per_run`` (``E[C]``), ``cac`` (their ratio) and
        ``cac_mc_se`` (the Monte-Carlo standard error of ``cac``).
    """
    if customers is None:
        shipped = shipped_expected_cac(config)
        if shipped is not None:
            return shipped
        customers = MC_CUSTOMERS
    return _cached(config, int(customers)).copy()


def shipped_expected_cac(config: SimulationConfig) -> pd.DataFrame | None:
    """The shipped expected CAC of ``config`` if it is a preset's, else ``None``."""
    table = shipped_table()
    for entry in table.values():
        if entry["config"] == config.to_dict():
            frame = pd.DataFrame(entry["channels"]).T[EXPECTED_CAC_COLUMNS].astype("float64")
            frame.index = pd.Index(frame.index.astype(str), name="channel")
            return frame.reindex(list(CHANNELS))
    return None


@functools.cache
def shipped_table() -> dict[str, dict]:
    """The content of :data:`EXPECTED_CAC_FILE` (empty when absent)."""
    if not EXPECTED_CAC_FILE.exists():
        return {}
    return json.loads(EXPECTED_CAC_FILE.read_text(encoding="utf-8"))
