"""Absorbing Markov chains over touch paths: exact removal effects, the transition matrix.

A state is the last ``order`` touches of a journey (fewer at its start); each journey
walks ``(start) -> s_1 -> ... -> s_L`` and is then absorbed into ``(conversion)`` or
``(null)``. With ``P`` the transition probabilities between touch states, ``r`` the
probability of converting right after each state and ``pi0`` the distribution of first
states, the conversion probability is ``pi0 (I - P)^-1 r``. Removing a channel sends
every state containing it to ``(null)``; its *removal effect* is
``1 - P(conversion | channel removed) / P(conversion)``. Both are computed exactly:

- **dense** (small chains, see :func:`choose_solver`): one LU inverse, then for each
  channel a Woodbury update of rank ``|R|`` (its states) or, when ``R`` is more than
  half the chain, a direct solve of the rest;
- **sparse** (larger chains): for each channel one BiCGSTAB solve of the adjoint system
  ``(I - P_KK)^T z = pi0_K`` over the states ``K`` it leaves (relative residual
  1e-13, warm-started from the full chain's solution), falling back to fixed-point
  sweeps, which always converge on an absorbing chain, if it breaks down.

:func:`choose_solver` picks the faster one from a cost model whose constants were
measured on the project's 2-core machine (``bench/bench_attribution.py --part solver``;
numbers in ``bench/README.md``). Both run
with the BLAS/OpenMP thread pools capped (:data:`DEFAULT_THREADS`, one thread unless
told otherwise): oversubscribed BLAS threads on a loaded machine stalled the sparse
solver for minutes where it needs seconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.linalg import bicgstab
from threadpoolctl import threadpool_limits

from salesml.attribution.touch.paths import PathTable

__all__ = [
    "CROSSOVER",
    "DEFAULT_THREADS",
    "DENSE_MAX_STATES",
    "MAX_ORDER",
    "MAX_STATES",
    "Chain",
    "build_chain",
    "choose_solver",
    "markov_removal_effects",
    "transition_table",
]

#: Highest chain order accepted (a state remembers at most this many touches).
MAX_ORDER = 10
#: Default bound on the number of states of a chain (memory and time stay bounded).
MAX_STATES = 200_000
#: The dense solver's memory bound: never more states than this (an S x S inverse).
DENSE_MAX_STATES = 8_000
#: Measured cost ratio of the two solvers (bench/README.md, "Markov solver crossover"):
#: dense takes about ``a S^3`` seconds, sparse about ``b (C+1)(E+S)`` (S states, C
#: channels, E transitions); ``CROSSOVER = b / a`` on the project's machine.
CROSSOVER = 800.0
#: BLAS/OpenMP threads the solvers may use.
DEFAULT_THREADS = 1

START, CONVERSION, NULL = "(start)", "(conversion)", "(null)"

Solver = Literal["auto", "dense", "sparse"]


@dataclass
class Chain:
    """An absorbing chain of order ``order`` built from a :class:`PathTable`.

    Attributes
    ----------
    pt, order
        The paths and the order.
    n_states
        Number of touch states.
    state_of_touch
        State index of every touch of ``pt``.
    edge_from, edge_to, edge_weight
        Journeys moving between touch states (aggregated edges).
    conv, null, value
        Per state: journeys ending there converted / not converted, and their value.
    start
        Per state: journeys starting there.
    channel_states
        Per channel: the states containing it (sorted indices).
    """

    pt: PathTable
    order: int
    n_states: int
    state_of_touch: np.ndarray
    edge_from: np.ndarray
    edge_to: np.ndarray
    edge_weight: np.ndarray
    conv: np.ndarray
    null: np.ndarray
    value: np.ndarray
    start: np.ndarray
    channel_states: list[np.ndarray]

    @property
    def out_weight(self) -> np.ndarray:
        """Journeys leaving each state (to another state or absorbed)."""
        out = np.bincount(self.edge_from, weights=self.edge_weight, minlength=self.n_states)
        return out + self.conv + self.null

    def state_names(self, sep: str = ">") -> list[str]:
        """Each state as its touches, oldest first, joined by ``sep`` (``"a>b"``)."""
        pt, S = self.pt, self.n_states
        rep = np.zeros(S, dtype="int64")
        rep[self.state_of_touch] = np.arange(len(self.state_of_touch))
        names = pt.channels
        out = []
        for t in rep:
            k = min(self.order, int(pt.touch_pos[t]) + 1)
            out.append(sep.join(names[pt.touch_channel[t - k + 1 : t + 1]]))
        return out


def _check_order(order: object) -> int:
    if isinstance(order, bool) or not isinstance(order, int | np.integer):
        raise ValueError(f"order must be a whole number from 1 to {MAX_ORDER}, got {order!r}")
    if not 1 <= int(order) <= MAX_ORDER:
        raise ValueError(f"order must be from 1 to {MAX_ORDER}, got {order}")
    return int(order)


def build_chain(pt: PathTable, order: int = 1, *, max_states: int = MAX_STATES) -> Chain:
    """The order-``order`` chain of ``pt`` (vectorised; no loop over touches or paths).

    Raises
    ------
    ValueError
        When ``order`` is outside 1..:data:`MAX_ORDER` or the chain would have more than
        ``max_states`` states (the message gives the count and what to do).
    """
    order = _check_order(order)
    C = pt.n_channels
    ch = pt.touch_channel.astype("int64") + 1  # 1..C; 0 = "before the journey started"
    pos = pt.touch_pos
    code, _ = pd.factorize(ch)
    for j in range(1, order):
        prev = np.zeros(len(ch), dtype="int64")
        idx = np.flatnonzero(pos >= j)
        prev[idx] = ch[idx - j]
        code, _ = pd.factorize(code.astype("int64") * (C + 1) + prev)
        n = int(code.max()) + 1 if len(code) else 0
        if n > max_states:
            break
    sidx = code.astype("int64")
    S = int(sidx.max()) + 1 if len(sidx) else 0
    if max_states < S:
        raise ValueError(
            f"a Markov chain of order {order} over these journeys has more than "
            f"{max_states:,} states ({S:,} found before stopping); use a lower order "
            "(choose_order compares them) or raise max_states"
        )
    count = pt.conversions + pt.nulls
    path = pt.touch_path
    w_touch = count[path]
    same = np.diff(path) == 0
    nxt = np.flatnonzero(same)
    last = np.append(np.flatnonzero(~same), len(path) - 1) if len(path) else np.zeros(0, "int64")
    first = pos == 0
    key = sidx[nxt] * S + sidx[nxt + 1]
    inv, ekey = pd.factorize(key)  # hashing, no sort
    ew = np.bincount(inv, weights=w_touch[nxt], minlength=len(ekey))
    # channels of each state: (state, channel) pairs over the touches it remembers
    pairs = []
    for j in range(order):
        idx = np.flatnonzero(pos >= j)
        pairs.append(sidx[idx] * C + (ch[idx - j] - 1))
    sc = pd.unique(np.concatenate(pairs)) if pairs else np.zeros(0, "int64")
    st, cc = sc // max(C, 1), sc % max(C, 1)
    by_ch = np.argsort(cc, kind="stable")
    bounds = np.searchsorted(cc[by_ch], np.arange(C + 1))
    channel_states = [np.sort(st[by_ch[bounds[c] : bounds[c + 1]]]) for c in range(C)]
    return Chain(
        pt=pt,
        order=order,
        n_states=S,
        state_of_touch=sidx,
        edge_from=(ekey // max(S, 1)).astype("int64"),
        edge_to=(ekey % max(S, 1)).astype("int64"),
        edge_weight=ew,
        conv=np.bincount(sidx[last], weights=pt.conversions[path[last]], minlength=S),
        null=np.bincount(sidx[last], weights=pt.nulls[path[last]], minlength=S),
        value=np.bincount(sidx[last], weights=pt.value[path[last]], minlength=S),
        start=np.bincount(sidx[first], weights=w_touch[first], minlength=S),
        channel_states=channel_states,
    )


def _rates(chain: Chain) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Transition probabilities (as edge weights), absorption rates ``r`` (S x 2), ``pi0``."""
    out = chain.out_weight
    inv = np.where(out > 0, 1.0 / np.where(out > 0, out, 1.0), 0.0)
    p = chain.edge_weight * inv[chain.edge_from]
    r = np.column_stack([chain.conv * inv, chain.value * inv])
    tot = chain.start.sum()
    pi0 = chain.start / tot if tot > 0 else chain.start
    return p, r, pi0


def _removals_dense(chain: Chain) -> tuple[np.ndarray, np.ndarray]:
    """``pi0 (I-P)^-1 r`` for the full chain and with each channel's states removed."""
    S = chain.n_states
    p, r, pi0 = _rates(chain)
    A = np.eye(S)
    np.subtract.at(A, (chain.edge_from, chain.edge_to), p)
    B = np.linalg.inv(A)
    y = B @ r
    zt = pi0 @ B
    base = pi0 @ y
    C = chain.pt.n_channels
    pv = np.zeros((C, 2))
    everything = np.ones(S, dtype=bool)
    for c, R in enumerate(chain.channel_states):
        m = len(R)
        if m == 0:
            pv[c] = base
        elif m <= S // 2:
            # Woodbury: x' = y' - B_R (B_RR)^-1 y'_R with y' = B (r with r_R zeroed)
            G = B[:, R]
            yp = y - G @ r[R]
            corr = np.linalg.solve(G[R], yp[R])
            pv[c] = pi0 @ yp - zt[R] @ corr
        elif m < S:
            keep = everything.copy()
            keep[R] = False
            z = np.linalg.solve(A[np.ix_(keep, keep)].T, pi0[keep])
            pv[c] = z @ r[keep]
    return base, pv


#: Relative residual the sparse solves reach.
_RTOL = 1e-13
#: BiCGSTAB iterations before a solve falls back to fixed-point sweeps.
_KRYLOV_MAXITER = 1_000
#: Fixed-point sweeps allowed to the fallback (they converge geometrically).
_MAX_SWEEPS = 50_000


def _solve(M: sp.csr_matrix, b: np.ndarray, x0: np.ndarray | None) -> np.ndarray:
    """``z`` with ``M z = b`` for ``M = I - P_KK^T`` (an absorbing chain's adjoint system).

    BiCGSTAB from ``x0``; should it break down or stall, fixed-point sweeps
    ``z <- b + (I - M) z`` from its last iterate, which converge for every absorbing
    chain (the spectral radius of ``P`` is below 1), to the same relative residual.
    """
    if not b.any():
        return np.zeros(len(b))
    z, info = bicgstab(M, b, x0=x0, rtol=_RTOL, atol=0.0, maxiter=_KRYLOV_MAXITER)
    if info == 0:
        return z
    if not np.all(np.isfinite(z)):
        z = b.copy() if x0 is None else x0.copy()
    scale = np.linalg.norm(b)
    for _ in range(_MAX_SWEEPS):
        res = b - M @ z
        if np.linalg.norm(res) <= _RTOL * scale:
            return z
        z = z + res
    raise RuntimeError(
        "the Markov chain's linear system did not converge; please report this data set"
    )


def _removals_sparse(chain: Chain) -> tuple[np.ndarray, np.ndarray]:
    """Same as :func:`_removals_dense` for large chains: one sparse solve per removal.

    For each channel the adjoint system ``(I - P_KK)^T z = pi0_K`` over the states
    ``K`` it leaves (``z``: expected visits) is solved by BiCGSTAB to a relative residual
    of 1e-13, started from the full chain's solution (about a dozen iterations), with
    fixed-point sweeps as the fallback (:func:`_solve`); then ``P(conv) = z . r_K``.
    """
    S = chain.n_states
    p, r, pi0 = _rates(chain)
    PT = sp.csr_matrix((p, (chain.edge_to, chain.edge_from)), shape=(S, S))
    A = (sp.identity(S, format="csr") - PT).tocsr()
    z_full = _solve(A, pi0, None)
    base = z_full @ r
    pv = np.zeros((chain.pt.n_channels, 2))
    for c, R in enumerate(chain.channel_states):
        if not len(R):
            pv[c] = base
            continue
        keep = np.ones(S, dtype=bool)
        keep[R] = False
        if keep.any():
            z = _solve(A[keep][:, keep], pi0[keep], z_full[keep])
            pv[c] = z @ r[keep]
    return base, pv


def choose_solver(chain: Chain, solver: Solver = "auto") -> str:
    """``dense`` or ``sparse`` for ``chain``; ``auto`` picks the one predicted faster.

    Dense costs one ``S x S`` inverse (``S^3``); sparse one solve per channel and one
    for the full chain, each a dozen sparse products (``(C+1)(E+S)``). ``auto`` takes
    dense when ``S^3 <= CROSSOVER (C+1)(E+S)`` and ``S <= DENSE_MAX_STATES``: order-1
    chains (one state per channel) are dense at any realistic size, higher orders turn
    sparse at a few hundred states.
    """
    if solver not in ("auto", "dense", "sparse"):
        raise ValueError(f"solver must be 'auto', 'dense' or 'sparse', got {solver!r}")
    if solver != "auto":
        return solver
    S = chain.n_states
    work = (chain.pt.n_channels + 1) * (len(chain.edge_from) + S)
    return "dense" if S <= DENSE_MAX_STATES and float(S) ** 3 <= CROSSOVER * work else "sparse"


def markov_removal_effects(
    pt: PathTable,
    order: int = 1,
    *,
    solver: Solver = "auto",
    threads: int = DEFAULT_THREADS,
    max_states: int = MAX_STATES,
) -> pd.DataFrame:
    """Exact removal effects of an order-``order`` absorbing Markov chain.

    Parameters
    ----------
    pt
        Journeys as a :class:`~salesml.attribution.touch.paths.PathTable`.
    order
        Number of past touches a state remembers (1 to :data:`MAX_ORDER`).
    solver
        ``auto`` (the one :func:`choose_solver` predicts faster), ``dense`` or
        ``sparse``; both are exact, they differ in time and memory.
    threads
        BLAS/OpenMP threads the solve may use (capped with threadpoolctl).
    max_states
        Refuse chains with more states (see :func:`build_chain`).

    Returns
    -------
    pandas.DataFrame
        Index channel; columns ``removal_effect`` (``1 - P(conv | channel removed) /
        P(conv)``) and ``value_removal_effect`` (same for expected conversion value);
        ``.attrs`` holds ``p_conversion``, ``n_states``, ``order`` and ``solver``.
    """
    chain = build_chain(pt, order, max_states=max_states)
    how = choose_solver(chain, solver)
    if not isinstance(threads, int) or threads < 1:
        raise ValueError(f"threads must be a whole number >= 1, got {threads!r}")
    with threadpool_limits(limits=threads):
        base, pv = (_removals_dense if how == "dense" else _removals_sparse)(chain)
    with np.errstate(all="ignore"):
        re = np.where(base[0] > 0, 1 - pv[:, 0] / base[0], np.nan)
        rev = np.where(base[1] > 0, 1 - pv[:, 1] / base[1], np.nan)
    # a removal can only lose conversions: clip float noise of the order of 1e-15
    re = np.clip(re, 0.0, 1.0)
    rev = np.clip(rev, 0.0, 1.0)
    out = pd.DataFrame(
        {"removal_effect": re, "value_removal_effect": rev},
        index=pd.Index(pt.channels, name="channel"),
    )
    out.attrs.update(
        p_conversion=float(base[0]), n_states=chain.n_states, order=chain.order, solver=how
    )
    return out


def transition_table(chain: Chain, *, sep: str = ">") -> pd.DataFrame:
    """Every transition of ``chain`` with its journeys and probability.

    Returns
    -------
    pandas.DataFrame
        ``state_from, state_to, transitions, probability``: ``(start)`` to each first
        state, state to state, and each state to ``(conversion)`` / ``(null)``;
        probabilities of each ``state_from`` add up to 1.
    """
    names = np.asarray(chain.state_names(sep), dtype=object)
    S = chain.n_states
    out = chain.out_weight
    parts = [
        pd.DataFrame({"f": -1, "t": np.arange(S), "w": chain.start}),
        pd.DataFrame({"f": chain.edge_from, "t": chain.edge_to, "w": chain.edge_weight}),
        pd.DataFrame({"f": np.arange(S), "t": -2, "w": chain.conv}),
        pd.DataFrame({"f": np.arange(S), "t": -3, "w": chain.null}),
    ]
    e = pd.concat(parts, ignore_index=True)
    e = e[e["w"] > 0]
    total = np.where(e["f"].to_numpy() == -1, chain.start.sum(), out[e["f"].clip(lower=0)])
    lookup = {-1: START, -2: CONVERSION, -3: NULL}

    def name(codes: pd.Series) -> np.ndarray:
        c = codes.to_numpy()
        return np.where(c >= 0, names[np.clip(c, 0, None)] if S else "", pd.Series(c).map(lookup))

    table = pd.DataFrame(
        {
            "state_from": name(e["f"]),
            "state_to": name(e["t"]),
            "transitions": e["w"].to_numpy(),
            "probability": e["w"].to_numpy() / total,
        }
    )
    return table.sort_values(["state_from", "probability"], ascending=[True, False]).reset_index(
        drop=True
    )
