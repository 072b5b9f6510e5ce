"""Reading raw columns into the model's dtypes, without rejecting anything.

Every function here turns text (or already typed) columns into the dtypes of the
data model and says which cells did not parse; deciding what to do with those
cells is :mod:`salesml.data.validate.rules`' job. Dates are ISO
``YYYY-MM-DD[ HH:MM[:SS]]``, then the ``date_formats`` declared in ``dataset.yaml``.

:func:`type_extra_columns` types the columns beyond the model's that a CSV file
carries, in batches of columns, so a file with thousands of columns costs a few
vectorised passes instead of several per column.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from salesml.data.config import DatasetConfig
from salesml.data.schema import SPECS, Column

__all__ = [
    "ISO_DATE_RE",
    "arrow_text",
    "as_text",
    "finalise_table",
    "parse_table",
    "type_extra_columns",
    "working_dtype",
]

#: ISO dates accepted everywhere: ``YYYY-MM-DD``, optionally `` HH:MM``, ``:SS``, fraction.
ISO_DATE_RE = r"\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)?"

_TRUE = ("true", "1", "yes", "y", "t", "1.0")
_FALSE = ("false", "0", "no", "n", "f", "0.0")

#: Cells of extra columns typed in one vectorised pass (bounds the temporary copy).
_BATCH_CELLS = 4_000_000


# ---------------------------------------------------------------------- text helpers
def arrow_text(s: pd.Series) -> pa.Array:
    """A text column as one Arrow ``large_string`` array (zero-copy for pandas ``str``)."""
    arr = pa.array(s, from_pandas=True)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    return arr if arr.type == pa.large_string() else arr.cast(pa.large_string())


def _is_textual(s: pd.Series) -> bool:
    return pd.api.types.is_string_dtype(s.dtype) or s.dtype == object


def as_text(s: pd.Series) -> pd.Series:
    """Any column as pandas ``str`` (missing kept missing, empty strings missing)."""
    if pd.api.types.is_float_dtype(s.dtype):
        f = s.to_numpy(dtype="float64", na_value=np.nan)
        finite = np.isfinite(f)
        if finite.any() and np.all(f[finite] == np.round(f[finite])):
            s = s.astype("Int64")
    if isinstance(s.dtype, pd.StringDtype) and s.dtype.na_value is np.nan:
        out = s
    else:
        out = s.astype("str")
    if len(out) and pc.any(pc.equal(arrow_text(out), "")).as_py():
        out = out.mask(out == "")
    return out


def _present(raw: pd.Series) -> np.ndarray:
    """Cells that hold something (not missing, not an empty string)."""
    miss = raw.isna().to_numpy()
    if _is_textual(raw):
        txt = raw.astype("str") if raw.dtype == object else raw
        miss = miss | (txt.str.strip().str.len() == 0).fillna(True).to_numpy(dtype=bool)
    return ~miss


# ---------------------------------------------------------------------- model columns
def _parse_number(raw: pd.Series, integer: bool) -> tuple[pd.Series, np.ndarray]:
    """Parse to float64; return values and a mask of cells that failed to parse."""
    if pd.api.types.is_bool_dtype(raw.dtype):
        out = pd.Series(np.nan, index=raw.index)
        return out, raw.notna().to_numpy()
    if pd.api.types.is_numeric_dtype(raw.dtype):
        out = raw.astype("float64")
        bad = np.zeros(len(raw), dtype=bool)
    else:
        txt = raw.astype("str") if raw.dtype == object else raw
        out = pd.to_numeric(txt.str.strip(), errors="coerce").astype("float64")
        bad = _present(raw) & out.isna().to_numpy()
    if integer:
        v = out.to_numpy()
        frac = np.isfinite(v) & (v != np.round(v))
        if frac.any():
            bad = bad | frac
            out = out.mask(frac)
    return out, bad


def _parse_bool(raw: pd.Series) -> tuple[pd.Series, np.ndarray]:
    if pd.api.types.is_bool_dtype(raw.dtype):
        return raw.astype("boolean"), np.zeros(len(raw), dtype=bool)
    txt = as_text(raw).str.strip().str.lower()
    mapping = dict.fromkeys(_TRUE, True) | dict.fromkeys(_FALSE, False)
    out = txt.map(mapping).astype("boolean")
    bad = _present(raw) & out.isna().to_numpy()
    return out, bad


def _parse_datetime(
    raw: pd.Series, formats: tuple[str, ...], timezone: str
) -> tuple[pd.Series, np.ndarray]:
    if pd.api.types.is_datetime64_any_dtype(raw.dtype):
        out = raw
        if getattr(raw.dtype, "tz", None) is not None:
            out = raw.dt.tz_convert(timezone).dt.tz_localize(None)
        return out.astype("datetime64[us]"), np.zeros(len(raw), dtype=bool)
    txt = as_text(raw).str.strip()
    out = pd.Series(pd.NaT, index=raw.index, dtype="datetime64[us]")
    iso = txt.str.fullmatch(ISO_DATE_RE).fillna(False).to_numpy(dtype=bool)
    if iso.any():
        parsed = pd.to_datetime(txt[iso], format="ISO8601", errors="coerce")
        out[iso] = parsed.astype("datetime64[us]")
    todo = txt.notna().to_numpy() & out.isna().to_numpy()
    for fmt in formats:
        if not todo.any():
            break
        parsed = pd.to_datetime(txt[todo], format=fmt, errors="coerce").astype("datetime64[us]")
        out[todo] = parsed
        todo = txt.notna().to_numpy() & out.isna().to_numpy()
    bad = _present(raw) & out.isna().to_numpy()
    return out, bad


def working_dtype(c: Column) -> str:
    """The dtype a model column has between parsing and :func:`finalise_table`."""
    return {"int": "float64", "bool": "boolean"}.get(c.kind, c.pandas_dtype)


def parse_table(
    name: str,
    raw: pd.DataFrame,
    *,
    config: DatasetConfig | None = None,
) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """Parse every model column of ``raw`` to its dtype, without rejecting anything.

    Parameters
    ----------
    name
        Table name.
    raw
        The table as read (strings, or already typed columns, or a mix).
    config
        Dataset settings (declared ``date_formats`` in ``config.extra``, timezone).

    Returns
    -------
    parsed
        ``raw`` with model columns parsed (unparseable cells missing), missing
        nullable model columns added as empty, a fresh ``RangeIndex``.
    bad
        Column -> boolean mask of cells that did not parse.
    """
    config = config or DatasetConfig()
    spec = SPECS[name]
    formats = tuple(config.extra.get("date_formats") or ())
    parsed = raw.reset_index(drop=True)
    dtypes = parsed.dtypes
    cols: dict[str, pd.Series] = {}
    bad: dict[str, np.ndarray] = {}
    for c in spec.columns:
        if c.name not in parsed.columns:
            continue
        s = parsed[c.name]
        if s.dtype == object:
            s = s.astype("str")  # once, rather than in every step below
        if c.kind in ("id", "str", "category"):
            cols[c.name] = as_text(s)
        elif c.kind in ("float", "int"):
            cols[c.name], bad[c.name] = _parse_number(s, c.kind == "int")
        elif c.kind == "bool":
            cols[c.name], bad[c.name] = _parse_bool(s)
        elif c.kind == "datetime":
            cols[c.name], bad[c.name] = _parse_datetime(s, formats, config.timezone)
    # extra columns of plain text in object columns get pandas' text dtype, so a frame
    # read from CSV and the same frame built in memory come out alike (dtypes are read
    # once: a per-column lookup costs too much on a file with thousands of columns)
    for c, dt in dtypes.items():
        if (
            pd.api.types.is_object_dtype(dt)
            and c not in spec
            and pd.api.types.infer_dtype(parsed[c], skipna=True) in ("string", "empty")
        ):
            cols[c] = parsed[c].astype("str")
    absent = {
        c.name: pd.Series(pd.NA if c.kind != "datetime" else pd.NaT, index=parsed.index).astype(
            working_dtype(c)
        )
        for c in spec.columns
        if c.name not in parsed.columns and c.nullable
    }
    if cols or absent:
        parsed = _with_columns(parsed, cols, absent)
    return parsed, bad


def _with_columns(
    df: pd.DataFrame, replace: Mapping[str, pd.Series], add: Mapping[str, pd.Series]
) -> pd.DataFrame:
    """``df`` with columns replaced and added, built once (``assign`` is quadratic in width)."""
    data = {c: replace.get(c, df[c]) for c in df.columns}
    data.update(add)
    return pd.DataFrame(data, index=df.index, copy=False)


def finalise_table(name: str, df: pd.DataFrame, config: DatasetConfig) -> pd.DataFrame:
    """Cast the loaded rows' model columns to their final dtypes.

    Whole numbers become ``Int64``, true/false ``bool`` where no cell is missing, and
    cost categories named in ``dataset.yaml`` are renamed to the model's categories.
    Raises ``TypeError``/``ValueError`` when a cell cannot take the final dtype (an
    empty cell in a required true/false column): :func:`salesml.data.validate.validate`
    quarantines such rows first.
    """
    spec = SPECS[name]
    casts = {}
    for c in spec.columns:
        if c.name in df.columns and str(df[c.name].dtype) != c.pandas_dtype:
            casts[c.name] = df[c.name].astype(c.pandas_dtype)
    if name == "costs" and "category" in df.columns:
        renames = {k: v for k, v in config.cost_categories.items() if k != v}
        if renames:
            casts["category"] = df["category"].replace(renames).astype("str")
    return _with_columns(df, casts, {}) if casts else df


# ---------------------------------------------------------------------- extra columns
def _batches(columns: Sequence[str], n_rows: int) -> Iterator[list[str]]:
    step = max(1, _BATCH_CELLS // max(n_rows, 1))
    for i in range(0, len(columns), step):
        yield list(columns[i : i + step])


def _stacked(df: pd.DataFrame, columns: Sequence[str]) -> pa.Array:
    """The text of ``columns`` one after the other, as one Arrow array."""
    arrays = [arrow_text(df[c]) for c in columns]
    return arrays[0] if len(arrays) == 1 else pa.concat_arrays(arrays)


def _grid(arr: pa.Array, k: int) -> np.ndarray:
    """A boolean Arrow result over stacked columns as a ``(k, n_rows)`` array."""
    out = pc.fill_null(arr, False).to_numpy(zero_copy_only=False).astype(bool)
    return out.reshape(k, -1)


def _series(values: np.ndarray, df: pd.DataFrame, name: str, dtype: str | None = None):
    s = pd.Series(values, index=df.index, name=name, copy=False)
    return s.astype(dtype) if dtype is not None else s


def _infer_batch(df: pd.DataFrame, cols: list[str], out: dict[str, pd.Series]) -> None:
    """Type unhinted extra columns by inspection: ISO dates, numbers, else text."""
    k = len(cols)
    arr = _stacked(df, cols)
    filled = _grid(arr.is_valid(), k)
    iso = _grid(pc.match_substring_regex(arr, f"^(?:{ISO_DATE_RE})$"), k)
    some = filled.any(axis=1)
    is_date = some & (iso | ~filled).all(axis=1)
    n = len(df)
    dates = [j for j in range(k) if is_date[j]]
    if dates:
        sub = _stacked(df, [cols[j] for j in dates])
        parsed = pd.to_datetime(pd.Series(sub, dtype="str"), format="ISO8601", errors="coerce")
        vals = parsed.astype("datetime64[us]").to_numpy().reshape(len(dates), n)
        for i, j in enumerate(dates):
            if not (filled[j] & np.isnat(vals[i])).any():
                out[cols[j]] = _series(vals[i], df, cols[j])
    rest = [j for j in range(k) if some[j] and not is_date[j]]
    if not rest:
        return
    sub = _stacked(df, [cols[j] for j in rest])
    num = pd.to_numeric(pd.Series(sub, dtype="str"), errors="coerce")
    num = num.to_numpy(dtype="float64", na_value=np.nan).reshape(len(rest), n)
    dotted = _grid(pc.match_substring_regex(sub, "[.eE]"), len(rest))
    whole = []
    for i, j in enumerate(rest):
        f, v = filled[j], num[i]
        if np.isnan(v[f]).any():
            continue  # a filled cell that is not a number: the column stays text
        w = v[f]
        if f.all() and np.isfinite(w).all() and np.all(w == np.round(w)) and not dotted[i].any():
            whole.append(j)
        else:
            out[cols[j]] = _series(v, df, cols[j])
    if whole:
        # whole numbers again from the text, so that ids above 2**53 keep every digit
        exact = pd.to_numeric(pd.Series(_stacked(df, [cols[j] for j in whole]), dtype="str"))
        if exact.dtype == np.int64:
            vals = exact.to_numpy().reshape(len(whole), n)
            for i, j in enumerate(whole):
                out[cols[j]] = _series(vals[i], df, cols[j])
        else:  # beyond int64 somewhere in the batch: column by column
            for j in whole:
                try:
                    out[cols[j]] = pd.to_numeric(df[cols[j]]).astype("int64")
                except (OverflowError, TypeError, ValueError):
                    out[cols[j]] = pd.to_numeric(df[cols[j]], errors="coerce").astype("float64")


def _hinted_batch(df: pd.DataFrame, cols: list[str], hint: str, out: dict[str, pd.Series]) -> None:
    """Type extra columns that ``dataset.yaml`` ``column_types`` gives the dtype ``hint``.

    A filled cell that does not fit the hint keeps the whole column as text.
    """
    h = hint.lower()
    if h in ("str", "string", "object"):
        return
    is_number = h.startswith(("int", "uint", "float")) or hint in ("Int64", "Float64")
    if not (h.startswith("datetime64") or h in ("bool", "boolean") or is_number):
        for c in cols:  # another dtype (e.g. category): pandas converts it as it can
            with contextlib.suppress(TypeError, ValueError):
                out[c] = df[c].astype(hint)
        return
    k, n = len(cols), len(df)
    arr = _stacked(df, cols)
    filled = _grid(arr.is_valid(), k)
    text = pd.Series(arr, dtype="str")
    if h.startswith("datetime64"):
        vals = pd.to_datetime(text, format="ISO8601", errors="coerce")
        grid = vals.astype("datetime64[us]").to_numpy().reshape(k, n)
    elif h in ("bool", "boolean"):
        grid = text.str.lower().map({"true": True, "false": False}).to_numpy().reshape(k, n)
    else:
        num = pd.to_numeric(text, errors="coerce")
        if h.startswith(("int", "uint")) and num.dtype.kind not in "iu":
            grid = None  # a missing cell made the batch float: column by column, exactly
        else:
            grid = num.to_numpy().reshape(k, n)
    for j, c in enumerate(cols):
        conv = pd.to_numeric(df[c], errors="coerce") if grid is None else _series(grid[j], df, c)
        try:
            if h in ("bool", "boolean"):
                s = conv.astype("boolean")
                if h == "bool" and not s.isna().any():
                    s = s.astype("bool")
            else:
                s = conv.astype(hint)
        except (TypeError, ValueError, OverflowError):
            continue
        if not (filled[j] & s.isna().to_numpy()).any():
            out[c] = s


def type_extra_columns(
    df: pd.DataFrame,
    columns: Sequence[str],
    hints: Mapping[str, str] | None = None,
) -> dict[str, pd.Series]:
    """Type the extra (non-model) text columns of a CSV table.

    With a hint (``dataset.yaml`` ``column_types``, written by ``save_dataset``) a
    column takes that dtype unless a filled cell does not fit it. Without one, a
    column becomes ``datetime64[us]`` when every filled cell is an ISO date, a number
    when every filled cell is numeric (``int64`` if all are whole, none is empty and
    none is written with a point or exponent), else it stays text.

    Columns are typed in batches of about four million cells, stacked into one Arrow
    array per batch, so the work is a few vectorised passes whatever the width.

    Parameters
    ----------
    df
        The table as read, every column pandas ``str``.
    columns
        The extra columns to type.
    hints
        Column -> dtype name.

    Returns
    -------
    dict
        Column -> typed Series, for the columns whose dtype changes.
    """
    hints = dict(hints or {})
    out: dict[str, pd.Series] = {}
    plain = [c for c in columns if c not in hints]
    for batch in _batches(plain, len(df)):
        _infer_batch(df, batch, out)
    by_hint: dict[str, list[str]] = {}
    for c in columns:
        if c in hints:
            by_hint.setdefault(str(hints[c]), []).append(c)
    for hint, cols in by_hint.items():
        for batch in _batches(cols, len(df)):
            _hinted_batch(df, batch, hint, out)
    return out
