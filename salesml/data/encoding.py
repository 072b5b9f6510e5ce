"""Strict decoding of CSV files: UTF-8, GB18030, or UTF-16 with a byte-order mark.

Nothing is decoded best effort. :func:`check_encoding` reads the whole file once
(line-aligned chunks, so memory stays flat) and either names the one encoding every
byte of it is valid in, or raises :class:`EncodingError` naming the file, the line
and the byte offset of the first byte that does not decode. The rules:

- a UTF-8 byte-order mark means UTF-8, every line of it;
- a UTF-16 byte-order mark (``FF FE`` / ``FE FF``; Excel's "Unicode text" and some
  ad-platform exports) means UTF-16, decoded strictly;
- without a mark, a file valid UTF-8 throughout is UTF-8;
- else the file must be GB18030 (GBK and GB2312 are subsets) throughout, and
  plausibly so: GB18030 gives a meaning to almost any byte pair, so two checks
  catch files that decode without an error yet would turn into nonsense:

  * a line that is valid UTF-8 with a character of three or more bytes (Chinese in
    UTF-8), in a file with lines that are not UTF-8, means two encodings were
    pasted together ("mixed"): refused;
  * when fewer than half of the two-byte characters are in the common GB2312 set,
    the bytes are most likely Latin-1/Windows-1252 text (``é`` followed by a
    letter reads as a rare ideograph): refused.

  A dataset that *declares* ``encoding: gb18030`` skips both guesses (the bytes
  still have to be valid GB18030); a UTF-8-looking line then becomes a note.

Why refuse the file rather than quarantine its bad lines: GB18030 is so dense that
a byte sequence that fails it is evidence the file is not GB18030 at all, so the
lines that did decode may be mojibake too; the only safe answer is the file, the
line and the byte, and a re-export. charset-normalizer's guess appears in the
message as a hint; it never picks the codec.
"""

from __future__ import annotations

import codecs
import functools
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from salesml.data.errors import DatasetError

__all__ = [
    "CODECS",
    "Decoding",
    "EncodingError",
    "LineChunk",
    "check_encoding",
    "line_chunks",
    "line_separator",
    "normalise_encoding",
    "utf8_lines",
]

#: Declared names -> the codec used to read (``gbk`` etc. are read as GB18030).
CODECS: dict[str, str] = {
    "auto": "auto",
    "utf-8": "utf-8-sig",  # reading with -sig also accepts files without a BOM
    "utf8": "utf-8-sig",
    "utf-8-sig": "utf-8-sig",
    "utf8-sig": "utf-8-sig",
    "gb18030": "gb18030",
    "gbk": "gb18030",
    "gb2312": "gb18030",
    "cp936": "gb18030",
    "utf-16": "utf-16",
}
_CHUNK = 8 << 20
_BOM_UTF8 = codecs.BOM_UTF8
_BOM_UTF16 = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
_BOM_UTF32 = (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)


class EncodingError(DatasetError):
    """A CSV file is not valid in any accepted encoding (file, line, byte offset)."""


@dataclass
class Decoding:
    """The outcome of :func:`check_encoding`.

    Attributes
    ----------
    encoding
        The codec to read the file with: ``utf-8-sig``, ``gb18030`` or ``utf-16``.
    notes
        Things worth telling the user that are not errors.
    """

    encoding: str
    notes: list[str] = field(default_factory=list)


def normalise_encoding(name: str, *, source: str = "encoding") -> str:
    """The codec for a declared encoding name, or :class:`EncodingError` naming it."""
    key = str(name).strip().lower().replace("_", "-")
    if key not in CODECS:
        raise EncodingError(
            f"{source}: encoding {name!r} is not accepted; use utf-8, utf-8-sig, gb18030 "
            "(also read for gbk, gb2312, cp936), utf-16 (with a byte-order mark) or auto"
        )
    return CODECS[key]


# ---------------------------------------------------------------------- chunks
@dataclass
class LineChunk:
    """A piece of a file that ends at a line separator (or at the end of the file)."""

    data: bytes
    offset: int  # byte offset of data[0] in the file
    line: int  # 1-based line number of data[0]


def line_chunks(path: Path, sep: bytes = b"\n", size: int = _CHUNK) -> Iterator[LineChunk]:
    """The file in pieces that end at a line separator (the last one at the end)."""
    offset, line, carry = 0, 1, b""
    with path.open("rb") as f:
        while True:
            block = f.read(size)
            buf = carry + block
            if not block:
                if buf:
                    yield LineChunk(buf, offset, line)
                return
            cut = buf.rfind(sep)
            if cut < 0:
                carry = buf  # a line longer than the block: keep reading
                continue
            piece, carry = buf[: cut + 1], buf[cut + 1 :]
            yield LineChunk(piece, offset, line)
            offset += len(piece)
            line += piece.count(sep)


def line_separator(head: bytes) -> bytes:
    """``\\n``, or ``\\r`` for a file that ends its lines with carriage returns only."""
    return b"\r" if b"\n" not in head and b"\r" in head else b"\n"


@dataclass
class _Where:
    line: int
    offset: int
    reason: str
    byte: int

    def text(self) -> str:
        return f"line {self.line}, byte {self.offset:,} (0x{self.byte:02x}: {self.reason})"


def _where(chunk: LineChunk, e: UnicodeDecodeError, sep: bytes, skip: int = 0) -> _Where:
    start = e.start + skip
    return _Where(
        line=chunk.line + chunk.data.count(sep, 0, start),
        offset=chunk.offset + start,
        reason=e.reason,
        byte=chunk.data[start],
    )


# ---------------------------------------------------------------------- UTF-8 by line
def utf8_lines(b: np.ndarray, sep: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Which lines of a line-aligned byte chunk are invalid UTF-8, and which are wide.

    Vectorised over the bytes (no loop over lines). A line is *wide* when it is
    valid UTF-8 and holds a character of three or more bytes (U+0800 and above,
    e.g. Chinese).

    Returns
    -------
    bad, wide
        Sorted 0-based line indices within the chunk.
    """
    pos = np.flatnonzero(b >= 0x80)
    if not len(pos):
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    v = b[pos]
    cont = v < 0xC0
    lead2 = (v >= 0xC2) & (v <= 0xDF)
    lead3 = (v >= 0xE0) & (v <= 0xEF)
    lead4 = (v >= 0xF0) & (v <= 0xF4)
    need = lead2.astype(np.int8) + 2 * lead3 + 3 * lead4
    bad = (v == 0xC0) | (v == 0xC1) | (v >= 0xF5)
    claimed = np.zeros(len(pos), dtype=bool)
    m = len(pos)
    for j in (1, 2, 3):
        k = np.flatnonzero(need >= j)
        nxt = k + j
        inside = nxt < m
        ok = np.zeros(len(k), dtype=bool)
        ok[inside] = (pos[nxt[inside]] == pos[k[inside]] + j) & cont[nxt[inside]]
        bad[k[~ok]] = True
        claimed[nxt[ok]] = True
        if j == 1:  # overlong forms, surrogates and code points above U+10FFFF
            lead, second = v[k[ok]], v[nxt[ok]]
            wrong = (
                ((lead == 0xE0) & (second < 0xA0))
                | ((lead == 0xED) & (second >= 0xA0))
                | ((lead == 0xF0) & (second < 0x90))
                | ((lead == 0xF4) & (second >= 0x90))
            )
            bad[k[ok][wrong]] = True
    bad |= cont & ~claimed
    breaks = np.flatnonzero(b == sep)
    line_of = np.searchsorted(breaks, pos)
    n_lines = len(breaks) + 1
    is_bad = np.zeros(n_lines, dtype=bool)
    is_bad[line_of[bad]] = True
    is_wide = np.zeros(n_lines, dtype=bool)
    is_wide[line_of[lead3 | lead4]] = True
    return np.flatnonzero(is_bad), np.flatnonzero(is_wide & ~is_bad)


# ---------------------------------------------------------------------- GB2312 share
@functools.cache
def _gb_tables() -> tuple[np.ndarray, np.ndarray]:
    """Boolean tables over the BMP: two-byte GBK characters, and the common GB2312 ones."""
    two = np.zeros(0x10000, dtype=bool)
    common = np.zeros(0x10000, dtype=bool)
    trails = [t for t in range(0x40, 0xFF) if t != 0x7F]
    for lead in range(0x81, 0xFF):
        for trail in trails:
            try:
                ch = bytes((lead, trail)).decode("gb18030")
            except UnicodeDecodeError:
                continue
            cp = ord(ch)
            if cp < 0x10000:
                two[cp] = True
                if 0xA1 <= lead <= 0xF7 and trail >= 0xA1:
                    common[cp] = True
    return two, common


def _hint(path: Path) -> str:
    """charset-normalizer's guess, for the message only (never used to decode)."""
    try:
        from charset_normalizer import from_path

        best = from_path(path, steps=3, chunk_size=4096).best()
    except Exception:  # a hint must never turn into another error
        return ""
    if best is None or best.encoding in ("utf_8", "gb18030"):
        return ""
    return f" (it looks like {best.encoding.replace('_', '-')}, a guess)"


_ADVICE = (
    "re-export it as UTF-8 (Excel: 'CSV UTF-8') or GB18030, or fix the declared "
    "encoding in dataset.yaml"
)


# ---------------------------------------------------------------------- entry point
def check_encoding(
    path: str | Path, *, declared: str | None = None, name: str | None = None
) -> Decoding:
    """Find the one accepted encoding the whole file decodes in, strictly.

    Parameters
    ----------
    path
        The CSV file.
    declared
        The encoding ``dataset.yaml`` or the caller declares (``None``/``auto``:
        detect, by the rules in the module docstring).
    name
        How to name the file in messages (default: its file name).

    Returns
    -------
    Decoding

    Raises
    ------
    EncodingError
        Naming the file, the line and the byte offset of the first byte that does
        not decode, or the two lines that show two encodings in one file.
    """
    p = Path(path)
    label = name or p.name
    codec = normalise_encoding(declared, source=label) if declared not in (None, "") else "auto"
    with p.open("rb") as f:
        head = f.read(1 << 16)
    if head.startswith(_BOM_UTF32):
        raise EncodingError(f"{label} is UTF-32, which is not accepted; {_ADVICE}")
    if head.startswith(_BOM_UTF16) and codec in ("auto", "utf-16"):
        _check_utf16(p, label)
        return Decoding("utf-16")
    if codec == "utf-16":
        raise EncodingError(
            f"{label} is declared utf-16 but has no UTF-16 byte-order mark; {_ADVICE}"
        )
    sep = line_separator(head)
    bom = head.startswith(_BOM_UTF8)
    first_bad: _Where | None = None
    first_wide: int | None = None
    if codec in ("auto", "utf-8-sig") or bom:
        first_bad, first_wide = _scan_utf8(p, sep, stop_at_error=codec != "auto")
        if first_bad is None:
            return Decoding("utf-8-sig")
        if codec == "utf-8-sig":
            raise EncodingError(
                f"{label} is not valid {declared} ({first_bad.text()}); fix the declared "
                "encoding in dataset.yaml or pass encoding="
            )
        if bom:
            raise EncodingError(
                f"{label} starts with a UTF-8 byte-order mark but is not valid UTF-8 at "
                f"{first_bad.text()}; {_ADVICE}"
            )
        if first_wide is not None:
            raise EncodingError(
                f"{label} is not in one encoding: {first_bad.text()} is not UTF-8, yet line "
                f"{first_wide} is UTF-8 text (two exports pasted together, or a stray byte); "
                "re-export the file in one encoding"
            )
    else:
        _, first_wide = _scan_utf8(p, sep, stop_at_error=False)
    gb_bad, share, sample = _scan_gb18030(p, sep, plausibility=codec == "auto")
    if gb_bad is not None:
        if codec == "gb18030":
            raise EncodingError(
                f"{label} is not valid {declared} ({gb_bad.text()}); fix the declared "
                "encoding in dataset.yaml or pass encoding="
            )
        assert first_bad is not None
        if gb_bad.line > first_bad.line:
            raise EncodingError(
                f"{label} reads as GB18030 up to {gb_bad.text()}, which is valid in neither "
                f"GB18030 nor UTF-8 (a damaged or stray byte?); fix that line, or {_ADVICE}"
            )
        raise EncodingError(
            f"{label} is neither UTF-8 ({first_bad.text()}) nor GB18030 "
            f"({gb_bad.text()}){_hint(p)}; {_ADVICE}"
        )
    if share is not None and share < 0.5:
        raise EncodingError(
            f"{label} decodes as GB18030 only into rare characters ({share:.0%} common "
            f"Chinese; line {sample[0]} would read {sample[1]!r}): it is probably not "
            f"Chinese text{_hint(p)}; re-export it as UTF-8, or declare "
            "encoding: gb18030 in dataset.yaml if it really is GB18030"
        )
    notes = []
    if codec == "gb18030" and first_wide is not None:
        notes.append(
            f"{label}: line {first_wide} looks like UTF-8 text but was decoded as GB18030, "
            "as dataset.yaml declares; check its Chinese text"
        )
    return Decoding("gb18030", notes)


def _scan_utf8(p: Path, sep: bytes, *, stop_at_error: bool) -> tuple[_Where | None, int | None]:
    """First byte that is not UTF-8, and the first line that is wide valid UTF-8."""
    first_bad: _Where | None = None
    first_wide: int | None = None
    for chunk in line_chunks(p, sep):
        skip = 3 if chunk.offset == 0 and chunk.data.startswith(_BOM_UTF8) else 0
        try:
            chunk.data[skip:].decode("utf-8")
        except UnicodeDecodeError as e:
            if first_bad is None:
                first_bad = _where(chunk, e, sep, skip)
                if stop_at_error:
                    return first_bad, first_wide
            if first_wide is None:
                _, wide = utf8_lines(np.frombuffer(chunk.data, dtype=np.uint8), sep[0])
                if len(wide):
                    first_wide = chunk.line + int(wide[0])
            if first_wide is not None and first_bad is not None:
                return first_bad, first_wide
            continue
        if first_wide is None:
            b = np.frombuffer(chunk.data, dtype=np.uint8)[skip:]
            lead = np.flatnonzero(b >= 0xE0)
            if len(lead):
                first_wide = chunk.line + chunk.data.count(sep, 0, skip + int(lead[0]))
        if first_bad is not None and first_wide is not None:
            break
    return first_bad, first_wide


def _scan_gb18030(
    p: Path, sep: bytes, *, plausibility: bool
) -> tuple[_Where | None, float | None, tuple[int, str]]:
    """First byte that is not GB18030; the share of common characters; a sample line."""
    two, common = _gb_tables() if plausibility else (None, None)
    n_two = n_common = 0
    sample: tuple[int, str] = (0, "")
    for chunk in line_chunks(p, sep):
        try:
            text = chunk.data.decode("gb18030")
        except UnicodeDecodeError as e:
            return _where(chunk, e, sep), None, sample
        if two is None:
            continue
        cps = np.frombuffer(text.encode("utf-32-le"), dtype="<u4")
        idx = np.flatnonzero((cps >= 0x80) & (cps < 0x10000))
        bmp = cps[idx]
        is_two = two[bmp]
        rare = is_two & ~common[bmp]
        n_two += int(is_two.sum())
        n_common += int((is_two & common[bmp]).sum())
        if not sample[1] and rare.any():
            at = int(idx[np.argmax(rare)])
            line_start = text.rfind(sep.decode(), 0, at) + 1
            line_end = text.find(sep.decode(), at)
            shown = text[line_start : line_end if line_end >= 0 else len(text)].strip()
            sample = (chunk.line + text.count(sep.decode(), 0, at), shown[:60])
    share = n_common / n_two if plausibility and n_two else None
    return None, share, sample


def _check_utf16(p: Path, label: str) -> None:
    """Decode a UTF-16 file (after its byte-order mark) strictly, in chunks."""
    with p.open("rb") as f:
        order = "utf-16-le" if f.read(2) == codecs.BOM_UTF16_LE else "utf-16-be"
        dec = codecs.getincrementaldecoder(order)(errors="strict")
        offset, lines = 2, 1
        while True:
            block = f.read(_CHUNK)
            final = not block
            pending = dec.getstate()[0]
            try:
                text = dec.decode(block, final=final)
            except UnicodeDecodeError as e:
                good = (pending + block)[: e.start]
                lines += codecs.decode(good, order, errors="ignore").count("\n")
                at = offset - len(pending) + e.start
                raise EncodingError(
                    f"{label} is not valid UTF-16 (line {lines}, byte {at:,}: {e.reason}); "
                    f"{_ADVICE}"
                ) from None
            lines += text.count("\n")
            offset += len(block)
            if final:
                return
