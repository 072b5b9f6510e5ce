"""What a report notebook calls: validate its parameters, load the data, show its sections.

A report notebook stays thin: imports, a ``parameters`` cell, then one line per
section of the report's declaration (:mod:`salesml.reports.sections`)::

    from salesml.reports.notebook import start_report
    # parameters
    dataset = "datasets/demo"
    period = "2026-10"
    region = None
    lang = "en"
    # ---
    report = start_report("pipeline_weekly", globals())   # picks the schema's names
    report.section("findings")
    report.section("funnel")

:func:`start_report` validates the parameters through the report's schema (the
same check the runner made), parses the period once, loads the tables the report
reads, records the lineage the runner puts in ``run.json`` and shows the header
(title for the period's kind, region, dataset fingerprint and what it covers, rows
rejected at import or at load).

Every registered report is declared as sections. A notebook of one's own (not in the
catalog) can still call the display helpers directly: ``report.attempt(analysis, ...)``
(a missing table is said, not raised), ``report.table(frame, percent=...)``,
``report.plot``, ``report.bullets``.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pandas as pd

from salesml import __version__
from salesml.data.bundle import MissingTableError, SalesData
from salesml.filters import region_column
from salesml.i18n import has_label, label, t
from salesml.periods import Period
from salesml.reports.export import LINEAGE_MIME
from salesml.reports.params import ReportParams, validate_params
from salesml.reports.registry import ReportSpec, get_report
from salesml.reports.rejects import Rejected, rejected_rows
from salesml.reports.sections import ReportNotComputed, Section
from salesml.reports.tables import format_frame

__all__ = ["Report", "ReportNotComputed", "start_report"]

R = TypeVar("R")


def _display(bundle: Mapping[str, Any]) -> None:
    from IPython.display import display

    display(dict(bundle), raw=True)


def region_dimension(data: SalesData) -> str:
    """The filter dimension the ``region`` parameter means for ``data`` (``dataset.yaml``)."""
    return region_column(getattr(data.config, "region_source", None))


@dataclass
class Report:
    """A running report: its spec, validated parameters, data, section results and display.

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
        ``data.fingerprint()`` over the tables loaded, computed once (shown in the
        header and recorded in ``run.json``).
    cluster
        Where the partitioned steps run: ``in-process`` or the Dask scheduler and its
        workers (:func:`salesml.distributed.cluster_label`), shown in the header and
        recorded in ``run.json``.
    """

    spec: ReportSpec
    params: ReportParams
    data: SalesData
    fingerprint: str = ""
    cluster: str = "in-process"
    _results: dict[str, Any] = field(default_factory=dict, init=False, repr=False)
    _skipped: dict[str, str] = field(default_factory=dict, init=False, repr=False)
    _attempts: int = field(default=0, init=False, repr=False)
    _rejected: list[Rejected] | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if not self.fingerprint:  # hashing every row is not free on large data: once
            self.fingerprint = self.data.fingerprint()

    # ------------------------------------------------------------------ values
    @property
    def lang(self) -> str:
        """Report language (``en`` or ``zh``)."""
        return self.params.lang

    @property
    def period(self) -> Period | str:
        """The reporting period, parsed once (:class:`~salesml.periods.Period`)."""
        return self.params.period_value

    @property
    def currency(self) -> str:
        """The dataset's currency (``dataset.yaml``), for money columns."""
        return str(getattr(self.data.config, "currency", "CNY") or "CNY")

    @property
    def filters(self) -> dict[str, Any] | None:
        """Filters for the analyses: ``{"region": region}`` (or ``rep_region``, per
        ``dataset.yaml``), ``None`` for all regions."""
        if not self.params.region:
            return None
        return {region_dimension(self.data): self.params.region}

    def filters_except(self, *dims: str) -> dict[str, Any] | None:
        """:attr:`filters` without ``dims`` (to compare groups along a dimension)."""
        drop = set(dims)
        if "region" in drop:
            drop.add(region_dimension(self.data))
        f = {k: v for k, v in (self.filters or {}).items() if k not in drop}
        return f or None

    def t(self, key: str, **values: Any) -> str:
        """Catalogue text of ``key`` in the report language."""
        return t(key, self.lang, **values)

    def t_period(self, key: str, **values: Any) -> str:
        """Text of ``<key>.<period kind>`` when the catalog has it, else of ``key``."""
        kind = self.params.period_value.kind
        return self.t(f"{key}.{kind}" if has_label(f"{key}.{kind}") else key, **values)

    def label(self, value: object) -> str:
        """Display label of a data value (stage, channel, segment) in the report language."""
        return label(value, self.lang)

    @property
    def title(self) -> str:
        """The report title for this period's kind, in the report language."""
        return self.spec.title(self.lang, self.params.period_value)

    # ------------------------------------------------------------------ sections
    def result(self, name: str) -> Any | None:
        """The result of section ``name``, computed on first use (``None`` when skipped).

        A :class:`~salesml.data.MissingTableError` skips the section (its cell shows
        why); any other error fails the report, with the section named in the
        traceback.
        """
        s = self.spec.section(name)
        if s.uses is not None:
            return self.result(s.uses)
        if s.compute is None:
            return None
        if name in self._results:
            return self._results[name]
        try:
            value = s.compute(self)
        except MissingTableError as e:
            self._skipped[name] = str(e)
            value = None
        except Exception as e:
            e.add_note(f"while computing section {name!r} of report {self.spec.name!r}")
            raise
        self._results[name] = value
        return value

    def results(self, *names: str) -> list[Any | None]:
        """:meth:`result` of each of ``names``."""
        return [self.result(n) for n in names]

    def skip_reason(self, name: str) -> str | None:
        """Why section ``name`` (or the section it uses) was skipped, if it was."""
        s = self.spec.section(name)
        return self._skipped.get(s.uses or name)

    def section(self, name: str) -> None:
        """Show section ``name``: heading, note, figure, tables or findings.

        Raises
        ------
        ReportNotComputed
            Once every section that computes something has been skipped.
        """
        s = self.spec.section(name)
        result = self.result(name)
        self.heading_text(self.t_period(s.title))
        reason = self.skip_reason(name)
        if reason is not None:
            self._skip_notice(reason)
        else:
            self._show_section(s, result)
        self._check_computable()

    def render_all(self) -> None:
        """Show every section in order (for a notebook that does not need one cell each)."""
        for s in self.spec.sections:
            self.section(s.name)

    def _show_section(self, s: Section, result: Any) -> None:
        if s.note is not None:
            self._note(s.note, result)
        if s.scope_note and self.params.region:
            self.text(s.scope_note, region=self.params.region)
        if s.findings is not None:
            self._check_computable(all_attempted=True)
            self.bullets(s.findings(self))
        if s.figure is not None and result is not None:
            self.plot(s.figure, result)
        for tbl in s.tables:
            frame = tbl.frame(result, self)
            self.table(
                frame,
                percent=tbl.percent_columns(frame),
                money=tbl.money,
                counts=tbl.counts,
                decimals=tbl.decimals,
                label_values=tbl.labels,
                max_rows=tbl.max_rows,
            )

    def _note(self, note: Any, result: Any) -> None:
        got = note(result, self) if callable(note) else note
        if got is None:
            return
        key, values = (got, {}) if isinstance(got, str) else got
        self.text(key, **dict(values))

    def _computing_sections(self) -> list[str]:
        return [s.name for s in self.spec.sections if s.computes]

    def _check_computable(self, *, all_attempted: bool = False) -> None:
        """Raise :class:`ReportNotComputed` when every analysis was skipped.

        With ``all_attempted`` (a findings section) every analysis is computed first.
        """
        names = self._computing_sections()
        if not names:
            return
        if all_attempted:
            self.results(*names)
        if all(n in self._skipped for n in names):
            self._not_computed(list(dict.fromkeys(self._skipped.values())))

    def _not_computed(self, reasons: list[str]) -> None:
        text = self.t("report.not_computed", reasons=" ".join(reasons))
        _display(
            {
                "text/html": f"<p class='salesml-warning'><b>{html.escape(text)}</b></p>",
                "text/plain": text,
            }
        )
        raise ReportNotComputed(t("report.not_computed", "en", reasons=" ".join(reasons)))

    # ------------------------------------------------------------------ display
    def header(self) -> None:
        """Show the title, the region, the lineage line and the rows the dataset lost."""
        p = self.params.period_value
        region = self.params.region or self.t("report.all_regions")
        meta = self.t(
            "report.meta",
            dataset=self.data.config.name,
            period=p.display(self.lang),
            start=f"{p.start:%Y-%m-%d}",
            end=f"{p.last_day:%Y-%m-%d}",
            version=__version__,
        )
        tables = sorted(self.data.tables)
        covers = self.t(
            "report.fingerprint",
            fingerprint=self.fingerprint,
            n=len(tables),
            tables=", ".join(tables),
        )
        self.html(
            f"<h1>{html.escape(self.title)} · {html.escape(p.display(self.lang))}</h1>"
            f"<p><b>{html.escape(self.t('report.region', region=region))}</b></p>"
            f"<p class='salesml-meta'>{html.escape(meta)}<br>{html.escape(covers)}<br>"
            f"{html.escape(self.t('report.cluster', cluster=self._cluster_text))}</p>"
        )
        for rej in self.rejected:
            if rej.source == "import":
                note = self.t(
                    "report.rejected_import", n=f"{rej.rows:,}", table=rej.table, file=rej.file
                )
            else:
                note = self.t(
                    "report.rejected_load",
                    n=f"{rej.rows:,}",
                    table=rej.table,
                    dataset=self.params.dataset,
                )
            self.html(f"<p class='salesml-warning'><b>{html.escape(note)}</b></p>")

    @property
    def _cluster_text(self) -> str:
        return self.t("report.in_process") if self.cluster == "in-process" else self.cluster

    @property
    def rejected(self) -> list[Rejected]:
        """Rows the dataset lost at import and at load, per table (see :mod:`.rejects`)."""
        if self._rejected is None:
            self._rejected = rejected_rows(self.data)
        return self._rejected

    def _quarantined(self) -> dict[str, int]:
        """Rows quarantined at load, per table (empty when all passed)."""
        return {r.table: r.rows for r in self.rejected if r.source == "load"}

    def html(self, markup: str) -> None:
        """Display raw HTML (the caller escapes what it interpolates)."""
        _display({"text/html": markup, "text/plain": "[html]"})

    def heading_text(self, text: str, level: int = 2) -> None:
        """Display ``text`` (already translated) as a heading."""
        level = min(max(int(level), 1), 6)
        shown = html.escape(text)
        _display(
            {
                "text/html": f"<h{level}>{shown}</h{level}>",
                "text/markdown": f"{'#' * level} {shown}",
            }
        )

    def heading(self, key: str, level: int = 2, **values: Any) -> None:
        """Display catalogue text ``key`` as a heading."""
        self.heading_text(self.t(key, **values), level)

    def text(self, key: str, **values: Any) -> None:
        """Display catalogue text ``key`` as a paragraph."""
        _display({"text/html": f"<p>{html.escape(self.t(key, **values))}</p>"})

    def bullets(self, sentences: Iterable[str], *, empty_key: str = "report.no_findings") -> None:
        """Display sentences as a bulleted list (or the ``empty_key`` text when none).

        When every analysis the report attempted was skipped, "nothing stands out"
        would be false: the report fails with :class:`ReportNotComputed` instead.
        """
        items = [html.escape(s) for s in sentences]
        if not items:
            if self._attempts and len(self._skipped) >= self._attempts:
                self._not_computed(list(dict.fromkeys(self._skipped.values())))
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

        ``figure(result, lang=report.lang, **options)``; a ``None`` result (a skipped
        analysis) shows nothing.
        """
        if result is None:
            return
        self.show(figure(result, lang=self.lang, **options))

    def region_note(self, key: str) -> None:
        """Show catalogue text ``key`` only when the report is restricted to a region."""
        if self.params.region:
            self.text(key, region=self.params.region)

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

        Money columns are shown in the dataset's currency. ``None`` (a skipped
        analysis) shows nothing; an empty frame shows a note.
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
            currency=self.currency,
        )
        body = shown.to_html(classes="salesml-table", index=False, na_rep="", border=0)
        _display({"text/html": body, "text/plain": shown.to_string(index=False)})

    def _skip_notice(self, detail: str) -> None:
        _display(
            {
                "text/html": "<p class='salesml-skip'>"
                f"{html.escape(self.t('report.missing_table', detail=detail))}</p>",
                "text/plain": self.t("report.missing_table", detail=detail),
            }
        )

    def attempt(self, fn: Callable[..., R], *args: Any, **kwargs: Any) -> R | None:
        """Call an analysis; if the dataset lacks a table it needs, say so and return ``None``.

        Only :class:`~salesml.data.MissingTableError` is absorbed: any other error
        fails the report (and the runner reports the failing cell).
        """
        self._attempts += 1
        try:
            return fn(*args, **kwargs)
        except MissingTableError as e:
            self._skipped[f"attempt-{self._attempts}"] = str(e)
            self._skip_notice(str(e))
            return None

    def lineage(self) -> dict[str, Any]:
        """What ``run.json`` records about the data and the sections."""
        return {
            "report": self.spec.name,
            "title": {
                lang: self.spec.title(lang, self.params.period_value) for lang in ("en", "zh")
            },
            "fingerprint": self.fingerprint,
            "fingerprint_covers": sorted(self.data.tables),
            "cluster": self.cluster,
            "dataset": {
                "path": self.params.dataset,
                "name": self.data.config.name,
                "tables": {n: len(df) for n, df in self.data.tables.items()},
                "quarantined": self._quarantined(),
                "rejected_at_import": {
                    r.table: r.rows for r in self.rejected if r.source == "import"
                },
                "quarantine_file": next(
                    (r.file for r in self.rejected if r.source == "import"), None
                ),
            },
        }

    def _emit_lineage(self) -> None:
        _display({LINEAGE_MIME: self.lineage(), "text/plain": ""})


def _pick(
    spec: ReportSpec, namespace: Mapping[str, Any] | None, values: dict[str, Any]
) -> dict[str, Any]:
    """The schema's parameters from a notebook's namespace (``globals()``), then ``values``."""
    if namespace is None:
        return values
    if not isinstance(namespace, Mapping):
        raise TypeError(
            f"start_report({spec.name!r}, ...): pass the notebook's globals() or keyword "
            f"parameters, got {type(namespace).__name__}"
        )
    picked = {n: namespace[n] for n in spec.params.names() if n in namespace}
    return {**picked, **values}


def _period_load(spec: ReportSpec, params: ReportParams) -> dict[str, Any]:
    """``load_dataset`` arguments loading only the report's period (+ its look-back)."""
    from salesml.data.config import DatasetConfig

    if spec.lookback_days is None:
        return {}
    if DatasetConfig.read(params.dataset).source is not None:  # SQL: the period only
        return {"period": params.period_value} if not spec.lookback_days else {}
    return {"period": params.period_value, "lookback_days": spec.lookback_days}


def start_report(name: str, namespace: Mapping[str, Any] | None = None, /, **values: Any) -> Report:
    """Validate a report's parameters, load its dataset and show its header.

    Parameters
    ----------
    name
        The report name.
    namespace
        The notebook's ``globals()``: the report's parameters are taken from it by
        name (exactly the schema's fields), so each parameter is written once, in
        the ``parameters`` cell.
    **values
        Parameters given explicitly (they win over ``namespace``).

    Returns
    -------
    Report
        The running report: ``report.section(name)`` shows one declared section.

    Raises
    ------
    ParameterError
        On a parameter the schema refuses, or a file parameter that cannot be read.
    MissingTableError
        If the dataset lacks a table the report declares it needs.
    """
    from salesml.data.config import DatasetConfig
    from salesml.data.io import find_table_files, load_dataset
    from salesml.distributed import cluster_label, resolve_client

    spec = get_report(name)
    params = validate_params(spec.params, _pick(spec, namespace, values), report=name)
    params = params.with_checked_files(roots=None, report=name)  # the runner checked roots
    # SALESML_DASK_SCHEDULER (set by `report run --scheduler`): the steps' resolve_client()
    # finds the same client; connecting first fails fast when the cluster is gone
    cluster = cluster_label(resolve_client())
    tables = None
    if spec.loads:
        present = find_table_files(params.dataset, DatasetConfig.read(params.dataset))
        tables = [t for t in spec.loads if t in present]
    data = load_dataset(
        params.dataset,
        progress=False,
        tables=tables,
        compact=spec.compact,
        columns={t: list(c) for t, c in spec.columns.items()} or None,
        **_period_load(spec, params),
    )
    if spec.tables:
        data.require(*spec.tables, analysis=f"the {name} report")
    report = Report(spec=spec, params=params, data=data, cluster=cluster)
    report._emit_lineage()
    report.header()
    return report
