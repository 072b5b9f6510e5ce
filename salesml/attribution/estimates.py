"""The results of the CAC analyses, and how their tables read.

:class:`CacResult`, :class:`RoiResult`, :class:`OverallCac` and :class:`WhatIfResult` are
what :func:`~salesml.attribution.cac`, :func:`~salesml.attribution.roi`,
:func:`~salesml.attribution.overall_cac` and :func:`~salesml.attribution.what_if` return;
:func:`readable_table` turns any of their tables into text for a page (amounts in the
dataset's currency, each interval in one column).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from salesml.attribution.allocation import Allocation
from salesml.i18n import check_lang, label, money, t
from salesml.results import AnalysisResult

__all__ = [
    "MONEY_COLUMNS",
    "CacResult",
    "OverallCac",
    "RoiResult",
    "WhatIfResult",
    "group_label",
    "readable_table",
]

#: Columns of the CAC, ROI and cost tables holding amounts of money (the dataset's currency).
MONEY_COLUMNS: tuple[str, ...] = (
    "acquisition_cost",
    "cac",
    "cac_low",
    "cac_high",
    "cac_previous",
    "cac_base",
    "revenue",
    "cost",
    "incurred",
    "allocated",
    "unallocated",
    "amount",
)
#: Filter names that stand for a unit column.


def group_label(row: Mapping[str, Any], dims: Sequence[str], lang: str = "en") -> str:
    """A group's display name: its dimension values' labels joined (``WeChat / 1-2``)."""
    return " / ".join(label(row[d], lang) for d in dims)


def readable_table(table: pd.DataFrame, currency: str) -> pd.DataFrame:
    """``table`` for reading: amounts as text in ``currency``, each interval in one column.

    ``cac_low``/``cac_high`` become ``cac_interval`` (``¥1,200 – ¥1,450``) right after
    ``cac``, and ``roi_low``/``roi_high`` become ``roi_interval``, which keeps the tables
    narrow enough for a page.
    """
    out = table.copy()
    for name, fmt in (("cac", lambda x: money(x, currency)), ("roi", lambda x: f"{x:,.2f}")):
        lo, hi = f"{name}_low", f"{name}_high"
        if lo in out and hi in out:
            text = [
                f"{fmt(a)} – {fmt(b)}" if np.isfinite(a) and np.isfinite(b) else ""
                for a, b in zip(out[lo].astype(float), out[hi].astype(float), strict=True)
            ]
            at = out.columns.get_loc(lo)
            out = out.drop(columns=[lo, hi])
            out.insert(at, f"{name}_interval", text)
    for col in MONEY_COLUMNS:
        if col in out and pd.api.types.is_numeric_dtype(out[col]):
            out[col] = [money(x, currency) for x in out[col]]
    return out


@dataclass(kw_only=True)
class _Estimates(AnalysisResult):
    """What CAC and ROI results share: grouping, interval settings, currency."""

    by: tuple[str, ...] = ("channel",)
    ci: float = 0.95
    n_boot: int = 1000
    currency: str = "CNY"

    def names(self, lang: str = "en") -> list[str]:
        """Display name of each row's group (dimension labels joined by ``/``)."""
        return [group_label(r, self.by, lang) for _, r in self.table.iterrows()]


@dataclass(kw_only=True)
class CacResult(_Estimates):
    """Result of :func:`cac`.

    Attributes
    ----------
    table
        One row per group: the ``by`` columns, ``units`` (customers and unconverted
        leads), ``acquired``, ``acquisition_cost``, ``cac``, ``cac_low``, ``cac_high``,
        ``rel_precision`` (half-width / cac). Groups with fewer than
        :data:`~salesml.attribution.units.MIN_ACQUIRED_FOR_INTERVAL` acquired customers
        get no interval; the ``not_acquired`` band has cost and no CAC.
    by, ci, n_boot, currency
        The grouping, interval coverage, bootstrap replicates and the currency.
    """

    title_key: ClassVar[str] = "attribution.cac.title"

    def extremes(self, lang: str = "en") -> list[str]:
        """The highest and lowest CAC in one sentence (none with fewer than two groups)."""
        c = self.table.dropna(subset=["cac"])
        if len(c) < 2:
            return []
        hi, lo = c.loc[c["cac"].idxmax()], c.loc[c["cac"].idxmin()]
        return [
            t(
                "attribution.finding.highest_cac",
                lang,
                group=group_label(hi, self.by, lang),
                cac=money(hi["cac"], self.currency),
                group2=group_label(lo, self.by, lang),
                cac2=money(lo["cac"], self.currency),
            )
        ]

    def key_findings(self, lang: str = "en") -> list[str]:
        """The highest and lowest CAC, or that nothing was acquired."""
        check_lang(lang)
        if not self.table["cac"].notna().any():
            out = [t("attribution.finding.no_acquisitions", lang)]
        else:
            out = self.extremes(lang)
        return out + super().key_findings(lang)


@dataclass(kw_only=True)
class RoiResult(_Estimates):
    """Result of :func:`roi`.

    Attributes
    ----------
    table
        The ``by`` columns, ``units``, ``revenue``, ``cost``, ``roi``, ``roi_low``,
        ``roi_high``, ``rel_precision``.
    """

    title_key: ClassVar[str] = "attribution.roi.title"

    def key_findings(self, lang: str = "en") -> list[str]:
        """The group with the best ROI and its interval."""
        check_lang(lang)
        r = self.table.dropna(subset=["roi"])
        out = []
        if len(r):
            best = r.loc[r["roi"].idxmax()]
            key = "attribution.finding.best_roi"
            if not np.isfinite(best["roi_low"]):
                key = "attribution.finding.best_roi_no_interval"
            out.append(
                t(
                    key,
                    lang,
                    group=group_label(best, self.by, lang),
                    roi=f"{best['roi']:.1f}",
                    low=f"{best['roi_low']:.1f}",
                    high=f"{best['roi_high']:.1f}",
                )
            )
        return out + super().key_findings(lang)


@dataclass(kw_only=True)
class OverallCac(AnalysisResult):
    """Result of :func:`overall_cac`: CAC and ROI of everything selected, with intervals.

    Attributes
    ----------
    table
        One row: ``units, acquired, acquisition_cost, cac, cac_low, cac_high,
        rel_precision, revenue, cost, roi, roi_low, roi_high``. ``result["cac"]`` reads
        one value.
    currency
        The currency of the amounts.
    """

    title_key: ClassVar[str] = "attribution.overall.title"
    currency: str = "CNY"

    @property
    def row(self) -> pd.Series:
        """The one row as a Series."""
        return self.table.iloc[0]

    def __getitem__(self, name: str) -> Any:
        return self.row[name]

    def key_findings(self, lang: str = "en") -> list[str]:
        """The overall CAC with its interval and the customers acquired."""
        check_lang(lang)
        o = self.row
        if not o["acquired"]:
            out = [t("attribution.finding.no_acquisitions", lang)]
        else:
            key = "attribution.finding.overall"
            if not np.isfinite(o["cac_low"]):
                key = "attribution.finding.overall_no_interval"
            out = [
                t(
                    key,
                    lang,
                    cac=money(o["cac"], self.currency),
                    low=money(o["cac_low"], self.currency),
                    high=money(o["cac_high"], self.currency),
                    prec=f"{o['rel_precision']:.1%}",
                    n=f"{int(o['acquired']):,}",
                )
            ]
        return out + super().key_findings(lang)


@dataclass(kw_only=True)
class WhatIfResult(_Estimates):
    """Result of :func:`what_if`.

    Attributes
    ----------
    table
        CAC per group after the change, shaped like :attr:`CacResult.table` plus
        ``cac_base`` (before) and ``budget_factor``; ``acquired`` becomes a model
        estimate (fractional) once a budget moves.
    roi
        ROI per group after the change, shaped like :attr:`RoiResult.table` plus
        ``roi_base`` and ``budget_factor``.
    total
        One row for everything selected: ``acquired``, ``acquisition_cost``, ``cac``
        (after), ``acquired_base``, ``cac_base`` (before).
    budget_shift, elasticity
        The change and the assumption.
    allocation
        The allocation the figures come from (the edited rules', if any).
    """

    title_key: ClassVar[str] = "attribution.what_if.title"
    roi: pd.DataFrame = field(default_factory=pd.DataFrame)
    total: pd.DataFrame = field(default_factory=pd.DataFrame)
    budget_shift: dict[str, float] = field(default_factory=dict)
    elasticity: float = 0.7
    allocation: Allocation | None = field(default=None, repr=False)

    @property
    def unallocated(self) -> pd.DataFrame:
        """Unallocated cost by category and reason under the rules used."""
        return self.allocation.unallocated if self.allocation is not None else pd.DataFrame()

    def key_findings(self, lang: str = "en") -> list[str]:
        """The overall CAC after the change against before."""
        check_lang(lang)
        tot = self.total.iloc[0]
        said = t(
            "attribution.finding.what_if",
            lang,
            cac=money(tot["cac"], self.currency),
            base=money(tot["cac_base"], self.currency),
            n=f"{tot['acquired']:,.0f}",
        )
        return [said, *super().key_findings(lang)]
