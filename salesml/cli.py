"""The ``salesml`` command line: parses arguments and delegates to the package.

The command groups of a layer register themselves from their own module
(``salesml.data.cli``: generate, validate, info, import; ``salesml.reports.cli``:
report run, due, list). The commands that span layers live here, at the top edge,
so no layer imports one above it: ``serve`` (the Voila apps, :mod:`salesml.apps.server`)
and ``demo`` (:mod:`salesml.demo`: data, every report, the landing page).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from salesml import __version__

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser of the ``salesml`` command."""
    parser = argparse.ArgumentParser(
        prog="salesml",
        description="Sales analytics and ML workbench: data, reports and dashboards.",
    )
    parser.add_argument("--version", action="version", version=f"salesml {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    from salesml.data import cli as data_cli
    from salesml.ops.cli import register as _register_audit
    from salesml.reports import cli as reports_cli

    data_cli.register(sub)
    reports_cli.register(sub)
    importlib.import_module("salesml.rules.cli").register(sub)
    _register_audit(sub)
    _register_serve(sub)
    _register_demo(sub)
    return parser


def _register_serve(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    serve = sub.add_parser("serve", help="serve the dashboards (Voila) on this machine")
    serve.add_argument("--port", type=int, default=8866, help="port to listen on (default: 8866)")
    serve.add_argument(
        "--host", default="127.0.0.1", help="interface to bind (default: localhost only)"
    )
    serve.add_argument(
        "--token", default=None, help="require this token in the URL (default: a random one)"
    )
    serve.add_argument(
        "--no-token", action="store_true", help="serve without a token (anyone who can connect)"
    )
    serve.add_argument(
        "--allow-host",
        action="append",
        default=[],
        metavar="NAME",
        help="also answer to this host name (repeatable; localhost is always allowed)",
    )
    serve.add_argument(
        "--data", default=None, metavar="PATH", help="dataset the apps open (default datasets/demo)"
    )
    serve.add_argument(
        "--no-preheat", action="store_true", help="do not keep a pre-started kernel per app"
    )
    serve.add_argument(
        "--cull-idle",
        type=int,
        default=120,
        metavar="S",
        help="shut a kernel whose page is closed after S idle seconds (default 120; 0: never)",
    )
    serve.add_argument(
        "--cull-open",
        type=int,
        default=600,
        metavar="S",
        help="shut a kernel whose tab is open but unused after S seconds (default 600)",
    )
    serve.add_argument(
        "--max-kernels", type=int, default=8, metavar="N", help="kernels at once (default 8)"
    )
    serve.add_argument(
        "--max-kernels-per-client",
        type=int,
        default=3,
        metavar="N",
        help="kernels one client address may hold (default 3)",
    )
    serve.set_defaults(func=_cmd_serve)


def _base_jupyter_path() -> None:
    """Let Voila find its templates in a virtualenv made with ``--system-site-packages``.

    There Voila and nbconvert come from the base interpreter, whose ``share/jupyter``
    (templates, static files) the venv's Jupyter paths do not list: append it to
    ``$JUPYTER_PATH`` (after anything already there, so the venv's own files win).
    """
    import os

    if sys.base_prefix == sys.prefix:
        return
    share = os.path.join(sys.base_prefix, "share", "jupyter")
    if not os.path.isdir(share):
        return
    parts = [p for p in os.environ.get("JUPYTER_PATH", "").split(os.pathsep) if p]
    if share not in parts:
        os.environ["JUPYTER_PATH"] = os.pathsep.join([*parts, share])


def _cmd_serve(args: argparse.Namespace) -> int:
    from salesml.apps.server import serve

    _base_jupyter_path()
    try:
        return serve(
            port=args.port,
            host=args.host,
            token=args.token,
            no_token=args.no_token,
            dataset=args.data,
            preheat=not args.no_preheat,
            cull_idle=args.cull_idle,
            cull_open=args.cull_open,
            max_kernels=args.max_kernels,
            max_kernels_per_client=args.max_kernels_per_client,
            allow_hosts=tuple(args.allow_host),
        )
    except (FileNotFoundError, ValueError) as e:
        print(f"salesml serve: {e}", file=sys.stderr)
        return 2


def _register_demo(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    demo = sub.add_parser(
        "demo",
        help="generate demo data if missing, run every report on it, print the landing page",
    )
    demo.add_argument("--data", default="datasets/demo", metavar="PATH")
    demo.add_argument("--out", default="reports", metavar="DIR")
    demo.add_argument("--lang", default="en", choices=["en", "zh"])
    demo.set_defaults(func=_cmd_demo)


def _cmd_demo(args: argparse.Namespace) -> int:
    from salesml.data.errors import DatasetError
    from salesml.demo import run_demo
    from salesml.reports.params import ParameterError

    try:
        return run_demo(data_dir=args.data, out_dir=args.out, lang=args.lang)
    except (ParameterError, DatasetError) as e:
        print(f"salesml demo: {e}", file=sys.stderr)
        return 2


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    from salesml.data.arrowpool import prefer_jemalloc

    prefer_jemalloc()  # freed Arrow buffers go back sooner: lower peaks on big loads
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
