"""Poisson bootstrap of group sums, and the estimate tables built from them.

Intervals resample *units* (customers and unconverted leads) within each group: a
seeded ``(replicates x units)`` weight matrix is multiplied into per-unit sums with
numpy, in chunks, no Python loop over units or replicates.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["boot_sums", "estimate_table", "interval", "ratio"]


def boot_sums(
    units: pd.DataFrame,
    by: list[str],
    columns: Sequence[str],
    *,
    n_boot: int,
    seed: int,
    chunk_cells: int = 20_000_000,
) -> tuple[pd.DataFrame, dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Group sums and Poisson-bootstrap replicate sums of ``columns`` per group.

    Returns the group keys (with ``units`` count), point sums ``{col: (G,)}`` and
    replicate sums ``{col: (n_boot, G)}``. Units are resampled within their group.
    """
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
    reps = {c: np.empty((n_boot, n_groups)) for c in columns}
    rng = np.random.default_rng(seed)
    n = len(gs)
    step = max(1, min(n_boot, chunk_cells // max(n, 1)))
    for b0 in range(0, n_boot, step):
        b1 = min(n_boot, b0 + step)
        w = rng.poisson(1.0, size=(b1 - b0, n)).astype("float32")
        for i, c in enumerate(columns):
            prod = w * vals[:, i].astype("float32")
            reps[c][b0:b1] = np.add.reduceat(prod, starts, axis=1) if n else 0.0
    return keys, point, reps


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
