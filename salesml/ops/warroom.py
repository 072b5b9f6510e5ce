"""Deal war rooms: who was pulled into a deal, how fast they answered, and the go-live effect.

From ``collab_events`` (request, response, plan_revision, terms_revision, doc_version,
each with a ``role``: technical, commercial, delivery):

- :func:`war_room`: per deal, the roles pulled in, requests and responses per role with
  the request -> response hours, unanswered requests, plan and terms revisions and
  document versions; at the organisation level the response-time distribution per role
  and its monthly trend, the share of deals with a war room (colleagues of two roles or
  more pulled in) and the coordination load per person;
- :func:`war_room_impact`: response time and the rate of cross-functional requests
  before and after the go-live, with bootstrap intervals over deals.

Events that cannot be measured (unknown deals, a response to an unknown request or
before its request, unknown roles or kinds) are listed in ``problems``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import pandas as pd

from salesml.data.bundle import SalesData
from salesml.data.checks import require_columns
from salesml.filters import FilterLike, FilterSpec
from salesml.i18n import check_lang, t
from salesml.ops.changes import change_findings
from salesml.periods import PeriodLike, as_period
from salesml.results import AnalysisResult, Note

__all__ = [
    "EVENT_COLUMNS",
    "KINDS",
    "ROLES",
    "ImpactResult",
    "WarRoomResult",
    "war_room",
    "war_room_impact",
]

ROLES: tuple[str, ...] = ("technical", "commercial", "delivery")
KINDS: tuple[str, ...] = ("request", "response", "plan_revision", "terms_revision", "doc_version")
#: The columns of ``collab_events`` the war room reads (a load can project to them).
EVENT_COLUMNS: tuple[str, ...] = (
    "event_id",
    "deal_id",
    "role",
    "actor_id",
    "kind",
    "occurred_at",
    "request_id",
)
_H = pd.Timedelta(hours=1)
_PROBLEM_COLUMNS = ["row", "event_id", "column", "problem", "value"]


def _problem(ev: pd.DataFrame, mask: np.ndarray, column: str, problem: str) -> pd.DataFrame:
    sub = ev.loc[mask]
    return pd.DataFrame(
        {
            "row": sub["_row"].to_numpy(),
            "event_id": sub["event_id"].astype(str).to_numpy(dtype=object),
            "column": column,
            "problem": problem,
            "value": sub[column].astype(str).to_numpy(dtype=object),
        }
    )


def _events(
    data: SalesData, as_of: pd.Timestamp | None
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Screened events, the requests with their responses, and the problems."""
    data.require("collab_events", analysis="the war room")
    ev = data["collab_events"]
    require_columns(ev, "collab_events", EVENT_COLUMNS, "the war room")
    ev = ev.loc[:, list(EVENT_COLUMNS)].copy()
    ev["_row"] = np.arange(len(ev))
    ev["occurred_at"] = pd.to_datetime(ev["occurred_at"], errors="coerce").astype("datetime64[ns]")
    if as_of is not None:
        ev = ev.loc[~(ev["occurred_at"] >= as_of).to_numpy()]
    checks = [
        (~ev["kind"].isin(KINDS).to_numpy(), "kind", "unknown_kind"),
        (~ev["role"].isin(ROLES).to_numpy(), "role", "unknown_role"),
        (ev["occurred_at"].isna().to_numpy(), "occurred_at", "missing_time"),
        (ev["event_id"].duplicated().to_numpy(), "event_id", "duplicate_id"),
    ]
    if data.has("deals"):
        checks.append(
            (~ev["deal_id"].isin(data["deals"]["deal_id"]).to_numpy(), "deal_id", "unknown_deal")
        )
    bad = np.zeros(len(ev), dtype=bool)
    parts = []
    for m, column, problem in checks:
        if m.any():
            parts.append(_problem(ev, m, column, problem))
            bad |= m
    good = ev.loc[~bad]
    req = good[good["kind"] == "request"]
    resp = good[good["kind"] == "response"]
    link = resp[["event_id", "request_id", "actor_id", "occurred_at", "_row", "deal_id"]].merge(
        req[["event_id", "occurred_at", "deal_id"]].rename(
            columns={"event_id": "request_id", "occurred_at": "requested_at", "deal_id": "req_deal"}
        ),
        on="request_id",
        how="left",
    )
    orphan = link["requested_at"].isna().to_numpy()
    early = ~orphan & (link["occurred_at"] < link["requested_at"]).to_numpy()
    for m, problem in ((orphan, "response_without_request"), (early, "response_before_request")):
        if m.any():
            rows = link.loc[m, "_row"].to_numpy()
            sub = ev.set_index("_row").loc[rows].reset_index()
            parts.append(_problem(sub, np.ones(len(sub), bool), "request_id", problem))
    link = link[~orphan & ~early].sort_values("occurred_at", kind="stable")
    first = link.drop_duplicates("request_id", keep="first")
    pairs = req.merge(
        first[["request_id", "actor_id", "occurred_at"]].rename(
            columns={
                "request_id": "event_id",
                "actor_id": "responder_id",
                "occurred_at": "responded_at",
            }
        ),
        on="event_id",
        how="left",
    )
    pairs["response_h"] = (pairs["responded_at"] - pairs["occurred_at"]) / _H
    problems = (
        pd.concat(parts, ignore_index=True).sort_values("row", kind="stable").reset_index(drop=True)
        if parts
        else pd.DataFrame(columns=_PROBLEM_COLUMNS)
    )
    return good, pairs, problems


def _deal_filter(data: SalesData, spec: FilterSpec) -> set[str] | None:
    if not spec:
        return None
    data.require("deals", analysis="war room filters")
    deals = data["deals"]
    if data.has("customers"):
        cu = data["customers"]
        dims = [c for c in ("region", "segment") if c in cu.columns and c not in deals.columns]
        deals = deals.merge(cu[["customer_id", *dims]], on="customer_id", how="left")
    return set(spec.apply(deals, table="deals")["deal_id"].astype(str))


def _q(x: pd.Series, q: float) -> float:
    x = x.dropna()
    return float(np.percentile(x, q)) if len(x) else float("nan")


@dataclass(kw_only=True)
class WarRoomResult(AnalysisResult):
    """Per-deal and organisation-level war-room metrics.

    Attributes
    ----------
    table
        One row per deal with collaboration events: ``deal_id``, ``roles`` (pulled in,
        ``+``-joined), ``n_roles``, ``war_room`` (two roles or more), ``requests``,
        ``responses``, ``unanswered`` (no response yet), ``overdue`` (unanswered for more
        than ``overdue_h``), ``response_median_h``, ``plan_revisions``,
        ``terms_revisions``, ``doc_versions``, and per role ``requests_<role>`` and
        ``response_median_h_<role>``.
    requests
        One row per request: ``event_id``, ``deal_id``, ``role``, ``actor_id``
        (requester), ``occurred_at``, ``responder_id``, ``responded_at``, ``response_h``.
    distribution
        Per role and ``all``: ``requests``, ``answered``, ``median_h``, ``p75_h``,
        ``p90_h``, ``mean_h``.
    trend
        Per request month: ``month``, ``requests``, ``median_h``, ``p90_h``.
    load
        Per person: ``person_id``, ``requests_raised``, ``responses_given``,
        ``unanswered_owed`` (none: a request names no addressee), ``response_median_h``.
    overview
        One row: ``deals``, ``war_rooms``, ``war_room_share``, ``requests``,
        ``unanswered``, ``overdue``, ``response_median_h``.
    problems
        ``row``, ``event_id``, ``column``, ``problem``, ``value``.
    """

    title_key: ClassVar[str] = "ops.title.war_room"

    requests: pd.DataFrame = field(default_factory=pd.DataFrame)
    distribution: pd.DataFrame = field(default_factory=pd.DataFrame)
    trend: pd.DataFrame = field(default_factory=pd.DataFrame)
    load: pd.DataFrame = field(default_factory=pd.DataFrame)
    overview: pd.DataFrame = field(default_factory=pd.DataFrame)
    problems: pd.DataFrame = field(default_factory=pd.DataFrame)

    def summary(self) -> pd.DataFrame:
        """The overview."""
        return self.overview

    def key_findings(self, lang: str = "en") -> list[str]:
        """War-room share, response time, unanswered requests, the busiest responder."""
        check_lang(lang)
        o = self.overview.iloc[0]
        out = [
            t(
                "ops.finding.war_room",
                lang,
                deals=int(o["deals"]),
                share=float(o["war_room_share"]),
                median=float(o["response_median_h"]),
                unanswered=int(o["unanswered"]),
                overdue=int(o["overdue"]),
            )
        ]
        if len(self.load):
            top = self.load.sort_values("responses_given", ascending=False, kind="stable").iloc[0]
            out.append(
                t(
                    "ops.finding.load",
                    lang,
                    person=str(top["person_id"]),
                    n=int(top["responses_given"]),
                )
            )
        return out + [n.text(lang) for n in self.notes]


def war_room(
    data: SalesData,
    *,
    period: PeriodLike = None,
    as_of: str | pd.Timestamp | None = None,
    filters: FilterLike = None,
    overdue_h: float = 48.0,
) -> WarRoomResult:
    """War-room metrics per deal and for the organisation.

    Parameters
    ----------
    data
        A bundle with ``collab_events`` (``deals`` to check deal ids and filter).
    period
        Keep events that occurred in this period (responses to requests of the period
        are kept whenever they came).
    as_of
        Ignore events from this instant on; unanswered requests are judged at it.
    filters
        On the deals' columns (``rep_id``, ``product_line``, ...) or the customer's
        ``region``/``segment``.
    overdue_h
        Hours after which an unanswered request is overdue.

    Returns
    -------
    WarRoomResult
    """
    if not (0 < overdue_h <= 10_000):
        raise ValueError("overdue_h must be in (0, 10000]")
    ts = pd.Timestamp(as_of) if as_of is not None else None
    p = as_period(period)
    spec = FilterSpec.parse(filters)
    ev, pairs, problems = _events(data, ts)
    now = ts if ts is not None else ev["occurred_at"].max()
    keep = _deal_filter(data, spec)
    if keep is not None:
        ev = ev[ev["deal_id"].astype(str).isin(keep)]
        pairs = pairs[pairs["deal_id"].astype(str).isin(keep)]
    if p is not None:
        ev = ev[p.mask(ev["occurred_at"])]
        pairs = pairs[p.mask(pairs["occurred_at"])]
    pairs = pairs.assign(
        unanswered=pairs["responded_at"].isna(),
        overdue=pairs["responded_at"].isna() & ((now - pairs["occurred_at"]) / _H > overdue_h),
    )
    counts = ev.groupby(["deal_id", "kind"]).size().unstack(fill_value=0)
    counts = counts.reindex(columns=list(KINDS), fill_value=0)
    g = pairs.groupby("deal_id")
    by_role = pairs.groupby(["deal_id", "role"])["response_h"].agg(["size", "median"])
    by_role = by_role.unstack("role")
    has = (
        by_role["size"].reindex(columns=list(ROLES)).fillna(0)
        if len(by_role)
        else (pd.DataFrame(0, index=pd.Index([], name="deal_id"), columns=list(ROLES)))
    )
    roles = pd.Series("", index=has.index, dtype=object)
    for r in ROLES:
        on = (has[r] > 0).to_numpy()
        roles[on] = np.where(roles[on] == "", r, roles[on] + "+" + r)
    table = pd.DataFrame(
        {
            "roles": roles,
            "n_roles": pairs.groupby("deal_id")["role"].nunique(),
            "requests": g.size(),
            "responses": g["responded_at"].count(),
            "unanswered": g["unanswered"].sum(),
            "overdue": g["overdue"].sum(),
            "response_median_h": g["response_h"].median(),
        }
    ).reindex(counts.index)
    table["plan_revisions"] = counts["plan_revision"]
    table["terms_revisions"] = counts["terms_revision"]
    table["doc_versions"] = counts["doc_version"]
    for r in ROLES:
        table[f"requests_{r}"] = (
            by_role[("size", r)].reindex(table.index) if ("size", r) in by_role else 0
        )
        table[f"response_median_h_{r}"] = (
            by_role[("median", r)].reindex(table.index) if ("median", r) in by_role else np.nan
        )
    fill = {
        c: 0
        for c in (
            "n_roles",
            "requests",
            "responses",
            "unanswered",
            "overdue",
            *[f"requests_{r}" for r in ROLES],
        )
    }
    table = table.fillna(fill)
    table["roles"] = table["roles"].fillna("")
    table = table.astype({c: int for c in fill})
    table["war_room"] = table["n_roles"] >= 2
    table = table.rename_axis("deal_id").reset_index()
    dist = []
    for r in (*ROLES, "all"):
        part = pairs if r == "all" else pairs[pairs["role"] == r]
        h = part["response_h"]
        dist.append(
            {
                "role": r,
                "requests": len(part),
                "answered": int(h.notna().sum()),
                "median_h": _q(h, 50),
                "p75_h": _q(h, 75),
                "p90_h": _q(h, 90),
                "mean_h": float(h.mean()) if h.notna().any() else np.nan,
            }
        )
    month = pairs["occurred_at"].dt.to_period("M")
    trend = (
        pairs.groupby(month)["response_h"]
        .agg(requests="size", median_h="median", p90_h=lambda s: s.quantile(0.9))
        .rename_axis("month")
        .reset_index()
    )
    trend["month"] = trend["month"].astype(str)
    raised = pairs.groupby("actor_id").size().rename("requests_raised")
    given = pairs.groupby("responder_id").size().rename("responses_given")
    med = pairs.groupby("responder_id")["response_h"].median().rename("response_median_h")
    load = pd.concat([raised, given, med], axis=1).rename_axis("person_id").reset_index()
    load = load.fillna({"requests_raised": 0, "responses_given": 0}).astype(
        {"requests_raised": int, "responses_given": int}
    )
    load = load.sort_values(["responses_given", "requests_raised"], ascending=False, kind="stable")
    overview = pd.DataFrame(
        [
            {
                "deals": len(table),
                "war_rooms": int(table["war_room"].sum()),
                "war_room_share": float(table["war_room"].mean()) if len(table) else np.nan,
                "requests": len(pairs),
                "unanswered": int(pairs["unanswered"].sum()),
                "overdue": int(pairs["overdue"].sum()),
                "response_median_h": _q(pairs["response_h"], 50),
            }
        ]
    )
    res = WarRoomResult(
        table=table,
        requests=pairs.drop(columns=["_row", "kind", "request_id"], errors="ignore").reset_index(
            drop=True
        ),
        distribution=pd.DataFrame(dist),
        trend=trend,
        load=load.reset_index(drop=True),
        overview=overview,
        problems=problems,
        period=p,
        as_of=ts,
        filters=spec,
    )
    if len(problems):
        res.notes.append(
            Note(
                "ops.note.event_problems",
                (
                    ("rows", int(problems["row"].nunique())),
                    ("kinds", ", ".join(sorted(problems["problem"].unique()))),
                ),
            )
        )
    return res


@dataclass(kw_only=True)
class ImpactResult(AnalysisResult):
    """War-room KPIs before and after the go-live.

    Attributes
    ----------
    table
        One row per KPI (``response_hours``: mean request -> response hours, by request
        time; ``requests_per_deal_month``: cross-functional requests per open deal and
        30 days; ``proactive_requests_per_deal_month``: those raised by a colleague who
        does not own the deal): ``before``, ``after``, ``change`` (after / before - 1), ``low``,
        ``high`` (95% interval, deals as clusters), ``n_before``, ``n_after``.
    go_live
        The go-live instant.
    """

    title_key: ClassVar[str] = "ops.title.war_room_impact"

    go_live: pd.Timestamp | None = None

    def key_findings(self, lang: str = "en") -> list[str]:
        """Each KPI's change with its interval."""
        return change_findings(self.table, "ops.finding.go_live", lang, self.notes)


def _ratio_ci(
    num_b: np.ndarray, den_b: np.ndarray, num_a: np.ndarray, den_a: np.ndarray
) -> tuple[float, float, float]:
    """``(sum num_a / sum den_a) / (sum num_b / sum den_b) - 1`` and its 95% interval.

    Each side is a ratio of sums over deals; its variance is the linearised (delta
    method) cluster variance ``sum((num_i - R den_i)^2) / (sum den_i)^2`` with deals as
    the units, and the interval is symmetric on the log scale. Vectorised and O(deals)
    in memory, so it holds at tier L where a deal bootstrap would not.
    """
    ra = num_a.sum() / den_a.sum()
    rb = num_b.sum() / den_b.sum()
    va = np.sum((num_a - ra * den_a) ** 2) / den_a.sum() ** 2
    vb = np.sum((num_b - rb * den_b) ** 2) / den_b.sum() ** 2
    se = float(np.sqrt(va / ra**2 + vb / rb**2))
    lr = float(np.log(ra / rb))
    return (
        float(np.exp(lr) - 1),
        float(np.exp(lr - 1.96 * se) - 1),
        float(np.exp(lr + 1.96 * se) - 1),
    )


def war_room_impact(
    data: SalesData,
    *,
    period: PeriodLike = None,
    as_of: str | pd.Timestamp | None = None,
    filters: FilterLike = None,
    go_live: str | pd.Timestamp | None = None,
) -> ImpactResult:
    """Response time and cross-functional request rate before and after the go-live.

    Method: requests are split by the time they were made. Response time: the mean of
    the request -> response hours of answered requests, per side; requests rate:
    requests over the days deals were open (created to closed, or to the end), per 30
    days, per side. The change is after / before - 1; its 95% interval comes from the
    delta-method variance of each side's ratio of sums with deals as the clusters
    (log scale; a deal open across the go-live counts on both sides).

    Parameters
    ----------
    data
        A bundle with ``collab_events`` and ``deals`` (open days).
    period, as_of, filters
        As in :func:`war_room`.
    go_live
        The go-live (default: ``dataset.yaml``'s ``go_live``).

    Returns
    -------
    ImpactResult
    """
    gl = pd.Timestamp(go_live) if go_live is not None else data.config.go_live_ts
    if gl is None:
        raise ValueError("war room impact: give go_live= or set go_live in dataset.yaml")
    data.require("deals", analysis="war room impact")
    ts = pd.Timestamp(as_of) if as_of is not None else None
    p = as_period(period)
    spec = FilterSpec.parse(filters)
    ev, pairs, problems = _events(data, ts)
    keep = _deal_filter(data, spec)
    deals = data["deals"][["deal_id", "created_at", "closed_at"]].copy()
    if keep is not None:
        pairs = pairs[pairs["deal_id"].astype(str).isin(keep)]
        deals = deals[deals["deal_id"].astype(str).isin(keep)]
    end = ts if ts is not None else ev["occurred_at"].max()
    start = deals["created_at"].min()
    if p is not None:
        pairs = pairs[p.mask(pairs["occurred_at"])]
        start, end = max(start, p.start), min(end, p.end)
    after = (pairs["occurred_at"] >= gl).to_numpy()
    rows = []
    ans = pairs["response_h"].notna().to_numpy()
    est = []
    for flag in (False, True):
        part = pairs[(after == flag) & ans]
        per = part.groupby("deal_id")["response_h"].agg(["sum", "size"])
        est.append((per["sum"].to_numpy(float), per["size"].to_numpy(float)))
    (sb, nb), (sa, na) = est
    c, lo, hi = _ratio_ci(sb, nb, sa, na)
    rows.append(
        {
            "kpi": "response_hours",
            "before": sb.sum() / nb.sum(),
            "after": sa.sum() / na.sum(),
            "change": c,
            "low": lo,
            "high": hi,
            "n_before": int(nb.sum()),
            "n_after": int(na.sum()),
        }
    )
    # open deal-days on each side of the go-live
    opened = pd.to_datetime(deals["created_at"]).to_numpy("datetime64[ns]")
    closed = pd.to_datetime(deals["closed_at"]).fillna(end).to_numpy("datetime64[ns]")
    lo_t, hi_t = (
        np.datetime64(pd.Timestamp(start).to_datetime64(), "ns"),
        np.datetime64(end.to_datetime64(), "ns"),
    )
    g = np.datetime64(gl.to_datetime64(), "ns")
    day = np.timedelta64(1, "D")

    def open_days(a: np.datetime64, b: np.datetime64) -> np.ndarray:
        s = np.maximum(opened, a)
        e = np.minimum(closed, b)
        return np.maximum((e - s) / day, 0.0)

    db, da = open_days(lo_t, g), open_days(g, hi_t)
    mb, ma = db > 0, da > 0
    owner = data["deals"].drop_duplicates("deal_id").set_index("deal_id")["rep_id"]
    proactive = pairs["actor_id"].to_numpy(dtype=object) != owner.reindex(
        pairs["deal_id"]
    ).to_numpy(dtype=object)
    for kpi, which in (
        ("requests_per_deal_month", np.ones(len(pairs), dtype=bool)),
        ("proactive_requests_per_deal_month", proactive),
    ):
        part = pairs[which]
        rq = part.groupby(["deal_id", pd.Series(after[which], index=part.index)]).size()
        rq = rq.unstack(fill_value=0) if len(rq) else pd.DataFrame(columns=[False, True])
        rq = rq.reindex(columns=[False, True], fill_value=0).reindex(deals["deal_id"]).fillna(0)
        qb, qa = rq[False].to_numpy(float)[mb], rq[True].to_numpy(float)[ma]
        if qb.sum() > 0 and qa.sum() > 0:
            c, lo, hi = _ratio_ci(qb, db[mb] / 30.0, qa, da[ma] / 30.0)
        else:  # no such request on one side: nothing to compare
            c = lo = hi = float("nan")
        rows.append(
            {
                "kpi": kpi,
                "before": qb.sum() / (db[mb].sum() / 30.0),
                "after": qa.sum() / (da[ma].sum() / 30.0),
                "change": c,
                "low": lo,
                "high": hi,
                "n_before": int(mb.sum()),
                "n_after": int(ma.sum()),
            }
        )
    res = ImpactResult(table=pd.DataFrame(rows), go_live=gl, period=p, as_of=ts, filters=spec)
    if len(problems):
        res.notes.append(
            Note(
                "ops.note.event_problems",
                (
                    ("rows", int(problems["row"].nunique())),
                    ("kinds", ", ".join(sorted(problems["problem"].unique()))),
                ),
            )
        )
    return res
