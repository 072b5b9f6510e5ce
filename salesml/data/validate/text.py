"""Text columns: Arrow views of pandas text, membership, compact (categorical) text.

Helpers :mod:`salesml.data.validate.parse` and :mod:`salesml.data.validate.rules` read
text columns with (and analyses that hold ids as categories, such as the journeys of a
month-by-month allocation): a categorical column is handled on its categories, then
spread by its codes, so no string is built per row.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from salesml.data.schema import SPECS

__all__ = [
    "arrow_chunks",
    "arrow_text",
    "as_compact_text",
    "as_text",
    "compact_columns",
    "forget_lookup_tables",
    "is_textual",
    "known_unique_dtype",
    "sorted_categories",
    "text_is_in",
]


def arrow_text(s: pd.Series) -> pa.Array:
    """A text column as one Arrow ``large_string`` array (zero-copy for pandas ``str``)."""
    arr = pa.array(s, from_pandas=True)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    return arr if arr.type == pa.large_string() else arr.cast(pa.large_string())


def arrow_chunks(s: pd.Series) -> pa.ChunkedArray:
    """A text column as Arrow ``large_string`` chunks, without joining them.

    A column concatenated from partitions (tier L's 31M activity ids) keeps each
    partition's buffers; :func:`arrow_text` would copy them into one array.
    """
    arr = pa.array(s, from_pandas=True)
    if not isinstance(arr, pa.ChunkedArray):
        arr = pa.chunked_array([arr])
    return arr if arr.type == pa.large_string() else arr.cast(pa.large_string())


def text_is_in(s: pd.Series, values: pa.Array) -> np.ndarray:
    """``s.isin(values)`` for text, through Arrow (pandas' isin loops in Python for str);
    missing cells are not in.

    A categorical column is checked on its categories, then spread by its codes, so no
    string is built per row (tier L: 31M activity ids).
    """
    if isinstance(s.dtype, pd.CategoricalDtype):
        cats = pd.Series(s.cat.categories, dtype="str")
        ok = np.append(text_is_in(cats, values), False)  # code -1 (missing) -> False
        return ok[s.cat.codes.to_numpy()]
    return pc.is_in(arrow_chunks(s), value_set=values).to_numpy().astype(bool)


def forget_lookup_tables(df: pd.DataFrame | pd.Series) -> None:
    """Drop the hash tables pandas keeps on the categories of ``df``'s categorical columns.

    Making a categorical checks that its categories are unique, which builds and caches
    a hash table over them, for text as Python ``str`` objects (tier L: the month
    pieces' and the tables' deal, customer and activity ids, about 1 GB in all). The
    load never looks categories up by value; pandas builds the table again if asked.
    """
    items = [df] if isinstance(df, pd.Series) else [s for _, s in df.items()]
    for s in items:
        if isinstance(s.dtype, pd.CategoricalDtype):
            cache = getattr(s.cat.categories, "_cache", None)
            if isinstance(cache, dict):
                cache.pop("_engine", None)


def is_textual(s: pd.Series) -> bool:
    """Whether ``s`` holds text (pandas ``str`` or ``object``)."""
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
    if len(out) and pc.any(pc.equal(arrow_chunks(out), "")).as_py():
        out = out.mask(out == "")
    return out


def compact_columns(name: str) -> tuple[str, ...]:
    """The model columns of table ``name`` a compact load holds as pandas ``category``.

    Foreign-key ids (``deal_id`` of an activity, ``rep_id`` of a deal, ...) and
    category columns (``kind``, ``channel``, ``stage``, ...): values that repeat, so
    integer codes plus one dictionary take a fraction of the memory of one string per
    row. The table's own key and free text stay ``str``.
    """
    spec = SPECS[name]
    return tuple(
        c.name
        for c in spec.columns
        if c.name not in spec.key
        and c.kind in ("id", "category", "str")
        and (c.kind == "category" or c.references is not None)
    )


def as_compact_text(s: pd.Series) -> pd.Series:
    """A text column as pandas ``category`` of ``str`` values (empty strings missing).

    A categorical column keeps its integer codes (no string is built per row); its
    categories become ``str`` and an empty-string category becomes missing.
    """
    if not isinstance(s.dtype, pd.CategoricalDtype):
        return as_text(s).astype("category")
    cats = s.cat.categories
    if not pd.api.types.is_string_dtype(cats.dtype) or cats.dtype == object:
        s = s.cat.rename_categories(as_text(pd.Series(cats)).fillna("").to_numpy(dtype=object))
        s = s.cat.set_categories(pd.Index(s.cat.categories, dtype="str"))
    if _holds_empty(s.cat.categories):
        s = s.cat.remove_categories([""])
    return s


def known_unique_dtype(categories: pd.Index) -> pd.CategoricalDtype:
    """An unordered ``CategoricalDtype`` of categories known to be distinct and present.

    Made without pandas' check that they are (a hash table of the categories, for
    text built of ``str`` objects): the load's categories come from Arrow
    dictionaries, Arrow's ``unique`` or a reordering of categories already checked.
    """
    fast = getattr(pd.CategoricalDtype, "_from_fastpath", None)
    if fast is None:  # pragma: no cover - a pandas without the fast path
        return pd.CategoricalDtype(categories, ordered=False)
    return fast(categories, False)


def _index_text(idx: pd.Index) -> pa.ChunkedArray | None:
    """An index of pandas ``str`` as Arrow chunks (``None`` for other dtypes)."""
    if not isinstance(idx.dtype, pd.StringDtype):
        return None
    return arrow_chunks(pd.Series(idx, copy=False))


def _holds_empty(cats: pd.Index) -> bool:
    """``"" in cats`` without building pandas' hash table of the categories."""
    text = _index_text(cats)
    if text is None:
        return "" in cats
    return bool(len(cats)) and bool(pc.any(pc.equal(text, "")).as_py())


def _increasing(cats: pd.Index) -> bool:
    """``cats.is_monotonic_increasing`` (distinct categories), by Arrow for text."""
    text = _index_text(cats)
    if text is None or len(cats) < 2:
        return bool(cats.is_monotonic_increasing)
    n = len(cats)
    return bool(pc.all(pc.less(text.slice(0, n - 1), text.slice(1))).as_py())


def sorted_categories(s: pd.Series) -> pd.Series:
    """``s`` (unordered ``category``) with its categories in sorted order.

    Parquet dictionaries list values in the order they were met; with the categories
    sorted, sorting or grouping by the column follows its values, as for plain text.
    The codes are recoded through the inverse of the categories' sort (one pass over
    the rows, no string lookups).
    """
    cats = s.cat.categories
    if s.cat.ordered or _increasing(cats):
        return s
    order = cats.argsort()
    codes = s.cat.codes.to_numpy()
    inverse = np.empty(len(order), dtype=codes.dtype)
    inverse[order] = np.arange(len(order), dtype=codes.dtype)
    recoded = np.where(codes < 0, codes, inverse[np.maximum(codes, 0)])
    dtype = known_unique_dtype(cats.take(order))
    return pd.Series(
        pd.Categorical.from_codes(recoded, dtype=dtype, validate=False), index=s.index, name=s.name
    )
