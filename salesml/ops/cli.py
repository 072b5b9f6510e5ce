"""``salesml audit pack | verify``: tamper-evident audit packs of compliance approvals."""

from __future__ import annotations

import argparse
import sys

__all__ = ["register"]


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``audit`` command group to the ``salesml`` parser."""
    audit = sub.add_parser(
        "audit",
        help="write or verify a tamper-evident audit pack of compliance approvals",
        description="Audit packs: one PDF per customer with every approval step, a "
        "manifest of SHA-256 hashes chained together, and its chain head.",
    )
    asub = audit.add_subparsers(dest="audit_command", metavar="ACTION")
    asub.required = True
    pack = asub.add_parser("pack", help="write the audit pack of some customers or a period")
    pack.add_argument("--data", required=True, metavar="PATH", help="dataset folder")
    who = pack.add_mutually_exclusive_group(required=True)
    who.add_argument(
        "--customer",
        action="append",
        metavar="ID",
        help="customer id (repeat for several)",
    )
    who.add_argument(
        "--period", metavar="P", help="every customer with an approval submitted in P (2026-Q1)"
    )
    pack.add_argument("--out", required=True, metavar="DIR", help="new folder to write")
    pack.add_argument("--lang", choices=["zh", "en"], default="zh", help="language of the PDFs")
    pack.set_defaults(func=_cmd_pack)
    ver = asub.add_parser("verify", help="re-compute an audit pack's hashes and chain")
    ver.add_argument("folder", metavar="DIR", help="the audit pack's folder")
    ver.add_argument("--head", default=None, metavar="SHA256", help="the chain head to expect")
    ver.set_defaults(func=_cmd_verify)


def _cmd_pack(args: argparse.Namespace) -> int:
    from salesml.data.io import load_dataset
    from salesml.ops.audit import FontNotFoundError, write_audit_pack

    data = load_dataset(args.data, tables=["approvals", "customers", "reps"], progress=False)
    try:
        pack = write_audit_pack(
            data, args.out, customers=args.customer, period=args.period, lang=args.lang
        )
    except (ValueError, FontNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(
        f"audit pack {pack.folder}: {len(pack.customers):,} customers, "
        f"{pack.records:,} approval records, {len(pack.files):,} PDFs"
    )
    print(f"chain head {pack.head}")
    return 0


def _cmd_verify(args: argparse.Namespace) -> int:
    from salesml.i18n import t
    from salesml.ops.audit import verify_audit_pack

    v = verify_audit_pack(args.folder, head=args.head)
    if v.ok:
        import json
        from pathlib import Path

        m = json.loads((Path(args.folder) / "manifest.json").read_text(encoding="utf-8"))
        kinds = [e["kind"] for e in m["entries"]]
        print(
            t(
                "ops.audit.verify.ok",
                "en",
                records=kinds.count("record"),
                files=kinds.count("file"),
                head=v.head,
            )
        )
        return 0
    print(f"TAMPERED: {v.problem}", file=sys.stderr)
    return 1
