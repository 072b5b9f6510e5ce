"""The observations a capability score rests on: one row per event, signal and rep.

Every observation is oriented so that *higher is better* and carries the difficulty of
the deal it belongs to (customer region and segment, deal size band, product line) and
its calendar month, so the model can compare a rep with reps facing the same work.

Sources, per scenario (``technical``, ``commercial``, ``delivery``) and component:

========== ============ ===========================================================
component  scenario     observation
========== ============ ===========================================================
timeliness every        ``-log(hours)`` from a colleague's request to the rep's
                        response (``collab_events`` request → response of the role)
quality    every        the response's quality (1-5); for delivery also the quality
                        of the rep's delivery documents (``doc_version``)
outcome    technical    ``-sqrt(technical plan revisions)`` of the rep's deals that
                        got past the proposal (their revisions are all known)
outcome    commercial   ``-sqrt(commercial terms revisions)`` of the rep's deals that
                        reached the contract stage
outcome    commercial   also ``-sqrt(quote versions - 1)`` of those deals (``activities``
                        of kind ``quote_sent``: fewer re-quotes is better)
outcome    delivery     ``-log(hours)`` the rep took to answer a customer's message
                        (``activities`` of kind message with ``responded_at``)
field      technical    the recorded quality (1-5) of the rep's demos (``activities``)
========== ============ ===========================================================

Customer-facing activity quality is its own component (``field``), not part of
``quality``: a demo is rated on the rep's whole manner with the customer, so it mixes
scenarios, and the one-factor model gives it its own loading and its own
rep-level variation that is not the skill.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from salesml.data.bundle import SalesData
from salesml.data.checks import require_columns
from salesml.filters import FilterSpec

__all__ = ["COMPONENTS", "SCENARIOS", "Evidence", "collect_evidence"]

#: The three scenarios a rep is scored in (the roles of ``collab_events``).
SCENARIOS: tuple[str, ...] = ("technical", "commercial", "delivery")
#: The components of a score, each shown next to the combined score.
COMPONENTS: tuple[str, ...] = ("timeliness", "quality", "outcome", "field")

#: The stage a deal must have reached for its revisions of a scenario to be complete.
_COMPLETE_AT = {"technical": "negotiation", "commercial": "contract"}
#: Revision kinds that make the outcome component of a scenario.
_REVISION_KIND = {"technical": "plan_revision", "commercial": "terms_revision"}
#: Response times are bounded below so that a response logged in the same second is finite.
_MIN_HOURS = 1.0 / 60.0
_ANALYSIS = "capability scores"
_DEAL_DIMS = ("region", "segment", "size_band", "product_line")


@dataclass
class Evidence:
    """Observations and what was left out on the way.

    Attributes
    ----------
    obs
        One row per observation: ``rep_id, scenario, component, source, value, at,
        month, region, segment, size_band, product_line``.
    dropped
        Rows left out and why: ``table, reason, value, rows``.
    """

    obs: pd.DataFrame
    dropped: list[dict[str, object]] = field(default_factory=list)

    def drop(self, table: str, reason: str, rows: int, value: object = "") -> None:
        """Record ``rows`` rows of ``table`` left out for ``reason``."""
        if rows:
            self.dropped.append({"table": table, "reason": reason, "value": value, "rows": rows})


def _deal_frame(data: SalesData) -> pd.DataFrame:
    """Deals with the difficulty columns and the dimensions a filter may name."""
    deals = data.deals
    require_columns(deals, "deals", ["deal_id", "rep_id", "amount"], _ANALYSIS)
    cols = [
        c
        for c in (
            "deal_id",
            "rep_id",
            "customer_id",
            "amount",
            "product_line",
            "stage",
            "outcome",
            "created_at",
        )
        if c in deals.columns
    ]
    out = deals[cols].copy()
    amount = pd.to_numeric(out["amount"], errors="coerce")
    edges = np.nanquantile(amount, [0.25, 0.5, 0.75]) if amount.notna().any() else []
    band = np.where(amount.isna(), "unknown", "q1").astype(object)
    for i, e in enumerate(edges):
        band = np.where(amount.to_numpy() > e, f"q{i + 2}", band)
    out["size_band"] = band
    if "product_line" not in out:
        out["product_line"] = "unknown"
    if data.has("customers") and "customer_id" in out:
        cust = data.customers
        keep = [c for c in ("customer_id", "segment", "region", "source_channel") if c in cust]
        cu = cust[keep].drop_duplicates("customer_id").set_index("customer_id")
        for c in keep[1:]:
            out[c] = out["customer_id"].map(cu[c])
        if "source_channel" in out:
            out["channel"] = out["source_channel"]
    for c in ("segment", "region"):
        if c not in out:
            out[c] = "unknown"
    if data.has("reps"):
        reps = data.reps
        rk = [c for c in ("rep_id", "team", "region", "manager_id") if c in reps]
        rp = reps[rk].drop_duplicates("rep_id").set_index("rep_id")
        if "team" in rp:
            out["team"] = out["rep_id"].map(rp["team"])
        if "region" in rp:
            out["rep_region"] = out["rep_id"].map(rp["region"])
        if "manager_id" in rp:
            out["manager_id"] = out["rep_id"].map(rp["manager_id"])
    for c in _DEAL_DIMS:
        out[c] = out[c].astype(object).where(out[c].notna(), "unknown")
    return out


def _attach(obs: pd.DataFrame, deals: pd.DataFrame) -> pd.DataFrame:
    """Difficulty codes of each observation's deal (one more code: no deal).

    Columns ``region, segment, size_band, product_line`` hold integer codes (the
    model only compares levels); ``deal_id`` stays as it is.
    """
    pos = pd.Index(deals["deal_id"]).get_indexer(obs["deal_id"])
    for c in _DEAL_DIMS:
        codes, uniques = pd.factorize(deals[c].to_numpy(dtype=object))
        obs[c] = np.where(pos >= 0, codes[np.maximum(pos, 0)], len(uniques))
    return obs


def _frame(
    rep: np.ndarray,
    scenario: object,
    component: str,
    source: str,
    value: np.ndarray,
    at: np.ndarray,
    deal: np.ndarray,
) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "rep_id": rep,
            "scenario": scenario,
            "component": component,
            "source": source,
            "value": value,
            "at": at,
            "deal_id": deal,
        }
    )


def _normalise_roles(role: pd.Series) -> pd.Series:
    """Roles in lower case without surrounding spaces (``" Technical"`` -> ``technical``)."""
    return role.astype("str").str.strip().str.lower()


def _collab(
    ev: Evidence,
    data: SalesData,
    lo: pd.Timestamp,
    hi: pd.Timestamp,
    deals: pd.DataFrame,
    keep_deal: np.ndarray | None,
) -> list[pd.DataFrame]:
    """Observations from ``collab_events``: responses, delivery documents, revisions."""
    if not data.has("collab_events") or not len(data.collab_events):
        ev.drop("collab_events", "no_events", 0)
        return []
    ce = data.collab_events
    require_columns(
        ce,
        "collab_events",
        ["event_id", "deal_id", "role", "actor_id", "kind", "occurred_at"],
        _ANALYSIS,
    )
    cols = [
        c
        for c in (
            "event_id",
            "deal_id",
            "role",
            "actor_id",
            "kind",
            "occurred_at",
            "request_id",
            "quality",
        )
        if c in ce.columns
    ]
    ce = ce[cols]
    role = _normalise_roles(ce["role"])
    kind = ce["kind"].astype("str").str.strip().str.lower()
    known = role.isin(SCENARIOS).to_numpy()
    if (~known).any():
        counts = role[~known].value_counts()
        for value, n in counts.items():
            ev.drop("collab_events", "unknown_role", int(n), value)
    t = pd.to_datetime(ce["occurred_at"], errors="coerce")
    in_win = ((t > lo) & (t <= hi)).to_numpy().copy()
    if keep_deal is not None:
        kd = pd.Index(deals["deal_id"][keep_deal])
        in_scope = kd.get_indexer(ce["deal_id"]) >= 0
        in_win &= in_scope
    parts = []
    quality = (
        pd.to_numeric(ce["quality"], errors="coerce").to_numpy(float)
        if "quality" in ce
        else np.full(len(ce), np.nan)
    )
    resp = (kind == "response").to_numpy() & known & in_win
    if resp.any():
        r = ce.loc[resp]
        rr = role[resp].to_numpy(dtype=object)
        rt = t[resp].to_numpy()
        if "request_id" in r:
            req_t = pd.Series(t.to_numpy(), index=pd.Index(ce["event_id"].astype("str")))
            req_t = req_t[~req_t.index.duplicated()]
            pos = req_t.index.get_indexer(r["request_id"].astype("str"))
            asked = np.where(pos >= 0, req_t.to_numpy()[np.maximum(pos, 0)], np.datetime64("NaT"))
        else:
            asked = np.full(len(r), np.datetime64("NaT"), dtype="datetime64[ns]")
        hours = (rt - asked) / np.timedelta64(1, "h")
        ok = np.isfinite(hours) & (hours >= 0)
        ev.drop("collab_events", "response_without_request", int((~ok).sum()))
        actor = _text(r["actor_id"])
        deal = _text(r["deal_id"])
        parts.append(
            _frame(
                actor[ok],
                rr[ok],
                "timeliness",
                "response",
                -np.log(np.maximum(hours[ok], _MIN_HOURS)),
                rt[ok],
                deal[ok],
            )
        )
        q = quality[resp]
        qk = np.isfinite(q)
        ev.drop("collab_events", "response_without_quality", int((~qk).sum()))
        parts.append(_frame(actor[qk], rr[qk], "quality", "response", q[qk], rt[qk], deal[qk]))
    doc = (kind == "doc_version").to_numpy() & in_win & np.isfinite(quality)
    if doc.any():
        r = ce.loc[doc]
        parts.append(
            _frame(
                r["actor_id"].astype("str").to_numpy(dtype=object),
                "delivery",
                "quality",
                "doc_version",
                quality[doc],
                t[doc].to_numpy(),
                r["deal_id"].astype("str").to_numpy(dtype=object),
            )
        )
    parts.extend(_revisions(ce, kind, t, deals, lo, hi, keep_deal, data.stage_order))
    return parts


def _revisions(
    ce: pd.DataFrame,
    kind: pd.Series,
    t: pd.Series,
    deals: pd.DataFrame,
    lo: pd.Timestamp,
    hi: pd.Timestamp,
    keep_deal: np.ndarray | None,
    stage_order: list[str],
) -> list[pd.DataFrame]:
    """Revisions per deal whose revisions are complete (created in the window)."""
    if "stage" not in deals or "created_at" not in deals:
        return []
    order = {s: i for i, s in enumerate(stage_order)}
    stage_i = deals["stage"].map(order).to_numpy(dtype=float)
    won = (deals["outcome"] == "won").to_numpy() if "outcome" in deals else False
    created = pd.to_datetime(deals["created_at"], errors="coerce")
    base = ((created > lo) & (created <= hi)).to_numpy().copy()
    if keep_deal is not None:
        base &= keep_deal
    out = []
    deal_idx = pd.Index(deals["deal_id"].astype("str"))
    for scenario, k in _REVISION_KIND.items():
        at_stage = _COMPLETE_AT[scenario]
        if at_stage not in order:
            continue
        done = base & ((stage_i >= order[at_stage]) | won)
        if not done.any():
            continue
        ev_deal = ce.loc[(kind == k).to_numpy(), "deal_id"].astype("str")
        pos = deal_idx.get_indexer(ev_deal)
        counts = np.bincount(pos[pos >= 0], minlength=len(deals)).astype(float)
        sel = np.flatnonzero(done)
        out.append(
            _frame(
                deals["rep_id"].astype("str").to_numpy(dtype=object)[sel],
                scenario,
                "outcome",
                k,
                -np.sqrt(counts[sel]),
                created.to_numpy()[sel],
                deal_idx.to_numpy(dtype=object)[sel],
            )
        )
    return out


#: Customer-facing activities whose recorded quality (1-5) speaks to a scenario. Visits
#: and meetings are rated on the rep's whole manner with the customer, technical as much
#: as commercial: as commercial evidence they pulled the commercial score toward the
#: technical skill (Spearman 0.33 in one of six demo seeds at 30 days), so they are not used.
_ACTIVITY_QUALITY = {"demo": "technical"}
#: The stage a deal must have reached for its quote versions to be complete.
_QUOTES_COMPLETE_AT = "contract"


def _text(s: pd.Series) -> np.ndarray:
    """``s.astype("str")`` as an object array; a ``category`` column (compact load) by
    its categories, so its rows share one string per id (tens of millions at tier L)."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        cats = s.cat.categories.astype("str").to_numpy(dtype=object)
        return np.append(cats, np.nan)[s.cat.codes.to_numpy()]  # code -1: missing
    return s.astype("str").to_numpy(dtype=object)


def _activities(
    ev: Evidence,
    data: SalesData,
    lo: pd.Timestamp,
    hi: pd.Timestamp,
    keep_deal: np.ndarray | None,
    deals: pd.DataFrame,
) -> list[pd.DataFrame]:
    """Observations from ``activities``: message replies, demo quality, quotes.

    - delivery outcome: hours to answer a customer's message;
    - technical field quality: the recorded quality of the rep's demos;
    - commercial outcome: ``-sqrt(quote versions - 1)`` of the rep's deals that reached
      the contract stage (``quote_sent`` activities; fewer re-quotes is better).
    """
    if not data.has("activities"):
        return []
    act = data.activities
    need = ["rep_id", "kind", "occurred_at"]
    if any(c not in act.columns for c in need):
        return []
    cols = [c for c in ("deal_id", *need, "responded_at", "quality") if c in act.columns]
    # kinds normalised on their distinct values only (tens of millions of rows at tier L)
    code, uniq = pd.factorize(act["kind"])
    norm = pd.Index(uniq).astype("str").str.strip().str.lower().to_numpy(dtype=object)
    wanted = np.isin(norm, ["message", "quote_sent", *_ACTIVITY_QUALITY])
    rel = np.zeros(len(code), bool)
    rel[code >= 0] = wanted[code[code >= 0]]
    a = act.loc[rel, cols]
    kind = norm[code[rel]]
    del code, rel
    t = pd.to_datetime(a["occurred_at"], errors="coerce")
    in_win = ((t > lo) & (t <= hi)).to_numpy().copy()
    deal = _text(a["deal_id"]) if "deal_id" in a else np.full(len(a), "", dtype=object)
    if keep_deal is not None:
        kd = pd.Index(deals["deal_id"][keep_deal])
        in_win &= kd.get_indexer(deal) >= 0
    rep = _text(a["rep_id"])
    tv = t.to_numpy()
    parts = []
    if "responded_at" in a:
        rt = pd.to_datetime(a["responded_at"], errors="coerce")
        hours = ((rt - t) / pd.Timedelta(hours=1)).to_numpy(float)
        ok = (kind == "message") & in_win & (rt <= hi).to_numpy()
        ok &= np.isfinite(hours) & (hours >= 0)
        parts.append(
            _frame(
                rep[ok],
                "delivery",
                "outcome",
                "message_reply",
                -np.log(np.maximum(hours[ok], _MIN_HOURS)),
                tv[ok],
                deal[ok],
            )
        )
    if "quality" in a:
        q = pd.to_numeric(a["quality"], errors="coerce").to_numpy(float)
        for k, scenario in _ACTIVITY_QUALITY.items():
            ok = (kind == k) & in_win & np.isfinite(q)
            ev.drop(
                "activities",
                "activity_without_quality",
                int(((kind == k) & in_win).sum() - ok.sum()),
                k,
            )
            parts.append(_frame(rep[ok], scenario, "field", k, q[ok], tv[ok], deal[ok]))
    parts.append(
        _quote_versions(deal[kind == "quote_sent"], deals, lo, hi, keep_deal, data.stage_order)
    )
    return parts


def _quote_versions(
    quote_deal: np.ndarray,
    deals: pd.DataFrame,
    lo: pd.Timestamp,
    hi: pd.Timestamp,
    keep_deal: np.ndarray | None,
    stage_order: list[str],
) -> pd.DataFrame:
    """Commercial outcome: re-quotes per deal created in the window that reached the
    contract stage (by then every version has been sent)."""
    empty = _frame(
        *(np.array([], dtype=object),) * 2,
        "",
        "",
        np.array([]),
        np.array([], dtype="datetime64[ns]"),
        np.array([], dtype=object),
    )
    if "stage" not in deals or "created_at" not in deals or _QUOTES_COMPLETE_AT not in stage_order:
        return empty
    order = {s: i for i, s in enumerate(stage_order)}
    stage_i = deals["stage"].map(order).to_numpy(dtype=float)
    won = (deals["outcome"] == "won").to_numpy() if "outcome" in deals else False
    created = pd.to_datetime(deals["created_at"], errors="coerce")
    done = ((created > lo) & (created <= hi)).to_numpy() & (
        (stage_i >= order[_QUOTES_COMPLETE_AT]) | won
    )
    if keep_deal is not None:
        done &= keep_deal
    deal_idx = pd.Index(deals["deal_id"].astype("str"))
    pos = deal_idx.get_indexer(quote_deal)
    n_q = np.bincount(pos[pos >= 0], minlength=len(deals))
    sel = np.flatnonzero(done & (n_q > 0))  # a deal without any quote activity says nothing
    if not len(sel):
        return empty
    return _frame(
        deals["rep_id"].astype("str").to_numpy(dtype=object)[sel],
        "commercial",
        "outcome",
        "quote_versions",
        -np.sqrt(n_q[sel] - 1.0),
        created.to_numpy()[sel],
        deal_idx.to_numpy(dtype=object)[sel],
    )


def collect_evidence(
    data: SalesData, *, lo: pd.Timestamp, hi: pd.Timestamp, filters: FilterSpec
) -> Evidence:
    """Every observation dated in ``(lo, hi]`` of the deals ``filters`` keep.

    Filters name deal columns or the dimensions of the deal's customer and owner
    (``region``, ``segment``, ``team``, ``rep_region``...); with a filter, events
    that belong to no deal (customer messages outside a deal) are left out.
    """
    ev = Evidence(obs=pd.DataFrame())
    deals = (
        _deal_frame(data)
        if data.has("deals")
        else pd.DataFrame({"deal_id": pd.Series([], dtype=object), **{c: [] for c in _DEAL_DIMS}})
    )
    keep = filters.mask(deals, table="deals") if filters else None
    parts = _collab(ev, data, lo, hi, deals, keep) + _activities(ev, data, lo, hi, keep, deals)
    parts = [p for p in parts if len(p)]
    if not parts:
        ev.obs = _frame(
            *(np.array([], dtype=object),) * 2,
            "",
            "",
            np.array([]),
            np.array([], dtype="datetime64[ns]"),
            np.array([], dtype=object),
        )
        for c in (*_DEAL_DIMS, "month"):
            ev.obs[c] = pd.Series([], dtype=object)
        return ev
    obs = pd.concat(parts, ignore_index=True)
    obs["at"] = pd.to_datetime(obs["at"])
    obs = _attach(obs, deals)
    obs["month"] = obs["at"].to_numpy().astype("datetime64[M]").astype(np.int64)
    ev.obs = obs
    return ev
