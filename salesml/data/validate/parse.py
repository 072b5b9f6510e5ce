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
from salesml.data.validate.text import (
    arrow_chunks,
    arrow_text,
    as_compact_text,
    as_text,
    compact_columns,
    forget_lookup_tables,
    is_textual,
    known_unique_dtype,
    sorted_categories,
)

__all__ = [
    "ISO_DATE_RE",
    "arrow_chunks",
    "arrow_text",
    "as_compact_text",
    "as_text",
    "compact_columns",
    "finalise_table",
    "forget_lookup_tables",
    "fresh_index",
    "known_unique_dtype",
    "parse_table",
    "replace_columns",
    "text_frame",
    "type_extra_arrays",
    "type_extra_columns",
    "working_dtype",
]

#: ISO dates accepted everywhere: ``YYYY-MM-DD``, optionally `` HH:MM``, ``:SS``, fraction.
ISO_DATE_RE = r"\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)?"

_TRUE = ("true", "1", "yes", "y", "t", "1.0")
_FALSE = ("false", "0", "no", "n", "f", "0.0")

#: Cells of extra columns typed in one vectorised pass (bounds the temporary copy).
_BATCH_CELLS = 4_000_000


# ---------------------------------------------------------------------- model columns
def _present(raw: pd.Series) -> np.ndarray:
    """Cells that hold something (not missing, not an empty string)."""
    miss = raw.isna().to_numpy()
    if is_textual(raw):
        txt = raw.astype("str") if raw.dtype == object else raw
        miss = miss | (txt.str.strip().str.len() == 0).fillna(True).to_numpy(dtype=bool)
    return ~miss


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


def fresh_index(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with a ``RangeIndex`` from 0 (itself when it has one: no copy of a wide frame)."""
    idx = df.index
    if isinstance(idx, pd.RangeIndex) and idx.start == 0 and idx.step == 1:
        return df
    return df.reset_index(drop=True)


def working_dtype(c: Column) -> str:
    """The dtype a model column has between parsing and :func:`finalise_table`."""
    return {"int": "float64", "bool": "boolean"}.get(c.kind, c.pandas_dtype)


def parse_table(
    name: str,
    raw: pd.DataFrame,
    *,
    config: DatasetConfig | None = None,
    compact: bool = False,
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
    compact
        Keep the :func:`compact_columns` as pandas ``category`` (a categorical column
        read from Parquet is not turned into one string per row).

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
    parsed = fresh_index(raw)
    dtypes = parsed.dtypes
    cols: dict[str, pd.Series] = {}
    bad: dict[str, np.ndarray] = {}
    keep_codes = set(compact_columns(name)) if compact else set()
    for c in spec.columns:
        if c.name not in parsed.columns:
            continue
        s = parsed[c.name]
        if c.name in keep_codes and isinstance(s.dtype, pd.CategoricalDtype):
            cols[c.name] = as_compact_text(s)
            continue
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
            isinstance(dt, np.dtype)
            and dt.kind == "O"
            and c not in spec
            and pd.api.types.infer_dtype(parsed[c], skipna=True) in ("string", "empty")
        ):
            cols[c] = parsed[c].astype("str")
    # an absent nullable column (deals.amount of an export that has none) is all missing
    empty = {"datetime": pd.NaT, "float": np.nan, "int": np.nan}
    absent = {
        c.name: pd.Series(empty.get(c.kind, pd.NA), index=parsed.index).astype(working_dtype(c))
        for c in spec.columns
        if c.name not in parsed.columns and c.nullable
    }
    if cols or absent:
        parsed = replace_columns(parsed, {**cols, **absent})
    return parsed, bad


def replace_columns(df: pd.DataFrame, new: Mapping[str, pd.Series] | pd.DataFrame) -> pd.DataFrame:
    """``df`` with the columns in ``new`` replaced in place (new names appended).

    Built with one concatenation when many columns change and by a few column
    assignments otherwise: ``DataFrame.assign`` of many columns costs time
    quadratic in the frame's width, and rebuilding a frame column by column costs a
    Python step per column.
    """
    if isinstance(new, pd.DataFrame) and new.shape[1] > 16:
        changed = set(new.columns)
        present = set(df.columns)
        keep = [c for c in df.columns if c not in changed]
        order = list(df.columns) + [c for c in new.columns if c not in present]
        return pd.concat([df[keep], new], axis=1)[order]
    out = df.copy(deep=False)
    for c, s in new.items():
        out[c] = s
    return out


def finalise_table(
    name: str, df: pd.DataFrame, config: DatasetConfig, *, compact: bool = False
) -> pd.DataFrame:
    """Cast the loaded rows' model columns to their final dtypes.

    Whole numbers become ``Int64``, true/false ``bool`` where no cell is missing, and
    cost categories named in ``dataset.yaml`` are renamed to the model's categories.
    With ``compact`` the :func:`compact_columns` become (or stay) pandas ``category``
    of ``str`` values, their categories in sorted order (:func:`sorted_categories`).
    Raises ``TypeError``/``ValueError`` when a cell cannot take the final dtype (an
    empty cell in a required true/false column): :func:`salesml.data.validate.validate`
    quarantines such rows first.
    """
    spec = SPECS[name]
    keep_codes = set(compact_columns(name)) if compact else set()
    casts = {}
    for c in spec.columns:
        if c.name not in df.columns:
            continue
        if c.name in keep_codes:
            casts[c.name] = sorted_categories(as_compact_text(df[c.name]))
        elif str(df[c.name].dtype) != c.pandas_dtype:
            casts[c.name] = df[c.name].astype(c.pandas_dtype)
    if name == "costs" and "category" in df.columns:
        renames = {k: v for k, v in config.cost_categories.items() if k != v}
        if renames:
            s = casts.get("category", df["category"])
            if isinstance(s.dtype, pd.CategoricalDtype):
                cats = pd.Series(s.cat.categories).replace(renames)
                new = pd.Index(pd.unique(cats), dtype="str").sort_values()
                codes = s.cat.codes.to_numpy()
                remap = new.get_indexer(cats).astype(codes.dtype)
                codes = np.where(codes < 0, codes, remap[np.maximum(codes, 0)])
                casts["category"] = pd.Series(
                    pd.Categorical.from_codes(codes, categories=new), index=df.index
                )
            else:
                casts["category"] = s.replace(renames).astype("str")
    out = replace_columns(df, casts) if casts else df
    forget_lookup_tables(out)
    return out


# ---------------------------------------------------------------------- extra columns
def _batches(columns: Sequence[str], n_rows: int) -> Iterator[list[str]]:
    step = max(1, _BATCH_CELLS // max(n_rows, 1))
    for i in range(0, len(columns), step):
        yield list(columns[i : i + step])


def _stacked(arrays: Mapping[str, pa.Array], columns: Sequence[str]) -> pa.Array:
    """The text of ``columns`` one after the other, as one Arrow array."""
    parts = [arrays[c] for c in columns]
    return parts[0] if len(parts) == 1 else pa.concat_arrays(parts)


def _grid(arr: pa.Array, k: int) -> np.ndarray:
    """A boolean Arrow result over stacked columns as a ``(k, n_rows)`` array."""
    out = pc.fill_null(arr, False).to_numpy(zero_copy_only=False).astype(bool)
    return out.reshape(k, -1)


def _text(arr: pa.Array) -> pd.Series:
    return pd.Series(arr, dtype="str", copy=False)


class _Typed:
    """Typed extra columns, kept as one 2-D block per numpy dtype.

    A frame of thousands of float columns built from one block costs one step;
    built column by column it costs thousands, and so does everything done to it later.
    """

    def __init__(self, index: pd.Index) -> None:
        self.index = index
        self.blocks: dict[np.dtype, tuple[list[str], list[np.ndarray]]] = {}
        self.series: dict[str, pd.Series] = {}

    def add(self, names: Sequence[str], values: np.ndarray) -> None:
        """Add columns ``names`` holding the rows of ``values`` (shape ``(k, n_rows)``)."""
        if not len(names):
            return
        got, vals = self.blocks.setdefault(values.dtype, ([], []))
        got.extend(names)
        vals.append(values)

    def add_series(self, name: str, s: pd.Series) -> None:
        self.series[name] = s

    def frame(self) -> pd.DataFrame:
        parts = [
            pd.DataFrame(np.concatenate(vals).T, columns=names, index=self.index, copy=False)
            for names, vals in self.blocks.values()
        ]
        if self.series:
            parts.append(pd.DataFrame(self.series, index=self.index))
        if not parts:
            return pd.DataFrame(index=self.index)
        return parts[0] if len(parts) == 1 else pd.concat(parts, axis=1)


def _infer_batch(arrays: Mapping[str, pa.Array], cols: list[str], n: int, out: _Typed) -> None:
    """Type unhinted extra columns by inspection: ISO dates, numbers, else text.

    Every decision is taken for all columns of the batch at once, over a
    ``(columns, rows)`` grid.
    """
    k = len(cols)
    arr = _stacked(arrays, cols)
    filled = _grid(arr.is_valid(), k)
    iso = _grid(pc.match_substring_regex(arr, f"^(?:{ISO_DATE_RE})$"), k)
    some = filled.any(axis=1)
    is_date = some & (iso | ~filled).all(axis=1)
    dates = np.flatnonzero(is_date)
    if len(dates):
        parsed = pd.to_datetime(
            _text(_stacked(arrays, [cols[j] for j in dates])), format="ISO8601", errors="coerce"
        )
        vals = parsed.astype("datetime64[us]").to_numpy().reshape(len(dates), n)
        ok = ~(filled[dates] & np.isnat(vals)).any(axis=1)
        out.add([cols[j] for j in dates[ok]], vals[ok])
    rest = np.flatnonzero(some & ~is_date)
    if not len(rest):
        return
    sub = _stacked(arrays, [cols[j] for j in rest])
    num = pd.to_numeric(_text(sub), errors="coerce")
    num = num.to_numpy(dtype="float64", na_value=np.nan).reshape(len(rest), n)
    f = filled[rest]
    numeric = ~(f & np.isnan(num)).any(axis=1)  # else a filled cell is text: stays text
    dotted = _grid(pc.match_substring_regex(sub, "[.eE]"), len(rest)).any(axis=1)
    with np.errstate(invalid="ignore"):
        whole = (
            numeric
            & f.all(axis=1)
            & np.isfinite(num).all(axis=1)
            & (num == np.round(num)).all(axis=1)
            & ~dotted
        )
    floats = numeric & ~whole
    out.add([cols[j] for j in rest[floats]], num[floats])
    if not whole.any():
        return
    ints = rest[whole]
    # whole numbers again from the text, so that ids above 2**53 keep every digit
    exact = pd.to_numeric(_text(_stacked(arrays, [cols[j] for j in ints])))
    if exact.dtype == np.int64:
        out.add([cols[j] for j in ints], exact.to_numpy().reshape(len(ints), n))
        return
    for j in ints:  # beyond int64 somewhere in the batch: column by column
        s = pd.to_numeric(_text(arrays[cols[j]]))
        values = s.to_numpy(dtype="int64" if s.dtype == np.int64 else "float64")
        out.add([cols[j]], values.reshape(1, n))


def _numpy_dtype(hint: str) -> np.dtype | None:
    try:
        return np.dtype(hint)
    except TypeError:
        return None


def _hinted_batch(
    arrays: Mapping[str, pa.Array], cols: list[str], hint: str, n: int, out: _Typed
) -> None:
    """Type extra columns that ``dataset.yaml`` ``column_types`` gives the dtype ``hint``.

    A filled cell that does not fit the hint keeps the whole column as text.
    """
    h = hint.lower()
    if h in ("str", "string", "object"):
        return
    k = len(cols)
    arr = _stacked(arrays, cols)
    filled = _grid(arr.is_valid(), k)
    text = _text(arr)
    target = _numpy_dtype(hint)
    exact = np.zeros(k, dtype=bool)  # columns already typed exactly from their text
    if h.startswith("datetime64"):
        grid = pd.to_datetime(text, format="ISO8601", errors="coerce").to_numpy()
        grid = grid.astype("datetime64[us]").reshape(k, n)
        missing = np.isnat(grid)
    elif h in ("bool", "boolean"):
        lower = text.str.lower()
        grid = (lower == "true").to_numpy(dtype=bool, na_value=False).reshape(k, n)
        false = (lower == "false").to_numpy(dtype=bool, na_value=False).reshape(k, n)
        missing = ~(grid | false)
    elif h.startswith(("int", "uint", "float")):
        num = pd.to_numeric(text, errors="coerce")
        if num.dtype.kind in "iu":
            grid, missing = num.to_numpy().reshape(k, n), np.zeros((k, n), dtype=bool)
        else:
            grid = num.to_numpy(dtype="float64", na_value=np.nan).reshape(k, n)
            missing = np.isnan(grid)
            if target is not None and target.kind in "iu":
                # whole numbers read through float would lose digits beyond 2**53: the
                # columns without empty cells again from their text, one by one
                for j, c in enumerate(cols):
                    if not missing[j].any():
                        with contextlib.suppress(TypeError, ValueError, OverflowError):
                            # pandas' cast refuses inf and NaN where numpy's would wrap
                            exact = pd.to_numeric(_text(arrays[c])).astype(hint).to_numpy()
                            out.add([c], exact.reshape(1, n))
                return
            if target is None and h.startswith(("int", "uint")):
                # nullable integers (Int64, ...): columns without empty cells exactly from
                # their text too; the float grid would round digits beyond 2**53
                for j, c in enumerate(cols):
                    if not missing[j].any():
                        with contextlib.suppress(TypeError, ValueError, OverflowError):
                            exact_s = pd.to_numeric(_text(arrays[c])).astype(hint)
                            out.add_series(c, pd.Series(exact_s.array, index=out.index, name=c))
                        exact[j] = True
    else:  # another dtype (e.g. category): pandas converts it as it can
        for c in cols:
            with contextlib.suppress(TypeError, ValueError):
                out.add_series(c, _text(arrays[c]).astype(hint))
        return
    fits = ~(filled & missing).any(axis=1) & ~exact  # else a cell does not fit: stays text
    gaps = missing.any(axis=1)
    if target is not None:
        block = fits & ~(gaps & (target.kind in "iub"))  # numpy ints cannot hold a gap
        idx = np.flatnonzero(block)
        try:
            out.add([cols[j] for j in idx], grid[idx].astype(target))
        except (TypeError, ValueError, OverflowError):
            for j in idx:
                with contextlib.suppress(TypeError, ValueError, OverflowError):
                    out.add([cols[j]], grid[j].astype(target).reshape(1, n))
        fits = fits & ~block
    for j in np.flatnonzero(fits):  # pandas' nullable dtypes (Int64, boolean, ...)
        c = cols[j]
        s = pd.Series(grid[j], index=out.index, name=c, copy=False)
        if gaps[j]:
            s = s.mask(missing[j])
        with contextlib.suppress(TypeError, ValueError, OverflowError):
            out.add_series(c, s.astype("boolean" if h == "bool" else hint))


def type_extra_arrays(
    arrays: Mapping[str, pa.Array],
    columns: Sequence[str],
    hints: Mapping[str, str] | None = None,
    *,
    n_rows: int,
    index: pd.Index | None = None,
) -> pd.DataFrame:
    """:func:`type_extra_columns` on Arrow text arrays (column -> ``large_string``).

    Returns
    -------
    pandas.DataFrame
        The columns whose dtype changes, one 2-D block per numpy dtype.
    """
    hints = dict(hints or {})
    out = _Typed(index if index is not None else pd.RangeIndex(n_rows))
    plain = [c for c in columns if c not in hints]
    for batch in _batches(plain, n_rows):
        _infer_batch(arrays, batch, n_rows, out)
    by_hint: dict[str, list[str]] = {}
    for c in columns:
        if c in hints:
            by_hint.setdefault(str(hints[c]), []).append(c)
    for hint, cols in by_hint.items():
        for batch in _batches(cols, n_rows):
            _hinted_batch(arrays, batch, hint, n_rows, out)
    return out.frame()


def type_extra_columns(
    df: pd.DataFrame,
    columns: Sequence[str],
    hints: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Type the extra (non-model) text columns of a CSV table.

    With a hint (``dataset.yaml`` ``column_types``, written by ``save_dataset``) a
    column takes that dtype unless a filled cell does not fit it. Without one, a
    column becomes ``datetime64[us]`` when every filled cell is an ISO date, a number
    when every filled cell is numeric (``int64`` if all are whole, none is empty and
    none is written with a point or exponent), else it stays text.

    The columns are stacked into one Arrow array per batch of about four million
    cells and typed in a few vectorised passes; the typed columns come back as one
    2-D block per dtype. The work is linear in the number of cells, with no regular
    expression, parse or frame operation per column.

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
    pandas.DataFrame
        The columns whose dtype changes (same index as ``df``); pass it to
        :func:`replace_columns`.
    """
    wanted = set(columns)
    arrays = {c: arrow_text(s) for c, s in df.items() if c in wanted}
    return type_extra_arrays(arrays, columns, hints, n_rows=len(df), index=df.index)


def text_frame(arrays: Mapping[str, pa.Array], n_rows: int) -> pd.DataFrame:
    """Arrow text arrays as a frame of pandas ``str`` columns, in one conversion."""
    if not arrays:
        return pd.DataFrame(index=pd.RangeIndex(n_rows))
    table = pa.Table.from_arrays(list(arrays.values()), names=list(arrays))
    text = pd.StringDtype("pyarrow", na_value=np.nan)
    return table.to_pandas(
        types_mapper=lambda t: text if t in (pa.string(), pa.large_string()) else None
    )
