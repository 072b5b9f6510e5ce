"""Rolling-origin backtest of lead (account) potential against its baselines, without leakage.

The machinery is :func:`salesml.scoring.rolling_origin` (deal health's): at each origin
the model and the baselines (historic conversion by channel, or win rate by segment;
the rule signals alone) learn only from snapshots whose label was known at the origin
and are scored on the leads (accounts) open then.
"""

from __future__ import annotations

import functools
from typing import Any, Literal

import numpy as np
import pandas as pd

from salesml.data.bundle import SalesData
from salesml.filters import FilterSpec
from salesml.potential.accounts import account_snapshots
from salesml.potential.baselines import account_baselines, lead_baselines
from salesml.potential.model import AccountPotentialModel, PotentialModel
from salesml.potential.snapshots import (
    lead_snapshots,
    open_account_count,
    open_lead_count,
)
from salesml.scoring.backtest import BacktestResult
from salesml.scoring.task import ScoringTask, task_backtest

__all__ = ["TASKS", "Kind", "backtest", "first_instant", "snapshot_builder", "task"]

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


def _mask(kind: Kind) -> Any:
    def mask(frame: pd.DataFrame, spec: FilterSpec, data: SalesData) -> np.ndarray:
        return spec.mask(frame, table=f"{kind} snapshots")

    return mask


#: Lead and account potential as scoring tasks (see :class:`salesml.scoring.ScoringTask`).
TASKS: dict[str, ScoringTask] = {
    kind: ScoringTask(
        build=snapshot_builder(kind),
        first=functools.partial(first_instant, kind=kind),
        model=model_class(kind),
        baselines=lead_baselines if kind == "lead" else account_baselines,
        reference="channel_baseline" if kind == "lead" else "segment_baseline",
        keep=KEEP[kind],
        mask=_mask(kind),
        settings={"kind": kind},
        cuts_itself=True,
        distributed=True,
        count=open_lead_count if kind == "lead" else open_account_count,
    )
    for kind in ("lead", "account")
}


def task(kind: str) -> ScoringTask:
    """The scoring task of ``kind`` (``"lead"`` or ``"account"``)."""
    return TASKS[_kind(kind)]


def backtest(data: SalesData, *, kind: str = "lead", **settings: Any) -> BacktestResult:
    """Rolling-origin backtest of :class:`PotentialModel` (or the account model).

    Parameters
    ----------
    data
        The full dataset.
    kind
        ``"lead"`` (baselines ``channel_baseline``, ``rules_baseline``) or
        ``"account"`` (``segment_baseline``, ``rules_baseline``).
    **settings
        ``start``, ``end``, ``freq`` (``"MS"``) or ``period`` (the origins);
        ``horizon_days`` (90, the label horizon); ``snapshot_freq`` (``"W-MON"``) and
        ``history_start`` (training snapshots, default from the month after the first
        lead / deal); ``snapshots`` (precomputed ones of the same kind and horizon);
        ``model_kwargs``; ``filters`` (score only the held-out rows they keep, columns
        of the snapshots). See :func:`salesml.scoring.task.task_backtest`.

    Returns
    -------
    salesml.scoring.BacktestResult
        Pooled ``auc``, ``brier``, ``log_loss``, ``ece`` of ``model`` and each baseline;
        :attr:`~salesml.scoring.BacktestResult.auc_lift` is against the channel
        (segment) baseline.
    """
    return task_backtest(data, task(kind), **settings)
