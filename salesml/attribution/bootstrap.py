"""Poisson bootstrap of group sums, and the estimate tables built from them.

Intervals resample *units* (customers and unconverted leads) within each group: a
seeded ``(replicates x units)`` weight matrix is multiplied into per-unit sums with
numpy, in chunks, no Python loop over units or replicates. The replicates are split
into pieces of whole seeded blocks run through :func:`salesml.distributed.map_pieces`
(in this process, or on a Dask cluster), with the same sums whatever the split.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from itertools import pairwise
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["BLOCK", "boot_sums", "estimate_table", "interval", "ratio", "replicate_sums"]


#: Replicates per seeded stream: replicate ``b`` draws its weights from stream ``b // BLOCK``
#: (``SeedSequence(seed, spawn_key=(b // BLOCK,))``), so that its draws do not depend on how
#: the replicates are split into pieces of work (here or on a cluster).
BLOCK = 25


def boot_sums(
    units: pd.DataFrame,
    by: list[str],
    columns: Sequence[str],
    *,
    n_boot: int,
    seed: int,
    chunk_cells: int = 20_000_000,
    pieces: int | None = None,
    client: Any = None,
) -> tuple[pd.DataFrame, dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Group sums and Poisson-bootstrap replicate sums of ``columns`` per group.

    Returns the group keys (with ``units`` count), point sums ``{col: (G,)}`` and
    replicate sums ``{col: (n_boot, G)}``. Units are resampled within their group.

    Parameters
    ----------
    units, by, columns
        The units, the grouping columns and the columns summed.
    n_boot, seed
        Replicates and the seed of their weights (blocks of :data:`BLOCK` replicates
        each draw from their own stream of ``seed``).
    chunk_cells
        Weights drawn at a time (replicates x units), bounding the memory of a piece.
    pieces
        Pieces of whole blocks the replicates are split into (default: one in this
        process, one per worker thread on a cluster); the sums are the same whatever
        the split.
    client
        A ``distributed.Client`` to run the pieces on (or ``None``:
        ``$SALESML_DASK_SCHEDULER`` if set, else this process; see
        :func:`salesml.distributed.resolve_client`).
    """
    from salesml.distributed import map_pieces, resolve_client

    g = units.groupby(by, observed=True, sort=True).ngroup().to_numpy()
    order = np.argsort(g, kind="stable")
    gs = g[order]
    n_groups = int(gs.max()) + 1 if len(gs) else 0
    starts = np.searchsorted(gs, np.arange(n_groups))
    keys = (
        units.iloc[order][by]
        .assign(units=1)
        .groupby(by, observed=True, sort=True)
        .agg(units=("units", "size"))
        .reset_index()
    )
    vals = np.column_stack([units[c].to_numpy(dtype="float64")[order] for c in columns])
    point = {
        c: np.bincount(gs, weights=vals[:, i], minlength=n_groups) for i, c in enumerate(columns)
    }
    client = resolve_client(client)
    if pieces is None:
        pieces = 1 if client is None else max(1, sum(client.nthreads().values()))
    blocks = -(-n_boot // BLOCK)
    cut = np.linspace(0, blocks, min(max(1, int(pieces)), blocks) + 1).round().astype(int)
    ranges = [(int(a) * BLOCK, min(n_boot, int(b) * BLOCK)) for a, b in pairwise(cut)]
    got = map_pieces(
        replicate_sums,
        ranges,
        np.ascontiguousarray(vals.T, dtype="float32"),
        starts,
        seed=seed,
        chunk_cells=chunk_cells,
        client=client,
    )
    reps = {c: np.concatenate([r[i] for r in got]) for i, c in enumerate(columns)}
    return keys, point, reps


def replicate_sums(
    replicates: tuple[int, int],
    vals: np.ndarray,
    starts: np.ndarray,
    *,
    seed: int,
    chunk_cells: int = 20_000_000,
) -> np.ndarray:
    """Replicate sums of replicates ``[b0, b1)`` (``b0`` a multiple of :data:`BLOCK`).

    Parameters
    ----------
    replicates
        ``(b0, b1)``.
    vals
        ``(columns, units)`` float32 values, units sorted by group.
    starts
        Position of each group's first unit.
    seed, chunk_cells
        As in :func:`boot_sums`.

    Returns
    -------
    numpy.ndarray
        ``(columns, b1 - b0, groups)``: per column, replicate and group, the sum of the
        group's values weighted by the replicate's Poisson(1) draws.
    """
    b0, b1 = replicates
    n_cols, n = vals.shape
    out = np.zeros((n_cols, b1 - b0, len(starts)))
    step = max(1, min(BLOCK, chunk_cells // max(n, 1)))
    for k in range(b0 // BLOCK, -(-b1 // BLOCK)):
        # one stream per block, drawn in order: chunking within it keeps the same draws
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(k,)))
        for r0 in range(k * BLOCK, min(b1, (k + 1) * BLOCK), step):
            r1 = min(b1, (k + 1) * BLOCK, r0 + step)
            w = rng.poisson(1.0, size=(r1 - r0, n)).astype("float32")
            if not n:
                continue
            for i in range(n_cols):
                out[i, r0 - b0 : r1 - b0] = np.add.reduceat(w * vals[i], starts, axis=1)
    return out


def interval(est: np.ndarray, reps: np.ndarray, ci: float) -> tuple[np.ndarray, np.ndarray]:
    a = (1 - ci) / 2
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        lo = np.nanquantile(reps, a, axis=0)
        hi = np.nanquantile(reps, 1 - a, axis=0)
    bad = ~np.isfinite(est)
    return np.where(bad, np.nan, lo), np.where(bad, np.nan, hi)


def ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):
        out = num / den
    return np.where(den > 0, out, np.nan)


def estimate_table(
    keys: pd.DataFrame,
    columns: dict[str, Any],
    name: str,
    est: np.ndarray,
    rep_est: np.ndarray,
    ci: float,
    *,
    few: np.ndarray,
) -> pd.DataFrame:
    """``keys`` plus ``columns``, the estimate ``name`` with its bootstrap interval
    (``name_low``, ``name_high``; none where ``few``) and ``rel_precision``."""
    lo, hi = interval(est, rep_est, ci)
    lo, hi = np.where(few, np.nan, lo), np.where(few, np.nan, hi)
    out = keys.copy()
    for col, values in columns.items():
        out[col] = values
    out[name] = est
    out[f"{name}_low"] = lo
    out[f"{name}_high"] = hi
    with np.errstate(all="ignore"):
        out["rel_precision"] = (hi - lo) / 2 / est
    return out
