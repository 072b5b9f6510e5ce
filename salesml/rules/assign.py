"""Who gets a follow-up task: owners, managers, senior reps by open work, and cooldowns.

Helpers of :func:`salesml.rules.followups.due_followups` (see its module docstring for
the actions): the people table, each region's manager, the senior reps a ``dispatch``
rule may pick (the one with the least open work), the open work per rep, and the
cooldown that keeps a rule from making a second task on the same key too soon.
"""

from __future__ import annotations

import heapq

import numpy as np
import pandas as pd

from salesml.data.bundle import SalesData

__all__: list[str] = []


def _people(data: SalesData) -> pd.DataFrame:
    if not data.has("reps"):
        return pd.DataFrame(
            columns=["name", "manager_id", "region", "role", "hired_at"],
            index=pd.Index([], name="rep_id", dtype="str"),
        )
    r = data.reps.drop_duplicates("rep_id").set_index("rep_id")
    for c in ("name", "manager_id", "region", "role"):
        if c not in r.columns:
            r[c] = pd.NA
    if "hired_at" not in r.columns:
        r["hired_at"] = pd.NaT
    return r[["name", "manager_id", "region", "role", "hired_at"]]


def _region_manager(people: pd.DataFrame) -> pd.Series:
    mgr = people[people["role"].astype("str").str.lower() == "manager"]
    return pd.Series(mgr.index, index=mgr["region"].to_numpy()).groupby(level=0).first()


def _seniors(people: pd.DataFrame, ts: pd.Timestamp, years: float) -> pd.DataFrame:
    role = people["role"].astype("str").str.lower()
    senior = people[role.str.startswith("senior").fillna(False).to_numpy()]
    sales = people[(role != "manager").to_numpy()]
    tenure = (ts - sales["hired_at"]).dt.days / 365.25
    by_tenure = sales[(tenure >= years).fillna(False).to_numpy()]
    out = []
    for region, g in sales.groupby("region"):
        pick = senior[senior["region"] == region]
        if pick.empty:
            pick = by_tenure[by_tenure["region"] == region]
        if pick.empty:
            pick = g
        out.append(pick)
    return pd.concat(out) if out else sales


def _dispatch(
    tasks: pd.DataFrame,
    people: pd.DataFrame,
    ts: pd.Timestamp,
    years: float,
    load: pd.Series,
) -> pd.Series:
    """Owner per task: the senior rep of the task's region with the least open work."""
    seniors = _seniors(people, ts, years)
    owners = pd.Series(pd.NA, index=tasks.index, dtype="str")
    order = tasks.sort_values(["priority_rank", "due_at"], kind="stable")
    for region, g in order.groupby("region", sort=False):
        pool = seniors.index[seniors["region"] == region]
        if len(pool) == 0:
            pool = seniors.index
        if len(pool) == 0:
            owners.loc[g.index] = g["rep_id"].to_numpy()
            continue
        heap = [(int(load.get(r, 0)), str(r)) for r in pool]
        heapq.heapify(heap)
        picked = []
        for _ in range(len(g)):
            n, r = heapq.heappop(heap)
            picked.append(r)
            heapq.heappush(heap, (n + 1, r))
            load[r] = n + 1
        owners.loc[g.index] = picked
    return owners


def _cooldown(
    frame: pd.DataFrame, key: str, days: float, previous: pd.DataFrame | None
) -> np.ndarray:
    """Keep the first task per ``key`` and later ones at least ``days`` after the last kept."""
    keep = np.ones(len(frame), dtype=bool)
    if days <= 0 and previous is None:
        return keep
    gap = np.timedelta64(int(days * 86400), "s")
    order = np.lexsort((frame["anchor_at"].to_numpy(), frame[key].astype("str").to_numpy()))
    keys = frame[key].astype("str").to_numpy()[order]
    at = frame["anchor_at"].to_numpy("datetime64[ns]")[order]
    last: dict[str, np.datetime64] = {}
    if previous is not None and len(previous):
        for k, a in zip(previous["dedupe_key"].astype("str"), previous["anchor_at"], strict=False):
            a64 = np.datetime64(pd.Timestamp(a), "ns")
            if k not in last or a64 > last[k]:
                last[k] = a64
    kept = np.ones(len(order), dtype=bool)
    for j in range(len(order)):
        prev = last.get(keys[j])
        if prev is not None and at[j] - prev < gap:
            kept[j] = False
            continue
        last[keys[j]] = at[j]
    keep[order] = kept
    return keep


def _open_load(data: SalesData, ts: pd.Timestamp, open_tasks: pd.DataFrame) -> pd.Series:
    """Open work per rep at ``ts``: open deals plus open tasks already given."""
    load = pd.Series(dtype="int64")
    if data.has("deals"):
        d = data.deals[["rep_id", "created_at", "closed_at"]]
        live = (
            (d["created_at"] <= ts) & (d["closed_at"].isna() | (d["closed_at"] > ts))
        ).to_numpy()
        load = d.loc[live].groupby("rep_id").size()
    extra = open_tasks.groupby("rep_id").size() if len(open_tasks) else pd.Series(dtype="int64")
    return load.add(extra, fill_value=0).astype("int64")
