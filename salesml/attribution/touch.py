"""Multi-touch attribution: heuristics, exact Markov removal effects, Shapley values.

All models take journeys (see :func:`salesml.attribution.journeys`, or any frame
with a ``path`` / ``touches`` column and conversion counts) and return one tidy
shape, so they can be compared side by side::

    model, channel, conversions, share, value, removal_effect, se

Models
------
``first``, ``last``, ``linear``
    All credit to the first touch, the last touch, or equal credit to every touch.
``position``
    40% to the first touch, 40% to the last, 20% shared by the touches between
    (one touch: 100%; two: 50/50).
``time_decay``
    Credit proportional to ``2 ** (-(t_conversion - t_touch) / half_life_days)``;
    needs the ``times`` column of :func:`journeys`.
``markov``
    Removal effects of an absorbing Markov chain of order 1 to 4 (a state is the
    last ``order`` touches), computed exactly by sparse linear algebra:
    ``P(conversion) = pi0 (I - Q)^-1 r``; removing a channel sends every state that
    contains it to the null state. Deterministic — no simulation.
``shapley``
    Shapley values of the coalition game ``v(S)`` = conversions of journeys whose
    set of channels lies within ``S``; exact over all ``2^n`` coalitions for up to
    ``max_exact`` channels (15), estimated from random permutations beyond that,
    with its standard error. For this game the exact value equals each channel's
    sum of ``conversions / |set|`` over the journeys that contain it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import scipy.sparse as sp
from scipy.sparse.linalg import splu

__all__ = ["MODELS", "PathTable", "markov_removal_effects", "path_table", "touch_attribution"]

MODELS: tuple[str, ...] = (
    "first",
    "last",
    "linear",
    "position",
    "time_decay",
    "markov",
    "shapley",
)
_COLUMNS = ["model", "channel", "conversions", "share", "value", "removal_effect", "se"]


@dataclass
class PathTable:
    """Journeys aggregated by distinct path, exploded to touches (integer-coded).

    Attributes
    ----------
    channels
        Touch labels; ``touch_channel`` holds indices into it.
    conversions, nulls, value
        Per distinct path: converted journeys, non-converted journeys, conversion value.
    touch_path, touch_pos, touch_channel, path_len
        The exploded touches: owning path, position in it, channel code; path lengths.
    """

    channels: np.ndarray
    conversions: np.ndarray
    nulls: np.ndarray
    value: np.ndarray
    touch_path: np.ndarray
    touch_pos: np.ndarray
    touch_channel: np.ndarray
    path_len: np.ndarray

    @property
    def n_channels(self) -> int:
        return len(self.channels)


def _pick(df: pd.DataFrame, names: Sequence[str]) -> str | None:
    for n in names:
        if n in df.columns:
            return n
    return None


def path_table(journeys: pd.DataFrame, *, sep: str = ">") -> PathTable:
    """Aggregate journeys by distinct path and code the touches as integers.

    Parameters
    ----------
    journeys
        A frame with a ``path`` column (labels joined by ``sep``) or a ``touches``
        column (lists of labels); conversions in ``conversions`` / ``total_conversions``
        (counts) or ``converted`` (bool, one journey per row); optional non-converted
        counts in ``nulls`` / ``total_null`` (default: ``1 - converted`` per row) and
        conversion value in ``value`` / ``total_conversion_value``.
    sep
        Separator of ``path`` strings.

    Returns
    -------
    PathTable
    """
    if "path" in journeys.columns:
        paths = journeys["path"].astype("str")
    elif "touches" in journeys.columns:
        paths = journeys["touches"].map(lambda x: sep.join(map(str, x)))
    else:
        raise ValueError("journeys need a 'path' (text) or 'touches' (lists) column")
    cc = _pick(journeys, ["conversions", "total_conversions", "conv"])
    nc = _pick(journeys, ["nulls", "total_null", "null"])
    vc = _pick(journeys, ["value", "total_conversion_value"])
    if cc is not None:
        conv = pd.to_numeric(journeys[cc]).to_numpy(dtype="float64")
        nulls = (
            pd.to_numeric(journeys[nc]).to_numpy(dtype="float64")
            if nc is not None
            else np.zeros(len(journeys))
        )
    elif "converted" in journeys.columns:
        conv = journeys["converted"].astype(bool).to_numpy().astype("float64")
        nulls = 1.0 - conv
    else:
        raise ValueError("journeys need 'converted' (bool) or 'conversions' (count) columns")
    val = (
        pd.to_numeric(journeys[vc]).fillna(0).to_numpy(dtype="float64")
        if vc is not None
        else np.zeros(len(journeys))
    )
    # Aggregate equal paths, then split and code the touches, all in Arrow (C++).
    arr = pa.array(paths.fillna(""), type=pa.string())
    penc = pc.dictionary_encode(arr)
    if isinstance(penc, pa.ChunkedArray):
        penc = penc.combine_chunks()
    pidx = penc.indices.to_numpy(zero_copy_only=False).astype("int64")
    n_paths = len(penc.dictionary)
    c_sum = np.bincount(pidx, weights=conv, minlength=n_paths)
    n_sum = np.bincount(pidx, weights=nulls, minlength=n_paths)
    v_sum = np.bincount(pidx, weights=val, minlength=n_paths)
    plen = pc.binary_length(penc.dictionary).to_numpy(zero_copy_only=False)
    keep = ((c_sum + n_sum) > 0) & (plen > 0)
    kept = np.flatnonzero(keep)
    uniq_paths = penc.dictionary.take(pa.array(kept)) if not keep.all() else penc.dictionary
    lists = pc.split_pattern(uniq_paths, sep)
    lens = pc.list_value_length(lists).to_numpy(zero_copy_only=False).astype("int64")
    enc = pc.dictionary_encode(pc.list_flatten(lists))
    if isinstance(enc, pa.ChunkedArray):
        enc = enc.combine_chunks()
    names = np.asarray(enc.dictionary.to_pylist(), dtype=object)
    order = np.argsort(names, kind="stable")
    rank = np.empty(len(order), dtype="int64")
    rank[order] = np.arange(len(order))
    codes = rank[enc.indices.to_numpy(zero_copy_only=False).astype("int64")]
    uniq = names[order]
    tp = np.repeat(np.arange(len(kept)), lens)
    starts = np.concatenate([[0], np.cumsum(lens)[:-1]]) if len(lens) else np.array([], int)
    pos = np.arange(len(codes)) - np.repeat(starts, lens)
    return PathTable(
        channels=np.asarray(uniq, dtype=object),
        conversions=c_sum[kept],
        nulls=n_sum[kept],
        value=v_sum[kept],
        touch_path=tp,
        touch_pos=pos,
        touch_channel=codes.astype("int64"),
        path_len=lens.astype("int64"),
    )


# ---------------------------------------------------------------------- heuristics
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


def _time_decay_weights(journeys: pd.DataFrame, half_life_days: float, sep: str) -> pd.DataFrame:
    if "times" not in journeys.columns or "touches" not in journeys.columns:
        raise ValueError(
            "time_decay needs 'touches' and 'times' columns (as made by journeys(data))"
        )
    if half_life_days <= 0:
        raise ValueError(f"half_life_days must be positive, got {half_life_days}")
    j = journeys.reset_index(drop=True)
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
    conv = j["converted"].astype(bool).to_numpy().astype("float64")
    val = j["value"].to_numpy(dtype="float64") if "value" in j else np.zeros(len(j))
    return pd.DataFrame({"channel": labels, "c": w * conv[row], "v": w * val[row]})


def _tidy(
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
    return out[_COLUMNS]


# ---------------------------------------------------------------------- markov
#: Chains with at most this many states are solved by one dense inverse + Woodbury updates.
_DENSE_STATES = 3000


def _removals_dense(
    A: np.ndarray, r: np.ndarray, pi0: np.ndarray, contains: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Conversion probability (and value) of the full chain and with each channel removed.

    One LU inverse ``B = A^-1``; removing the states ``R`` of a channel (forcing
    their absorption into null) is a rank-``|R|`` change, solved exactly with the
    Woodbury identity: ``x' = y' - B_R (B_RR)^-1 y'_R`` with ``y' = B (r - E_R r_R)``.
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        B = np.linalg.inv(A)
    y = B @ r
    zt = pi0 @ B
    base_pv = pi0 @ y
    C = contains.shape[1]
    pv = np.zeros((C, r.shape[1]))
    for c in range(C):
        R = np.flatnonzero(contains[:, c])
        if not len(R):
            pv[c] = base_pv
            continue
        G = B[:, R]  # S x |R|
        yp = y - G @ r[R]
        corr = np.linalg.solve(G[R], yp[R])
        pv[c] = pi0 @ yp - zt[R] @ corr
    return base_pv, pv


def _removals_sparse(
    A: sp.csc_matrix, r: np.ndarray, pi0: np.ndarray, contains: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Same as :func:`_removals_dense` for large chains: one sparse solve per removal.

    Each subsystem is solved by BiCGSTAB to a relative residual of 1e-12 (absorbing
    chains are well conditioned), falling back to a sparse LU when it does not converge.
    """
    from scipy.sparse.linalg import bicgstab

    def solve(keep: np.ndarray) -> np.ndarray:
        if not keep.any():
            return np.zeros(r.shape[1])
        M = A[keep][:, keep] if not keep.all() else A
        rk = r[keep]
        cols = []
        for j in range(rk.shape[1]):
            if not rk[:, j].any():
                cols.append(np.zeros(len(rk)))
                continue
            x, info = bicgstab(M, rk[:, j], rtol=1e-12, atol=0.0, maxiter=5000)
            if info != 0:
                x = splu(sp.csc_matrix(M)).solve(rk[:, j])
            cols.append(x)
        return pi0[keep] @ np.column_stack(cols)

    base_pv = solve(np.ones(A.shape[0], dtype=bool))
    pv = np.array([solve(~contains[:, c]) for c in range(contains.shape[1])])
    return base_pv, pv


def markov_removal_effects(pt: PathTable, order: int = 1) -> pd.DataFrame:
    """Exact removal effects of an order-``order`` absorbing Markov chain.

    Parameters
    ----------
    pt
        Journeys as a :class:`PathTable`.
    order
        Number of past touches a state remembers (1 to 4).

    Returns
    -------
    pandas.DataFrame
        Index channel; columns ``removal_effect`` (``1 - P(conv | channel removed) /
        P(conv)``), ``value_removal_effect`` (same for expected conversion value),
        plus the attributes ``p_conversion`` and ``n_states`` in ``.attrs``.
    """
    if order not in (1, 2, 3, 4):
        raise ValueError(f"order must be 1, 2, 3 or 4, got {order}")
    C = pt.n_channels
    base = C + 1
    ch = pt.touch_channel
    pos = pt.touch_pos
    code = np.zeros(len(ch), dtype="int64")
    for j in range(order):
        shifted = np.zeros(len(ch), dtype="int64")
        ok = pos >= j
        if j == 0:
            shifted = ch + 1
        else:
            idx = np.flatnonzero(ok)
            shifted[idx] = ch[idx - j] + 1
        code += shifted * (base**j)
    space = base**order
    if space <= 8_000_000:  # index states through a lookup table: O(n), no sort
        seen = np.zeros(space, dtype=bool)
        seen[code] = True
        states = np.flatnonzero(seen)
        lookup = np.cumsum(seen) - 1
        sidx = lookup[code]
    else:
        states, sidx = np.unique(code, return_inverse=True)
    S = len(states)
    count = pt.conversions + pt.nulls
    path = pt.touch_path
    w_touch = count[path]
    # transitions between consecutive touches of a path
    nxt = np.flatnonzero(np.diff(path) == 0)
    last = (
        np.concatenate([np.flatnonzero(np.diff(path) != 0), [len(path) - 1]])
        if len(path)
        else np.array([], int)
    )
    first = pos == 0
    conv_s = np.bincount(sidx[last], weights=pt.conversions[path[last]], minlength=S)
    null_s = np.bincount(sidx[last], weights=pt.nulls[path[last]], minlength=S)
    val_s = np.bincount(sidx[last], weights=pt.value[path[last]], minlength=S)
    pi0 = np.bincount(sidx[first], weights=w_touch[first], minlength=S)
    pi0 = pi0 / pi0.sum() if pi0.sum() > 0 else pi0
    # Which channels each state contains.
    contains = np.zeros((S, C), dtype=bool)
    rem = states.copy()
    for _ in range(order):
        digit = rem % base
        has = digit > 0
        contains[np.flatnonzero(has), digit[has] - 1] = True
        rem //= base
    if S <= _DENSE_STATES:
        Qd = np.bincount(
            sidx[nxt] * S + sidx[nxt + 1], weights=w_touch[nxt], minlength=S * S
        ).reshape(S, S)
        out_s = Qd.sum(axis=1) + conv_s + null_s
        inv = np.where(out_s > 0, 1.0 / np.where(out_s > 0, out_s, 1.0), 0.0)
        r = np.column_stack([conv_s * inv, val_s * inv])
        base_pv, pv = _removals_dense(np.eye(S) - Qd * inv[:, None], r, pi0, contains)
    else:
        Q = sp.coo_matrix((w_touch[nxt], (sidx[nxt], sidx[nxt + 1])), shape=(S, S)).tocsr()
        out_s = np.asarray(Q.sum(axis=1)).ravel() + conv_s + null_s
        inv = np.where(out_s > 0, 1.0 / np.where(out_s > 0, out_s, 1.0), 0.0)
        r = np.column_stack([conv_s * inv, val_s * inv])
        A = (sp.identity(S, format="csr") - sp.diags(inv) @ Q).tocsc()
        base_pv, pv = _removals_sparse(A, r, pi0, contains)
    with np.errstate(all="ignore"):
        re = np.where(base_pv[0] > 0, 1 - pv[:, 0] / base_pv[0], np.nan)
        rev = np.where(base_pv[1] > 0, 1 - pv[:, 1] / base_pv[1], np.nan)
    out = pd.DataFrame(
        {"removal_effect": re, "value_removal_effect": rev},
        index=pd.Index(pt.channels, name="channel"),
    )
    out.attrs["p_conversion"] = float(base_pv[0])
    out.attrs["n_states"] = int(S)
    return out


def _markov(pt: PathTable, order: int) -> pd.DataFrame:
    re = markov_removal_effects(pt, order)
    tot_c, tot_v = pt.conversions.sum(), pt.value.sum()
    s = re["removal_effect"].to_numpy()
    sv = re["value_removal_effect"].to_numpy()
    conv = tot_c * s / s.sum() if s.sum() > 0 else np.zeros(len(s))
    val = tot_v * sv / sv.sum() if np.nansum(sv) > 0 else np.zeros(len(sv))
    return _tidy(
        f"markov_{order}" if order > 1 else "markov", pt.channels, conv, val, removal_effect=s
    )


# ---------------------------------------------------------------------- shapley
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


def _shapley(pt: PathTable, max_exact: int, n_samples: int, seed: int) -> pd.DataFrame:
    sets = _set_masks(pt)
    n = pt.n_channels
    if n <= max_exact:
        conv = _shapley_exact(n, sets, pt.conversions)
        val = _shapley_exact(n, sets, pt.value)
        return _tidy("shapley", pt.channels, conv, val, se=np.zeros(n))
    conv, se = _shapley_sampled(n, sets, pt.conversions, n_samples, seed)
    val, _ = _shapley_sampled(n, sets, pt.value, n_samples, seed)
    return _tidy("shapley", pt.channels, conv, val, se=se)


# ---------------------------------------------------------------------- entry point
def touch_attribution(
    journeys: pd.DataFrame,
    model: str | Sequence[str] = "markov",
    *,
    order: int = 1,
    half_life_days: float = 7.0,
    max_exact: int = 15,
    n_samples: int = 2000,
    seed: int = 0,
    sep: str = ">",
) -> pd.DataFrame:
    """Credit conversions (and their value) to touch channels.

    Parameters
    ----------
    journeys
        Output of :func:`~salesml.attribution.journeys`, or any frame accepted by
        :func:`path_table` (``time_decay`` needs ``touches`` and ``times``).
    model
        One of :data:`MODELS` or a list of them (results stacked).
    order
        Markov chain order (1 to 4).
    half_life_days
        Half-life of ``time_decay``.
    max_exact
        Largest number of channels for exact Shapley values.
    n_samples
        Permutations for sampled Shapley values.
    seed
        Seed for sampled Shapley values.
    sep
        Separator of ``path`` strings.

    Returns
    -------
    pandas.DataFrame
        ``model, channel, conversions, share, value, removal_effect, se`` — one row
        per model and channel; ``conversions`` sum to the total conversions for
        every model; ``removal_effect`` only for Markov, ``se`` only for Shapley
        (0 when exact).
    """
    models = [model] if isinstance(model, str) else list(model)
    bad = [m for m in models if m not in MODELS]
    if bad:
        raise ValueError(f"unknown model(s) {bad}; models: {', '.join(MODELS)}")
    pt = path_table(journeys, sep=sep)
    out = []
    for m in models:
        if m in ("first", "last", "linear", "position"):
            w = _heuristic_weights(pt, m)
            n = pt.n_channels
            conv = np.bincount(
                pt.touch_channel, weights=w * pt.conversions[pt.touch_path], minlength=n
            )
            val = np.bincount(pt.touch_channel, weights=w * pt.value[pt.touch_path], minlength=n)
            out.append(_tidy(m, pt.channels, conv, val))
        elif m == "time_decay":
            td = _time_decay_weights(journeys, half_life_days, sep)
            g = td.groupby("channel")[["c", "v"]].sum().reindex(pt.channels, fill_value=0.0)
            out.append(_tidy(m, pt.channels, g["c"].to_numpy(), g["v"].to_numpy()))
        elif m == "markov":
            out.append(_markov(pt, order))
        else:
            out.append(_shapley(pt, max_exact, n_samples, seed))
    return pd.concat(out, ignore_index=True)
