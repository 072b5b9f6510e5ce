"""Opt-in: part-time reps and new hires, whose scores rest on few events.

In the default simulation every rep works a full book, so over a year even the rep with
the least evidence has 100+ events and shrinkage has nothing to do. This step, applied
to a simulated dataset, makes a share of the sellers part-time (or recently hired): each
of their deals is kept with probability ``keep`` and the rest are removed with every row
that belongs to them; their account-maintenance touches and their answers to
colleagues' requests are thinned the same way::

    data, truth = simulate(preset="demo", seed=0)
    data, part_time = plant_part_time(data, truth)

What is removed does not depend on any value (it is drawn from the step's own random
stream, ``default_rng([seed, tag])``), so the remaining events of a part-time rep are
still driven by their planted skill; ``truth.rep_skills`` is unchanged. ``simulate()``
does not call this: its tables and every earlier planted figure stay as they are.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from salesml.data.bundle import SalesData
from salesml.simulator.truth import Truth

__all__ = ["PlantedPartTime", "plant_part_time"]

#: Tag of the step's random stream.
_STREAM = 0x9A27


@dataclass(frozen=True)
class PlantedPartTime:
    """What :func:`plant_part_time` did.

    Attributes
    ----------
    reps
        The part-time reps.
    keep
        The share of their deals (and other events) kept.
    deals_removed
        Deals removed with all their rows.
    """

    reps: tuple[str, ...]
    keep: float
    deals_removed: int


def plant_part_time(
    data: SalesData,
    truth: Truth,
    *,
    share: float = 0.25,
    keep: float = 0.04,
    seed: int | None = None,
) -> tuple[SalesData, PlantedPartTime]:
    """Make ``share`` of the sellers part-time (see the module docstring).

    Parameters
    ----------
    data, truth
        A simulated dataset and its truth.
    share
        Share of the sellers (reps with role ``sales``) made part-time.
    keep
        Probability that each of their deals and other events is kept.
    seed
        Seed of the step's own stream; default: the simulated dataset's seed.

    Returns
    -------
    (SalesData, PlantedPartTime)
    """
    if not 0 < share <= 1 or not 0 < keep <= 1:
        raise ValueError(f"share and keep must be in (0, 1], got {share!r} and {keep!r}")
    if seed is None:
        seed = int((data.config.extra or {}).get("simulator", {}).get("seed", 0))
    rng = np.random.default_rng([seed, _STREAM])
    reps = data.reps
    sellers = reps.loc[reps["role"] == "sales", "rep_id"].to_numpy() if "role" in reps else []
    sellers = np.array(sorted(set(sellers) & set(truth.rep_skills.index)), dtype=object)
    n = max(1, round(share * len(sellers)))
    chosen = rng.choice(sellers, size=min(n, len(sellers)), replace=False)
    part = set(chosen.tolist())
    deals = data.deals
    theirs = deals["rep_id"].isin(part).to_numpy()
    gone = theirs & (rng.random(len(deals)) >= keep)
    gone_ids = pd.Index(deals.loc[gone, "deal_id"].to_numpy())
    out: dict[str, pd.DataFrame] = {"deals": deals[~gone]}
    for name in data:
        if name == "deals":
            continue
        f = data[name]
        if "deal_id" in f.columns:
            drop = gone_ids.get_indexer(f["deal_id"]) >= 0
            if name == "activities":  # their touches outside a deal, thinned alike
                own = f["rep_id"].isin(part).to_numpy() & f["deal_id"].isna().to_numpy()
                drop |= own & (rng.random(len(f)) >= keep)
            if name == "collab_events":  # their answers to colleagues, thinned alike
                own = f["actor_id"].isin(part).to_numpy() & (f["kind"] == "response").to_numpy()
                drop |= own & (rng.random(len(f)) >= keep)
            if drop.any():
                out[name] = f[~drop]
    if data.has("contracts"):
        gone_k = pd.Index(
            data.contracts.loc[gone_ids.get_indexer(data.contracts["deal_id"]) >= 0, "contract_id"]
        )
        for name, key in (("payments", "contract_id"), ("approvals", "subject_id")):
            if data.has(name) and len(gone_k):
                f = data[name]
                out[name] = f[gone_k.get_indexer(f[key]) < 0]
    return data.replace(**out), PlantedPartTime(tuple(sorted(part)), float(keep), int(gone.sum()))
