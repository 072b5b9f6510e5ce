"""Scheduled reports: a registry, parameter schemas, sections, a papermill runner, HTML, lineage.

Run a report from Python or from the shell::

    from salesml.reports import run_report
    result = run_report("pipeline_weekly", {"dataset": "datasets/demo", "period": "2026-Q3"})
    result.html          # reports/pipeline_weekly/2026-Q3/pipeline_weekly.html

    $ salesml report list
    $ salesml report run pipeline_weekly --data datasets/demo --period 2026-W40 -p lang zh
    $ salesml report due --data datasets/demo        # every report whose period has closed

Each run writes ``reports/NAME/RUN/``, ``RUN`` being the period followed by every
parameter that differs from its default (``2026-W40__zh``): the executed notebook,
offline HTML with the code hidden, ``run.json`` (parameters, dataset fingerprint and
the tables it covers, rows rejected at import and at load, salesml version,
start/end, status). A failing run leaves the last good report untouched and saves
its notebook in ``reports/NAME/RUN.failed/``. ``reports/index.html`` lists every run.
Runs are locked per report and run folder and swapped in atomically
(:mod:`salesml.reports.store`); :mod:`salesml.reports.schedule` is ``report due``.

Recipe: adding a report
-----------------------
Adding a report means adding two files; no central list is edited.

1. ``salesml/reports/catalog/<name>.py`` declares the report: its parameters once
   (the schema) and its sections in order (see :mod:`salesml.reports.sections`);
   ``catalog/pipeline_weekly.py`` is the worked example::

       from dataclasses import dataclass

       from salesml.attribution import cac_by_channel          # the analysis it shows
       from salesml.plotting.cac import cac_interval_chart, roi_interval_chart
       from salesml.reports.params import ReportParams
       from salesml.reports.registry import ReportSpec
       from salesml.reports.sections import Section, Table

       @dataclass(frozen=True)
       class CacMonthlyParams(ReportParams):     # dataset, period, region, lang inherited
           bootstrap: int = 200                  # str/int/float/bool, X | None, Literal[...]
           rules: str | None = None              # a file: checked before running (file_params)

           def __post_init__(self) -> None:
               super().__post_init__()
               self._check_between("bootstrap", 20, 10_000)   # becomes a ParameterError

       def _by_channel(r):                       # r: the running Report
           return cac_by_channel(r.data, period=r.period, filters=r.filters,
                                 n_boot=r.params.bootstrap, rules=r.params.rules)

       REPORT = ReportSpec(
           name="cac_monthly",                   # = module name = notebook name
           params=CacMonthlyParams,
           description="Customer acquisition cost by channel, with intervals.",
           tables=("costs", "leads", "deals"),   # refused before running if absent
           loads=("costs", "leads", "deals", "customers", "activities"),  # () = all tables
           cadence="month",                      # what `report due` runs it for
           sections=(
               Section("findings", title="report.findings",
                       findings=lambda r: r.result("by_channel").key_findings(r.lang)),
               Section("by_channel", title="cac_monthly.by_channel",
                       note="cac_monthly.by_channel_note",
                       compute=_by_channel,                  # computed once, shared
                       figure=cac_interval_chart,            # figure(result, lang=...)
                       tables=(Table(percent=("rel_precision",), money=("cac", "cac_low"),
                                     labels=("channel",)),)),   # rows: result.table
               Section("roi", title="cac_monthly.roi", uses="by_channel",
                       figure=roi_interval_chart,     # options: functools.partial
                       tables=(Table(rows="roi", money=("revenue",)),)),  # result.roi
           ),
       )

   - ``report.period`` is a :class:`~salesml.periods.Period` (parsed once),
     ``report.filters`` the region filter (``None`` for all regions), ``report.params``
     the validated schema, ``report.data`` the tables of ``loads``;
   - a section whose analysis raises :class:`~salesml.data.MissingTableError` shows why
     it was skipped; when every section is skipped the report fails saying so
     (:class:`~salesml.reports.sections.ReportNotComputed`), never "nothing stands out";
   - ``Table(rows=...)``: ``None`` for ``result.table``, an attribute name, or
     ``rows(result, report)``; money columns are shown in the dataset's currency;
   - a title or heading key may have variants by period kind (``<key>.week``,
     ``<key>.quarter``...), used when they exist: titles follow the period.

   Every new field needs a default. Titles, notes and column names go into the label
   catalog, ``salesml/labels/<domain>.yaml`` (``<name>.<what>`` keys, en and zh; see
   :mod:`salesml.i18n`).

2. ``notebooks/reports/<name>.ipynb``, committed without outputs:

   - cell 1: ``from salesml.reports.notebook import start_report``;
   - cell 2, tagged ``parameters``: one literal per schema field, same names, same
     order, same defaults (a test compares them with the schema);
   - cell 3: ``report = start_report("<name>", globals())`` (takes the schema's names
     from the notebook, validates them, loads the data, shows the header);
   - then one cell per section: ``report.section("findings")``, ``report.section("by_channel")``
     ... (a failing cell names its section), or ``report.render_all()``.

3. Tests: ``tests/notebooks/`` executes every notebook under ``notebooks/`` and checks
   every report's ``parameters`` cell against its schema automatically.
   ``salesml demo`` runs every registered report for the last complete quarter.

"""

from __future__ import annotations

import importlib
from typing import Any

# Imported lazily: report notebooks import salesml.reports.notebook, and the runner's
# papermill/nbformat imports would cost the kernel seconds for nothing.
_EXPORTS = {
    "ParameterError": "salesml.reports.params",
    "ReportParams": "salesml.reports.params",
    "validate_params": "salesml.reports.params",
    "ReportBusy": "salesml.reports.store",
    "ReportFailed": "salesml.reports.runner",
    "RunResult": "salesml.reports.runner",
    "run_report": "salesml.reports.runner",
    "ReportNotComputed": "salesml.reports.sections",
    "Section": "salesml.reports.sections",
    "Table": "salesml.reports.sections",
    "start_report": "salesml.reports.notebook",
    "run_due": "salesml.reports.schedule",
    "write_index": "salesml.reports.index",
    "ReportSpec": "salesml.reports.registry",
    "get_report": "salesml.reports.registry",
    "list_reports": "salesml.reports.registry",
    "reports_table": "salesml.reports.registry",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'salesml.reports' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__
