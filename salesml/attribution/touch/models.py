"""The attribution models other than Markov: heuristics (first, last, linear, position,
time decay) and Shapley values, all on a :class:`~salesml.attribution.touch.paths.PathTable`.

``first``, ``last``, ``linear``
    All credit to the first touch, the last touch, or equal credit to every touch.
``position``
    40% to the first touch, 40% to the last, 20% shared by the touches between
    (one touch: 100%; two: 50/50).
``time_decay``
    Credit proportional to ``2 ** (-(t_conversion - t_touch) / half_life_days)``;
    needs the ``touches`` and ``times`` columns of :func:`~salesml.attribution.journeys`.
``shapley``
    Shapley values of the coalition game ``v(S)`` = conversions of journeys whose
    set of channels lies within ``S``; exact over all ``2^n`` coalitions for up to
    ``max_exact`` channels (15), estimated from random permutations beyond that,
    with its standard error. For this game the exact value equals each channel's
    sum of ``conversions / |set|`` over the journeys that contain it.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from salesml.attribution.touch.paths import PathTable, converted_flags

__all__ = ["COLUMNS", "heuristic", "shapley", "tidy", "time_decay"]

#: Columns of every model's table.
COLUMNS = ["model", "channel", "conversions", "share", "value", "removal_effect", "se"]


def _heuristic_weights(pt: PathTable, model: str) -> np.ndarray:
    L = pt.path_len[pt.touch_path]
    pos = pt.touch_pos
    if model == "first":
        return (pos == 0).astype("float64")
    if model == "last":
        return (pos == L - 1).astype("float64")
    if model == "linear":
        return 1.0 / L
    if model == "position":
        w = np.where((pos == 0) | (pos == L - 1), 0.4, 0.2 / np.maximum(L - 2, 1))
        w = np.where(L == 1, 1.0, np.where(L == 2, 0.5, w))
        return w
    raise ValueError(model)


def heuristic(pt: PathTable, model: str) -> pd.DataFrame:
    """The tidy table of heuristic ``model`` (``first``, ``last``, ``linear``, ``position``)."""
    w = _heuristic_weights(pt, model)
    n = pt.n_channels
    conv = np.bincount(pt.touch_channel, weights=w * pt.conversions[pt.touch_path], minlength=n)
    val = np.bincount(pt.touch_channel, weights=w * pt.value[pt.touch_path], minlength=n)
    return tidy(model, pt.channels, conv, val)


def time_decay(pt: PathTable, journeys: pd.DataFrame, half_life_days: float) -> pd.DataFrame:
    """The tidy table of the time-decay model (needs ``touches``, ``times``, ``converted``)."""
    td = _time_decay_weights(journeys, half_life_days)
    g = td.groupby("channel")[["c", "v"]].sum().reindex(pt.channels, fill_value=0.0)
    return tidy("time_decay", pt.channels, g["c"].to_numpy(), g["v"].to_numpy())


def _time_decay_weights(journeys: pd.DataFrame, half_life_days: float) -> pd.DataFrame:
    need = [c for c in ("touches", "times", "converted") if c not in journeys.columns]
    if need:
        raise ValueError(
            f"time_decay needs the columns {', '.join(need)} (as made by journeys(data)): "
            "one row per journey with its touches and their times"
        )
    if not np.isfinite(half_life_days) or half_life_days <= 0:
        raise ValueError(f"half_life_days must be positive, got {half_life_days}")
    j = journeys.reset_index(drop=True)
    j = j[j["touches"].map(lambda x: isinstance(x, list | tuple | np.ndarray) and len(x) > 0)]
    j = j.reset_index(drop=True)
    lens = j["touches"].str.len().to_numpy()
    labels = np.concatenate(j["touches"].to_numpy()) if len(j) else np.array([])
    times = (
        pd.to_datetime(np.concatenate(j["times"].to_numpy())) if len(j) else pd.DatetimeIndex([])
    )
    row = np.repeat(np.arange(len(j)), lens)
    end = j["converted_at"] if "converted_at" in j else pd.Series(pd.NaT, index=j.index)
    last = pd.Series(times).groupby(row).max()
    end = end.fillna(last).to_numpy()[row]
    age = (end - times.to_numpy()) / np.timedelta64(1, "D")
    w = np.power(2.0, -np.maximum(age, 0) / half_life_days)
    w = w / np.bincount(row, weights=w)[row]
    conv = converted_flags(j, "converted", "touches")
    val = j["value"].to_numpy(dtype="float64") if "value" in j else np.zeros(len(j))
    return pd.DataFrame({"channel": labels, "c": w * conv[row], "v": w * val[row]})


def tidy(
    model: str, channels: np.ndarray, conv: np.ndarray, value: np.ndarray, **extra: np.ndarray
) -> pd.DataFrame:
    total = conv.sum()
    out = pd.DataFrame(
        {
            "model": model,
            "channel": channels,
            "conversions": conv,
            "share": conv / total if total > 0 else np.full(len(conv), np.nan),
            "value": value,
            "removal_effect": extra.get("removal_effect", np.full(len(conv), np.nan)),
            "se": extra.get("se", np.full(len(conv), np.nan)),
        }
    )
    return out[COLUMNS]


def _set_masks(pt: PathTable) -> np.ndarray:
    if pt.n_channels > 62:
        raise ValueError(f"shapley supports at most 62 channels, got {pt.n_channels}")
    bits = np.left_shift(np.int64(1), pt.touch_channel.astype("int64"))
    m = np.zeros(len(pt.path_len), dtype="int64")
    np.bitwise_or.at(m, pt.touch_path, bits)
    return m


def _shapley_exact(n: int, sets: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Exact Shapley values of v(S) = sum of weights of sets contained in S."""
    size = 1 << n
    v = np.bincount(sets, weights=weights, minlength=size).astype("float64")
    for i in range(n):  # zeta transform: v[S] = sum over subsets
        vv = v.reshape(-1, 2, 1 << i)
        vv[:, 1, :] += vv[:, 0, :]
    masks = np.arange(size, dtype="int64")
    pop = np.zeros(size, dtype="int64")
    for i in range(n):
        pop += (masks >> i) & 1
    fact = np.array([math.factorial(k) for k in range(n + 1)], dtype="float64")
    coef = fact[pop] * fact[np.maximum(n - pop - 1, 0)] / fact[n]
    phi = np.zeros(n)
    for i in range(n):
        vv = v.reshape(-1, 2, 1 << i)
        cc = coef.reshape(-1, 2, 1 << i)[:, 0, :]
        phi[i] = float(np.sum(cc * (vv[:, 1, :] - vv[:, 0, :])))
    return phi


def _shapley_sampled(
    n: int, sets: np.ndarray, weights: np.ndarray, n_samples: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Permutation-sampled Shapley values and standard errors (same game)."""
    uniq, inv = np.unique(sets, return_inverse=True)
    w = np.bincount(inv, weights=weights)
    member = ((uniq[:, None] >> np.arange(n)[None, :]) & 1).astype(bool)  # m x n
    rng = np.random.default_rng(seed)
    credits = np.zeros((n_samples, n))
    step = max(1, 5_000_000 // max(member.size, 1))
    for b0 in range(0, n_samples, step):
        b1 = min(n_samples, b0 + step)
        ranks = np.argsort(rng.random((b1 - b0, n)), axis=1).argsort(axis=1)
        # The member of each set that comes last in the permutation completes it.
        r = np.where(member[None, :, :], ranks[:, None, :], -1)
        who = r.argmax(axis=2)  # (perm, set)
        for p in range(b1 - b0):
            credits[b0 + p] = np.bincount(who[p], weights=w, minlength=n)
    return credits.mean(axis=0), credits.std(axis=0, ddof=1) / math.sqrt(n_samples)


def shapley(pt: PathTable, *, max_exact: int, n_samples: int, seed: int) -> pd.DataFrame:
    """The tidy table of Shapley values (``se`` 0 when exact)."""
    sets = _set_masks(pt)
    n = pt.n_channels
    if n <= max_exact:
        conv = _shapley_exact(n, sets, pt.conversions)
        val = _shapley_exact(n, sets, pt.value)
        return tidy("shapley", pt.channels, conv, val, se=np.zeros(n))
    conv, se = _shapley_sampled(n, sets, pt.conversions, n_samples, seed)
    val, _ = _shapley_sampled(n, sets, pt.value, n_samples, seed)
    return tidy("shapley", pt.channels, conv, val, se=se)
