"""``simulate()``: the world, then each chunk of customers, then the truth."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd

from salesml.data.bundle import SalesData
from salesml.data.config import DatasetConfig
from salesml.simulator.chunk import simulate_chunk
from salesml.simulator.config import SimulationConfig, resolve_config
from salesml.simulator.dirty import inject_faults
from salesml.simulator.helpers import finish_tables
from salesml.simulator.lead_quality import LEAD_QUALITY_TAG
from salesml.simulator.ledger import campaign_budgets
from salesml.simulator.params import SLA_HOURS
from salesml.simulator.scan_effect import check_scan_effect
from salesml.simulator.state import ChunkOutput
from salesml.simulator.truth import Truth, build_truth
from salesml.simulator.world import World, build_world

__all__ = ["iter_chunks", "simulate"]

# id counters carried across chunks, and the table whose first column each one numbers
_ID_TABLES = {
    "customer": "customers",
    "deal": "deals",
    "lead": "leads",
    "activity": "activities",
    "quote": "quotes",
    "contract": "contracts",
    "payment": "payments",
    "movement": "material_movements",
    "approval": "approvals",
    "cost": "costs",
    "event": "collab_events",
}


def simulate(
    preset: str = "demo",
    seed: int = 0,
    dirty: bool = False,
    *,
    progress: bool = False,
    lead_quality: bool = False,
    **overrides: Any,
) -> tuple[SalesData, Truth]:
    """Generate a realistic sales dataset with planted truth.

    Parameters
    ----------
    preset
        ``"tiny"`` (tests), ``"demo"`` (about 20 reps, 2,000 customers, 3,000 deals,
        60k activities, 18 months), ``"S"``, ``"M"`` (about 100k deals, 3M activities)
        or ``"L"`` (about 1M deals, 30M activities; prefer :func:`write_simulated`,
        which writes in chunks).
    seed
        Random seed; the same seed gives the same data.
    dirty
        Return the tables as a raw export would (strings) with faults injected at the
        rows listed in ``truth.faults``.
    progress
        Show a progress bar over chunks.
    lead_quality
        Plant latent lead quality (opt-in; :mod:`salesml.simulator.lead_quality`): the
        ``leads`` table gains ``project_area_m2``, ``budget_band``, ``inspected_at`` and
        ``findings_reported``, conversion depends on quality, and ``truth.lead_quality``
        holds each lead's quality and true conversion probability. Off, every table is
        as without it.
    **overrides
        Any field of :class:`SimulationConfig` (``n_reps``, ``n_customers``,
        ``n_deals``, ``months``, ``start``, ``activities_per_deal``, ``go_live_month``;
        opt-in: ``staggered_go_live``, ``kpi_seasonality``, ``scan_loss_effect`` (a
        planted change of the material loss rate at the scan rollout,
        :mod:`salesml.simulator.scan_effect`), ``approval_documents`` (an
        ``approvals.document_ref`` column, :mod:`salesml.simulator.approval_docs`)).

    Returns
    -------
    (SalesData, Truth)
    """
    cfg = resolve_config(preset, overrides)
    parts = list(iter_chunks(cfg, seed, progress=progress, lead_quality=lead_quality))
    world = parts[0][0]
    chunks = [c for _, c in parts]
    tables = {
        name: pd.concat([c.tables[name] for c in chunks], ignore_index=True)
        for name in chunks[0].tables
    }
    tables["reps"] = world.reps
    tables["stores"] = world.stores
    tables["campaigns"] = campaign_budgets(world, chunks)
    tables = finish_tables(tables, world.t0)
    go_live = pd.Timestamp(world.t0) + pd.Timedelta(days=world.go_live)
    config = DatasetConfig(
        name=f"simulated-{preset}-seed{seed}",
        go_live=f"{go_live:%Y-%m-%d}",
        approval_sla_hours={"initial": SLA_HOURS, "final": SLA_HOURS},
        extra={
            "simulator": {"preset": preset, "seed": seed, "months": cfg.months, "start": cfg.start}
        },
    )
    data = SalesData(tables, config)
    truth = build_truth(world, chunks, cfg, seed, preset, go_live)
    if dirty:
        raw, faults = inject_faults(data, seed=seed)
        truth.faults = faults
        truth.encoding = "gb18030"
        data = raw
    return data, truth


def iter_chunks(
    cfg: SimulationConfig, seed: int, *, progress: bool = False, lead_quality: bool = False
) -> Iterator[tuple[World, ChunkOutput]]:
    """Yield ``(world, chunk)`` per block of customers (ids offset across blocks).

    ``lead_quality`` plants latent lead quality from a stream of its own per chunk.
    """
    from tqdm.auto import tqdm

    check_scan_effect(cfg.scan_loss_effect)
    rng = np.random.default_rng(seed)
    world = build_world(cfg, rng)
    n_chunks = max(1, int(np.ceil(cfg.n_customers / cfg.chunk_customers)))
    offs = dict.fromkeys(_ID_TABLES, 0)
    it = range(n_chunks)
    if progress:
        it = tqdm(it, desc="simulating", unit="chunk")
    for i in it:
        crng = np.random.default_rng([seed, i])
        nc = cfg.n_customers // n_chunks + (1 if i < cfg.n_customers % n_chunks else 0)
        nd = cfg.n_deals // n_chunks + (1 if i < cfg.n_deals % n_chunks else 0)
        qrng = np.random.default_rng([seed, i, LEAD_QUALITY_TAG]) if lead_quality else None
        ch = simulate_chunk(world, crng, nc, nd, offs, quality_rng=qrng, stream_key=(seed, i))
        for key, table in _ID_TABLES.items():
            offs[key] += _max_num(ch.tables[table].iloc[:, 0])
        yield world, ch


def _max_num(ids: pd.Series) -> int:
    if not len(ids):
        return 0
    return int(ids.astype(str).str.replace(r"^\D+", "", regex=True).astype(np.int64).max())
