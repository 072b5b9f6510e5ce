"""The deal-health features as the pandas implementation of the third scale session
computed them (one ``data.as_of(t)`` cut per date, group-bys on the string deal ids).

Kept as the reference the integer-position builder
(:mod:`salesml.health.deal_arrays`) must equal exactly: a copy of the code that was
replaced, not an import of the package's features.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from salesml.data.bundle import SalesData
from salesml.data.schema import ACTIVITY_KINDS
from salesml.health.features import (
    CATEGORICAL_FEATURES,
    ID_COLUMNS,
    NUMERIC_FEATURES,
)
from salesml.scoring import snapshots as shared

_REP_QUALITY_DAYS = 365
_HOUR = pd.Timedelta(hours=1)
_DAY = pd.Timedelta(days=1)
_REP_PRIOR_DEALS = 10.0


def _hours(delta: pd.Series) -> pd.Series:
    return delta / _HOUR


def reference_features(
    cut: SalesData,
    t: pd.Timestamp,
    *,
    deal_ids: Sequence[str] | pd.Index | None = None,
    rep_activity: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The snapshot rows of the deals open in ``cut`` (``data.as_of(t)``), the old way."""
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
