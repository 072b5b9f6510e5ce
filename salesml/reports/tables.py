"""Tables for people: percentages, rounded numbers, translated labels, compact HTML.

Shared by the report notebooks and the app views so both show tables alike.
"""

from __future__ import annotations

import html
from collections.abc import Iterable

import pandas as pd

from salesml.reports.messages import label, t

__all__ = ["format_frame", "frame_html"]


def format_frame(
    df: pd.DataFrame,
    lang: str = "en",
    *,
    percent: Iterable[str] = (),
    decimals: int = 1,
    label_values: Iterable[str] = (),
    max_rows: int = 40,
) -> pd.DataFrame:
    """A display copy of ``df``: every cell a string, column names translated.

    Parameters
    ----------
    df
        The table (not modified).
    lang
        ``en`` or ``zh``.
    percent
        Columns holding shares in [0, 1], shown as ``12.3%``.
    decimals
        Decimals of the other float columns (with thousands separators).
    label_values
        Columns whose values (stages, channels, segments) are translated.
    max_rows
        Rows kept at most (from the top).
    """
    shown = df.head(max_rows).copy()
    pct, lab = set(percent), set(label_values)
    for col in shown.columns:
        s = shown[col]
        if col in pct:
            shown[col] = s.map(lambda x: "" if pd.isna(x) else f"{x:.1%}")
        elif col in lab:
            shown[col] = s.map(lambda x: label(x, lang))
        elif pd.api.types.is_bool_dtype(s):
            shown[col] = s.map(lambda x: "✓" if x else "")
        elif pd.api.types.is_float_dtype(s):
            shown[col] = s.map(lambda x, d=decimals: "" if pd.isna(x) else f"{x:,.{d}f}")
        elif pd.api.types.is_integer_dtype(s):
            shown[col] = s.map(lambda x: f"{x:,}")
    return shown.rename(columns=lambda c: label(c, lang))


def frame_html(
    df: pd.DataFrame | None,
    lang: str = "en",
    *,
    percent: Iterable[str] = (),
    decimals: int = 1,
    label_values: Iterable[str] = (),
    max_rows: int = 40,
    css_class: str = "salesml-table",
) -> str:
    """Compact HTML of ``df`` formatted by :func:`format_frame` (an "empty" note if no rows)."""
    if df is None or not len(df):
        return f"<p><i>{html.escape(t('report.empty', lang))}</i></p>"
    shown = format_frame(
        df,
        lang,
        percent=percent,
        decimals=decimals,
        label_values=label_values,
        max_rows=max_rows,
    )
    return shown.to_html(classes=css_class, index=False, na_rep="", border=0)
