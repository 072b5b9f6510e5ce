"""The chunk-independent world: calendar, reps, stores and campaigns.

Built once per simulation from the seed's generator, before any chunk of customers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from salesml.simulator.config import SimulationConfig
from salesml.simulator.helpers import days_to_timestamps, make_ids
from salesml.simulator.params import (
    CAMPAIGN_CHANNELS,
    CITIES,
    REGION_WEIGHTS,
    REGIONS,
    STORES_PER_REGION,
)
from salesml.simulator.rollout import region_go_live_days

__all__ = ["World", "build_world", "cny_dates", "day_weights"]

# Chinese New Year (first day of the lunar year)
_CNY = {
    2023: "2023-01-22",
    2024: "2024-02-10",
    2025: "2025-01-29",
    2026: "2026-02-17",
    2027: "2027-02-06",
    2028: "2028-01-26",
    2029: "2029-02-13",
    2030: "2030-02-03",
}
_MONTH_FACTOR = {
    1: 0.95,
    2: 0.9,
    3: 1.35,
    4: 1.15,
    5: 1.0,
    6: 1.05,
    7: 0.9,
    8: 0.85,
    9: 1.05,
    10: 0.8,
    11: 1.1,
    12: 1.05,
}


def cny_dates(years: range) -> list[pd.Timestamp]:
    """Chinese New Year dates of ``years`` (those known to the simulator)."""
    return [pd.Timestamp(_CNY[y]) for y in years if y in _CNY]


def day_weights(t0: pd.Timestamp, n_days: int) -> np.ndarray:
    """Relative lead intensity per day: weekends, a Chinese New Year dip, a Q1 peak."""
    days = pd.date_range(t0, periods=n_days, freq="D")
    w = np.ones(n_days)
    w[days.day_of_week >= 5] = 0.45
    w *= np.array([_MONTH_FACTOR[m] for m in days.month])
    for cny in cny_dates(range(t0.year - 1, t0.year + 4)):
        off = (days - cny).days.to_numpy()
        w[(off >= -7) & (off <= 10)] *= 0.25
        w[(off > 10) & (off <= 30)] *= 1.25  # post-holiday rebound
    return w / w.sum()


@dataclass
class World:
    """Shared, chunk-independent parts: calendar, reps, stores, campaigns."""

    cfg: SimulationConfig
    t0: np.datetime64
    n_days: int
    day_w: np.ndarray
    go_live: float
    reps: pd.DataFrame
    skills: np.ndarray  # (n_reps, 3)
    reply_base: np.ndarray  # rep's median reply delay (h)
    rep_region: np.ndarray
    managers_by_region: list[np.ndarray]
    sellers_by_region: list[np.ndarray]
    stores: pd.DataFrame
    store_region: np.ndarray
    stores_by_region: list[np.ndarray]
    campaigns: pd.DataFrame
    camp_channel: np.ndarray
    camp_start: np.ndarray
    camp_end: np.ndarray
    anomalous_store: int
    anomaly_since: float
    month_starts: np.ndarray  # calendar month starts, days since start (plus the end)
    region_go_live: np.ndarray | None = None  # per-region go-live (staggered rollout only)

    def month_of(self, t: np.ndarray) -> np.ndarray:
        """Calendar-month index of times ``t`` (days since start)."""
        return np.searchsorted(self.month_starts, t, side="right") - 1


@dataclass
class _Reps:
    reps: pd.DataFrame
    skills: np.ndarray
    reply_base: np.ndarray
    rep_region: np.ndarray
    managers_by_region: list[np.ndarray]
    sellers_by_region: list[np.ndarray]


def _build_reps(cfg: SimulationConfig, rng: np.random.Generator, t0p: pd.Timestamp) -> _Reps:
    """Reps: about one manager per seven sellers, spread by region weight."""
    n = cfg.n_reps
    # head count by region weight, at least a manager and two sellers everywhere
    per_region = np.maximum(3, np.floor(n * REGION_WEIGHTS)).astype(int)
    while per_region.sum() > n and (per_region > 3).any():
        per_region[np.argmax(per_region)] -= 1
    while per_region.sum() < n:
        per_region[np.argmax(n * REGION_WEIGHTS - per_region)] += 1
    rep_region = rng.permutation(np.repeat(np.arange(len(REGIONS)), per_region))
    n = len(rep_region)
    role = np.full(n, "sales", dtype=object)
    for r in range(len(REGIONS)):
        idx = np.flatnonzero(rep_region == r)
        n_mgr = max(1, len(idx) // 8)
        role[idx[:n_mgr]] = "manager"
    managers_by_region = [np.flatnonzero((rep_region == r) & (role == "manager")) for r in range(5)]
    sellers_by_region = [np.flatnonzero((rep_region == r) & (role == "sales")) for r in range(5)]
    for r in range(5):  # a region with only a manager: the manager sells too
        if len(sellers_by_region[r]) == 0:
            sellers_by_region[r] = managers_by_region[r]
    cov = np.array([[1.0, 0.3, 0.2], [0.3, 1.0, 0.25], [0.2, 0.25, 1.0]])
    skills = rng.multivariate_normal(np.zeros(3), cov, size=n)
    rep_ids = make_ids("R", 1, n, max(3, len(str(n))))
    manager_id = np.empty(n, dtype=object)
    team = np.empty(n, dtype=object)
    for r in range(5):
        mgrs = managers_by_region[r]
        idx = np.flatnonzero(rep_region == r)
        pick = mgrs[np.arange(len(idx)) % len(mgrs)]
        manager_id[idx] = rep_ids[pick]
        team[idx] = [
            f"{REGIONS[r]}{['一', '二', '三', '四', '五', '六', '七', '八', '九'][k % 9]}组"
            + ("" if k < 9 else str(k // 9))
            for k in np.arange(len(idx)) % len(mgrs)
        ]
    manager_id[role == "manager"] = None
    surnames = np.array(list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐"))
    given = np.array(list("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰飞鹏"))
    names = np.char.add(
        np.char.add(
            surnames[rng.integers(0, len(surnames), n)], given[rng.integers(0, len(given), n)]
        ),
        np.where(rng.random(n) < 0.5, given[rng.integers(0, len(given), n)], ""),
    )
    hired = t0p - pd.to_timedelta(rng.integers(30, 365 * 6, n), unit="D")
    reps = pd.DataFrame(
        {
            "rep_id": rep_ids,
            "name": names.astype(object),
            "team": team,
            "region": np.array(REGIONS, dtype=object)[rep_region],
            "role": role,
            "manager_id": manager_id,
            "hired_at": hired.to_numpy().astype("datetime64[us]"),
        }
    )
    reply_base = np.exp(np.log(3.0) - 0.35 * skills[:, 2] + 0.4 * rng.standard_normal(n))
    # centre the sellers' skills and reply habits within each region, so that regions
    # differ in conversion only where a breakpoint is planted
    log_reply = np.log(reply_base)
    for r in range(len(REGIONS)):
        m = sellers_by_region[r]
        if len(m):
            skills[m] -= skills[m].mean(axis=0)
            log_reply[m] -= log_reply[m].mean() - np.log(3.0)
    return _Reps(
        reps=reps,
        skills=skills,
        reply_base=np.exp(log_reply),
        rep_region=rep_region,
        managers_by_region=managers_by_region,
        sellers_by_region=sellers_by_region,
    )


def _build_stores() -> tuple[pd.DataFrame, np.ndarray]:
    """The 32 stores (no random draws) and each one's region index."""
    store_region = np.repeat(np.arange(5), STORES_PER_REGION)
    n_st = len(store_region)
    city = np.empty(n_st, dtype=object)
    sname = np.empty(n_st, dtype=object)
    for r in range(5):
        idx = np.flatnonzero(store_region == r)
        cities = CITIES[REGIONS[r]]
        for j, i in enumerate(idx):
            city[i] = cities[j % len(cities)]
            sname[i] = f"{city[i]}{['旗舰店', '中心店', '二店', '三店'][j // len(cities)]}"
    stores = pd.DataFrame(
        {
            "store_id": make_ids("S", 1, n_st, 2),
            "name": sname,
            "region": np.array(REGIONS, dtype=object)[store_region],
            "city": city,
        }
    )
    return stores, store_region


def _build_campaigns(
    rng: np.random.Generator, t0p: pd.Timestamp, end: pd.Timestamp
) -> pd.DataFrame:
    """Campaigns per campaign channel and quarter; exhibitions: two short shows a quarter.

    Columns ``k, channel, name, start, end`` (times in days since the start).
    """
    rows = []
    quarters = pd.date_range(t0p, end, freq="QS-JAN")
    q_starts = [t0p, *[q for q in quarters if q > t0p]]
    q_bounds = [*q_starts, end]
    k = 0
    for qi in range(len(q_bounds) - 1):
        qs, qe = q_bounds[qi], q_bounds[qi + 1]
        s_day, e_day = (qs - t0p).days, (qe - t0p).days
        for ch in CAMPAIGN_CHANNELS:
            if ch == "exhibition":
                for show in range(2):
                    st = s_day + int(rng.integers(0, max(1, e_day - s_day - 6)))
                    rows.append((k, ch, f"{qs.year}Q{qs.quarter} 行业展会{show + 1}", st, st + 4))
                    k += 1
            else:
                label = {"online_ads": "线上投放", "wechat": "微信推广", "telesales": "电销外呼"}[
                    ch
                ]
                rows.append((k, ch, f"{qs.year}Q{qs.quarter} {label}", s_day, e_day - 1e-6))
                k += 1
    return pd.DataFrame(rows, columns=["k", "channel", "name", "start", "end"])


def build_world(cfg: SimulationConfig, rng: np.random.Generator) -> World:
    """Draw the world of a simulation (reps, then campaigns) from ``rng``."""
    t0p = pd.Timestamp(cfg.start)
    end = t0p + pd.DateOffset(months=cfg.months)
    n_days = int((end - t0p).days)
    go_live_month = cfg.go_live_month if cfg.go_live_month is not None else (2 * cfg.months) // 3
    go_live = float((t0p + pd.DateOffset(months=go_live_month) - t0p).days)
    reps = _build_reps(cfg, rng, t0p)
    stores, store_region = _build_stores()
    stores_by_region = [np.flatnonzero(store_region == r) for r in range(5)]
    camp = _build_campaigns(rng, t0p, end)
    t0 = np.datetime64(t0p.to_datetime64(), "us")
    campaigns = pd.DataFrame(
        {
            "campaign_id": make_ids("CP", 1, len(camp), 4),
            "channel": camp["channel"].to_numpy(dtype=object),
            "name": camp["name"].to_numpy(dtype=object),
            "started_at": days_to_timestamps(t0, camp["start"].to_numpy(float)),
            "ended_at": days_to_timestamps(t0, np.floor(camp["end"].to_numpy(float)) + 0.999),
            "budget": 0.0,
        }
    )
    return World(
        cfg=cfg,
        t0=t0,
        n_days=n_days,
        day_w=day_weights(t0p, n_days),
        go_live=go_live,
        reps=reps.reps,
        skills=reps.skills,
        reply_base=reps.reply_base,
        rep_region=reps.rep_region,
        managers_by_region=reps.managers_by_region,
        sellers_by_region=reps.sellers_by_region,
        stores=stores,
        store_region=store_region,
        stores_by_region=stores_by_region,
        campaigns=campaigns,
        camp_channel=camp["channel"].to_numpy(dtype=object),
        camp_start=camp["start"].to_numpy(float),
        camp_end=camp["end"].to_numpy(float),
        anomalous_store=int(stores_by_region[0][3]),  # a 华东 store
        anomaly_since=float(n_days // 3),
        month_starts=np.unique(
            np.r_[0.0, [(m - t0p).days for m in pd.date_range(t0p, end, freq="MS")], n_days]
        ),
        region_go_live=(
            region_go_live_days(cfg, t0p, go_live_month) if cfg.staggered_go_live else None
        ),
    )
