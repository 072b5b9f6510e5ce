"""Live SQL sources: a dataset folder whose ``dataset.yaml`` names a database.

``dataset.yaml`` may hold, instead of (or next to) table files::

    source:
      url: postgresql+psycopg://salesml@db.example.com:5432/crm   # no password here
      passfile: ~/.pgpass              # optional; else $PGPASSFILE, else ~/.pgpass
      chunk_rows: 50000                # rows fetched per round trip (bounded memory)
      mapping: mapping.yaml            # optional, a mapping file inside the folder
      tables:
        deals: {table: crm_deals, schema: sales}
        activities: {query: "SELECT * FROM crm_activity WHERE NOT deleted",
                      time_column: occurred_at, period: true}

Every key is checked (:meth:`SqlSource.from_dict`): an unknown one is refused with
its name. ``url`` may be left out: it is then taken from ``$SALESML_DB_URL``. The
password never comes from ``dataset.yaml`` or the command line: it is the one in
``$SALESML_DB_URL``, else ``$PGPASSWORD``, else the matching line of a ``.pgpass``
file (``host:port:database:user:password``, ``*`` matching anything), which must be
readable by its owner only (mode 0600). ``PGHOST``, ``PGPORT``, ``PGUSER`` and
``PGDATABASE`` fill a URL's missing parts. Every URL shown in a message has its
password masked.

Reading goes through SQLAlchemy (any dialect it supports; PostgreSQL via psycopg 3
is tested), inside a read-only transaction where the dialect offers one:

- ``table:`` names are checked against the tables and views the database reports
  (:func:`sqlalchemy.inspect`), columns against the reflected columns; SQLAlchemy
  quotes them. Rows come ordered by the model key when the table has those columns.
- ``query:`` is one ``SELECT`` (or ``WITH``) statement, at most
  :data:`MAX_QUERY_CHARS` characters, no ``;`` inside; it is wrapped as a subquery.
- the period filter (``period=`` of :func:`load_sql`) is pushed into the statement
  as ``time_column >= :start AND time_column < :end`` with bound parameters, never
  formatted into the SQL text. By default it applies to the tables no other table
  references (``stage_history``, ``quotes``, ``payments``, ``costs``,
  ``material_movements``, ``approvals``), so references stay whole; ``period: true``
  or ``false`` on a table overrides that.
- rows are fetched ``chunk_rows`` at a time (server-side cursor) and kept as typed
  frames, never as a list of Python rows.
- on PostgreSQL the session ``TimeZone`` is the dataset's ``timezone`` (set through a
  bound parameter), so naive period bounds mean local time and ``timestamptz``
  columns come back as naive local times, as the model stores them.

Without ``mapping:`` the keys of ``tables:`` are model tables and the frames go
through :func:`salesml.data.validate.validate` exactly like a Parquet folder (same
rules, same quarantine; a row is named by its table, the SQL source and its position
in the ordered result). With ``mapping:`` the keys are source names: each source is
staged as ``<name>.parquet`` in a temporary folder and imported through the mapping
(:func:`salesml.data.mapping.import_dataset`), so every mapping feature works; in the
mapping, a table's ``file:`` is ``<name>.parquet``.

``salesml import --from-sql SOURCE --out DIR`` snapshots the database into a dataset
folder (:func:`snapshot_sql`).
"""

from __future__ import annotations

import logging
import os
import secrets
import stat
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from salesml.data.errors import DatasetError
from salesml.data.schema import SPECS, TABLE_NAMES
from salesml.data.sqlsource import (
    DEFAULT_CHUNK_ROWS,
    MAX_QUERY_CHARS,
    SqlSource,
    SqlTable,
    import_sqlalchemy,
    mask_url,
    refuse_password,
)

if TYPE_CHECKING:  # pragma: no cover
    import sqlalchemy as sa

    from salesml.data.bundle import SalesData
    from salesml.periods import Period

__all__ = [
    "DEFAULT_CHUNK_ROWS",
    "MAX_QUERY_CHARS",
    "SqlSource",
    "SqlTable",
    "SqlTables",
    "cli_import",
    "load_sql",
    "mask_url",
    "read_sql_tables",
    "resolve_url",
    "snapshot_sql",
]

_log = logging.getLogger(__name__)


# ---------------------------------------------------------------- credentials
def _pgpass_fields(line: str) -> list[str]:
    out, cur, esc = [], [], False
    for ch in line:
        if esc:
            cur.append(ch)
            esc = False
        elif ch == "\\":
            esc = True
        elif ch == ":":
            out.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    out.append("".join(cur))
    return out


def _from_passfile(path: Path, host: str, port: str, db: str, user: str) -> str | None:
    """The password of the first matching ``.pgpass`` line (mode 0600 enforced)."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    if os.name == "posix" and st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise DatasetError(
            f"{path}: password file readable by others (mode {stat.S_IMODE(st.st_mode):04o}); "
            f"run chmod 600 {path}"
        )
    if st.st_size > 1 << 20:
        raise DatasetError(f"{path}: larger than 1 MB; is it a password file?")
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        f = _pgpass_fields(line)
        if len(f) != 5:
            continue
        if all(p == "*" or p == v for p, v in zip(f[:4], (host, port, db, user), strict=True)):
            return f[4]
    return None


def resolve_url(
    source: SqlSource | None = None,
    *,
    url: str | None = None,
    env: Mapping[str, str] | None = None,
) -> sa.URL:
    """The database URL with its password, from the environment or a password file.

    Parameters
    ----------
    source
        The parsed ``source:`` (its ``url`` and ``passfile``).
    url
        A URL without password, overriding ``source.url``.
    env
        The environment (default ``os.environ``).

    Returns
    -------
    sqlalchemy.URL
        Never print it; use :func:`mask_url`.

    Raises
    ------
    DatasetError
        No URL anywhere, a URL with a password from a file or argument, a password file
        readable by others.
    """
    make_url = import_sqlalchemy().engine.make_url

    env = os.environ if env is None else env
    text = url or (source.url if source else None)
    from_env = False
    if not text:
        text = env.get("SALESML_DB_URL")
        from_env = True
    if not text:
        raise DatasetError(
            "no database URL: set source.url in dataset.yaml or the SALESML_DB_URL variable"
        )
    if not from_env:
        refuse_password(text, "database URL")
    try:
        u = make_url(text)
    except Exception:
        raise DatasetError(f"{mask_url(text)} is not a database URL") from None
    fill = {
        "host": env.get("PGHOST"),
        "port": env.get("PGPORT"),
        "username": env.get("PGUSER"),
        "database": env.get("PGDATABASE"),
    }
    upd = {k: v for k, v in fill.items() if v and getattr(u, k) in (None, "")}
    if "port" in upd:
        if not str(upd["port"]).isdigit():
            raise DatasetError("PGPORT must be a port number")
        upd["port"] = int(upd["port"])
    if upd:
        u = u.set(**upd)
    if u.password:
        return u
    password = env.get("PGPASSWORD")
    if not password:
        pf = (source.passfile if source else None) or env.get("PGPASSFILE")
        path = Path(pf).expanduser() if pf else Path.home() / ".pgpass"
        password = _from_passfile(
            path,
            u.host or "localhost",
            str(u.port or 5432),
            u.database or "",
            u.username or "",
        )
    return u.set(password=password) if password else u


# ---------------------------------------------------------------- engine
def _engine(u: sa.URL) -> sa.Engine:
    sa = import_sqlalchemy()
    from sqlalchemy.pool import NullPool

    args: dict[str, Any] = {}
    if u.get_backend_name() == "postgresql":
        args["connect_timeout"] = 15
    try:
        return sa.create_engine(u, poolclass=NullPool, connect_args=args)
    except Exception as e:
        raise DatasetError(f"{mask_url(u)}: {_short(e, u)}") from None


def _short(e: BaseException, u: sa.URL) -> str:
    """One line of an error, with the password (if any) blanked out."""
    orig = getattr(e, "orig", None) or e
    text = " ".join(str(orig).split())[:400]
    if u.password:
        text = text.replace(str(u.password), "***")
    return text or type(e).__name__


def _connect(engine: sa.Engine, u: sa.URL, tz: str = "UTC") -> sa.Connection:
    try:
        conn = engine.connect()
    except Exception as e:
        raise DatasetError(f"{mask_url(u)}: cannot connect: {_short(e, u)}") from None
    if u.get_backend_name() == "postgresql":
        conn = conn.execution_options(postgresql_readonly=True)
        sa = import_sqlalchemy()
        try:  # naive bounds and timestamptz values in the dataset's timezone (bound, not formatted)
            conn.execute(sa.text("SELECT set_config('TimeZone', :tz, false)"), {"tz": tz})
        except Exception as e:
            conn.close()
            raise DatasetError(f"dataset.yaml timezone {tz!r}: {_short(e, u)}") from None
    return conn


# ---------------------------------------------------------------- statements
def _statement(
    conn: sa.Connection,
    st: SqlTable,
    period: Period | None,
    mapped: bool,
) -> sa.Select:
    """The SELECT of one source, names checked, period filter as bound parameters."""
    sa = import_sqlalchemy()

    if st.table is not None:
        insp = sa.inspect(conn)
        try:
            names = set(insp.get_table_names(schema=st.schema)) | set(
                insp.get_view_names(schema=st.schema)
            )
        except Exception as e:
            raise DatasetError(
                f"table {st.name}: {st.where}: {_short(e, conn.engine.url)}"
            ) from None
        if st.table not in names:
            shown = ", ".join(sorted(names)[:30]) or "none"
            raise DatasetError(
                f"table {st.name}: {st.where} does not exist in the database (it has: {shown})"
            )
        src = sa.Table(st.table, sa.MetaData(), schema=st.schema, autoload_with=conn)
        columns = list(src.c.keys())
    else:
        probe = sa.text(st.query.strip().rstrip(";")).columns().subquery("src")
        try:
            res = conn.execute(sa.select(sa.literal_column("*")).select_from(probe).limit(0))
            columns = list(res.keys())
            res.close()
        except Exception as e:
            raise DatasetError(
                f"table {st.name}: {st.where} cannot be run: {_short(e, conn.engine.url)}"
            ) from None
        src = (
            sa.text(st.query.strip().rstrip(";"))
            .columns(*[sa.column(c) for c in columns])
            .subquery("src")
        )
    stmt = sa.select(src)
    if period is not None and st.filtered(mapped):
        col = st.period_column()
        if col is None:
            raise DatasetError(
                f"table {st.name}: the period filter needs a time_column ({st.where})"
            )
        if col not in columns:
            raise DatasetError(
                f"table {st.name}: time_column {col!r} is not a column of {st.where} "
                f"(it has: {', '.join(columns)})"
            )
        c = src.c[col]
        stmt = stmt.where(
            c >= sa.bindparam("period_start", period.start.to_pydatetime(), type_=sa.DateTime()),
            c < sa.bindparam("period_end", period.end.to_pydatetime(), type_=sa.DateTime()),
        )
    if not mapped and st.name in SPECS:
        key = [k for k in SPECS[st.name].key if k in columns]
        if key and len(key) == len(SPECS[st.name].key):
            stmt = stmt.order_by(*[src.c[k] for k in key])
    return stmt


def _naive(df: pd.DataFrame, tz: str) -> pd.DataFrame:
    """Timezone-aware columns (``timestamptz``) as naive times in the dataset's timezone."""
    for c in df.columns:
        col = df[c]
        if isinstance(col.dtype, pd.DatetimeTZDtype):
            df[c] = col.dt.tz_convert(tz).dt.tz_localize(None)
        elif col.dtype == object:
            first = col.dropna()
            v = first.iloc[0] if len(first) else None
            if getattr(v, "tzinfo", None) is not None and hasattr(v, "utcoffset"):
                df[c] = pd.to_datetime(col, utc=True).dt.tz_convert(tz).dt.tz_localize(None)
    return df


def _names(stmt: sa.Select) -> list[str]:
    return [str(c.key) for c in stmt.selected_columns]


def _chunks(
    conn: sa.Connection, stmt: sa.Select, chunk_rows: int, st: SqlTable, tz: str = "UTC"
) -> Iterator[pd.DataFrame]:
    """The rows of ``stmt`` as frames of at most ``chunk_rows`` rows (server-side cursor).

    On PostgreSQL (psycopg) the compiled statement runs on a named (server-side)
    cursor of the same read-only transaction and rows are fetched as plain tuples,
    about 3x faster than building SQLAlchemy rows; other dialects stream through
    SQLAlchemy. Either way the statement and its bound parameters are logged at
    DEBUG on the ``salesml.data.sql`` logger.
    """
    try:
        compiled = stmt.compile(dialect=conn.dialect)
        params = compiled.construct_params()
        _log.debug("table %s: %s %s", st.name, compiled.string, params)
        if conn.dialect.name == "postgresql" and conn.dialect.driver == "psycopg":
            conn.exec_driver_sql("SELECT 1").close()  # begin the (read-only) transaction
            raw = conn.connection.dbapi_connection
            name = f"salesml_{secrets.token_hex(6)}"
            with raw.cursor(name=name) as cur:  # type: ignore[union-attr]
                cur.itersize = chunk_rows
                cur.execute(compiled.string, params)
                keys = [d.name for d in cur.description]
                while rows := cur.fetchmany(chunk_rows):
                    df = pd.DataFrame.from_records(rows, columns=keys, coerce_float=True)
                    yield _naive(df, tz)
            return
        res = conn.execution_options(stream_results=True, max_row_buffer=chunk_rows).execute(stmt)
        keys = list(res.keys())
        for part in res.partitions(chunk_rows):
            yield _naive(pd.DataFrame.from_records(part, columns=keys, coerce_float=True), tz)
        res.close()
    except DatasetError:
        raise
    except Exception as e:
        raise DatasetError(
            f"table {st.name}: reading {st.where} failed: {_short(e, conn.engine.url)}"
        ) from None


def _frame(
    conn: sa.Connection, stmt: sa.Select, chunk_rows: int, st: SqlTable, tz: str
) -> pd.DataFrame:
    parts = list(_chunks(conn, stmt, chunk_rows, st, tz))
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in _names(stmt)})
    df = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    # a column empty in one chunk is object there: let pandas settle the common dtype
    return df.infer_objects()


# ---------------------------------------------------------------- reading
@dataclass
class SqlTables:
    """The frames read from a database, before validation.

    Attributes
    ----------
    tables
        Model table -> frame as the database typed it.
    config
        The dataset's settings.
    files
        Model table -> how messages name its SQL source.
    notes
        Things worth telling (the period read).
    """

    tables: dict[str, pd.DataFrame]
    config: Any
    files: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _source_of(config: Any) -> SqlSource:
    src = getattr(config, "source", None)
    if src is None:
        raise DatasetError("dataset.yaml has no source: (it is not a SQL dataset)")
    return src if isinstance(src, SqlSource) else SqlSource.from_dict(src)


def _wanted(source: SqlSource, tables: Iterable[str] | None) -> list[str]:
    if tables is None:
        return list(source.tables)
    wanted = list(tables)
    for t in wanted:
        if t not in SPECS:
            raise KeyError(f"unknown table {t!r}; the data model has: {', '.join(TABLE_NAMES)}")
    return [t for t in wanted if t in source.tables]


def read_sql_tables(
    config: Any,
    *,
    tables: Iterable[str] | None = None,
    period: Period | str | None = None,
    progress: bool = False,
    url: str | None = None,
) -> SqlTables:
    """Read the tables a ``source:`` names, as they come from the database.

    Parameters
    ----------
    config
        The :class:`~salesml.data.config.DatasetConfig` (its ``source``).
    tables
        Model tables to read (default: every one the source lists).
    period
        Push this period into the statements of the filtered tables (see module).
    progress
        Show a progress bar per table.
    url
        A URL without password overriding ``source.url``.

    Returns
    -------
    SqlTables
        Frames as the database types them, ``files`` naming the SQL source of each.
    """
    from tqdm import tqdm  # text bars: tqdm.auto would pull in ipywidgets

    from salesml.periods import Period as _Period

    source = _source_of(config)
    if source.mapping is not None:
        raise DatasetError(
            "dataset.yaml source: has a mapping; load it with load_dataset / load_sql "
            "(the mapping is applied there)"
        )
    p = _Period.parse(period) if period is not None else None
    u = resolve_url(source, url=url)
    engine = _engine(u)
    out = SqlTables({}, config)
    try:
        with _connect(engine, u, config.timezone) as conn:
            bar = tqdm(
                _wanted(source, tables),
                desc="reading SQL",
                unit="table",
                disable=not progress,
                leave=False,
                delay=1.0,
            )
            for name in bar:
                bar.set_postfix_str(name, refresh=False)
                st = source.tables[name]
                stmt = _statement(conn, st, p, mapped=False)
                out.tables[name] = _frame(conn, stmt, source.chunk_rows, st, config.timezone)
                out.files[name] = f"{name} ({st.where})"
    finally:
        engine.dispose()
    if p is not None:
        out.notes.append(f"read from {mask_url(u)} for period {p}")
    return out


def _stage(
    source: SqlSource,
    folder: Path,
    u: sa.URL,
    period: Period | None,
    progress: bool,
    tz: str = "UTC",
) -> None:
    """Write every source of a mapped ``source:`` as ``<name>.parquet`` into ``folder``."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from tqdm import tqdm

    engine = _engine(u)
    try:
        with _connect(engine, u, tz) as conn:
            for name, st in source.tables.items():
                stmt = _statement(conn, st, period, mapped=True)
                writer = None
                bar = tqdm(desc=f"reading {name}", unit="row", disable=not progress, leave=False)
                for chunk in _chunks(conn, stmt, source.chunk_rows, st, tz):
                    # staged as text, as a CSV export would be: one schema for every chunk
                    tbl = pa.Table.from_pandas(
                        chunk.astype("str").where(chunk.notna()), preserve_index=False
                    )
                    tbl = tbl.cast(pa.schema([(c, pa.string()) for c in tbl.column_names]))
                    if writer is None:
                        writer = pq.ParquetWriter(folder / f"{name}.parquet", tbl.schema)
                    writer.write_table(tbl)
                    bar.update(len(chunk))
                bar.close()
                if writer is None:
                    cols = _names(stmt)
                    pq.write_table(
                        pa.table({c: pa.array([], pa.string()) for c in cols}),
                        folder / f"{name}.parquet",
                    )
                else:
                    writer.close()
    finally:
        engine.dispose()


def _mapping_path(folder: Path | None, source: SqlSource) -> Path:
    assert source.mapping is not None
    rel = Path(source.mapping).expanduser()
    if folder is None or rel.is_absolute():
        return rel
    if ".." in rel.parts:
        raise DatasetError(
            f"dataset.yaml source.mapping: {source.mapping} leads outside the folder"
        )
    return folder / rel


def load_sql(
    path: str | Path,
    *,
    period: Period | str | None = None,
    tables: Iterable[str] | None = None,
    validate: bool = True,
    progress: bool = True,
    url: str | None = None,
) -> SalesData:
    """Load a dataset folder whose ``dataset.yaml`` has ``source:`` from its database.

    Same result as :func:`~salesml.data.io.load_dataset` of a Parquet folder of the
    same rows (validation, quarantine, ``.validation``); ``period`` is pushed into
    the SQL of the filtered tables.

    Parameters
    ----------
    path
        The dataset folder (or its ``dataset.yaml``).
    period
        Only rows of this period in the filtered tables (see the module).
    tables
        Model tables to read (default: all the source lists).
    validate
        Validate and quarantine (default); ``False`` only parses.
    progress
        Show progress bars.
    url
        A URL without password overriding ``source.url``.

    Returns
    -------
    SalesData
    """
    from salesml.data.bundle import SalesData
    from salesml.data.config import DatasetConfig
    from salesml.data.quarantine import read_stored_quarantine
    from salesml.data.validate import finalise_table, parse_table
    from salesml.data.validate import validate as _validate
    from salesml.periods import Period as _Period

    p = Path(path)
    folder = p if p.is_dir() else p.parent
    config = DatasetConfig.read(p)
    source = _source_of(config)
    if source.mapping is not None:
        from salesml.data.mapping import import_dataset

        per = _Period.parse(period) if period is not None else None
        u = resolve_url(source, url=url)
        with tempfile.TemporaryDirectory(prefix="salesml-sql-") as tmp:
            stage, out = Path(tmp) / "src", Path(tmp) / "out"
            stage.mkdir()
            _stage(source, stage, u, per, progress, config.timezone)
            report = import_dataset(stage, _mapping_path(folder, source), out)
        data = report.data
        data.source = folder
        data.validation = report
        data.stored_quarantine = report.stored
        return data
    raw = read_sql_tables(config, tables=tables, period=period, progress=progress, url=url)
    if validate:
        report = _validate(
            raw.tables, config=config, files=raw.files, notes=raw.notes, progress=progress
        )
        data = report.data
        data.validation = report
    else:
        out = {}
        for name, df in raw.tables.items():
            parsed, _ = parse_table(name, df, config=config)
            out[name] = finalise_table(name, parsed, config)
        data = SalesData(out, config)
    data.source = folder
    data.stored_quarantine = read_stored_quarantine(folder)
    return data


def snapshot_sql(
    source: SqlSource | Mapping[str, Any] | str | Path,
    out_dir: str | Path,
    *,
    mapping: str | Path | None = None,
    period: Period | str | None = None,
    url: str | None = None,
    progress: bool = True,
) -> Path:
    """Copy the tables of a database into a Parquet dataset folder.

    Without a mapping, each table is streamed chunk by chunk into ``<table>/part-N.parquet``
    (bounded memory; validation happens when the folder is loaded, as for any folder).
    With a mapping, the sources are staged and imported through it
    (:func:`~salesml.data.mapping.import_dataset`: validated, ``quarantine.parquet``).

    Parameters
    ----------
    source
        A :class:`SqlSource`, a ``source:`` mapping, or a YAML file (a ``dataset.yaml``
        with ``source:``, or the folder holding one).
    out_dir
        The dataset folder to write (its ``dataset.yaml`` has no ``source:``).
    mapping
        A mapping file (overrides ``source.mapping``).
    period
        Only rows of this period in the filtered tables.
    url
        A URL without password overriding ``source.url``.
    progress
        Show progress bars (rows per table).

    Returns
    -------
    Path
        The folder.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq
    from tqdm import tqdm

    from salesml.data.config import DatasetConfig

    base: Path | None = None
    if isinstance(source, str | Path):
        config = DatasetConfig.read(source)
        base = Path(source) if Path(source).is_dir() else Path(source).parent
        src = _source_of(config)
    else:
        config = DatasetConfig()
        src = source if isinstance(source, SqlSource) else SqlSource.from_dict(dict(source))
    out = Path(out_dir)
    per = None
    if period is not None:
        from salesml.periods import Period as _Period

        per = _Period.parse(period)
    u = resolve_url(src, url=url)
    map_path = Path(mapping) if mapping is not None else None
    if map_path is None and src.mapping is not None:
        map_path = _mapping_path(base, src)
    if map_path is not None:
        from salesml.data.mapping import import_dataset

        with tempfile.TemporaryDirectory(prefix="salesml-sql-") as tmp:
            _stage(src, Path(tmp), u, per, progress, config.timezone)
            import_dataset(tmp, map_path, out)
        return out
    out.mkdir(parents=True, exist_ok=True)
    engine = _engine(u)
    try:
        with _connect(engine, u, config.timezone) as conn:
            for name, st in src.tables.items():
                stmt = _statement(conn, st, per, mapped=False)
                part_dir = out / name
                if part_dir.is_dir():
                    for old in part_dir.glob("*.parquet"):
                        old.unlink()
                for stale in (out / f"{name}.parquet", out / f"{name}.csv"):
                    if stale.is_file():
                        stale.unlink()
                part_dir.mkdir(exist_ok=True)
                bar = tqdm(desc=name, unit="row", disable=not progress, leave=False)
                n = 0
                for i, chunk in enumerate(_chunks(conn, stmt, src.chunk_rows, st, config.timezone)):
                    chunk.to_parquet(part_dir / f"part-{i:05d}.parquet", index=False)
                    n += len(chunk)
                    bar.update(len(chunk))
                bar.close()
                if n == 0:
                    cols = _names(stmt)
                    pq.write_table(
                        pa.table({c: pa.array([], pa.string()) for c in cols}),
                        part_dir / "part-00000.parquet",
                    )
    finally:
        engine.dispose()
    config.source = None
    config.write(out)
    return out


def cli_import(args: Any) -> int:
    """``salesml import --from-sql SOURCE --out DIR [--mapping YAML] [--period P]``.

    Prints the tables and rows written (never the password); exit 0, or 1 when the
    mapping import rejected rows (unless ``--allow-rejects``).
    """
    import pyarrow.parquet as pq

    from salesml.data.quarantine import read_stored_quarantine

    if not args.out:
        raise ValueError("give --out DATASET_DIR for the snapshot")
    if args.src:
        raise ValueError("give either SRC_DIR or --from-sql SOURCE, not both")
    out = snapshot_sql(args.from_sql, args.out, mapping=args.mapping, period=args.period)
    for name in TABLE_NAMES:
        parts = sorted((out / name).glob("*.parquet")) or [out / f"{name}.parquet"]
        if parts[0].is_file():
            rows = sum(pq.ParquetFile(x).metadata.num_rows for x in parts)
            print(f"{name:<20} {rows:>10,} rows  {len(parts)} file(s)")
    q = read_stored_quarantine(out)
    print(f"wrote {out}")
    if len(q):
        print(f"{len(q):,} rejected or skipped rows are listed in {out / 'quarantine.parquet'}")
        if not getattr(args, "allow_rejects", False):
            return 1
    return 0
