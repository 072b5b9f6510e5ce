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
              from salesml.reports.params import ReportParams
       from salesml.reports.registry import ReportSpec

       @dataclass(frozen=True)
       class CacMonthlyParams(ReportParams):     # dataset, period, region, lang inherited
           bootstrap: int = 200                  # str/int/float/bool, X | None, Literal[...]

           def __post_init__(self) -> None:
               super().__post_init__()
               if self.bootstrap < 0:
                   raise ValueError("bootstrap must be >= 0")   # becomes a ParameterError

       REPORT = ReportSpec(
           name="cac_monthly",                   # = module name = notebook name
           params=CacMonthlyParams,
           description="Customer acquisition cost by channel, with intervals.",
           tables=("costs", "leads", "deals"),   # refused before running if absent
           loads=("costs", "leads", "deals", "customers", "activities"),  # () = all tables
       )

   Every new field needs a default. Titles, notes and column names go into the label catalog,
   ``salesml/labels/<domain>.yaml`` (``<name>.<what>`` keys, en and zh; see :mod:`salesml.i18n`).

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

import importlib
from typing import Any

# Imported lazily: report notebooks import salesml.reports.notebook, and the runner's
# papermill/nbformat imports would cost the kernel seconds for nothing.
_EXPORTS = {
    "ParameterError": "salesml.reports.params",
    "ReportParams": "salesml.reports.params",
    "validate_params": "salesml.reports.params",
    "ReportFailed": "salesml.reports.runner",
    "RunResult": "salesml.reports.runner",
    "run_report": "salesml.reports.runner",
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
