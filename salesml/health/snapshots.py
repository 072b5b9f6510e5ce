"""Leak-free as-of snapshots of open deals: the one feature builder of deal health.

Every feature of a snapshot taken at date ``t`` is computed from ``data.as_of(t)``
only, so a model trained on past snapshots never sees the future. The same
:func:`build_features` serves training (through :func:`deal_snapshots`), batch
scoring and the dashboards.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from salesml.data.bundle import SalesData
from salesml.data.config import DatasetConfig
from salesml.data.schema import ACTIVITY_KINDS
from salesml.distributed import map_pieces, resolve_client
from salesml.scoring import snapshots as shared

__all__ = [
    "CATEGORICAL_FEATURES",
    "FEATURE_COLUMNS",
    "FEATURE_TABLES",
    "ID_COLUMNS",
    "LABEL_COLUMNS",
    "LOAD_COLUMNS",
    "NUMERIC_FEATURES",
    "build_features",
    "deal_sample",
    "deal_snapshots",
    "load_health_data",
    "open_deal_count",
    "unavailable_features",
]

#: Tables the feature builder reads (only ``deals`` is required).
_TABLES = ("deals", "stage_history", "activities", "quotes", "collab_events", "customers", "reps")

#: The columns the feature builder reads, per table (``load_dataset(columns=...)``: a
#: big dataset loaded with only these, ``compact=True``, gives the same snapshots).
LOAD_COLUMNS: dict[str, tuple[str, ...]] = {
    "deals": (
        "deal_id",
        "customer_id",
        "rep_id",
        "created_at",
        "stage",
        "amount",
        "product_line",
        "outcome",
        "closed_at",
    ),
    "stage_history": ("deal_id", "entered_at", "stage"),
    "activities": (
        "activity_id",
        "deal_id",
        "rep_id",
        "kind",
        "occurred_at",
        "responded_at",
        "quality",
    ),
    "quotes": (
        "quote_id",
        "deal_id",
        "version",
        "sent_at",
        "first_viewed_at",
        "replied_at",
        "amount",
    ),
    "collab_events": (
        "event_id",
        "deal_id",
        "role",
        "kind",
        "occurred_at",
        "request_id",
        "quality",
    ),
}
#: Days of activities behind a rep's activity quality.
_REP_QUALITY_DAYS = 365

#: Outcome instants that count as dated facts when judging labels.
_OUTCOMES: tuple[tuple[str, str], ...] = (("deals", "closed_at"),)

#: Identifying and descriptive columns of a snapshot (not model inputs).
ID_COLUMNS: tuple[str, ...] = ("as_of", "deal_id", "rep_id", "customer_id", "stage")

#: String-valued features (one-hot encoded by the model).
CATEGORICAL_FEATURES: tuple[str, ...] = ("region", "segment", "channel", "product_line", "tier")

#: Numeric features, in a fixed order.
NUMERIC_FEATURES: tuple[str, ...] = (
    "stage_index",
    "days_in_stage",
    "stage_p90_days",
    "age_days",
    "amount",
    "log_amount",
    "n_quotes",
    "quote_amount_change",
    *(f"n_{k}" for k in ACTIVITY_KINDS),
    "n_activities",
    "touches_14d",
    "touches_30d",
    "days_since_activity",
    "days_since_visit",
    "reply_delay_hours_mean",
    "reply_delay_hours_max",
    "unanswered_messages",
    "message_wait_hours",
    "quotes_viewed",
    "quote_unanswered_hours",
    "quote_wait_hours_max",
    "plan_revisions",
    "terms_revisions",
    "doc_versions",
    "collab_requests",
    "collab_open_requests",
    "collab_response_hours_mean",
    "collab_response_quality_mean",
    "visit_quality_mean",
    "rep_win_rate",
    "rep_closed_deals",
    "rep_activity_quality",
    "customer_prior_wins",
)

#: The table each feature is computed from (beyond ``deals``): a dataset without it
#: cannot have the feature (the model card says which table is missing).
FEATURE_TABLES: dict[str, tuple[str, ...]] = {
    "stage_p90_days": ("stage_history",),
    **{f"n_{k}": ("activities",) for k in ACTIVITY_KINDS},
    **{
        f: ("activities",)
        for f in (
            "n_activities",
            "touches_14d",
            "touches_30d",
            "days_since_activity",
            "days_since_visit",
            "reply_delay_hours_mean",
            "reply_delay_hours_max",
            "unanswered_messages",
            "message_wait_hours",
            "visit_quality_mean",
            "rep_activity_quality",
        )
    },
    **{
        f: ("quotes",)
        for f in (
            "n_quotes",
            "quote_amount_change",
            "quotes_viewed",
            "quote_unanswered_hours",
            "quote_wait_hours_max",
        )
    },
    **{
        f: ("collab_events",)
        for f in (
            "plan_revisions",
            "terms_revisions",
            "doc_versions",
            "collab_requests",
            "collab_open_requests",
            "collab_response_hours_mean",
            "collab_response_quality_mean",
        )
    },
    "segment": ("customers",),
    "channel": ("customers",),
    "tier": ("customers",),
    "region": ("customers", "reps"),
}

#: Columns about the outcome (never features).
LABEL_COLUMNS: tuple[str, ...] = ("label", "label_known_at", "final_outcome", "closed_at")

_HOUR = pd.Timedelta(hours=1)
_DAY = pd.Timedelta(days=1)
#: Pseudo-count of closed deals behind the smoothed rep win rate.
_REP_PRIOR_DEALS = 10.0


#: Features that need an optional column of their table: feature -> (table, column).
FEATURE_COLUMNS: dict[str, tuple[str, str]] = {
    "reply_delay_hours_mean": ("activities", "responded_at"),
    "reply_delay_hours_max": ("activities", "responded_at"),
    "unanswered_messages": ("activities", "responded_at"),
    "message_wait_hours": ("activities", "responded_at"),
    "visit_quality_mean": ("activities", "quality"),
    "rep_activity_quality": ("activities", "quality"),
    "tier": ("customers", "tier"),
    "channel": ("customers", "source_channel"),
    "segment": ("customers", "segment"),
}


def load_health_data(path: str | os.PathLike[str], **options: Any) -> SalesData:
    """Load what deal health reads from a dataset folder: its tables (those present),
    only the :data:`LOAD_COLUMNS` of the big ones, ids and categories as pandas
    ``category`` (``load_dataset(compact=True)``, categories in sorted order so tables
    sort and group as from a plain load). Snapshots, scores and reasons are those of a
    full load (last-digit differences in a few means at most).

    ``options`` go to :func:`salesml.data.io.load_dataset` (``validate``, ``period``...).
    """
    from salesml.data.projected import load_projected

    return load_projected(path, _TABLES, LOAD_COLUMNS, **options)


def unavailable_features(data: SalesData) -> dict[str, str]:
    """Features ``data`` cannot have -> what is missing: a table (``activities``; the
    first one when any of several would do) or a column (``customers.tier``)."""
    out = {}
    for feature, tables in FEATURE_TABLES.items():
        if not any(data.has(t) for t in tables):
            out[feature] = tables[0]
    for feature, (table, column) in FEATURE_COLUMNS.items():
        if feature not in out and data.has(table) and column not in data[table].columns:
            out[feature] = f"{table}.{column}"
    return out


def _attrs(data: SalesData) -> dict[str, object]:
    return {"unavailable": unavailable_features(data), "currency": data.config.currency}


def _restricted(data: SalesData) -> SalesData:
    data.require("deals", analysis="deal health snapshots")
    return SalesData({t: data[t] for t in _TABLES if data.has(t)}, data.config)


def _hours(delta: pd.Series) -> pd.Series:
    return delta / _HOUR


def _per_deal(frame: pd.DataFrame, index: pd.Index) -> pd.DataFrame:
    return frame.reindex(index)


def build_features(
    data: SalesData,
    *,
    as_of: str | pd.Timestamp,
    deal_ids: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Features of every deal open at ``as_of``, from ``data.as_of(as_of)`` only.

    Parameters
    ----------
    data
        The dataset. Needs ``deals``; ``stage_history``, ``activities``, ``quotes``,
        ``collab_events``, ``customers`` and ``reps`` add features when present
        (features of an absent table are missing, which the model tolerates).
    as_of
        The snapshot instant. Only facts known at this instant are used.
    deal_ids
        Restrict to these deals (default: every deal open at ``as_of``).

    Returns
    -------
    pandas.DataFrame
        One row per open deal (RangeIndex) with the columns:

        - ``as_of``, ``deal_id``, ``rep_id``, ``customer_id``, ``stage``: who and where;
        - ``stage_index`` (0 = first stage), ``days_in_stage``, ``stage_p90_days``
          (90th percentile of completed stays in this stage as of the date), ``age_days``;
        - ``amount``, ``log_amount``, ``n_quotes``, ``quote_amount_change``
          (last quote amount / first - 1);
        - ``n_<kind>`` per activity kind, ``n_activities``, ``touches_14d``,
          ``touches_30d``, ``days_since_activity``, ``days_since_visit``;
        - ``reply_delay_hours_mean`` / ``_max`` (customer message to rep reply),
          ``unanswered_messages``, ``message_wait_hours`` (oldest unanswered message);
        - ``quotes_viewed``, ``quote_unanswered_hours`` (longest a viewed quote is
          currently waiting for the customer's reply), ``quote_wait_hours_max``
          (longest wait after a view, answered or not);
        - ``plan_revisions`` (technical), ``terms_revisions`` (commercial),
          ``doc_versions``, ``collab_requests``, ``collab_open_requests``,
          ``collab_response_hours_mean``, ``collab_response_quality_mean``;
        - ``visit_quality_mean``, ``rep_win_rate`` (closed deals as of the date,
          smoothed towards the overall rate with 10 pseudo-deals),
          ``rep_closed_deals``, ``rep_activity_quality``, ``customer_prior_wins``;
        - ``region``, ``segment``, ``channel`` (customer source channel),
          ``product_line``, ``tier`` (``customers.tier`` when present, else missing).

        Features of a table the dataset lacks are missing; ``attrs["unavailable"]``
        names them with the table (:func:`unavailable_features`), and ``attrs["currency"]``
        is the dataset's currency.
    """
    t = pd.Timestamp(as_of)
    src = _restricted(data)
    # only the deals open at t and their rows are cut (the same features as a whole cut)
    sub, rep_activity, _ = _piece_tables(src.tables, t, t, 1.0)
    cut = SalesData(sub, src.config).as_of(t)
    ids = None if deal_ids is None else pd.Index(deal_ids)
    out = _features_from_cut(cut, t, deal_ids=ids, rep_activity=rep_activity)
    out.attrs = _attrs(data)
    return out


def _features_from_cut(
    cut: SalesData,
    t: pd.Timestamp,
    *,
    deal_ids: Sequence[str] | pd.Index | None = None,
    rep_activity: pd.DataFrame | None = None,
) -> pd.DataFrame:
    deals = cut.deals
    open_deals = deals.loc[deals["outcome"] == "open"]
    if deal_ids is not None:
        open_deals = open_deals.loc[open_deals["deal_id"].isin(deal_ids)]
    open_deals = open_deals.drop_duplicates("deal_id")
    idx = pd.Index(open_deals["deal_id"].to_numpy(), name="deal_id")
    out = pd.DataFrame(index=idx)
    out["as_of"] = t
    out["rep_id"] = open_deals["rep_id"].to_numpy()
    out["customer_id"] = open_deals["customer_id"].to_numpy()
    out["stage"] = open_deals["stage"].astype("str").to_numpy()
    order = {s: i for i, s in enumerate(cut.stage_order)}
    out["stage_index"] = out["stage"].map(order).astype("float64")
    created = pd.Series(open_deals["created_at"].to_numpy(), index=idx)
    out["age_days"] = (t - created) / _DAY
    amount = pd.Series(
        pd.to_numeric(open_deals["amount"], errors="coerce").to_numpy(
            dtype="float64", na_value=np.nan
        ),
        index=idx,
    )
    out["amount"] = amount
    out["log_amount"] = np.log1p(amount.clip(lower=0))
    out["product_line"] = open_deals["product_line"].astype("str").to_numpy()

    _stage_features(cut, t, out, created)
    _activity_features(cut, t, out)
    _quote_features(cut, t, out)
    _collab_features(cut, t, out)
    _rep_customer_features(cut, t, out, rep_activity=rep_activity)

    shared.fill_feature_columns(out, NUMERIC_FEATURES, CATEGORICAL_FEATURES)
    for col in CATEGORICAL_FEATURES:
        out[col] = out[col].astype("str")
    cols = [*ID_COLUMNS, *NUMERIC_FEATURES, *CATEGORICAL_FEATURES]
    res = out.reset_index()[cols]
    return res.sort_values("deal_id", kind="stable").reset_index(drop=True)


def _stage_features(cut: SalesData, t: pd.Timestamp, out: pd.DataFrame, created: pd.Series) -> None:
    if not cut.has("stage_history") or not len(cut.stage_history):
        out["days_in_stage"] = out["age_days"]
        return
    sh = cut.stage_history.sort_values(["deal_id", "entered_at"], kind="stable")
    last_entry = sh.groupby("deal_id", sort=False)["entered_at"].max()
    entered = last_entry.reindex(out.index).fillna(created)
    out["days_in_stage"] = (t - entered) / _DAY
    # completed stays: until the next stage entry, or until a close for the last stage
    nxt = sh.groupby("deal_id", sort=False)["entered_at"].shift(-1)
    closed_at = cut.deals.drop_duplicates("deal_id").set_index("deal_id")["closed_at"]
    closed = sh["deal_id"].map(closed_at)
    end = nxt.fillna(closed)
    stay = ((end - sh["entered_at"]) / _DAY).dropna()
    p90 = stay.groupby(sh.loc[stay.index, "stage"]).quantile(0.9)
    out["stage_p90_days"] = out["stage"].map(p90).astype("float64")


def _counts(keys: pd.Series, kind: pd.Series, index: pd.Index) -> pd.DataFrame:
    """Rows per (deal, kind) as a deal x kind table over ``index`` (a fast ``crosstab``)."""
    if not len(keys):
        return pd.DataFrame(index=index)
    n = pd.Series(1, index=[keys.to_numpy(), kind.to_numpy()]).groupby(level=[0, 1]).size()
    return n.unstack(fill_value=0).reindex(index=index, fill_value=0)


def _activity_features(cut: SalesData, t: pd.Timestamp, out: pd.DataFrame) -> None:
    if not cut.has("activities"):
        return
    act = cut.activities
    act = act.loc[act["deal_id"].isin(out.index)]
    kind = act["kind"].astype("str")
    counts = _counts(act["deal_id"], kind, out.index)
    for k in ACTIVITY_KINDS:
        out[f"n_{k}"] = counts[k].astype("float64") if k in counts else 0.0
    g = act.groupby("deal_id", sort=False)
    out["n_activities"] = g.size().reindex(out.index, fill_value=0).astype("float64")
    age = (t - act["occurred_at"]) / _DAY
    for days in (14, 30):
        recent = act.loc[age <= days].groupby("deal_id", sort=False).size()
        out[f"touches_{days}d"] = recent.reindex(out.index, fill_value=0).astype("float64")
    last = g["occurred_at"].max().reindex(out.index)
    # a deal with no activity yet has been silent since it was created
    since_created = out["age_days"]
    out["days_since_activity"] = ((t - last) / _DAY).fillna(since_created)
    visits = act.loc[kind == "visit"].groupby("deal_id", sort=False)["occurred_at"].max()
    out["days_since_visit"] = ((t - visits.reindex(out.index)) / _DAY).fillna(since_created)
    msg = act.loc[kind == "message"]
    if "responded_at" in msg:
        delay = _hours(msg["responded_at"] - msg["occurred_at"])
        gm = delay.groupby(msg["deal_id"], sort=False)
        out["reply_delay_hours_mean"] = gm.mean().reindex(out.index)
        out["reply_delay_hours_max"] = gm.max().reindex(out.index)
        waiting = msg.loc[msg["responded_at"].isna()]
        wait_h = _hours(t - waiting["occurred_at"]).groupby(waiting["deal_id"], sort=False)
        out["unanswered_messages"] = (
            wait_h.size().reindex(out.index, fill_value=0).astype("float64")
        )
        out["message_wait_hours"] = wait_h.max().reindex(out.index).fillna(0.0)
    if "quality" in act:
        q = act.loc[kind == "visit", ["deal_id", "quality"]]
        out["visit_quality_mean"] = (
            q.groupby("deal_id", sort=False)["quality"].mean().reindex(out.index)
        )


def _quote_features(cut: SalesData, t: pd.Timestamp, out: pd.DataFrame) -> None:
    if not cut.has("quotes"):
        return
    q = cut.quotes
    q = q.loc[q["deal_id"].isin(out.index)].sort_values(["deal_id", "version"], kind="stable")
    g = q.groupby("deal_id", sort=False)
    out["n_quotes"] = g.size().reindex(out.index, fill_value=0).astype("float64")
    first = g["amount"].first()
    last = g["amount"].last()
    out["quote_amount_change"] = (
        (last / first.where(first > 0) - 1.0).reindex(out.index).fillna(0.0)
    )
    viewed = q.loc[q["first_viewed_at"].notna()]
    out["quotes_viewed"] = (
        viewed.groupby("deal_id", sort=False).size().reindex(out.index, fill_value=0)
    ).astype("float64")
    answer = viewed["replied_at"]
    waiting = viewed.loc[answer.isna()]
    open_wait = _hours(t - waiting["first_viewed_at"]).groupby(waiting["deal_id"], sort=False).max()
    out["quote_unanswered_hours"] = open_wait.reindex(out.index).fillna(0.0)
    # replies that came before the view (a reply by phone) count as no wait
    wait = _hours(answer.fillna(t) - viewed["first_viewed_at"]).clip(lower=0)
    out["quote_wait_hours_max"] = (
        wait.groupby(viewed["deal_id"], sort=False).max().reindex(out.index).fillna(0.0)
    )


def _collab_features(cut: SalesData, t: pd.Timestamp, out: pd.DataFrame) -> None:
    if not cut.has("collab_events"):
        return
    ev = cut.collab_events
    ev = ev.loc[ev["deal_id"].isin(out.index)]
    kind = ev["kind"].astype("str")
    role = ev["role"].astype("str")
    counts = _counts(ev["deal_id"], kind, out.index)

    def _count(k: str) -> pd.Series:
        return counts[k].astype("float64") if k in counts else pd.Series(0.0, index=out.index)

    plan = ev.loc[(kind == "plan_revision") & (role == "technical")]
    terms = ev.loc[(kind == "terms_revision") & (role == "commercial")]
    out["plan_revisions"] = (
        plan.groupby("deal_id").size().reindex(out.index, fill_value=0).astype("float64")
    )
    out["terms_revisions"] = (
        terms.groupby("deal_id").size().reindex(out.index, fill_value=0).astype("float64")
    )
    out["doc_versions"] = _count("doc_version")
    out["collab_requests"] = _count("request")
    req = ev.loc[kind == "request", ["event_id", "deal_id", "occurred_at"]]
    resp = ev.loc[kind == "response", ["request_id", "occurred_at", "quality"]]
    answered = req["event_id"].isin(resp["request_id"])
    out["collab_open_requests"] = (
        req.loc[~answered].groupby("deal_id").size().reindex(out.index, fill_value=0)
    ).astype("float64")
    pair = resp.merge(
        req.rename(columns={"occurred_at": "asked_at"}),
        left_on="request_id",
        right_on="event_id",
        how="inner",
    )
    hours = _hours(pair["occurred_at"] - pair["asked_at"])
    out["collab_response_hours_mean"] = hours.groupby(pair["deal_id"]).mean().reindex(out.index)
    out["collab_response_quality_mean"] = (
        pair.groupby("deal_id")["quality"].mean().reindex(out.index)
    )


def _rep_customer_features(
    cut: SalesData, t: pd.Timestamp, out: pd.DataFrame, *, rep_activity: pd.DataFrame | None
) -> None:
    """Rep and customer features. ``rep_activity``: the activities (``rep_id``,
    ``occurred_at``, ``quality``) of a window covering the year before ``t``, in table
    order, when ``cut.activities`` holds only some deals' activities (a snapshot piece)."""
    deals = cut.deals
    closed = deals.loc[deals["outcome"].isin(["won", "lost"])]
    won = (closed["outcome"] == "won").astype("float64")
    prior = float(won.mean()) if len(won) else 0.5
    g = won.groupby(closed["rep_id"])
    n = g.size().reindex(out["rep_id"]).fillna(0).to_numpy()
    w = g.sum().reindex(out["rep_id"]).fillna(0).to_numpy()
    out["rep_win_rate"] = (w + _REP_PRIOR_DEALS * prior) / (n + _REP_PRIOR_DEALS)
    out["rep_closed_deals"] = n.astype("float64")
    wins = won.groupby(closed["customer_id"]).sum()
    out["customer_prior_wins"] = wins.reindex(out["customer_id"]).fillna(0).to_numpy()
    if cut.has("activities") and "quality" in cut.activities:
        act = cut.activities
        if rep_activity is not None:
            act = rep_activity.loc[rep_activity["occurred_at"] <= t]
        recent = act.loc[(t - act["occurred_at"]) <= pd.Timedelta(days=_REP_QUALITY_DAYS)]
        rq = recent.groupby("rep_id")["quality"].mean()
        out["rep_activity_quality"] = rq.reindex(out["rep_id"]).to_numpy()
    if cut.has("customers"):
        cust = cut.customers.drop_duplicates("customer_id").set_index("customer_id")
        for dst, values in shared.customer_attributes(cust, out["customer_id"]).items():
            out[dst] = values
    if "region" not in out and cut.has("reps") and "region" in cut.reps:
        reg = cut.reps.drop_duplicates("rep_id").set_index("rep_id")["region"]
        out["region"] = reg.reindex(out["rep_id"]).astype("str").to_numpy()


def deal_sample(deal_ids: pd.Series | pd.Index, share: float) -> np.ndarray:
    """Whether each deal is in the deterministic ``share`` sample of deals.

    A deal is in when a keyed hash of its id (``pandas.util.hash_array``, fixed key)
    falls in the lowest ``share`` of the hash range: the same deals are chosen on every
    machine and in every run, whatever the dates or the other deals, and every
    snapshot of a chosen deal is kept (no deal is half in).
    """
    values = np.asarray(deal_ids.astype("str") if hasattr(deal_ids, "astype") else deal_ids)
    if share >= 1.0:
        return np.ones(len(values), dtype=bool)
    h = pd.util.hash_array(values.astype(object), hash_key="salesml.health00", categorize=True)
    return h < np.uint64(int(max(share, 0.0) * float(2**64 - 1)))


def open_deal_count(data: SalesData, dates: Iterable[str | pd.Timestamp]) -> int:
    """About how many snapshot rows :func:`deal_snapshots` returns for ``dates`` (deals
    open at each date, summed), counted from the deals table alone (deals without a
    creation date are left out)."""
    deals = data.deals
    created = np.sort(deals["created_at"].to_numpy(dtype="datetime64[ns]"))
    created = created[~np.isnat(created)]
    done = (deals["outcome"] != "open").to_numpy()
    closed = deals["closed_at"].to_numpy(dtype="datetime64[ns]")[done]
    never_open = int(np.isnat(closed).sum())
    closed = np.sort(closed[~np.isnat(closed)])
    at = np.asarray(
        [np.datetime64(pd.Timestamp(t).to_datetime64()) for t in shared.as_dates(dates)]
    )
    n = np.searchsorted(created, at, side="right") - np.searchsorted(closed, at, side="right")
    return int(np.clip(n - never_open, 0, None).sum())


def _date_pieces(dates: Sequence[pd.Timestamp]) -> list[list[pd.Timestamp]]:
    """The snapshot dates grouped by calendar month (one piece of work each), in order."""
    pieces: dict[str, list[pd.Timestamp]] = {}
    for t in dates:
        pieces.setdefault(f"{t:%Y-%m}", []).append(t)
    return list(pieces.values())


def _before_or_missing(values: pd.Series, t: pd.Timestamp) -> pd.Series:
    return values.isna() | (values <= t)


def _piece_tables(
    tables: dict[str, pd.DataFrame], t0: pd.Timestamp, t1: pd.Timestamp, share: float
) -> tuple[dict[str, pd.DataFrame], pd.DataFrame | None, pd.Index | None]:
    """The rows snapshots at dates in ``[t0, t1]`` can read.

    Whole (cut at ``t1``): deals (rep and customer records), stage history (typical stay
    per stage), customers and reps. Per deal: activities, quotes and collaboration of
    the deals open at some date of the piece. Besides, the activities of the year before
    ``t0`` up to ``t1`` for the reps' activity quality. Each date's cut of these tables
    equals that of the whole data, restricted to the piece's deals.
    """
    deals = tables["deals"]
    created = deals["created_at"]
    closed = deals["closed_at"]
    known = _before_or_missing(created, t1)
    open_some = (known & ((deals["outcome"] == "open") | (closed > t0))).to_numpy()
    ids = pd.Index(deals.loc[open_some, "deal_id"].astype("str").unique())
    chosen = ids[deal_sample(ids, share)] if share < 1.0 else None
    if chosen is not None:
        ids = chosen
    out: dict[str, pd.DataFrame] = {"deals": deals.loc[known.to_numpy()]}
    rep_activity = None
    for name, df in tables.items():
        if name == "deals":
            continue
        if name == "stage_history":
            out[name] = df.loc[_before_or_missing(df["entered_at"], t1).to_numpy()]
        elif name in ("activities", "quotes", "collab_events") and "deal_id" in df:
            out[name] = df.loc[df["deal_id"].isin(ids).to_numpy()]
            if name == "activities" and "quality" in df:
                occ = df["occurred_at"]
                lo = t0 - pd.Timedelta(days=_REP_QUALITY_DAYS)
                window = ((occ >= lo) & (occ <= t1)).to_numpy()
                rep_activity = df.loc[window, ["rep_id", "occurred_at", "quality"]]
        else:
            out[name] = df
    return out, rep_activity, chosen


def _snapshot_piece(
    dates: Sequence[pd.Timestamp],
    *,
    config: DatasetConfig,
    share: float = 1.0,
    **tables: pd.DataFrame,
) -> pd.DataFrame:
    """The snapshots of one piece of dates (module level: it runs on Dask workers too)."""
    dates = sorted(pd.Timestamp(d) for d in dates)
    sub, rep_activity, chosen = _piece_tables(tables, dates[0], dates[-1], share)
    src = SalesData(sub, config)
    frames = [
        _features_from_cut(src.as_of(t), t, deal_ids=chosen, rep_activity=rep_activity)
        for t in dates
    ]
    return pd.concat(frames, ignore_index=True)


def deal_snapshots(
    data: SalesData,
    *,
    as_of: str | pd.Timestamp | Iterable[str | pd.Timestamp],
    horizon_days: int | None = 90,
    data_end: str | pd.Timestamp | None = None,
    fingerprint: bool = True,
    sample: float = 1.0,
    client: Any = None,
    progress: bool = False,
) -> pd.DataFrame:
    """One row per deal open at each as-of date: leak-free features plus the label.

    The dates are built in pieces, one calendar month of dates each, every piece from
    the rows its dates can read (the deals open then and their activities, quotes and
    collaboration; every deal and stage change for the rep and stage figures), so
    memory grows with one month's open deals, not with the data times the dates. The
    pieces run here one after the other, or on a Dask cluster (``client``); the
    result is the same either way.

    Parameters
    ----------
    data
        The full dataset (features still come from ``data.as_of(date)`` only).
    as_of
        One date or a sequence of dates.
    horizon_days
        The label is "won within this many days of the snapshot". ``None``: won at all
        (eventual outcome).
    data_end
        The instant the data runs to (default: the latest dated fact). A label is known
        once the deal closed, or once the horizon has passed before ``data_end``. Facts
        after ``data_end`` are never read (outcomes are those known at ``data_end``), so
        passing the whole data with ``data_end=t`` is the same as passing
        ``data.as_of(t)``, without the copy.
    fingerprint
        Record ``data.fingerprint()`` in ``attrs`` (a model fit on the snapshots
        carries it into its card); off saves a hash of every table on large data.
    sample
        Share of the deals to take snapshots of (1.0: all). The deals are chosen by a
        keyed hash of their id (:func:`deal_sample`): deterministic, the same at every
        date, so a chosen deal keeps its whole history. The rep and customer figures
        still count every deal.
    client
        A ``distributed.Client`` (or ``None``: ``SALESML_DASK_SCHEDULER`` if set, else
        in this process; see :func:`salesml.distributed.resolve_client`).
    progress
        Show a progress bar over the pieces.

    Returns
    -------
    pandas.DataFrame
        The columns of :func:`build_features` plus

        - ``label``: 1.0 won within the horizon, 0.0 not, NaN not yet knowable;
        - ``label_known_at``: the instant the label became known (NaT when unknown);
          a backtest at origin ``o`` may train only on rows with ``label_known_at <= o``;
        - ``final_outcome`` and ``closed_at``: the deal's outcome as known at
          ``data_end`` (for evaluation only, never features).

        ``attrs`` holds ``data_fingerprint``, ``horizon_days``, ``data_end``,
        ``currency`` (the dataset's) and ``unavailable`` (feature -> missing table, see
        :func:`unavailable_features`).
    """
    if not 0.0 < float(sample) <= 1.0:
        raise ValueError(f"sample must be a share in (0, 1], got {sample!r}")
    dates = shared.as_dates(as_of)
    src = _restricted(data)
    latest = shared.label_end(src, _OUTCOMES)
    end = pd.Timestamp(data_end) if data_end is not None else latest
    if end < latest:
        if max(dates) > end:
            raise ValueError(
                f"snapshot date {max(dates):%Y-%m-%d} lies after data_end {end:%Y-%m-%d}"
            )
        # outcomes as known at the end: later closes are not yet known
        src = SalesData({**src.tables, "deals": _deals_known_at(src.deals, end)}, src.config)
    client = resolve_client(client)
    frames = map_pieces(
        _snapshot_piece,
        _date_pieces(dates),
        client=client,
        progress=progress,
        desc="deal snapshots",
        config=src.config,
        share=float(sample),
        **src.tables,
    )
    snaps = pd.concat(frames, ignore_index=True)
    out = _attach_labels(snaps, src.deals, horizon_days=horizon_days, data_end=end)
    out.attrs = shared.snapshot_attrs(
        data, end, horizon_days, fingerprint, unavailable_features(data)
    )
    return out


def _deals_known_at(deals: pd.DataFrame, t: pd.Timestamp) -> pd.DataFrame:
    """``deals`` as known at ``t``: later deals dropped, later closes reopened."""
    return SalesData({"deals": deals}).as_of(t).deals


def _attach_labels(
    snaps: pd.DataFrame,
    deals: pd.DataFrame,
    *,
    horizon_days: int | None,
    data_end: pd.Timestamp,
) -> pd.DataFrame:
    final = deals.drop_duplicates("deal_id").set_index("deal_id")
    outcome = final["outcome"].astype("str").reindex(snaps["deal_id"]).to_numpy()
    closed_at = pd.Series(
        final["closed_at"].reindex(snaps["deal_id"]).to_numpy(), index=snaps.index
    )
    t = snaps["as_of"]
    horizon_end = (
        t + pd.Timedelta(days=horizon_days)
        if horizon_days is not None
        else pd.Series(pd.Timestamp.max.floor("D"), index=snaps.index).astype(t.dtype)
    )
    closed_in = closed_at.notna() & (closed_at > t) & (closed_at <= horizon_end)
    won_in = (closed_in & (outcome == "won")).astype("float64")
    # closed inside the horizon: won or not; still open (or closed later) when the
    # horizon ended inside the data: not won in time
    label, known_at = shared.horizon_labels(
        t, horizon_end, data_end, [(closed_in, won_in, closed_at)]
    )
    return snaps.assign(
        label=label, label_known_at=known_at, final_outcome=outcome, closed_at=closed_at
    )
