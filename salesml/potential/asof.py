"""Lead (account) potential fit on what was known at one instant (report and app alike)."""

from __future__ import annotations

from typing import Any

from salesml.data.bundle import SalesData
from salesml.potential.backtest import task
from salesml.scoring.asof import AsOfFit
from salesml.scoring.task import task_fit_as_of

__all__ = ["AsOfFit", "fit_as_of"]


def fit_as_of(data: SalesData, *, kind: str = "lead", **settings: Any) -> AsOfFit:
    """A :class:`PotentialModel` (``kind="account"``: the account model) fit at one instant.

    The instant is ``as_of``, else the end of ``period`` (or of the data, when that
    is earlier), as for deal health; training snapshots every ``snapshot_freq`` over
    the ``history_days`` before it, labels as known then. The other ``settings``
    (``horizon_days``, ``history_days``, ``snapshot_freq``, ``model_kwargs``,
    ``fingerprint``) are those of :func:`salesml.scoring.task.task_fit_as_of`.
    """
    return task_fit_as_of(data, task(kind), **settings)
