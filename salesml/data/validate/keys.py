"""Text keys as integers: fixed-width views and packed codes, and a sorted key index.

The validation of a big table's key (tier L: 31M activity ids) and the lookups into it
(3M cost lines naming an activity) would hash the ids as strings, which takes
gigabytes and most of the load's time. Ids in exports are short and drawn from a
small alphabet per position (``A000000001``, ``A120169193899``), so each one is read
as the digits of a mixed-radix number that fits 64 bits (:func:`pack_keys`): equal
codes exactly for equal texts, in the texts' order. One integer sort then says which
keys repeat, and the sorted codes (:class:`KeyIndex`) answer lookups by bisection.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "PACK_ROWS",
    "DigitScheme",
    "KeyIndex",
    "byte_grid",
    "common_width",
    "fixed_width",
    "holds_nul",
    "pack_keys",
    "packed_codes",
]

#: Rows turned into codes at a time (bounds the temporaries of :func:`pack_keys`).
PACK_ROWS = 1_000_000


def fixed_width(arr: pa.Array) -> np.ndarray | None:
    """Zero-copy ``S<w>`` view of a text array whose values all take ``w`` bytes.

    ``None`` when there are missing values or the widths differ. Ids in exports
    usually have one width ("A0000001"), which lets lookups run as binary search.
    """
    if arr.null_count or not len(arr) or arr.type != pa.large_string():
        return None
    _, off_buf, data_buf = arr.buffers()
    offsets = np.frombuffer(off_buf, dtype=np.int64, count=len(arr) + 1, offset=arr.offset * 8)
    w = int(offsets[1] - offsets[0])
    if w <= 0 or not np.all(np.diff(offsets) == w):
        return None
    return np.frombuffer(data_buf, dtype=f"S{w}", count=len(arr), offset=int(offsets[0]))


def common_width(arrays: list[pa.Array]) -> list[np.ndarray] | None:
    """Zero-padded ``S<w>`` arrays of text arrays without missing values, one width for all.

    Ids of several widths (``A000000001`` and ``A120169193899`` in one export) are padded
    on the right with NUL bytes, which numpy's ``S`` comparison ignores, so equality and
    order are those of the text. ``None`` when a value is missing or holds a NUL.
    """
    views = [fixed_width(a) for a in arrays]
    if all(v is not None for v in views) and len({v.dtype for v in views}) == 1:
        return views  # type: ignore[return-value]
    if any(a.null_count or not len(a) or a.type != pa.large_string() for a in arrays):
        return None
    width = max(int(pc.max(pc.binary_length(a)).as_py()) for a in arrays)
    out = []
    for a, v in zip(arrays, views, strict=True):
        if v is not None and v.dtype.itemsize == width:
            out.append(v)
            continue
        if holds_nul(a):
            return None
        out.append(byte_grid(a, 0, len(a), width).view(f"S{width}").reshape(len(a)))
    return out


def holds_nul(arr: pa.Array) -> bool:
    """Whether a value of a ``large_string`` array holds a NUL byte."""
    _, off_buf, data_buf = arr.buffers()
    if data_buf is None or not len(arr):
        return False
    offsets = np.frombuffer(off_buf, dtype=np.int64, count=len(arr) + 1, offset=arr.offset * 8)
    data = np.frombuffer(data_buf, dtype=np.uint8)[offsets[0] : offsets[-1]]
    return bool((data == 0).any())


def byte_grid(arr: pa.Array, start: int, stop: int, width: int) -> np.ndarray:
    """Rows ``start:stop`` of a ``large_string`` array as a ``(rows, width)`` byte grid.

    Shorter values are padded on the right with NUL bytes; values all ``width`` bytes
    long are a zero-copy view of the Arrow data buffer. No value may be longer.
    """
    _, off_buf, data_buf = arr.buffers()
    offsets = np.frombuffer(off_buf, dtype=np.int64, count=len(arr) + 1, offset=arr.offset * 8)
    off = offsets[start : stop + 1]
    m = stop - start
    if data_buf is None:  # only empty values
        return np.zeros((m, width), dtype=np.uint8)
    data = np.frombuffer(data_buf, dtype=np.uint8)
    lengths = np.diff(off)
    if m and lengths.min() == width == lengths.max():
        return data[off[0] : off[-1]].reshape(m, width)
    grid = np.zeros((m, width), dtype=np.uint8)
    # the filled cells in row-major order are exactly the values' bytes one after another
    grid[np.arange(width) < lengths[:, None]] = data[off[0] : off[-1]]
    return grid


def _blocks(arrays: list[pa.Array], width: int) -> Iterator[tuple[int, int, np.ndarray]]:
    """(array number, first row, byte grid by position) of every :data:`PACK_ROWS` rows.

    The grid is transposed (``(width, rows)``, one contiguous row per byte position),
    so the per-position passes read memory in order.
    """
    for k, a in enumerate(arrays):
        for start in range(0, len(a), PACK_ROWS):
            grid = byte_grid(a, start, min(start + PACK_ROWS, len(a)), width)
            yield k, start, np.ascontiguousarray(grid.T)


@dataclass(frozen=True)
class DigitScheme:
    """How :func:`pack_keys` reads a text of at most ``width`` bytes as one number.

    Byte position ``j`` is a digit counting ``top[j] - low[j] + 1`` byte values, plus
    one for the NUL padding when some value ends before it (``j >= short``); a
    position holding one byte everywhere counts nothing.
    """

    width: int
    short: int
    low: np.ndarray
    top: np.ndarray
    #: (position, lowest byte, radix, padded) of the positions that count
    digits: tuple[tuple[int, int, int, bool], ...]

    def pack_grid(self, grid: np.ndarray) -> np.ndarray:
        """Codes of a ``(width, rows)`` byte grid whose values all fit the scheme."""
        part = np.zeros(grid.shape[1], dtype=np.uint64)
        col = np.empty(grid.shape[1], dtype=np.uint64)
        for j, first, radix, pad in self.digits:
            if pad:  # padding -> 0, byte b -> b - first + 1
                np.subtract(grid[j], np.uint64(first - 1), out=col, casting="unsafe")
                col[grid[j] == 0] = 0
            else:
                np.subtract(grid[j], np.uint64(first), out=col, casting="unsafe")
            part *= np.uint64(radix)
            part += col
        return part

    def pack_any(self, arr: pa.Array) -> tuple[np.ndarray, np.ndarray]:
        """Codes of any text values, and which of them the scheme can hold.

        A value is held when it is present, at most ``width`` bytes long, holds no NUL
        and every byte is one its position counts (a value that is not held equals
        none of the values the scheme was made of). Codes of values not held are 0.
        """
        arr = arr if arr.type == pa.large_string() else arr.cast(pa.large_string())
        n = len(arr)
        codes = np.zeros(n, dtype=np.uint64)
        if not n:
            return codes, np.zeros(0, dtype=bool)
        length = pc.fill_null(pc.binary_length(arr), self.width + 1).to_numpy()
        held = length <= self.width
        if holds_nul(arr):
            held &= ~pc.fill_null(pc.match_substring(arr, "\x00"), True).to_numpy(
                zero_copy_only=False
            )
        rows = np.flatnonzero(held)
        if not len(rows):
            return codes, held
        sub = arr.take(pa.array(rows))
        for start in range(0, len(sub), PACK_ROWS):
            stop = min(start + PACK_ROWS, len(sub))
            grid = np.ascontiguousarray(byte_grid(sub, start, stop, self.width).T)
            ok = np.ones(stop - start, dtype=bool)
            for j in range(self.width):
                b = grid[j]
                fits = (b >= self.low[j]) & (b <= self.top[j])
                if j >= self.short:
                    fits |= b == 0
                ok &= fits
            at = rows[start:stop]
            held[at] = ok
            codes[at[ok]] = self.pack_grid(grid[:, ok])
        return codes, held


def pack_keys(arrays: list[pa.Array]) -> tuple[list[np.ndarray], DigitScheme] | None:
    """One ``uint64`` per value of text arrays, equal exactly when the texts are equal.

    The values' bytes, NUL-padded to one width, are read as the digits of a
    mixed-radix number (:class:`DigitScheme`), so ids like ``A000000001`` and
    ``A120169193899`` (tier L) take 41 bits. Codes follow the order of the texts;
    eight bytes per row, where the padded bytes took 13 and a hash table of the texts
    several times that. The work is a few integer passes per byte position, in blocks
    of :data:`PACK_ROWS` rows. ``None`` when a value is missing or holds a NUL byte,
    or the radices need more than 64 bits.
    """
    if any(a.type != pa.large_string() or a.null_count for a in arrays):
        return None
    sized = [pc.min_max(pc.binary_length(a)) for a in arrays if len(a)]
    if not sized:
        return [np.zeros(0, dtype=np.uint64) for _ in arrays], DigitScheme(
            0, 0, np.zeros(0, np.int64), np.zeros(0, np.int64), ()
        )
    width = max(int(x["max"].as_py()) for x in sized)
    short = min(int(x["min"].as_py()) for x in sized)
    if width == 0 or width > 64 or any(holds_nul(a) for a in arrays):
        return None
    top = np.zeros(width, dtype=np.int64)
    low = np.full(width, 255, dtype=np.int64)
    grids: list[tuple[int, int, np.ndarray]] = []  # kept for the second pass (width B/row)
    for k, start, grid in _blocks(arrays, width):
        top = np.maximum(top, grid.max(axis=1))
        # the values' lowest byte: padding (NUL) wraps round to 255 in ``grid - 1``
        low = np.minimum(low, (grid - np.uint8(1)).min(axis=1).astype(np.int64) + 1)
        grids.append((k, start, grid))
    digits: list[tuple[int, int, int, bool]] = []
    total = 1
    for j in range(width):
        pad = j >= short
        radix = int(top[j] - low[j]) + 1 + pad
        if radix > 1:
            digits.append((j, int(low[j]), radix, pad))
            total *= radix
    if total > 2**64:
        return None
    scheme = DigitScheme(width, short, low, top, tuple(digits))
    out = [np.zeros(len(a), dtype=np.uint64) for a in arrays]
    while grids:
        k, start, grid = grids.pop(0)
        out[k][start : start + grid.shape[1]] = scheme.pack_grid(grid)
        del grid
    return out, scheme


def packed_codes(arrays: list[pa.Array]) -> list[np.ndarray] | None:
    """The codes of :func:`pack_keys` (``None`` where it gives none)."""
    got = pack_keys(arrays)
    return None if got is None else got[0]


@dataclass
class KeyIndex:
    """A table's single text key as sorted packed codes: lookups by bisection.

    Built by the duplicate check of a big table (the sort is the one that found the
    repeated keys), so a foreign key into it needs neither a hash of its 31M ids nor
    a second sort.
    """

    scheme: DigitScheme
    #: every row's code, sorted
    codes: np.ndarray

    def find(self, values: pa.Array) -> tuple[np.ndarray, np.ndarray]:
        """Per value: whether some row holds it, and its code (see :meth:`holds`)."""
        codes, held = self.scheme.pack_any(values)
        return held & self.holds(codes), codes

    def holds(self, codes: np.ndarray) -> np.ndarray:
        """Whether each code is some row's (for codes of values the scheme holds)."""
        if not len(self.codes):
            return np.zeros(len(codes), dtype=bool)
        at = np.minimum(np.searchsorted(self.codes, codes), len(self.codes) - 1)
        return self.codes[at] == codes
