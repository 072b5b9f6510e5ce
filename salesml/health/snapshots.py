"""Leak-free as-of snapshots of open deals: the one feature builder of deal health.

Every feature of a snapshot taken at date ``t`` is computed from ``data.as_of(t)``
only, so a model trained on past snapshots never sees the future. The same
:func:`build_features` serves training (through :func:`deal_snapshots`), batch
scoring and the dashboards.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from salesml.data.bundle import SalesData
from salesml.data.schema import ACTIVITY_KINDS
from salesml.scoring import snapshots as shared

__all__ = [
    "CATEGORICAL_FEATURES",
    "FEATURE_COLUMNS",
    "FEATURE_TABLES",
    "ID_COLUMNS",
    "LABEL_COLUMNS",
    "NUMERIC_FEATURES",
    "build_features",
    "deal_snapshots",
    "unavailable_features",
]

#: Tables the feature builder reads (only ``deals`` is required).
_TABLES = ("deals", "stage_history", "activities", "quotes", "collab_events", "customers", "reps")

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
    cut = _restricted(data).as_of(t)
    out = _features_from_cut(cut, t, deal_ids=deal_ids)
    out.attrs = _attrs(data)
    return out


def _features_from_cut(
    cut: SalesData, t: pd.Timestamp, *, deal_ids: Sequence[str] | None = None
) -> pd.DataFrame:
    deals = cut.deals
    open_deals = deals.loc[deals["outcome"] == "open"]
    if deal_ids is not None:
        open_deals = open_deals.loc[open_deals["deal_id"].isin(list(deal_ids))]
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
    _rep_customer_features(cut, t, out)

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


def _rep_customer_features(cut: SalesData, t: pd.Timestamp, out: pd.DataFrame) -> None:
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
        recent = act.loc[(t - act["occurred_at"]) <= pd.Timedelta(days=365)]
        rq = recent.groupby("rep_id")["quality"].mean()
        out["rep_activity_quality"] = rq.reindex(out["rep_id"]).to_numpy()
    if cut.has("customers"):
        cust = cut.customers.drop_duplicates("customer_id").set_index("customer_id")
        for dst, values in shared.customer_attributes(cust, out["customer_id"]).items():
            out[dst] = values
    if "region" not in out and cut.has("reps") and "region" in cut.reps:
        reg = cut.reps.drop_duplicates("rep_id").set_index("rep_id")["region"]
        out["region"] = reg.reindex(out["rep_id"]).astype("str").to_numpy()


def deal_snapshots(
    data: SalesData,
    *,
    as_of: str | pd.Timestamp | Iterable[str | pd.Timestamp],
    horizon_days: int | None = 90,
    data_end: str | pd.Timestamp | None = None,
    fingerprint: bool = True,
) -> pd.DataFrame:
    """One row per deal open at each as-of date: leak-free features plus the label.

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
        once the deal closed, or once the horizon has passed before ``data_end``.
    fingerprint
        Record ``data.fingerprint()`` in ``attrs`` (a model fit on the snapshots
        carries it into its card); off saves a hash of every table on large data.

    Returns
    -------
    pandas.DataFrame
        The columns of :func:`build_features` plus

        - ``label``: 1.0 won within the horizon, 0.0 not, NaN not yet knowable;
        - ``label_known_at``: the instant the label became known (NaT when unknown);
          a backtest at origin ``o`` may train only on rows with ``label_known_at <= o``;
        - ``final_outcome`` and ``closed_at``: the deal's outcome in the full data
          (for evaluation only, never features).

        ``attrs`` holds ``data_fingerprint``, ``horizon_days``, ``data_end``,
        ``currency`` (the dataset's) and ``unavailable`` (feature -> missing table, see
        :func:`unavailable_features`).
    """
    dates = shared.as_dates(as_of)
    src = _restricted(data)
    end = pd.Timestamp(data_end) if data_end is not None else shared.label_end(src, _OUTCOMES)
    frames = [_features_from_cut(src.as_of(t), t) for t in dates]
    snaps = pd.concat(frames, ignore_index=True) if frames else build_features(src, as_of=end)
    out = _attach_labels(snaps, src.deals, horizon_days=horizon_days, data_end=end)
    out.attrs = shared.snapshot_attrs(
        data, end, horizon_days, fingerprint, unavailable_features(data)
    )
    return out


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
