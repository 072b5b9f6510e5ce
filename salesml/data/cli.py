"""``salesml generate | validate | info | import | schema``: the data commands.

Each command parses its arguments and calls one function of :mod:`salesml.data`;
they print plain tables a manager can read and return a process exit code.
"""

from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from salesml.data.csvsafe import safe_csv_frame

__all__ = ["register"]


#: Presets ``generate`` writes as month-partitioned Parquet (clean data only).
MONTH_PARTITIONED = ("M", "L")


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the data commands to the ``salesml`` parser."""
    gen = sub.add_parser(
        "generate",
        help="generate a simulated dataset with planted truth",
        description="Simulate a sales organisation and write it as a dataset folder, "
        "with the planted truth in OUT/truth.",
    )
    gen.add_argument("--preset", default="demo", choices=["tiny", "demo", "S", "M", "L"])
    gen.add_argument("--out", required=True, metavar="DIR", help="dataset folder to write")
    gen.add_argument("--seed", type=int, default=0)
    gen.add_argument(
        "--dirty",
        action="store_true",
        help="inject the faults real exports have (written as GB18030 CSV unless --format)",
    )
    gen.add_argument(
        "--format",
        choices=["parquet", "csv"],
        default=None,
        help="table file format (default: parquet; csv with --dirty)",
    )
    gen.add_argument("--encoding", default=None, help="CSV encoding (default utf-8; gb18030 dirty)")
    gen.set_defaults(func=_cmd_generate)

    val = sub.add_parser(
        "validate",
        help="validate a dataset folder and report rejected rows",
        description="Load and validate a dataset; exit 1 when any row was rejected "
        "unless --allow-rejects.",
    )
    val.add_argument("path", metavar="PATH", help="dataset folder")
    val.add_argument(
        "--quarantine-out",
        metavar="FILE",
        default=None,
        help="write the quarantine (one row per rejected row and rule) to FILE (.csv/.parquet)",
    )
    val.add_argument("--allow-rejects", action="store_true", help="exit 0 even with rejects")
    val.add_argument("--encoding", default=None, help="CSV encoding (default: detected)")
    val.add_argument(
        "--show", type=int, default=10, metavar="N", help="print the first N rejection messages"
    )
    val.set_defaults(func=_cmd_validate)

    info = sub.add_parser("info", help="summarise a dataset folder (tables, rows, time span)")
    info.add_argument("path", metavar="PATH", help="dataset folder")
    info.add_argument("--encoding", default=None, help="CSV encoding (default: detected)")
    info.add_argument(
        "--files-only",
        action="store_true",
        help="list the table files and their row counts without loading (fast on large data)",
    )
    info.set_defaults(func=_cmd_info)

    imp = sub.add_parser(
        "import",
        help="import a CRM/ERP export through a column mapping file",
        description="Translate an export (CSV/Parquet files in SRC_DIR) into a dataset "
        "folder using a YAML mapping (format: docs/mapping.md). Rejected and skipped rows "
        "are kept in OUT/quarantine.parquet, which validate, info and reports count; exit 1 "
        "when any row was rejected unless --allow-rejects. With --draft-mapping FILE, write "
        "a first mapping guessed from the export's headers and values instead.",
    )
    imp.add_argument("src", nargs="?", metavar="SRC_DIR", help="folder with the exported files")
    imp.add_argument(
        "--from-sql",
        metavar="SOURCE",
        default=None,
        help="snapshot a database instead: a dataset.yaml with source: (or its folder); "
        "the password comes from SALESML_DB_URL, PGPASSWORD or .pgpass, never from here",
    )
    imp.add_argument("--period", default=None, help="with --from-sql: only this period")
    imp.add_argument("--mapping", metavar="YAML", help="mapping file")
    imp.add_argument("--out", metavar="DATASET_DIR", help="dataset folder to write")
    imp.add_argument(
        "--draft-mapping",
        metavar="YAML",
        default=None,
        help="write a draft mapping for this export to YAML (to edit, then import with it)",
    )
    imp.add_argument("--format", choices=["parquet", "csv"], default="parquet")
    imp.add_argument(
        "--quarantine-csv",
        metavar="FILE",
        default=None,
        help="also write the quarantine as CSV (for Excel), relative to DATASET_DIR",
    )
    imp.add_argument("--allow-rejects", action="store_true", help="exit 0 even with rejects")
    imp.set_defaults(func=_cmd_import)

    sch = sub.add_parser(
        "schema",
        help="the data model: tables, columns, what is required and what each means",
        description="List the model's tables, or one table's columns: type, required or "
        "optional, allowed values, references, display names (en, zh) and what the column "
        "means.",
    )
    sch.add_argument("table", nargs="?", default=None, metavar="TABLE", help="a table name")
    sch.add_argument("--lang", choices=["en", "zh"], default="en", help="language of the texts")
    sch.set_defaults(func=_cmd_schema)


def _user_errors(
    cmd: Callable[[argparse.Namespace], int],
) -> Callable[[argparse.Namespace], int]:
    """Report bad paths, mappings and files as one line on stderr (exit 2), not a traceback."""

    @functools.wraps(cmd)
    def run(args: argparse.Namespace) -> int:
        try:
            return cmd(args)
        except (
            FileNotFoundError,
            FileExistsError,
            NotADirectoryError,
            IsADirectoryError,
            PermissionError,
            ValueError,
            KeyError,
        ) as e:
            msg = e.args[0] if isinstance(e, KeyError) and e.args else e
            print(f"salesml {args.command}: error: {msg}", file=sys.stderr)
            return 2

    return run


def _print_table(df: pd.DataFrame) -> None:
    dates = {
        c: df[c].dt.strftime("%Y-%m-%d").fillna("")
        for c in df.columns
        if pd.api.types.is_datetime64_any_dtype(df[c])
    }
    df = df.assign(**dates) if dates else df
    with pd.option_context("display.width", 200, "display.max_columns", 30):
        print(df.to_string())


def _print_report(report, show: int) -> None:
    summ = report.summary()
    rules = [c for c in summ.columns if c not in ("file", "read", "loaded", "quarantined")]
    summ = summ.drop(columns=[r for r in rules if not summ[r].any()])
    _print_table(summ)
    for note in report.notes:
        print(f"note: {note}")
    if not report.ok and show > 0:
        q = report.quarantine
        # one example of each (table, rule) first, so every kind of problem shows
        first = q.groupby(["table", "rule"], sort=False).head(1)
        picked = pd.concat([first, q.drop(first.index)]).head(show)
        print(f"\n{len(picked)} of {len(q):,} rejections (one of each kind first):")
        for msg in picked["message"]:
            print(f"  {msg}")
    print(report.headline())


@_user_errors
def _cmd_generate(args: argparse.Namespace) -> int:
    from salesml.data.io import save_dataset
    from salesml.simulator import simulate

    out = Path(args.out)
    fmt = args.format or ("csv" if args.dirty else "parquet")
    if args.preset == "L" and not args.dirty and fmt == "parquet":
        from salesml.simulator import write_simulated

        print(f"generating preset L (seed {args.seed}) in chunks into {out} ...", file=sys.stderr)
        write_simulated(out, preset="L", seed=args.seed, progress=True)
        print(
            f"wrote {out} (tables as Parquet part folders, big ones by month) and {out / 'truth'}"
        )
        return 0
    print(f"simulating preset {args.preset} (seed {args.seed}) ...", file=sys.stderr)
    data, truth = simulate(preset=args.preset, seed=args.seed, dirty=args.dirty, progress=True)
    encoding = args.encoding or (truth.encoding if args.dirty else "utf-8")
    # month partitions for period loads; a dirty export keeps its dates as text, as an
    # export holds them, which cannot say their month before validation parses them
    big = args.preset in MONTH_PARTITIONED and fmt == "parquet" and not args.dirty
    save_dataset(
        data, out, format=fmt, encoding=encoding, progress=True, partition="month" if big else None
    )
    truth.save(out / "truth")
    summ = data.summary()
    _print_table(summ[summ["present"]].drop(columns="present"))
    extra = f", {len(truth.faults):,} injected faults" if args.dirty else ""
    print(
        f"wrote {out} ({fmt}{', ' + encoding if fmt == 'csv' else ''}) and {out / 'truth'}{extra}"
    )
    return 0


@_user_errors
def _cmd_validate(args: argparse.Namespace) -> int:
    from salesml.data.io import load_dataset
    from salesml.data.quality import cached_quality_warnings
    from salesml.data.quarantine import quarantine_counts, quarantine_headlines

    data = load_dataset(args.path, encoding=args.encoding, progress=True)
    report = data.validation
    assert report is not None
    _print_report(report, args.show)
    # what the import of this folder rejected or skipped counts too (quarantine.parquet)
    stored = data.stored_quarantine
    for line in quarantine_headlines(stored) if stored is not None else []:
        print(line)
    _print_warnings(cached_quality_warnings(data), args.show)
    everything = data.quarantine
    if args.quarantine_out:
        p = _write_quarantine(everything, args.quarantine_out)
        print(f"quarantine written to {p} ({len(everything):,} rows, import and load)")
    counts = quarantine_counts(everything)
    rejected = int(counts["rejected"].sum()) if len(counts) else 0
    if rejected and not args.allow_rejects:
        print(
            "rejected rows found: fix them at the source, or pass --allow-rejects to accept",
            file=sys.stderr,
        )
        return 1
    return 0


@_user_errors
def _cmd_info(args: argparse.Namespace) -> int:
    from salesml.data.io import describe_files, load_dataset

    if args.files_only:
        files = describe_files(args.path)
        _print_table(files)
        print(f"{len(files)} tables, {int(files['rows'].sum()):,} rows (not loaded or validated)")
        return 0
    data = load_dataset(args.path, encoding=args.encoding, progress=True)
    cfg = data.config
    print(
        f"dataset {cfg.name!r} at {args.path} · currency {cfg.currency} · {cfg.timezone}"
        f" · region from the {cfg.region_source}"
    )
    print(
        f"stages: {' > '.join(cfg.stage_order)}"
        + (f" · go-live {cfg.go_live}" if cfg.go_live else "")
    )
    summ = data.summary()
    _print_table(summ[summ["present"]].drop(columns="present"))
    if data.missing_tables:
        print(f"absent tables: {', '.join(data.missing_tables)}")
    if data.validation is not None:
        print(data.validation.headline())
    from salesml.data.quality import card_lines

    for line in card_lines(data):  # rows lost at import, data-quality warnings
        print(line)
    return 0


@_user_errors
def _cmd_import(args: argparse.Namespace) -> int:
    if args.from_sql:
        from salesml.data.sql import cli_import

        return cli_import(args)
    if not args.src:
        raise ValueError("give SRC_DIR (a folder of exported files) or --from-sql SOURCE")
    if args.draft_mapping:
        from salesml.data.draft import draft_mapping

        draft = draft_mapping(args.src)
        p = draft.write(args.draft_mapping)
        n = sum(len(v) for v in draft.checks.values()) + sum(
            "CHECK" in c for c in draft.comments.values()
        )
        print(f"wrote a draft mapping of {len(draft.mapping['tables'])} tables to {p}")
        print(f"{n} guesses are marked CHECK; edit them, then run:")
        print(f"  salesml import {args.src} --mapping {p} --out DATASET_DIR")
        return 0
    if not args.mapping or not args.out:
        raise ValueError(
            "give --mapping YAML and --out DATASET_DIR (or --draft-mapping YAML for a first draft)"
        )
    from salesml.data.mapping import import_dataset
    from salesml.data.quarantine import QUARANTINE_FILE

    report = import_dataset(
        args.src, args.mapping, args.out, format=args.format, quarantine_file=args.quarantine_csv
    )
    _print_report(report, 10)
    _print_warnings(report.warnings, 10)
    print(f"wrote {args.out}")
    if not report.ok or report.n_skipped:
        print(f"rejected and skipped rows are listed in {Path(args.out) / QUARANTINE_FILE}")
    if not report.ok and not args.allow_rejects:
        return 1
    return 0


def _write_quarantine(frame: pd.DataFrame, path: str) -> Path:
    """The quarantine to ``path``: Parquet, or CSV in UTF-8 with BOM (Excel reads Chinese)."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    if p.suffix == ".parquet":
        frame.to_parquet(p, index=False)
    else:
        # cells a spreadsheet would run as formulas are neutralised
        safe_csv_frame(frame).to_csv(p, index=False, encoding="utf-8-sig")
    return p


def _print_warnings(warnings: pd.DataFrame, show: int) -> None:
    if not len(warnings):
        return
    print(f"\n{len(warnings):,} data-quality warnings (loaded as they are):")
    for msg in warnings["message"].head(show):
        print(f"  {msg}")
    if len(warnings) > show:
        print(f"  ... and {len(warnings) - show:,} more")


@_user_errors
def _cmd_schema(args: argparse.Namespace) -> int:
    from salesml.data.schema import describe_schema
    from salesml.i18n import t

    lang = args.lang
    frame = describe_schema(args.table, lang=lang)
    head = {c: t(f"schema.head.{k}", lang) for c, k in _SCHEMA_HEADS.items()}
    if args.table is None:
        shown = frame.rename(columns=head).rename_axis(t("schema.head.table", lang))
        _print_table(shown)
    else:
        frame = frame.assign(
            required=frame["required"].map(
                {True: t("schema.yes", lang), False: t("schema.no", lang)}
            )
        )
        for name, row in frame.iterrows():
            print(
                f"{name}  ({row['label_en']} / {row['label_zh']})  {row['type']}, "
                f"{t('schema.head.must_fill', lang)}: {row['required']}"
                + (f", -> {row['references']}" if row["references"] else "")
            )
            if row["allowed"]:
                print(f"    {head['allowed']}: {row['allowed']}")
            print(f"    {row['about']}")
    print(t("schema.footer", lang))
    return 0


_SCHEMA_HEADS = {
    "label_en": "label_en",
    "label_zh": "label_zh",
    "key": "key",
    "columns": "columns",
    "required": "required",
    "time_column": "dated_by",
    "about": "about",
    "allowed": "allowed",
}
