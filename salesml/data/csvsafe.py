"""Formula-injection guard for every CSV (and Excel) file salesml writes.

A spreadsheet runs a cell that begins with ``=``, ``+``, ``-`` or ``@`` (and, in
some, a tab or carriage return) as a formula, so a value typed into a CRM
(``=HYPERLINK(...)``, ``@SUM(...)``, ``-2+3``) would run when a manager opens an
exported file. :func:`safe_csv_frame` neutralises such text cells the way OWASP
recommends, by prefixing a single quote, which spreadsheets show as text.

Only text cells are touched; numbers, dates and true/false columns are written as
they are, and a text cell that is a plain number (``-12.5``, ``+86``) is left alone
because a spreadsheet reads it as that number, not as a formula.

The prefix is reversible: :func:`restore_csv_frame` removes it again, exactly, for
files written by salesml (``save_dataset`` records ``csv_formulas: escaped`` in
``dataset.yaml``). A cell that itself begins with quotes before a trigger gets one
more, so ``restore(safe(x)) == x`` for every text.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "FORMULA_TRIGGERS",
    "needs_escape",
    "restore_csv_arrays",
    "restore_csv_frame",
    "safe_csv_frame",
]

#: First characters that make a spreadsheet evaluate a cell.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")

_TRIGGER_RE = "^'*[=+\\-@\t\r]"
_PLAIN_NUMBER_RE = r"^'*[+\-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+\-]?\d+)?$"


def _text_columns(df: pd.DataFrame) -> list[str]:
    return [
        c
        for c, dt in df.dtypes.items()
        if pd.api.types.is_string_dtype(dt)
        or pd.api.types.is_object_dtype(dt)
        or isinstance(dt, pd.CategoricalDtype)
    ]


def _as_arrow(s: pd.Series) -> pa.Array:
    """The text cells of ``s`` as one Arrow string array (other cells null)."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        s = s.astype(object)
    try:
        arr = pa.array(s, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
        # an object column mixing text with other values: only the text is looked at
        vals = [v if isinstance(v, str) else None for v in s.to_numpy(dtype=object)]
        arr = pa.array(vals, type=pa.large_string())
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        return pa.nulls(len(arr), type=pa.large_string())
    return arr.cast(pa.large_string())


def needs_escape(arr: pa.Array) -> np.ndarray:
    """Which text cells of an Arrow string array a spreadsheet would run as formulas.

    Counting leading quotes in (``'=x`` needs one more quote too), so that the
    escape can be undone exactly.
    """
    trig = pc.fill_null(pc.match_substring_regex(arr, _TRIGGER_RE), False)
    plain = pc.fill_null(pc.match_substring_regex(arr, _PLAIN_NUMBER_RE), False)
    return np.asarray(pc.and_(trig, pc.invert(plain))).astype(bool)


def safe_csv_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` safe to write as CSV or Excel: formula-like text cells neutralised.

    Parameters
    ----------
    df
        Any frame about to be exported.

    Returns
    -------
    pandas.DataFrame
        ``df`` itself when no cell needs it, else a new frame whose text cells that
        begin with ``= + - @``, a tab or a carriage return (after any leading quotes)
        and are not plain numbers carry one more leading ``'``.
    """
    changed: dict[str, pd.Series] = {}
    for c in _text_columns(df):
        s = df[c]
        if not len(s):
            continue
        arr = _as_arrow(s)
        hit = needs_escape(arr)
        if not hit.any():
            continue
        out = s.copy() if pd.api.types.is_string_dtype(s.dtype) else s.astype(object)
        quoted = pc.utf8_replace_slice(arr, 0, 0, "'")
        out[hit] = quoted.filter(pa.array(hit)).to_numpy(zero_copy_only=False)
        changed[c] = out
    if not changed:
        return df
    return pd.DataFrame({c: changed.get(c, df[c]) for c in df.columns}, index=df.index, copy=False)


def restore_csv_frame(df: pd.DataFrame) -> pd.DataFrame:
    """Undo :func:`safe_csv_frame` on a frame read back from a salesml CSV (text columns)."""
    changed: dict[str, pd.Series] = {}
    for c in _text_columns(df):
        s = df[c]
        if not len(s):
            continue
        arr = _as_arrow(s)
        starts = pc.fill_null(pc.starts_with(arr, "'"), False)
        if not pc.any(starts).as_py():
            continue
        rest = pc.utf8_slice_codeunits(arr, 1)
        hit = np.asarray(starts).astype(bool) & needs_escape(rest)
        if not hit.any():
            continue
        out = s.copy()
        out[hit] = rest.filter(pa.array(hit)).to_numpy(zero_copy_only=False)
        changed[c] = out
    if not changed:
        return df
    return pd.DataFrame({c: changed.get(c, df[c]) for c in df.columns}, index=df.index, copy=False)


def _restore(arr: pa.Array) -> pa.Array | None:
    """``arr`` without the escape quotes, or ``None`` when it has none."""
    starts = pc.fill_null(pc.starts_with(arr, "'"), False)
    if not pc.any(starts).as_py():
        return None
    rest = pc.utf8_slice_codeunits(arr, 1)
    hit = pc.and_(starts, pa.array(needs_escape(rest)))
    if not pc.any(hit).as_py():
        return None
    return pc.if_else(hit, rest, arr)


def restore_csv_arrays(arrays: dict[str, pa.Array]) -> dict[str, pa.Array]:
    """:func:`restore_csv_frame` on Arrow text arrays (column -> array), batched.

    One pass over all columns finds the few that hold a leading quote at all; only
    those are looked at one by one.
    """
    names = list(arrays)
    if not names:
        return arrays
    lengths = np.array([len(arrays[c]) for c in names])
    stacked = pa.concat_arrays([arrays[c].cast(pa.large_string()) for c in names])
    quoted = np.asarray(pc.fill_null(pc.starts_with(stacked, "'"), False)).astype(bool)
    if not quoted.any():
        return arrays
    ends = np.cumsum(lengths)
    with_quote = np.unique(np.searchsorted(ends, np.flatnonzero(quoted), side="right"))
    out = dict(arrays)
    for i in with_quote:
        fixed = _restore(arrays[names[i]])
        if fixed is not None:
            out[names[i]] = fixed
    return out
