"""Import a CRM/ERP export through a column mapping file, without editing the export.

A mapping is a YAML file that says, for each model table, which source file feeds
it and how its columns and values translate::

    encoding: auto                 # source files' encoding (auto, utf-8, gb18030, ...)
    date_formats: ["%m/%d/%Y", "%m/%d/%Y %H:%M"]   # tried after ISO dates, every table
    dataset:                       # settings for the output dataset.yaml
      name: acme-crm
      currency: CNY
      stage_order: [qualification, needs_analysis, proposal, negotiation, contract]
    tables:
      deals:                       # a model table (see salesml.data.schema)
        file: opportunities.csv    # source file in SRC_DIR (CSV or Parquet)
        encoding: gb18030          # optional, overrides the top-level encoding
        columns:                   # source column: model column (or a list of them)
          Opportunity ID: deal_id
          Amount: amount
          Stage: outcome
          Stage Reached: stage
        values:                    # model column: {source value: model value}
          outcome: {"Closed Won": won, "Closed Lost": lost, "*": open}
          stage: {"Proposal/Price Quote": proposal, "Negotiation/Review": negotiation}
        constants:                 # model column: one value for every row
          product_line: equipment
        date_formats: ["%d.%m.%Y"] # optional, tried before the top-level ones
        thousands: ","             # optional thousands separator in number columns
        delimiter: ";"             # optional field separator of a CSV source (default ",")
        keep_unmapped: false       # carry unmapped source columns along (default: no)

Rules:

- Values are matched exactly (after trimming spaces). ``"*"`` maps every other
  non-empty value; without it unmapped values pass through unchanged, so a value
  the model does not allow is quarantined under ``allowed_values`` rather than guessed.
- Date cells are converted to ISO by the formats given; a cell matching none is
  left as written and quarantined under ``date_format``.
- Model columns that are optional may be left unmapped (they load empty); a
  required model column that is neither mapped nor a constant is an error that
  names the mapping, the table and the column.
- The import validates the result like any load (row positions and CSV lines in
  the quarantine refer to the source file) and writes the clean dataset.

Use it from Python with :func:`import_dataset` or from the shell::

    salesml import SRC_DIR --mapping mapping.yaml --out DATASET_DIR
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import yaml

from salesml.data.config import DatasetConfig
from salesml.data.io import csv_line_numbers, read_csv_table, save_dataset
from salesml.data.schema import SPECS, TABLE_NAMES
from salesml.data.validate import ISO_DATE_RE, ValidationReport, validate
from salesml.data.yamlsafe import load_yaml

__all__ = ["ImportMapping", "TableMapping", "apply_mapping", "import_dataset"]

_TABLE_KEYS = {
    "file",
    "encoding",
    "columns",
    "values",
    "constants",
    "date_formats",
    "thousands",
    "delimiter",
    "keep_unmapped",
}


@dataclass
class TableMapping:
    """How one source file becomes one model table.

    Parameters
    ----------
    table
        Model table name.
    file
        Source file name, relative to the source folder.
    columns
        Source column -> list of model columns it feeds.
    values
        Model column -> {source value: model value}; key ``"*"`` maps any other value.
    constants
        Model column -> constant value.
    date_formats
        strptime formats tried (after ISO) for this table's date columns.
    encoding
        Source file encoding (``None``: the mapping's, else detected).
    thousands
        Thousands separator to strip from number columns.
    delimiter
        Field separator of a CSV source.
    keep_unmapped
        Carry source columns that are not mapped along as extra columns.
    """

    table: str
    file: str
    columns: dict[str, list[str]]
    values: dict[str, dict[str, Any]] = field(default_factory=dict)
    constants: dict[str, Any] = field(default_factory=dict)
    date_formats: list[str] = field(default_factory=list)
    encoding: str | None = None
    thousands: str | None = None
    delimiter: str = ","
    keep_unmapped: bool = False

    @property
    def source_of(self) -> dict[str, str]:
        """Model column -> source column."""
        return {m: s for s, ms in self.columns.items() for m in ms}


@dataclass
class ImportMapping:
    """A parsed mapping file (see the module docstring for the format).

    Use :meth:`read` to load one; errors name the mapping file and the entry.
    """

    tables: dict[str, TableMapping]
    encoding: str | None = None
    date_formats: list[str] = field(default_factory=list)
    dataset: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None

    @classmethod
    def read(cls, path: str | Path) -> ImportMapping:
        """Read and check a mapping YAML file."""
        p = Path(path)
        try:
            d = load_yaml(p, what=f"mapping file {p}")
        except yaml.YAMLError as e:
            raise ValueError(f"{p}: not valid YAML ({e})") from None
        return cls.from_dict(d, path=p)

    @classmethod
    def from_dict(cls, d: Any, *, path: Path | None = None) -> ImportMapping:
        """Build from a parsed YAML mapping, checking every name."""
        where = str(path) if path else "mapping"
        if not isinstance(d, dict) or not isinstance(d.get("tables"), dict) or not d["tables"]:
            raise ValueError(f"{where}: expected a mapping with a non-empty 'tables:' section")
        unknown_top = set(d) - {"encoding", "date_formats", "dataset", "tables"}
        if unknown_top:
            raise ValueError(
                f"{where}: unknown setting(s) {sorted(unknown_top)}; "
                "allowed: encoding, date_formats, dataset, tables"
            )
        tables = {}
        for table, td in d["tables"].items():
            tables[table] = _table_mapping(where, str(table), td)
        return cls(
            tables=tables,
            encoding=d.get("encoding"),
            date_formats=_str_list(where, "date_formats", d.get("date_formats")),
            dataset=dict(d.get("dataset") or {}),
            path=path,
        )


def _str_list(where: str, what: str, v: Any) -> list[str]:
    if v is None:
        return []
    if isinstance(v, str):
        return [v]
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        raise ValueError(f"{where}: {what} must be a list of strings")
    return list(v)


def _table_mapping(where: str, table: str, td: Any) -> TableMapping:
    if table not in SPECS:
        raise ValueError(
            f"{where}: unknown table {table!r}; the data model has: {', '.join(TABLE_NAMES)}"
        )
    here = f"{where}, table {table}"
    if not isinstance(td, dict) or "file" not in td:
        raise ValueError(f"{here}: expected a mapping with at least 'file:' and 'columns:'")
    unknown = set(td) - _TABLE_KEYS
    if unknown:
        raise ValueError(
            f"{here}: unknown setting(s) {sorted(unknown)}; allowed: {', '.join(sorted(_TABLE_KEYS))}"
        )
    spec = SPECS[table]
    cols_raw = td.get("columns") or {}
    if not isinstance(cols_raw, dict):
        raise ValueError(f"{here}: 'columns' must map source column -> model column")
    columns: dict[str, list[str]] = {}
    seen: dict[str, str] = {}
    for src, dst in cols_raw.items():
        targets = [dst] if isinstance(dst, str) else dst
        if not isinstance(targets, list) or not all(isinstance(x, str) for x in targets):
            raise ValueError(f"{here}: column {src!r} must map to a column name or a list of them")
        for m in targets:
            if m in seen:
                raise ValueError(
                    f"{here}: model column {m!r} is fed by both {seen[m]!r} and {src!r}"
                )
            seen[m] = str(src)
        columns[str(src)] = targets
    values = td.get("values") or {}
    constants = td.get("constants") or {}
    for what, names in (("values", values), ("constants", constants)):
        if not isinstance(names, dict):
            raise ValueError(f"{here}: '{what}' must be a mapping keyed by model column")
    for m in values:
        if m not in seen:
            raise ValueError(f"{here}: 'values' for {m!r}, but no source column is mapped to {m!r}")
        if not isinstance(values[m], dict):
            raise ValueError(f"{here}: values.{m} must map source value -> model value")
    for m in constants:
        if m in seen:
            raise ValueError(f"{here}: {m!r} is both mapped from {seen[m]!r} and a constant")
    lacking = [
        c.name
        for c in spec.columns
        if not c.nullable and c.name not in seen and c.name not in constants
    ]
    if lacking:
        raise ValueError(
            f"{here}: required model column(s) {', '.join(lacking)} are neither mapped "
            "from a source column nor given as constants"
        )
    return TableMapping(
        table=table,
        file=str(td["file"]),
        columns=columns,
        values={str(k): {str(a): b for a, b in v.items()} for k, v in values.items()},
        constants={str(k): v for k, v in constants.items()},
        date_formats=_str_list(here, "date_formats", td.get("date_formats")),
        encoding=td.get("encoding"),
        thousands=td.get("thousands"),
        delimiter=str(td.get("delimiter", ",")),
        keep_unmapped=bool(td.get("keep_unmapped", False)),
    )


def _read_source(
    p: Path, encoding: str | None, delimiter: str = ","
) -> tuple[pd.DataFrame, np.ndarray | None]:
    if p.suffix.lower() in (".parquet", ".pq"):
        df = pd.read_parquet(p)
        return df.assign(**{c: df[c].astype("str") for c in df.columns}), None
    if p.suffix.lower() not in (".csv", ".txt", ".tsv"):
        raise ValueError(
            f"{p.name}: unsupported source file type {p.suffix!r}; export it as CSV "
            "(in Excel: Save As > CSV UTF-8) or Parquet"
        )
    df, used = read_csv_table(p, encoding=encoding, delimiter=delimiter)
    return df, csv_line_numbers(p, used, len(df), delimiter=delimiter)


def _to_iso(s: pd.Series, formats: list[str]) -> pd.Series:
    """Rewrite cells matching one of ``formats`` as ISO text; leave the rest as written."""
    txt = s.str.strip()
    todo = txt.notna() & ~txt.str.fullmatch(ISO_DATE_RE).fillna(False)
    out = txt.copy()
    for fmt in formats:
        if not todo.any():
            break
        parsed = pd.to_datetime(txt[todo], format=fmt, errors="coerce")
        hit = parsed.notna()
        idx = hit[hit].index
        out.loc[idx] = parsed[hit].dt.strftime("%Y-%m-%d %H:%M:%S").str.removesuffix(" 00:00:00")
        todo.loc[idx] = False
    return out


def apply_mapping(
    src_dir: str | Path, mapping: ImportMapping
) -> tuple[dict[str, pd.DataFrame], dict[str, str], dict[str, np.ndarray]]:
    """Read the source files and translate them into raw model tables (not validated).

    Returns
    -------
    raw, files, lines
        Model table -> frame (one row per source row, same order), model
        table -> source file name, and model table -> the CSV line of each row
        where that is not row + 2 (see :func:`salesml.data.io.csv_line_numbers`).
    """
    src = Path(src_dir)
    raw: dict[str, pd.DataFrame] = {}
    files: dict[str, str] = {}
    lines: dict[str, np.ndarray] = {}
    where = str(mapping.path) if mapping.path else "mapping"
    for table, tm in mapping.tables.items():
        p = src / tm.file
        if not p.is_file():
            raise FileNotFoundError(f"{where}, table {table}: source file {p} does not exist")
        df, starts = _read_source(p, tm.encoding or mapping.encoding, tm.delimiter)
        if starts is not None:
            lines[table] = starts
        absent = [c for c in tm.columns if c not in df.columns]
        if absent:
            raise ValueError(
                f"{tm.file}: column(s) {', '.join(map(repr, absent))} named in {where} "
                f"(table {table}) are not in the file; it has: {', '.join(df.columns)}"
            )
        spec = SPECS[table]
        out: dict[str, pd.Series] = {}
        for s_col, targets in tm.columns.items():
            for m in targets:
                col = df[s_col].str.strip()
                vmap = tm.values.get(m)
                if vmap:
                    other = vmap.get("*")
                    mapped = col.map({k: v for k, v in vmap.items() if k != "*"})
                    if other is not None:
                        fallback = pd.Series(other, index=col.index).where(col.notna())
                    else:
                        fallback = col
                    col = mapped.where(mapped.notna(), fallback).astype("str")
                kind = spec[m].kind if m in spec else None
                if kind == "datetime":
                    col = _to_iso(col, tm.date_formats + mapping.date_formats)
                elif kind in ("float", "int") and tm.thousands:
                    col = col.str.replace(tm.thousands, "", regex=False)
                out[m] = col
        for m, v in tm.constants.items():
            out[m] = pd.Series(v, index=df.index, dtype="str" if isinstance(v, str) else None)
        if tm.keep_unmapped:
            for c in df.columns:
                if c not in tm.columns and c not in out:
                    out[c] = df[c]
        order = [c.name for c in spec.columns if c.name in out]
        order += [c for c in out if c not in order]
        raw[table] = pd.DataFrame({c: out[c] for c in order}, index=df.index)
        files[table] = tm.file
    return raw, files, lines


def import_dataset(
    src_dir: str | Path,
    mapping: str | Path | ImportMapping,
    out_dir: str | Path,
    *,
    format: Literal["parquet", "csv"] = "parquet",
    quarantine_file: str | Path | None = "quarantine.csv",
) -> ValidationReport:
    """Import an export through a mapping, validate it and write a dataset folder.

    Parameters
    ----------
    src_dir
        Folder holding the source files.
    mapping
        The mapping (a path to its YAML, or a parsed :class:`ImportMapping`).
    out_dir
        Dataset folder to write (clean rows only).
    format
        Table file format of the output.
    quarantine_file
        Where to write rejected rows, relative to ``out_dir`` (``None``: not written;
        nothing is written when no row was rejected).

    Returns
    -------
    ValidationReport
        Quarantine messages name the source file, its line, and the source column.
    """
    m = mapping if isinstance(mapping, ImportMapping) else ImportMapping.read(mapping)
    raw, files, lines = apply_mapping(src_dir, m)
    config = DatasetConfig.from_dict(copy.deepcopy(m.dataset))
    report = validate(raw, config=config, files=files, lines=lines)
    q = report.quarantine
    if len(q):
        src_cols = {(t, mc): sc for t, tm in m.tables.items() for mc, sc in tm.source_of.items()}
        source = [src_cols.get((t, c), "") for t, c in zip(q["table"], q["column"], strict=True)]
        q = q.assign(source_column=pd.Series(source, index=q.index, dtype="str"))
        named = q["source_column"].str.len() > 0
        q.loc[named, "message"] = [
            msg.replace(f": column {c} is", f": column {sc!r} ({c}) is", 1)
            for msg, c, sc in zip(
                q.loc[named, "message"],
                q.loc[named, "column"],
                q.loc[named, "source_column"],
                strict=True,
            )
        ]
        report.quarantine = q
    out = Path(out_dir)
    save_dataset(report.data, out, format=format)
    if quarantine_file is not None and len(q):
        report.to_file(out / quarantine_file)
    report.data.source = out
    return report
