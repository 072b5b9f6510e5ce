"""What a report notebook calls: validate its parameters, load the data, show results.

A report notebook stays thin (imports, a ``parameters`` cell, one-line calls)::

    from salesml.reports.notebook import start_report
    # parameters
    dataset = "datasets/demo"
    period = "2026-10"
    region = None
    lang = "en"
    # ---
    ctx = start_report("pipeline_weekly", dataset=dataset, period=period, region=region, lang=lang)
    f = ctx.attempt(funnel, ctx.data, period=ctx.period, filters=ctx.filters)
    ctx.plot(funnel_chart, f)          # funnel_chart(f, lang=ctx.lang), shown offline-ready
    ctx.table(f.overall(), percent=["conversion"], label_values=["stage"])

:func:`start_report` validates the parameters through the report's schema (the
same check the runner made), loads the dataset, records the lineage the runner
puts in ``run.json`` and displays the report header.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import pandas as pd

from salesml import __version__
from salesml.data.bundle import MissingTableError, SalesData
from salesml.reports.export import LINEAGE_MIME
from salesml.i18n import label, t
from salesml.reports.params import ReportParams, validate_params
from salesml.reports.registry import ReportSpec, get_report
from salesml.reports.tables import format_frame

__all__ = ["ReportContext", "start_report"]

R = TypeVar("R")


def _display(bundle: Mapping[str, Any]) -> None:
    from IPython.display import display

    display(dict(bundle), raw=True)


@dataclass
class ReportContext:
    """A running report: its spec, validated parameters, data and display helpers.

    Attributes
    ----------
    spec
        The report's declaration.
    params
        Validated parameters (an instance of ``spec.params``).
    data
        The loaded dataset: the tables of ``spec.loads``, whole history (analyses
        take ``period`` and ``filters``).
    fingerprint
        ``data.fingerprint()``, computed once (recorded in ``run.json``).
    """

    spec: ReportSpec
    params: ReportParams
    data: SalesData
    fingerprint: str = ""

    def __post_init__(self) -> None:
        if not self.fingerprint:  # hashing every row is not free on large data: once
            self.fingerprint = self.data.fingerprint()

    # ------------------------------------------------------------------ values
    @property
    def lang(self) -> str:
        """Report language (``en`` or ``zh``)."""
        return self.params.lang

    @property
    def period(self) -> str:
        """The reporting period as given (``2026-01``, ``2026-W05``, ...)."""
        return self.params.period

    @property
    def filters(self) -> dict[str, Any] | None:
        """Filters for the analyses: ``{"region": region}`` or ``None`` for all regions."""
        return {"region": self.params.region} if self.params.region else None

    def t(self, key: str, **values: Any) -> str:
        """Catalogue text of ``key`` in the report language."""
        return t(key, self.lang, **values)

    def label(self, value: object) -> str:
        """Display label of a data value (stage, channel, segment) in the report language."""
        return label(value, self.lang)

    # ------------------------------------------------------------------ display
    def header(self) -> None:
        """Show the title, the region and the lineage line."""
        start, end = self.params.period_bounds
        last = end - pd.Timedelta(days=1) if end == end.normalize() else end
        region = self.params.region or self.t("report.all_regions")
        meta = self.t(
            "report.generated",
            dataset=self.data.config.name,
            fingerprint=self.fingerprint,
            period=self.params.period,
            start=f"{start:%Y-%m-%d}",
            end=f"{last:%Y-%m-%d}",
            version=__version__,
        )
        self.html(
            f"<h1>{html.escape(self.spec.title(self.lang))} · {html.escape(self.period)}</h1>"
            f"<p><b>{html.escape(self.t('report.region', region=region))}</b></p>"
            f"<p class='salesml-meta'>{html.escape(meta)}</p>"
        )
        rejected = self._quarantined()
        if rejected:
            note = self.t(
                "report.quarantine",
                n=f"{sum(rejected.values()):,}",
                tables=", ".join(f"{t} {n:,}" for t, n in rejected.items()),
                dataset=self.params.dataset,
            )
            self.html(f"<p class='salesml-warning'><b>{html.escape(note)}</b></p>")

    def _quarantined(self) -> dict[str, int]:
        """Rows quarantined at load, per table (empty when all passed)."""
        v = self.data.validation
        if v is None or not len(v.counts):
            return {}
        q = v.counts["quarantined"]
        return {str(t): int(n) for t, n in q[q > 0].items()}

    def html(self, markup: str) -> None:
        """Display raw HTML (the caller escapes what it interpolates)."""
        _display({"text/html": markup, "text/plain": "[html]"})

    def heading(self, key: str, level: int = 2, **values: Any) -> None:
        """Display catalogue text ``key`` as a heading."""
        level = min(max(int(level), 1), 6)
        text = html.escape(self.t(key, **values))
        _display(
            {"text/html": f"<h{level}>{text}</h{level}>", "text/markdown": f"{'#' * level} {text}"}
        )

    def text(self, key: str, **values: Any) -> None:
        """Display catalogue text ``key`` as a paragraph."""
        _display({"text/html": f"<p>{html.escape(self.t(key, **values))}</p>"})

    def bullets(self, sentences: Iterable[str], *, empty_key: str = "report.no_findings") -> None:
        """Display sentences as a bulleted list (or the ``empty_key`` text when none)."""
        items = [html.escape(s) for s in sentences]
        if not items:
            self.text(empty_key)
            return
        li = "".join(f"<li>{s}</li>" for s in items)
        _display(
            {"text/html": f"<ul class='salesml-findings'>{li}</ul>", "text/plain": "\n".join(items)}
        )

    def show(self, fig: Any) -> None:
        """Display a plotly figure so it renders both in Jupyter and in the offline HTML.

        The output carries the figure JSON (JupyterLab's plotly renderer) and an HTML
        div; plotly.js itself is added once to the exported page by
        :func:`salesml.reports.export.export_html`, which keeps notebooks small.
        ``None`` (a skipped analysis) shows nothing.
        """
        if fig is None:
            return
        page = fig.to_html(
            full_html=False,
            include_plotlyjs=False,
            config={"displaylogo": False, "responsive": True},
        )
        _display(
            {
                "application/vnd.plotly.v1+json": json.loads(fig.to_json()),
                "text/html": page,
                "text/plain": f"<plotly figure: {fig.layout.title.text or ''}>",
            }
        )

    def plot(self, figure: Callable[..., Any], result: Any, **options: Any) -> None:
        """Draw ``result`` with plotting function ``figure`` in the report language and show it.

        ``figure(result, lang=ctx.lang, **options)``; a ``None`` result (a skipped
        analysis) shows nothing.
        """
        if result is None:
            return
        self.show(figure(result, lang=self.lang, **options))

    def region_note(self, key: str) -> None:
        """Show catalogue text ``key`` only when the report is restricted to a region."""
        if self.params.region:
            self.text(key, region=self.params.region)

    def filters_except(self, *dims: str) -> dict[str, Any] | None:
        """:attr:`filters` without ``dims`` (to compare groups along a dimension)."""
        f = {k: v for k, v in (self.filters or {}).items() if k not in dims}
        return f or None

    def table(
        self,
        df: pd.DataFrame | None,
        *,
        percent: Iterable[str] = (),
        money: Iterable[str] = (),
        counts: Iterable[str] = (),
        decimals: int = 1,
        label_values: Iterable[str] = (),
        max_rows: int = 30,
    ) -> None:
        """Display a DataFrame as a compact table (see :func:`salesml.reports.tables.format_frame`).

        ``None`` (a skipped analysis) shows nothing; an empty frame shows a note.
        """
        if df is None:
            return
        if not len(df):
            self.text("report.empty")
            return
        shown = format_frame(
            df,
            self.lang,
            percent=percent,
            money=money,
            counts=counts,
            decimals=decimals,
            label_values=label_values,
            max_rows=max_rows,
        )
        body = shown.to_html(classes="salesml-table", index=False, na_rep="", border=0)
        _display({"text/html": body, "text/plain": shown.to_string(index=False)})

    def attempt(self, fn: Callable[..., R], *args: Any, **kwargs: Any) -> R | None:
        """Call an analysis; if the dataset lacks a table it needs, say so and return ``None``.

        Only :class:`~salesml.data.MissingTableError` is absorbed: any other error
        fails the report (and the runner reports the failing cell).
        """
        try:
            return fn(*args, **kwargs)
        except MissingTableError as e:
            _display(
                {
                    "text/html": "<p class='salesml-skip'>"
                    f"{html.escape(self.t('report.missing_table', detail=str(e)))}</p>",
                    "text/plain": self.t("report.missing_table", detail=str(e)),
                }
            )
            return None

    def _emit_lineage(self) -> None:
        _display(
            {
                LINEAGE_MIME: {
                    "report": self.spec.name,
                    "fingerprint": self.fingerprint,
                    "dataset": {
                        "path": self.params.dataset,
                        "name": self.data.config.name,
                        "tables": {n: len(df) for n, df in self.data.tables.items()},
                        "quarantined": self._quarantined(),
                    },
                },
                "text/plain": "",
            }
        )


def start_report(name: str, /, **values: Any) -> ReportContext:
    """Validate a report's parameters, load its dataset and show its header.

    Parameters
    ----------
    name
        The report name.
    **values
        The notebook's parameters (exactly the names of the report's schema).

    Returns
    -------
    ReportContext

    Raises
    ------
    ParameterError
        On a parameter the schema refuses.
    MissingTableError
        If the dataset lacks a table the report declares it needs.
    """
    from salesml.data.config import DatasetConfig
    from salesml.data.io import find_table_files, load_dataset

    spec = get_report(name)
    params = validate_params(spec.params, values, report=name)
    tables = None
    if spec.loads:
        present = find_table_files(params.dataset, DatasetConfig.read(params.dataset))
        tables = [t for t in spec.loads if t in present]
    data = load_dataset(params.dataset, progress=False, tables=tables)
    if spec.tables:
        data.require(*spec.tables, analysis=f"the {name} report")
    ctx = ReportContext(spec=spec, params=params, data=data)
    ctx._emit_lineage()
    ctx.header()
    return ctx
