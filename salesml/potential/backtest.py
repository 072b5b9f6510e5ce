"""Rolling-origin backtest of lead (account) potential against its baselines, without leakage.

The machinery is :func:`salesml.scoring.rolling_origin` (deal health's): at each origin
the model and the baselines (historic conversion by channel, or win rate by segment;
the rule signals alone) learn only from snapshots whose label was known at the origin
and are scored on the leads (accounts) open then.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd

from salesml.data.bundle import SalesData
from salesml.filters import FilterLike, FilterSpec
from salesml.periods import PeriodLike, as_period
from salesml.potential.baselines import account_baselines, lead_baselines
from salesml.potential.model import AccountPotentialModel, PotentialModel
from salesml.potential.snapshots import account_snapshots, lead_snapshots
from salesml.scoring.backtest import BacktestResult, rolling_origin

__all__ = ["Kind", "backtest", "first_instant", "snapshot_builder"]

Kind = Literal["lead", "account"]
#: Snapshot columns carried into the backtest's predictions (visit planning reads them).
KEEP: dict[str, tuple[str, ...]] = {
    "lead": ("channel", "rep_id", "revenue", "lead_age_days"),
    "account": ("segment", "region", "rep_id", "revenue", "account_age_days"),
}


def _kind(kind: str) -> Kind:
    if kind not in ("lead", "account"):
        raise ValueError(f"kind must be 'lead' or 'account', got {kind!r}")
    return kind  # type: ignore[return-value]


def snapshot_builder(kind: str) -> Any:
    """:func:`lead_snapshots` or :func:`account_snapshots`."""
    return lead_snapshots if _kind(kind) == "lead" else account_snapshots


def model_class(kind: str) -> type[PotentialModel]:
    """:class:`PotentialModel` or :class:`AccountPotentialModel`."""
    return PotentialModel if _kind(kind) == "lead" else AccountPotentialModel


def first_instant(data: SalesData, kind: str) -> pd.Timestamp:
    """The first instant worth a snapshot: the first lead (or deal)."""
    if _kind(kind) == "lead":
        if not data.has("leads"):
            raise ValueError(
                "lead potential needs a leads table; the dataset has none "
                "(score accounts with kind='account' instead)"
            )
        return pd.Timestamp(data.leads["created_at"].min())
    data.require("deals", analysis="account potential")
    return pd.Timestamp(data.deals["created_at"].min())


def backtest(
    data: SalesData,
    *,
    kind: str = "lead",
    start: str | pd.Timestamp | None = None,
    end: str | pd.Timestamp | None = None,
    period: PeriodLike | None = None,
    freq: str = "MS",
    horizon_days: int = 90,
    snapshot_freq: str = "W-MON",
    history_start: str | pd.Timestamp | None = None,
    snapshots: pd.DataFrame | None = None,
    model_kwargs: dict[str, Any] | None = None,
    filters: FilterLike = None,
) -> BacktestResult:
    """Rolling-origin backtest of :class:`PotentialModel` (or the account model).

    Parameters
    ----------
    data
        The full dataset.
    kind
        ``"lead"`` (baselines ``channel_baseline``, ``rules_baseline``) or
        ``"account"`` (``segment_baseline``, ``rules_baseline``).
    start, end, freq, period
        Origins: ``pandas.date_range(start, end, freq=freq)``, or every ``freq``
        inside ``period``.
    horizon_days
        Label horizon.
    snapshot_freq, history_start
        Training snapshots every ``snapshot_freq`` from ``history_start`` (default:
        the month after the first lead / deal) to the last origin.
    snapshots
        Precomputed snapshots of the same kind and horizon to reuse.
    model_kwargs
        Settings for the model.
    filters
        Score only the held-out rows these filters keep (columns of the snapshots).

    Returns
    -------
    salesml.scoring.BacktestResult
        Pooled ``auc``, ``brier``, ``log_loss``, ``ece`` of ``model`` and each baseline;
        :attr:`~salesml.scoring.BacktestResult.auc_lift` is against the channel
        (segment) baseline.
    """
    kind = _kind(kind)
    p = as_period(period)
    if p is not None:
        origins = pd.date_range(p.start, p.end - pd.Timedelta(seconds=1), freq=freq)
    else:
        if start is None or end is None:
            raise ValueError("give the backtest origins as start and end, or as a period")
        origins = pd.date_range(pd.Timestamp(start), pd.Timestamp(end), freq=freq)
    if not len(origins):
        raise ValueError(f"no origin between {start} and {end} at frequency {freq!r}")
    build = snapshot_builder(kind)
    if snapshots is None:
        first = (
            pd.Timestamp(history_start)
            if history_start is not None
            else first_instant(data, kind).normalize() + pd.offsets.MonthBegin(1)
        )
        dates = pd.date_range(first, origins[-1], freq=snapshot_freq).union(origins)
        snapshots = build(data, as_of=dates, horizon_days=horizon_days)
    have = set(pd.DatetimeIndex(snapshots["as_of"].unique()))
    absent = [o for o in origins if o not in have]
    if absent:
        more = build(data, as_of=absent, horizon_days=horizon_days, fingerprint=False)
        attrs = snapshots.attrs
        snapshots = pd.concat([snapshots, more], ignore_index=True)
        snapshots.attrs = attrs
    spec = FilterSpec.parse(filters)
    kwargs = dict(model_kwargs or {})
    cls = model_class(kind)
    reference = "channel_baseline" if kind == "lead" else "segment_baseline"

    def evaluate(test: pd.DataFrame) -> np.ndarray:
        return spec.mask(test, table=f"{kind} snapshots")

    return rolling_origin(
        snapshots,
        origins=list(origins),
        make_model=lambda: cls(**kwargs),
        make_baselines=lead_baselines if kind == "lead" else account_baselines,
        keep=KEEP[kind],
        evaluate=evaluate if spec else None,
        reference=reference,
        settings={
            "kind": kind,
            "start": f"{origins[0]:%Y-%m-%d}",
            "end": f"{origins[-1]:%Y-%m-%d}",
            "freq": freq,
            "horizon_days": horizon_days,
            "snapshot_freq": snapshot_freq,
        },
    )
