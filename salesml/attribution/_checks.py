"""Input checks of the attribution analyses: errors that name table, column and row."""

from __future__ import annotations

import pandas as pd

from salesml.data.checks import require_columns

__all__ = ["require_amounts", "require_columns", "require_dates"]

_HINT = "load the data with salesml.load_dataset (which validates and quarantines bad rows)"


def _row_name(df: pd.DataFrame, key: str | None, pos: int) -> str:
    if key and key in df.columns:
        return f"{key} {str(df[key].iloc[pos])!r}"
    return f"row {df.index[pos]!r}"


def require_dates(df: pd.DataFrame, table: str, column: str, key: str | None = None) -> None:
    """Raise ``ValueError`` unless ``table.column`` holds dates; name the first bad row."""
    s = df[column]
    if pd.api.types.is_datetime64_any_dtype(s):
        return
    parsed = pd.to_datetime(s, errors="coerce", format="mixed")
    bad = (parsed.isna() & s.notna()).to_numpy().nonzero()[0]
    where = f"; {_row_name(df, key, int(bad[0]))} has {s.iloc[int(bad[0])]!r}" if len(bad) else ""
    raise ValueError(
        f"column {column!r} of table {table!r} must hold dates, not {s.dtype}{where}; {_HINT}"
    )


def require_amounts(df: pd.DataFrame, table: str, column: str, key: str | None = None) -> None:
    """Raise ``ValueError`` unless ``table.column`` is numeric, present and >= 0."""
    s = df[column]
    if not pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s):
        num = pd.to_numeric(s, errors="coerce")
        bad = (num.isna() & s.notna()).to_numpy().nonzero()[0]
        where = (
            f"; {_row_name(df, key, int(bad[0]))} has {s.iloc[int(bad[0])]!r}" if len(bad) else ""
        )
        raise ValueError(
            f"column {column!r} of table {table!r} must be numeric, not {s.dtype}{where}; {_HINT}"
        )
    bad = (s.isna() | (s < 0)).to_numpy().nonzero()[0]
    if len(bad):
        i = int(bad[0])
        raise ValueError(
            f"column {column!r} of table {table!r} must be a non-negative amount; "
            f"{_row_name(df, key, i)} has {s.iloc[i]} ({len(bad)} such row(s)); {_HINT}"
        )
