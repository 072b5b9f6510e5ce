"""Report sections: what a report shows, declared once in its catalog module.

A report is an ordered tuple of :class:`Section` values on its
:class:`~salesml.reports.registry.ReportSpec`. Each section names its title (a catalog
key), the analysis call that computes its result, the figure that draws it and the
tables that show it, with their formats. The notebook then only says which
section goes in which cell::

    report = start_report("pipeline_weekly", globals())
    report.section("funnel")

A section's ``compute`` receives the running report
(:class:`~salesml.reports.notebook.Report`: ``report.data``, ``report.period`` (a
:class:`~salesml.periods.Period`), ``report.filters``, ``report.params``,
``report.lang``) and returns an analysis result; results are computed once and
shared, so a findings section can read the results of the sections after it
(``report.result("funnel")``). A section whose analysis needs a table the dataset
lacks shows a notice instead of failing; when every section was skipped the report
fails with :class:`ReportNotComputed`, saying why, instead of claiming that
nothing stands out.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from salesml.reports.params import check_name

if TYPE_CHECKING:
    from salesml.reports.notebook import Report

__all__ = ["ReportNotComputed", "Section", "Table"]

#: ``rows(result, report)``: the frame a table shows (``None``: nothing to show).
Rows = Callable[[Any, "Report"], pd.DataFrame | None]
#: A catalog key, or ``note(result, report)`` returning a key, ``(key, values)`` or ``None``.
NoteLike = str | Callable[[Any, "Report"], str | tuple[str, Mapping[str, Any]] | None]


class ReportNotComputed(RuntimeError):
    """Every section of a report was skipped: the dataset cannot answer it (reasons listed)."""


@dataclass(frozen=True)
class Table:
    """One table of a section: which rows, and how their columns are formatted.

    Parameters
    ----------
    rows
        ``None``: the result's ``.table``; a string: that attribute of the result
        (``"reasons"``); a function ``rows(result, report)`` returning the frame.
    percent
        Columns of shares in [0, 1], shown as ``12.3%``; ``("*",)``: every column but
        the ``labels`` (a table whose columns vary, one share per model compared).
    money
        Columns of amounts, shown in the dataset's currency without decimals.
    counts
        Columns of counts, shown as whole numbers.
    labels
        Columns whose values (stages, channels, segments) are translated.
    decimals
        Decimals of other float columns.
    max_rows
        Rows shown at most.
    """

    rows: Rows | str | None = None
    percent: tuple[str, ...] = ()
    money: tuple[str, ...] = ()
    counts: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()
    decimals: int = 1
    max_rows: int = 30

    def percent_columns(self, frame: pd.DataFrame | None) -> tuple[str, ...]:
        """The share columns of ``frame`` (``percent``, with ``"*"`` expanded)."""
        if self.percent != ("*",):
            return self.percent
        if frame is None:
            return ()
        return tuple(str(c) for c in frame.columns if c not in self.labels)

    def frame(self, result: Any, report: Report) -> pd.DataFrame | None:
        """The frame this table shows for ``result`` (``None`` when there is none)."""
        if result is None:
            return None
        if self.rows is None:
            return getattr(result, "table", None)
        if isinstance(self.rows, str):
            return getattr(result, self.rows)
        return self.rows(result, report)


@dataclass(frozen=True)
class Section:
    """One section of a report.

    Parameters
    ----------
    name
        Identifier used by the notebook (``report.section("funnel")``).
    title
        Catalog key of the heading; ``<title>.<period kind>`` (``.week``, ``.quarter``)
        wins when the catalog has it ("this week's movers" only on a weekly run).
    compute
        The analysis call, ``compute(report) -> result``; computed once per run.
    uses
        Instead of ``compute``: show the result of another section (by name).
    note
        Text under the heading: a catalog key, or ``note(result, report)`` returning a
        key, ``(key, values)`` or ``None``.
    scope_note
        Catalog key shown only when the report is restricted to a region (with
        ``{region}`` filled), for sections that cannot be restricted.
    figure
        ``figure(result, lang=...)`` returning a plotly figure (use
        :func:`functools.partial` for options).
    tables
        The tables shown under the figure, in order.
    findings
        ``findings(report) -> list of sentences`` shown as bullets (a findings section).
    """

    name: str
    title: str
    compute: Callable[[Report], Any] | None = None
    uses: str | None = None
    note: NoteLike | None = None
    scope_note: str | None = None
    figure: Callable[..., Any] | None = None
    tables: tuple[Table, ...] = ()
    findings: Callable[[Report], list[str]] | None = None

    def __post_init__(self) -> None:
        check_name(self.name, what="section name")
        if self.compute is not None and self.uses is not None:
            raise ValueError(f"section {self.name!r}: give compute or uses, not both")

    @property
    def computes(self) -> bool:
        """Whether the section runs an analysis of its own."""
        return self.compute is not None
