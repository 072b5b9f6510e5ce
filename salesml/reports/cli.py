"""``salesml report run|due|list``: the report commands.

Parameters merge in a fixed order: ``-p KEY VALUE`` pairs first, then the named
options (``--data``, ``--period``, ``--region``, ``--lang``), which win. Values
are converted to the types the report's schema declares, then validated by name
and type before anything executes.

Exit codes: 0 success; 1 a report ran and failed (its notebook is saved in
``RUN.failed/``); 2 refused before executing (bad parameter, dataset, file or
period, one line on stderr); 75 another run of the same report and period holds
its lock (try again later).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

__all__ = ["EXIT_BUSY", "register"]

#: Exit code when another run holds the lock (``EX_TEMPFAIL``: try again later).
EXIT_BUSY = 75


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``report`` command group to the ``salesml`` parser."""
    rep = sub.add_parser("report", help="run, schedule or list parameterised reports (papermill)")
    rsub = rep.add_subparsers(dest="report_command", metavar="ACTION")
    rsub.required = True

    run = rsub.add_parser("run", help="run one report for one period")
    run.add_argument("name", help="report name (see `salesml report list`)")
    run.add_argument("--data", required=True, metavar="PATH", help="dataset folder")
    run.add_argument(
        "--period",
        required=True,
        metavar="P",
        help="2026-01, 2026-W05, 2026-Q3 or 2026-01-01..2026-01-31",
    )
    _common(run)
    run.add_argument(
        "--wait", action="store_true", help="wait for a run of the same report and period to end"
    )
    run.add_argument("--progress", action="store_true", help="show a progress bar")
    run.set_defaults(func=_cmd_run)

    due = rsub.add_parser(
        "due",
        help="run every report whose period has closed since its last good run (for cron)",
        description="Run, for every registered report (or those named with --report), each "
        "period of its cadence that has closed since its last good run, oldest first. "
        "Idempotent; a second scheduler on the same reports folder does nothing.",
    )
    due.add_argument("--data", required=True, metavar="PATH", help="dataset folder")
    _common(due)
    due.add_argument(
        "--report",
        action="append",
        default=None,
        metavar="NAME",
        help="only this report (repeatable)",
    )
    due.add_argument(
        "--since", default=None, metavar="P", help="first period for a report that never ran"
    )
    due.add_argument(
        "--as-of", default=None, metavar="TIME", help="the clock (default: now), e.g. 2026-11-02"
    )
    due.add_argument(
        "--max-catch-up", type=int, default=12, metavar="N", help="periods per report at most"
    )
    due.set_defaults(func=_cmd_due)

    lst = rsub.add_parser("list", help="list reports and their parameters")
    lst.add_argument("--lang", default="en", choices=["en", "zh"])
    lst.set_defaults(func=_cmd_list)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--region", default=None, help="restrict to one region")
    p.add_argument("--lang", default=None, choices=["en", "zh"], help="language (default en)")
    p.add_argument(
        "-p",
        "--param",
        nargs=2,
        action="append",
        default=[],
        metavar=("KEY", "VALUE"),
        help="another report parameter (repeatable)",
    )
    p.add_argument("--out", default="reports", metavar="DIR", help="reports folder")
    p.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="run the report's partitioned steps on this Dask scheduler (tcp://host:8786; "
        "default: $SALESML_DASK_SCHEDULER, else in the report's own process)",
    )


def _fail(message: object) -> None:
    """Print ``message`` as one or more lines on stderr, prefixed with the command."""
    print(f"salesml report: {message}", file=sys.stderr)


def _cmd_run(args: argparse.Namespace) -> int:
    from salesml.data.errors import DatasetError
    from salesml.reports.params import ParameterError, parse_cli_value
    from salesml.reports.registry import get_report
    from salesml.reports.runner import ReportBusy, ReportFailed, run_report

    try:
        spec = get_report(args.name)
        values: dict[str, Any] = {}
        for key, text in args.param:
            values[key] = parse_cli_value(spec.params, key, text)
        values["dataset"] = args.data
        values["period"] = args.period
        if args.region is not None:
            values["region"] = args.region
        if args.lang is not None:
            values["lang"] = args.lang
        result = run_report(
            args.name,
            values,
            args.out,
            progress=args.progress,
            wait=args.wait,
            scheduler=args.scheduler,
        )
    except (ParameterError, DatasetError) as e:
        _fail(e)
        return 2
    except ReportBusy as e:
        _fail(e)
        return EXIT_BUSY
    except ReportFailed as e:
        _fail(e)
        return 1
    print(f"{result.name} {result.folder.name}: ok in {result.seconds:.1f}s")
    if result.cluster:
        print(f"  ran on   {result.cluster}")
    print(f"  html     {result.html}")
    print(f"  notebook {result.notebook}")
    print(f"  lineage  {result.run_json}")
    print(f"  index    {result.folder.parent.parent / 'index.html'}")
    return 0


def _cmd_due(args: argparse.Namespace) -> int:
    from salesml.data.errors import DatasetError
    from salesml.reports.params import ParameterError
    from salesml.reports.schedule import DueOutcome, run_due
    from salesml.reports.store import ReportBusy

    def echo(o: DueOutcome) -> None:
        where = f"  {o.html}" if o.html else ""
        print(f"{o.report} {o.period}: {o.status}{where}", flush=True)
        if o.detail and o.status != "ok":
            print(
                f"  {o.detail}", file=sys.stderr if o.status == "failed" else sys.stdout, flush=True
            )

    import pandas as pd

    try:
        as_of = pd.Timestamp(args.as_of) if args.as_of else None
    except ValueError:
        _fail(f"--as-of {args.as_of!r} is not a date or time such as 2026-11-02")
        return 2
    try:
        outcomes = run_due(
            args.data,
            args.out,
            as_of=as_of,
            reports=args.report,
            lang=args.lang,
            region=args.region,
            params=dict(args.param),
            since=args.since,
            max_catch_up=args.max_catch_up,
            echo=echo,
            scheduler=args.scheduler,
        )
    except (ParameterError, DatasetError) as e:
        _fail(e)
        return 2
    except ReportBusy as e:
        print(f"salesml report due: {e}; nothing done")
        return 0
    if not outcomes:
        print("nothing due")
    print(f"index {Path(args.out).resolve() / 'index.html'}")
    statuses = {o.status for o in outcomes}
    if "failed" in statuses:
        return 1
    return 2 if "refused" in statuses else 0


def _cmd_list(args: argparse.Namespace) -> int:
    from salesml.reports.registry import list_reports

    for spec in list_reports():
        print(f"{spec.name}  —  {spec.title(args.lang)}  (every {spec.period_kind})")
        print(f"    {spec.description}")
        if spec.tables:
            print(f"    needs tables: {', '.join(spec.tables)}")
        for p in spec.params.describe().itertuples(index=False):
            default = "(required)" if p.required else f"= {p.default!r}"
            print(f"    {p.name:<16} {p.type:<22} {default}")
    return 0
