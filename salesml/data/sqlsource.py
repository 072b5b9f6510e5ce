"""The ``source:`` of a ``dataset.yaml``, parsed and checked (no database is touched).

The format is described in :mod:`salesml.data.sql`; this module only checks it, so
that :class:`~salesml.data.config.DatasetConfig` can refuse a bad ``source:`` (an
unknown key, a password in the URL, a second statement in a query) when it reads the
file. SQLAlchemy is imported only to parse URLs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from salesml.data.errors import DatasetError
from salesml.data.schema import SPECS, TABLE_NAMES

if TYPE_CHECKING:  # pragma: no cover
    import sqlalchemy as sa

__all__ = [
    "DEFAULT_CHUNK_ROWS",
    "MAX_QUERY_CHARS",
    "MAX_TABLES",
    "SqlSource",
    "SqlTable",
    "import_sqlalchemy",
    "mask_url",
    "refuse_password",
]

#: Rows fetched per round trip unless ``chunk_rows`` says otherwise.
DEFAULT_CHUNK_ROWS = 50_000
#: Longest ``query:`` accepted.
MAX_QUERY_CHARS = 20_000
#: Most source tables one ``source:`` may list.
MAX_TABLES = 100

_SOURCE_KEYS = ("url", "tables", "passfile", "chunk_rows", "mapping")
_TABLE_KEYS = ("table", "query", "schema", "time_column", "period")
_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]{0,62}$")
_QUERY_START = re.compile(r"^\s*(select|with)\b", re.IGNORECASE)


def _referenced_tables() -> frozenset[str]:
    return frozenset(
        c.references.split(".")[0] for s in SPECS.values() for c in s.columns if c.references
    )


@dataclass(frozen=True)
class SqlTable:
    """Where one table's rows come from.

    Attributes
    ----------
    name
        Model table (or, with a mapping, source name).
    table, schema
        A table or view of the database (checked against its reflected names).
    query
        Or one ``SELECT`` statement.
    time_column
        Column the period filter applies to (default: the model's time column).
    period
        Whether the period filter applies (``None``: the default rule, see module).
    """

    name: str
    table: str | None = None
    schema: str | None = None
    query: str | None = None
    time_column: str | None = None
    period: bool | None = None

    @property
    def where(self) -> str:
        """How messages name this source: ``table sales.crm_deals`` or ``query``."""
        if self.table is not None:
            return f"SQL table {self.schema + '.' if self.schema else ''}{self.table}"
        return "SQL query"

    def filtered(self, mapped: bool) -> bool:
        """Whether the period filter applies to this table."""
        if self.period is not None:
            return self.period
        if mapped:
            return False
        return self.name in SPECS and self.name not in _referenced_tables()

    def period_column(self) -> str | None:
        """The column the period filter applies to, if any."""
        if self.time_column:
            return self.time_column
        return SPECS[self.name].time_column if self.name in SPECS else None


@dataclass(frozen=True)
class SqlSource:
    """The ``source:`` of a ``dataset.yaml``, checked (see the module for the format)."""

    tables: dict[str, SqlTable]
    url: str | None = None
    passfile: str | None = None
    chunk_rows: int = DEFAULT_CHUNK_ROWS
    mapping: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_dict(cls, d: Any, *, where: str = "dataset.yaml source") -> SqlSource:
        """Check and parse a ``source:`` mapping.

        Raises
        ------
        DatasetError
            Naming the key at fault (unknown keys are refused, not ignored).
        """
        if not isinstance(d, dict):
            raise DatasetError(f"{where}: expected a mapping with url: and tables:")
        unknown = [str(k) for k in d if k not in _SOURCE_KEYS]
        if unknown:
            raise DatasetError(
                f"{where}: unknown key(s) {', '.join(unknown)} (allowed: {', '.join(_SOURCE_KEYS)})"
            )
        url = d.get("url")
        if url is not None:
            if not isinstance(url, str) or len(url) > 2000:
                raise DatasetError(f"{where}: url must be a database URL text")
            refuse_password(url, f"{where}: url")
        passfile = d.get("passfile")
        if passfile is not None and not isinstance(passfile, str):
            raise DatasetError(f"{where}: passfile must be a file path")
        chunk = d.get("chunk_rows", DEFAULT_CHUNK_ROWS)
        if isinstance(chunk, bool) or not isinstance(chunk, int) or not 100 <= chunk <= 10**7:
            raise DatasetError(f"{where}: chunk_rows must be a whole number 100..10000000")
        mapping = d.get("mapping")
        if mapping is not None and (not isinstance(mapping, str) or not mapping.strip()):
            raise DatasetError(f"{where}: mapping must be a file name inside the dataset folder")
        raw_tables = d.get("tables")
        if not isinstance(raw_tables, dict) or not raw_tables:
            raise DatasetError(f"{where}: tables must be a non-empty mapping name: {{table: ...}}")
        if len(raw_tables) > MAX_TABLES:
            raise DatasetError(f"{where}: {len(raw_tables)} tables; at most {MAX_TABLES}")
        tables = {}
        for name, entry in raw_tables.items():
            name = str(name)
            if mapping is None and name not in SPECS:
                raise DatasetError(
                    f"{where}.tables: {name!r} is not a model table (tables: "
                    f"{', '.join(TABLE_NAMES)}); with mapping: the names are free"
                )
            if mapping is not None and not _NAME_RE.match(name):
                raise DatasetError(f"{where}.tables: {name!r} is not a plain name (letters, _)")
            tables[name] = _parse_table(name, entry, f"{where}.tables.{name}")
        return cls(
            tables=tables,
            url=url,
            passfile=passfile,
            chunk_rows=chunk,
            mapping=mapping,
            raw=dict(d),
        )


def _parse_table(name: str, entry: Any, where: str) -> SqlTable:
    if not isinstance(entry, dict):
        raise DatasetError(f"{where}: expected {{table: NAME}} or {{query: SELECT ...}}")
    unknown = [str(k) for k in entry if k not in _TABLE_KEYS]
    if unknown:
        raise DatasetError(
            f"{where}: unknown key(s) {', '.join(unknown)} (allowed: {', '.join(_TABLE_KEYS)})"
        )
    if ("table" in entry) == ("query" in entry):
        raise DatasetError(f"{where}: give exactly one of table: or query:")
    for k in ("table", "schema", "time_column"):
        v = entry.get(k)
        if v is not None and (not isinstance(v, str) or not 0 < len(v) <= 128):
            raise DatasetError(f"{where}: {k} must be a name (text, at most 128 characters)")
    period = entry.get("period")
    if period is not None and not isinstance(period, bool):
        raise DatasetError(f"{where}: period must be true or false")
    query = entry.get("query")
    if query is not None:
        _check_query(query, where)
    return SqlTable(
        name=name,
        table=entry.get("table"),
        schema=entry.get("schema"),
        query=query,
        time_column=entry.get("time_column"),
        period=period,
    )


def _check_query(query: Any, where: str) -> None:
    if not isinstance(query, str) or not query.strip():
        raise DatasetError(f"{where}: query must be SQL text")
    if len(query) > MAX_QUERY_CHARS:
        raise DatasetError(f"{where}: query longer than {MAX_QUERY_CHARS:,} characters")
    if not _QUERY_START.match(query):
        raise DatasetError(f"{where}: query must be one SELECT (or WITH ... SELECT) statement")
    if ";" in query.strip().rstrip(";"):
        raise DatasetError(f"{where}: query must be one statement (a ';' inside is refused)")


def import_sqlalchemy() -> Any:
    """The ``sqlalchemy`` module, or a clear error saying how to install it."""
    try:
        import sqlalchemy
        import sqlalchemy.engine
    except ImportError:
        raise DatasetError(
            'dataset.yaml source: needs SQLAlchemy: pip install "salesml[sql]" '
            "(SQLAlchemy and psycopg for PostgreSQL)"
        ) from None
    return sqlalchemy


def mask_url(url: str | sa.URL) -> str:
    """``url`` as text with its password shown as ``***`` (never the password itself)."""
    make_url = import_sqlalchemy().engine.make_url

    try:
        u = make_url(url) if isinstance(url, str) else url
    except Exception:
        text = str(url)
        return re.sub(r"//[^@/]*@", "//***@", text)
    return u.render_as_string(hide_password=True)


def refuse_password(url: str, where: str) -> None:
    make_url = import_sqlalchemy().engine.make_url

    try:
        u = make_url(url)
    except Exception:
        raise DatasetError(f"{where}: {mask_url(url)} is not a database URL") from None
    if u.password:
        raise DatasetError(
            f"{where}: {mask_url(u)} carries a password; remove it and give it through "
            "SALESML_DB_URL, PGPASSWORD or a .pgpass file (mode 0600) instead"
        )
