"""``import_dataset``: map an export, validate it, write the dataset and its quarantine."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from salesml.data.config import DatasetConfig
from salesml.data.io import save_dataset
from salesml.data.mapping.engine import MappedExport, apply_mapping, resolve_value_sets
from salesml.data.mapping.spec import ImportMapping
from salesml.data.quality import quality_warnings, warnings_frame
from salesml.data.quarantine import (
    SKIPPED,
    empty_stored_quarantine,
    write_stored_quarantine,
)
from salesml.data.schema import SPECS
from salesml.data.validate import ValidationReport, validate
from salesml.i18n import t

__all__ = ["ImportReport", "import_dataset"]


@dataclass
class ImportReport(ValidationReport):
    """What an import did: a :class:`ValidationReport` plus what the mapping skipped.

    Attributes
    ----------
    counts
        Per table: ``file, read`` (rows in the source file), ``skipped`` (left out by
        the mapping's ``filter``), ``added`` (placeholder rows), ``loaded`` and
        ``quarantined``; ``read + added == loaded + skipped + quarantined``.
    quarantine
        The rejected rows; ``row`` and ``line`` refer to the source file and
        ``source_column`` names the export's column behind ``column``.
    stored
        What was written to ``quarantine.parquet``: the quarantine plus one row per
        skipped row (rule ``skipped``), all with ``stage == "import"``.
    warnings
        Data-quality warnings (lookup misses and :func:`~salesml.data.quality.quality_warnings`).
    """

    stored: pd.DataFrame = field(default_factory=empty_stored_quarantine)
    warnings: pd.DataFrame = field(default_factory=warnings_frame)
    #: The rows of this report's quarantine are import-stage rows (already in ``stored``).
    stage: str = "import"

    @property
    def n_skipped(self) -> int:
        """Source rows the mapping's filter left out."""
        return int(self.counts["skipped"].sum()) if len(self.counts) else 0

    def headline(self, lang: str = "en") -> str:
        """One sentence: rows read, loaded, skipped and quarantined."""
        c = self.counts
        if self.ok and not self.n_skipped:
            return t("data.import.all", lang, read=int(c["read"].sum()), tables=len(c))
        bad = c[c["quarantined"] > 0]
        parts = ", ".join(f"{tb} {int(n):,}" for tb, n in bad["quarantined"].items())
        return t(
            "data.import.headline",
            lang,
            loaded=int((c["loaded"] - c["added"]).sum()),
            read=int(c["read"].sum()),
            skipped=self.n_skipped,
            rejected=self.n_rejected,
            parts=f" ({parts})" if parts else "",
        )


#: Origins of a cell that are rules of the mapping rather than a source column.
_RULE_ORIGINS = ("ids.", "lookup.", "fill.", "values.", "placeholders.")


def _hint(q: pd.DataFrame) -> pd.Series:
    """A hint for the rejections the mapping can fix (missing references, missing dates)."""
    hints = pd.Series("", index=q.index, dtype="str")
    nn = q["rule"] == "not_null"
    for (table, column), idx in q[nn].groupby(["table", "column"]).groups.items():
        spec = SPECS[table]
        if column not in spec:
            continue
        c = spec[column]
        if c.references:
            hints[idx] = t("data.hint.placeholder", "en", column=column)
        elif c.kind == "datetime":
            hints[idx] = t("data.hint.fill_date", "en", column=column)
    return hints


def _source_quarantine(report: ValidationReport, mapped: MappedExport) -> pd.DataFrame:
    """The validation's quarantine with rows, lines and columns of the source files."""
    q = report.quarantine
    if not len(q):
        return q.assign(source_column=pd.Series(dtype="str"))
    parts = []
    for table, g in q.groupby("table", sort=False):
        mt = mapped.tables[table]
        pos = g["row"].to_numpy(dtype=np.int64)
        src_rows = mt.source_rows[pos]
        first_col = g["column"].str.split("+").str[0]
        source = np.empty(len(g), dtype=object)
        for col, idx in pd.Series(range(len(g))).groupby(first_col.to_numpy()).groups.items():
            ix = np.asarray(idx, dtype=np.int64)
            source[ix] = mt.origin(str(col), pos[ix])
        parts.append(
            g.assign(
                row=src_rows,
                source_column=pd.Series(source, index=g.index, dtype="str").fillna(""),
            )
        )
    q = pd.concat(parts).loc[q.index]
    sc = q["source_column"]
    by_rule = sc.str.startswith(_RULE_ORIGINS)
    renamed = (sc.str.len() > 0) & (sc != q["column"])
    for mask, from_rule in ((~by_rule & renamed, False), (by_rule, True)):
        q.loc[mask, "message"] = [
            msg.replace(
                f": column {c} is",
                f": column {c} (from {src}) is" if from_rule else f": column {src!r} ({c}) is",
                1,
            )
            for msg, c, src in zip(
                q.loc[mask, "message"], q.loc[mask, "column"], sc[mask], strict=True
            )
        ]
    q["message"] = q["message"] + _hint(q)
    return q


def _skipped_rows(mapped: MappedExport, mapping: ImportMapping) -> pd.DataFrame:
    frames = []
    for table, mt in mapped.tables.items():
        if not len(mt.skipped):
            continue
        tm = mapping.tables[table]
        assert tm.filter is not None
        lines = mt.line_of_source(mt.skipped)
        is_csv = mt.file.lower().endswith(".csv")
        where = ("line " if is_csv else "row ") + pd.Series(
            lines if is_csv else mt.skipped, dtype="int64"
        ).astype("str")
        text = t("data.import.skip_message", "en", rule=tm.filter.text)
        frames.append(
            pd.DataFrame(
                {
                    "stage": "import",
                    "table": table,
                    "file": mt.file,
                    "row": mt.skipped,
                    "line": pd.array(lines if is_csv else [pd.NA] * len(lines), dtype="Int64"),
                    "key": "",
                    "column": "",
                    "source_column": "",
                    "rule": SKIPPED,
                    "value": "",
                    "message": (mt.file + " " + where + ": " + text).to_numpy(),
                }
            )
        )
    return pd.concat(frames, ignore_index=True) if frames else empty_stored_quarantine()


def import_dataset(
    src_dir: str | Path,
    mapping: str | Path | ImportMapping,
    out_dir: str | Path,
    *,
    format: Literal["parquet", "csv"] = "parquet",
    quarantine_file: str | Path | None = None,
) -> ImportReport:
    """Import an export through a mapping, validate it and write a dataset folder.

    The folder gets the clean tables, ``dataset.yaml`` (the mapping's ``dataset:``
    settings, ``value_sets`` read from the export) and ``quarantine.parquet`` (every
    row rejected or skipped; empty when none), which
    :func:`~salesml.data.io.load_dataset` reads back.

    Parameters
    ----------
    src_dir
        Folder holding the source files.
    mapping
        The mapping (a path to its YAML, or a parsed :class:`ImportMapping`); the
        format is described in ``docs/mapping.md``.
    out_dir
        Dataset folder to write.
    format
        Table file format of the output.
    quarantine_file
        Also write the quarantine to this file, relative to ``out_dir`` (``.csv`` in
        UTF-8 with BOM for Excel, or ``.parquet``); ``None``: only ``quarantine.parquet``.

    Returns
    -------
    ImportReport
        Quarantine messages name the source file, its line, and the source column.
    """
    m = mapping if isinstance(mapping, ImportMapping) else ImportMapping.read(mapping)
    src = Path(src_dir)
    mapped = apply_mapping(src, m)
    settings = copy.deepcopy(m.dataset)
    if "value_sets" in settings:
        settings["value_sets"] = resolve_value_sets(src, m)
    config = DatasetConfig.from_dict(settings)
    report = validate(mapped.raw, config=config, files=mapped.files, lines=mapped.lines)
    q = _source_quarantine(report, mapped)
    counts = report.counts.copy()
    counts["read"] = [mapped.tables[tb].read for tb in counts.index]
    counts["skipped"] = [len(mapped.tables[tb].skipped) for tb in counts.index]
    counts["added"] = [mapped.tables[tb].added for tb in counts.index]
    counts = counts[["file", "read", "skipped", "added", "loaded", "quarantined"]]
    for tb, row in counts.iterrows():
        assert row["read"] + row["added"] == row["loaded"] + row["skipped"] + row["quarantined"], (
            f"conservation broken for {tb}"
        )
    skipped = _skipped_rows(mapped, m)
    stored = pd.concat(
        [df for df in (q.assign(stage="import"), skipped) if len(df)]
        or [empty_stored_quarantine()],
        ignore_index=True,
    )
    data = report.data
    warn = pd.concat(
        [df for df in (mapped.warnings, quality_warnings(data)) if len(df)] or [warnings_frame()],
        ignore_index=True,
    )
    result = ImportReport(
        data=data,
        quarantine=q,
        counts=counts,
        rejected=report.rejected,
        notes=[*report.notes, *mapped.notes],
        stored=stored,
        warnings=warn,
    )
    out = Path(out_dir)
    save_dataset(data, out, format=format)
    write_stored_quarantine(out, stored, stage=None)
    if quarantine_file is not None:
        result.to_file(out / quarantine_file)
    data.source = out
    data.validation = result
    data.stored_quarantine = result.stored
    return result
