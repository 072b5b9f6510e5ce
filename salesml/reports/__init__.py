"""Scheduled reports: a registry, parameter schemas, a papermill runner, HTML export, lineage.

Run a report from Python or from the shell::

    from salesml.reports import run_report
    result = run_report("pipeline_weekly", {"dataset": "datasets/demo", "period": "2026-10"})
    result.html          # reports/pipeline_weekly/2026-10/pipeline_weekly.html

    $ salesml report list
    $ salesml report run pipeline_weekly --data datasets/demo --period 2026-W40 -p lang zh

Each run writes ``reports/NAME/PERIOD/`` (executed notebook, offline HTML with the
code hidden, ``run.json`` with the parameters, dataset fingerprint, salesml version,
start/end and status). A failing run leaves the last good report untouched and
saves its notebook in ``reports/NAME/PERIOD.failed/``.

Recipe: adding a report
-----------------------
Adding a report means adding files; no central list is edited.

1. ``salesml/reports/catalog/<name>.py`` declares the report::

       from dataclasses import dataclass
       from salesml.reports.messages import register
       from salesml.reports.params import ReportParams
       from salesml.reports.registry import ReportSpec

       @dataclass(frozen=True)
       class CacMonthlyParams(ReportParams):     # dataset, period, region, lang inherited
           bootstrap: int = 200                  # str/int/float/bool, X | None, Literal[...]

           def __post_init__(self) -> None:
               super().__post_init__()
               if self.bootstrap < 0:
                   raise ValueError("bootstrap must be >= 0")   # becomes a ParameterError

       register({"cac_monthly.title": {"en": "Monthly CAC", "zh": "月度获客成本"}})

       REPORT = ReportSpec(
           name="cac_monthly",                   # = module name = notebook name
           params=CacMonthlyParams,
           description="Customer acquisition cost by channel, with intervals.",
           tables=("costs", "leads", "deals"),   # refused before running if absent
       )

   Every new field needs a default. Strings for titles and labels go through
   :func:`salesml.reports.messages.register` (``<name>.<what>`` keys, en and zh).

2. ``notebooks/reports/<name>.ipynb``, committed without outputs:

   - cell 1: imports (``from salesml.reports.notebook import start_report`` and
     the analytics and plotting functions it calls);
   - cell 2, tagged ``parameters``: one literal per schema field, same names,
     same defaults (a test compares them with the schema);
   - cell 3: ``ctx = start_report("<name>", dataset=dataset, period=period, ...)``
     (validates through the schema, loads the data, shows the header);
   - then one-line calls: ``ctx.heading("<name>.section")``,
     ``res = ctx.attempt(analysis, ctx.data, period=ctx.period, filters=ctx.filters)``
     (a missing optional table shows a notice instead of failing),
     ``ctx.show(figure)``, ``ctx.table(frame, percent=[...])``, ``ctx.bullets(sentences)``.

3. Tests: ``tests/notebooks/`` executes every notebook under ``notebooks/`` and checks
   every report's ``parameters`` cell against its schema automatically.
   ``salesml demo`` runs every registered report for the last complete month.
"""

from __future__ import annotations

from salesml.reports.messages import register as register_messages
from salesml.reports.messages import t
from salesml.reports.params import ParameterError, ReportParams, validate_params
from salesml.reports.registry import ReportSpec, get_report, list_reports, reports_table
from salesml.reports.runner import ReportFailed, RunResult, run_report

__all__ = [
    "ParameterError",
    "ReportFailed",
    "ReportParams",
    "ReportSpec",
    "RunResult",
    "get_report",
    "list_reports",
    "register_messages",
    "reports_table",
    "run_report",
    "t",
    "validate_params",
]
