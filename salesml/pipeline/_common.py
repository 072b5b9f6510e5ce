"""Shared plumbing of the pipeline analytics: deal frames, dimensions, filters, groups."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from salesml.data.bundle import SalesData
from salesml.pipeline.periods import PeriodLike, mask_period

__all__ = [
    "DIMENSIONS",
    "Filters",
    "GroupBy",
    "apply_filters",
    "deal_frame",
    "group_codes",
    "normalise_by",
    "require_columns",
    "stage_reached",
]

#: A filter mapping: column -> one value or a list of accepted values.
Filters = Mapping[str, Any] | None
#: A grouping: ``None`` (whole organisation), one dimension, or several.
GroupBy = str | Sequence[str] | None

#: Dimensions a deal can be grouped or filtered by, beyond the deals' own columns:
#: name -> (table, column in that table, key the deal joins on).
DIMENSIONS: dict[str, tuple[str, str, str]] = {
    "region": ("customers", "region", "customer_id"),
    "segment": ("customers", "segment", "customer_id"),
    "channel": ("customers", "source_channel", "customer_id"),
    "source_channel": ("customers", "source_channel", "customer_id"),
    "store_id": ("customers", "store_id", "customer_id"),
    "team": ("reps", "team", "rep_id"),
    "rep_region": ("reps", "region", "rep_id"),
    "manager_id": ("reps", "manager_id", "rep_id"),
}


def require_columns(df: pd.DataFrame, table: str, columns: Iterable[str], analysis: str) -> None:
    """Raise ``ValueError`` naming the table and every column ``analysis`` needs but lacks."""
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(
            f"{analysis} needs column(s) {', '.join(missing)} in table {table!r}, "
            f"which has: {', '.join(map(str, df.columns))}"
        )


def normalise_by(by: GroupBy) -> list[str]:
    """``by`` as a list of dimension names (empty for the whole organisation)."""
    if by is None:
        return []
    if isinstance(by, str):
        return [by]
    out = list(by)
    for b in out:
        if not isinstance(b, str):
            raise TypeError(f"group-by dimensions are column names, got {b!r}")
    return out


def _attach(
    data: SalesData, frame: pd.DataFrame, names: Iterable[str], analysis: str
) -> pd.DataFrame:
    """Add dimension columns (joined from customers / reps) that ``frame`` lacks."""
    add: dict[str, pd.Series] = {}
    for name in names:
        if name in frame.columns or name in add:
            continue
        if name not in DIMENSIONS:
            known = sorted(set(DIMENSIONS) | set(frame.columns))
            raise ValueError(
                f"{analysis}: unknown dimension {name!r}; use one of: {', '.join(known)}"
            )
        table, col, key = DIMENSIONS[name]
        if not data.has(table):
            data.require(table, analysis=f"{analysis} by {name!r}")
        src = data[table]
        require_columns(src, table, [key, col], f"{analysis} by {name!r}")
        lookup = src.drop_duplicates(key).set_index(key)[col]
        add[name] = frame[key].map(lookup)
    if add:
        frame = frame.assign(**add)
    return frame


def apply_filters(frame: pd.DataFrame, filters: Filters, table: str) -> np.ndarray:
    """Boolean mask of the rows matching every ``column -> value(s)`` filter.

    Values are compared for equality (a list or tuple means "any of"); nothing is
    evaluated as code. ``None`` or an empty mapping keeps every row.
    """
    mask = np.ones(len(frame), dtype=bool)
    if not filters:
        return mask
    if not isinstance(filters, Mapping):
        raise TypeError(
            f"filters must be a mapping column -> value or list, got {type(filters).__name__}"
        )
    for col, value in filters.items():
        if col not in frame.columns:
            raise ValueError(
                f"cannot filter {table} on {col!r}: no such column or dimension "
                f"(available: {', '.join(map(str, frame.columns))})"
            )
        if value is None:
            continue
        values = list(value) if isinstance(value, list | tuple | set | frozenset) else [value]
        mask &= frame[col].isin(values).to_numpy(dtype=bool)
    return mask


def stage_reached(data: SalesData, deals: pd.DataFrame, analysis: str) -> tuple[np.ndarray, str]:
    """Index of the furthest stage each deal reached; ``len(stage_order)`` for a won deal.

    From ``stage_history`` when present (its furthest stage; a deal reaching stage k
    has reached every earlier stage), combined with ``deals.stage`` (the last stage
    entered) so deals without history rows still count. Without ``stage_history``
    ``deals.stage`` alone is used.

    Returns
    -------
    reached, source
        Integer array aligned with ``deals`` and ``"stage_history"`` or ``"deals.stage"``.
    """
    order = data.stage_order
    pos = {s: i for i, s in enumerate(order)}
    n_stages = len(order)
    stage = deals["stage"]
    idx = stage.map(pos)
    bad = idx.isna() & stage.notna()
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise ValueError(
            f"{analysis}: table 'deals', column 'stage', row {row} "
            f"(deal {deals['deal_id'].iloc[row]!r}) has stage {stage.iloc[row]!r}, which is "
            f"not in the stage order {order} (set stage_order in dataset.yaml)"
        )
    reached = idx.fillna(0).to_numpy(dtype=np.int64)
    source = "deals.stage"
    if data.has("stage_history"):
        hist = data.stage_history
        require_columns(hist, "stage_history", ["deal_id", "stage"], analysis)
        hidx = hist["stage"].map(pos)
        bad = hidx.isna()
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise ValueError(
                f"{analysis}: table 'stage_history', column 'stage', row {row} "
                f"(deal {hist['deal_id'].iloc[row]!r}) has stage {hist['stage'].iloc[row]!r}, "
                f"which is not in the stage order {order} (set stage_order in dataset.yaml)"
            )
        codes = pd.Index(deals["deal_id"]).get_indexer(hist["deal_id"])
        ok = codes >= 0
        best = np.full(len(deals), -1, dtype=np.int64)
        np.maximum.at(best, codes[ok], hidx.to_numpy(dtype=np.int64)[ok])
        reached = np.maximum(reached, best)
        source = "stage_history"
    won = (deals["outcome"] == "won").to_numpy(dtype=bool)
    reached = np.where(won, n_stages, reached)
    return reached, source


def deal_frame(
    data: SalesData,
    *,
    dims: Sequence[str],
    period: PeriodLike,
    filters: Filters,
    analysis: str,
) -> pd.DataFrame:
    """Deals of the cohort (created in ``period``, matching ``filters``) with dimensions.

    Output columns: the deals' columns, plus every dimension named in ``dims`` or in
    ``filters`` that deals lack (joined from customers or reps).
    """
    data.require("deals", analysis=analysis)
    deals = data.deals
    require_columns(
        deals,
        "deals",
        ["deal_id", "customer_id", "rep_id", "created_at", "stage", "outcome"],
        analysis,
    )
    wanted = list(dims) + [k for k in (filters or {}) if k not in dims]
    frame = _attach(data, deals, wanted, analysis)
    keep = mask_period(frame["created_at"], period) & apply_filters(frame, filters, "deals")
    if keep.all():
        return frame
    return frame.loc[keep]


def group_codes(frame: pd.DataFrame, dims: Sequence[str]) -> tuple[np.ndarray, pd.DataFrame]:
    """Integer group code per row and the frame of group keys (one row per code).

    Rows with a missing key get their own ``"(missing)"`` group rather than being
    dropped, so counts always add up to the cohort.
    """
    if not dims:
        return np.zeros(len(frame), dtype=np.int64), pd.DataFrame(index=range(1))
    code_list = []
    uniques = []
    for d in dims:
        col = frame[d]
        if col.isna().any():
            col = col.astype(object).where(col.notna(), "(missing)")
        c, u = pd.factorize(col, sort=True)
        code_list.append(c.astype(np.int64))
        uniques.append(pd.Index(u))
    if len(dims) == 1:
        keys = pd.DataFrame({dims[0]: uniques[0]})
        return code_list[0], keys
    mi = pd.MultiIndex(levels=uniques, codes=code_list, names=list(dims))
    codes, u = pd.factorize(mi, sort=True)
    keys = u.to_frame(index=False)
    keys.columns = list(dims)
    return codes.astype(np.int64), keys
