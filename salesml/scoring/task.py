"""One scoring task, backtested and fit as of an instant the same way for every area.

Deal health, lead potential and account potential differ only in *what* they score:
the snapshot builder, the first instant worth a snapshot, the model, the baselines,
the columns carried into the predictions and how a filter selects rows. A
:class:`ScoringTask` names those; :func:`task_backtest` (rolling origin) and
:func:`task_fit_as_of` (the fit a report or an app uses) do the rest once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from salesml.distributed import resolve_client
from salesml.filters import FilterLike, FilterSpec
from salesml.periods import PeriodLike, as_period
from salesml.results import Note
from salesml.scoring.asof import AsOfFit, fit_as_of, review_as_of
from salesml.scoring.backtest import BacktestResult, rolling_origin
from salesml.scoring.baselines import Baseline
from salesml.scoring.model import ScoringModel

__all__ = [
    "MAX_TRAINING_ROWS",
    "ScoringTask",
    "backtest_origins",
    "task_backtest",
    "task_fit_as_of",
]


def _filter_mask(frame: pd.DataFrame, spec: FilterSpec, data: Any) -> np.ndarray:
    return spec.mask(frame, table="snapshots")


@dataclass(frozen=True)
class ScoringTask:
    """What one area scores.

    Attributes
    ----------
    build
        The leak-free snapshot builder: ``build(data, as_of=dates, horizon_days=h,
        data_end=..., fingerprint=...)``.
    first
        ``first(data)``: the first instant worth a snapshot (raises a clear error when
        the table it needs is missing).
    model
        The model class (called with the model settings).
    baselines
        Factory of the named baselines.
    reference
        The baseline the AUC lift is measured against.
    keep
        Snapshot columns carried into the backtest predictions.
    mask
        ``mask(frame, filters, data)``: the rows a filter keeps (default: the frame's
        own columns).
    settings
        Extra entries of the backtest's ``settings`` (``kind``, say).
    cuts_itself
        ``build`` never reads facts after its ``data_end``: the fit as of an instant
        hands it the whole data with ``data_end`` set instead of a cut copy.
    distributed
        ``build`` takes ``client=`` (its pieces run on a Dask cluster when given) and
        the model's ``fit`` trains there too.
    count
        ``count(data, dates)``: about how many snapshot rows ``build`` returns; with it
        the fit as of an instant bounds its training rows (``build(sample=share)``,
        a deterministic share of the ids).
    """

    build: Callable[..., pd.DataFrame]
    first: Callable[[Any], pd.Timestamp]
    model: Callable[..., ScoringModel]
    baselines: Callable[[], Mapping[str, Baseline]]
    reference: str
    keep: tuple[str, ...] = ()
    mask: Callable[[pd.DataFrame, FilterSpec, Any], np.ndarray] = _filter_mask
    settings: Mapping[str, Any] = field(default_factory=dict)
    cuts_itself: bool = False
    distributed: bool = False
    count: Callable[[Any, Any], int] | None = None


#: Most training snapshot rows a fit as of an instant takes (more: a deterministic
#: sample of the ids, every snapshot of a chosen id kept).
MAX_TRAINING_ROWS = 2_000_000


def backtest_origins(
    *,
    start: str | pd.Timestamp | None,
    end: str | pd.Timestamp | None,
    period: PeriodLike | None,
    freq: str,
) -> pd.DatetimeIndex:
    """The origins ``pandas.date_range(start, end, freq)``, or every ``freq`` in ``period``."""
    p = as_period(period)
    if p is not None:
        origins = pd.date_range(p.start, p.end - pd.Timedelta(seconds=1), freq=freq)
    else:
        if start is None or end is None:
            raise ValueError("give the backtest origins as start and end, or as a period")
        origins = pd.date_range(pd.Timestamp(start), pd.Timestamp(end), freq=freq)
    if not len(origins):
        raise ValueError(f"no origin between {start} and {end} at frequency {freq!r}")
    return origins


def task_backtest(
    data: Any,
    task: ScoringTask,
    *,
    start: str | pd.Timestamp | None = None,
    end: str | pd.Timestamp | None = None,
    period: PeriodLike | None = None,
    freq: str = "MS",
    horizon_days: int | None = 90,
    snapshot_freq: str = "W-MON",
    history_start: str | pd.Timestamp | None = None,
    snapshots: pd.DataFrame | None = None,
    model_kwargs: dict[str, Any] | None = None,
    filters: FilterLike = None,
    data_end: str | pd.Timestamp | None = None,
) -> BacktestResult:
    """Rolling-origin backtest of ``task``'s model and baselines.

    Parameters
    ----------
    data
        The full dataset (a ``SalesData``).
    task
        What is scored.
    start, end, freq, period
        Origins: ``pandas.date_range(start, end, freq=freq)``, or every ``freq``
        inside ``period``.
    horizon_days
        Label horizon (``None``: the eventual outcome, where the builder allows it).
    snapshot_freq, history_start
        Training snapshots every ``snapshot_freq`` from ``history_start`` (default: the
        month start after ``task.first(data)``) to the last origin; origins are always
        added.
    snapshots
        Precomputed snapshots of the same data and horizon to reuse; origins they
        lack are built and added.
    model_kwargs
        Settings for the model.
    filters
        Score only the held-out rows these filters keep; the models still learn from
        every row.
    data_end
        For a task whose builder ``cuts_itself``: read the data as known at this
        instant (``data`` may run later; nothing after it is read). Otherwise
        ``data`` must already be cut.

    Returns
    -------
    salesml.scoring.BacktestResult
        Pooled ``auc``, ``brier``, ``log_loss``, ``ece``, ``n`` of ``model`` and each
        baseline; :attr:`~salesml.scoring.BacktestResult.auc_lift` is against
        ``task.reference``.
    """
    origins = backtest_origins(start=start, end=end, period=period, freq=freq)
    if data_end is not None and not task.cuts_itself:
        data = data.as_of(pd.Timestamp(data_end))
    known: dict[str, Any] = (
        {"data_end": pd.Timestamp(data_end)} if data_end is not None and task.cuts_itself else {}
    )
    if snapshots is None:
        first = (
            pd.Timestamp(history_start)
            if history_start is not None
            else pd.Timestamp(task.first(data)).normalize() + pd.offsets.MonthBegin(1)
        )
        dates = pd.date_range(first, origins[-1], freq=snapshot_freq).union(origins)
        snapshots = task.build(data, as_of=dates, horizon_days=horizon_days, **known)
    have = set(pd.DatetimeIndex(snapshots["as_of"].unique()))
    absent = [o for o in origins if o not in have]
    if absent:
        more = task.build(data, as_of=absent, horizon_days=horizon_days, fingerprint=False, **known)
        attrs = snapshots.attrs
        snapshots = pd.concat([snapshots, more], ignore_index=True)
        snapshots.attrs = attrs
    spec = FilterSpec.parse(filters)
    kwargs = dict(model_kwargs or {})

    def evaluate(test: pd.DataFrame) -> np.ndarray:
        return task.mask(test, spec, data)

    return rolling_origin(
        snapshots,
        origins=list(origins),
        make_model=lambda: task.model(**kwargs),
        make_baselines=task.baselines,
        keep=task.keep,
        evaluate=evaluate if spec else None,
        reference=task.reference,
        settings={
            **task.settings,
            "start": f"{origins[0]:%Y-%m-%d}",
            "end": f"{origins[-1]:%Y-%m-%d}",
            "freq": freq,
            "horizon_days": horizon_days,
            "snapshot_freq": snapshot_freq,
        },
    )


def task_fit_as_of(
    data: Any,
    task: ScoringTask,
    *,
    as_of: str | pd.Timestamp | None = None,
    period: PeriodLike | None = None,
    horizon_days: int = 90,
    history_days: int = 540,
    snapshot_freq: str = "W-MON",
    model_kwargs: dict[str, Any] | None = None,
    fingerprint: str | None = None,
    max_rows: int | None = MAX_TRAINING_ROWS,
    client: Any = None,
) -> AsOfFit:
    """``task``'s model fit on what was known at the review instant.

    Parameters
    ----------
    data
        The dataset (its history after the instant is never used).
    task
        What is scored.
    as_of, period
        The instant (:func:`~salesml.scoring.asof.review_as_of`).
    horizon_days
        The score is P(positive within this many days).
    history_days, snapshot_freq
        Training snapshots every ``snapshot_freq`` over the ``history_days`` before it.
    model_kwargs
        Settings for the model.
    fingerprint
        Dataset fingerprint for the card (default ``data.fingerprint()``: the one a
        report header shows for the same data).
    max_rows
        Most training snapshot rows (tasks with a ``count``): above it the snapshots
        are those of a deterministic share of the ids (``max_rows / rows``), every
        snapshot of a chosen id kept; the card says so. ``None``: no bound.
    client
        A Dask client (or ``None``: ``SALESML_DASK_SCHEDULER`` if set, else this
        process) for tasks that can run there: snapshots built and the model trained
        on the cluster.

    Returns
    -------
    salesml.scoring.AsOfFit
        ``as_of``, ``model``, ``snapshots`` (every training snapshot), ``training``
        (those fit on), ``fingerprint``.
    """
    first = task.first(data)
    t = review_as_of(data, period=period, as_of=as_of)

    client = resolve_client(client) if task.distributed else None
    shares: list[float] = []

    def snapshots(past: Any, **kw: Any) -> pd.DataFrame:
        extra: dict[str, Any] = {}
        if task.count is not None and max_rows is not None:
            n = task.count(past, kw["as_of"])
            if n > max_rows:
                extra["sample"] = max_rows / n
                shares.append(max_rows / n)
        if task.distributed:
            extra["client"] = client
        return task.build(past, horizon_days=horizon_days, **kw, **extra)

    fit = fit_as_of(
        data,
        as_of=t,
        model=task.model(**(model_kwargs or {})),
        snapshots=snapshots,
        first=first,
        history_days=history_days,
        snapshot_freq=snapshot_freq,
        fingerprint=fingerprint,
        cut=not task.cuts_itself,
        client=client,
    )
    if shares:
        fit.model.notes_.append(
            Note("scoring.note.sampled", (("share", f"{shares[0]:.0%}"), ("rows", f"{max_rows:,}")))
        )
    return fit
