"""Choosing the Markov order: held-out likelihood of the journeys, and held-out ROC.

For each order ``k``, the journeys are split at random (a seeded, binomial thinning of
every path's counts, so both halves share the distinct paths) and the order-``k`` chain
is estimated on the training part. It is then scored on the held-out part two ways:

- **log-likelihood per journey** of the whole held-out journey, every step from
  ``(start)`` through its touches to ``(conversion)`` or ``(null)``, each step's
  probability given the last ``k`` touches, smoothed additively (``alpha``) over the
  channels and the two ends so that a history never seen in training costs likelihood
  instead of being infinitely unlikely: higher orders fit the training paths better and
  pay for it here when their states are too rare to estimate;
- **AUC** of the conversion score ``P(conversion | last state) / (P(conversion) +
  P(null))`` against the held-out outcomes (in the spirit of ChannelAttribution's
  ``choose_order``, which maximises a penalised ROC area).

The suggested order is the one with the highest held-out log-likelihood (the lowest on
ties within ``1e-4`` nats per journey).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from salesml.attribution.touch.markov import MAX_ORDER, MAX_STATES, build_chain
from salesml.attribution.touch.paths import PathTable

__all__ = ["order_table"]


def _weighted_auc(score: np.ndarray, pos: np.ndarray, neg: np.ndarray) -> float:
    """P(score of a converter > score of a non-converter), ties counted half."""
    P, N = pos.sum(), neg.sum()
    if P <= 0 or N <= 0:
        return float("nan")
    order = np.argsort(score, kind="stable")
    s, p, n = score[order], pos[order], neg[order]
    _, start = np.unique(s, return_index=True)
    p_g = np.add.reduceat(p, start) if len(s) else p
    n_g = np.add.reduceat(n, start) if len(s) else n
    neg_below = np.concatenate([[0.0], np.cumsum(n_g)[:-1]])
    return float(((neg_below + 0.5 * n_g) * p_g).sum() / (P * N))


def _score(
    pt: PathTable, train: PathTable, test: PathTable, order: int, alpha: float, max_states: int
) -> dict[str, float]:
    chain = build_chain(pt, order, max_states=max_states)  # states from every path
    S, C = chain.n_states, pt.n_channels
    K = C + 2  # symbols: a channel, (conversion), (null)
    sidx = chain.state_of_touch
    path = pt.touch_path
    ch = pt.touch_channel
    same = np.diff(path) == 0
    nxt = np.flatnonzero(same)
    last = np.append(np.flatnonzero(~same), len(path) - 1) if len(path) else np.zeros(0, "int64")
    first = np.flatnonzero(pt.touch_pos == 0)
    # events (context, symbol, path); context S is (start)
    ctx = np.concatenate([np.full(len(first), S), sidx[nxt], sidx[last], sidx[last]])
    sym = np.concatenate([ch[first], ch[nxt + 1], np.full(len(last), C), np.full(len(last), C + 1)])
    epath = np.concatenate([path[first], path[nxt], path[last], path[last]])
    kind = np.concatenate(
        [
            np.zeros(len(first) + len(nxt), "int8"),
            np.ones(len(last), "int8"),
            np.full(len(last), 2, "int8"),
        ]
    )

    def weights(t: PathTable) -> np.ndarray:
        allw = (t.conversions + t.nulls)[epath]
        return np.where(kind == 0, allw, np.where(kind == 1, t.conversions[epath], t.nulls[epath]))

    w_tr, w_te = weights(train), weights(test)
    key = ctx * K + sym
    ukey, inv = np.unique(key, return_inverse=True)
    n_cs = np.bincount(inv, weights=w_tr, minlength=len(ukey))
    n_c = np.bincount(ctx, weights=w_tr, minlength=S + 1)
    prob = (n_cs[inv] + alpha) / (n_c[ctx] + alpha * K)
    test_journeys = float((test.conversions + test.nulls).sum())
    loglik = float((w_te * np.log(prob)).sum()) / max(test_journeys, 1.0)
    # conversion score of each path's end state, from the training counts
    conv_key = sidx[last] * K + C
    null_key = sidx[last] * K + C + 1
    pos_c = np.searchsorted(ukey, conv_key)
    pos_n = np.searchsorted(ukey, null_key)
    nc = np.where(
        ukey[np.minimum(pos_c, len(ukey) - 1)] == conv_key,
        n_cs[np.minimum(pos_c, len(ukey) - 1)],
        0.0,
    )
    nn = np.where(
        ukey[np.minimum(pos_n, len(ukey) - 1)] == null_key,
        n_cs[np.minimum(pos_n, len(ukey) - 1)],
        0.0,
    )
    score = (nc + alpha) / (nc + nn + 2 * alpha)
    auc = _weighted_auc(score, test.conversions[path[last]], test.nulls[path[last]])
    return {
        "order": order,
        "n_states": S,
        "train_journeys": float((train.conversions + train.nulls).sum()),
        "test_journeys": test_journeys,
        "loglik": loglik,
        "auc": auc,
    }


def order_table(
    pt: PathTable,
    *,
    max_order: int = 4,
    holdout: float = 0.3,
    alpha: float = 0.5,
    seed: int = 0,
    max_states: int = MAX_STATES,
) -> pd.DataFrame:
    """Held-out fit of the orders 1..``max_order`` (see the module docstring).

    Orders whose chain would exceed ``max_states`` states are left out (a chain's state
    count only grows with its order, so the table stops there).

    Returns
    -------
    pandas.DataFrame
        ``order, n_states, train_journeys, test_journeys, loglik, auc, suggested``.
    """
    if (
        isinstance(max_order, bool)
        or not isinstance(max_order, int)
        or not 1 <= max_order <= MAX_ORDER
    ):
        raise ValueError(
            f"max_order must be a whole number from 1 to {MAX_ORDER}, got {max_order!r}"
        )
    if not 0 < holdout < 1:
        raise ValueError(f"holdout must be between 0 and 1, got {holdout}")
    if not alpha > 0:
        raise ValueError(f"alpha must be positive, got {alpha}")
    whole = np.allclose(pt.conversions, np.round(pt.conversions)) and np.allclose(
        pt.nulls, np.round(pt.nulls)
    )
    if not whole:
        raise ValueError("choosing an order needs whole journey counts (it holds journeys out)")
    train, test = pt.split(1 - holdout, seed=seed)
    if (test.conversions + test.nulls).sum() <= 0:
        raise ValueError("too few journeys to hold any out for choosing the order")
    rows = []
    for k in range(1, max_order + 1):
        try:
            rows.append(_score(pt, train, test, k, alpha, max_states))
        except ValueError:
            if not rows:
                raise
            break  # more states than allowed: higher orders have more still
    table = pd.DataFrame(rows)
    best = table["loglik"].max()
    table["suggested"] = False
    pick = table.index[table["loglik"] >= best - 1e-4][0]
    table.loc[pick, "suggested"] = True
    return table
