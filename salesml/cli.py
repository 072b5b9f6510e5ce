"""The ``salesml`` command line: parses arguments and delegates to the package.

Each command group registers itself from its own module
(``salesml.data.cli``, ``salesml.reports.cli``), so this file stays a thin dispatcher.
"""

from __future__ import annotations

import argparse
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

    data_cli.register(sub)
    try:
        from salesml.reports import cli as reports_cli
    except ImportError:  # pragma: no cover - only while the reports package is absent
        reports_cli = None
    if reports_cli is not None:
        reports_cli.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
