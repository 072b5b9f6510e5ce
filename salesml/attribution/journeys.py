"""Customer journeys: ordered touch paths per customer and per unconverted lead.

A **touch** is one recorded contact between the organisation and a prospect,
labelled for attribution:

- each lead is a touch labelled with its marketing channel (``online_ads``,
  ``wechat``, ``exhibition``, ``store_walkin``, ``referral``, ``telesales``,
  ``partner``), dated ``created_at``; a lead of a campaign therefore counts as a
  touch of that campaign's channel;
- each sales activity (visit, call, message, demo, ...) is a touch labelled by its
  ``kind`` (or its contact ``channel``: onsite, phone, wechat, ...), dated
  ``occurred_at``; activities can be left out (``activity_label=None``) to attribute
  between marketing channels only.

A journey is a customer's touches (its leads and activities) in time order, cut at
its acquisition (first won deal) when it converts; a lead that never became a
customer is a journey of one touch that did not convert. The conversion value is
the amount of the acquiring deal.

:func:`journeys` follows the analysis contract: ``period`` keeps the journeys that
*ended* in it (converted in it, or had their last touch in it when they did not
convert), ``as_of`` builds them from what was known then, ``filters`` select on the
journey's columns (``channel``, ``kind``, ``converted``, ``n_touches``...) and on its
customer's ``region``, ``segment`` and ``store_id``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from salesml.data.bundle import SalesData
from salesml.data.validate.text import arrow_text, text_is_in
from salesml.filters import FilterLike, FilterSpec
from salesml.i18n import check_lang, t
from salesml.periods import Period, PeriodLike, as_period
from salesml.results import AnalysisResult

__all__ = ["Journeys", "journey_frame", "journeys", "select_journeys"]

#: Columns of :attr:`Journeys.table`.
COLUMNS = [
    "journey_id",
    "kind",
    "channel",
    "region",
    "segment",
    "store_id",
    "path",
    "touches",
    "times",
    "n_touches",
    "first_touch_at",
    "last_touch_at",
    "converted",
    "converted_at",
    "value",
]
#: Filter names that stand for a journey column.
_RENAMES = {"source_channel": "channel", "customer_region": "region"}


@dataclass(kw_only=True)
class Journeys(AnalysisResult):
    """Result of :func:`journeys`.

    Attributes
    ----------
    table
        One row per journey: ``journey_id`` (customer or lead id), ``kind``
        (``customer``/``lead``), ``channel`` (source channel), ``region``, ``segment``,
        ``store_id`` (of the customer; missing for leads), ``path`` (touch labels joined
        by ``sep``), ``touches`` (list of labels), ``times`` (numpy array of
        timestamps), ``n_touches``, ``first_touch_at``, ``last_touch_at``,
        ``converted`` (bool), ``converted_at``, ``value`` (amount of the acquiring deal,
        0 if not converted). Journeys without any touch are left out.
    sep
        The separator of ``path``.
    """

    title_key: ClassVar[str] = "attribution.journeys.title"
    sep: str = ">"

    def key_findings(self, lang: str = "en") -> list[str]:
        """How many journeys, how many converted, how long they are."""
        check_lang(lang)
        j = self.table
        out = []
        if len(j):
            conv = int(j["converted"].sum())
            out.append(
                t(
                    "attribution.finding.journeys",
                    lang,
                    n=f"{len(j):,}",
                    converted=f"{conv:,}",
                    rate=f"{conv / len(j):.1%}",
                    touches=f"{j['n_touches'].mean():.1f}",
                )
            )
        else:
            out.append(t("attribution.finding.no_journeys", lang))
        return out + super().key_findings(lang)

    def summary(self) -> pd.DataFrame:
        """Journeys, conversions and mean touches per source channel."""
        j = self.table
        return (
            j.groupby("channel", observed=True)
            .agg(
                journeys=("journey_id", "size"),
                converted=("converted", "sum"),
                n_touches=("n_touches", "mean"),
            )
            .reset_index()
        )


def select_journeys(
    table: pd.DataFrame, *, period: Period | None = None, filters: FilterSpec | None = None
) -> pd.DataFrame:
    """The journeys of ``table`` that ended in ``period`` and pass ``filters``.

    A journey ends when it converts, or at its last touch when it did not convert.
    """
    keep = np.ones(len(table), dtype=bool)
    if period is not None:
        need = [c for c in ("converted", "converted_at", "last_touch_at") if c not in table]
        if need:
            raise ValueError(
                f"a period needs the journeys' {', '.join(need)} column(s) (as made by "
                "journeys(data)); aggregated paths have no dates"
            )
        end = table["converted_at"].where(table["converted"].astype(bool), table["last_touch_at"])
        keep &= period.mask(end)
    if filters:
        keep &= filters.renamed(_RENAMES).mask(table, table="journeys")
    return table[keep] if not keep.all() else table


def journey_frame(
    source: SalesData | Journeys | pd.DataFrame,
    *,
    period: PeriodLike = None,
    as_of: str | pd.Timestamp | None = None,
    filters: FilterLike = None,
    activity_label: Literal["kind", "channel"] | None = "kind",
) -> tuple[pd.DataFrame, Period | None, pd.Timestamp | None, FilterSpec]:
    """Journeys of ``source`` in ``period`` passing ``filters``, with the scope as parsed.

    ``source`` is a dataset (journeys are built, ``as_of`` applies), a :class:`Journeys`
    or a frame of journeys or aggregated paths (selected by ``period`` and ``filters``).
    """
    p = as_period(period)
    spec = FilterSpec.parse(filters)
    ts = None if as_of is None else pd.Timestamp(as_of)
    if isinstance(source, SalesData):
        j = journeys(source, period=p, as_of=ts, filters=spec, activity_label=activity_label)
        return j.table, p, ts, spec
    if isinstance(source, Journeys):
        table, built_for, built_at = source.table, source.period, source.as_of
        spec = spec if spec else source.filters
    elif isinstance(source, pd.DataFrame):
        table, built_for, built_at = source, None, None
    else:
        raise TypeError(
            "expected a dataset (SalesData), journeys(data) or a DataFrame of paths, got "
            f"{type(source).__name__}"
        )
    if ts is not None and ts != built_at:
        raise ValueError("as_of applies when journeys are built: pass the dataset instead")
    select = p if p is not None and p != built_for else None
    table = select_journeys(table, period=select, filters=FilterSpec.parse(filters))
    return table, p if p is not None else built_for, built_at, spec


def journeys(
    data: SalesData,
    *,
    period: PeriodLike = None,
    as_of: str | pd.Timestamp | None = None,
    filters: FilterLike = None,
    activity_label: Literal["kind", "channel"] | None = "kind",
    activity_kinds: Sequence[str] | None = None,
    collapse_repeats: bool = True,
    sep: str = ">",
    client: Any = None,
    chunks: int | None = None,
) -> Journeys:
    """Ordered touch paths per customer and per unconverted lead.

    Parameters
    ----------
    data
        A dataset with ``customers``, ``deals`` and ``leads``; ``activities`` if
        ``activity_label`` is set.
    period
        Keep the journeys that ended in this period (see the module docstring).
    as_of
        Build the journeys from what was known at this instant (``data.as_of``).
    filters
        Filters on the journey columns and the customer's region, segment, store.
    activity_label
        Label activities by ``kind`` or by contact ``channel``; ``None`` leaves
        activities out (leads only).
    activity_kinds
        Only these activity kinds are touches (all by default).
    collapse_repeats
        Merge consecutive touches with the same label (``visit>visit`` -> ``visit``).
    sep
        Separator of the ``path`` string; no touch label may contain it.
    client
        A ``distributed.Client`` (or ``None``: the scheduler of
        ``SALESML_DASK_SCHEDULER``, else this process; see
        :func:`salesml.distributed.resolve_client`). The paths are built per chunk
        of customers (and unconverted leads) with :func:`salesml.distributed.map_pieces`:
        on a cluster each worker builds its chunks; the result is the same, row for row.
    chunks
        How many chunks of journeys (default: 1 in this process, two per worker on a
        cluster). More chunks bound the memory of building the paths to a chunk's.

    Returns
    -------
    Journeys
        ``.table`` has one row per journey (columns on :class:`Journeys`).

    Raises
    ------
    MissingTableError
        When a table it needs is absent.
    ValueError
        When a touch label contains ``sep`` (the path text could not be read back).
    """
    p = as_period(period)
    spec = FilterSpec.parse(filters)
    ts = None if as_of is None else pd.Timestamp(as_of)
    if ts is not None:
        data = data.as_of(ts)
    table = _build(
        data,
        activity_label,
        activity_kinds,
        collapse_repeats,
        sep,
        client=client,
        chunks=chunks,
        period=p,
    )
    table = select_journeys(table, period=p, filters=spec)
    return Journeys(table=table.reset_index(drop=True), period=p, as_of=ts, filters=spec, sep=sep)


def _build(
    data: SalesData,
    activity_label: Literal["kind", "channel"] | None,
    activity_kinds: Sequence[str] | None,
    collapse_repeats: bool,
    sep: str,
    *,
    client: Any = None,
    chunks: int | None = None,
    period: Period | None = None,
) -> pd.DataFrame:
    """Every journey of ``data`` (with ``period``: only those that can end in it)."""
    data.require("customers", "deals", "leads", analysis="customer journeys")
    if activity_label is not None:
        data.require("activities", analysis="customer journeys with activity touches")
    cust = data.customers
    deals = data.deals
    won = deals[(deals["outcome"] == "won") & deals["closed_at"].notna()]
    first_won = won.sort_values(["closed_at", "deal_id"]).drop_duplicates("customer_id")
    acq_at = first_won.set_index("customer_id")["closed_at"]
    acq_val = first_won.set_index("customer_id")["amount"]

    ld = data.leads
    jid = ld["customer_id"].astype("str").where(ld["customer_id"].notna(), ld["lead_id"])
    act = data.activities if activity_label is not None else None
    if act is not None and activity_kinds is not None:
        act = act[act["kind"].isin(list(activity_kinds))]
    if period is not None:  # the touches of the journeys that can end in the period only
        ld, jid, act = _ending_in(period, ld, jid.astype("str"), act, acq_at)
    parts = [
        pd.DataFrame(
            {
                "journey_id": jid.astype("str").to_numpy(),
                "label": ld["channel"].astype("str").to_numpy(),
                "at": ld["created_at"].to_numpy(),
                "order": 0,
            }
        )
    ]
    if act is not None:
        parts.append(
            pd.DataFrame(
                {
                    "journey_id": act["customer_id"].astype("str").to_numpy(),
                    "label": act[activity_label].astype("str").to_numpy(),
                    "at": act["occurred_at"].to_numpy(),
                    "order": 1,
                }
            )
        )
    t = pd.concat(parts, ignore_index=True)
    del parts
    # reindex keeps the datetime dtype (NaT) also when no deal was won or nothing is touched
    cut = acq_at.reindex(t["journey_id"].to_numpy()).to_numpy()
    t = t[pd.isna(cut) | (t["at"].to_numpy() <= cut)]
    del cut
    _check_sep(t["label"], sep)
    out = _paths_by_chunk(t, collapse_repeats, sep, client=client, chunks=chunks)
    del t
    is_cust = out["journey_id"].isin(cust["customer_id"].astype("str"))
    out["kind"] = np.where(is_cust, "customer", "lead")
    ch_c = cust.set_index("customer_id")["source_channel"]
    ch_l = ld.set_index("lead_id")["channel"]
    out["channel"] = out["journey_id"].map(ch_c).fillna(out["journey_id"].map(ch_l))
    out["converted_at"] = acq_at.reindex(out["journey_id"].to_numpy()).to_numpy()
    out["converted"] = out["converted_at"].notna()
    out["value"] = out["journey_id"].map(acq_val).fillna(0.0).astype("float64")
    cust_attrs = cust.drop_duplicates("customer_id").set_index("customer_id")
    for col in ("region", "segment", "store_id"):
        if col in cust_attrs:
            out[col] = out["journey_id"].map(cust_attrs[col])
        else:
            out[col] = pd.Series(pd.NA, index=out.index, dtype="str")
    return out[COLUMNS]


def _ending_in(
    period: Period,
    ld: pd.DataFrame,
    jid: pd.Series,
    act: pd.DataFrame | None,
    acq_at: pd.Series,
) -> tuple[pd.DataFrame, pd.Series, pd.DataFrame | None]:
    """The leads (with their journey ids) and activities of the journeys that can end in
    ``period``: converted in it, or not converted with touches on both sides of its
    start (a journey's end, :func:`select_journeys`, is its conversion, else its
    ``last_touch_at``, which lies between its first and last touch). Each kept journey
    keeps all its touches, so its row is the one built from every journey; the
    selection proper is still :func:`select_journeys`."""
    at = pd.DataFrame({"at": ld["created_at"].to_numpy()}, index=jid.to_numpy())
    span = at.groupby(level=0)["at"].agg(["min", "max"])
    if act is not None and len(act):
        sa = act.groupby("customer_id", observed=True)["occurred_at"].agg(["min", "max"])
        sa.index = sa.index.astype("str")
        span = pd.concat([span, sa]).groupby(level=0).agg({"min": "min", "max": "max"})
    start, stop = (np.datetime64(b) for b in period.bounds)
    conv = acq_at.reindex(span.index.to_numpy()).to_numpy(dtype="datetime64[us]")
    lo = span["min"].to_numpy(dtype="datetime64[us]")
    hi = span["max"].to_numpy(dtype="datetime64[us]")
    unconverted = np.isnat(conv)
    can_end = np.where(
        unconverted,
        (hi >= start) & (lo < stop),
        (conv >= start) & (conv < stop),
    )
    if not can_end.any() and len(can_end):  # one journey, selected out after: same dtypes
        can_end[0] = True
    keep = span.index[can_end]
    keep_ld = jid.isin(keep).to_numpy()
    if act is not None:
        act = act[text_is_in(act["customer_id"], arrow_text(pd.Series(keep, dtype="str")))]
    return ld[keep_ld], jid[keep_ld], act


def _check_sep(labels: pd.Series, sep: str) -> None:
    """Refuse touch labels containing the path separator (checked once, on the distinct labels)."""
    distinct = pa.array(pd.unique(labels.to_numpy(dtype=object)), type=pa.string())
    if len(distinct) and pc.any(pc.match_substring(distinct, sep)).as_py():
        bad = sorted({x for x in distinct.to_pylist() if x and sep in x})[:3]
        raise ValueError(
            f"touch label(s) {bad} contain the path separator {sep!r}; pass another sep"
        )


def _paths_by_chunk(
    t: pd.DataFrame,
    collapse_repeats: bool,
    sep: str,
    *,
    client: Any = None,
    chunks: int | None = None,
) -> pd.DataFrame:
    """The paths of touches ``t``, built per chunk of journeys, here or on a cluster.

    The journeys are numbered in the order of their sorted ids and cut into ``chunks``
    contiguous ranges (default: one in this process, two per worker on a cluster); a
    journey's touches all fall in one chunk, each chunk's paths come out sorted by id,
    so the chunks concatenated in order are the single-pass result, row for row.
    """
    from salesml.distributed import map_pieces, resolve_client

    client = resolve_client(client)
    jcode, jids = pd.factorize(t["journey_id"], sort=True)
    if chunks is None:
        chunks = 1 if client is None else 2 * max(len(client.scheduler_info()["workers"]), 1)
    chunks = max(1, min(int(chunks), len(jids) or 1))
    if chunks == 1:
        return _chunk_paths(t[["journey_id", "label", "at", "order"]], collapse_repeats, sep)
    order = np.argsort(jcode, kind="stable")
    bounds = np.searchsorted(jcode[order], np.linspace(0, len(jids), chunks + 1).astype(np.int64))
    cols = ["journey_id", "label", "at", "order"]
    pieces = [
        t[cols].iloc[order[bounds[i] : bounds[i + 1]]].reset_index(drop=True) for i in range(chunks)
    ]
    del order
    done = map_pieces(_chunk_paths, pieces, collapse_repeats, sep, client=client, desc="journeys")
    return pd.concat(done, ignore_index=True)


def _chunk_paths(t: pd.DataFrame, collapse_repeats: bool, sep: str) -> pd.DataFrame:
    """One chunk's journeys: ``journey_id``, ``path``, ``touches``, ``times``, ``n_touches``,
    ``first_touch_at``, ``last_touch_at``, sorted by ``journey_id`` (module level: it is
    sent to the workers)."""
    # Order touches with integer keys (no string sort), then build paths in Arrow.
    jcode, jids = pd.factorize(t["journey_id"], sort=True)
    at = t["at"].to_numpy(dtype="datetime64[us]")
    order = np.lexsort((t["order"].to_numpy(), at.view("int64"), jcode))
    jcode = jcode[order]
    at = at[order]
    labels = t["label"].to_numpy(dtype=object)[order]
    if collapse_repeats and len(jcode):
        keep = np.concatenate([[True], (jcode[1:] != jcode[:-1]) | (labels[1:] != labels[:-1])])
        jcode, at, labels = jcode[keep], at[keep], labels[keep]
    starts = (
        np.flatnonzero(np.concatenate([[True], jcode[1:] != jcode[:-1]]))
        if len(jcode)
        else (np.array([], dtype=np.int64))
    )
    offsets = np.append(starts, len(jcode)).astype("int32")
    label_arr = pa.array(labels, type=pa.string())
    lists = pa.ListArray.from_arrays(pa.array(offsets), label_arr)
    out = pd.DataFrame({"journey_id": np.asarray(jids, dtype=object)[jcode[starts]]})
    out["path"] = pd.array(pc.binary_join(lists, sep), dtype="str")
    out["touches"] = lists.to_pylist()
    out["times"] = np.split(at, starts[1:]) if len(starts) else []
    out["n_touches"] = np.diff(offsets)
    out["first_touch_at"] = at[starts] if len(starts) else pd.Series(dtype="datetime64[us]")
    out["last_touch_at"] = at[offsets[1:] - 1] if len(starts) else pd.Series(dtype="datetime64[us]")
    return out
