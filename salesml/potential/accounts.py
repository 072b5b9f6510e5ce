"""Account potential snapshots: every customer without an open deal, at each date.

The account half of :mod:`salesml.potential.snapshots` (features, the piece builder
that runs here or on Dask workers, the labelled snapshots); the feature lists, the
sample and the shared label helpers live there.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from salesml.data.bundle import SalesData
from salesml.data.config import DatasetConfig
from salesml.distributed import map_pieces, resolve_client
from salesml.potential.snapshots import (
    _DAY,
    _OUTCOMES,
    _OWNER_PRIOR,
    _RECENT_DAYS,
    ACCOUNT_CATEGORICAL,
    ACCOUNT_ID_COLUMNS,
    ACCOUNT_NUMERIC,
    _check_arguments,
    _check_dates,
    _cut_at,
    _date_pieces,
    _first_win_in,
    _known_by,
    _revenue_in,
    _won_deals,
    potential_sample,
)
from salesml.scoring import snapshots as shared

__all__ = ["account_features", "account_snapshots"]


def _require_accounts(data: SalesData) -> None:
    if not data.has("customers"):
        raise ValueError(
            "account potential needs a customers table (customer_id, segment, region, "
            "source_channel, created_at); the dataset has none"
        )
    if not data.has("deals"):
        raise ValueError(
            "account potential needs a deals table: without deals no account has an outcome"
        )


def _account_tables(data: SalesData) -> SalesData:
    """Only the tables account features read (each as-of cut copies less)."""
    keep = ("customers", "deals", "activities", "leads")
    return SalesData({n: data[n] for n in keep if data.has(n)}, data.config)


def _owner_win_rate(closed: pd.DataFrame, outcome: pd.Series, owner: pd.Series) -> np.ndarray:
    """The win rate of each owner's deals closed so far, smoothed towards the overall
    rate with :data:`_OWNER_PRIOR` pseudo-deals (the overall rate for an owner without
    closed deals; NaN before any deal closed)."""
    won = (outcome == "won").to_numpy(dtype="float64")
    if not len(won) or "rep_id" not in closed:
        return np.full(len(owner), np.nan)
    base = float(won.mean())
    g = pd.Series(won).groupby(closed["rep_id"].astype("str").to_numpy()).agg(["sum", "size"])
    rate = (g["sum"] + _OWNER_PRIOR * base) / (g["size"] + _OWNER_PRIOR)
    return pd.Series(owner.to_numpy()).astype("str").map(rate).fillna(base).to_numpy()


def _account_features_at(data: SalesData, t: pd.Timestamp) -> pd.DataFrame:
    cust = data.customers
    if "created_at" in cust:
        cust = cust.loc[cust["created_at"].isna() | (cust["created_at"] <= t)]
    cust = cust.drop_duplicates("customer_id")
    deals = data.deals.loc[data.deals["created_at"] <= t]
    closed_by_t = deals["closed_at"].notna() & (deals["closed_at"] <= t)
    open_ids = set(deals.loc[~closed_by_t, "customer_id"].astype("str"))
    ids = cust["customer_id"].astype("str")
    cust = cust.loc[~ids.isin(open_ids).to_numpy()]
    idx = pd.Index(cust["customer_id"].astype("str").to_numpy(), name="customer_id")
    out = pd.DataFrame(index=idx)
    out["as_of"] = t
    owner = "owner_rep_id" if "owner_rep_id" in cust else ("rep_id" if "rep_id" in cust else None)
    out["rep_id"] = cust[owner].astype("str").to_numpy() if owner else pd.NA
    created = pd.Series(cust["created_at"].to_numpy(), index=idx) if "created_at" in cust else None
    out["account_age_days"] = (t - created) / _DAY if created is not None else np.nan
    closed = deals.loc[closed_by_t]
    outcome = closed["outcome"].astype("str")
    cid = closed["customer_id"].astype("str")
    won = closed.loc[(outcome == "won").to_numpy()]
    amount = won["won_amount"] if "won_amount" in won else won["amount"]
    wcid = won["customer_id"].astype("str")
    out["past_wins"] = wcid.value_counts().reindex(idx).fillna(0).astype("float64")
    out["past_losses"] = (
        cid[(outcome == "lost").to_numpy()].value_counts().reindex(idx).fillna(0).astype("float64")
    )
    out["owner_win_rate"] = _owner_win_rate(closed, outcome, out["rep_id"])
    rev = pd.to_numeric(amount, errors="coerce").fillna(0.0).groupby(wcid.to_numpy()).sum()
    out["past_revenue"] = rev.reindex(idx).fillna(0.0)
    out["log_past_revenue"] = np.log1p(out["past_revenue"].clip(lower=0))
    last_win = won.groupby(wcid.to_numpy())["closed_at"].max().reindex(idx)
    out["days_since_win"] = (t - last_win) / _DAY
    last_closed = closed.groupby(cid.to_numpy())["closed_at"].max().reindex(idx)
    out["days_since_deal_closed"] = (t - last_closed) / _DAY
    if data.has("activities"):
        act = data.activities
        act = act.loc[act["occurred_at"] <= t, ["customer_id", "occurred_at", "kind"]]
        acid = act["customer_id"].astype("str")
        recent = act["occurred_at"] > t - pd.Timedelta(days=90)
        out["touches_90d"] = acid[recent].value_counts().reindex(idx).fillna(0).astype("float64")
        visit = recent & (act["kind"].astype("str") == "visit")
        out["visits_90d"] = acid[visit].value_counts().reindex(idx).fillna(0).astype("float64")
        last = act.groupby(acid.to_numpy())["occurred_at"].max().reindex(idx)
        out["days_since_activity"] = (t - last) / _DAY
    if data.has("leads") and "customer_id" in data.leads:
        ld = data.leads.loc[data.leads["created_at"] <= t]
        ld_open = ld.loc[ld["status"].astype("str") == "open", "customer_id"].astype("str")
        out["open_leads"] = ld_open.value_counts().reindex(idx).fillna(0).astype("float64")
    for dst, values in shared.customer_attributes(cust.set_index(idx), idx).items():
        out[dst] = values
    shared.fill_feature_columns(out, ACCOUNT_NUMERIC, ACCOUNT_CATEGORICAL)
    res = out.reset_index()[[*ACCOUNT_ID_COLUMNS, *ACCOUNT_NUMERIC, *ACCOUNT_CATEGORICAL]]
    return res.sort_values("customer_id", kind="stable").reset_index(drop=True)


def _unavailable_account(data: SalesData) -> dict[str, str]:
    out: dict[str, str] = {}
    if not data.has("activities"):
        out.update(
            dict.fromkeys(("touches_90d", "visits_90d", "days_since_activity"), "activities")
        )
    if not data.has("leads"):
        out["open_leads"] = "leads"
    cols = set(data.customers.columns)
    for c, f in shared.CUSTOMER_ATTRIBUTES:
        if c not in cols:
            out[f] = f"customers.{c}"
    return out


def account_features(data: SalesData, *, as_of: str | pd.Timestamp) -> pd.DataFrame:
    """Features of every account (customer) without an open deal at ``as_of``.

    Returns
    -------
    pandas.DataFrame
        One row per account: ``as_of``, ``customer_id``, ``rep_id`` (owner);
        ``account_age_days``, ``past_wins``, ``past_losses``, ``past_revenue`` /
        ``log_past_revenue``, ``days_since_win``, ``days_since_deal_closed``,
        ``touches_90d``, ``visits_90d``, ``days_since_activity``, ``open_leads``;
        ``segment``, ``region``, ``channel`` (source), ``tier``.
    """
    _require_accounts(data)
    t = pd.Timestamp(as_of)
    src = _account_tables(data)
    out = _account_piece([t], config=src.config, **src.tables)
    out.attrs = {"unavailable": _unavailable_account(data), "currency": data.config.currency}
    return out


def _piece_activities(
    activities: pd.DataFrame, t0: pd.Timestamp, t1: pd.Timestamp, chosen: pd.Index | None
) -> pd.DataFrame:
    """The activity rows account features at dates in ``[t0, t1]`` read.

    Every activity of the last :data:`_RECENT_DAYS` before ``t0`` up to ``t1``, and of
    the older ones only each customer's latest (behind ``days_since_activity``; older
    activities fall in no date's recent window).
    """
    cols = [c for c in ("customer_id", "occurred_at", "kind", "responded_at") if c in activities]
    occ = activities["occurred_at"]
    keep = (occ <= t1).to_numpy()
    if chosen is not None:
        keep = keep & activities["customer_id"].isin(chosen).to_numpy()
    act = activities.loc[keep, cols]
    lo = t0 - pd.Timedelta(days=_RECENT_DAYS)
    old = (act["occurred_at"] <= lo).to_numpy()
    if not old.any():
        return act
    before = act.loc[old]
    at = pd.Series(before["occurred_at"].to_numpy())  # positions, whatever the index
    last = at.groupby(before["customer_id"].astype("str").to_numpy()).idxmax()
    return pd.concat([before.iloc[np.sort(last.to_numpy())], act.loc[~old]])


def _account_piece(
    dates: Sequence[pd.Timestamp],
    *,
    config: DatasetConfig,
    share: float = 1.0,
    **tables: pd.DataFrame,
) -> pd.DataFrame:
    """The account features of one piece of dates (module level: it runs on Dask workers).

    Reads the rows known by the piece's last date (of the activities, the recent ones
    and each customer's latest older one; with ``share`` below 1, only the chosen
    accounts' customers, activities and leads): each date's features equal those
    from the whole tables.
    """
    dates = sorted(pd.Timestamp(d) for d in dates)
    t0, t1 = dates[0], dates[-1]
    cust = tables["customers"]
    chosen = None
    if share < 1.0:
        ids = cust["customer_id"].astype("str")
        chosen = pd.Index(ids[potential_sample(ids, share)].unique())
        cust = cust.loc[ids.isin(chosen).to_numpy()]
    sub: dict[str, pd.DataFrame] = {"customers": cust}
    deals = tables["deals"]  # every deal: owner win rates count them all
    sub["deals"] = deals.loc[_known_by(deals["created_at"], t1)]
    if "leads" in tables:
        leads = tables["leads"]
        keep = _known_by(leads["created_at"], t1)
        if chosen is not None and "customer_id" in leads:
            keep = keep & leads["customer_id"].isin(chosen).to_numpy()
        sub["leads"] = leads.loc[keep]
    if "activities" in tables:
        sub["activities"] = _piece_activities(tables["activities"], t0, t1, chosen)
    src = SalesData(sub, config)
    return pd.concat([_account_features_at(src.as_of(t), t) for t in dates], ignore_index=True)


def account_snapshots(
    data: SalesData,
    *,
    as_of: str | pd.Timestamp | Iterable[str | pd.Timestamp],
    horizon_days: int = 90,
    data_end: str | pd.Timestamp | None = None,
    fingerprint: bool = True,
    sample: float = 1.0,
    client: Any = None,
    progress: bool = False,
) -> pd.DataFrame:
    """One row per account without an open deal at each date: features plus labels.

    ``label`` is 1.0 when the account wins a deal within ``horizon_days`` (known at the
    win), 0.0 once the horizon passed without one; ``revenue`` is the won amount in the
    window (known when the horizon has passed). The dates are built in pieces of one
    calendar month, each from the rows its dates read, here or on a Dask cluster
    (``client``), with the same result. ``sample`` keeps a deterministic share of the
    accounts (:func:`potential_sample` of the customer id; the owner win rates still
    count every deal). See :func:`lead_snapshots` for the other parameters.
    """
    _require_accounts(data)
    _check_arguments(horizon_days, sample)
    dates = shared.as_dates(as_of)
    src = _account_tables(data)
    latest = shared.label_end(data, _OUTCOMES)
    end = pd.Timestamp(data_end) if data_end is not None else latest
    if end < latest:
        _check_dates(dates, end)
        src = _cut_at(src, ("deals",), end)  # later wins are not yet known
    frames = map_pieces(
        _account_piece,
        _date_pieces(dates),
        client=resolve_client(client),
        progress=progress,
        desc="account snapshots",
        config=src.config,
        share=float(sample),
        **src.tables,
    )
    snaps = pd.concat(frames, ignore_index=True)
    h = pd.Timedelta(days=horizon_days)
    won = _won_deals(src)
    t = snaps["as_of"]
    first = _first_win_in(snaps["customer_id"], t, won, h)
    first.index = snaps.index
    rev = _revenue_in(snaps["customer_id"], t, won, h)
    h_end = t + h
    label, known = shared.horizon_labels(
        t.astype("datetime64[us]"), h_end, end, [(first.notna(), 1.0, first)]
    )
    rk = pd.Series(pd.NaT, index=snaps.index, dtype="datetime64[us]")
    rk[h_end <= end] = h_end[h_end <= end]
    out = snaps.assign(
        label=label,
        label_known_at=known,
        revenue=np.where(h_end <= end, rev, np.nan),
        revenue_known_at=rk,
    )
    unavailable = _unavailable_account(data)
    out.attrs = shared.snapshot_attrs(
        data, end, horizon_days, fingerprint, unavailable, kind="account"
    )
    return out
