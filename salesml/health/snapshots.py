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
from salesml.distributed import map_pieces, resolve_client
from salesml.health.deal_arrays import DealPiece
from salesml.health.deal_index import DealIndex, deal_sample
from salesml.health.features import (
    CATEGORICAL_FEATURES,
    FEATURE_COLUMNS,
    FEATURE_TABLES,
    ID_COLUMNS,
    LABEL_COLUMNS,
    LOAD_COLUMNS,
    NUMERIC_FEATURES,
    TABLES,
    unavailable_features,
)
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

#: Outcome instants that count as dated facts when judging labels.
_OUTCOMES: tuple[tuple[str, str], ...] = (("deals", "closed_at"),)

#: Columns loaded for the load's key rule only (later duplicate rows rejected, as in a
#: full load) and dropped once loaded: no feature reads them (about 0.5 GiB at tier L).
_KEY_ONLY: dict[str, tuple[str, ...]] = {"activities": ("activity_id",), "quotes": ("quote_id",)}


def load_health_data(path: str | os.PathLike[str], **options: Any) -> SalesData:
    """Load what deal health reads from a dataset folder: its tables (those present),
    only the :data:`LOAD_COLUMNS` of the big ones, ids and categories as pandas
    ``category`` (``load_dataset(compact=True)``, categories in sorted order so tables
    sort and group as from a plain load). Snapshots, scores and reasons are those of a
    full load (last-digit differences in a few means at most). The activity and quote
    ids serve the load's duplicate check and are then dropped.

    ``options`` go to :func:`salesml.data.io.load_dataset` (``validate``, ``period``...).
    """
    from salesml.data.projected import load_projected

    data = load_projected(path, TABLES, LOAD_COLUMNS, **options)
    dropped = {
        t: data[t].drop(columns=[c for c in cols if c in data[t]])
        for t, cols in _KEY_ONLY.items()
        if data.has(t)
    }
    return data.replace(**dropped)


def _attrs(data: SalesData) -> dict[str, object]:
    return {"unavailable": unavailable_features(data), "currency": data.config.currency}


def _restricted(data: SalesData) -> SalesData:
    data.require("deals", analysis="deal health snapshots")
    return SalesData({t: data[t] for t in TABLES if data.has(t)}, data.config)


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
    # only the deals open at t and their rows are read (the same features as a whole cut)
    ids = None if deal_ids is None else pd.Index(deal_ids)
    out = DealPiece.build(src.tables, src.config, t, t, deal_ids=ids).features(t)
    out.attrs = _attrs(data)
    return out


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


def _snapshot_piece(
    dates: Sequence[pd.Timestamp],
    *,
    config: DatasetConfig,
    share: float = 1.0,
    index: DealIndex | None = None,
    **tables: pd.DataFrame,
) -> pd.DataFrame:
    """The snapshots of one piece of dates (module level: it runs on Dask workers too)."""
    dates = sorted(pd.Timestamp(d) for d in dates)
    piece = DealPiece.build(tables, config, dates[0], dates[-1], share=share, index=index)
    frames = [piece.features(t) for t in dates]
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
        index=DealIndex.of(src.tables),
        **src.tables,
    )
    snaps = _stack(frames)
    out = _attach_labels(snaps, src.deals, horizon_days=horizon_days, data_end=end)
    out.attrs = shared.snapshot_attrs(
        data, end, horizon_days, fingerprint, unavailable_features(data)
    )
    return out


def _stack(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """``pd.concat(frames, ignore_index=True)`` of frames with the same columns, each
    frame freed once copied (``frames`` is emptied): about one copy of the snapshots
    in memory, not two. The float columns (contiguous in the column order) go into one
    block; the others are concatenated column by column."""
    if not frames:
        return pd.DataFrame()
    cols = list(frames[0].columns)
    floats = [c for c in cols if frames[0][c].dtype == np.float64]
    at = [cols.index(c) for c in floats]
    if not floats or at != list(range(at[0], at[0] + len(at))):
        out = pd.concat(frames, ignore_index=True)
        frames.clear()
        return out
    n = sum(len(f) for f in frames)
    block = np.empty((len(floats), n), dtype="float64")
    others: dict[str, list[pd.Series]] = {c: [] for c in cols if c not in floats}
    start = 0
    while frames:
        f = frames.pop(0)
        block[:, start : start + len(f)] = f[floats].to_numpy(dtype="float64").T
        for c, parts in others.items():
            parts.append(f[c])
        start += len(f)
        del f
    out = pd.DataFrame(block.T, columns=floats, copy=False)
    for i, c in enumerate(cols[: at[0]]):
        out.insert(i, c, pd.concat(others.pop(c), ignore_index=True))
    for c in cols[at[0] + len(floats) :]:
        out[c] = pd.concat(others.pop(c), ignore_index=True)
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
