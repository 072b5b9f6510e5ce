"""The mapping file, parsed and checked: :class:`ImportMapping` and its parts.

Every piece a user types is bounded (:data:`LIMITS`) and checked against a
whitelist of settings before any source file is read; errors name the mapping
file, the table and the entry. The format is documented in ``docs/mapping.md``.
"""

from __future__ import annotations

import datetime as _dt
import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from salesml.data.schema import SPECS, TABLE_NAMES
from salesml.data.yamlsafe import load_yaml
from salesml.rules.expr import compile_expr

__all__ = [
    "LIMITS",
    "FillRule",
    "IdRule",
    "ImportMapping",
    "Lookup",
    "RowFilter",
    "TableMapping",
    "ValueMap",
]

#: Upper bounds on what a mapping may ask for (size of the YAML and of each entry).
LIMITS: dict[str, int] = {
    "yaml_bytes": 1 << 20,
    "columns": 1000,
    "value_entries": 10_000,
    "patterns": 100,
    "pattern_chars": 200,
    "fill_from": 10,
    "lookups": 20,
    "template_chars": 200,
    "template_fields": 10,
    "hash_columns": 10,
    "text_chars": 200,
}

_TOP_KEYS = ("encoding", "date_formats", "dataset", "tables")
_TABLE_KEYS = (
    "file",
    "encoding",
    "delimiter",
    "thousands",
    "date_formats",
    "keep_unmapped",
    "columns",
    "values",
    "constants",
    "fill",
    "lookups",
    "ids",
    "filter",
    "placeholders",
)
_FIELD = re.compile(r"\{([^{}]*)\}")
#: Source columns the templates and filters reach besides the export's: the row number.
ROW_FIELD = "_row"


def read_yaml(path: Path) -> Any:
    """Parse a YAML file safely, bounded in size.

    Through the package's one safe loader (:func:`salesml.data.yamlsafe.load_yaml`:
    no anchors or aliases, no tags, bounded depth), in one-line errors.
    """
    size = path.stat().st_size
    if size > LIMITS["yaml_bytes"]:
        raise ValueError(
            f"{path}: {size:,} bytes; a mapping file is at most {LIMITS['yaml_bytes']:,} bytes"
        )
    return load_yaml(path, what=str(path))


def cell_text(v: Any) -> str | None:
    """A YAML scalar as the text a cell would hold (``None`` stays empty)."""
    if v is None:
        return None
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, _dt.datetime):
        return v.isoformat(sep=" ")
    if isinstance(v, _dt.date):
        return v.isoformat()
    if isinstance(v, int | float | str):
        return str(v)
    raise TypeError(type(v).__name__)


def _glob_regex(pattern: str) -> str:
    """A glob (``*``, ``?``, ``[abc]``, ``[!abc]``) as an RE2 pattern."""
    out, i, n = [], 0, len(pattern)
    while i < n:
        ch = pattern[i]
        if ch == "*":
            out.append(".*")
        elif ch == "?":
            out.append(".")
        elif ch == "[":
            j = i + 1
            if j < n and pattern[j] == "!":
                j += 1
            if j < n and pattern[j] == "]":
                j += 1
            k = pattern.find("]", j)
            if k < 0:
                out.append("\\[")
            else:
                body = pattern[i + 1 : k]
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append("[" + body.replace("\\", "\\\\") + "]")
                i = k
        elif ch in "\\.^$|+(){}]":
            out.append("\\" + ch)
        else:
            out.append(ch)
        i += 1
    return "".join(out)


@dataclass(frozen=True)
class ValueMap:
    """How one model column's source values translate.

    Attributes
    ----------
    exact
        Source value -> model value (``None``: an empty cell).
    patterns
        ``(written key, RE2 pattern, model value)`` in the order written; a value
        no exact key matches takes the first pattern that matches all of it.
    empty
        ``(True, model value)`` when an empty cell has a translation (key ``""``).
    other
        ``(True, model value)`` for every other non-empty value (key ``"*"``).
    """

    exact: dict[str, str | None]
    patterns: tuple[tuple[str, str, str | None], ...] = ()
    empty: tuple[bool, str | None] = (False, None)
    other: tuple[bool, str | None] = (False, None)


@dataclass(frozen=True)
class Lookup:
    """A column fetched from a second source file by a key.

    Attributes
    ----------
    name
        Used as ``lookup.<name>`` in ``fill_from``.
    file
        The second source file (relative to the export folder).
    key
        Column of this table's source holding the key.
    on
        Column of ``file`` the key is matched against.
    value
        Column of ``file`` fetched.
    match
        ``exact`` (after trimming spaces) or ``loose`` (also ignoring case, spaces and
        punctuation: ``GTXPro`` finds ``GTX Pro``).
    """

    name: str
    file: str
    key: str
    on: str
    value: str
    match: str = "exact"
    encoding: str | None = None
    delimiter: str = ","


@dataclass(frozen=True)
class FillRule:
    """What an empty cell of a model column becomes.

    Attributes
    ----------
    fill_from
        Source columns or ``lookup.<name>`` tried in order (coalesce).
    default
        Text for cells still empty after that (``None``: stay empty).
    """

    fill_from: tuple[str, ...] = ()
    default: str | None = None


@dataclass(frozen=True)
class IdRule:
    """An id built from other columns.

    Attributes
    ----------
    template
        ``"{account}-{engage_date}"``: source columns in braces (``{_row}`` is the
        1-based row of the source file; ``{{``/``}}`` are literal braces).
    hash
        Source columns whose values are hashed into a stable hex id.
    prefix
        Text put before a hashed id.
    length
        Hex digits of a hashed id (8 to 16).
    """

    template: str | None = None
    hash: tuple[str, ...] = ()
    prefix: str = ""
    length: int = 12

    @property
    def fields(self) -> tuple[str, ...]:
        """Source columns the id reads (``_row`` included when used)."""
        if self.template is not None:
            return tuple(
                dict.fromkeys(_FIELD.findall(self.template.replace("{{", "").replace("}}", "")))
            )
        return self.hash


@dataclass(frozen=True)
class RowFilter:
    """Rows the mapping skips (or keeps) by a safe expression (:mod:`salesml.rules.expr`)."""

    expression: str
    skip: bool

    @property
    def text(self) -> str:
        """As written in the mapping: ``skip: ...`` or ``keep: ...``."""
        return f"{'skip' if self.skip else 'keep'}: {self.expression}"


@dataclass
class TableMapping:
    """How one source file becomes one model table (see ``docs/mapping.md``).

    Parameters
    ----------
    table
        Model table name.
    file
        Source file name, relative to the source folder.
    columns
        Source column -> list of model columns it feeds.
    values
        Model column -> its :class:`ValueMap`.
    constants
        Model column -> constant value.
    date_formats
        strptime formats tried (after ISO) for this table's date columns.
    encoding
        Source file encoding (``None``: the mapping's, else detected).
    thousands
        Thousands separator to strip from number columns.
    delimiter
        Field separator of a CSV source.
    keep_unmapped
        Carry source columns that are not mapped along as extra columns.
    fill
        Model column -> :class:`FillRule` (coalesce and default for empty cells).
    lookups
        Name -> :class:`Lookup`.
    ids
        Model column -> :class:`IdRule`.
    filter
        Rows to skip (counted as skipped, not lost), or ``None``.
    placeholders
        Reference column -> the id of a placeholder row its empty cells point at
        (``{"customer_id": "(no account)"}``); the row is added to the parent table.
    """

    table: str
    file: str
    columns: dict[str, list[str]]
    values: dict[str, ValueMap] = field(default_factory=dict)
    constants: dict[str, Any] = field(default_factory=dict)
    date_formats: list[str] = field(default_factory=list)
    encoding: str | None = None
    thousands: str | None = None
    delimiter: str = ","
    keep_unmapped: bool = False
    fill: dict[str, FillRule] = field(default_factory=dict)
    lookups: dict[str, Lookup] = field(default_factory=dict)
    ids: dict[str, IdRule] = field(default_factory=dict)
    filter: RowFilter | None = None
    placeholders: dict[str, str] = field(default_factory=dict)

    @property
    def source_of(self) -> dict[str, str]:
        """Model column -> the source column mapped to it in ``columns``."""
        return {m: s for s, ms in self.columns.items() for m in ms}

    @property
    def model_columns(self) -> list[str]:
        """Every column this mapping produces, model columns in model order first."""
        names = set(self.source_of) | set(self.constants) | set(self.fill) | set(self.ids)
        spec = SPECS[self.table]
        return [c for c in spec.column_names if c in names] + sorted(
            n for n in names if n not in spec
        )

    @property
    def source_columns(self) -> list[str]:
        """Every source column the mapping reads from this table's file."""
        used = list(self.columns)
        for f in self.fill.values():
            used += [s for s in f.fill_from if not s.startswith("lookup.")]
        for r in self.ids.values():
            used += [s for s in r.fields if s != ROW_FIELD]
        used += [lk.key for lk in self.lookups.values()]
        return list(dict.fromkeys(used))


@dataclass
class ImportMapping:
    """A parsed mapping file (the format: ``docs/mapping.md``).

    Use :meth:`read` to load one; errors name the mapping file and the entry.
    """

    tables: dict[str, TableMapping]
    encoding: str | None = None
    date_formats: list[str] = field(default_factory=list)
    dataset: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None

    @classmethod
    def read(cls, path: str | Path) -> ImportMapping:
        """Read and check a mapping YAML file."""
        p = Path(path)
        if not p.is_file():
            raise FileNotFoundError(f"mapping file {p} does not exist")
        return cls.from_dict(read_yaml(p), path=p)

    @classmethod
    def from_dict(cls, d: Any, *, path: Path | None = None) -> ImportMapping:
        """Build from a parsed YAML mapping, checking every name."""
        where = str(path) if path else "mapping"
        if not isinstance(d, dict) or not isinstance(d.get("tables"), dict) or not d["tables"]:
            raise ValueError(f"{where}: expected a mapping with a non-empty 'tables:' section")
        _no_unknown(where, d, _TOP_KEYS)
        tables = {}
        for table, td in d["tables"].items():
            tables[str(table)] = _table_mapping(where, str(table), td)
        dataset = d.get("dataset") or {}
        if not isinstance(dataset, dict):
            raise ValueError(f"{where}: 'dataset' must be a mapping of dataset.yaml settings")
        for table, tm in tables.items():
            for col, _pid in tm.placeholders.items():
                ref = SPECS[table][col].references if col in SPECS[table] else None
                if ref is None:
                    raise ValueError(
                        f"{where}, table {table}: placeholders.{col}: {col} is not a "
                        "reference to another table"
                    )
        return cls(
            tables=tables,
            encoding=_opt_text(where, "encoding", d.get("encoding")),
            date_formats=_str_list(where, "date_formats", d.get("date_formats")),
            dataset=dict(dataset),
            path=path,
        )


# ---------------------------------------------------------------------- checks
def _no_unknown(where: str, d: dict, allowed: tuple[str, ...]) -> None:
    unknown = [str(k) for k in d if k not in allowed]
    if unknown:
        hints = []
        for k in unknown:
            close = difflib.get_close_matches(k, allowed, n=1)
            hints.append(f"{k!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        raise ValueError(
            f"{where}: unknown setting(s) {', '.join(hints)}; allowed: {', '.join(allowed)}"
        )


def _text(where: str, what: str, v: Any, *, limit: int | None = None) -> str:
    limit = limit or LIMITS["text_chars"]
    if not isinstance(v, str | int | float) or isinstance(v, bool) or str(v) == "":
        raise ValueError(f"{where}: {what} must be a non-empty text")
    s = str(v)
    if len(s) > limit:
        raise ValueError(f"{where}: {what} is {len(s)} characters long; at most {limit}")
    return s


def _opt_text(where: str, what: str, v: Any) -> str | None:
    return None if v is None else _text(where, what, v)


def _str_list(where: str, what: str, v: Any, *, limit: int = 50) -> list[str]:
    if v is None:
        return []
    if isinstance(v, str):
        v = [v]
    if not isinstance(v, list) or not all(isinstance(x, str) and x for x in v):
        raise ValueError(f"{where}: {what} must be a list of texts")
    if len(v) > limit:
        raise ValueError(f"{where}: {what} lists {len(v)} entries; at most {limit}")
    return [_text(where, what, x) for x in v]


def _mapping(where: str, what: str, v: Any, *, limit: int) -> dict:
    if v is None:
        return {}
    if not isinstance(v, dict):
        raise ValueError(f"{where}: '{what}' must be a mapping")
    if len(v) > limit:
        raise ValueError(f"{where}: '{what}' has {len(v):,} entries; at most {limit:,}")
    return v


def _check_regex(where: str, key: str, regex: str) -> str:
    if len(regex) > LIMITS["pattern_chars"]:
        raise ValueError(
            f"{where}: pattern {key!r} is longer than {LIMITS['pattern_chars']} characters"
        )
    anchored = f"^(?:{regex})$"
    try:  # RE2 (through Arrow): linear time, no backtracking blow-ups
        pc.match_substring_regex(pa.array([""], type=pa.large_string()), anchored)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as e:
        raise ValueError(
            f"{where}: pattern {key!r} is not a valid regular expression ({e})"
        ) from None
    return anchored


def _value_map(where: str, col: str, raw: Any) -> ValueMap:
    here = f"{where}, values.{col}"
    entries = _mapping(here, f"values.{col}", raw, limit=LIMITS["value_entries"])
    exact: dict[str, str | None] = {}
    patterns: list[tuple[str, str, str | None]] = []
    empty: tuple[bool, str | None] = (False, None)
    other: tuple[bool, str | None] = (False, None)
    for k, v in entries.items():
        try:
            target = cell_text(v)
        except TypeError:
            raise ValueError(
                f"{here}: the value for {k!r} must be a text, number or empty"
            ) from None
        if k is None:
            raise ValueError(f'{here}: an empty key is written "" (quoted), not ~ or null')
        try:
            key = cell_text(k)
        except TypeError:
            raise ValueError(f"{here}: key {k!r} must be a text") from None
        assert key is not None
        if key == "":
            empty = (True, target)
        elif key == "*":
            other = (True, target)
        elif key.startswith(("re:", "glob:")):
            if len(patterns) >= LIMITS["patterns"]:
                raise ValueError(f"{here}: more than {LIMITS['patterns']} patterns")
            kind, _, body = key.partition(":")
            if not body:
                raise ValueError(f"{here}: pattern {key!r} is empty")
            regex = body if kind == "re" else _glob_regex(body)
            patterns.append((key, _check_regex(here, key, regex), target))
        else:
            exact[key.strip()] = target
    return ValueMap(exact, tuple(patterns), empty, other)


def _fill_rule(where: str, col: str, raw: Any) -> FillRule:
    here = f"{where}, fill.{col}"
    if not isinstance(raw, dict):
        raise ValueError(f"{here}: expected 'fill_from: [...]' and/or 'default: ...'")
    _no_unknown(here, raw, ("fill_from", "default"))
    sources = _str_list(here, "fill_from", raw.get("fill_from"), limit=LIMITS["fill_from"])
    try:
        default = cell_text(raw.get("default"))
    except TypeError:
        raise ValueError(f"{here}: default must be a text, number or date") from None
    if default is not None and len(default) > LIMITS["text_chars"]:
        raise ValueError(f"{here}: default is longer than {LIMITS['text_chars']} characters")
    if not sources and default is None:
        raise ValueError(f"{here}: give fill_from, default or both")
    return FillRule(tuple(sources), default)


def _lookup(where: str, name: str, raw: Any) -> Lookup:
    here = f"{where}, lookups.{name}"
    if not re.fullmatch(r"[A-Za-z_]\w{0,63}", name):
        raise ValueError(f"{here}: a lookup name is a plain name (letters, digits, _)")
    if not isinstance(raw, dict):
        raise ValueError(f"{here}: expected file:, key:, value: (and optionally on:, match:)")
    # YAML 1.1 reads a bare `on:` key as true
    raw = {("on" if k is True else k): v for k, v in raw.items()}
    _no_unknown(here, raw, ("file", "key", "on", "value", "match", "encoding", "delimiter"))
    for k in ("file", "key", "value"):
        if k not in raw:
            raise ValueError(f"{here}: '{k}:' is required")
    match = raw.get("match", "exact")
    if match not in ("exact", "loose"):
        raise ValueError(f"{here}: match must be 'exact' or 'loose', got {match!r}")
    key = _text(here, "key", raw["key"])
    return Lookup(
        name=name,
        file=_text(here, "file", raw["file"]),
        key=key,
        on=_text(here, "on", raw.get("on", key)),
        value=_text(here, "value", raw["value"]),
        match=match,
        encoding=_opt_text(here, "encoding", raw.get("encoding")),
        delimiter=_text(here, "delimiter", raw.get("delimiter", ",")),
    )


def _id_rule(where: str, col: str, raw: Any) -> IdRule:
    here = f"{where}, ids.{col}"
    if not isinstance(raw, dict):
        raise ValueError(f"{here}: expected 'template: ...' or 'hash: [...]'")
    _no_unknown(here, raw, ("template", "hash", "prefix", "length"))
    if ("template" in raw) == ("hash" in raw):
        raise ValueError(f"{here}: give exactly one of template: or hash:")
    if "template" in raw:
        tpl = _text(here, "template", raw["template"], limit=LIMITS["template_chars"])
        rule = IdRule(template=tpl)
        plain = tpl.replace("{{", "").replace("}}", "")
        if _FIELD.sub("", plain).count("{") or _FIELD.sub("", plain).count("}"):
            raise ValueError(
                f"{here}: unbalanced braces in {tpl!r} (write {{{{ for a literal brace)"
            )
        if not rule.fields:
            raise ValueError(f"{here}: the template names no column ({{column}})")
        if len(rule.fields) > LIMITS["template_fields"]:
            raise ValueError(f"{here}: at most {LIMITS['template_fields']} columns in a template")
        if any(not f for f in rule.fields):
            raise ValueError(f"{here}: empty braces {{}} in {tpl!r}")
        return rule
    cols = _str_list(here, "hash", raw["hash"], limit=LIMITS["hash_columns"])
    if not cols:
        raise ValueError(f"{here}: hash needs at least one column")
    length = raw.get("length", 12)
    if not isinstance(length, int) or isinstance(length, bool) or not 8 <= length <= 16:
        raise ValueError(f"{here}: length is a whole number from 8 to 16")
    prefix = raw.get("prefix", "")
    if not isinstance(prefix, str) or len(prefix) > 20:
        raise ValueError(f"{here}: prefix is a text of at most 20 characters")
    return IdRule(hash=tuple(cols), prefix=prefix, length=length)


def _row_filter(where: str, raw: Any) -> RowFilter:
    here = f"{where}, filter"
    if not isinstance(raw, dict) or len(raw) != 1 or next(iter(raw)) not in ("skip", "keep"):
        raise ValueError(
            f"{here}: expected exactly one of 'skip: <expression>' (rows to leave out) or "
            "'keep: <expression>' (rows to import)"
        )
    ((mode, text),) = raw.items()
    if not isinstance(text, str):
        raise ValueError(f"{here}: the {mode} expression must be text")
    compile_expr(text)  # grammar and size checked now; columns once the file is read
    return RowFilter(text.strip(), skip=mode == "skip")


def _table_mapping(where: str, table: str, td: Any) -> TableMapping:
    if table not in SPECS:
        close = difflib.get_close_matches(table, TABLE_NAMES, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ValueError(
            f"{where}: unknown table {table!r}{hint}; the data model has: {', '.join(TABLE_NAMES)}"
        )
    here = f"{where}, table {table}"
    if not isinstance(td, dict) or "file" not in td:
        raise ValueError(f"{here}: expected a mapping with at least 'file:' and 'columns:'")
    _no_unknown(here, td, _TABLE_KEYS)
    spec = SPECS[table]
    cols_raw = _mapping(here, "columns", td.get("columns"), limit=LIMITS["columns"])
    columns: dict[str, list[str]] = {}
    fed: dict[str, str] = {}

    def feed(model: str, by: str) -> None:
        if model in fed:
            raise ValueError(f"{here}: model column {model!r} is fed by both {fed[model]} and {by}")
        fed[model] = by

    for src, dst in cols_raw.items():
        targets = [dst] if isinstance(dst, str) else dst
        if (
            not isinstance(targets, list)
            or not targets
            or not all(isinstance(x, str) and x for x in targets)
        ):
            raise ValueError(f"{here}: column {src!r} must map to a column name or a list of them")
        for m in targets:
            feed(m, f"source column {src!r}")
        columns[_text(here, "a source column name", src)] = list(targets)

    constants = _mapping(here, "constants", td.get("constants"), limit=LIMITS["columns"])
    for m in constants:
        feed(str(m), "a constant")
    ids = {
        str(m): _id_rule(here, str(m), r)
        for m, r in _mapping(here, "ids", td.get("ids"), limit=LIMITS["columns"]).items()
    }
    for m in ids:
        feed(m, "an id rule")
    fill = {
        str(m): _fill_rule(here, str(m), r)
        for m, r in _mapping(here, "fill", td.get("fill"), limit=LIMITS["columns"]).items()
    }
    for m in fill:
        if fed.get(m) == "a constant":
            raise ValueError(f"{here}: {m!r} is a constant; fill: has nothing to fill")
    lookups = {
        str(n): _lookup(here, str(n), r)
        for n, r in _mapping(here, "lookups", td.get("lookups"), limit=LIMITS["lookups"]).items()
    }
    for m, f in fill.items():
        for s in f.fill_from:
            if s.startswith("lookup.") and s[len("lookup.") :] not in lookups:
                raise ValueError(
                    f"{here}, fill.{m}: {s} names no lookup of this table "
                    f"(lookups: {', '.join(lookups) or 'none'})"
                )
    values_raw = _mapping(here, "values", td.get("values"), limit=LIMITS["columns"])
    values = {}
    for m, v in values_raw.items():
        if m not in fed and m not in fill:
            raise ValueError(f"{here}: 'values' for {m!r}, but no source column is mapped to {m!r}")
        if fed.get(m) == "a constant":
            raise ValueError(f"{here}: 'values' for {m!r}, which is a constant")
        values[str(m)] = _value_map(here, str(m), v)
    placeholders = {}
    for m, pid in _mapping(here, "placeholders", td.get("placeholders"), limit=20).items():
        if m not in fed and m not in fill:
            raise ValueError(f"{here}: placeholders.{m}: no source column is mapped to {m!r}")
        if m in fill and fill[m].default is not None:
            raise ValueError(f"{here}: {m!r} has both a default and a placeholder; keep one")
        placeholders[str(m)] = _text(here, f"placeholders.{m}", pid)
    sourced = set(fed) | set(fill)
    lacking = [c.name for c in spec.columns if not c.nullable and c.name not in sourced]
    if lacking:
        raise ValueError(
            f"{here}: required model column(s) {', '.join(lacking)} are neither mapped "
            "from a source column nor given as constants (or by fill:/ids:)"
        )
    return TableMapping(
        table=table,
        file=_text(here, "file", td["file"]),
        columns=columns,
        values=values,
        constants={str(k): v for k, v in constants.items()},
        date_formats=_str_list(here, "date_formats", td.get("date_formats")),
        encoding=_opt_text(here, "encoding", td.get("encoding")),
        thousands=_opt_text(here, "thousands", td.get("thousands")),
        delimiter=_text(here, "delimiter", td.get("delimiter", ",")),
        keep_unmapped=bool(td.get("keep_unmapped", False)),
        fill=fill,
        lookups=lookups,
        ids=ids,
        filter=_row_filter(here, td["filter"]) if td.get("filter") is not None else None,
        placeholders=placeholders,
    )
