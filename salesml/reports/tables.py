"""Tables for people: percentages, rounded numbers, translated labels, compact HTML.

Shared by the report notebooks and the app views so both show tables alike.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import pandas as pd

from salesml.i18n import label, t
from salesml.i18n import money as show_money

__all__ = ["format_frame", "frame_html"]


def _is_whole(s: pd.Series) -> bool:
    """Whether a float column holds only whole numbers (counts stored as floats)."""
    v = s.dropna()
    return bool(len(v)) and bool(np.isfinite(v).all()) and bool((v == np.round(v)).all())


def _cell(fmt: Callable[[float], str]) -> Callable[[Any], str]:
    def show(x: Any) -> str:
        return "" if pd.isna(x) else fmt(float(x))

    return show


def format_frame(
    df: pd.DataFrame,
    lang: str = "en",
    *,
    percent: Iterable[str] = (),
    money: Iterable[str] = (),
    counts: Iterable[str] = (),
    decimals: int = 1,
    label_values: Iterable[str] = (),
    max_rows: int = 40,
    currency: str | None = "CNY",
) -> pd.DataFrame:
    """A display copy of ``df``: every cell a string, column names translated.

    Formatting depends on the column: shares as ``12.3%``, amounts as ``¥9,325,300`` (in the
    dataset's ``currency``: ``$9,325,300`` for USD),
    counts as whole numbers (``83``, never ``83.0``), other numbers with thousands separators.
    A float column whose values are all whole numbers is shown as a count.

    Parameters
    ----------
    df
        The table (not modified).
    lang
        ``en`` or ``zh``.
    percent
        Columns holding shares in [0, 1], shown as ``12.3%``.
    money
        Columns of amounts, shown as ``¥9,325,300`` (rounded to the unit).
    counts
        Columns of counts, shown rounded to whole numbers even when estimates
        make them fractional (``83.4`` is shown as ``83``).
    decimals
        Decimals of the other float columns (with thousands separators).
    label_values
        Columns whose values (stages, channels, segments) are translated.
    max_rows
        Rows kept at most (from the top).
    currency
        ISO code of the money columns' currency (``dataset.yaml``; default CNY).
    """
    shown = df.head(max_rows).copy()
    pct, cash, cnt, lab = set(percent), set(money), set(counts), set(label_values)
    for col in shown.columns:
        s = shown[col]
        numeric = pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s)
        if col in pct:
            shown[col] = s.map(_cell(lambda x: f"{x:.1%}"))
        elif col in lab:
            shown[col] = s.map(lambda x: label(x, lang))
        elif pd.api.types.is_bool_dtype(s):
            shown[col] = s.map(lambda x: "✓" if x else "")
        elif numeric and col in cash:
            shown[col] = s.map(_cell(lambda x: show_money(x, currency)))
        elif numeric and (col in cnt or pd.api.types.is_integer_dtype(s) or _is_whole(s)):
            shown[col] = s.map(_cell(lambda x: f"{round(x):,}"))
        elif pd.api.types.is_float_dtype(s):
            shown[col] = s.map(_cell(lambda x, d=decimals: f"{x:,.{d}f}"))
    shown = shown.rename(columns=lambda c: label(c, lang))
    # A pivot's column-axis name would be drawn as an extra, empty header column.
    shown.columns.name = None
    return shown


def frame_html(
    df: pd.DataFrame | None,
    lang: str = "en",
    *,
    percent: Iterable[str] = (),
    money: Iterable[str] = (),
    counts: Iterable[str] = (),
    decimals: int = 1,
    label_values: Iterable[str] = (),
    max_rows: int = 40,
    css_class: str = "salesml-table",
    currency: str | None = "CNY",
) -> str:
    """Compact HTML of ``df`` formatted by :func:`format_frame` (an "empty" note if no rows)."""
    if df is None or not len(df):
        return f"<p><i>{html.escape(t('report.empty', lang))}</i></p>"
    shown = format_frame(
        df,
        lang,
        percent=percent,
        money=money,
        counts=counts,
        decimals=decimals,
        label_values=label_values,
        max_rows=max_rows,
        currency=currency,
    )
    return shown.to_html(classes=css_class, index=False, na_rep="", border=0)
