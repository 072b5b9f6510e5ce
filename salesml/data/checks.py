"""Input checks shared by every analysis: errors that name the table and the columns."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

__all__ = ["require_columns"]


def require_columns(df: pd.DataFrame, table: str, columns: Iterable[str], analysis: str) -> None:
    """Raise ``ValueError`` naming the table and every column ``analysis`` needs but lacks.

    Parameters
    ----------
    df
        The table.
    table
        Its name in the data model (for the message).
    columns
        Columns the analysis reads.
    analysis
        What needs them, as the user would call it ("lead leakage").
    """
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(
            f"{analysis} needs column(s) {', '.join(missing)} in table {table!r}, "
            f"which has: {', '.join(map(str, df.columns))}"
        )
