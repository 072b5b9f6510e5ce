"""A sales organisation simulator with planted truth.

``simulate(preset="demo", seed=0)`` generates every table of the data model for a
mid-sized Chinese sales organisation (five regions, 32 stores, seven lead channels)
and returns it with a :class:`Truth` holding what the analytics should recover.

The generative story, in the order the code follows it:

1. **Leads** arrive by channel with seasonality (a Chinese New Year dip, a Q1 peak,
   quiet weekends). Each gets a first response after a channel- and go-live-dependent
   delay; it converts (faster responses convert more), is lost (with a recorded reason
   or, for the *unexplained* share, none) or is still open at the end.
2. **Customers** are the converted leads; some get repeat **deals** later. A deal's
   owner is its customer's rep.
3. Each deal passes stage *k* of the stage order with probability
   ``sigmoid(alpha_k + breakpoint[region, k] + beta · x)``, where ``x`` holds rep skills,
   log amount, segment, "technical plan revised more than 3 times", "commercial terms
   adjusted 3 or more times", the log mean reply delay to customer messages and "a
   viewed quote unanswered for more than 48 h". The events behind those drivers are
   generated before the stage decisions they affect. The product over stages is the
   deal's true win probability (:attr:`Truth.deal_win_prob`).
4. **Activities**, **quotes**, **collaboration events**, **contracts** and
   **payments** follow each deal's timeline; lost deals go quiet before they close.
5. **Costs**: every cost unit is consumed by one action (a lead, an activity, a
   deal, a material redemption) at a known true amount; the ledger then records them
   as real ledgers do, some lines linked to the action, most aggregated per campaign,
   channel, rep or store and month. :attr:`Truth.channel_cac` is computed from the
   true consumption.
6. **Store materials** flow through 32 stores; one store stops scanning redemptions
   and spends about 2.4x its region's material cost per customer. **Approvals** of
   customer records have a 48-hour SLA with planted breaches.
7. After the **go-live** date, response delays, stage durations, activity rates,
   collaboration response times and media cost per lead move by known amounts
   (:attr:`Truth.kpi_effects`).

With ``dirty=True`` the tables come back as a raw export would (every cell a string)
with faults injected at known rows (:attr:`Truth.faults`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from salesml.data.bundle import SalesData
from salesml.data.config import DatasetConfig
from salesml.data.schema import DEFAULT_STAGE_ORDER, SPECS

__all__ = ["CHANNELS", "PRESETS", "REGIONS", "SimulationConfig", "Truth", "simulate"]

REGIONS: tuple[str, ...] = ("华东", "华南", "华北", "华中", "西南")
REGION_WEIGHTS = np.array([0.30, 0.25, 0.20, 0.15, 0.10])
CITIES: dict[str, tuple[str, ...]] = {
    "华东": ("上海", "杭州", "南京", "苏州", "宁波", "合肥", "无锡"),
    "华南": ("广州", "深圳", "东莞", "佛山", "厦门", "南宁", "福州"),
    "华北": ("北京", "天津", "石家庄", "济南", "青岛", "太原"),
    "华中": ("武汉", "长沙", "郑州", "南昌", "宜昌", "洛阳"),
    "西南": ("成都", "重庆", "昆明", "贵阳", "绵阳", "南充"),
}
STORES_PER_REGION = (8, 7, 7, 5, 5)  # 32 stores

CHANNELS: tuple[str, ...] = (
    "online_ads",
    "wechat",
    "exhibition",
    "store_walkin",
    "referral",
    "telesales",
    "partner",
)
# share of acquired customers, lead->customer conversion, median first response (h)
_CH_CUST_SHARE = np.array([0.22, 0.20, 0.12, 0.18, 0.10, 0.08, 0.10])
_CH_CONV = np.array([0.16, 0.22, 0.30, 0.38, 0.50, 0.10, 0.42])
_CH_RESPONSE_H = np.array([3.0, 1.5, 20.0, 0.5, 4.0, 0.3, 10.0])
_CAMPAIGN_CHANNELS = ("online_ads", "wechat", "exhibition", "telesales")
# true media cost per lead for campaign channels (CNY); exhibitions have a fixed cost
_MEDIA_CPL = {"online_ads": 180.0, "wechat": 120.0, "telesales": 60.0}
_EXHIBITION_COST = 60_000.0

SEGMENTS: tuple[str, ...] = ("key_account", "mid_market", "small_business")
_SEG_AMOUNT = np.array([300_000.0, 80_000.0, 20_000.0])
_SEG_LOGIT = np.array([-0.15, 0.0, 0.10])
PRODUCT_LINES: tuple[str, ...] = ("equipment", "consumables", "service", "solution")
_PL_PROB = np.array([0.30, 0.30, 0.20, 0.20])
_PL_TECH = np.array([1.4, 0.7, 0.9, 1.8])  # technical plan revision intensity factor

LOST_REASONS: tuple[str, ...] = (
    "price",
    "competitor",
    "no_budget",
    "no_need",
    "unreachable",
    "timing",
)
UNEXPLAINED_LOSS_SHARE = 0.28

SKUS: tuple[str, ...] = ("展架", "海报", "样品册", "礼品袋", "试用装", "宣传单")
_SKU_COST = np.array([120.0, 15.0, 45.0, 8.0, 60.0, 2.0])

# Stage pass intercepts (logit) for the default stage order
_STAGE_ALPHA = np.array([1.75, 1.50, 1.20, 1.45, 1.90])
_STAGE_MEDIAN_DAYS = np.array([6.0, 10.0, 14.0, 12.0, 7.0])
WIN_MODEL: dict[str, Any] = {
    "stage_alpha": dict(zip(DEFAULT_STAGE_ORDER, _STAGE_ALPHA.tolist(), strict=True)),
    "breakpoint": {"region": "西南", "stage": "proposal", "logit": -1.3},
    "skill_technical": 0.30,
    "skill_commercial": 0.35,
    "skill_delivery": 0.15,
    "log_amount_vs_segment": -0.25,
    "segment": dict(zip(SEGMENTS, _SEG_LOGIT.tolist(), strict=True)),
    # drivers and the first stage index whose pass decision they affect
    "plan_revisions_gt3": -1.1,
    "plan_revisions_from_stage": "proposal",
    "terms_revisions_ge3": -0.8,
    "terms_revisions_from_stage": "negotiation",
    "log_reply_delay_hours": -0.35,
    "reply_delay_reference_hours": 3.0,
    "quote_unanswered_48h": -0.9,
    "quote_unanswered_from_stage": "negotiation",
    # a latent engagement z-score: log activity rate = 0.4 z, logit += 0.45 z at every stage
    "engagement": 0.45,
    "engagement_activity_rate": 0.4,
}
KPI_EFFECTS: dict[str, float] = {
    "first_response_hours": -0.30,
    "stage_duration_days": -0.15,
    "daily_touches": 0.12,
    "collab_response_hours": -0.30,
    "media_cost_per_lead": -0.10,
}
SLA_HOURS = 48.0


@dataclass(frozen=True)
class SimulationConfig:
    """Sizes and dates of a simulation (see :data:`PRESETS`)."""

    n_reps: int = 20
    n_customers: int = 2_000
    n_deals: int = 3_000
    months: int = 18
    start: str = "2025-05-01"
    activities_per_deal: float = 13.0
    go_live_month: int | None = None  # months after start; default two thirds in
    chunk_customers: int = 100_000


PRESETS: dict[str, SimulationConfig] = {
    "tiny": SimulationConfig(n_reps=8, n_customers=300, n_deals=450, months=12),
    "demo": SimulationConfig(),
    "S": SimulationConfig(
        n_reps=60, n_customers=10_000, n_deals=15_000, months=24, start="2024-11-01"
    ),
    "M": SimulationConfig(
        n_reps=500,
        n_customers=66_000,
        n_deals=100_000,
        months=24,
        start="2024-11-01",
        activities_per_deal=21.0,
    ),
    "L": SimulationConfig(
        n_reps=4_000,
        n_customers=660_000,
        n_deals=1_000_000,
        months=24,
        start="2024-11-01",
        activities_per_deal=21.0,
        chunk_customers=40_000,
    ),
}


# ---------------------------------------------------------------------------- Truth
@dataclass
class Truth:
    """What the analytics are supposed to recover from a simulated dataset.

    Attributes
    ----------
    rep_skills
        Latent skills by rep (index ``rep_id``; columns technical, commercial, delivery).
    deal_win_prob
        True probability, at creation, that each deal is won (index ``deal_id``).
    stage_pass_prob
        True probability of passing each stage (index ``deal_id``, one column per stage).
    win_model
        Coefficients of the win process (see the module docstring).
    stage_conversion
        Expected conversion per region and stage (region, stage, p_true, is_breakpoint).
    breakpoint
        The planted funnel breakpoint: ``{"region": ..., "stage": ...}``.
    lead_loss
        ``unexplained_share`` (lost leads without a reason / lost leads, exact on the
        generated table), ``lost`` and ``reasons`` (counts).
    first_response_hours
        Mean, median and p90 hours from lead creation to first response (responded leads).
    channel_cac
        True CAC by channel (index channel; acquired_customers, acquisition_cost, cac).
    customer_acquisition_cost
        True acquisition cost per customer (index ``customer_id``).
    go_live, kpi_effects
        Go-live timestamp and the relative change of each KPI after it.
    anomalous_stores
        Stores with planted anomalies (store_id, kind, cost_ratio, since).
    sla_hours, sla_breaches
        Approval SLA and the approval ids that breach it.
    unanswered_quotes
        Quote ids viewed and not answered within 48 hours (as of the end).
    unpaid_contracts
        Contract ids planted to stay unpaid.
    faults
        Dirty mode only: injected faults (table, row, column, fault, rule, value).
    encoding
        Encoding a dirty dataset is meant to be written in (``gb18030``).
    end
        First instant after the simulated window.
    """

    rep_skills: pd.DataFrame
    deal_win_prob: pd.Series
    stage_pass_prob: pd.DataFrame
    win_model: dict[str, Any]
    stage_conversion: pd.DataFrame
    breakpoint: dict[str, str]
    lead_loss: dict[str, Any]
    first_response_hours: dict[str, float]
    channel_cac: pd.DataFrame
    customer_acquisition_cost: pd.Series
    go_live: pd.Timestamp
    kpi_effects: dict[str, float]
    anomalous_stores: pd.DataFrame
    sla_hours: float
    sla_breaches: pd.Index
    unanswered_quotes: pd.Index
    unpaid_contracts: pd.Index
    end: pd.Timestamp
    faults: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(
            columns=["table", "row", "column", "fault", "rule", "value"]
        )
    )
    encoding: str = "utf-8"
    seed: int = 0
    preset: str = "demo"

    def win_prob_at(self, deals: pd.DataFrame, stage_order: list[str] | None = None) -> pd.Series:
        """True win probability of each deal given its current ``stage``.

        Parameters
        ----------
        deals
            Frame with ``deal_id`` and ``stage`` (for example ``data.as_of(ts).deals``).
        stage_order
            Stage order (default: the simulator's).

        Returns
        -------
        pandas.Series
            Product of the deal's pass probabilities from its current stage on,
            indexed like ``deals``.
        """
        order = list(stage_order or DEFAULT_STAGE_ORDER)
        p = self.stage_pass_prob.reindex(deals["deal_id"].to_numpy()).to_numpy()
        k = deals["stage"].map({s: i for i, s in enumerate(order)}).to_numpy(dtype=float)
        cols = np.arange(p.shape[1])[None, :]
        mask = cols >= k[:, None]
        out = np.where(mask, p, 1.0).prod(axis=1)
        out[np.isnan(k)] = np.nan
        return pd.Series(out, index=deals.index, name="true_win_prob")

    def save(self, path: str | Path) -> Path:
        """Write the truth into folder ``path`` (Parquet tables + ``truth.json``)."""
        folder = Path(path)
        folder.mkdir(parents=True, exist_ok=True)
        meta: dict[str, Any] = {}
        for f in fields(self):
            v = getattr(self, f.name)
            if isinstance(v, pd.DataFrame):
                v.to_parquet(folder / f"{f.name}.parquet")
                meta[f.name] = {"kind": "frame"}
            elif isinstance(v, pd.Series):
                v.to_frame(v.name or f.name).to_parquet(folder / f"{f.name}.parquet")
                meta[f.name] = {"kind": "series", "name": v.name}
            elif isinstance(v, pd.Index):
                meta[f.name] = {"kind": "index", "value": [str(x) for x in v]}
            elif isinstance(v, pd.Timestamp):
                meta[f.name] = {"kind": "timestamp", "value": v.isoformat()}
            else:
                meta[f.name] = {"kind": "plain", "value": v}
        (folder / "truth.json").write_text(
            json.dumps(meta, ensure_ascii=False, indent=1, default=float), encoding="utf-8"
        )
        return folder

    @classmethod
    def load(cls, path: str | Path) -> Truth:
        """Read a truth written by :meth:`save`."""
        folder = Path(path)
        meta = json.loads((folder / "truth.json").read_text(encoding="utf-8"))
        kwargs: dict[str, Any] = {}
        for name, m in meta.items():
            kind = m["kind"]
            if kind == "frame":
                kwargs[name] = pd.read_parquet(folder / f"{name}.parquet")
            elif kind == "series":
                df = pd.read_parquet(folder / f"{name}.parquet")
                kwargs[name] = df.iloc[:, 0].rename(m["name"])
            elif kind == "index":
                kwargs[name] = pd.Index(m["value"], dtype="str")
            elif kind == "timestamp":
                kwargs[name] = pd.Timestamp(m["value"])
            else:
                kwargs[name] = m["value"]
        return cls(**kwargs)

    def _repr_html_(self) -> str:
        rows = [
            ("planted breakpoint", f"{self.breakpoint['region']} · {self.breakpoint['stage']}"),
            ("unexplained lead-loss share", f"{self.lead_loss['unexplained_share']:.3f}"),
            ("go-live", f"{self.go_live:%Y-%m-%d}"),
            ("anomalous stores", ", ".join(self.anomalous_stores["store_id"].astype(str))),
            ("SLA breaches", f"{len(self.sla_breaches):,}"),
            ("injected faults", f"{len(self.faults):,}"),
        ]
        body = "".join(
            f"<tr><th style='text-align:left'>{k}</th><td>{v}</td></tr>" for k, v in rows
        )
        return (
            f"<div><b>Truth</b> (preset {self.preset}, seed {self.seed})<table>{body}</table>"
            f"{self.channel_cac.round(1).to_html()}</div>"
        )


# ---------------------------------------------------------------------------- helpers
def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _cny_dates(years: range) -> list[pd.Timestamp]:
    known = {
        2023: "2023-01-22",
        2024: "2024-02-10",
        2025: "2025-01-29",
        2026: "2026-02-17",
        2027: "2027-02-06",
        2028: "2028-01-26",
        2029: "2029-02-13",
        2030: "2030-02-03",
    }
    return [pd.Timestamp(known[y]) for y in years if y in known]


def _day_weights(t0: pd.Timestamp, n_days: int) -> np.ndarray:
    """Relative lead intensity per day: weekends, a Chinese New Year dip, a Q1 peak."""
    days = pd.date_range(t0, periods=n_days, freq="D")
    w = np.ones(n_days)
    w[days.day_of_week >= 5] = 0.45
    month_factor = {
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
    w *= np.array([month_factor[m] for m in days.month])
    for cny in _cny_dates(range(t0.year - 1, t0.year + 4)):
        off = (days - cny).days.to_numpy()
        w[(off >= -7) & (off <= 10)] *= 0.25
        w[(off > 10) & (off <= 30)] *= 1.25  # post-holiday rebound
    return w / w.sum()


def _sample_times(rng: np.random.Generator, n: int, weights: np.ndarray) -> np.ndarray:
    """Times (float days since start) from a daily intensity, within working hours."""
    day = rng.choice(len(weights), size=n, p=weights)
    return day + rng.uniform(8.5, 20.0, size=n) / 24.0


def _lognormal(
    rng: np.random.Generator, median: np.ndarray | float, sigma: float, n: int | tuple[int, ...]
) -> np.ndarray:
    return np.asarray(median) * np.exp(sigma * rng.standard_normal(n))


def _ids(prefix: str, start: int, n: int, width: int) -> np.ndarray:
    nums = np.arange(start, start + n).astype(str)
    return np.char.add(prefix, np.char.zfill(nums, width)).astype(object)


def _to_ts(t0: np.datetime64, days: np.ndarray) -> np.ndarray:
    """Float days since ``t0`` (NaN = missing) -> datetime64[us] (NaT = missing)."""
    days = np.asarray(days, dtype=float)
    out = np.full(days.shape, np.datetime64("NaT", "us"))
    ok = ~np.isnan(days)
    out[ok] = t0 + np.round(days[ok] * 86_400e6).astype("timedelta64[us]")
    return out


# ---------------------------------------------------------------------------- core
@dataclass
class _World:
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

    def month_of(self, t: np.ndarray) -> np.ndarray:
        """Calendar-month index of times ``t`` (days since start)."""
        return np.searchsorted(self.month_starts, t, side="right") - 1


def _build_world(cfg: SimulationConfig, rng: np.random.Generator) -> _World:
    t0p = pd.Timestamp(cfg.start)
    end = t0p + pd.DateOffset(months=cfg.months)
    n_days = int((end - t0p).days)
    go_live_month = cfg.go_live_month if cfg.go_live_month is not None else (2 * cfg.months) // 3
    go_live = float((t0p + pd.DateOffset(months=go_live_month) - t0p).days)

    # reps: ~1 manager per 7 sellers, spread by region weight
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
    rep_ids = _ids("R", 1, n, max(3, len(str(n))))
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
    reply_base = np.exp(log_reply)

    # stores
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
            "store_id": _ids("S", 1, n_st, 2),
            "name": sname,
            "region": np.array(REGIONS, dtype=object)[store_region],
            "city": city,
        }
    )
    stores_by_region = [np.flatnonzero(store_region == r) for r in range(5)]
    anomalous_store = int(stores_by_region[0][3])  # a 华东 store
    anomaly_since = float(n_days // 3)

    # campaigns: per campaign channel per quarter; exhibitions: two short shows per quarter
    rows = []
    quarters = pd.date_range(t0p, end, freq="QS-JAN")
    q_starts = [t0p, *[q for q in quarters if q > t0p]]
    q_bounds = [*q_starts, end]
    k = 0
    for qi in range(len(q_bounds) - 1):
        qs, qe = q_bounds[qi], q_bounds[qi + 1]
        s_day, e_day = (qs - t0p).days, (qe - t0p).days
        for ch in _CAMPAIGN_CHANNELS:
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
    camp = pd.DataFrame(rows, columns=["k", "channel", "name", "start", "end"])
    t0 = np.datetime64(t0p.to_datetime64(), "us")
    campaigns = pd.DataFrame(
        {
            "campaign_id": _ids("CP", 1, len(camp), 4),
            "channel": camp["channel"].to_numpy(dtype=object),
            "name": camp["name"].to_numpy(dtype=object),
            "started_at": _to_ts(t0, camp["start"].to_numpy(float)),
            "ended_at": _to_ts(t0, np.floor(camp["end"].to_numpy(float)) + 0.999),
            "budget": 0.0,
        }
    )
    return _World(
        cfg=cfg,
        t0=t0,
        n_days=n_days,
        day_w=_day_weights(t0p, n_days),
        go_live=go_live,
        reps=reps,
        skills=skills,
        reply_base=reply_base,
        rep_region=rep_region,
        managers_by_region=managers_by_region,
        sellers_by_region=sellers_by_region,
        stores=stores,
        store_region=store_region,
        stores_by_region=stores_by_region,
        campaigns=campaigns,
        camp_channel=camp["channel"].to_numpy(dtype=object),
        camp_start=camp["start"].to_numpy(float),
        camp_end=camp["end"].to_numpy(float),
        anomalous_store=anomalous_store,
        anomaly_since=anomaly_since,
        month_starts=np.unique(
            np.r_[0.0, [(m - t0p).days for m in pd.date_range(t0p, end, freq="MS")], n_days]
        ),
    )


@dataclass
class _Chunk:
    tables: dict[str, pd.DataFrame]
    cust_cost: np.ndarray  # true acquisition cost per customer of the chunk
    channel_cost: np.ndarray  # true acquisition cost per channel (customers and lost leads)
    cust_channel: np.ndarray
    cust_acq: np.ndarray  # acquisition time (days) or NaN
    cust_ids: np.ndarray
    deal_ids: np.ndarray
    pass_prob: np.ndarray
    deal_region: np.ndarray
    reached: np.ndarray  # (n_deals, K) bool: entered stage k
    passed: np.ndarray  # (n_deals, K) bool: passed stage k (decided)
    lost_leads: int
    lost_no_reason: int
    reasons: dict[str, int]
    response_hours: np.ndarray
    sla_breach_ids: np.ndarray
    unanswered_quote_ids: np.ndarray
    unpaid_contract_ids: np.ndarray
    anomaly_cost_ratio: float


def _simulate_chunk(
    w: _World,
    rng: np.random.Generator,
    n_cust_target: int,
    n_deal_target: int,
    offs: dict[str, int],
) -> _Chunk:
    cfg = w.cfg
    T = float(w.n_days)
    gl = w.go_live
    K = len(DEFAULT_STAGE_ORDER)
    n_ch = len(CHANNELS)
    cons: list[pd.DataFrame] = []  # true cost consumption rows

    # ------------------------------------------------------------------ leads
    n_leads_ch = rng.poisson(n_cust_target * _CH_CUST_SHARE / _CH_CONV)
    lead_ch = np.repeat(np.arange(n_ch), n_leads_ch)
    nL = len(lead_ch)
    lead_t = _sample_times(rng, nL, w.day_w)
    # exhibition leads arrive during shows
    ex = lead_ch == CHANNELS.index("exhibition")
    ex_camps = np.flatnonzero(w.camp_channel == "exhibition")
    pick = rng.choice(ex_camps, size=ex.sum())
    lead_t[ex] = w.camp_start[pick] + rng.uniform(0, 5, ex.sum()) + rng.uniform(0, 0.2, ex.sum())
    lead_t = np.minimum(lead_t, T - 1e-3)
    lead_camp = np.full(nL, -1)
    lead_camp[ex] = pick
    for ch in ("online_ads", "wechat", "telesales"):
        m = lead_ch == CHANNELS.index(ch)
        cs = np.flatnonzero(w.camp_channel == ch)
        pos = np.searchsorted(w.camp_start[cs], lead_t[m], side="right") - 1
        lead_camp[m] = cs[np.clip(pos, 0, len(cs) - 1)]
    lead_region = rng.choice(5, size=nL, p=REGION_WEIGHTS)
    # first response
    resp_h = _lognormal(rng, _CH_RESPONSE_H[lead_ch], 1.0, nL)
    resp_h = np.where(lead_t >= gl, resp_h * (1 + KPI_EFFECTS["first_response_hours"]), resp_h)
    never = rng.random(nL) < 0.04
    resp_t = np.where(never, np.nan, lead_t + resp_h / 24.0)
    # conversion: faster responses convert more (normalised so channel mean ~ conv)
    fac = np.exp(-0.18 * (np.log1p(resp_h) - np.log1p(_CH_RESPONSE_H[lead_ch])))
    p_conv = np.clip(_CH_CONV[lead_ch] * fac, 0.01, 0.95)
    p_conv[never] *= 0.1
    converted = rng.random(nL) < p_conv
    conv_t = np.where(
        converted, np.nan_to_num(resp_t, nan=lead_t) + _lognormal(rng, 6.0, 0.8, nL), np.nan
    )
    lost_t = np.where(~converted, lead_t + _lognormal(rng, 12.0, 0.7, nL), np.nan)
    conv_ok = converted & (conv_t < T)
    lost_ok = ~converted & (lost_t < T)
    status = np.where(conv_ok, "converted", np.where(lost_ok, "lost", "open")).astype(object)
    resp_t = np.where(resp_t < T, resp_t, np.nan)
    has_reason = rng.random(nL) >= UNEXPLAINED_LOSS_SHARE
    reason_p = np.array([0.30, 0.22, 0.16, 0.14, 0.10, 0.08])
    reason = np.array(LOST_REASONS, dtype=object)[rng.choice(len(LOST_REASONS), nL, p=reason_p)]
    lost_reason = np.where(lost_ok & has_reason, reason, None)

    # ------------------------------------------------------------------ customers
    cust_lead = np.flatnonzero(conv_ok)
    nC = len(cust_lead)
    cust_ids = _ids("C", offs["customer"] + 1, nC, 7)
    cust_ch = lead_ch[cust_lead]
    cust_region = lead_region[cust_lead]
    cust_t = conv_t[cust_lead]
    seg_p = np.array(
        [
            [0.10, 0.40, 0.50],
            [0.05, 0.35, 0.60],
            [0.30, 0.50, 0.20],
            [0.02, 0.18, 0.80],
            [0.12, 0.43, 0.45],
            [0.05, 0.35, 0.60],
            [0.35, 0.45, 0.20],
        ]
    )
    u = rng.random(nC)[:, None]
    cust_seg = (u > np.cumsum(seg_p[cust_ch], axis=1)).sum(axis=1)
    cust_seg = np.minimum(cust_seg, 2)
    walkin = cust_ch == CHANNELS.index("store_walkin")
    has_store = walkin | (rng.random(nC) < 0.55)
    n_reg_st = np.array([len(s) for s in w.stores_by_region])
    st_local = (rng.random(nC) * n_reg_st[cust_region]).astype(int)
    st_offset = np.concatenate([[0], np.cumsum(n_reg_st)[:-1]])
    cust_store = np.where(has_store, st_offset[cust_region] + st_local, -1)
    n_sel = np.array([len(s) for s in w.sellers_by_region])
    sel_local = (rng.random(nC) * n_sel[cust_region]).astype(int)
    sel_flat = np.concatenate(w.sellers_by_region)
    sel_offset = np.concatenate([[0], np.cumsum(n_sel)[:-1]])
    cust_rep = sel_flat[sel_offset[cust_region] + sel_local]
    lead_cust = np.full(nL, -1)
    lead_cust[cust_lead] = np.arange(nC)

    # ------------------------------------------------------------------ deals
    n_extra = max(0, n_deal_target - nC) if nC else 0
    seg_w = np.array([3.0, 1.5, 1.0])[cust_seg] * (T - cust_t) / T
    extra_c = rng.choice(nC, size=n_extra, p=seg_w / seg_w.sum()) if n_extra else np.array([], int)
    deal_c = np.concatenate([np.arange(nC), extra_c])
    nD = len(deal_c)
    first = np.zeros(nD, bool)
    first[:nC] = True
    deal_t = np.where(
        first,
        cust_t[deal_c] + rng.uniform(0, 3, nD),
        cust_t[deal_c] + rng.uniform(0.05, 1, nD) * (T - cust_t[deal_c]),
    )
    keep = deal_t < T - 0.5
    deal_c, first, deal_t = deal_c[keep], first[keep], deal_t[keep]
    order = np.argsort(deal_t, kind="stable")
    deal_c, first, deal_t = deal_c[order], first[order], deal_t[order]
    nD = len(deal_c)
    deal_ids = _ids("D", offs["deal"] + 1, nD, 7)
    d_rep = cust_rep[deal_c]
    d_seg = cust_seg[deal_c]
    d_region = cust_region[deal_c]
    d_pl = rng.choice(len(PRODUCT_LINES), size=nD, p=_PL_PROB)
    amount = np.round(
        _lognormal(rng, _SEG_AMOUNT[d_seg] * np.array([1.3, 0.5, 0.8, 1.6])[d_pl], 0.75, nD), -2
    )
    amount = np.maximum(amount, 1000.0)
    sk = w.skills[d_rep]
    plan_rev = rng.poisson(1.4 * _PL_TECH[d_pl] * np.exp(-0.45 * sk[:, 0]))
    terms_rev = rng.poisson(1.1 * np.array([1.5, 1.0, 0.8])[d_seg] * np.exp(-0.4 * sk[:, 1]))
    reply_h = w.reply_base[d_rep] * np.exp(0.5 * rng.standard_normal(nD))
    reply_h = np.where(deal_t >= gl, reply_h * (1 + KPI_EFFECTS["first_response_hours"]), reply_h)
    quote_unans = rng.random(nD) < 0.22
    # latent engagement: engaged customers get more touches and win more often
    engage = rng.standard_normal(nD)
    # stage pass probabilities
    wm = WIN_MODEL
    k_idx = np.arange(K)[None, :]
    base = (
        wm["skill_technical"] * sk[:, 0]
        + wm["skill_commercial"] * sk[:, 1]
        + wm["skill_delivery"] * sk[:, 2]
        + wm["log_amount_vs_segment"] * (np.log(amount) - np.log(_SEG_AMOUNT[d_seg]))
        + _SEG_LOGIT[d_seg]
        + wm["engagement"] * engage
        + wm["log_reply_delay_hours"]
        * (np.log(reply_h) - np.log(wm["reply_delay_reference_hours"]))
    )
    st = {s: i for i, s in enumerate(DEFAULT_STAGE_ORDER)}
    logit = _STAGE_ALPHA[None, :] + base[:, None]
    logit = (
        logit
        + (k_idx >= st[wm["plan_revisions_from_stage"]])
        * (wm["plan_revisions_gt3"] * (plan_rev > 3))[:, None]
    )
    logit = (
        logit
        + (k_idx >= st[wm["terms_revisions_from_stage"]])
        * (wm["terms_revisions_ge3"] * (terms_rev >= 3))[:, None]
    )
    logit = (
        logit
        + (k_idx >= st[wm["quote_unanswered_from_stage"]])
        * (wm["quote_unanswered_48h"] * quote_unans)[:, None]
    )
    bp_r, bp_k = REGIONS.index(wm["breakpoint"]["region"]), st[wm["breakpoint"]["stage"]]
    logit[:, bp_k] += np.where(d_region == bp_r, wm["breakpoint"]["logit"], 0.0)
    pass_p = _sigmoid(logit)
    passes = rng.random((nD, K)) < pass_p
    exit_k = np.where(passes.all(axis=1), K, np.argmin(passes, axis=1))  # first failed stage
    won_planned = exit_k == K
    dur = _lognormal(
        rng, _STAGE_MEDIAN_DAYS[None, :] * np.where(d_seg == 0, 1.4, 1.0)[:, None], 0.6, (nD, K)
    )
    entered = np.empty((nD, K))
    t_cur = deal_t.copy()
    for k in range(K):
        entered[:, k] = t_cur
        dk = np.where(t_cur >= gl, dur[:, k] * (1 + KPI_EFFECTS["stage_duration_days"]), dur[:, k])
        dur[:, k] = dk
        t_cur = t_cur + dk
    last_k = np.minimum(exit_k, K - 1)
    close_t = entered[np.arange(nD), last_k] + dur[np.arange(nD), last_k]
    closed = close_t < T
    reached = (k_idx <= last_k[:, None]) & (entered < T)
    cur_stage = reached.sum(axis=1) - 1
    outcome = np.where(closed, np.where(won_planned, "won", "lost"), "open").astype(object)
    decided = (k_idx < last_k[:, None]) | ((k_idx == last_k[:, None]) & closed[:, None])
    decided &= reached
    won = outcome == "won"
    stage_names = np.array(DEFAULT_STAGE_ORDER, dtype=object)
    # deal "life" for event placement: until close or the end
    life_end = np.where(closed, close_t, T)

    # ------------------------------------------------------------------ stage history
    sh_d, sh_k = np.nonzero(reached)
    stage_history = pd.DataFrame(
        {
            "deal_id": deal_ids[sh_d],
            "entered_at": entered[sh_d, sh_k],
            "stage": stage_names[sh_k],
        }
    )

    # ------------------------------------------------------------------ collaboration events
    ce_parts = []
    # plan revisions: before the proposal pass decision
    prop = st["proposal"]
    # events sit on the deal's planned timeline; those after it closes never happen, so
    # what is visible at any date carries no hint of the deal's future outcome
    pr_end = entered[:, prop] + 0.8 * dur[:, prop]
    rd = np.repeat(np.arange(nD), plan_rev)
    rt = deal_t[rd] + rng.random(len(rd)) * (pr_end[rd] - deal_t[rd])
    ok = rt <= life_end[rd]
    rd, rt = rd[ok], rt[ok]
    ce_parts.append(
        pd.DataFrame(
            {
                "d": rd,
                "role": "technical",
                "kind": "plan_revision",
                "t": rt,
                "actor": d_rep[rd],
                "quality": np.nan,
                "req": -1,
            }
        )
    )
    neg = st["negotiation"]
    tr_s = entered[:, prop]
    tr_end = entered[:, neg] + 0.8 * dur[:, neg]
    rd = np.repeat(np.arange(nD), terms_rev)
    rt = tr_s[rd] + rng.random(len(rd)) * np.maximum(tr_end[rd] - tr_s[rd], 0.01)
    ok = rt <= life_end[rd]
    rd, rt = rd[ok], rt[ok]
    ce_parts.append(
        pd.DataFrame(
            {
                "d": rd,
                "role": "commercial",
                "kind": "terms_revision",
                "t": rt,
                "actor": d_rep[rd],
                "quality": np.nan,
                "req": -1,
            }
        )
    )
    # requests to a colleague in the same region and responses
    # requests arrive at a constant rate while the deal is open (about 1.6 per 35 days)
    n_req = rng.poisson(1.6 / 35.0 * np.maximum(life_end - deal_t, 0.5))
    rq = np.repeat(np.arange(nD), n_req)
    nR = len(rq)
    role_i = rng.integers(0, 3, nR)
    reg = d_region[rq]
    n_all = np.array([np.sum(w.rep_region == r) for r in range(5)])
    all_by_region = [np.flatnonzero(w.rep_region == r) for r in range(5)]
    flat = np.concatenate(all_by_region)
    offs_r = np.concatenate([[0], np.cumsum(n_all)[:-1]])
    colleague = flat[offs_r[reg] + (rng.random(nR) * n_all[reg]).astype(int)]
    req_t = deal_t[rq] + rng.random(nR) * (life_end[rq] - deal_t[rq])
    csk = w.skills[colleague, role_i]
    resp_hours = np.exp(np.log(8.0) - 0.45 * csk + 0.5 * rng.standard_normal(nR))
    resp_hours = np.where(
        req_t >= gl, resp_hours * (1 + KPI_EFFECTS["collab_response_hours"]), resp_hours
    )
    quality = np.clip(np.round(3.0 + 0.9 * csk + 0.7 * rng.standard_normal(nR)), 1, 5)
    roles = np.array(["technical", "commercial", "delivery"], dtype=object)
    ce_parts.append(
        pd.DataFrame(
            {
                "d": rq,
                "role": roles[role_i],
                "kind": "request",
                "t": req_t,
                "actor": d_rep[rq],
                "quality": np.nan,
                "req": -1,
            }
        )
    )
    ce_parts.append(
        pd.DataFrame(
            {
                "d": rq,
                "role": roles[role_i],
                "kind": "response",
                "t": req_t + resp_hours / 24.0,
                "actor": colleague,
                "quality": quality,
                "req": np.arange(nR),
            }
        )
    )  # req filled below
    # delivery documents after a win
    wd = np.flatnonzero(won)
    n_doc = rng.poisson(1.5, len(wd))
    dd = np.repeat(wd, n_doc)
    dq = np.clip(
        np.round(3.0 + 0.9 * w.skills[d_rep[dd], 2] + 0.7 * rng.standard_normal(len(dd))), 1, 5
    )
    ce_parts.append(
        pd.DataFrame(
            {
                "d": dd,
                "role": "delivery",
                "kind": "doc_version",
                "t": close_t[dd] + rng.uniform(0.5, 20, len(dd)),
                "actor": d_rep[dd],
                "quality": dq,
                "req": -1,
            }
        )
    )
    ce = pd.concat(ce_parts, ignore_index=True)
    # ids: requests get ids first so responses can point at them
    n_ce = len(ce)
    ce_ids = _ids("E", offs["event"] + 1, n_ce, 8)
    is_req = (ce["kind"] == "request").to_numpy()
    req_rows = np.flatnonzero(is_req)
    req_ref = np.full(n_ce, None, dtype=object)
    is_resp = (ce["kind"] == "response").to_numpy()
    req_ref[is_resp] = ce_ids[req_rows[ce["req"].to_numpy()[is_resp]]]
    ce_keep = ce["t"].to_numpy() < T
    collab = pd.DataFrame(
        {
            "event_id": ce_ids,
            "deal_id": deal_ids[ce["d"].to_numpy()],
            "role": ce["role"].to_numpy(),
            "actor_id": w.reps["rep_id"].to_numpy()[ce["actor"].to_numpy()],
            "kind": ce["kind"].to_numpy(),
            "occurred_at": ce["t"].to_numpy(),
            "request_id": req_ref,
            "quality": ce["quality"].to_numpy(),
        }
    )
    # a response after the end is unseen; its request stays
    collab = collab.loc[ce_keep]

    # ------------------------------------------------------------------ quotes
    qd = np.flatnonzero(reached[:, prop])
    n_q = 1 + rng.poisson(0.5 + 0.3 * np.minimum(terms_rev[qd], 5))
    q_d = np.repeat(qd, n_q)
    q_ver = np.concatenate([np.arange(1, n + 1) for n in n_q]) if len(n_q) else np.array([], int)
    q_last = np.r_[q_ver[1:] == 1, True] if len(q_ver) else np.array([], bool)
    span_s = entered[q_d, prop]
    span_e = entered[q_d, prop] + dur[q_d, prop] + 0.7 * dur[q_d, neg]
    frac = (q_ver - 1 + rng.random(len(q_d)) * 0.8) / n_q[np.repeat(np.arange(len(qd)), n_q)]
    q_sent = span_s + frac * np.maximum(span_e - span_s, 0.05)
    viewed = rng.random(len(q_d)) < 0.88
    q_view = np.where(viewed, q_sent + _lognormal(rng, 0.25, 1.0, len(q_d)), np.nan)
    unans = quote_unans[q_d] & q_last
    q_reply = np.where(viewed & ~unans, q_view + _lognormal(rng, 0.4, 0.9, len(q_d)), np.nan)
    q_reply = np.where(viewed & ~unans & (rng.random(len(q_d)) < 0.05), np.nan, q_reply)
    q_amount = np.round(amount[q_d] * (1.12 - 0.04 * q_ver), -1)
    qk = (q_sent < T) & (q_sent <= life_end[q_d])
    quotes = pd.DataFrame(
        {
            "quote_id": _ids("Q", offs["quote"] + 1, len(q_d), 7),
            "deal_id": deal_ids[q_d],
            "version": q_ver,
            "sent_at": q_sent,
            "first_viewed_at": np.where(q_view < T, q_view, np.nan),
            "replied_at": np.where(q_reply < T, q_reply, np.nan),
            "amount": q_amount,
        }
    ).loc[qk]
    fv, rp = quotes["first_viewed_at"].to_numpy(), quotes["replied_at"].to_numpy()
    unanswered_quote_ids = quotes["quote_id"].to_numpy()[
        ~np.isnan(fv) & (np.where(np.isnan(rp), T, rp) - fv > 2.0) & (T - fv > 2.0)
    ]

    # ------------------------------------------------------------------ activities
    life = np.maximum(life_end - deal_t, 0.5)
    rate = cfg.activities_per_deal / 30.0  # per deal-day at a 40-day mean life
    mult = np.exp(wm["engagement_activity_rate"] * engage - 0.08)
    n_act = rng.poisson(np.clip(rate * life * mult, 1, 400) * (1 + KPI_EFFECTS["daily_touches"]))
    ad = np.repeat(np.arange(nD), n_act)
    nA = len(ad)
    u = rng.random(nA)  # a constant rate until the deal closes: no hint of the outcome
    a_t = deal_t[ad] + u * life[ad]
    # go-live: +12% touches after it; thin the earlier ones
    keep_a = (a_t >= gl) | (rng.random(nA) < 1.0 / (1 + KPI_EFFECTS["daily_touches"]))
    keep_a &= a_t < T
    ad, a_t = ad[keep_a], a_t[keep_a]
    kinds = np.array(
        ["visit", "call", "message", "email", "demo", "sample", "meeting"], dtype=object
    )
    kp = np.array([0.20, 0.24, 0.30, 0.10, 0.06, 0.03, 0.07])
    a_kind = kinds[rng.choice(len(kinds), size=len(ad), p=kp)]
    # account maintenance (no deal)
    n_maint = rng.poisson(np.array([6.0, 3.0, 1.5])[cust_seg] * (T - cust_t) / T)
    mc = np.repeat(np.arange(nC), n_maint)
    m_t = cust_t[mc] + rng.random(len(mc)) * (T - cust_t[mc])
    m_kind = kinds[rng.choice(4, size=len(mc), p=[0.3, 0.35, 0.25, 0.10])]
    # quote activities mirror quotes
    qv = quotes["first_viewed_at"].notna().to_numpy()
    q_deal_idx = (
        np.searchsorted(deal_ids, quotes["deal_id"].to_numpy())
        if len(quotes)
        else np.array([], int)
    )
    act_d = np.concatenate([ad, np.full(len(mc), -1), q_deal_idx, q_deal_idx[qv]])
    act_c = np.concatenate([deal_c[ad], mc, deal_c[q_deal_idx], deal_c[q_deal_idx[qv]]])
    act_t = np.concatenate(
        [a_t, m_t, quotes["sent_at"].to_numpy(), quotes["first_viewed_at"].to_numpy()[qv]]
    )
    act_kind = np.concatenate(
        [
            a_kind,
            m_kind,
            np.full(len(quotes), "quote_sent", dtype=object),
            np.full(qv.sum(), "quote_viewed", dtype=object),
        ]
    )
    act_rep = np.where(act_d >= 0, d_rep[np.maximum(act_d, 0)], cust_rep[act_c])
    o = np.argsort(act_t, kind="stable")
    act_d, act_c, act_t, act_kind, act_rep = act_d[o], act_c[o], act_t[o], act_kind[o], act_rep[o]
    nA = len(act_t)
    chan_of = {
        "visit": "onsite",
        "demo": "onsite",
        "meeting": "onsite",
        "sample": "onsite",
        "call": "phone",
        "message": "wechat",
        "email": "email",
        "quote_sent": "online",
        "quote_viewed": "online",
    }
    act_channel = pd.Series(act_kind).map(chan_of).to_numpy(dtype=object)
    dmed = {"visit": 45.0, "call": 8.0, "meeting": 60.0, "demo": 90.0}
    duration = np.full(nA, np.nan)
    for kname, med in dmed.items():
        m = act_kind == kname
        duration[m] = np.round(_lognormal(rng, med, 0.5, m.sum()))
    ask = w.skills[act_rep]
    qual = np.full(nA, np.nan)
    qm = np.isin(act_kind, ["visit", "demo", "meeting"])
    qual[qm] = np.clip(
        np.round(3.0 + 0.6 * ask[qm, 0] + 0.4 * ask[qm, 1] + 0.8 * rng.standard_normal(qm.sum())),
        1,
        5,
    )
    msg = act_kind == "message"
    dl = np.where(act_d >= 0, reply_h[np.maximum(act_d, 0)], w.reply_base[act_rep])
    rdelay = dl * np.exp(0.6 * rng.standard_normal(nA)) / 24.0
    resp_act = np.where(msg & (rng.random(nA) > 0.03), act_t + rdelay, np.nan)
    resp_act = np.where(resp_act < T, resp_act, np.nan)
    act_ids = _ids("A", offs["activity"] + 1, nA, 9)
    activities = pd.DataFrame(
        {
            "activity_id": act_ids,
            "customer_id": cust_ids[act_c],
            "deal_id": np.where(act_d >= 0, deal_ids[np.maximum(act_d, 0)], None),
            "rep_id": w.reps["rep_id"].to_numpy()[act_rep],
            "kind": act_kind,
            "channel": act_channel,
            "occurred_at": act_t,
            "duration_min": duration,
            "responded_at": resp_act,
            "quality": qual,
        }
    )

    # ------------------------------------------------------------------ contracts, payments
    wdeals = np.flatnonzero(won)
    nK = len(wdeals)
    k_ids = _ids("K", offs["contract"] + 1, nK, 7)
    terms = rng.choice([30, 60, 90], size=nK, p=[0.4, 0.4, 0.2])
    contracts = pd.DataFrame(
        {
            "contract_id": k_ids,
            "deal_id": deal_ids[wdeals],
            "signed_at": close_t[wdeals],
            "amount": amount[wdeals],
            "payment_terms_days": terms,
        }
    )
    unpaid = rng.random(nK) < 0.07
    two = rng.random(nK) < 0.35
    n_pay = np.where(unpaid, 0, np.where(two, 2, 1))
    pk = np.repeat(np.arange(nK), n_pay)
    inst = np.concatenate([np.arange(n) for n in n_pay]) if nK else np.array([], int)
    frac_amt = np.where(two[pk], 0.5, 1.0)
    pay_t = (
        close_t[wdeals][pk]
        + np.where(inst == 0, 0.5, 1.0) * terms[pk]
        + rng.normal(3, 6, len(pk)).clip(-5, 60)
    )
    pay_t = np.maximum(pay_t, close_t[wdeals][pk] + 0.1)
    payments = pd.DataFrame(
        {
            "payment_id": _ids("P", offs["payment"] + 1, len(pk), 7),
            "contract_id": k_ids[pk],
            "paid_at": pay_t,
            "amount": np.round(amount[wdeals][pk] * frac_amt, 2),
        }
    ).loc[pay_t < T]

    # ------------------------------------------------------------------ material movements
    mm = []
    # redemptions to store customers
    sc = np.flatnonzero(cust_store >= 0)
    n_red = rng.poisson(1.6, len(sc))
    rc = np.repeat(sc, n_red)
    r_t = cust_t[rc] + rng.random(len(rc)) * np.minimum(120.0, T - cust_t[rc])
    r_sku = rng.choice(len(SKUS), size=len(rc), p=[0.15, 0.2, 0.15, 0.25, 0.15, 0.1])
    r_qty = rng.integers(1, 4, len(rc)).astype(float)
    r_store = cust_store[rc]
    anomalous = (r_store == w.anomalous_store) & (r_t >= w.anomaly_since)
    r_qty = np.where(anomalous, np.round(r_qty * 2.4), r_qty)
    scanned = ~anomalous
    mm.append(
        pd.DataFrame(
            {
                "store": r_store,
                "sku": r_sku,
                "kind": "redeem",
                "qty": r_qty,
                "t": r_t,
                "scanned": scanned,
                "cust": np.where(anomalous, -1, rc),
                "ref": -1,
                "true_cust": rc,
            }
        )
    )
    r_keep = r_t < T
    red_cost = r_qty * _SKU_COST[r_sku]
    cons.append(
        pd.DataFrame(
            {
                "category": "store_materials",
                "amount": red_cost[r_keep],
                "customer": rc[r_keep],
                "lead_channel": -1,
                "t": r_t[r_keep],
                "pool": r_store[r_keep],
                "pool_kind": "store",
            }
        )
    )
    # receipts, internal issues, transfers and losses per store-month (chunk share)
    n_months = int(np.ceil(T / 30.4))
    st_ix = np.repeat(np.arange(len(w.stores)), n_months)
    mo = np.tile(np.arange(n_months), len(w.stores))
    share = n_cust_target / max(cfg.n_customers, 1)
    for kind, lam in (("receive", 3.0), ("issue", 1.5), ("loss", 0.2), ("transfer_out", 0.3)):
        cnt = rng.poisson(lam * min(1.0, share * 3), len(st_ix))
        ii = np.repeat(np.arange(len(st_ix)), cnt)
        t_ = np.minimum(mo[ii] * 30.4 + rng.random(len(ii)) * 30.4, T - 0.01)
        qty = (
            rng.integers(5, 60, len(ii)).astype(float)
            if kind == "receive"
            else rng.integers(1, 8, len(ii)).astype(float)
        )
        s_ = st_ix[ii]
        ref = np.full(len(ii), -1)
        if kind == "transfer_out":
            reg = w.store_region[s_]
            ref = (
                np.array([rng.choice(w.stores_by_region[r]) for r in reg], dtype=int)
                if len(reg)
                else ref
            )
            same = ref == s_
            ref[same] = (ref[same] + 1) % len(w.stores)
            sku_ = rng.integers(0, len(SKUS), len(ii))
            mm.append(
                pd.DataFrame(
                    {
                        "store": s_,
                        "sku": sku_,
                        "kind": "transfer_out",
                        "qty": qty,
                        "t": t_,
                        "scanned": True,
                        "cust": -1,
                        "ref": ref,
                        "true_cust": -1,
                    }
                )
            )
            mm.append(
                pd.DataFrame(
                    {
                        "store": ref,
                        "sku": sku_,
                        "kind": "transfer_in",
                        "qty": qty,
                        "t": t_ + 0.5,
                        "scanned": True,
                        "cust": -1,
                        "ref": s_,
                        "true_cust": -1,
                    }
                )
            )
            continue
        mm.append(
            pd.DataFrame(
                {
                    "store": s_,
                    "sku": rng.integers(0, len(SKUS), len(ii)),
                    "kind": kind,
                    "qty": qty,
                    "t": t_,
                    "scanned": True,
                    "cust": -1,
                    "ref": ref,
                    "true_cust": -1,
                }
            )
        )
    mmv = pd.concat(mm, ignore_index=True)
    mmv = mmv.loc[mmv["t"].to_numpy() < T].sort_values("t", kind="stable")
    store_ids = w.stores["store_id"].to_numpy()
    movements = pd.DataFrame(
        {
            "movement_id": _ids("M", offs["movement"] + 1, len(mmv), 8),
            "store_id": store_ids[mmv["store"].to_numpy()],
            "sku": np.array(SKUS, dtype=object)[mmv["sku"].to_numpy()],
            "kind": mmv["kind"].to_numpy(dtype=object),
            "qty": mmv["qty"].to_numpy(float),
            "unit_cost": _SKU_COST[mmv["sku"].to_numpy()],
            "occurred_at": mmv["t"].to_numpy(),
            "scanned": mmv["scanned"].to_numpy(bool),
            "customer_id": np.where(
                mmv["cust"].to_numpy() >= 0, cust_ids[np.maximum(mmv["cust"].to_numpy(), 0)], None
            ),
            "ref_store_id": np.where(
                mmv["ref"].to_numpy() >= 0, store_ids[np.maximum(mmv["ref"].to_numpy(), 0)], None
            ),
        }
    )
    # planted anomaly: the store's material cost per customer vs its region's other stores
    red = mmv[(mmv["kind"] == "redeem") & (mmv["t"] >= w.anomaly_since)]
    reg_of = w.store_region[red["store"].to_numpy()]
    cpc = (red["qty"] * _SKU_COST[red["sku"].to_numpy()]).groupby(
        red["store"].to_numpy()
    ).sum() / red.groupby("store")["true_cust"].nunique()
    same_reg = [
        s
        for s in cpc.index
        if w.store_region[s] == w.store_region[w.anomalous_store] and s != w.anomalous_store
    ]
    anomaly_ratio = (
        float(cpc.get(w.anomalous_store, np.nan) / cpc.loc[same_reg].mean())
        if same_reg
        else float("nan")
    )
    del reg_of

    # ------------------------------------------------------------------ approvals
    ap_c = np.flatnonzero(cust_seg <= 1)
    sub1 = cust_t[ap_c] + rng.uniform(0.05, 2, len(ap_c))
    n_ap = len(ap_c)

    def decide(submitted: np.ndarray, breach_rate: float, median_h: float, reject_rate: float):
        """Decision times (a planted share beyond the SLA) and rejections of one step."""
        breach = rng.random(n_ap) < breach_rate
        hours = np.where(
            breach,
            rng.uniform(50, 200, n_ap),
            _lognormal(rng, median_h, 0.6, n_ap).clip(0.5, 46),
        )
        return submitted + hours / 24.0, rng.random(n_ap) < reject_rate

    dec1, rej1 = decide(sub1, 0.10, 14.0, 0.05)
    sub2 = dec1 + rng.uniform(0.1, 3, n_ap)
    dec2, rej2 = decide(sub2, 0.08, 10.0, 0.04)
    has2 = ~rej1
    mgr_pick = np.array([w.managers_by_region[r][0] for r in range(5)])
    rev = w.reps["rep_id"].to_numpy()[mgr_pick[cust_region[ap_c]]]
    ap = pd.DataFrame(
        {
            "c": np.r_[ap_c, ap_c[has2]],
            "step": np.r_[np.full(len(ap_c), "initial"), np.full(has2.sum(), "final")],
            "rev": np.r_[rev, rev[has2]],
            "sub": np.r_[sub1, sub2[has2]],
            "dec": np.r_[dec1, dec2[has2]],
            "rej": np.r_[rej1, rej2[has2]],
        }
    )
    ap = ap.loc[ap["sub"].to_numpy() < T].sort_values("sub", kind="stable")
    dec = ap["dec"].to_numpy()
    pending = dec >= T
    approvals = pd.DataFrame(
        {
            "approval_id": _ids("AP", offs["approval"] + 1, len(ap), 7),
            "subject_id": cust_ids[ap["c"].to_numpy()],
            "step": ap["step"].to_numpy(dtype=object),
            "reviewer_id": ap["rev"].to_numpy(dtype=object),
            "submitted_at": ap["sub"].to_numpy(),
            "decided_at": np.where(pending, np.nan, dec),
            "decision": np.where(
                pending, "pending", np.where(ap["rej"].to_numpy(), "rejected", "approved")
            ).astype(object),
        }
    )
    waited = np.where(pending, T, dec) - ap["sub"].to_numpy()
    sla_breach_ids = approvals["approval_id"].to_numpy()[waited * 24 > SLA_HOURS]

    # ------------------------------------------------------------------ true cost consumption
    lead_c_of = lead_cust  # -1 when the lead never became a customer
    ch_name = np.array(CHANNELS, dtype=object)
    # media + content + referral + events on leads
    for ch, cpl in _MEDIA_CPL.items():
        m = lead_ch == CHANNELS.index(ch)
        c = (
            cpl
            * np.where(lead_t[m] >= gl, 1 + KPI_EFFECTS["media_cost_per_lead"], 1.0)
            * np.exp(0.3 * rng.standard_normal(m.sum()))
        )
        cons.append(
            pd.DataFrame(
                {
                    "category": "media",
                    "amount": c,
                    "customer": lead_c_of[m],
                    "lead_channel": lead_ch[m],
                    "t": lead_t[m],
                    "pool": lead_camp[m],
                    "pool_kind": "campaign_month",
                }
            )
        )
    m = lead_ch == CHANNELS.index("exhibition")
    if m.any():
        wts = np.exp(0.3 * rng.standard_normal(m.sum()))
        camp_of = lead_camp[m]
        tot = pd.Series(wts).groupby(camp_of).transform("sum").to_numpy()
        cons.append(
            pd.DataFrame(
                {
                    "category": "events",
                    "amount": _EXHIBITION_COST * share * wts / tot,
                    "customer": lead_c_of[m],
                    "lead_channel": lead_ch[m],
                    "t": lead_t[m],
                    "pool": camp_of,
                    "pool_kind": "campaign",
                }
            )
        )
    for ch, cpl, cat in (
        ("wechat", 35.0, "content"),
        ("online_ads", 25.0, "content"),
        ("referral", 300.0, "community_referral"),
    ):
        m = lead_ch == CHANNELS.index(ch)
        cons.append(
            pd.DataFrame(
                {
                    "category": cat,
                    "amount": cpl * np.exp(0.3 * rng.standard_normal(m.sum())),
                    "customer": lead_c_of[m],
                    "lead_channel": lead_ch[m],
                    "t": lead_t[m],
                    "pool": CHANNELS.index(ch),
                    "pool_kind": "channel_month",
                }
            )
        )
    # activity-driven costs
    a_cust = act_c
    is_visit = act_kind == "visit"
    a_rep = act_rep
    cons.append(
        pd.DataFrame(
            {
                "category": "travel",
                "amount": 150.0 * np.exp(0.6 * rng.standard_normal(is_visit.sum())),
                "customer": a_cust[is_visit],
                "lead_channel": -1,
                "t": act_t[is_visit],
                "pool": a_rep[is_visit],
                "pool_kind": "rep_month",
                "activity": np.flatnonzero(is_visit),
            }
        )
    )
    fl = np.isin(act_kind, ["visit", "demo"]) & (cust_store[a_cust] >= 0)
    cons.append(
        pd.DataFrame(
            {
                "category": "field_promotion_labor",
                "amount": duration[fl] / 60.0 * 60.0 * np.exp(0.3 * rng.standard_normal(fl.sum())),
                "customer": a_cust[fl],
                "lead_channel": -1,
                "t": act_t[fl],
                "pool": cust_store[a_cust[fl]],
                "pool_kind": "store_month",
                "activity": np.flatnonzero(fl),
            }
        )
    )
    smp = act_kind == "sample"
    cons.append(
        pd.DataFrame(
            {
                "category": "samples",
                "amount": np.round(800.0 * np.exp(0.5 * rng.standard_normal(smp.sum())), 2),
                "customer": a_cust[smp],
                "lead_channel": -1,
                "t": act_t[smp],
                "pool": a_rep[smp],
                "pool_kind": "direct_or_rep_month",
                "activity": np.flatnonzero(smp),
            }
        )
    )
    gm = np.isin(act_kind, ["visit", "meeting"]) & (rng.random(nA) < 0.3)
    cons.append(
        pd.DataFrame(
            {
                "category": "gifts",
                "amount": np.round(200.0 * np.exp(0.4 * rng.standard_normal(gm.sum())), 2),
                "customer": a_cust[gm],
                "lead_channel": -1,
                "t": act_t[gm],
                "pool": a_rep[gm],
                "pool_kind": "direct",
                "activity": np.flatnonzero(gm),
            }
        )
    )
    # tools: 500 CNY per rep-month (chunk share), consumed equally by that rep's activities
    a_month = w.month_of(act_t)
    key = a_rep * 1000 + a_month
    n_in = pd.Series(1.0, index=key).groupby(level=0).transform("sum").to_numpy()
    cons.append(
        pd.DataFrame(
            {
                "category": "tools",
                "amount": 500.0 * share / n_in,
                "customer": a_cust,
                "lead_channel": -1,
                "t": act_t,
                "pool": a_rep,
                "pool_kind": "rep_month",
                "activity": np.arange(nA),
            }
        )
    )
    # deal-driven: commissions on won deals, channel fees on partner deals
    wd_ = np.flatnonzero(won)
    cons.append(
        pd.DataFrame(
            {
                "category": "commissions",
                "amount": np.round(0.03 * amount[wd_], 2),
                "customer": deal_c[wd_],
                "lead_channel": -1,
                "t": close_t[wd_],
                "pool": wd_,
                "pool_kind": "deal",
            }
        )
    )
    pdl = wd_[cust_ch[deal_c[wd_]] == CHANNELS.index("partner")]
    cons.append(
        pd.DataFrame(
            {
                "category": "channel_fees",
                "amount": np.round(0.05 * amount[pdl], 2),
                "customer": deal_c[pdl],
                "lead_channel": -1,
                "t": close_t[pdl],
                "pool": pdl,
                "pool_kind": "deal",
            }
        )
    )
    consumption = pd.concat(cons, ignore_index=True)
    consumption = consumption.loc[consumption["t"].to_numpy() < T]
    cc = consumption["customer"].to_numpy()
    lc = consumption["lead_channel"].to_numpy()
    consumption["channel"] = np.where(cc >= 0, cust_ch[np.maximum(cc, 0)], lc)

    # ------------------------------------------------------------------ ledger
    costs = _ledger(
        w, rng, consumption, lead_camp, offs, act_ids, deal_ids, act_rep, d_rep, cust_store
    )

    # ------------------------------------------------------------------ assemble
    lead_ids = _ids("L", offs["lead"] + 1, nL, 8)
    leads = pd.DataFrame(
        {
            "lead_id": lead_ids,
            "customer_id": np.where(lead_cust >= 0, cust_ids[np.maximum(lead_cust, 0)], None),
            "channel": ch_name[lead_ch],
            "campaign_id": np.where(
                lead_camp >= 0,
                w.campaigns["campaign_id"].to_numpy()[np.maximum(lead_camp, 0)],
                None,
            ),
            "created_at": lead_t,
            "first_response_at": resp_t,
            "status": status,
            "lost_reason": lost_reason,
            "converted_at": np.where(conv_ok, conv_t, np.nan),
            "lost_at": np.where(lost_ok, lost_t, np.nan),
        }
    ).sort_values("created_at", kind="stable")
    customers = pd.DataFrame(
        {
            "customer_id": cust_ids,
            "segment": np.array(SEGMENTS, dtype=object)[cust_seg],
            "region": np.array(REGIONS, dtype=object)[cust_region],
            "source_channel": ch_name[cust_ch],
            "created_at": cust_t,
            "store_id": np.where(cust_store >= 0, store_ids[np.maximum(cust_store, 0)], None),
            "owner_rep_id": w.reps["rep_id"].to_numpy()[cust_rep],
        }
    )
    deals = pd.DataFrame(
        {
            "deal_id": deal_ids,
            "customer_id": cust_ids[deal_c],
            "rep_id": w.reps["rep_id"].to_numpy()[d_rep],
            "lead_id": np.where(first, lead_ids[cust_lead][deal_c], None),
            "created_at": deal_t,
            "stage": stage_names[cur_stage],
            "amount": amount,
            "product_line": np.array(PRODUCT_LINES, dtype=object)[d_pl],
            "outcome": outcome,
            "closed_at": np.where(closed, close_t, np.nan),
        }
    )

    # acquisition: first won deal close per customer
    acq = np.full(nC, np.nan)
    if won.any():
        s = pd.Series(close_t[won]).groupby(deal_c[won]).min()
        acq[s.index.to_numpy()] = s.to_numpy()

    # true acquisition cost: consumption dated at or before the customer's acquisition
    cidx = consumption["customer"].to_numpy()
    t_c = consumption["t"].to_numpy()
    acq_t = np.where(cidx >= 0, acq[np.maximum(cidx, 0)], np.nan)
    counts = (cidx < 0) | np.isnan(acq_t) | (t_c <= acq_t + 1e-9)
    amt = consumption["amount"].to_numpy() * counts
    cust_cost = np.bincount(cidx[cidx >= 0], weights=amt[cidx >= 0], minlength=nC)
    channel_cost = np.bincount(
        consumption["channel"].to_numpy().astype(int), weights=amt, minlength=n_ch
    )
    del consumption
    lost_mask = status == "lost"
    reasons = pd.Series(lost_reason[lost_mask]).value_counts().to_dict()
    chunk = _Chunk(
        tables={
            "leads": leads,
            "customers": customers,
            "deals": deals,
            "stage_history": stage_history,
            "activities": activities,
            "quotes": quotes,
            "contracts": contracts,
            "payments": payments,
            "costs": costs,
            "material_movements": movements,
            "approvals": approvals,
            "collab_events": collab,
        },
        cust_cost=cust_cost,
        channel_cost=channel_cost,
        cust_channel=cust_ch,
        cust_acq=acq,
        cust_ids=cust_ids,
        deal_ids=deal_ids,
        pass_prob=pass_p,
        deal_region=d_region,
        reached=reached,
        passed=decided & passes,
        lost_leads=int(lost_mask.sum()),
        lost_no_reason=int((lost_mask & (lost_reason == None)).sum()),  # noqa: E711
        reasons={str(k): int(v) for k, v in reasons.items()},
        response_hours=((resp_t - lead_t) * 24.0)[~np.isnan(resp_t)],
        sla_breach_ids=sla_breach_ids,
        unanswered_quote_ids=unanswered_quote_ids,
        unpaid_contract_ids=k_ids[unpaid],
        anomaly_cost_ratio=anomaly_ratio,
    )
    return chunk


def _ledger(
    w: _World,
    rng: np.random.Generator,
    cons: pd.DataFrame,
    lead_camp: np.ndarray,
    offs: dict[str, int],
    act_ids: np.ndarray,
    deal_ids: np.ndarray,
    act_rep: np.ndarray,
    d_rep: np.ndarray,
    cust_store: np.ndarray,
) -> pd.DataFrame:
    """Record true consumption the way a real ledger does (direct lines and pools)."""
    T = float(w.n_days)
    # ledgers book by calendar month, on the month's last day
    month = w.month_of(cons["t"].to_numpy())
    month_end = np.minimum(w.month_starts[month + 1] - 0.5, T - 0.01)
    rep_ids = w.reps["rep_id"].to_numpy()
    store_ids = w.stores["store_id"].to_numpy()
    camp_ids = w.campaigns["campaign_id"].to_numpy()
    ch_name = np.array(CHANNELS, dtype=object)
    cat = cons["category"].to_numpy()
    pool = cons["pool"].to_numpy()
    out = []

    def agg(mask: np.ndarray, keys: dict[str, np.ndarray], when: np.ndarray) -> pd.DataFrame:
        df = pd.DataFrame(
            {
                **{k: v[mask] for k, v in keys.items()},
                "amount": cons["amount"].to_numpy()[mask],
                "when": when[mask],
            }
        )
        g = df.groupby(list(keys), sort=True, dropna=False).agg(
            amount=("amount", "sum"), when=("when", "max")
        )
        return g.reset_index()

    cat_arr = np.asarray(cat)
    amount = cons["amount"].to_numpy()
    when = cons["t"].to_numpy()
    # pooled lines: one per pool (campaign, channel, rep or store) and calendar month
    pooled = {
        "media": ("campaign_id", camp_ids),
        "content": ("channel", ch_name),
        "community_referral": ("channel", ch_name),
        "travel": ("rep_id", rep_ids),
        "tools": ("rep_id", rep_ids),
        "field_promotion_labor": ("store_id", store_ids),
        "store_materials": ("store_id", store_ids),
    }
    for c, (link, ids) in pooled.items():
        g = agg(cat_arr == c, {"pool": pool, "month": month}, month_end)
        line = {"category": c, "amount": g["amount"], "incurred_at": g["when"]}
        line[link] = ids[g["pool"].to_numpy()]
        if c == "media":
            line["channel"] = w.camp_channel[g["pool"].to_numpy()]
        out.append(pd.DataFrame(line))
    # events: one line per exhibition, dated at its start
    g = agg(cat_arr == "events", {"camp": pool}, when)
    out.append(
        pd.DataFrame(
            {
                "category": "events",
                "amount": g["amount"],
                "incurred_at": w.camp_start[g["camp"].to_numpy()],
                "campaign_id": camp_ids[g["camp"].to_numpy()],
                "channel": "exhibition",
            }
        )
    )

    def by_activity(c: str, mask: np.ndarray) -> pd.DataFrame:
        ai = act[mask].astype(int)
        return pd.DataFrame(
            {
                "category": c,
                "amount": amount[mask],
                "incurred_at": when[mask],
                "activity_id": act_ids[ai],
                "rep_id": rep_ids[act_rep[ai]],
            }
        )

    # samples: 60% booked per activity, 40% per rep and month; gifts: per activity
    act = cons["activity"].to_numpy()
    m = cat_arr == "samples"
    direct = m & (rng.random(len(cons)) < 0.6)
    out.append(by_activity("samples", direct))
    g = agg(m & ~direct, {"rep": pool, "month": month}, month_end)
    out.append(
        pd.DataFrame(
            {
                "category": "samples",
                "amount": g["amount"],
                "incurred_at": g["when"],
                "rep_id": rep_ids[g["rep"].to_numpy()],
            }
        )
    )
    out.append(by_activity("gifts", cat_arr == "gifts"))
    # commissions / channel fees: per won deal
    for c in ("commissions", "channel_fees"):
        m = cat_arr == c
        di = pool[m].astype(int)
        out.append(
            pd.DataFrame(
                {
                    "category": c,
                    "amount": amount[m],
                    "incurred_at": when[m],
                    "deal_id": deal_ids[di],
                    "rep_id": rep_ids[d_rep[di]] if c == "commissions" else None,
                    "channel": "partner" if c == "channel_fees" else None,
                }
            )
        )
    led = pd.concat(out, ignore_index=True)
    led = led.loc[led["amount"].to_numpy() > 0].sort_values("incurred_at", kind="stable")
    led["amount"] = np.round(led["amount"].to_numpy(), 2)
    for col in ("campaign_id", "channel", "store_id", "rep_id", "activity_id", "deal_id"):
        if col not in led:
            led[col] = None
    led.insert(0, "cost_id", _ids("X", offs["cost"] + 1, len(led), 8))
    return led[
        [
            "cost_id",
            "category",
            "amount",
            "incurred_at",
            "campaign_id",
            "channel",
            "store_id",
            "rep_id",
            "activity_id",
            "deal_id",
        ]
    ].reset_index(drop=True)


# ---------------------------------------------------------------------------- public
def _finish_tables(tables: dict[str, pd.DataFrame], t0: np.datetime64) -> dict[str, pd.DataFrame]:
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
                    cols[c] = pd.Series(_to_ts(t0, s.to_numpy(float)))
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


def _check_overrides(overrides: dict[str, Any]) -> dict[str, Any]:
    allowed = {f.name for f in fields(SimulationConfig)}
    bad = sorted(set(overrides) - allowed)
    if bad:
        raise TypeError(f"unknown simulate() option(s) {bad}; allowed: {sorted(allowed)}")
    return overrides


def simulate(
    preset: str = "demo",
    seed: int = 0,
    dirty: bool = False,
    *,
    progress: bool = False,
    **overrides: Any,
) -> tuple[SalesData, Truth]:
    """Generate a realistic sales dataset with planted truth.

    Parameters
    ----------
    preset
        ``"tiny"`` (tests), ``"demo"`` (about 20 reps, 2,000 customers, 3,000 deals,
        60k activities, 18 months), ``"S"``, ``"M"`` (about 100k deals, 3M activities)
        or ``"L"`` (about 1M deals, 30M activities; prefer :func:`write_simulated`,
        which writes in chunks).
    seed
        Random seed; the same seed gives the same data.
    dirty
        Return the tables as a raw export would (strings) with faults injected at the
        rows listed in ``truth.faults``.
    progress
        Show a progress bar over chunks.
    **overrides
        Any field of :class:`SimulationConfig` (``n_reps``, ``n_customers``,
        ``n_deals``, ``months``, ``start``, ``activities_per_deal``, ``go_live_month``).

    Returns
    -------
    (SalesData, Truth)
    """
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; choose one of {sorted(PRESETS)}")
    cfg = SimulationConfig(**{**PRESETS[preset].__dict__, **_check_overrides(overrides)})
    parts = list(_iter_chunks(cfg, seed, progress=progress))
    data, truth = _combine(cfg, parts, seed, preset)
    if dirty:
        from salesml.data.dirty import inject_faults

        raw, faults = inject_faults(data, seed=seed)
        truth.faults = faults
        truth.encoding = "gb18030"
        data = raw
    return data, truth


def _iter_chunks(cfg: SimulationConfig, seed: int, *, progress: bool = False):
    """Yield ``(world, chunk)`` per block of customers (ids offset across blocks)."""
    from tqdm.auto import tqdm

    rng = np.random.default_rng(seed)
    world = _build_world(cfg, rng)
    n_chunks = max(1, int(np.ceil(cfg.n_customers / cfg.chunk_customers)))
    offs = dict.fromkeys(
        (
            "customer",
            "deal",
            "lead",
            "activity",
            "quote",
            "contract",
            "payment",
            "movement",
            "approval",
            "cost",
            "event",
        ),
        0,
    )
    it = range(n_chunks)
    if progress:
        it = tqdm(it, desc="simulating", unit="chunk")
    for i in it:
        crng = np.random.default_rng([seed, i])
        nc = cfg.n_customers // n_chunks + (1 if i < cfg.n_customers % n_chunks else 0)
        nd = cfg.n_deals // n_chunks + (1 if i < cfg.n_deals % n_chunks else 0)
        ch = _simulate_chunk(world, crng, nc, nd, offs)
        for key, table in (
            ("customer", "customers"),
            ("deal", "deals"),
            ("lead", "leads"),
            ("activity", "activities"),
            ("quote", "quotes"),
            ("contract", "contracts"),
            ("payment", "payments"),
            ("movement", "material_movements"),
            ("approval", "approvals"),
            ("cost", "costs"),
            ("event", "collab_events"),
        ):
            offs[key] += _max_num(ch.tables[table].iloc[:, 0])
        yield world, ch


def _max_num(ids: pd.Series) -> int:
    if not len(ids):
        return 0
    return int(ids.astype(str).str.replace(r"^\D+", "", regex=True).astype(np.int64).max())


def _combine(cfg: SimulationConfig, parts: list, seed: int, preset: str) -> tuple[SalesData, Truth]:
    world = parts[0][0]
    chunks = [c for _, c in parts]
    tables = {
        name: pd.concat([c.tables[name] for c in chunks], ignore_index=True)
        for name in chunks[0].tables
    }
    tables["reps"] = world.reps
    tables["stores"] = world.stores
    tables["campaigns"] = _campaign_budgets(world, chunks)
    tables = _finish_tables(tables, world.t0)
    t0p = pd.Timestamp(world.t0)
    go_live = t0p + pd.Timedelta(days=world.go_live)
    config = DatasetConfig(
        name=f"simulated-{preset}-seed{seed}",
        go_live=f"{go_live:%Y-%m-%d}",
        extra={
            "simulator": {"preset": preset, "seed": seed, "months": cfg.months, "start": cfg.start}
        },
    )
    data = SalesData(tables, config)
    truth = _truth(world, chunks, cfg, seed, preset, go_live)
    return data, truth


def _campaign_budgets(world: _World, chunks: list[_Chunk]) -> pd.DataFrame:
    camps = world.campaigns.copy()
    spend = pd.concat([c.tables["costs"] for c in chunks]).groupby("campaign_id")["amount"].sum()
    rng = np.random.default_rng(7)
    budget = spend.reindex(camps["campaign_id"]).fillna(0.0).to_numpy() * rng.uniform(
        0.95, 1.15, len(camps)
    )
    camps["budget"] = np.round(budget, -2)
    return camps


def _truth(
    world: _World,
    chunks: list[_Chunk],
    cfg: SimulationConfig,
    seed: int,
    preset: str,
    go_live: pd.Timestamp,
) -> Truth:
    K = len(DEFAULT_STAGE_ORDER)
    deal_ids = np.concatenate([c.deal_ids for c in chunks])
    pp = np.concatenate([c.pass_prob for c in chunks])
    stage_pass = pd.DataFrame(
        pp, index=pd.Index(deal_ids, name="deal_id", dtype="str"), columns=list(DEFAULT_STAGE_ORDER)
    )
    win_prob = pd.Series(pp.prod(axis=1), index=stage_pass.index, name="true_win_prob")
    region = np.concatenate([c.deal_region for c in chunks])
    reached = np.concatenate([c.reached for c in chunks])
    rows = []
    bp = WIN_MODEL["breakpoint"]
    for r, rname in enumerate(REGIONS):
        for k, sname in enumerate(DEFAULT_STAGE_ORDER):
            m = (region == r) & reached[:, k]
            rows.append(
                {
                    "region": rname,
                    "stage": sname,
                    "p_true": float(pp[m, k].mean()) if m.any() else np.nan,
                    "n_reached": int(m.sum()),
                    "is_breakpoint": rname == bp["region"] and sname == bp["stage"],
                }
            )
    stage_conv = pd.DataFrame(rows)
    del K

    lost = sum(c.lost_leads for c in chunks)
    no_reason = sum(c.lost_no_reason for c in chunks)
    reasons: dict[str, int] = {}
    for c in chunks:
        for k, v in c.reasons.items():
            reasons[k] = reasons.get(k, 0) + v
    rh = np.concatenate([c.response_hours for c in chunks])

    # true CAC
    acq = np.concatenate([c.cust_acq for c in chunks])
    cust_ids = np.concatenate([c.cust_ids for c in chunks])
    cust_ch = np.concatenate([c.cust_channel for c in chunks])
    cust_cost = np.concatenate([c.cust_cost for c in chunks])
    ch_cost = pd.Series(np.sum([c.channel_cost for c in chunks], axis=0))
    acquired = pd.Series(~np.isnan(acq)).groupby(cust_ch).sum()
    ch_rows = []
    for i, ch in enumerate(CHANNELS):
        a = int(acquired.get(i, 0))
        cost = float(ch_cost.get(i, 0.0))
        ch_rows.append(
            {
                "channel": ch,
                "acquired_customers": a,
                "acquisition_cost": cost,
                "cac": cost / a if a else np.nan,
            }
        )
    channel_cac = pd.DataFrame(ch_rows).set_index("channel")
    customer_cost = pd.Series(
        cust_cost,
        index=pd.Index(cust_ids, name="customer_id", dtype="str"),
        name="true_acquisition_cost",
    )

    anomaly_ratio = float(np.nanmean([c.anomaly_cost_ratio for c in chunks]))
    since = pd.Timestamp(world.t0) + pd.Timedelta(days=world.anomaly_since)
    anomalous = pd.DataFrame(
        {
            "store_id": [world.stores["store_id"].iloc[world.anomalous_store]],
            "kind": ["unscanned_redemptions"],
            "cost_ratio": [anomaly_ratio],
            "since": [since],
        }
    )
    skills = pd.DataFrame(
        world.skills,
        columns=["technical", "commercial", "delivery"],
        index=pd.Index(world.reps["rep_id"].astype("str"), name="rep_id"),
    )
    end = pd.Timestamp(world.t0) + pd.Timedelta(days=world.n_days)
    return Truth(
        rep_skills=skills,
        deal_win_prob=win_prob,
        stage_pass_prob=stage_pass,
        win_model=json.loads(json.dumps(WIN_MODEL)),
        stage_conversion=stage_conv,
        breakpoint={"region": bp["region"], "stage": bp["stage"]},
        lead_loss={
            "lost": int(lost),
            "unexplained": int(no_reason),
            "unexplained_share": no_reason / lost if lost else float("nan"),
            "reasons": reasons,
        },
        first_response_hours={
            "mean": float(rh.mean()),
            "median": float(np.median(rh)),
            "p90": float(np.quantile(rh, 0.9)),
        },
        channel_cac=channel_cac,
        customer_acquisition_cost=customer_cost,
        go_live=go_live,
        kpi_effects=dict(KPI_EFFECTS),
        anomalous_stores=anomalous,
        sla_hours=SLA_HOURS,
        sla_breaches=pd.Index(np.concatenate([c.sla_breach_ids for c in chunks]), dtype="str"),
        unanswered_quotes=pd.Index(
            np.concatenate([c.unanswered_quote_ids for c in chunks]), dtype="str"
        ),
        unpaid_contracts=pd.Index(
            np.concatenate([c.unpaid_contract_ids for c in chunks]), dtype="str"
        ),
        end=end,
        seed=seed,
        preset=preset,
    )


def write_simulated(
    out: str | Path, preset: str = "L", seed: int = 0, *, progress: bool = True, **overrides: Any
) -> Truth:
    """Generate a large dataset chunk by chunk, writing each table as Parquet parts.

    Memory stays bounded by one chunk of customers (``chunk_customers``): each table
    becomes a folder ``<table>/part-00000.parquet, ...`` that :func:`salesml.load_dataset`
    reads as one table. The truth is written to ``out/truth``.

    Returns
    -------
    Truth
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; choose one of {sorted(PRESETS)}")
    cfg = SimulationConfig(**{**PRESETS[preset].__dict__, **_check_overrides(overrides)})
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    kept: list[tuple[_World, _Chunk]] = []
    world = None
    for i, (world, ch) in enumerate(_iter_chunks(cfg, seed, progress=progress)):
        tables = _finish_tables(ch.tables, world.t0)
        for name, df in tables.items():
            d = folder / name
            d.mkdir(exist_ok=True)
            pq.write_table(
                pa.Table.from_pandas(df, preserve_index=False), d / f"part-{i:05d}.parquet"
            )
        # keep only what the truth and campaign budgets need
        spend = ch.tables["costs"].groupby("campaign_id", as_index=False)["amount"].sum()
        ch.tables = {"costs": spend}
        kept.append((world, ch))
        del tables
    assert world is not None
    small = _finish_tables(
        {
            "reps": world.reps,
            "stores": world.stores,
            "campaigns": _campaign_budgets(world, [c for _, c in kept]),
        },
        world.t0,
    )
    for name, df in small.items():
        df.to_parquet(folder / f"{name}.parquet", index=False)
    t0p = pd.Timestamp(world.t0)
    go_live = t0p + pd.Timedelta(days=world.go_live)
    DatasetConfig(
        name=f"simulated-{preset}-seed{seed}",
        go_live=f"{go_live:%Y-%m-%d}",
        extra={"simulator": {"preset": preset, "seed": seed}},
    ).write(folder)
    truth = _truth(world, [c for _, c in kept], cfg, seed, preset, go_live)
    truth.save(folder / "truth")
    return truth
