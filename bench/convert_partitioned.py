"""Convert a dataset folder of single Parquet files / part folders to month partitions.

Usage::

    python bench/convert_partitioned.py SRC DST

Streams: one Parquet file of one table at a time is read and written to
``DST/<table>/month=YYYY-MM/part-NNNNN.parquet`` (the big dated tables,
:data:`salesml.data.partitions.PARTITIONED_TABLES`); the other tables' files and
``dataset.yaml`` are copied as they are. Memory stays at one part file (a chunk of
the simulation at tier L), never a whole table. Used to benchmark tier L in the
partitioned layout without generating it again.
"""

from __future__ import annotations

import resource
import shutil
import sys
import time
from pathlib import Path

import pandas as pd

from salesml.data.config import DatasetConfig
from salesml.data.folder import table_parts
from salesml.data.io import find_table_files
from salesml.data.partitions import PARTITIONED_TABLES, write_month_partitions


def convert(src: Path, dst: Path) -> None:
    """Write ``src`` to ``dst`` with the big dated tables partitioned by month."""
    config = DatasetConfig.read(src)
    if dst.exists():
        raise SystemExit(f"{dst} exists: remove it or pick another folder")
    dst.mkdir(parents=True)
    for name, p in find_table_files(src, config).items():
        t0 = time.perf_counter()
        parts = table_parts(p, src, name)
        if name in PARTITIONED_TABLES:
            for i, f in enumerate(parts):
                write_month_partitions(pd.read_parquet(f), dst / name, name, part=f"part-{i:05d}")
        elif p.is_dir():
            shutil.copytree(p, dst / p.name)
        else:
            shutil.copy2(p, dst / p.name)
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"{name}: {len(parts)} file(s), {time.perf_counter() - t0:.1f} s, peak {rss:,.0f} MB")
    shutil.copy2(src / "dataset.yaml", dst / "dataset.yaml")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    convert(Path(sys.argv[1]), Path(sys.argv[2]))
