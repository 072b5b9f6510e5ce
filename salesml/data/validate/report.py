"""What a validation found: the :class:`ValidationReport` and its quarantine frame."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from salesml.data.bundle import SalesData
from salesml.data.csvsafe import safe_csv_frame
from salesml.data.validate.rules import RULES, CheckedTable, fmt_values

__all__ = [
    "QUARANTINE_COLUMNS",
    "ValidationReport",
    "empty_quarantine",
    "place_quarantine",
    "quarantine_frame",
    "quarantine_parts",
    "typed_quarantine",
]

QUARANTINE_COLUMNS: tuple[str, ...] = (
    "table",
    "file",
    "row",
    "line",
    "key",
    "column",
    "rule",
    "value",
    "message",
)
_TEXT_QCOLS = ("table", "file", "key", "column", "rule", "value", "message")


@dataclass
class ValidationReport:
    """What a validation found: clean data, the quarantine and per-table counts.

    Attributes
    ----------
    data
        The clean :class:`~salesml.data.bundle.SalesData` (rejected rows removed,
        columns parsed to the model's dtypes).
    quarantine
        One row per rejected row, broken rule and column; columns
        ``table, file, row, line, key, column, rule, value, message``. ``row`` is the
        0-based position as read, ``line`` the CSV line (header = 1; missing for
        Parquet and in-memory frames). A CSV line that could not be read as a row
        has rule ``csv_syntax``, column ``*`` and the line's text as ``value``.
    counts
        Per table (index): ``file, read, loaded, quarantined`` (distinct rows).
    rejected
        Per table, the rejected rows exactly as read (index = ``row``; the row of an
        unreadable CSV line is empty).
    notes
        Things worth knowing that are not rejections (skipped checks, added columns).
    """

    data: SalesData
    quarantine: pd.DataFrame
    counts: pd.DataFrame
    rejected: dict[str, pd.DataFrame] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether nothing was rejected."""
        return not len(self.quarantine)

    @property
    def n_rejected(self) -> int:
        """Distinct rows rejected over all tables."""
        return int(self.counts["quarantined"].sum()) if len(self.counts) else 0

    def rule_counts(self) -> pd.DataFrame:
        """Rejections per table (rows) and rule (columns): quarantine records, not rows."""
        if not len(self.quarantine):
            return pd.DataFrame(index=pd.Index([], name="table"), columns=list(RULES), dtype=int)
        t = pd.crosstab(self.quarantine["table"], self.quarantine["rule"])
        return t.reindex(columns=[r for r in RULES if r in t.columns])

    def headline(self) -> str:
        """One sentence: how much was read, loaded and quarantined."""
        read = int(self.counts["read"].sum()) if len(self.counts) else 0
        loaded = int(self.counts["loaded"].sum()) if len(self.counts) else 0
        if self.ok:
            return f"validation: all {read:,} rows of {len(self.counts)} tables passed"
        bad = self.counts[self.counts["quarantined"] > 0]
        parts = ", ".join(f"{t} {int(n):,}" for t, n in bad["quarantined"].items())
        return (
            f"validation: {loaded:,} of {read:,} rows loaded, "
            f"{self.n_rejected:,} quarantined ({parts})"
        )

    def summary(self) -> pd.DataFrame:
        """Per table: file, read, loaded, quarantined and the count of each broken rule."""
        out = self.counts.copy()
        rc = self.rule_counts()
        for r in rc.columns:
            out[r] = rc[r].reindex(out.index).fillna(0).astype(int)
        return out

    def to_file(self, path: str | Path) -> Path:
        """Write the quarantine to ``path`` (``.parquet``, else CSV in UTF-8 with BOM).

        The BOM lets Excel open the Chinese text correctly; text cells a spreadsheet
        would run as formulas are neutralised (:func:`salesml.data.csvsafe.safe_csv_frame`).
        """
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        if p.suffix == ".parquet":
            self.quarantine.to_parquet(p, index=False)
        else:
            safe_csv_frame(self.quarantine).to_csv(p, index=False, encoding="utf-8-sig")
        return p

    def __repr__(self) -> str:
        return f"ValidationReport({self.headline()})"

    def _repr_html_(self) -> str:
        head = f"<b>Validation</b>: {html.escape(self.headline())}"
        summ = self.summary()
        idle = [r for r in RULES if r in summ.columns and not summ[r].any()]
        body = summ.drop(columns=idle).to_html()
        if not self.ok:
            shown = self.quarantine.head(10)[["table", "column", "rule", "message"]]
            body += "<p><small>first rejections</small></p>" + shown.to_html(index=False)
        if self.notes:
            body += "<ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in self.notes) + "</ul>"
        return f"<div>{head}{body}</div>"


def quarantine_parts(t: CheckedTable) -> list[pd.DataFrame]:
    """One frame per issue of ``t``, not yet placed in the whole table.

    Columns ``row`` (position in ``t``), ``line`` (CSV line, else missing), ``key``,
    ``column``, ``rule``, ``value`` and ``tail`` (the message after its ``row N`` /
    ``line N``). :func:`place_quarantine` turns them into quarantine records, with the
    rows shifted by the offset of ``t`` in its table when ``t`` is one partition.
    """
    frames = []
    for i in t.issues:
        pos = i.positions
        explain = (
            i.explain.reset_index(drop=True)
            if isinstance(i.explain, pd.Series)
            else pd.Series(i.explain, index=range(len(pos)), dtype="str")
        )
        if i.rule == "csv_syntax":
            value = i.values.reset_index(drop=True)
            tail = (
                ": the line cannot be read as one row ("
                + explain
                + "); it was set aside and the rest of the file loaded"
            )
        else:
            first_col = i.column.split("+")[0]
            src = t.raw[first_col] if first_col in t.raw.columns else t.parsed[first_col]
            value = fmt_values(src.iloc[pos]) if i.values is None else i.values
            shown = value.where(value.str.len() > 0, "empty")
            if i.rule not in ("non_negative", "time_order"):
                shown = shown.where(shown == "empty", "'" + shown + "'")
            tail = ": column " + i.column + " is " + shown + explain
        frames.append(
            pd.DataFrame(
                {
                    "row": pos.astype("int64"),
                    "line": pd.array(
                        t.line_of(pos) if t.is_csv else [pd.NA] * len(pos), dtype="Int64"
                    ),
                    "key": t.key_text(pos).to_numpy(),
                    "column": i.column,
                    "rule": i.rule,
                    "value": value.to_numpy(),
                    "tail": pd.Series(tail).to_numpy(),
                }
            )
        )
    return frames


def place_quarantine(
    part: pd.DataFrame, table: str, label: str, *, is_csv: bool, offset: int = 0
) -> pd.DataFrame:
    """Quarantine records from one frame of :func:`quarantine_parts`.

    ``offset`` is the position of the part's first row in its table (``row`` and the
    ``row N`` of the message shift by it); CSV messages name the line instead.
    """
    row = part["row"].to_numpy(dtype="int64") + offset
    if is_csv:
        where = "line " + pd.Series(part["line"].to_numpy(dtype="int64")).astype("str")
    else:
        where = "row " + pd.Series(row).astype("str")
    message = label + " " + where + pd.Series(part["tail"].to_numpy())
    return pd.DataFrame(
        {
            "table": table,
            "file": label,
            "row": row,
            "line": part["line"].to_numpy(),
            "key": part["key"].to_numpy(),
            "column": part["column"].to_numpy(),
            "rule": part["rule"].to_numpy(),
            "value": part["value"].to_numpy(),
            "message": message.to_numpy(),
        }
    )


def quarantine_frame(t: CheckedTable) -> pd.DataFrame | None:
    """The quarantine records of one checked table (``None`` when it has none)."""
    label = t.file or t.name
    frames = [
        place_quarantine(part, t.name, label, is_csv=t.is_csv) for part in quarantine_parts(t)
    ]
    if not frames:
        return None
    return pd.concat(frames, ignore_index=True)


def empty_quarantine() -> pd.DataFrame:
    """A quarantine frame without records, with the documented columns and dtypes."""
    dtypes = {"row": "int64", "line": "Int64"}
    return pd.DataFrame({c: pd.Series(dtype=dtypes.get(c, "str")) for c in QUARANTINE_COLUMNS})


def typed_quarantine(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """The quarantine records of every table as one frame with the documented dtypes."""
    q = pd.concat(frames, ignore_index=True) if frames else empty_quarantine()
    return q.astype({"line": "Int64", "row": "int64", **dict.fromkeys(_TEXT_QCOLS, "str")})
