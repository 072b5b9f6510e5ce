"""``write_simulated()``: a large simulation written chunk by chunk (tier L)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import pandas as pd

from salesml.data.config import DatasetConfig
from salesml.data.partitions import PARTITIONED_TABLES, write_month_partitions
from salesml.simulator.config import resolve_config
from salesml.simulator.generate import iter_chunks
from salesml.simulator.helpers import finish_tables
from salesml.simulator.ledger import campaign_budgets
from salesml.simulator.params import SLA_HOURS
from salesml.simulator.state import ChunkOutput
from salesml.simulator.truth import Truth, build_truth
from salesml.simulator.world import World

__all__ = ["write_simulated"]


def write_simulated(
    out: str | Path,
    preset: str = "L",
    seed: int = 0,
    *,
    progress: bool = True,
    partition: Literal["month"] | None = "month",
    **overrides: Any,
) -> Truth:
    """Generate a large dataset chunk by chunk, writing each table as Parquet parts.

    Memory stays bounded by one chunk of customers (``chunk_customers``): each table
    becomes a folder ``<table>/part-00000.parquet, ...`` that :func:`salesml.load_dataset`
    reads as one table. With ``partition="month"`` (the default) the big dated
    tables (:data:`salesml.data.partitions.PARTITIONED_TABLES`) are written hive-style by
    month of their time column instead, ``<table>/month=2026-01/part-00000.parquet``
    (one file per chunk and month), so ``load_dataset(period=...)`` reads only the
    months it needs. The truth is written to ``out/truth``.

    Returns
    -------
    Truth
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    if partition not in (None, "month"):
        raise ValueError(f"partition must be None or 'month', got {partition!r}")
    cfg = resolve_config(preset, overrides)
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    kept: list[ChunkOutput] = []
    world: World | None = None
    for i, (world, ch) in enumerate(iter_chunks(cfg, seed, progress=progress)):
        tables = finish_tables(ch.tables, world.t0)
        for name, df in tables.items():
            d = folder / name
            if partition == "month" and name in PARTITIONED_TABLES:
                write_month_partitions(df, d, name, part=f"part-{i:05d}")
                continue
            d.mkdir(exist_ok=True)
            pq.write_table(
                pa.Table.from_pandas(df, preserve_index=False), d / f"part-{i:05d}.parquet"
            )
        # keep only what the truth and campaign budgets need
        spend = ch.tables["costs"].groupby("campaign_id", as_index=False)["amount"].sum()
        ch.tables = {"costs": spend}
        kept.append(ch)
        del tables
    assert world is not None
    small = finish_tables(
        {
            "reps": world.reps,
            "stores": world.stores,
            "campaigns": campaign_budgets(world, kept),
        },
        world.t0,
    )
    for name, df in small.items():
        df.to_parquet(folder / f"{name}.parquet", index=False)
    go_live = pd.Timestamp(world.t0) + pd.Timedelta(days=world.go_live)
    DatasetConfig(
        name=f"simulated-{preset}-seed{seed}",
        go_live=f"{go_live:%Y-%m-%d}",
        approval_sla_hours={"initial": SLA_HOURS, "final": SLA_HOURS},
        extra={"simulator": {"preset": preset, "seed": seed}},
    ).write(folder)
    truth = build_truth(world, kept, cfg, seed, preset, go_live)
    truth.save(folder / "truth")
    return truth
