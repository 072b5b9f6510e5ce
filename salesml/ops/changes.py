"""Findings of a before/after table shared by the operations analyses."""

from __future__ import annotations

import pandas as pd

from salesml.i18n import check_lang, t
from salesml.results import Note

__all__ = ["change_findings"]


def change_findings(table: pd.DataFrame, key: str, lang: str, notes: list[Note]) -> list[str]:
    """One sentence per KPI row of ``table`` (``kpi``, ``change``, ``low``, ``high``), then notes.

    ``key`` is the catalog sentence (``{kpi}``, ``{change}``, ``{low}``, ``{high}``); the
    KPI's name comes from ``ops.kpi.<kpi>``.
    """
    check_lang(lang)
    return [
        t(
            key,
            lang,
            kpi=t(f"ops.kpi.{r['kpi']}", lang),
            change=float(r["change"]),
            low=float(r["low"]),
            high=float(r["high"]),
        )
        for _, r in table.iterrows()
    ] + [n.text(lang) for n in notes]
