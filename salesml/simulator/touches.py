"""Opt-in planted touches with an exact target: ``flat_touches=True``.

By default a deal's touches arrive at a rate that grows with its customer's
engagement, and a deal gets at least one. The go-live's +12% touches per open
deal-day then reach the KPI ``touches_per_deal_day`` diluted: faster replies after the
go-live let more weakly engaged (rarely touched) deals stay open, so the mix of open
deal-days shifts by an amount nothing records.

With ``flat_touches=True`` every open deal-day gets touches at one rate (the default
rate at the average engagement), x(1 + ``KPI_EFFECTS["daily_touches"]``) from the
go-live of the deal's region on: touches per open deal-day move by exactly that,
whichever deals stay open. The draws come from a stream of their own, seeded from a
digest of the chunk's deal creation times (themselves drawn from the seed), so the
default output is unchanged. With the switch on, the number of touches differs, so the
draws of the shared stream after them (the touches' kinds and details, then contracts,
materials and costs) differ from the default run's; their planted effects hold as before.
"""

from __future__ import annotations

import hashlib

import numpy as np

__all__ = ["FLAT_TOUCHES_TAG", "flat_touches"]

#: Tag of the stream the flat touches are drawn from.
FLAT_TOUCHES_TAG = 1414


def flat_touches(
    created: np.ndarray,
    stop: np.ndarray,
    go_live: float | np.ndarray,
    rate: float,
    effect: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Touch times of deals open over ``[created, stop)`` at a flat rate.

    Parameters
    ----------
    created, stop
        Each deal's open interval (days since the start).
    go_live
        The go-live that applies to each deal (a scalar or one per deal).
    rate
        Touches per open deal-day before the go-live.
    effect
        The relative change of the rate from the go-live on (0.12: +12%).

    Returns
    -------
    deal, at
        The index of the deal of each touch and its time, ordered by deal.
    """
    created = np.asarray(created, dtype=float)
    stop = np.maximum(np.asarray(stop, dtype=float), created)
    gl = np.broadcast_to(np.asarray(go_live, dtype=float), created.shape)
    digest = hashlib.sha256(np.ascontiguousarray(created).tobytes()).digest()
    rng = np.random.default_rng([FLAT_TOUCHES_TAG, *np.frombuffer(digest[:16], dtype=np.uint32)])
    cut = np.clip(gl, created, stop)
    pre_len, post_len = cut - created, stop - cut
    n_pre = rng.poisson(rate * pre_len)
    n_post = rng.poisson(rate * (1.0 + effect) * post_len)
    d_pre = np.repeat(np.arange(len(created)), n_pre)
    d_post = np.repeat(np.arange(len(created)), n_post)
    t_pre = created[d_pre] + rng.random(len(d_pre)) * pre_len[d_pre]
    t_post = cut[d_post] + rng.random(len(d_post)) * post_len[d_post]
    deal = np.concatenate([d_pre, d_post])
    at = np.concatenate([t_pre, t_post])
    o = np.argsort(deal, kind="stable")
    return deal[o], at[o]
