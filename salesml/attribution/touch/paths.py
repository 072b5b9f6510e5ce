"""Reading journeys into a :class:`PathTable`: distinct paths, counts, integer-coded touches.

Input is either the output of :func:`salesml.attribution.journeys` or a table in
ChannelAttribution's conventions (``path`` strings such as ``"alpha > beta > eta"``,
``total_conversions``, ``total_null``, ``total_conversion_value``). What this module
does with unusual input, every case stated:

- spaces around the separator are trimmed (``"a > b"`` is ``a`` then ``b``);
- a ``touches`` column (lists of labels) is taken as it is, never split at ``sep``; it is
  preferred to ``path`` when a table has both;
- an empty touch (``a>>b``, ``a>b>``, ``> a``) is dropped from its path, and the number
  of paths corrected is stated (a warning and a note on the result); with
  ``empty_touches="raise"`` it is an error naming the column and row instead;
- a row whose path is empty or missing is left out with its counts, and the count of
  rows, conversions, non-conversions and value left out is stated;
- counts that are not numbers, missing, negative or infinite, a ``converted`` flag that is
  not a boolean, and a conversion value that is negative or infinite are errors naming
  the column, the row and its path (a missing value is no value: 0);
- data in which no journey converted is an error (no share of nothing can be computed).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from salesml.results import Note

__all__ = ["AttributionInputWarning", "PathTable", "converted_flags", "path_table"]

#: Column names read for each quantity, first match wins (salesml's, then ChannelAttribution's).
CONVERSION_COLUMNS = ("conversions", "total_conversions", "conv")
NULL_COLUMNS = ("nulls", "total_null", "null")
VALUE_COLUMNS = ("value", "total_conversion_value")
#: Joins the labels of one path into a grouping key; a label may not contain it.
_KEY_SEP = "\x1f"


class AttributionInputWarning(UserWarning):
    """Journeys were corrected while reading them (the message says what and how many)."""


@dataclass
class PathTable:
    """Journeys aggregated by distinct path, exploded to touches (integer-coded).

    Attributes
    ----------
    channels
        Touch labels, sorted; ``touch_channel`` holds indices into it.
    conversions, nulls, value
        Per distinct path: converted journeys, non-converted journeys, conversion value.
    touch_path, touch_pos, touch_channel, path_len
        The exploded touches: owning path, position in it, channel code; path lengths.
    notes
        Corrections made while reading the input (empty touches dropped, rows left out).
    """

    channels: np.ndarray
    conversions: np.ndarray
    nulls: np.ndarray
    value: np.ndarray
    touch_path: np.ndarray
    touch_pos: np.ndarray
    touch_channel: np.ndarray
    path_len: np.ndarray
    notes: list[Note] = field(default_factory=list)

    @property
    def n_channels(self) -> int:
        """Number of distinct touch labels."""
        return len(self.channels)

    @property
    def n_paths(self) -> int:
        """Number of distinct paths."""
        return len(self.path_len)

    def paths(self, sep: str = ">") -> list[str]:
        """The distinct paths as text (labels joined by ``sep``)."""
        starts = np.concatenate([[0], np.cumsum(self.path_len)[:-1]]).astype("int64")
        names = self.channels[self.touch_channel]
        return [sep.join(names[s : s + n]) for s, n in zip(starts, self.path_len, strict=True)]

    def split(self, fraction: float, *, seed: int = 0) -> tuple[PathTable, PathTable]:
        """Journeys split at random into two tables over the same distinct paths.

        Each path's conversions and non-conversions are thinned binomially (a journey
        goes to the first table with probability ``fraction``); value follows the
        conversions in proportion. Used for held-out checks (:func:`choose_order`).
        """
        rng = np.random.default_rng(seed)
        c = np.round(self.conversions).astype("int64")
        n = np.round(self.nulls).astype("int64")
        c1, n1 = rng.binomial(c, fraction), rng.binomial(n, fraction)
        with np.errstate(all="ignore"):
            v1 = np.where(c > 0, self.value * c1 / np.maximum(c, 1), 0.0)

        def part(cc: np.ndarray, nn: np.ndarray, vv: np.ndarray) -> PathTable:
            return PathTable(
                self.channels,
                cc.astype("float64"),
                nn.astype("float64"),
                vv,
                self.touch_path,
                self.touch_pos,
                self.touch_channel,
                self.path_len,
            )

        return part(c1, n1, v1), part(c - c1, n - n1, self.value - v1)


def _pick(df: pd.DataFrame, names: Sequence[str]) -> str | None:
    for n in names:
        if n in df.columns:
            return n
    return None


def _where(df: pd.DataFrame, pos: int, path_col: str | None) -> str:
    """``row 3 (path 'a>b')``: how an error names the row at position ``pos``."""
    row = f"row {df.index[pos]!r}"
    if path_col is not None:
        p = df[path_col].iloc[pos]
        shown = p if isinstance(p, str) else list(p) if isinstance(p, list | tuple) else p
        row += f" (path {shown!r})"
    return row


def _numbers(
    df: pd.DataFrame, col: str, path_col: str | None, *, what: str, missing_is_zero: bool = False
) -> np.ndarray:
    """Column ``col`` as finite non-negative floats, or a ``ValueError`` naming column and row."""
    s = df[col]
    if pd.api.types.is_bool_dtype(s) or not pd.api.types.is_numeric_dtype(s):
        num = pd.to_numeric(s, errors="coerce")
        bad = np.flatnonzero((num.isna() & s.notna()).to_numpy())
        if len(bad):
            i = int(bad[0])
            raise ValueError(
                f"column {col!r} must hold {what} (numbers); {_where(df, i, path_col)} has "
                f"{s.iloc[i]!r} ({len(bad):,} such row(s))"
            )
        s = num
    v = s.to_numpy(dtype="float64", na_value=np.nan)
    if missing_is_zero:
        v = np.where(np.isnan(v), 0.0, v)
    bad = np.flatnonzero(~np.isfinite(v) | (v < 0))
    if len(bad):
        i = int(bad[0])
        raise ValueError(
            f"column {col!r} must hold {what} that are finite and >= 0; "
            f"{_where(df, i, path_col)} has {v[i]} ({len(bad):,} such row(s))"
        )
    return v


def converted_flags(df: pd.DataFrame, col: str, path_col: str | None) -> np.ndarray:
    """A ``converted`` column as 0/1 floats: booleans or 0/1 numbers, nothing else."""
    s = df[col]
    if pd.api.types.is_bool_dtype(s) and not s.isna().any():
        return s.to_numpy(dtype="float64")
    vals = s.astype(object)
    ok = vals.map(
        lambda x: isinstance(x, bool | np.bool_) or (type(x) in (int, float) and x in (0, 1))
    )
    bad = np.flatnonzero(~ok.to_numpy(dtype=bool))
    if len(bad):
        i = int(bad[0])
        raise ValueError(
            f"column {col!r} must hold True/False (or 1/0) per journey; "
            f"{_where(df, i, path_col)} has {s.iloc[i]!r} ({len(bad):,} such row(s))"
        )
    return vals.astype("float64").to_numpy()


def _label_lists(df: pd.DataFrame, sep: str) -> tuple[pa.ListArray, np.ndarray, str]:
    """The touches as Arrow lists of strings, one list per *unit*, and each row's unit.

    For ``path`` text a unit is a distinct text (split once however many rows repeat
    it); for ``touches`` lists a unit is a row. A missing path is unit ``-1``.
    """
    if "touches" in df.columns:
        items = df["touches"].to_list()

        def missing(x: object) -> bool:
            return x is None or (isinstance(x, float) and np.isnan(x))

        try:
            arr = pa.array([None if missing(x) else x for x in items], type=pa.list_(pa.string()))
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
            for i, x in enumerate(items):
                if not missing(x) and (
                    isinstance(x, str) or not isinstance(x, Sequence | np.ndarray)
                ):
                    raise ValueError(
                        f"column 'touches' must hold lists of labels; row {df.index[i]!r} has {x!r}"
                    ) from None
            arr = pa.array(
                [None if missing(x) else [None if y is None else str(y) for y in x] for x in items],
                type=pa.list_(pa.string()),
            )
        unit = np.arange(len(df), dtype="int64")
        unit[np.asarray(arr.is_null().to_numpy(zero_copy_only=False), dtype=bool)] = -1
        return arr, unit, "touches"
    if "path" not in df.columns:
        raise ValueError(
            "journeys need a 'path' column (labels joined by the separator) or a 'touches' "
            "column (lists of labels)"
        )
    raw = pa.array(df["path"].astype("str"), type=pa.string(), from_pandas=True)
    enc = pc.dictionary_encode(raw)
    unit = pc.fill_null(enc.indices, -1).to_numpy(zero_copy_only=False).astype("int64")
    return pc.split_pattern(enc.dictionary, sep), unit, "path"


def path_table(
    journeys: pd.DataFrame,
    *,
    sep: str = ">",
    empty_touches: Literal["drop", "raise"] = "drop",
    require_conversions: bool = True,
) -> PathTable:
    """Aggregate journeys by distinct path and code the touches as integers.

    Parameters
    ----------
    journeys
        A frame with a ``touches`` column (lists of labels) or a ``path`` column (labels
        joined by ``sep``); conversions as counts in ``conversions`` /
        ``total_conversions`` / ``conv`` or as a per-journey flag ``converted``;
        non-conversions in ``nulls`` / ``total_null`` / ``null`` (default: ``1 -
        converted`` per row, or 0 with counts); conversion value in ``value`` /
        ``total_conversion_value`` (optional). See the module docstring for what happens
        to empty touches, empty paths and bad counts.
    sep
        Separator of ``path`` strings (spaces around it are trimmed).
    empty_touches
        ``"drop"`` (default): drop empty touches and say how many paths had one;
        ``"raise"``: refuse them, naming the first row.
    require_conversions
        Raise when no journey converted (attribution of nothing); the transition matrix
        and the order choice do not need conversions.

    Returns
    -------
    PathTable

    Raises
    ------
    ValueError
        On the input errors listed in the module docstring.
    """
    if not isinstance(sep, str) or not sep or len(sep) > 16:
        raise ValueError(f"sep must be a non-empty string of at most 16 characters, got {sep!r}")
    if empty_touches not in ("drop", "raise"):
        raise ValueError(f"empty_touches must be 'drop' or 'raise', got {empty_touches!r}")
    df = journeys
    lists, unit, path_col = _label_lists(df, sep)
    cc = _pick(df, CONVERSION_COLUMNS)
    nc = _pick(df, NULL_COLUMNS)
    vc = _pick(df, VALUE_COLUMNS)
    if cc is not None:
        conv = _numbers(df, cc, path_col, what="conversion counts")
        nulls = (
            _numbers(df, nc, path_col, what="non-conversion counts")
            if nc is not None
            else np.zeros(len(df))
        )
    elif "converted" in df.columns:
        conv = converted_flags(df, "converted", path_col)
        nulls = (
            _numbers(df, nc, path_col, what="non-conversion counts")
            if nc is not None
            else 1.0 - conv
        )
        cc = "converted"
    else:
        raise ValueError(
            "journeys need conversion counts (a 'conversions', 'total_conversions' or 'conv' "
            "column) or a 'converted' column (True/False per journey)"
        )
    val = (
        _numbers(df, vc, path_col, what="conversion values", missing_is_zero=True)
        if vc is not None
        else np.zeros(len(df))
    )
    n_rows = len(df)
    n_units = len(lists)
    # Touches of each unit: trimmed labels; empty (or missing) ones dropped, and counted.
    lens = pc.fill_null(pc.list_value_length(lists), 0).to_numpy(zero_copy_only=False)
    flat = pc.list_flatten(lists)
    clean = pc.utf8_trim_whitespace(flat)
    trimmed = (
        len(flat) > 0
        and not pc.all(pc.equal(pc.binary_length(flat), pc.binary_length(clean))).as_py()
    )
    flat = clean
    empty = (
        pc.fill_null(pc.equal(pc.binary_length(flat), 0), True).to_numpy(zero_copy_only=False)
        if len(flat)
        else np.zeros(0, dtype=bool)
    )
    unit_of = pc.list_parent_indices(lists).to_numpy(zero_copy_only=False).astype("int64")
    u_empty = np.bincount(unit_of[empty], minlength=n_units)
    u_kept = lens.astype("int64") - u_empty
    has = unit >= 0
    n_empty = np.where(has, u_empty[np.clip(unit, 0, None)], 0) if n_units else np.zeros(n_rows)
    n_kept = np.where(has, u_kept[np.clip(unit, 0, None)], 0) if n_units else np.zeros(n_rows)
    partly = (n_empty > 0) & (n_kept > 0)
    notes: list[Note] = []
    if partly.any():
        if empty_touches == "raise":
            i = int(np.flatnonzero(partly)[0])
            raise ValueError(
                f"column {path_col!r}, {_where(df, i, path_col)}: an empty touch (two "
                f"separators in a row, or one at an end); clean the paths or pass "
                f"empty_touches='drop'"
            )
        n = int(partly.sum())
        msg = (
            f"{n:,} path(s) had empty touches (two separators in a row, or one at an end); "
            "the empty touches were dropped"
        )
        warnings.warn(msg, AttributionInputWarning, stacklevel=3)
        notes.append(Note("attribution.note.empty_touches", (("n", f"{n:,}"),)))
    gone = n_kept == 0
    if gone.any():
        rows = int(gone.sum())
        lost_c, lost_n, lost_v = conv[gone].sum(), nulls[gone].sum(), val[gone].sum()
        msg = (
            f"{rows:,} journey row(s) with an empty or missing {path_col} were left out: "
            f"{lost_c:,.0f} conversions, {lost_n:,.0f} non-conversions, value {lost_v:,.2f}; "
            "the totals of the result are those of the rows kept"
        )
        warnings.warn(msg, AttributionInputWarning, stacklevel=3)
        notes.append(
            Note(
                "attribution.note.empty_paths",
                (
                    ("rows", f"{rows:,}"),
                    ("conversions", f"{lost_c:,.0f}"),
                    ("nulls", f"{lost_n:,.0f}"),
                ),
            )
        )
    # Each unit's kept touches; units with the same label sequence are one path.
    if trimmed or u_empty.any() or path_col == "touches":
        kept_labels = flat.filter(pa.array(~empty)) if len(flat) else flat
        offsets = np.concatenate([[0], np.cumsum(u_kept)]).astype("int32")
        unit_lists = pa.ListArray.from_arrays(pa.array(offsets), kept_labels)
        if len(kept_labels) and pc.any(pc.match_substring(kept_labels, _KEY_SEP)).as_py():
            raise ValueError("touch labels may not contain the control character \\x1f")
        kenc = pc.dictionary_encode(pc.binary_join(unit_lists, _KEY_SEP))
        path_of_unit = kenc.indices.to_numpy(zero_copy_only=False).astype("int64")
        n_keys = len(kenc.dictionary)
    else:  # distinct texts, nothing to correct: each unit is already one path
        unit_lists = lists
        path_of_unit = np.arange(n_units, dtype="int64")
        n_keys = n_units
    use = ~gone & ((conv + nulls) > 0)
    pidx_use = path_of_unit[unit[use]]
    c_sum = np.bincount(pidx_use, weights=conv[use], minlength=n_keys)
    n_sum = np.bincount(pidx_use, weights=nulls[use], minlength=n_keys)
    v_sum = np.bincount(pidx_use, weights=val[use], minlength=n_keys)
    present = np.zeros(n_keys, dtype=bool)
    present[pidx_use] = True
    kept = np.flatnonzero(present)
    # one representative unit per distinct path gives its labels (any unit of it will do)
    first_unit = np.zeros(n_keys, dtype="int64")
    first_unit[path_of_unit] = np.arange(n_units)
    uniq_lists = unit_lists.take(pa.array(first_unit[kept]))
    plen = pc.list_value_length(uniq_lists).to_numpy(zero_copy_only=False).astype("int64")
    labels = pc.list_flatten(uniq_lists)
    lenc = pc.dictionary_encode(labels)
    names = np.asarray(lenc.dictionary.to_pylist(), dtype=object)
    order = np.argsort(names, kind="stable")
    rank = np.empty(len(order), dtype="int64")
    rank[order] = np.arange(len(order))
    codes = rank[lenc.indices.to_numpy(zero_copy_only=False).astype("int64")]
    tp = np.repeat(np.arange(len(kept)), plen)
    starts = np.concatenate([[0], np.cumsum(plen)[:-1]]) if len(plen) else np.zeros(0, "int64")
    pos = np.arange(len(codes)) - np.repeat(starts, plen)
    pt = PathTable(
        channels=np.asarray(names[order], dtype=object),
        conversions=c_sum[kept],
        nulls=n_sum[kept],
        value=v_sum[kept],
        touch_path=tp.astype("int64"),
        touch_pos=pos.astype("int64"),
        touch_channel=codes.astype("int64"),
        path_len=plen,
        notes=notes,
    )
    if require_conversions and not pt.conversions.sum() > 0:
        raise ValueError(
            f"no journey converted: column {cc!r} sums to 0 over the {n_rows:,} row(s) given; "
            "attribution shares credit for conversions, so it needs at least one"
        )
    return pt
