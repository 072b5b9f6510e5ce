"""Deal-health features of snapshot dates, computed on integer deal positions.

A piece of snapshot dates (:func:`salesml.health.snapshots.deal_snapshots`) maps every
table's ``deal_id`` to a position in one sorted list of deal ids once
(:meth:`DealPiece.build`: the category codes through one lookup of the categories) and
keeps only the arrays the features read. Each date then cuts them with masks instead
of copying ``data.as_of(t)``, and counts and maxima per deal are numpy reductions over
the positions. Means keep pandas' group-by (its compensated sum, in row order), so
every value equals that of the pandas build on a ``data.as_of(t)`` cut.

Times are compared and subtracted as integer microseconds, the unit of a loaded
dataset's timestamps, and divided into days and hours as pandas does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from salesml.data.bundle import SalesData
from salesml.data.config import DatasetConfig
from salesml.data.schema import ACTIVITY_KINDS
from salesml.health.deal_index import DealIndex, deal_sample
from salesml.health.features import CATEGORICAL_FEATURES, ID_COLUMNS, NUMERIC_FEATURES
from salesml.scoring import snapshots as shared

__all__ = ["DealPiece"]

#: Days of activities behind a rep's activity quality.
REP_QUALITY_DAYS = 365
#: Pseudo-count of closed deals behind the smoothed rep win rate.
REP_PRIOR_DEALS = 10.0

_NAT = np.iinfo(np.int64).min  # NaT as int64: below every instant, so "<= t" keeps it
_UNIT = "us"
_DAY_US = 86_400_000_000.0
_HOUR_US = 3_600_000_000.0
_REP_QUALITY_US = REP_QUALITY_DAYS * 86_400_000_000


def _us(t: pd.Timestamp) -> int:
    return int(pd.Timestamp(t).as_unit(_UNIT).asm8.view("int64"))


def _times(col: pd.Series) -> np.ndarray:
    """A datetime column as int64 microseconds (NaT: the smallest int64)."""
    return np.asarray(col.to_numpy(dtype=f"datetime64[{_UNIT}]")).view("int64")


def _codes(col: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """Integer codes of a column's values (-1: missing) and the values they stand for."""
    if isinstance(col.dtype, pd.CategoricalDtype):
        return col.cat.codes.to_numpy().astype("int64"), col.cat.categories
    codes, uniques = pd.factorize(col)
    return codes.astype("int64"), pd.Index(uniques)


def _recode(col: pd.Series, onto: pd.Index, rows: np.ndarray | None = None) -> np.ndarray:
    """Positions of a column's values (of ``rows``) in ``onto`` (-1: missing or not there)."""
    codes, values = _codes(col)
    at = np.append(onto.get_indexer(values), -1)
    return at[codes if rows is None else codes[rows]]


def _code_of(values: pd.Index, name: str) -> int:
    """The code of ``name`` among ``values``, or -2 (matches no code, not even missing)."""
    at = values.get_indexer([name])[0]
    return int(at) if at >= 0 else -2


def _days(delta_us: np.ndarray) -> np.ndarray:
    return delta_us.astype("float64") / _DAY_US


def _hours(delta_us: np.ndarray) -> np.ndarray:
    return delta_us.astype("float64") / _HOUR_US


def _delta(later: np.ndarray, earlier: np.ndarray) -> np.ndarray:
    """``later - earlier`` in float microseconds, NaN where either is NaT."""
    out = (later - earlier).astype("float64")
    out[(later == _NAT) | (earlier == _NAT)] = np.nan
    return out


def _count(slot: np.ndarray, n: int) -> np.ndarray:
    return np.bincount(slot, minlength=n).astype("float64")


def _max_time(slot: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """Latest instant per slot (NaT where none)."""
    out = np.full(n, _NAT, dtype="int64")
    np.maximum.at(out, slot, values)
    return out


def _max(slot: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """Largest value per slot, NaN values skipped (NaN where none)."""
    ok = ~np.isnan(values)
    out = np.full(n, -np.inf)
    np.maximum.at(out, slot[ok], values[ok])
    out[np.bincount(slot[ok], minlength=n) == 0] = np.nan
    return out


def _mean(slot: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """Mean per slot through pandas' group-by (its compensated sum: the same digits as
    a group-by on the deal ids), NaN values skipped (NaN where none)."""
    out = np.full(n, np.nan)
    if len(slot):
        # slots as category codes: grouped without hashing the keys
        keys = pd.Categorical.from_codes(slot, categories=pd.RangeIndex(n), validate=False)
        m = pd.Series(values).groupby(keys, observed=True).mean()
        out[m.index.codes] = m.to_numpy()
    return out


def _first_last(slot: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Of rows sorted by slot: the slots present, their first and their last row."""
    if not len(slot):
        empty = np.zeros(0, dtype="int64")
        return empty, empty, empty
    starts = np.flatnonzero(np.r_[True, slot[1:] != slot[:-1]])
    ends = np.r_[starts[1:], len(slot)] - 1
    return slot[starts], starts, ends


@dataclass
class _Table:
    """Some rows of a table as arrays: ``pos`` the deal positions, the rest columns."""

    pos: np.ndarray
    cols: dict[str, np.ndarray]

    def take(self, rows: np.ndarray) -> _Table:
        return _Table(self.pos[rows], {k: v[rows] for k, v in self.cols.items()})


@dataclass
class DealPiece:
    """The arrays the features of snapshot dates in ``[t0, t1]`` read.

    Built once per piece of dates (:meth:`build`); :meth:`features` gives one date's
    snapshot rows. Whole: the deals, the stage history (typical stay per stage), the
    customers and reps. Per deal: activities, quotes and collaboration of the deals
    open at some date of the piece (or of the sampled ones). Besides, the activities
    of the year before ``t0`` up to ``t1`` for the reps' activity quality.
    """

    config: DatasetConfig
    ids: pd.Index
    deals: pd.DataFrame
    deal_pos: np.ndarray
    deal_cols: dict[str, np.ndarray]
    wanted: np.ndarray | None
    stages: pd.Index | None
    history: _Table | None
    activities: _Table | None
    kinds: pd.Index | None
    rep_window: dict[str, np.ndarray] | None
    quotes: _Table | None
    collab: _Table | None
    collab_codes: dict[str, int]
    customers: pd.DataFrame | None
    customer_rows: np.ndarray | None
    reps: pd.DataFrame | None

    # ------------------------------------------------------------------ building
    @classmethod
    def build(
        cls,
        tables: dict[str, pd.DataFrame],
        config: DatasetConfig,
        t0: pd.Timestamp,
        t1: pd.Timestamp,
        *,
        share: float = 1.0,
        deal_ids: Sequence[str] | pd.Index | None = None,
        index: DealIndex | None = None,
    ) -> DealPiece:
        """The arrays of ``tables`` (the feature builder's, ``deals`` required) that
        snapshots at dates in ``[t0, t1]`` read; ``share`` < 1 keeps the deals of the
        :func:`deal_sample`, ``deal_ids`` only these; ``index``: the tables'
        :class:`DealIndex` (default: made here)."""
        deals = tables["deals"]
        index = index if index is not None else DealIndex.of(tables)
        ids = index.ids
        pos = index.positions("deals", deals["deal_id"])
        created, closed = _times(deals["created_at"]), _times(deals["closed_at"])
        outcome, outcomes = _codes(deals["outcome"])
        rep, reps = _codes(deals["rep_id"])
        customer, customers = _codes(deals["customer_id"])
        cols = {
            "created": created,
            "closed": closed,
            "open": outcome == _code_of(outcomes, "open"),
            "won": outcome == _code_of(outcomes, "won"),
            "lost": outcome == _code_of(outcomes, "lost"),
            "rep": rep,
            "customer": customer,
        }
        u0, u1 = _us(t0), _us(t1)
        some = (created <= u1) & (cols["open"] | (closed > u0)) & (pos >= 0)
        piece = np.zeros(len(ids), dtype=bool)
        piece[pos[some]] = True
        wanted = None
        if share < 1.0:
            members = np.flatnonzero(piece)
            piece[members[~deal_sample(ids[members], share)]] = False
            wanted = piece
        if deal_ids is not None:
            chosen = np.zeros(len(ids), dtype=bool)
            at = ids.get_indexer(pd.Index(deal_ids))
            chosen[at[at >= 0]] = True
            wanted = chosen if wanted is None else wanted & chosen
            piece &= chosen

        def per_deal(name: str) -> tuple[pd.DataFrame, np.ndarray, np.ndarray] | None:
            df = tables.get(name)
            if df is None or "deal_id" not in df:
                return None
            rows, at = index.rows_of(name, df["deal_id"], piece)
            return df, rows, at

        self = cls(
            config=config,
            ids=ids,
            deals=deals,
            deal_pos=pos,
            deal_cols=cols,
            wanted=wanted,
            stages=None,
            history=None,
            activities=None,
            kinds=None,
            rep_window=None,
            quotes=None,
            collab=None,
            collab_codes={},
            customers=tables.get("customers"),
            customer_rows=None,
            reps=tables.get("reps"),
        )
        if self.customers is not None:
            self._build_customers(self.customers, customers)
        if "stage_history" in tables:
            self._build_history(tables["stage_history"], u1, index)
        act = per_deal("activities")
        if act is not None:
            self._build_activities(*act, reps, u0, u1)
        quotes = per_deal("quotes")
        if quotes is not None:
            self._build_quotes(*quotes)
        collab = per_deal("collab_events")
        if collab is not None:
            self._build_collab(*collab)
        return self

    def _build_history(self, sh: pd.DataFrame, u1: int, index: DealIndex) -> None:
        entered = _times(sh["entered_at"])
        keep = entered <= u1
        pos = index.positions("stage_history", sh["deal_id"])
        # deals missing from the deals table still have stays: positions after the ids
        missing = keep & (pos < 0) & sh["deal_id"].notna().to_numpy()
        if missing.any():
            extra, _ = pd.factorize(sh["deal_id"].to_numpy()[missing])
            pos[missing] = len(self.ids) + extra
        keep &= pos >= 0
        rows = np.flatnonzero(keep)
        stage, self.stages = _codes(sh["stage"])
        ent = entered[rows]
        # by deal, then entry (missing entries last), stable: the order of the pandas sort
        order = np.lexsort((np.where(ent == _NAT, np.iinfo(np.int64).max, ent), pos[rows]))
        rows = rows[order]
        self.history = _Table(pos[rows], {"entered": entered[rows], "stage": stage[rows]})

    def _build_activities(
        self, act: pd.DataFrame, rows: np.ndarray, pos: np.ndarray, reps: pd.Index, u0: int, u1: int
    ) -> None:
        kind, self.kinds = _codes(act["kind"])
        occurred = _times(act["occurred_at"])
        cols = {"kind": kind[rows], "occurred": occurred[rows]}
        if "responded_at" in act:
            cols["responded"] = _times(act["responded_at"])[rows]
        if "quality" in act:
            quality = act["quality"].to_numpy(dtype="float64", na_value=np.nan)
            cols["quality"] = quality[rows]
            lo = u0 - _REP_QUALITY_US
            window = np.flatnonzero((occurred >= lo) & (occurred <= u1))
            self.rep_window = {
                "rep": _recode(act["rep_id"], reps, window),
                "occurred": occurred[window],
                "quality": quality[window],
            }
        self.activities = _Table(pos, cols)

    def _build_quotes(self, q: pd.DataFrame, rows: np.ndarray, pos: np.ndarray) -> None:
        version = q["version"].to_numpy(dtype="float64", na_value=np.nan)[rows]
        # by deal, then version (missing last), stable: the order of the pandas sort
        order = np.lexsort((np.nan_to_num(version, nan=np.inf), np.isnan(version), pos))
        rows = rows[order]
        self.quotes = _Table(
            pos[order],
            {
                "sent": _times(q["sent_at"])[rows],
                "viewed": _times(q["first_viewed_at"])[rows],
                "replied": _times(q["replied_at"])[rows],
                "amount": q["amount"].to_numpy(dtype="float64", na_value=np.nan)[rows],
            },
        )

    def _build_customers(self, cust: pd.DataFrame, ids: pd.Index) -> None:
        """Each deal customer code's row in ``cust`` (-1: none), when the customer ids
        are unique and given (else each date looks the customers up by id)."""
        key = cust.get("customer_id")
        if key is None or key.isna().any() or not key.is_unique:
            return
        self.customer_rows = np.append(pd.Index(key).get_indexer(ids), -1)

    def _build_collab(self, ev: pd.DataFrame, rows: np.ndarray, pos: np.ndarray) -> None:
        kind, kinds = _codes(ev["kind"])
        role, roles = _codes(ev["role"])
        # event and request ids in one code space (a missing id matches a missing one,
        # as in a pandas merge)
        ids = np.concatenate(
            [
                ev["event_id"].to_numpy(dtype=object)[rows],
                ev["request_id"].to_numpy(dtype=object)[rows],
            ]
        )
        joint, _ = pd.factorize(ids, use_na_sentinel=False)
        self.collab = _Table(
            pos,
            {
                "kind": kind[rows],
                "role": role[rows],
                "occurred": _times(ev["occurred_at"])[rows],
                "event": joint[: len(rows)],
                "request": joint[len(rows) :],
                "quality": ev["quality"].to_numpy(dtype="float64", na_value=np.nan)[rows],
            },
        )
        self.collab_codes = {
            name: _code_of(kinds, name)
            for name in ("plan_revision", "terms_revision", "doc_version", "request", "response")
        }
        self.collab_codes["technical"] = _code_of(roles, "technical")
        self.collab_codes["commercial"] = _code_of(roles, "commercial")

    # ------------------------------------------------------------------ one date
    def features(self, t: pd.Timestamp) -> pd.DataFrame:
        """The snapshot rows of the deals open at ``t`` (in deal-id order): the
        columns of :func:`salesml.health.snapshots.build_features`."""
        t = pd.Timestamp(t)
        u = _us(t)
        d = self.deal_cols
        known = d["created"] <= u
        late = d["closed"] > u
        is_open = known & (d["open"] | late) & (self.deal_pos >= 0)
        if self.wanted is not None:
            is_open &= self.wanted[np.maximum(self.deal_pos, 0)]
        open_rows = np.flatnonzero(is_open)
        opened, first = np.unique(self.deal_pos[open_rows], return_index=True)
        rows = open_rows[first]
        n = len(rows)
        # slot of each deal position in this date's rows (-1: not open)
        slot = np.full(len(self.ids) + self._extra_ids(), -1, dtype="int64")
        slot[opened] = np.arange(n)

        open_deals = self.deals.iloc[rows]
        idx = pd.Index(open_deals["deal_id"].to_numpy(), name="deal_id")
        out = pd.DataFrame(index=idx)
        out["as_of"] = t
        out["rep_id"] = open_deals["rep_id"].to_numpy()
        out["customer_id"] = open_deals["customer_id"].to_numpy()
        created = d["created"][rows]
        age = _days(_delta(np.full(n, u), created))
        entered, stage = self._history_features(u, known, late, slot, n, out, open_deals)
        out["stage"] = stage
        order = {s: i for i, s in enumerate(self.config.stage_order)}
        out["stage_index"] = out["stage"].map(order).astype("float64")
        out["age_days"] = age
        amount = pd.to_numeric(open_deals["amount"], errors="coerce").to_numpy(
            dtype="float64", na_value=np.nan
        )
        out["amount"] = amount
        out["log_amount"] = np.log1p(pd.Series(amount, index=idx).clip(lower=0))
        out["product_line"] = open_deals["product_line"].astype("str").to_numpy()
        if entered is None:
            out["days_in_stage"] = out["age_days"]
        else:
            last = np.where(entered == _NAT, created, entered)
            out["days_in_stage"] = _days(_delta(np.full(n, u), last))

        self._activity_features(u, slot, n, out, age)
        self._quote_features(u, slot, n, out)
        self._collab_features(u, slot, n, out)
        self._rep_customer_features(t, u, known, late, rows, out)

        shared.fill_feature_columns(out, NUMERIC_FEATURES, CATEGORICAL_FEATURES)
        for col in CATEGORICAL_FEATURES:
            out[col] = out[col].astype("str")
        cols = [*ID_COLUMNS, *NUMERIC_FEATURES, *CATEGORICAL_FEATURES]
        return out.reset_index()[cols]

    def _extra_ids(self) -> int:
        """Deal positions beyond the deals table (stage history of unknown deals)."""
        h = self.history
        if h is None or not len(h.pos):
            return 0
        return max(int(h.pos.max()) + 1 - len(self.ids), 0)

    def _history_features(
        self,
        u: int,
        known: np.ndarray,
        late: np.ndarray,
        slot: np.ndarray,
        n: int,
        out: pd.DataFrame,
        open_deals: pd.DataFrame,
    ) -> tuple[np.ndarray | None, np.ndarray]:
        """The last stage entry and the stage of each open deal, and ``stage_p90_days``.

        The stage is the last one entered by ``u`` (else the deal's own): that of
        ``SalesData.as_of``. Stays are those completed by ``u``: until the next entry,
        or until the deal's close for the last stage.
        """
        own = open_deals["stage"]
        h = self.history
        if h is None or not (h.cols["entered"] <= u).any():
            return None, own.astype("str").to_numpy()
        m = h.cols["entered"] <= u
        pos, ent, stg = h.pos[m], h.cols["entered"][m], h.cols["stage"][m]
        present, _, ends = _first_last(pos)
        # the stage as of u: the last entry's (missing entries sort last), else the deal's
        s_present = slot[present]
        here = s_present >= 0
        last_code = np.full(n, -1, dtype="int64")
        last_code[s_present[here]] = stg[ends[here]]
        names = own.to_numpy(dtype=object).copy()
        has = last_code >= 0
        names[has] = np.asarray(self.stages, dtype=object)[last_code[has]]
        stage = pd.Series(names, dtype=object).astype(own.dtype).astype("str").to_numpy()
        s = slot[pos]
        entered = _max_time(s[s >= 0], ent[s >= 0], n)
        # completed stays: the next entry of the same deal, else its close (as of u)
        same = np.r_[pos[1:] == pos[:-1], False]
        nxt = np.full(len(pos), _NAT, dtype="int64")
        nxt[:-1][same[:-1]] = ent[1:][same[:-1]]
        closed = self._closed_first(u, known, late)
        at = np.full(len(pos), _NAT, dtype="int64")
        in_deals = pos < len(self.ids)
        at[in_deals] = closed[pos[in_deals]]
        end = np.where(nxt == _NAT, at, nxt)
        stay = _days(_delta(end, ent))
        ok = ~np.isnan(stay) & (stg >= 0)
        if ok.any():
            p90 = pd.Series(stay[ok]).groupby(stg[ok]).quantile(0.9)
            by_name = dict(
                zip(np.asarray(self.stages, dtype=object)[p90.index], p90.to_numpy(), strict=True)
            )
            out["stage_p90_days"] = pd.Series(stage, index=out.index).map(by_name).astype("float64")
        else:
            out["stage_p90_days"] = np.nan
        return entered, stage

    def _closed_first(self, u: int, known: np.ndarray, late: np.ndarray) -> np.ndarray:
        """Per deal position: the close instant (as of ``u``) of its first known row."""
        rows = np.flatnonzero(known & (self.deal_pos >= 0))
        pos, first = np.unique(self.deal_pos[rows], return_index=True)
        closed = np.where(late, _NAT, self.deal_cols["closed"])
        out = np.full(len(self.ids), _NAT, dtype="int64")
        out[pos] = closed[rows[first]]
        return out

    def _activity_features(
        self, u: int, slot: np.ndarray, n: int, out: pd.DataFrame, age: np.ndarray
    ) -> None:
        a = self.activities
        if a is None or self.kinds is None:
            return
        occ = a.cols["occurred"]
        s = slot[a.pos]
        m = (occ <= u) & (s >= 0)
        s, occ, kind = s[m], occ[m], a.cols["kind"][m]
        for k in ACTIVITY_KINDS:
            out[f"n_{k}"] = _count(s[kind == _code_of(self.kinds, k)], n)
        out["n_activities"] = _count(s, n)
        ago = _days(_delta(np.full(len(occ), u), occ))
        for days in (14, 30):
            out[f"touches_{days}d"] = _count(s[ago <= days], n)
        # a deal with no activity yet has been silent since it was created
        last = _days(_delta(np.full(n, u), _max_time(s, occ, n)))
        out["days_since_activity"] = np.where(np.isnan(last), age, last)
        visit = kind == _code_of(self.kinds, "visit")
        last = _days(_delta(np.full(n, u), _max_time(s[visit], occ[visit], n)))
        out["days_since_visit"] = np.where(np.isnan(last), age, last)
        msg = kind == _code_of(self.kinds, "message")
        if "responded" in a.cols:
            resp = a.cols["responded"][m][msg]
            resp = np.where(resp > u, _NAT, resp)
            sm, om = s[msg], occ[msg]
            delay = _hours(_delta(resp, om))
            out["reply_delay_hours_mean"] = _mean(sm, delay, n)
            out["reply_delay_hours_max"] = _max(sm, delay, n)
            waiting = resp == _NAT
            out["unanswered_messages"] = _count(sm[waiting], n)
            wait = _hours(_delta(np.full(int(waiting.sum()), u), om[waiting]))
            out["message_wait_hours"] = np.nan_to_num(_max(sm[waiting], wait, n), nan=0.0)
        if "quality" in a.cols:
            out["visit_quality_mean"] = _mean(s[visit], a.cols["quality"][m][visit], n)

    def _quote_features(self, u: int, slot: np.ndarray, n: int, out: pd.DataFrame) -> None:
        q = self.quotes
        if q is None:
            return
        s = slot[q.pos]
        m = (q.cols["sent"] <= u) & (s >= 0)
        s = s[m]
        viewed = q.cols["viewed"][m]
        viewed = np.where(viewed > u, _NAT, viewed)
        replied = q.cols["replied"][m]
        replied = np.where(replied > u, _NAT, replied)
        amount = q.cols["amount"][m]
        out["n_quotes"] = _count(s, n)
        # first and last amount given, by version (rows are sorted by deal and version)
        has = ~np.isnan(amount)
        present, starts, ends = _first_last(s[has])
        first = np.full(n, np.nan)
        last = np.full(n, np.nan)
        first[present] = amount[has][starts]
        last[present] = amount[has][ends]
        change = last / np.where(first > 0, first, np.nan) - 1.0
        out["quote_amount_change"] = np.nan_to_num(change, nan=0.0)
        seen = viewed != _NAT
        sv, fv, rv = s[seen], viewed[seen], replied[seen]
        out["quotes_viewed"] = _count(sv, n)
        waiting = rv == _NAT
        open_wait = _hours(_delta(np.full(int(waiting.sum()), u), fv[waiting]))
        out["quote_unanswered_hours"] = np.nan_to_num(_max(sv[waiting], open_wait, n), nan=0.0)
        # replies that came before the view (a reply by phone) count as no wait
        wait = np.clip(_hours(_delta(np.where(waiting, u, rv), fv)), 0, None)
        out["quote_wait_hours_max"] = np.nan_to_num(_max(sv, wait, n), nan=0.0)

    def _collab_features(self, u: int, slot: np.ndarray, n: int, out: pd.DataFrame) -> None:
        c = self.collab
        if c is None:
            return
        code = self.collab_codes
        s = slot[c.pos]
        m = (c.cols["occurred"] <= u) & (s >= 0)
        s = s[m]
        kind, role, occ = c.cols["kind"][m], c.cols["role"][m], c.cols["occurred"][m]
        plan = (kind == code["plan_revision"]) & (role == code["technical"])
        terms = (kind == code["terms_revision"]) & (role == code["commercial"])
        out["plan_revisions"] = _count(s[plan], n)
        out["terms_revisions"] = _count(s[terms], n)
        out["doc_versions"] = _count(s[kind == code["doc_version"]], n)
        req = kind == code["request"]
        out["collab_requests"] = _count(s[req], n)
        resp = kind == code["response"]
        asked = c.cols["event"][m][req]
        answered = np.isin(asked, c.cols["request"][m][resp])
        out["collab_open_requests"] = _count(s[req][~answered], n)
        # each response with its request (a merge keeping the responses' order)
        left = pd.DataFrame(
            {
                "key": c.cols["request"][m][resp],
                "occurred": occ[resp],
                "quality": c.cols["quality"][m][resp],
            }
        )
        right = pd.DataFrame({"key": asked, "asked": occ[req], "slot": s[req]})
        pair = left.merge(right, on="key", how="inner")
        ps = pair["slot"].to_numpy()
        hours = _hours(_delta(pair["occurred"].to_numpy(), pair["asked"].to_numpy()))
        out["collab_response_hours_mean"] = _mean(ps, hours, n)
        out["collab_response_quality_mean"] = _mean(ps, pair["quality"].to_numpy(), n)

    def _rep_customer_features(
        self,
        t: pd.Timestamp,
        u: int,
        known: np.ndarray,
        late: np.ndarray,
        rows: np.ndarray,
        out: pd.DataFrame,
    ) -> None:
        d = self.deal_cols
        closed = known & (d["won"] | d["lost"]) & ~late
        won = d["won"] & closed
        n_closed, n_won = int(closed.sum()), int(won.sum())
        prior = n_won / n_closed if n_closed else 0.5
        n_reps = int(max(d["rep"].max(initial=-1), 0)) + 1
        rep = d["rep"][rows]
        n = np.bincount(d["rep"][closed & (d["rep"] >= 0)], minlength=n_reps)
        w = np.bincount(d["rep"][won & (d["rep"] >= 0)], minlength=n_reps)
        n = np.where(rep >= 0, n[np.maximum(rep, 0)], 0).astype("float64")
        w = np.where(rep >= 0, w[np.maximum(rep, 0)], 0).astype("float64")
        out["rep_win_rate"] = (w + REP_PRIOR_DEALS * prior) / (n + REP_PRIOR_DEALS)
        out["rep_closed_deals"] = n
        customer = d["customer"][rows]
        n_customers = int(max(d["customer"].max(initial=-1), 0)) + 1
        wins = np.bincount(d["customer"][won & (d["customer"] >= 0)], minlength=n_customers)
        out["customer_prior_wins"] = np.where(
            customer >= 0, wins[np.maximum(customer, 0)], 0
        ).astype("float64")
        if self.rep_window is not None:
            rw = self.rep_window
            recent = (rw["occurred"] <= u) & (u - rw["occurred"] <= _REP_QUALITY_US)
            recent &= rw["rep"] >= 0
            q = _mean(rw["rep"][recent], rw["quality"][recent], n_reps)
            out["rep_activity_quality"] = np.where(rep >= 0, q[np.maximum(rep, 0)], np.nan)
        if self.customers is not None and self.customer_rows is not None:
            cust = self.customers
            at = self.customer_rows[customer]
            if "created_at" in cust:
                later = _times(cust["created_at"]) > u
                at = np.where((at >= 0) & later[np.maximum(at, 0)], -1, at)
            for src, dst in shared.CUSTOMER_ATTRIBUTES:
                if src in cust:
                    values = cust[src].array.take(at, allow_fill=True)
                    out[dst] = pd.Series(values).astype("str").to_numpy()
        elif self.customers is not None:
            cust = SalesData({"customers": self.customers}).as_of(t).customers
            cust = cust.drop_duplicates("customer_id").set_index("customer_id")
            for dst, values in shared.customer_attributes(cust, out["customer_id"]).items():
                out[dst] = values
        if "region" not in out and self.reps is not None and "region" in self.reps:
            reps = SalesData({"reps": self.reps}).as_of(t).reps
            reg = reps.drop_duplicates("rep_id").set_index("rep_id")["region"]
            out["region"] = reg.reindex(out["rep_id"]).astype("str").to_numpy()
