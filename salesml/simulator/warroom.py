"""Opt-in planted war-room effects of the EV-charger service firm (issue 13's seed figures).

The default simulation plants a 30% faster cross-team response after the go-live
(``Truth.kpi_effects["collab_response_hours"] = -0.30``) and no proactive requests.
:func:`plant_war_room_effects` turns a simulated dataset into the seed scenario:

- responses to requests made after the go-live come 71.2% faster than before it
  (``collab_response_hours = -0.712``);
- *proactive cross-functional requests*, requests a colleague who does not own the deal
  raises on it unprompted, arrive 4.8 times as often per open deal-day after the go-live
  as before (``proactive_requests = +3.8``), each answered by the deal's owner.

It draws from its own random stream (``[seed, 4813]``), leaves every other table and
every existing draw as they were, and returns new objects (the inputs are not changed).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from salesml.data.bundle import SalesData
from salesml.simulator.truth import Truth

__all__ = ["PROACTIVE_BASE_RATE", "SEED_EFFECTS", "plant_war_room_effects"]

#: The seed scenario: relative change of each KPI after the go-live.
SEED_EFFECTS: dict[str, float] = {"collab_response_hours": -0.712, "proactive_requests": 3.8}
#: Proactive requests per open deal and 30 days before the go-live.
PROACTIVE_BASE_RATE = 0.25
_ROLES = np.array(["technical", "commercial", "delivery"], dtype=object)
_DAY = pd.Timedelta(days=1)


def plant_war_room_effects(
    data: SalesData,
    truth: Truth,
    *,
    response_change: float = SEED_EFFECTS["collab_response_hours"],
    proactive_factor: float = 1.0 + SEED_EFFECTS["proactive_requests"],
    seed: int | None = None,
) -> tuple[SalesData, Truth]:
    """Plant the seed's war-room go-live effects into a simulated dataset.

    Parameters
    ----------
    data, truth
        The output of :func:`salesml.simulate` (clean, not ``dirty``).
    response_change
        Relative change of the response time after the go-live (-0.712: 71.2% faster).
    proactive_factor
        Ratio of the proactive request rate after the go-live to the rate before.
    seed
        Seed of the new draws (default: the simulation's).

    Returns
    -------
    (SalesData, Truth)
        ``collab_events`` rewritten (responses rescaled, proactive requests and their
        responses added with ids ``EP...``) and ``kpi_effects`` updated.
    """
    if not (-0.99 < response_change < 10 and 0 < proactive_factor <= 100):
        raise ValueError("response_change must be in (-0.99, 10), proactive_factor in (0, 100]")
    rng = np.random.default_rng([truth.seed if seed is None else seed, 4813])
    gl, end = truth.go_live, truth.end
    ev = data["collab_events"].copy()
    old = truth.kpi_effects.get("collab_response_hours", 0.0)
    # rescale the responses to requests made after the go-live
    req_t = ev.set_index("event_id")["occurred_at"]
    is_resp = (ev["kind"] == "response").to_numpy()
    asked = req_t.reindex(ev["request_id"]).to_numpy()
    after = is_resp & (asked >= np.datetime64(gl))
    delay = ev["occurred_at"].to_numpy() - asked
    factor = (1 + response_change) / (1 + old)
    ev.loc[after, "occurred_at"] = asked[after] + delay[after] * factor
    before = is_resp & (asked < np.datetime64(gl))
    pre_hours = (delay[before] / np.timedelta64(1, "h")).astype(float)
    # proactive requests on open deals, before and after the go-live
    deals = data["deals"]
    reps = data["reps"]
    opened = deals["created_at"].to_numpy("datetime64[ns]")
    closed = deals["closed_at"].fillna(end).to_numpy("datetime64[ns]")
    t0 = np.datetime64(gl, "ns")
    parts = []
    for lo, hi, rate in (
        (opened, np.minimum(closed, t0), PROACTIVE_BASE_RATE),
        (np.maximum(opened, t0), closed, PROACTIVE_BASE_RATE * proactive_factor),
    ):
        days = np.maximum((hi - lo) / np.timedelta64(1, "D"), 0.0)
        n = rng.poisson(rate / 30.0 * days)
        d = np.repeat(np.arange(len(deals)), n)
        t = lo[d] + (rng.random(len(d)) * (hi[d] - lo[d]).astype(np.int64)).astype(
            "timedelta64[ns]"
        )
        parts.append((d, t))
    d = np.concatenate([p[0] for p in parts])
    t = np.concatenate([p[1] for p in parts])
    owner = deals["rep_id"].to_numpy(dtype=object)[d]
    rep_ids = reps["rep_id"].to_numpy(dtype=object)
    region = reps.set_index("rep_id")["region"]
    own_reg = region.reindex(owner).to_numpy(dtype=object)
    # a colleague of the owner's region (another rep), picked uniformly
    order = np.argsort(reps["region"].to_numpy(dtype=object), kind="stable")
    reg_sorted = reps["region"].to_numpy(dtype=object)[order]
    first = np.searchsorted(reg_sorted, own_reg, side="left")
    size = np.searchsorted(reg_sorted, own_reg, side="right") - first
    pick = first + (rng.random(len(d)) * np.maximum(size, 1)).astype(int)
    actor = rep_ids[order][np.minimum(pick, len(rep_ids) - 1)]
    same = actor == owner
    actor[same] = rep_ids[order][
        first[same] + (pick[same] - first[same] + 1) % np.maximum(size[same], 1)
    ]
    n = len(d)
    ids = np.array([f"EP{i:08d}" for i in range(1, 2 * n + 1)], dtype=object)
    hours = rng.choice(pre_hours, size=n) if len(pre_hours) else np.full(n, 8.0)
    hours = np.where(t >= t0, hours * (1 + response_change), hours)
    resp_t = t + (hours * 3.6e12).astype("timedelta64[ns]")
    role = _ROLES[rng.integers(0, 3, n)]
    deal_ids = deals["deal_id"].to_numpy(dtype=object)[d]
    new = pd.DataFrame(
        {
            "event_id": np.r_[ids[:n], ids[n:]],
            "deal_id": np.r_[deal_ids, deal_ids],
            "role": np.r_[role, role],
            "actor_id": np.r_[actor, owner],
            "kind": np.r_[
                np.full(n, "request", dtype=object), np.full(n, "response", dtype=object)
            ],
            "occurred_at": np.r_[t, resp_t],
            "request_id": np.r_[np.full(n, None, dtype=object), ids[:n]],
            "quality": np.r_[np.full(n, np.nan), rng.integers(2, 6, n).astype(float)],
        }
    )
    new = new[new["occurred_at"] < np.datetime64(end, "ns")]
    ev = pd.concat(
        [ev, new.astype({c: ev[c].dtype for c in new.columns if c in ev})], ignore_index=True
    )
    ev = ev.loc[ev["occurred_at"] < np.datetime64(end, "ns")]
    ev = ev.sort_values("occurred_at", kind="stable").reset_index(drop=True)
    effects = dict(truth.kpi_effects)
    effects["collab_response_hours"] = float(response_change)
    effects["proactive_requests"] = float(proactive_factor - 1)
    return data.replace(collab_events=ev), dataclasses.replace(truth, kpi_effects=effects)
