"""Lead (account) potential fit on what was known at one instant (report and app alike)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from salesml.data.bundle import SalesData
from salesml.health.asof import review_as_of
from salesml.periods import PeriodLike
from salesml.potential.backtest import first_instant, model_class, snapshot_builder
from salesml.scoring.asof import AsOfFit
from salesml.scoring.asof import fit_as_of as _fit_scoring_as_of

__all__ = ["AsOfFit", "fit_as_of"]


def fit_as_of(
    data: SalesData,
    *,
    kind: str = "lead",
    as_of: str | pd.Timestamp | None = None,
    period: PeriodLike | None = None,
    horizon_days: int = 90,
    history_days: int = 540,
    snapshot_freq: str = "W-MON",
    model_kwargs: dict[str, Any] | None = None,
    fingerprint: str | None = None,
) -> AsOfFit:
    """A :class:`PotentialModel` (``kind="account"``: the account model) fit at one instant.

    The instant is ``as_of``, else the end of ``period`` (or of the data, when that
    is earlier), as for deal health; training snapshots every ``snapshot_freq`` over
    the ``history_days`` before it, labels as known then.
    """
    first = first_instant(data, kind)
    t = review_as_of(data, period=period, as_of=as_of)
    build = snapshot_builder(kind)

    def snapshots(past: SalesData, **kw: Any) -> pd.DataFrame:
        return build(past, horizon_days=horizon_days, **kw)

    return _fit_scoring_as_of(
        data,
        as_of=t,
        model=model_class(kind)(**(model_kwargs or {})),
        snapshots=snapshots,
        first=first,
        history_days=history_days,
        snapshot_freq=snapshot_freq,
        fingerprint=fingerprint,
    )
