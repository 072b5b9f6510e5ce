"""Fit as of one instant: the model a report or an app would have had on that day.

:func:`fit_as_of` cuts the data at ``as_of`` (``SalesData.as_of``), takes training
snapshots every ``snapshot_freq`` over the ``history_days`` before it, keeps the rows
whose label was known at ``as_of`` and fits. The report and the app call the same
function with the same instant, so they show the same scores.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from salesml.periods import PeriodLike, as_period
from salesml.scoring.model import ScoringModel

__all__ = ["AsOfFit", "data_end", "fit_as_of", "review_as_of", "training_dates"]


def data_end(data: Any) -> pd.Timestamp:
    """The latest dated fact of the dataset."""
    tr = data.time_range
    if tr is None:
        raise ValueError("the dataset has no dated rows: give as_of")
    return pd.Timestamp(tr[1])


def review_as_of(
    data: Any,
    *,
    period: PeriodLike | None = None,
    as_of: str | pd.Timestamp | None = None,
) -> pd.Timestamp:
    """The instant a review looks from.

    ``as_of`` when given; else the last second of ``period``, or the end of the data
    when that is earlier (a review of the current month shows today); else the end of
    the data.
    """
    if as_of is not None:
        return pd.Timestamp(as_of)
    end = data_end(data)
    p = as_period(period)
    if p is None:
        return end
    return min(p.end - pd.Timedelta(seconds=1), end)


@dataclass
class AsOfFit:
    """A model fit as of one instant.

    Attributes
    ----------
    as_of
        The instant.
    model
        The fitted model.
    snapshots
        Every training snapshot taken (labels as the data at ``as_of`` tells them).
    training
        The rows the model was fit on (label known at ``as_of``): selected from
        :attr:`snapshots` when asked for, not held beside them (at tier L a fit's
        snapshots are up to 2M rows; a held copy of the labelled ones cost 0.5 GB).
    fingerprint
        The dataset fingerprint recorded on the model card.
    """

    as_of: pd.Timestamp
    model: ScoringModel
    snapshots: pd.DataFrame
    fingerprint: str | None

    @property
    def training(self) -> pd.DataFrame:
        """The snapshots whose label was known at :attr:`as_of` (a new frame per call)."""
        return _known(self.snapshots, self.as_of, self.fingerprint)


def _known(snaps: pd.DataFrame, t: pd.Timestamp, fingerprint: str | None) -> pd.DataFrame:
    """The rows of ``snaps`` labelled by ``t``, the fingerprint in their ``attrs``."""
    known = snaps.loc[snaps["label_known_at"] <= t]
    known.attrs = {**snaps.attrs, "data_fingerprint": fingerprint}
    return known


def training_dates(
    first: pd.Timestamp, as_of: pd.Timestamp, *, history_days: int, freq: str
) -> pd.DatetimeIndex:
    """Snapshot dates every ``freq`` from ``max(first, as_of - history_days)`` to the day before."""
    start = max(pd.Timestamp(first).normalize(), as_of - pd.Timedelta(days=history_days))
    return pd.date_range(start, as_of - pd.Timedelta(days=1), freq=freq)


def fit_as_of(
    data: Any,
    *,
    as_of: pd.Timestamp,
    model: ScoringModel,
    snapshots: Callable[..., pd.DataFrame],
    first: pd.Timestamp,
    history_days: int = 540,
    snapshot_freq: str = "W-MON",
    fingerprint: str | None = None,
    cut: bool = True,
    client: Any = None,
) -> AsOfFit:
    """Fit ``model`` on what was known at ``as_of``.

    Parameters
    ----------
    data
        The dataset (a ``SalesData``); its history after ``as_of`` is never used.
    as_of
        The instant.
    model
        An unfitted model.
    snapshots
        The leak-free snapshot builder: ``snapshots(past, as_of=dates, data_end=as_of,
        fingerprint=False)``.
    first
        Earliest instant worth a snapshot (the first deal's creation, say).
    history_days, snapshot_freq
        Training snapshots every ``snapshot_freq`` over the ``history_days`` before ``as_of``.
    fingerprint
        Fingerprint recorded on the card (default: ``data.fingerprint()`` of the whole
        dataset given, the value a report header shows for it).
    cut
        Hand ``snapshots`` the data cut at ``as_of`` (``data.as_of(as_of)``); ``False``
        for a builder that reads nothing after its ``data_end`` (it gets the whole
        data, without the copy).
    client
        A Dask client the model trains on (``None``: here).
    """
    t = pd.Timestamp(as_of)
    past = data.as_of(t) if cut else data
    dates = training_dates(first, t, history_days=history_days, freq=snapshot_freq)
    snaps = snapshots(past, as_of=dates, data_end=t, fingerprint=False)
    fp = fingerprint if fingerprint is not None else data.fingerprint()
    known = _known(snaps, t, fp)
    fitted = model.fit(known, client=client) if client is not None else model.fit(known)
    del known  # AsOfFit.training selects the rows again when asked
    return AsOfFit(as_of=t, model=fitted, snapshots=snaps, fingerprint=fp)
