"""Month-partitioned Parquet tables: the layout, reading with pruning, writing.

``save_dataset(..., partition="month")`` stores the big dated tables
(:data:`PARTITIONED_TABLES`) hive-style, ``<table>/month=YYYY-MM/part-0.parquet``;
:func:`read_parquet_table` reads any Parquet layout of one table with
:mod:`pyarrow.dataset`, opening only the months a period needs and only the columns
asked for. :mod:`salesml.data.io` builds dataset loading on these.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from salesml.data.errors import DatasetError
from salesml.data.schema import SPECS

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = [
    "NO_MONTH",
    "PARTITIONED_TABLES",
    "PARTITION_COLUMN",
    "is_hive",
    "period_window",
    "prune_parts",
    "read_parquet_table",
    "table_schema",
    "write_month_partitions",
]

#: The big dated tables ``save_dataset(..., partition="month")`` stores partitioned.
PARTITIONED_TABLES: tuple[str, ...] = (
    "activities",
    "collab_events",
    "costs",
    "material_movements",
    "stage_history",
    "quotes",
    "payments",
    "leads",
    "deals",
)
#: The hive partition key (``<table>/month=YYYY-MM/``); never a column of the frames.
PARTITION_COLUMN = "month"
#: Partition of the rows whose time column is empty.
NO_MONTH = "none"


def is_hive(p: Path) -> bool:
    """Whether table folder ``p`` holds hive month partitions (``month=YYYY-MM/``)."""
    return p.is_dir() and any(
        d.is_dir() and d.name.startswith(f"{PARTITION_COLUMN}=") for d in p.iterdir()
    )


def period_window(period: object, lookback_days: float) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    """``[start - lookback, end)`` of ``period`` (``None``: no period)."""
    from salesml.periods import Period

    if period is None:
        if lookback_days:
            raise ValueError("lookback_days needs a period")
        return None
    try:
        days = float(lookback_days)
    except (TypeError, ValueError):
        raise ValueError(f"lookback_days must be a number of days, got {lookback_days!r}") from None
    if not (0 <= days <= 36600):
        raise ValueError(f"lookback_days must be between 0 and 36600, got {lookback_days!r}")
    per = Period.parse(period)
    return per.start - pd.Timedelta(days=days), per.end


def prune_parts(
    p: Path, parts: list[Path], name: str, window: tuple[pd.Timestamp, pd.Timestamp] | None
) -> list[Path]:
    """The files of ``parts`` a read of ``window`` opens (hive layout: only its months).

    Pruned by the folder names, before any file is opened; with no file in the window
    the first one is kept (it gives the columns).
    """
    tc = SPECS[name].time_column
    if not (is_hive(p) and window is not None and tc and parts):
        return parts
    m0, m1 = f"{window[0]:%Y-%m}", f"{window[1] - pd.Timedelta(microseconds=1):%Y-%m}"
    key = f"{PARTITION_COLUMN}="
    months = {x: x.parent.name[len(key) :] for x in parts if x.parent.name.startswith(key)}
    kept = [x for x in parts if x not in months or m0 <= months[x] <= m1]
    return kept or parts[:1]


def table_schema(
    p: Path,
    parts: list[Path],
    name: str,
    *,
    dictionary: list[str] | None = None,
    footers: dict[Path, Any] | None = None,
) -> pa.Schema:
    """The one Arrow schema of a table's Parquet files (unified across files).

    The text columns named in ``dictionary`` become Arrow dictionaries; a hive table
    gets the partition column. Reading any subset of ``parts`` with this schema gives
    every subset the same columns and types as a read of them all. ``footers``, when
    given, receives each part's Parquet metadata (row counts), read once here.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    schemas = []
    for x in parts:
        try:
            if footers is None:
                schemas.append(pq.read_schema(x))
            else:
                footers[x] = pq.read_metadata(x)
                schemas.append(footers[x].schema.to_arrow_schema())
        except (OSError, pa.ArrowException) as e:
            raise DatasetError(
                f"table {name}: {x.relative_to(p.parent)} is not a readable Parquet file ({e})"
            ) from None
    schema = (
        schemas[0] if len(schemas) == 1 else pa.unify_schemas(schemas, promote_options="permissive")
    )
    dict_cols = [
        c
        for c in dictionary or ()
        if c in schema.names
        and (
            pa.types.is_string(schema.field(c).type)
            or pa.types.is_large_string(schema.field(c).type)
        )
    ]
    if dict_cols:
        schema = pa.schema(
            [
                f.with_type(pa.dictionary(pa.int32(), f.type)) if f.name in dict_cols else f
                for f in schema
            ],
            metadata=schema.metadata,
        )
    if is_hive(p):
        schema = schema.append(pa.field(PARTITION_COLUMN, pa.string()))
    return schema


def read_parquet_table(
    p: Path,
    parts: list[Path],
    name: str,
    *,
    columns: list[str] | None = None,
    window: tuple[pd.Timestamp, pd.Timestamp] | None = None,
    dictionary: list[str] | None = None,
    schema: pa.Schema | None = None,
) -> pd.DataFrame:
    """One table from a Parquet file, part folder or month-partitioned folder.

    Read with :mod:`pyarrow.dataset`: only the months ``window`` touches (hive
    layout), only its rows (time column in ``[start, end)``) and only ``columns``.
    The text columns named in ``dictionary`` are read as Arrow dictionaries (from
    the files' own dictionary pages, without building each string) and come back as
    pandas ``category`` columns (their dictionaries unified across files).

    ``schema`` (:func:`table_schema` of all the table's files) reads ``parts`` as a
    piece of the table: pruning is then the caller's (:func:`prune_parts`), and the
    piece has the columns and types of the whole table.
    """
    import pyarrow as pa
    import pyarrow.dataset as ds

    hive = is_hive(p)
    tc = SPECS[name].time_column
    if schema is None:
        parts = prune_parts(p, parts, name, window)
        schema = table_schema(p, parts, name, dictionary=dictionary)
    dict_cols = [f.name for f in schema if pa.types.is_dictionary(f.type)]
    fmt = ds.ParquetFileFormat(read_options=ds.ParquetReadOptions(dictionary_columns=dict_cols))
    if hive:
        part = ds.partitioning(pa.schema([(PARTITION_COLUMN, pa.string())]), flavor="hive")
        dset = ds.dataset(
            [str(x) for x in parts],
            schema=schema,
            format=fmt,
            partitioning=part,
            partition_base_dir=str(p),
        )
    else:
        dset = ds.dataset([str(x) for x in parts], schema=schema, format=fmt)
    names = [c for c in schema.names if not (hive and c == PARTITION_COLUMN)]
    if columns is not None:
        absent = [c for c in columns if c not in names]
        if absent:
            raise DatasetError(
                f"table {name}: column(s) {', '.join(absent)} asked for in columns= are not "
                f"in its files (it has: {', '.join(names)})"
            )
        names = [c for c in names if c in columns]
    flt = None
    if window is not None and tc and tc in schema.names:
        typ = schema.field(tc).type
        start, end = window
        if pa.types.is_timestamp(typ):
            # ceil to microseconds: for values in whole microseconds ``x >= start`` is
            # ``x >= ceil(start)`` (and the same for ``<``), and the cast is exact
            lo = pa.scalar(start.ceil("us").as_unit("us").to_datetime64()).cast(typ)
            hi = pa.scalar(end.ceil("us").as_unit("us").to_datetime64()).cast(typ)
            flt = (ds.field(tc) >= lo) & (ds.field(tc) < hi)
            if hive:
                m0, m1 = f"{start:%Y-%m}", f"{end - pd.Timedelta(microseconds=1):%Y-%m}"
                flt = (ds.field(PARTITION_COLUMN) >= m0) & (ds.field(PARTITION_COLUMN) <= m1) & flt
    table = dset.to_table(columns=names, filter=flt)
    from salesml.data.validate.parse import forget_lookup_tables

    own = {}
    for c in table.column_names:
        cat = _text_categorical(table.column(c))
        if cat is not None:
            own[c] = cat
    order = table.column_names
    if own:
        table = table.drop_columns(list(own))
    df = table.to_pandas(split_blocks=True, self_destruct=True)
    for c, cat in own.items():
        df.insert(order.index(c), c, cat)
    forget_lookup_tables(df)  # the categories' hash tables of str objects
    return df


def _text_categorical(col: pa.ChunkedArray) -> pd.Categorical | None:
    """A dictionary column of text as pandas ``category``, as ``to_pandas`` makes it.

    The chunks' dictionaries are unified by Arrow and the categories made without
    pandas' uniqueness check (a hash table of the categories as ``str`` objects,
    built for every piece and column); Arrow's dictionary unifier makes them distinct
    (a single chunk's dictionary is checked by Arrow instead). ``None``
    for another column, or a dictionary with missing or repeated values (then
    ``to_pandas`` decides).
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    from salesml.data.validate.parse import known_unique_dtype

    typ = col.type
    if not pa.types.is_dictionary(typ) or col.num_chunks == 0:
        return None
    if not (pa.types.is_string(typ.value_type) or pa.types.is_large_string(typ.value_type)):
        return None
    unified = col.num_chunks > 1
    if unified:  # Arrow's unifier gives each value one entry (no repeats)
        col = pa.table({"c": col}).unify_dictionaries().column(0)
    dictionary = col.chunk(0).dictionary
    if dictionary.null_count:
        return None
    if not unified and pc.count_distinct(dictionary).as_py() != len(dictionary):
        return None
    text = pd.StringDtype("pyarrow", na_value=np.nan)
    cats = pd.Index(dictionary.to_pandas(types_mapper=lambda t: text), dtype="str")
    n = len(cats)  # the code width pandas picks (coerce_indexer_dtype)
    width = np.int8 if n < 127 else np.int16 if n < 32767 else np.int32
    codes = np.empty(len(col), dtype=width)
    at = 0
    for chunk in col.chunks:
        codes[at : at + len(chunk)] = pc.fill_null(chunk.indices, -1).to_numpy()
        at += len(chunk)
    return pd.Categorical.from_codes(codes, dtype=known_unique_dtype(cats), validate=False)


def write_month_partitions(
    df: pd.DataFrame, out: str | Path, name: str, part: str = "part-0"
) -> None:
    """Write ``df`` (table ``name``) as ``out/month=YYYY-MM/<part>.parquet`` files.

    Months come from the table's time column (rows without one go to
    ``month=none``); rows keep their order within a month. Text columns are
    dictionary-encoded in the files. Calling it again with another ``part`` (one
    per chunk of a large simulation) adds files to the same months.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    tc = SPECS[name].time_column
    if tc is None or tc not in df.columns:
        raise DatasetError(f"table {name}: no time column {tc!r} to partition by month")
    ts = pd.to_datetime(df[tc])
    month = pd.Series(ts.dt.strftime("%Y-%m").to_numpy(dtype=object), index=df.index)
    month = month.where(ts.notna(), NO_MONTH)
    out = Path(out)
    text = [
        c
        for c in df.columns
        if pd.api.types.is_string_dtype(df[c]) or isinstance(df[c].dtype, pd.CategoricalDtype)
    ]
    for m, idx in sorted(month.groupby(month.to_numpy(), sort=True).indices.items()):
        d = out / f"{PARTITION_COLUMN}={m}"
        d.mkdir(parents=True, exist_ok=True)
        chunk = df.iloc[idx] if len(idx) != len(df) else df
        table = pa.Table.from_pandas(chunk, preserve_index=False)
        pq.write_table(table, d / f"{part}.parquet", use_dictionary=text)
