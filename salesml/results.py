"""The one result contract every public analysis returns.

A public analysis is ``f(data, *, period=None, as_of=None, filters=None, ...)`` with
keyword-only options, and returns a subclass of :class:`AnalysisResult`:

- ``.table``: the tidy DataFrame the analysis produced, its columns documented on
  the subclass;
- ``summary()``: a short DataFrame for a glance (default: the table itself);
- ``key_findings(lang)``: sentences for a manager, in ``en`` or ``zh``, words from
  the label catalog (:mod:`salesml.i18n`);
- ``_repr_html_()``: a card in Jupyter (title, findings, the head of the table);
- ``period``, ``as_of`` and ``filters``: what the numbers are about, as parsed once
  (:class:`~salesml.periods.Period`, :class:`pandas.Timestamp`,
  :class:`~salesml.filters.FilterSpec`);
- ``notes``: caveats the analysis wants shown beside its numbers (rows left out and
  why, an input that was missing), each a catalog-backed sentence pair.

Reports declare sections that call analyses and show these fields; they never
re-derive numbers. The contract test in ``tests/test_results.py`` runs the same checks
over every registered analysis.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import ClassVar

import pandas as pd

from salesml.filters import FilterSpec
from salesml.i18n import check_lang, label, t
from salesml.periods import Period

__all__ = ["AnalysisResult", "Note"]


@dataclass(frozen=True)
class Note:
    """A caveat shown beside a result: a catalog key and the values of its placeholders."""

    key: str
    values: tuple[tuple[str, object], ...] = ()

    def text(self, lang: str = "en") -> str:
        """The caveat in ``lang``."""
        return t(self.key, lang, **dict(self.values))


@dataclass(kw_only=True)
class AnalysisResult:
    """Base of every analysis result (see the module docstring for the contract).

    Subclasses are dataclasses that add their own fields (more tables, the fitted
    parameters) and override :meth:`key_findings` and, where useful, :meth:`summary`.

    Attributes
    ----------
    table
        The main tidy result.
    period
        The period the numbers cover (``None``: the whole history).
    as_of
        The instant the data was cut at (``None``: everything known).
    filters
        The filters applied.
    notes
        Caveats to show beside the numbers.
    """

    #: Catalog key of the card title; subclasses set it.
    title_key: ClassVar[str] = "result.title"

    table: pd.DataFrame
    period: Period | None = None
    as_of: pd.Timestamp | None = None
    filters: FilterSpec = field(default_factory=FilterSpec)
    notes: list[Note] = field(default_factory=list)

    def summary(self) -> pd.DataFrame:
        """A short DataFrame for a glance (default: :attr:`table`)."""
        return self.table

    def key_findings(self, lang: str = "en") -> list[str]:
        """Sentences for a manager (default: the notes)."""
        check_lang(lang)
        return [n.text(lang) for n in self.notes]

    def title(self, lang: str = "en") -> str:
        """The card title in ``lang``."""
        return t(self.title_key, lang)

    def scope(self, lang: str = "en") -> str:
        """Period, as-of and filters in words (``2026-Q3 · region: 华东``)."""
        parts = []
        if self.period is not None:
            parts.append(self.period.display(lang))
        if self.as_of is not None:
            parts.append(t("result.as_of", lang, as_of=f"{self.as_of:%Y-%m-%d %H:%M}"))
        if self.filters:
            parts.append(self.filters.describe(lang))
        return " · ".join(parts)

    def _repr_html_(self) -> str:
        lang = "en"
        findings = "".join(f"<li>{html.escape(s)}</li>" for s in self.key_findings(lang))
        frame = self.summary()
        shown = frame.head(20).rename(columns=lambda c: label(c, lang))
        more = (
            f"<p><i>{html.escape(t('result.more_rows', lang, n=len(frame) - 20))}</i></p>"
            if len(frame) > 20
            else ""
        )
        scope = self.scope(lang)
        return (
            f"<div class='salesml-result'><b>{html.escape(self.title(lang))}</b>"
            + (f" <small>{html.escape(scope)}</small>" if scope else "")
            + (f"<ul>{findings}</ul>" if findings else "")
            + shown.to_html(border=0, max_cols=20)
            + more
            + "</div>"
        )
