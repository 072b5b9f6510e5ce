"""The events each KPI of :mod:`salesml.impact.kpis` is built from.

Each builder takes ``(data, start, end)`` and returns the KPI's events: columns ``t``
(the instant that dates the event), ``region`` (may be missing), ``num`` and ``den``.
A period's value is the sum of ``num`` over the sum of ``den`` (for a KPI with
``mean="geometric"``, ``num`` is a log and the value is ``exp`` of that ratio).

Touches (tens of millions at tier L) come counted per day and region: one row with
``t`` the day's start, ``num`` the touches and ``n`` the records it stands for (rows
without ``n`` stand for one). Every period starts at midnight, so the series are those
of one row per touch.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from salesml.data.bundle import SalesData

__all__ = [
    "MIN_RESPONSE_HOURS",
    "STAGE_CAP_DAYS",
    "TOUCH_KINDS",
    "blended_cac_events",
    "collab_response_events",
    "first_response_events",
    "material_loss_events",
    "media_cost_per_lead_events",
    "payment_delay_events",
    "stage_spells_events",
    "touches_per_deal_day_events",
    "touches_per_rep_day_events",
    "won_cycle_events",
]

_DAY = np.timedelta64(1, "D")
#: Activity kinds that are a touch of a customer (quote mirrors are not).
TOUCH_KINDS = ("visit", "call", "message", "email", "demo", "sample", "meeting")


def _customer_region(data: SalesData, customer_ids: pd.Series) -> np.ndarray:
    if "customers" not in data:
        return np.full(len(customer_ids), None, dtype=object)
    reg = data.customers.set_index("customer_id")["region"]
    return customer_ids.map(reg).to_numpy(dtype=object)


#: (deal ids, their regions), per (deals, customers) table pair (tables are read-only
#: by convention; a dashboard recomputes the same data many times).
_DEAL_REGION: dict[tuple[int, int], tuple[pd.DataFrame, pd.Series, np.ndarray]] = {}


def _positions(values: pd.Series, keys: pd.Series) -> np.ndarray:
    """Position of each of ``values`` in ``keys`` (-1 when absent).

    Through pyarrow (``index_in``) when both are text, so tens of millions of ids are
    matched without a Python string per row (tier L); else ``Index.get_indexer``. Ids
    held as ``category`` (``load_dataset(compact=True)``) are matched once per distinct
    id and spread to the rows by their codes (missing ids: -1).
    """
    if isinstance(values.dtype, pd.CategoricalDtype):
        cat_pos = _positions(pd.Series(values.cat.categories), keys)
        codes = values.cat.codes.to_numpy()
        return np.where(codes >= 0, np.append(cat_pos, -1)[codes], -1).astype(np.int64)
    try:
        v = pa.array(values.to_numpy(dtype=object) if values.dtype == object else values)
        k = pa.array(keys.to_numpy(dtype=object) if keys.dtype == object else keys)
        if pa.types.is_string(v.type) or pa.types.is_large_string(v.type):
            pos = pc.index_in(v, value_set=k.cast(v.type))
            return pos.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    except (TypeError, ValueError, NotImplementedError, pa.ArrowException):
        pass
    return pd.Index(keys).get_indexer(values)


def _deal_regions(data: SalesData) -> tuple[pd.Series, np.ndarray]:
    """The deals' ids (first of each) and their regions, a ``None`` appended (cached)."""
    deals = data.deals
    cust = data.customers if "customers" in data else None
    key = (id(deals), id(cust))
    hit = _DEAL_REGION.get(key)
    if hit is None or hit[0] is not deals:
        first = ~deals["deal_id"].duplicated().to_numpy()
        ids = deals["deal_id"][first].reset_index(drop=True)
        region = _customer_region(data, deals["customer_id"][first])
        _DEAL_REGION.clear()  # one dataset at a time: keep memory flat
        _DEAL_REGION[key] = hit = (deals, ids, np.append(region, None))
    return hit[1], hit[2]


def _deal_region(data: SalesData, deal_ids: pd.Series) -> np.ndarray:
    ids, region = _deal_regions(data)
    return region[_positions(deal_ids, ids)]  # -1: the appended None (an unknown deal)


def _daily_touches(t: np.ndarray, pos: np.ndarray, region: np.ndarray) -> pd.DataFrame:
    """Touches counted per day and region (``num`` and ``n`` the count, ``den`` 0).

    ``t`` the touches' instants, ``pos`` each one's row in ``region`` (the regions of
    its deals or reps, the last entry ``None`` for -1). Counted through integer codes
    (a day and a region per touch), so no frame of one row per touch is built.
    """
    codes, uniques = pd.factorize(pd.Series(region, dtype=object))  # missing: -1
    n_g = len(uniques) + 1  # group 0: no region
    if not len(t):
        return _frame(t, None, 0.0, 0.0).assign(n=0.0)
    day = t.astype("datetime64[D]")
    day0 = day.min()
    key = (day - day0).astype(np.int64) * n_g + (codes[pos] + 1)
    del day
    counts = np.bincount(key, minlength=n_g)
    hit = np.flatnonzero(counts)
    days = (day0 + (hit // n_g).astype("timedelta64[D]")).astype(t.dtype)
    names = np.append(np.asarray(uniques, dtype=object), None)[(hit % n_g) - 1]
    n = counts[hit].astype(float)
    return _frame(days, names, n, 0.0).assign(n=n)


def _frame(t: object, region: object, num: object, den: object) -> pd.DataFrame:
    return pd.DataFrame({"t": t, "region": region, "num": num, "den": den})


#: Response times are floored at one minute before their log is taken (an instant
#: reply would have a log of minus infinity).
MIN_RESPONSE_HOURS = 1.0 / 60.0


def first_response_events(data: SalesData, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    """Log hours to the first response per answered lead, channel mix held fixed.

    Waiting times are heavy-tailed (a trade-show lead waits a day, a walk-in minutes):
    a weekly *mean* swings with a few long waits, so this KPI is the geometric mean
    (``num`` is the log of the hours, ``den`` 1; the KPI's ``mean`` is ``geometric``).
    Channels answer at very different speeds, so each lead's log is taken relative to
    its channel's mean log and put back on the overall scale: a week full of trade-show
    leads does not look like a slowdown.
    """
    ld = data.leads
    ok = ld["first_response_at"].notna() & ld["created_at"].notna()
    ld = ld[ok]
    hours = (ld["first_response_at"] - ld["created_at"]) / pd.Timedelta(hours=1)
    log_h = np.log(hours.clip(lower=MIN_RESPONSE_HOURS).to_numpy(float))
    if len(log_h):
        ch = ld["channel"].astype(object).fillna("").to_numpy()
        ch_mean = pd.Series(log_h).groupby(ch).transform("mean").to_numpy(float)
        log_h = log_h - ch_mean + log_h.mean()
    return _frame(ld["created_at"].to_numpy(), None, log_h, 1.0)


def stage_spells_events(data: SalesData, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    sh = data.stage_history[["deal_id", "entered_at", "stage"]].dropna(
        subset=["deal_id", "entered_at"]
    )
    sh = sh.sort_values(["deal_id", "entered_at"], kind="stable")
    nxt = sh.groupby("deal_id", sort=False)["entered_at"].shift(-1)
    closed = sh["deal_id"].map(data.deals.set_index("deal_id")["closed_at"])
    stop = nxt.fillna(closed)
    # a spell still running at the end counts as lasting until then (capped below)
    stop = stop.fillna(end)
    days = ((stop - sh["entered_at"]) / pd.Timedelta(days=1)).clip(lower=0.0)
    days = days.clip(upper=STAGE_CAP_DAYS)
    # stages last very differently (qualification a week, proposal two): each spell
    # counts as its stage's mean over the overall mean, so a period with many early
    # stages (the first weeks of a dataset) does not look fast (stage mix held fixed)
    mature = sh["entered_at"] < end - pd.Timedelta(days=STAGE_CAP_DAYS)
    st_mean = days[mature].groupby(sh.loc[mature, "stage"]).mean()
    weight = sh["stage"].map(st_mean / days[mature].mean()).fillna(1.0).to_numpy(float)
    return _frame(sh["entered_at"].to_numpy(), _deal_region(data, sh["deal_id"]), days, weight)


#: Stage spells are counted up to this many days (and only those entered that long
#: before the end), so every spell of a period is observed to the same horizon.
STAGE_CAP_DAYS = 90.0


def won_cycle_events(data: SalesData, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    d = data.deals
    d = d[(d["outcome"] == "won") & d["closed_at"].notna() & d["created_at"].notna()]
    days = ((d["closed_at"] - d["created_at"]) / pd.Timedelta(days=1)).clip(lower=0.0)
    return _frame(d["closed_at"].to_numpy(), _deal_region(data, d["deal_id"]), days, 1.0)


def _exposure(
    starts: np.ndarray,
    stops: np.ndarray,
    region: np.ndarray,
    lo: pd.Timestamp,
    hi: pd.Timestamp,
) -> pd.DataFrame:
    """Daily time at risk (days) of intervals ``[starts, stops)``, by region.

    Vectorised with a difference array over the days of ``[lo, hi)``: each interval
    adds its fraction of its first and last day and 1 for the days in between.
    """
    day0 = lo.floor("D")
    n_days = int(np.ceil((hi - day0) / pd.Timedelta(days=1))) + 1
    s = np.clip((starts - day0.to_datetime64()) / _DAY, 0.0, n_days - 1e-9)
    e = np.clip((stops - day0.to_datetime64()) / _DAY, 0.0, n_days - 1e-9)
    keep = e > s
    s, e, region = s[keep], e[keep], region[keep]
    codes, uniques = pd.factorize(pd.Series(region, dtype=object), use_na_sentinel=False)
    n_g = max(len(uniques), 1)
    diff = np.zeros((n_g, n_days + 2))
    si, ei = np.floor(s).astype(int), np.floor(e).astype(int)
    # whole-day coverage from si+1 .. ei-1, partial days at both ends
    np.add.at(diff, (codes, si + 1), 1.0)
    np.add.at(diff, (codes, np.maximum(ei, si + 1)), -1.0)
    cover = np.cumsum(diff, axis=1)[:, :n_days]
    part = np.zeros((n_g, n_days + 1))
    same = si == ei
    np.add.at(part, (codes[same], si[same]), (e - s)[same])
    np.add.at(part, (codes[~same], si[~same]), (si + 1 - s)[~same])
    np.add.at(part, (codes[~same], ei[~same]), (e - ei)[~same])
    total = cover + part[:, :n_days]
    days = day0 + pd.to_timedelta(np.arange(n_days), unit="D")
    frames = [
        _frame(days.to_numpy(), uniques[g] if len(uniques) else None, 0.0, total[g])
        for g in range(n_g)
    ]
    out = pd.concat(frames, ignore_index=True)
    return out[out["den"] > 0]


def touches_per_deal_day_events(
    data: SalesData, start: pd.Timestamp, end: pd.Timestamp
) -> pd.DataFrame:
    a = data.activities
    keep = a["deal_id"].notna() & a["kind"].isin(TOUCH_KINDS) & a["occurred_at"].notna()
    keep = keep.to_numpy()
    ids, region = _deal_regions(data)
    pos = _positions(a["deal_id"][keep], ids)
    touches = _daily_touches(a["occurred_at"].to_numpy()[keep], pos, region)
    del keep, pos
    d = data.deals[data.deals["created_at"].notna()]
    stop = d["closed_at"].fillna(end).to_numpy()
    open_days = _exposure(
        d["created_at"].to_numpy(), stop, _customer_region(data, d["customer_id"]), start, end
    )
    return pd.concat([touches, open_days], ignore_index=True)


def touches_per_rep_day_events(
    data: SalesData, start: pd.Timestamp, end: pd.Timestamp
) -> pd.DataFrame:
    a = data.activities
    keep = (a["kind"].isin(TOUCH_KINDS) & a["occurred_at"].notna()).to_numpy()
    # each touch's rep by position (a per-row ``map`` built 3x the memory at tier L)
    pos = _positions(a["rep_id"][keep], data.reps["rep_id"])
    region = np.append(data.reps["region"].to_numpy(dtype=object), None)
    at = a["occurred_at"].to_numpy()[keep]
    touches = _daily_touches(at, pos, region)
    # reps who touch customers, from the first recorded touch (the hiring dates of the
    # reps table reach back years before the activity export starts)
    sellers = data.reps.iloc[np.unique(pos[pos >= 0])]
    start = pd.Timestamp(at.min()).floor("D") if len(at) else start
    del keep, pos, at
    hired = sellers["hired_at"].fillna(start).clip(lower=start).to_numpy()
    exp = _exposure(
        hired,
        np.full(len(sellers), end.to_datetime64()),
        sellers["region"].to_numpy(dtype=object),
        start,
        end,
    )
    exp = exp[pd.DatetimeIndex(exp["t"]).day_of_week < 5]  # working days
    return pd.concat([touches, exp], ignore_index=True)


def collab_response_events(data: SalesData, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    ce = data.collab_events
    req = ce[ce["kind"] == "request"].set_index("event_id")
    resp = ce[(ce["kind"] == "response") & ce["request_id"].notna()]
    resp = resp.drop_duplicates("request_id")
    # by position, not ``map``: a ``category`` request id (compact load) would map to a
    # categorical of timestamps
    at = np.append(req["occurred_at"].to_numpy(), np.datetime64("NaT"))
    pos = _positions(resp["request_id"], pd.Series(req.index))
    asked = pd.Series(at[pos], index=resp.index)
    ok = asked.notna()
    resp, asked = resp[ok], asked[ok]
    hours = ((resp["occurred_at"] - asked) / pd.Timedelta(hours=1)).clip(lower=0.0)
    return _frame(asked.to_numpy(), _deal_region(data, resp["deal_id"]), hours.to_numpy(), 1.0)


def media_cost_per_lead_events(
    data: SalesData, start: pd.Timestamp, end: pd.Timestamp
) -> pd.DataFrame:
    c = data.costs
    media = c[(c["category"] == "media") & c["incurred_at"].notna()]
    channels = media["channel"].dropna().unique() if "channel" in media else []
    ld = data.leads
    ld = ld[ld["channel"].isin(channels) & ld["created_at"].notna()]
    return pd.concat(
        [
            _frame(media["incurred_at"].to_numpy(), None, media["amount"].to_numpy(float), 0.0),
            _frame(ld["created_at"].to_numpy(), None, 0.0, 1.0),
        ],
        ignore_index=True,
    )


def blended_cac_events(data: SalesData, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    c = data.costs[data.costs["incurred_at"].notna()]
    cu = data.customers[data.customers["created_at"].notna()]
    return pd.concat(
        [
            _frame(c["incurred_at"].to_numpy(), None, c["amount"].to_numpy(float), 0.0),
            _frame(cu["created_at"].to_numpy(), cu["region"].to_numpy(dtype=object), 0.0, 1.0),
        ],
        ignore_index=True,
    )


def payment_delay_events(data: SalesData, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    p = data.payments[data.payments["paid_at"].notna()]
    first = p.groupby("contract_id", sort=False)["paid_at"].min()
    ct = data.contracts.set_index("contract_id")
    ct = ct.loc[ct.index.intersection(first.index)]
    due = ct["signed_at"] + pd.to_timedelta(ct["payment_terms_days"].astype(float), unit="D")
    paid = first.loc[ct.index]
    days = (paid - due) / pd.Timedelta(days=1)
    return _frame(
        paid.to_numpy(), _deal_region(data, ct["deal_id"]), days.to_numpy(float), 1.0
    ).dropna(subset=["num"])


def material_loss_events(data: SalesData, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    mm = data.material_movements
    mm = mm[mm["occurred_at"].notna()]
    region = (
        mm["store_id"].map(data.stores.set_index("store_id")["region"]).to_numpy(dtype=object)
        if "stores" in data
        else None
    )
    qty = mm["qty"].astype(float).abs().to_numpy()
    kind = mm["kind"].to_numpy(dtype=object)
    num = np.where(kind == "loss", qty, 0.0)
    den = np.where(np.isin(kind, ["issue", "redeem", "loss"]), qty, 0.0)
    return _frame(mm["occurred_at"].to_numpy(), region, num, den)
