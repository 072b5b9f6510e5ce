"""Small shared helpers of the simulator: draws, ids and times."""

from __future__ import annotations

import numpy as np
import pandas as pd

from salesml.data.schema import SPECS

__all__ = [
    "days_to_timestamps",
    "finish_tables",
    "lognormal",
    "make_ids",
    "sample_times",
    "sigmoid",
]


def sigmoid(x: np.ndarray) -> np.ndarray:
    """The logistic function."""
    return 1.0 / (1.0 + np.exp(-x))


def sample_times(rng: np.random.Generator, n: int, weights: np.ndarray) -> np.ndarray:
    """Times (float days since start) from a daily intensity, within working hours."""
    day = rng.choice(len(weights), size=n, p=weights)
    return day + rng.uniform(8.5, 20.0, size=n) / 24.0


def lognormal(
    rng: np.random.Generator, median: np.ndarray | float, sigma: float, n: int | tuple[int, ...]
) -> np.ndarray:
    """Log-normal draws with the given median and log-scale ``sigma``."""
    return np.asarray(median) * np.exp(sigma * rng.standard_normal(n))


def make_ids(prefix: str, start: int, n: int, width: int) -> np.ndarray:
    """``n`` ids ``prefix`` + zero-padded numbers from ``start`` (object array)."""
    nums = np.arange(start, start + n).astype(str)
    return np.char.add(prefix, np.char.zfill(nums, width)).astype(object)


def days_to_timestamps(t0: np.datetime64, days: np.ndarray) -> np.ndarray:
    """Float days since ``t0`` (NaN = missing) -> datetime64[us] (NaT = missing)."""
    days = np.asarray(days, dtype=float)
    out = np.full(days.shape, np.datetime64("NaT", "us"))
    ok = ~np.isnan(days)
    out[ok] = t0 + np.round(days[ok] * 86_400e6).astype("timedelta64[us]")
    return out


def finish_tables(tables: dict[str, pd.DataFrame], t0: np.datetime64) -> dict[str, pd.DataFrame]:
    """Convert float-day times to timestamps and columns to their model dtypes."""
    out = {}
    for name, df in tables.items():
        spec = SPECS[name]
        df = df.reset_index(drop=True)
        cols = {}
        for c in df.columns:
            s = df[c]
            col = spec[c] if c in spec else None  # noqa: SIM401 (TableSpec is not a dict)
            kind = col.kind if col else None
            if kind == "datetime" or c in ("lost_at",):
                if np.issubdtype(s.dtype, np.datetime64):
                    cols[c] = s.astype("datetime64[us]")
                else:
                    cols[c] = pd.Series(days_to_timestamps(t0, s.to_numpy(float)))
            elif kind in ("id", "str", "category") or (col is None and s.dtype == object):
                cols[c] = s.astype("str").where(s.notna(), None).astype("str")
            elif kind == "int":
                cols[c] = s.astype("Int64")
            elif kind == "bool":
                cols[c] = s.astype(bool)
            elif kind == "float":
                cols[c] = s.astype("float64")
            else:
                cols[c] = s
        out[name] = pd.DataFrame(cols)
    return out
