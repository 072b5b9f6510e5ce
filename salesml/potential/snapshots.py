"""Leak-free as-of snapshots of open leads and of accounts without an open deal.

Every feature of a snapshot taken at ``t`` comes from ``data.as_of(t)`` only (a lead's
inspection counts once it happened, its conversion is hidden until it happened), so a
model trained on past snapshots never sees the future. The same builders serve
training (:func:`lead_snapshots`, :func:`~salesml.potential.accounts.account_snapshots`),
scoring and the reports.

Labels (deal health's conventions: ``label``, ``label_known_at``):

- a lead: ``label`` 1 when it converts within ``horizon_days`` of the snapshot, 0 when
  it is lost or the horizon passes first; ``revenue`` the won deal amounts of its
  customer closed within the horizon;
- an account: ``label`` 1 when it wins a deal within the horizon; ``revenue`` the
  won amount.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from salesml.data.bundle import SalesData
from salesml.distributed import map_pieces, resolve_client
from salesml.scoring import snapshots as shared

__all__ = [
    "ACCOUNT_CATEGORICAL",
    "ACCOUNT_NUMERIC",
    "LEAD_CATEGORICAL",
    "LEAD_NUMERIC",
    "LOAD_COLUMNS",
    "lead_features",
    "lead_snapshots",
    "open_account_count",
    "open_lead_count",
    "potential_sample",
    "unavailable_lead_features",
]

#: The lead statuses the snapshots understand.
LEAD_STATUSES: tuple[str, ...] = ("open", "converted", "lost")
_DAY = pd.Timedelta(days=1)
_HOUR = pd.Timedelta(hours=1)
#: Pseudo-leads at the overall rate behind the smoothed channel conversion rate.
_CHANNEL_PRIOR = 20.0
#: Pseudo-deals at the overall win rate behind an account owner's smoothed win rate.
_OWNER_PRIOR = 20.0

#: Numeric lead features, in design order.
LEAD_NUMERIC: tuple[str, ...] = (
    "lead_age_days",
    "responded",
    "first_response_hours",
    "waiting_hours",
    "log_project_area",
    "project_area_m2",
    "inspected",
    "findings_reported",
    "days_since_inspection",
    "n_activities",
    "channel_conversion_rate",
    "campaign_leads_30d",
)
#: Text lead features (one-hot encoded).
LEAD_CATEGORICAL: tuple[str, ...] = ("channel", "budget_band", "segment", "region")
#: Identifying columns of a lead snapshot.
LEAD_ID_COLUMNS: tuple[str, ...] = ("as_of", "lead_id", "customer_id", "campaign_id", "rep_id")

#: Numeric account features.
ACCOUNT_NUMERIC: tuple[str, ...] = (
    "account_age_days",
    "past_wins",
    "past_losses",
    "owner_win_rate",
    "log_past_revenue",
    "past_revenue",
    "days_since_win",
    "days_since_deal_closed",
    "touches_90d",
    "visits_90d",
    "days_since_activity",
    "open_leads",
)
ACCOUNT_CATEGORICAL: tuple[str, ...] = ("segment", "region", "channel", "tier")
ACCOUNT_ID_COLUMNS: tuple[str, ...] = ("as_of", "customer_id", "rep_id")

#: Outcome instants that are dated facts too (a deal closed, a lead converted or lost).
_OUTCOMES: tuple[tuple[str, str], ...] = (
    ("deals", "closed_at"),
    ("leads", "converted_at"),
    ("leads", "lost_at"),
)

#: Columns about the outcome (never features).
LABEL_COLUMNS: tuple[str, ...] = ("label", "label_known_at", "revenue", "revenue_known_at")

#: Lead features that need an optional column: feature -> (table, column).
_LEAD_COLUMNS: dict[str, tuple[str, str]] = {
    "first_response_hours": ("leads", "first_response_at"),
    "responded": ("leads", "first_response_at"),
    "waiting_hours": ("leads", "first_response_at"),
    "project_area_m2": ("leads", "project_area_m2"),
    "log_project_area": ("leads", "project_area_m2"),
    "budget_band": ("leads", "budget_band"),
    "inspected": ("leads", "inspected_at"),
    "days_since_inspection": ("leads", "inspected_at"),
    "findings_reported": ("leads", "findings_reported"),
    "campaign_leads_30d": ("leads", "campaign_id"),
}
_LEAD_TABLES: dict[str, str] = {"n_activities": "activities"}

#: The columns lead and account potential (and the weekly review's lead-to-cash) read
#: of the big tables (``load_dataset(columns=...)``); ``leads``, ``customers``,
#: ``contracts``, ``payments`` and ``reps`` are read whole (their optional columns are
#: features). A ``won_amount`` column of the deals is not read: ``amount`` stands for it.
LOAD_COLUMNS: dict[str, tuple[str, ...]] = {
    "deals": (
        "deal_id",
        "customer_id",
        "rep_id",
        "lead_id",
        "created_at",
        "closed_at",
        "outcome",
        "amount",
    ),
    "activities": ("customer_id", "deal_id", "kind", "occurred_at"),
}
#: Days of activity behind ``touches_90d`` and ``visits_90d``.
_RECENT_DAYS = 90
#: The key of the sample hash (16 bytes).
_SAMPLE_KEY = "salesml.potentl0"


def potential_sample(ids: pd.Series | pd.Index | np.ndarray, share: float) -> np.ndarray:
    """Whether each lead (or account) id is in the deterministic ``share`` sample.

    An id is in when a keyed hash of it (``pandas.util.hash_array``, fixed key) falls in
    the lowest ``share`` of the hash range: the same ids on every machine and in every
    run, whatever the dates, and every snapshot of a chosen id is kept.
    """
    values = np.asarray(ids.astype("str") if hasattr(ids, "astype") else ids)
    if share >= 1.0:
        return np.ones(len(values), dtype=bool)
    h = pd.util.hash_array(values.astype(object), hash_key=_SAMPLE_KEY, categorize=True)
    return h < np.uint64(int(max(share, 0.0) * float(2**64 - 1)))


def _date_pieces(dates: Sequence[pd.Timestamp]) -> list[list[pd.Timestamp]]:
    """The snapshot dates grouped by calendar month (one piece of work each), in order."""
    pieces: dict[str, list[pd.Timestamp]] = {}
    for t in dates:
        pieces.setdefault(f"{t:%Y-%m}", []).append(t)
    return list(pieces.values())


def _known_by(values: pd.Series, t: pd.Timestamp) -> np.ndarray:
    """Rows whose instant is at or before ``t`` or missing (what ``SalesData.as_of`` keeps)."""
    return (values.isna() | (values <= t)).to_numpy()


def _sorted_times(values: pd.Series) -> np.ndarray:
    v = values.to_numpy(dtype="datetime64[ns]")
    return np.sort(v[~np.isnat(v)])


def _count_at(sorted_times: np.ndarray, dates: Sequence[pd.Timestamp]) -> np.ndarray:
    at = np.asarray([np.datetime64(pd.Timestamp(t).to_datetime64(), "ns") for t in dates])
    return np.searchsorted(sorted_times, at, side="right")


def open_lead_count(data: SalesData, dates: Iterable[str | pd.Timestamp]) -> int:
    """About how many rows :func:`lead_snapshots` returns for ``dates`` (leads open at
    each date, summed), counted from the leads table alone."""
    leads = data.leads
    status = leads["status"].astype("str")
    decided = pd.Series(pd.NaT, index=leads.index, dtype="datetime64[ns]")
    for st, col in (("converted", "converted_at"), ("lost", "lost_at")):
        if col in leads:
            on = (status == st).to_numpy()
            decided[on] = leads.loc[on, col].to_numpy(dtype="datetime64[ns]")
    never_open = int(((status != "open") & decided.isna()).sum())
    d = shared.as_dates(dates)
    n = _count_at(_sorted_times(leads["created_at"]), d) - _count_at(_sorted_times(decided), d)
    return int(np.clip(n - never_open, 0, None).sum())


def open_account_count(data: SalesData, dates: Iterable[str | pd.Timestamp]) -> int:
    """About how many rows :func:`account_snapshots` returns for ``dates``: the accounts
    known at each date less the deals open then, summed (a customer with two open deals
    counts twice)."""
    cust = data.customers.drop_duplicates("customer_id")
    d = shared.as_dates(dates)
    if "created_at" in cust:
        undated = int(cust["created_at"].isna().sum())
        known = _count_at(_sorted_times(cust["created_at"]), d) + undated
    else:
        known = np.full(len(d), len(cust))
    deals = data.deals
    closed = deals["closed_at"].where(deals["outcome"].astype("str") != "open")
    n_open = _count_at(_sorted_times(deals["created_at"]), d) - _count_at(_sorted_times(closed), d)
    return int(np.clip(known - np.clip(n_open, 0, None), 0, None).sum())


def unavailable_lead_features(data: SalesData) -> dict[str, str]:
    """Lead features ``data`` cannot have -> the missing table or ``table.column``."""
    out: dict[str, str] = {}
    cols = set(data.leads.columns) if data.has("leads") else set()
    for f, (table, column) in _LEAD_COLUMNS.items():
        if column not in cols:
            out[f] = f"{table}.{column}"
    for f, table in _LEAD_TABLES.items():
        if not data.has(table):
            out[f] = table
    return out


def _require_leads(data: SalesData) -> None:
    if not data.has("leads"):
        raise ValueError(
            "lead potential needs a leads table (lead_id, channel, created_at, status); "
            "the dataset has none. Map the marketing or CRM lead export, or score accounts "
            "instead with account_snapshots."
        )
    missing = [c for c in ("lead_id", "channel", "created_at", "status") if c not in data.leads]
    if missing:
        raise ValueError(f"the leads table lacks column(s) {', '.join(missing)}")
    status = data.leads["status"].astype("str")
    bad = ~status.isin(LEAD_STATUSES)
    if bad.any():
        at = np.flatnonzero(bad.to_numpy())
        rows = ", ".join(
            f"row {i + 1} ({data.leads['lead_id'].iloc[i]}: {status.iloc[i]!r})" for i in at[:5]
        )
        more = f" and {len(at) - 5:,} more" if len(at) > 5 else ""
        raise ValueError(
            f"leads.status must be one of {', '.join(LEAD_STATUSES)}; {len(at):,} row(s) are "
            f"not: {rows}{more}. Map the export's status values in the mapping's value map."
        )


def _num(frame: pd.DataFrame, col: str) -> pd.Series:
    return pd.to_numeric(frame[col], errors="coerce").astype("float64")


def lead_features(data: SalesData, *, as_of: str | pd.Timestamp) -> pd.DataFrame:
    """Features of every lead open at ``as_of``, from ``data.as_of(as_of)`` only.

    Returns
    -------
    pandas.DataFrame
        One row per open lead: ``as_of``, ``lead_id``, ``customer_id``,
        ``campaign_id``, ``rep_id`` (the lead's owner when the export has one);
        ``lead_age_days``; ``responded`` (0/1), ``first_response_hours``, ``waiting_hours``
        (unanswered so far); ``project_area_m2`` / ``log_project_area`` and
        ``budget_band`` (enquiry form); ``inspected`` (0/1 by ``as_of``),
        ``findings_reported``, ``days_since_inspection``; ``n_activities`` (with the
        lead's customer, if any); ``channel_conversion_rate`` (the channel's historic
        conversion of leads decided by ``as_of``, smoothed); ``campaign_leads_30d``;
        ``channel``, ``segment``, ``region`` (when the export has them).
        ``attrs["unavailable"]`` names the features the dataset cannot have.
    """
    _require_leads(data)
    t = pd.Timestamp(as_of)
    out = _lead_features_at(data.leads, data.activities if data.has("activities") else None, t)
    out.attrs = {"unavailable": unavailable_lead_features(data), "currency": data.config.currency}
    return out


def _lead_features_at(
    leads_all: pd.DataFrame,
    activities: pd.DataFrame | None,
    t: pd.Timestamp,
    share: float = 1.0,
) -> pd.DataFrame:
    leads = leads_all.loc[leads_all["created_at"] <= t]
    status = leads["status"].astype("str")
    conv_at = leads["converted_at"] if "converted_at" in leads else pd.Series(pd.NaT, leads.index)
    lost_at = leads["lost_at"] if "lost_at" in leads else pd.Series(pd.NaT, leads.index)
    converted = (status == "converted") & (conv_at.isna() | (conv_at <= t))
    lost = (status == "lost") & (lost_at.isna() | (lost_at <= t))
    # a lead converted/lost after t was open at t (the same cut SalesData.as_of makes)
    decided_late = ((status == "converted") & (conv_at > t)) | ((status == "lost") & (lost_at > t))
    is_open = (status == "open") | decided_late.fillna(False)
    is_open &= ~(converted | lost)
    op = leads.loc[is_open.to_numpy()]
    if share < 1.0:  # the channel and campaign figures still count every lead
        op = op.loc[potential_sample(op["lead_id"], share)]
    out = pd.DataFrame(index=op.index)
    out["as_of"] = t
    out["lead_id"] = op["lead_id"].astype("str")
    for c in ("customer_id", "campaign_id", "rep_id"):
        out[c] = op[c].astype("str") if c in op else pd.Series(pd.NA, index=op.index, dtype="str")
    # the customer a lead becomes is not known before it converts (as SalesData.as_of hides it)
    late = (op["converted_at"] > t).fillna(False) if "converted_at" in op else None
    if late is not None and late.any():
        out.loc[late.to_numpy(), "customer_id"] = pd.NA
    out["lead_age_days"] = (t - op["created_at"]) / _DAY
    if "first_response_at" in op:
        fr = op["first_response_at"].where(op["first_response_at"] <= t)
        out["responded"] = fr.notna().astype("float64")
        out["first_response_hours"] = ((fr - op["created_at"]) / _HOUR).clip(lower=0)
        out["waiting_hours"] = np.where(fr.isna(), (t - op["created_at"]) / _HOUR, 0.0)
    if "project_area_m2" in op:
        area = _num(op, "project_area_m2").where(lambda a: a >= 0)
        out["project_area_m2"] = area
        out["log_project_area"] = np.log1p(area)
    if "inspected_at" in op:
        done = op["inspected_at"].notna() & (op["inspected_at"] <= t)
        out["inspected"] = done.astype("float64")
        out["days_since_inspection"] = ((t - op["inspected_at"]) / _DAY).where(done)
        if "findings_reported" in op:
            out["findings_reported"] = _num(op, "findings_reported").where(done)
    elif "findings_reported" in op:
        out["findings_reported"] = _num(op, "findings_reported")
    if activities is not None and "customer_id" in op and len(op):
        who = out["customer_id"].dropna()
        act = activities.loc[activities["customer_id"].isin(who), ["customer_id", "occurred_at"]]
        n = act.loc[act["occurred_at"] <= t].groupby("customer_id").size()
        out["n_activities"] = out["customer_id"].map(n).fillna(0).astype("float64").to_numpy()
    # the channel's conversion among leads decided by t (known then), smoothed
    decided = converted | lost
    rate = (
        converted[decided].groupby(leads.loc[decided, "channel"].astype("str")).agg(["sum", "size"])
    )
    base = float(converted[decided].mean()) if decided.any() else 0.2
    smooth = (rate["sum"] + _CHANNEL_PRIOR * base) / (rate["size"] + _CHANNEL_PRIOR)
    ch = op["channel"].astype("str")
    out["channel_conversion_rate"] = ch.map(smooth).fillna(base).astype("float64")
    if "campaign_id" in leads:
        recent = leads.loc[leads["created_at"] > t - pd.Timedelta(days=30), "campaign_id"]
        per = recent.astype("str").value_counts()
        out["campaign_leads_30d"] = (
            op["campaign_id"].astype("str").map(per).where(op["campaign_id"].notna()).fillna(0.0)
        ).astype("float64")
    out["channel"] = ch
    for c in ("budget_band", "segment", "region"):
        if c in op:
            out[c] = op[c].astype("str")
    shared.fill_feature_columns(out, LEAD_NUMERIC, LEAD_CATEGORICAL)
    res = out[[*LEAD_ID_COLUMNS, *LEAD_NUMERIC, *LEAD_CATEGORICAL]]
    return res.sort_values("lead_id", kind="stable").reset_index(drop=True)


def _won_deals(data: SalesData) -> pd.DataFrame:
    if not data.has("deals"):
        return pd.DataFrame(
            {
                "customer_id": pd.Series(dtype="str"),
                "closed_at": pd.Series(dtype="datetime64[us]"),
                "amount": pd.Series(dtype="float64"),
            }
        )
    d = data.deals
    won = d.loc[(d["outcome"].astype("str") == "won") & d["closed_at"].notna()]
    amount = won["won_amount"] if "won_amount" in won else won["amount"]
    return pd.DataFrame(
        {
            "customer_id": won["customer_id"].astype("str"),
            "closed_at": won["closed_at"],
            "amount": pd.to_numeric(amount, errors="coerce").fillna(0.0).astype("float64"),
        }
    )


def _revenue_in(
    keys: pd.Series, starts: pd.Series, won: pd.DataFrame, horizon: pd.Timedelta
) -> np.ndarray:
    """Won amount per row of ``keys`` (customer ids) closed in ``(start, start + horizon]``."""
    out = np.zeros(len(keys))
    if not len(won) or not len(keys):
        return out
    rows = pd.DataFrame({"customer_id": keys.to_numpy(), "start": starts.to_numpy()})
    rows["row"] = np.arange(len(rows))
    rows = rows.loc[rows["customer_id"].notna() & (rows["customer_id"] != "")]
    m = rows.merge(won, on="customer_id", how="inner")
    m = m.loc[(m["closed_at"] > m["start"]) & (m["closed_at"] <= m["start"] + horizon)]
    s = m.groupby("row")["amount"].sum()
    out[s.index.to_numpy()] = s.to_numpy()
    return out


def _first_win_in(
    keys: pd.Series, starts: pd.Series, won: pd.DataFrame, horizon: pd.Timedelta
) -> pd.Series:
    """First win of each row's customer in ``(start, start + horizon]`` (NaT: none)."""
    out = pd.Series(pd.NaT, index=range(len(keys)), dtype="datetime64[us]")
    if not len(won) or not len(keys):
        return out
    rows = pd.DataFrame({"customer_id": keys.to_numpy(), "start": starts.to_numpy()})
    rows["row"] = np.arange(len(rows))
    m = rows.merge(won, on="customer_id", how="inner")
    m = m.loc[(m["closed_at"] > m["start"]) & (m["closed_at"] <= m["start"] + horizon)]
    first = m.groupby("row")["closed_at"].min()
    out.iloc[first.index.to_numpy()] = first.to_numpy()
    return out


def _lead_piece(
    dates: Sequence[pd.Timestamp],
    *,
    leads: pd.DataFrame,
    activities: pd.DataFrame | None,
    share: float = 1.0,
) -> pd.DataFrame:
    """The lead features of one piece of dates (module level: it runs on Dask workers).

    Reads the leads created by the last date and the activities, up to it, of the
    customers of the leads open at some date of the piece: each date's features equal
    those from the whole tables.
    """
    dates = sorted(pd.Timestamp(d) for d in dates)
    t0, t1 = dates[0], dates[-1]
    sub = leads.loc[(leads["created_at"] <= t1).to_numpy()]
    act = None
    if activities is not None:
        status = sub["status"].astype("str")
        maybe_open = status == "open"
        for st, col in (("converted", "converted_at"), ("lost", "lost_at")):
            if col in sub:
                maybe_open |= (status == st) & (sub[col] > t0).fillna(False)
        cand = sub.loc[maybe_open.to_numpy()]
        if share < 1.0:
            cand = cand.loc[potential_sample(cand["lead_id"], share)]
        who = cand["customer_id"].astype("str").unique() if "customer_id" in cand else []
        keep = (activities["occurred_at"] <= t1) & activities["customer_id"].isin(who)
        act = activities.loc[keep.to_numpy()]
    return pd.concat([_lead_features_at(sub, act, t, share) for t in dates], ignore_index=True)


def _cut_at(data: SalesData, names: Sequence[str], end: pd.Timestamp) -> SalesData:
    """``data`` with the tables ``names`` (those present) as known at ``end``."""
    known = _restricted_to(data, names).as_of(end)
    return data.replace(**known.tables)


def lead_snapshots(
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
    """Leak-free snapshots of the leads open at each date, with their labels.

    The dates are built in pieces, one calendar month of dates each, every piece from
    the rows its dates can read (the leads created by then, the activities of the
    customers of its open leads), so memory grows with one month's leads, not with the
    data times the dates. The pieces run here one after the other, or on a Dask
    cluster (``client``); the result is the same either way.

    Parameters
    ----------
    data
        The full dataset; features still come from what was known at each date.
    as_of
        One date or several.
    horizon_days
        ``label`` is "converted within this many days"; ``revenue`` the won amount of
        the lead's customer within the same window.
    data_end
        The instant the data runs to (default: its latest dated fact); a label is known
        once the lead converted or was lost, or once the horizon has passed before it.
        Facts after ``data_end`` are never read, so the whole data with
        ``data_end=t`` gives the snapshots of ``data.as_of(t)``, without the copy.
    fingerprint
        Record ``data.fingerprint()`` in ``attrs``.
    sample
        Share of the leads to take snapshots of (1.0: all), chosen by a keyed hash of
        their id (:func:`potential_sample`): deterministic, the same at every date. The
        channel and campaign figures still count every lead.
    client
        A ``distributed.Client`` (or ``None``: ``SALESML_DASK_SCHEDULER`` if set, else
        in this process; see :func:`salesml.distributed.resolve_client`).
    progress
        Show a progress bar over the pieces.

    Returns
    -------
    pandas.DataFrame
        The columns of :func:`lead_features` plus ``label`` (1.0, 0.0, NaN unknown),
        ``label_known_at``, ``revenue`` (NaN until the horizon has passed, or 0.0 when
        the lead was lost), ``revenue_known_at``. ``attrs``: ``data_fingerprint``,
        ``horizon_days``, ``data_end``, ``currency``, ``unavailable``.
    """
    _require_leads(data)
    _check_arguments(horizon_days, sample)
    dates = shared.as_dates(as_of)
    src = _restricted_to(data, ("leads", "deals", "activities"))
    latest = shared.label_end(data, _OUTCOMES)
    end = pd.Timestamp(data_end) if data_end is not None else latest
    if end < latest:
        _check_dates(dates, end)
        src = _cut_at(src, ("leads", "deals"), end)  # later outcomes are not yet known
    leads = src.leads
    act = src.activities[["customer_id", "occurred_at"]] if src.has("activities") else None
    frames = map_pieces(
        _lead_piece,
        _date_pieces(dates),
        client=resolve_client(client),
        progress=progress,
        desc="lead snapshots",
        leads=leads,
        activities=act,
        share=float(sample),
    )
    snaps = pd.concat(frames, ignore_index=True)
    out = _lead_labels(snaps, leads, _won_deals(src), horizon_days, end)
    unavailable = unavailable_lead_features(data)
    out.attrs = shared.snapshot_attrs(
        data, end, horizon_days, fingerprint, unavailable, kind="lead"
    )
    return out


def _restricted_to(data: SalesData, names: Sequence[str]) -> SalesData:
    """Only the tables ``names`` of ``data`` (those present), without copies."""
    return SalesData({n: data[n] for n in names if data.has(n)}, data.config)


def _check_arguments(horizon_days: int, sample: float) -> None:
    """Refuse a horizon under one day or a sample share outside (0, 1]."""
    if horizon_days < 1:
        raise ValueError(f"horizon_days must be at least 1, got {horizon_days}")
    if not 0.0 < float(sample) <= 1.0:
        raise ValueError(f"sample must be a share in (0, 1], got {sample!r}")


def _check_dates(dates: Sequence[pd.Timestamp], end: pd.Timestamp) -> None:
    if max(dates) > end:
        raise ValueError(f"snapshot date {max(dates):%Y-%m-%d} lies after data_end {end:%Y-%m-%d}")


def _lead_labels(
    snaps: pd.DataFrame,
    leads: pd.DataFrame,
    won: pd.DataFrame,
    horizon_days: int,
    end: pd.Timestamp,
) -> pd.DataFrame:
    """``snaps`` with ``label``, ``label_known_at``, ``revenue``, ``revenue_known_at``."""
    h = pd.Timedelta(days=horizon_days)
    final = leads.assign(lead_id=leads["lead_id"].astype("str")).drop_duplicates("lead_id")
    final = final.set_index("lead_id")
    status = final["status"].astype("str").reindex(snaps["lead_id"]).to_numpy()
    conv = pd.Series(
        final["converted_at"].reindex(snaps["lead_id"]).to_numpy()
        if "converted_at" in final
        else pd.NaT,
        index=snaps.index,
        dtype="datetime64[us]",
    )
    lost = pd.Series(
        final["lost_at"].reindex(snaps["lead_id"]).to_numpy() if "lost_at" in final else pd.NaT,
        index=snaps.index,
        dtype="datetime64[us]",
    )
    t = snaps["as_of"]
    h_end = t + h
    conv_in = (status == "converted") & conv.notna() & (conv > t) & (conv <= h_end)
    lost_in = (status == "lost") & lost.notna() & (lost > t) & (lost <= h_end)
    label, known = shared.horizon_labels(
        t.astype("datetime64[us]"), h_end, end, [(conv_in, 1.0, conv), (lost_in, 0.0, lost)]
    )
    # the customer a lead became (known in the full data; never a feature)
    cust = (
        final["customer_id"].astype("str").reindex(snaps["lead_id"])
        if "customer_id" in final
        else None
    )
    rev = (
        _revenue_in(cust.reset_index(drop=True), t, won, h)
        if cust is not None
        else np.zeros(len(snaps))
    )
    revenue = pd.Series(np.where(h_end <= end, rev, np.nan), index=snaps.index)
    revenue[lost_in] = 0.0
    rev_known = pd.Series(pd.NaT, index=snaps.index, dtype="datetime64[us]")
    rev_known[h_end <= end] = h_end[h_end <= end]
    rev_known[lost_in] = lost[lost_in]
    return snaps.assign(
        label=label, label_known_at=known, revenue=revenue, revenue_known_at=rev_known
    )
