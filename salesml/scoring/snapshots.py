"""Pieces every leak-free snapshot builder shares (deal health, lead and account potential).

The builders themselves stay with their areas (what a deal, a lead or an account is
differs); the dates they are asked for, the instant their labels are judged at, the
customer attributes they copy and the ``attrs`` they record are the same, and live here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import pandas as pd

__all__ = [
    "CUSTOMER_ATTRIBUTES",
    "as_dates",
    "customer_attributes",
    "fill_feature_columns",
    "horizon_labels",
    "label_end",
    "snapshot_attrs",
]

#: Customer columns a snapshot copies: ``customers`` column -> snapshot column.
CUSTOMER_ATTRIBUTES: tuple[tuple[str, str], ...] = (
    ("segment", "segment"),
    ("region", "region"),
    ("source_channel", "channel"),
    ("tier", "tier"),
)


def as_dates(as_of: str | pd.Timestamp | Iterable[str | pd.Timestamp]) -> list[pd.Timestamp]:
    """One date or many as a sorted list of distinct timestamps (never empty)."""
    if isinstance(as_of, str | pd.Timestamp) or not isinstance(as_of, Iterable):
        return [pd.Timestamp(as_of)]
    dates = sorted({pd.Timestamp(d) for d in as_of})
    if not dates:
        raise ValueError("as_of is empty: give at least one date")
    return dates


def label_end(data: object, outcomes: Sequence[tuple[str, str]]) -> pd.Timestamp:
    """The instant the data runs to: its latest dated fact or outcome.

    Parameters
    ----------
    data
        A ``SalesData``.
    outcomes
        ``(table, column)`` pairs of outcome instants (a deal closed, a lead converted)
        that count as dated facts too; absent tables or columns are skipped.
    """
    tr = data.time_range  # type: ignore[attr-defined]
    if tr is None:
        raise ValueError("the dataset has no dated rows: cannot tell when labels are known")
    end = pd.Timestamp(tr[1])
    for table, col in outcomes:
        if data.has(table) and col in data[table]:  # type: ignore[attr-defined]
            last = data[table][col].max()  # type: ignore[index]
            if pd.notna(last):
                end = max(end, pd.Timestamp(last))
    return end


def customer_attributes(
    customers: pd.DataFrame,
    ids: pd.Series | pd.Index,
    *,
    attributes: Sequence[tuple[str, str]] = CUSTOMER_ATTRIBUTES,
) -> dict[str, object]:
    """The customer columns of ``attributes`` looked up for ``ids``, as text arrays.

    ``customers`` is indexed by ``customer_id``; a column it lacks is left out.
    """
    out: dict[str, object] = {}
    for src, dst in attributes:
        if src in customers:
            out[dst] = customers[src].reindex(ids).astype("str").to_numpy()
    return out


def snapshot_attrs(
    data: object,
    end: pd.Timestamp,
    horizon_days: int | None,
    fingerprint: bool,
    unavailable: Mapping[str, str],
    **extra: object,
) -> dict[str, object]:
    """The ``attrs`` of a snapshot frame: fingerprint, horizon, data end, currency,
    unavailable features and any ``extra`` entries."""
    return {
        "data_fingerprint": data.fingerprint() if fingerprint else None,  # type: ignore[attr-defined]
        "horizon_days": horizon_days,
        "data_end": f"{end:%Y-%m-%d %H:%M:%S}",
        "unavailable": dict(unavailable),
        "currency": data.config.currency,  # type: ignore[attr-defined]
        **extra,
    }


def horizon_labels(
    as_of: pd.Series,
    horizon_end: pd.Series,
    data_end: pd.Timestamp,
    decided: Sequence[tuple[pd.Series, float | pd.Series, pd.Series]],
) -> tuple[pd.Series, pd.Series]:
    """Labels "positive within the horizon" and the instant each became known.

    Parameters
    ----------
    as_of
        The snapshot instants.
    horizon_end
        The end of each snapshot's horizon.
    data_end
        The instant the data runs to.
    decided
        ``(mask, value, at)`` triples, applied in order: where ``mask`` holds, the
        label is ``value`` (a number, or a series read at the mask), known at ``at``.
        Rows no triple decides and whose horizon ended inside the data are 0.0, known
        at the horizon's end; the rest stay NaN / NaT (not yet knowable).
    """
    label = pd.Series(float("nan"), index=as_of.index)
    known = pd.Series(pd.NaT, index=as_of.index, dtype=as_of.dtype)
    for mask, value, at in decided:
        label[mask] = value[mask] if isinstance(value, pd.Series) else value
        known[mask] = at[mask]
    timed_out = label.isna() & (horizon_end <= data_end)
    label[timed_out] = 0.0
    known[timed_out] = horizon_end[timed_out]
    return label, known


def fill_feature_columns(
    out: pd.DataFrame, numeric: Sequence[str], categorical: Sequence[str]
) -> pd.DataFrame:
    """Add every feature ``out`` lacks: NaN numbers, missing text (in place; returned)."""
    for col in numeric:
        if col not in out:
            out[col] = float("nan")
    for col in categorical:
        if col not in out:
            out[col] = pd.Series(pd.NA, index=out.index, dtype="str")
    return out
