"""``salesml report run|list``, ``salesml serve`` and ``salesml demo``.

Parameters merge in a fixed order: ``-p KEY VALUE`` pairs first, then the named
options (``--data``, ``--period``, ``--region``, ``--lang``), which win. Values
are converted to the types the report's schema declares, then validated by name
and type before anything executes.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

__all__ = ["register"]


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``report``, ``serve`` and ``demo`` commands to the ``salesml`` parser."""
    rep = sub.add_parser("report", help="run or list parameterised reports (papermill)")
    rsub = rep.add_subparsers(dest="report_command", metavar="ACTION")
    rsub.required = True

    run = rsub.add_parser("run", help="run one report for one period")
    run.add_argument("name", help="report name (see `salesml report list`)")
    run.add_argument("--data", required=True, metavar="PATH", help="dataset folder")
    run.add_argument(
        "--period", required=True, metavar="P", help="2026-01, 2026-W05 or 2026-01-01..2026-01-31"
    )
    run.add_argument("--region", default=None, help="restrict to one region")
    run.add_argument("--lang", default=None, choices=["en", "zh"], help="language (default en)")
    run.add_argument(
        "-p",
        "--param",
        nargs=2,
        action="append",
        default=[],
        metavar=("KEY", "VALUE"),
        help="another report parameter (repeatable)",
    )
    run.add_argument("--out", default="reports", metavar="DIR", help="reports folder")
    run.add_argument("--progress", action="store_true", help="show a progress bar")
    run.set_defaults(func=_cmd_run)

    lst = rsub.add_parser("list", help="list reports and their parameters")
    lst.add_argument("--lang", default="en", choices=["en", "zh"])
    lst.set_defaults(func=_cmd_list)

    serve = sub.add_parser("serve", help="serve the dashboards (Voila) on this machine")
    serve.add_argument("--port", type=int, default=8866, help="port to listen on (default: 8866)")
    serve.add_argument(
        "--host", default="127.0.0.1", help="interface to bind (default: localhost only)"
    )
    serve.add_argument("--token", default=None, help="require this token in the URL")
    serve.add_argument(
        "--data", default=None, metavar="PATH", help="dataset the apps open (default datasets/demo)"
    )
    serve.add_argument(
        "--no-preheat", action="store_true", help="do not keep a pre-started kernel per app"
    )
    serve.add_argument(
        "--cull-idle", type=int, default=900, metavar="S", help="shut kernels idle for S seconds"
    )
    serve.set_defaults(func=_cmd_serve)

    demo = sub.add_parser("demo", help="generate demo data if missing and run every report on it")
    demo.add_argument("--data", default="datasets/demo", metavar="PATH")
    demo.add_argument("--out", default="reports", metavar="DIR")
    demo.add_argument("--lang", default="en", choices=["en", "zh"])
    demo.set_defaults(func=_cmd_demo)


def _cmd_run(args: argparse.Namespace) -> int:
    from salesml.reports.params import ParameterError, parse_cli_value
    from salesml.reports.registry import get_report
    from salesml.reports.runner import ReportFailed, run_report

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
        result = run_report(args.name, values, args.out, progress=args.progress)
    except ParameterError as e:
        print(f"salesml report: {e}", file=sys.stderr)
        return 2
    except ReportFailed as e:
        print(f"salesml report: {e}", file=sys.stderr)
        return 1
    print(f"{result.name} {result.period}: ok in {result.seconds:.1f}s")
    print(f"  html     {result.html}")
    print(f"  notebook {result.notebook}")
    print(f"  lineage  {result.run_json}")
    return 0


def _cmd_list(args: argparse.Namespace) -> int:
    from salesml.reports.registry import list_reports

    for spec in list_reports():
        print(f"{spec.name}  —  {spec.title(args.lang)}")
        print(f"    {spec.description}")
        if spec.tables:
            print(f"    needs tables: {', '.join(spec.tables)}")
        for p in spec.params.describe().itertuples(index=False):
            default = "(required)" if p.required else f"= {p.default!r}"
            print(f"    {p.name:<16} {p.type:<22} {default}")
    return 0


def _cmd_serve(args: argparse.Namespace) -> int:
    from salesml.apps.server import serve

    try:
        return serve(
            port=args.port,
            host=args.host,
            token=args.token,
            dataset=args.data,
            preheat=not args.no_preheat,
            cull_idle=args.cull_idle,
        )
    except (FileNotFoundError, ValueError) as e:
        print(f"salesml serve: {e}", file=sys.stderr)
        return 2


def _cmd_demo(args: argparse.Namespace) -> int:
    from salesml.demo import run_demo

    return run_demo(data_dir=args.data, out_dir=args.out, lang=args.lang)
