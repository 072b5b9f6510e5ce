"""The review instant and the model fit on what was known then (report and app alike).

The machinery is the scoring layer's (:func:`salesml.scoring.task.task_fit_as_of`,
:func:`salesml.scoring.asof.review_as_of`); health keeps its names.
"""

from __future__ import annotations

from typing import Any

from salesml.data.bundle import SalesData
from salesml.health.backtest import HEALTH_TASK
from salesml.scoring.asof import AsOfFit, data_end, review_as_of
from salesml.scoring.task import task_fit_as_of

__all__ = ["AsOfFit", "data_end", "fit_as_of", "review_as_of"]


def fit_as_of(data: SalesData, **settings: Any) -> AsOfFit:
    """A :class:`DealHealthModel` fit on what was known at the review instant.

    The ``deal_health_weekly`` report and the ``deal_whatif`` app both call this, so
    for the same dataset and period they score every deal alike.

    Parameters
    ----------
    data
        The dataset (its history after the instant is never used).
    **settings
        ``as_of``, ``period`` (the instant, :func:`review_as_of`), ``horizon_days``
        (90), ``history_days`` (540), ``snapshot_freq`` (``"W-MON"``),
        ``model_kwargs`` (settings for :class:`DealHealthModel`), ``fingerprint``: see
        :func:`salesml.scoring.task.task_fit_as_of`.

    Returns
    -------
    salesml.scoring.AsOfFit
        ``as_of``, ``model``, ``snapshots`` (every training snapshot), ``training``
        (those fit on), ``fingerprint``.
    """
    return task_fit_as_of(data, HEALTH_TASK, **settings)
