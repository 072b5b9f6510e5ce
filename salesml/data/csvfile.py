"""Reading one delimited text file (CSV, TSV) into text columns, losing no line.

:func:`read_csv_file` decodes the file strictly (:mod:`salesml.data.encoding`),
refuses a header that names a column twice (pandas would silently rename the
second ``amount`` to ``amount.1``), and sets aside the lines that cannot be read as
one row instead of losing the table:

- a line with more fields than the header;
- a quote that is never closed, or closed and followed by more text: a quoted cell
  that runs over several lines and does not leave the header's number of fields,
  or is malformed, is taken to be an unclosed quote. Its first line is set aside
  and reading starts again on the next line, so the rows the quote would have
  swallowed are read as rows.

Each such line becomes an empty placeholder row of the table, listed in
:attr:`CsvFile.unreadable`; validation quarantines it under ``csv_syntax`` so that
``read == loaded + quarantined`` still holds. A line with fewer fields than the
header is a row whose last cells are empty, as in pandas.

Speed: the usual file, one line per row, is read by pandas' C parser and checked
by counting newline bytes. Only a file with cells spanning lines, blank lines or
broken lines is walked once more with the csv module to find each row's line.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
import warnings
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from salesml.data.encoding import (
    EncodingError,
    check_encoding,
    line_chunks,
    line_separator,
)
from salesml.data.errors import DatasetError
from salesml.data.validate.parse import arrow_text, text_frame

__all__ = [
    "MAX_UNREADABLE_LINES",
    "CsvError",
    "CsvFile",
    "csv_line_numbers",
    "read_csv_file",
    "sniff_delimiter",
]

#: A file with more unreadable lines than this is refused (wrong delimiter or quoting).
MAX_UNREADABLE_LINES = 1000
#: Longest cell the line walk accepts; a longer one is an unclosed quote.
_MAX_CELL = 16 << 20
#: A quoted cell running over more lines than this is taken to be an unclosed quote.
_MAX_RECORD_LINES = 1000
_SHOWN = 200
_UNREADABLE = ("row", "line", "text", "reason")


class CsvError(DatasetError):
    """A CSV file cannot be read as a table (the message names file and line)."""


@dataclass
class CsvFile:
    """A delimited text file read as text columns.

    Attributes
    ----------
    columns
        Column name (stripped of spaces) -> the rows that could be read, as an
        Arrow ``large_string`` array (empty cells null).
    n_rows
        How many rows could be read.
    encoding
        The codec the file was decoded with (``utf-8-sig``, ``gb18030``, ``utf-16``).
    delimiter
        The field separator used.
    unreadable
        The lines set aside: ``row`` (position of its placeholder in
        :meth:`table`), ``line``, ``text`` (shortened) and ``reason``.
    lines
        The line each row of :meth:`table` starts on, where that is not row + 2.
    notes
        Things worth telling that are not errors (from decoding).
    """

    columns: dict[str, pa.Array]
    n_rows: int
    encoding: str
    delimiter: str
    unreadable: pd.DataFrame
    lines: np.ndarray | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def frame(self) -> pd.DataFrame:
        """The rows that could be read, every column pandas ``str`` (empty cells missing)."""
        return text_frame(self.columns, self.n_rows)

    def table(self, frame: pd.DataFrame | None = None) -> pd.DataFrame:
        """``frame`` (default: :attr:`frame`, maybe typed since) with the placeholders.

        A placeholder row is empty in every column; whole-number and true/false
        columns become pandas' nullable ``Int64``/``boolean`` to hold it.
        """
        frame = self.frame if frame is None else frame
        if not len(self.unreadable):
            return frame
        n = len(frame) + len(self.unreadable)
        rows = self.unreadable["row"].to_numpy(dtype=np.int64)
        take = np.full(n, -1, dtype=np.int64)
        keep = np.ones(n, dtype=bool)
        keep[rows] = False
        take[keep] = np.arange(len(frame))
        cols = {}
        for c in frame.columns:
            s = frame[c]
            if s.dtype == np.int64 or s.dtype == np.int32:
                s = s.astype("Int64")
            elif s.dtype == bool:
                s = s.astype("boolean")
            cols[c] = pd.Series(
                pd.api.extensions.take(s.array, take, allow_fill=True), name=c, copy=False
            )
        return pd.DataFrame(cols, copy=False)


def sniff_delimiter(header_line: str) -> str:
    """The field separator from a header line: ``,`` unless it has none and has tabs/``;``."""
    if "," in header_line:
        return ","
    if "\t" in header_line:
        return "\t"
    if ";" in header_line:
        return ";"
    return ","


# ---------------------------------------------------------------------- the line walk
@dataclass
class _Line:
    number: int
    offset: int
    size: int
    text: str


class _TooLong(Exception):
    """A record ran over more than ``_MAX_RECORD_LINES`` lines."""


class _Lines:
    """Decoded lines of a file, with push-back, remembering the current record's lines."""

    def __init__(self, path: Path, encoding: str, sep: bytes) -> None:
        self._source = self._read(path, encoding, sep)
        self.pending: deque[_Line] = deque()
        self.record: list[_Line] = []

    @staticmethod
    def _read(path: Path, encoding: str, sep: bytes) -> Iterator[_Line]:
        codec = encoding.replace("utf-8-sig", "utf-8")
        for chunk in line_chunks(path, sep):
            data = chunk.data
            start = 0
            if chunk.offset == 0 and data.startswith(b"\xef\xbb\xbf"):
                start = 3
            number = chunk.line
            while start < len(data):
                end = data.find(sep, start)
                end = len(data) if end < 0 else end + 1
                raw = data[start:end]
                yield _Line(number, chunk.offset + start, len(raw), raw.decode(codec))
                number += 1
                start = end

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        # StopIteration from the source ends the csv reader
        line = self.pending.popleft() if self.pending else next(self._source)
        self.record.append(line)
        if len(self.record) > _MAX_RECORD_LINES:
            raise _TooLong
        return line.text


@dataclass
class _Walk:
    starts: np.ndarray
    bad: list[tuple[_Line, str]]
    header: list[str]


def _walk(path: Path, encoding: str, delimiter: str, sep: bytes, label: str) -> _Walk:
    """Every record's first line, and the lines that cannot be read as a row."""
    src = _Lines(path, encoding, sep)
    limit = csv.field_size_limit()
    csv.field_size_limit(_MAX_CELL)
    starts: list[int] = []
    bad: list[tuple[_Line, str]] = []
    header: list[str] | None = None
    try:
        reader = csv.reader(src, delimiter=delimiter, strict=True)
        while True:
            src.record = []
            reason = None
            try:
                row = next(reader)
            except StopIteration:
                break
            except (csv.Error, _TooLong) as e:
                at_end = "unexpected end of data" in str(e)  # a quote still open at the end
                if len(src.record) == 1 and not isinstance(e, _TooLong) and not at_end:
                    # one malformed line (text after a closing quote): read it leniently,
                    # as pandas does
                    try:
                        row = next(csv.reader([src.record[0].text], delimiter=delimiter), [])
                    except csv.Error as e2:
                        row, reason = None, str(e2)
                else:
                    row = None
                    reason = (
                        f"a quoted cell that starts on this line is not closed within "
                        f"{_MAX_RECORD_LINES:,} lines"
                        if isinstance(e, _TooLong)
                        else f"a quote opened on this line is not closed properly ({e})"
                    )
                reader = csv.reader(src, delimiter=delimiter, strict=True)
            lines = list(src.record)
            if header is None:
                if row is None or not row:
                    raise CsvError(f"{label}: the header line cannot be read ({reason})")
                header = row
                continue
            if row is not None:
                if not row or (len(row) == 1 and not row[0].strip() and len(lines) == 1):
                    continue  # a blank line, which pandas skips too
                n = len(row)
                if n > len(header):
                    reason = f"it has {n:,} fields where the header has {len(header)}"
                elif len(lines) > 1 and n != len(header):
                    reason = (
                        f"a quoted cell runs from here over {len(lines)} lines and leaves "
                        f"{n} fields where the header has {len(header)}: probably an "
                        "unclosed quote"
                    )
                else:
                    starts.append(lines[0].number)
                    continue
            bad.append((lines[0], str(reason)))
            if len(bad) > MAX_UNREADABLE_LINES:
                first, why = bad[0]
                raise CsvError(
                    f"{label}: more than {MAX_UNREADABLE_LINES:,} lines cannot be read as CSV "
                    f"(first at line {first.number}: {why}); check the delimiter and the quoting"
                )
            src.pending.extendleft(reversed(lines[1:]))
    except UnicodeDecodeError as e:  # pragma: no cover - check_encoding ran first
        raise EncodingError(f"{label}: {e}") from None
    finally:
        csv.field_size_limit(limit)
    if header is None:
        raise CsvError(f"{label} is empty: it has no header line")
    return _Walk(np.asarray(starts, dtype=np.int64), bad, header)


class _Without(io.RawIOBase):
    """A file's bytes without some ranges (the unreadable lines), for pandas."""

    def __init__(self, path: Path, cuts: list[tuple[int, int]]) -> None:
        self._f = path.open("rb")
        self._cuts = deque(sorted(cuts))
        self._pos = 0

    def readable(self) -> bool:
        return True

    def readinto(self, b: bytearray) -> int:  # type: ignore[override]
        while self._cuts and self._pos >= self._cuts[0][0]:
            start, size = self._cuts.popleft()
            self._pos = start + size
            self._f.seek(self._pos)
        want = len(b)
        if self._cuts:
            want = min(want, self._cuts[0][0] - self._pos)
        data = self._f.read(want)
        b[: len(data)] = data
        self._pos += len(data)
        return len(data)

    def close(self) -> None:
        self._f.close()
        super().close()


# ---------------------------------------------------------------------- reading
def _pandas(source, encoding: str, delimiter: str) -> pd.DataFrame:
    """The file read by pandas' C parser, every cell as text.

    ``index_col=False``: pandas would otherwise take the first columns as an index when the
    first data row has more fields than the header, silently shifting every value. With it,
    pandas warns and drops the extra fields; that warning is raised here as a
    ``ParserError``, so the caller finds the long line and quarantines it like any other.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("error", pd.errors.ParserWarning)
        try:
            return pd.read_csv(
                source,
                encoding=encoding,
                dtype="str",
                keep_default_na=False,
                na_values=[""],
                sep=delimiter,
                engine="c",
                index_col=False,
            )
        except pd.errors.ParserWarning as w:
            raise pd.errors.ParserError(str(w)) from None


def _count_lines(path: Path, sep: bytes) -> int:
    n, last = 0, b""
    with path.open("rb") as f:
        while chunk := f.read(1 << 24):
            n += chunk.count(sep)
            last = chunk[-1:]
    return n + (0 if last in (sep, b"") else 1)


def _transcoded(path: Path, tmp: str) -> Path:
    """A UTF-8 copy of a UTF-16 file (already checked to decode strictly)."""
    out = Path(tmp) / (path.stem + ".utf8.csv")
    with (
        path.open(encoding="utf-16", newline="") as src,
        out.open("w", encoding="utf-8", newline="") as dst,
    ):
        while block := src.read(1 << 22):
            dst.write(block)
    return out


def read_csv_file(
    path: str | os.PathLike[str],
    *,
    encoding: str | None = None,
    delimiter: str | None = None,
    name: str | None = None,
) -> CsvFile:
    """Read a CSV/TSV file as text columns, setting aside lines that are not rows.

    Parameters
    ----------
    path
        The file.
    encoding
        Its encoding; ``None`` or ``"auto"`` detects it strictly
        (:func:`salesml.data.encoding.check_encoding`).
    delimiter
        Field separator; ``None`` takes it from the header line
        (:func:`sniff_delimiter`).
    name
        How to name the file in messages (default: its file name).

    Returns
    -------
    CsvFile

    Raises
    ------
    EncodingError
        When the file does not decode strictly (file, line, byte offset).
    CsvError
        For an empty file, a header naming a column twice, or more than
        :data:`MAX_UNREADABLE_LINES` unreadable lines.
    """
    p = Path(path)
    label = name or p.name
    decoding = check_encoding(
        p, declared=None if encoding in (None, "", "auto") else encoding, name=label
    )
    if decoding.encoding == "utf-16":
        with tempfile.TemporaryDirectory(prefix="salesml-csv-") as tmp:
            out = _read_decoded(_transcoded(p, tmp), "utf-8-sig", delimiter, label)
    else:
        out = _read_decoded(p, decoding.encoding, delimiter, label)
    out.encoding = decoding.encoding
    out.notes = decoding.notes + out.notes
    return out


def _read_decoded(p: Path, encoding: str, delimiter: str | None, label: str) -> CsvFile:
    with p.open("rb") as f:
        head = f.read(1 << 16)
    sep = line_separator(head)
    with p.open(encoding=encoding, newline="") as f:
        first = f.readline()
    if not head.strip():
        raise CsvError(f"{label} is empty: it has no header line")
    if not first.strip():
        raise CsvError(f"{label}: line 1 is blank; the header must be on the first line")
    delim = delimiter or sniff_delimiter(first)
    _refuse_duplicates([c.strip() for c in next(csv.reader([first], delimiter=delim), [])], label)
    arrays = _arrow(p, encoding, delim, next(csv.reader([first], delimiter=delim), []))
    df: pd.DataFrame | None = None
    error: Exception | None = None
    if arrays is None:
        try:
            df = _pandas(p, encoding, delim)
        except pd.errors.EmptyDataError:
            raise CsvError(f"{label} is empty: it has no header line") from None
        except pd.errors.ParserError as e:
            error = e
        else:
            arrays = _columns(df)
    none = pd.DataFrame(columns=list(_UNREADABLE))
    if arrays is not None:
        n = len(next(iter(arrays.values()))) if arrays else 0
        if _count_lines(p, sep) == n + 1:
            return CsvFile(arrays, n, encoding, delim, none)
    walk = _walk(p, encoding, delim, sep, label)
    if not walk.bad:
        if arrays is None:
            raise CsvError(f"{label}: {' '.join(str(error).split())}") from None
        lines = walk.starts if len(walk.starts) == n else None
        return CsvFile(arrays, n, encoding, delim, none, lines)
    with io.BufferedReader(_Without(p, [(ln.offset, ln.size) for ln, _ in walk.bad])) as f:
        try:
            df = _pandas(f, encoding, delim)
        except pd.errors.ParserError as e:
            raise CsvError(f"{label}: {' '.join(str(e).split())}") from None
    if len(df) != len(walk.starts):
        raise CsvError(
            f"{label}: {len(walk.bad)} line(s) cannot be read as rows (first at line "
            f"{walk.bad[0][0].number}: {walk.bad[0][1]}) and the rest could not be read "
            "consistently; fix those lines"
        )
    bad_lines = np.asarray([ln.number for ln, _ in walk.bad], dtype=np.int64)
    all_lines = np.sort(np.concatenate([walk.starts, bad_lines]))
    rows = np.searchsorted(all_lines, bad_lines)
    unreadable = pd.DataFrame(
        {
            "row": rows,
            "line": bad_lines,
            "text": pd.Series([_shorten(ln.text) for ln, _ in walk.bad], dtype="str"),
            "reason": pd.Series([why for _, why in walk.bad], dtype="str"),
        }
    )
    plain = np.array_equal(all_lines, np.arange(2, len(all_lines) + 2))
    return CsvFile(_columns(df), len(df), encoding, delim, unreadable, None if plain else all_lines)


def _columns(df: pd.DataFrame) -> dict[str, pa.Array]:
    return {str(c).strip(): arrow_text(s) for c, s in df.items()}


def _arrow(p: Path, encoding: str, delimiter: str, header: list[str]) -> dict[str, pa.Array] | None:
    """The file read by Arrow's CSV reader, or ``None`` when a row does not fit the header.

    Arrow reads a wide file far faster than pandas (no Python step per column) and,
    on files whose every row has the header's number of fields, reads the same
    values as pandas' C parser (quoting, blank lines, BOM, empty cells). Any row
    with another number of fields sends the file to the pandas path, which pads
    short rows and finds the unreadable lines.
    """
    invalid: list[object] = []

    def handler(row: object) -> str:
        invalid.append(row)
        return "skip"

    n_fields = len(header)
    try:
        table = pacsv.read_csv(
            p,
            read_options=pacsv.ReadOptions(
                encoding="utf8" if encoding == "utf-8-sig" else encoding,
                skip_rows=1,
                autogenerate_column_names=True,
            ),
            parse_options=pacsv.ParseOptions(
                delimiter=delimiter, newlines_in_values=True, invalid_row_handler=handler
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={f"f{i}": pa.large_string() for i in range(n_fields)},
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
                null_values=[""],
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, UnicodeDecodeError, ValueError):
        return None
    if invalid or table.num_columns != n_fields:
        return None
    out = {}
    for name, col in zip([c.strip() for c in header], table.columns, strict=True):
        out[name] = col.combine_chunks() if col.num_chunks != 1 else col.chunk(0)
    return out


def _refuse_duplicates(names: list[str], label: str) -> None:
    """A header naming a column twice is refused: which copy holds the data is unknown."""
    where: dict[str, list[int]] = {}
    for i, c in enumerate(names, start=1):
        if c:
            where.setdefault(c, []).append(i)
    dups = {c: pos for c, pos in where.items() if len(pos) > 1}
    if dups:
        shown = "; ".join(f"{c!r} in columns {', '.join(map(str, pos))}" for c, pos in dups.items())
        raise CsvError(
            f"{label}: the header names a column more than once ({shown}); rename or remove "
            "the duplicate in the export (which of them holds the data cannot be guessed)"
        )


def _shorten(text: str) -> str:
    text = text.rstrip("\r\n")
    return text if len(text) <= _SHOWN else text[: _SHOWN - 1] + "…"


def csv_line_numbers(
    path: str | os.PathLike[str], encoding: str, n_rows: int, *, delimiter: str = ","
) -> np.ndarray | None:
    """The file line on which each data row of a CSV starts, when it is not row + 2.

    Quoted cells that span lines and skipped blank lines shift rows against lines;
    in the usual file neither happens and ``None`` is returned (line = row + 2,
    the header being line 1). Counting newline bytes decides that cheaply (UTF-8 and
    GB18030 never use the newline byte inside a character); only a file that needs
    it is walked with the csv module. ``None`` too when the walk does not find
    ``n_rows`` rows.
    """
    p = Path(path)
    if encoding.lower().replace("_", "-") == "utf-16":
        with tempfile.TemporaryDirectory(prefix="salesml-csv-") as tmp:
            return csv_line_numbers(_transcoded(p, tmp), "utf-8-sig", n_rows, delimiter=delimiter)
    with p.open("rb") as f:
        sep = line_separator(f.read(1 << 16))
    if _count_lines(p, sep) == n_rows + 1:
        return None
    walk = _walk(p, encoding, delimiter, sep, p.name)
    if walk.bad or len(walk.starts) != n_rows:
        return None
    return walk.starts
