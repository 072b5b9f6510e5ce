"""One filter spec for every analysis, report and app: column filters plus a safe expression.

Every ``filters=`` argument of salesml accepts the same things and means the same:

- ``None`` or ``{}``: no restriction;
- a mapping ``column -> value or list of values`` (``{"region": "华东"}``,
  ``{"segment": ["key_account", "mid_market"]}``); a ``None`` value is ignored, so a
  dashboard can pass "all" as ``None``;
- the mapping may carry ``"where": "<expression>"``, a rule in the safe grammar of
  :mod:`salesml.rules.expr` (``'amount >= 50000 and stage != "qualification"'``);
- a string alone is such an expression;
- a :class:`FilterSpec` (what the others are turned into, once, at the edge).

Column names refer to the rows being filtered (deals, customers, cost lines...) or to
the shared *dimensions* of :data:`DIMENSIONS`, which an analysis joins in from
another table (``region`` of the customer, ``rep_region`` of the owning rep, ``team``).
Which table "region" means is declared per dataset (``dataset.yaml``
``region_source: customer`` or ``rep``); :func:`region_column` reads it.

Limits keep a typed filter cheap: at most :data:`MAX_COLUMNS` columns,
:data:`MAX_VALUES` values per column and :data:`MAX_WHERE` characters of expression.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from salesml.i18n import label
from salesml.rules.expr import compile_expr
from salesml.rules.expr import mask as expression_mask

__all__ = [
    "DIMENSIONS",
    "MAX_COLUMNS",
    "MAX_VALUES",
    "MAX_WHERE",
    "FilterLike",
    "FilterSpec",
    "region_column",
]

#: Columns a filter may name at most.
MAX_COLUMNS = 32
#: Values one column filter may list at most.
MAX_VALUES = 1000
#: Characters of a ``where`` expression at most.
MAX_WHERE = 2000

#: Dimensions a deal (or a customer's row) can be grouped or filtered by beyond its own
#: columns: name -> (table, column in that table, the deals column it joins on).
DIMENSIONS: dict[str, tuple[str, str, str]] = {
    "region": ("customers", "region", "customer_id"),
    "customer_region": ("customers", "region", "customer_id"),
    "segment": ("customers", "segment", "customer_id"),
    "channel": ("customers", "source_channel", "customer_id"),
    "source_channel": ("customers", "source_channel", "customer_id"),
    "store_id": ("customers", "store_id", "customer_id"),
    "team": ("reps", "team", "rep_id"),
    "rep_region": ("reps", "region", "rep_id"),
    "manager_id": ("reps", "manager_id", "rep_id"),
}

_NAME = re.compile(r"^[^\W\d]\w{0,63}$")


def region_column(region_source: str | None) -> str:
    """The dimension ``region`` stands for: ``region`` (customer's) or ``rep_region``."""
    if region_source in (None, "", "customer"):
        return "region"
    if region_source == "rep":
        return "rep_region"
    raise ValueError(f"region_source must be 'customer' or 'rep', got {region_source!r}")


def _values(column: str, value: Any) -> tuple[Any, ...]:
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        values: tuple[Any, ...] = (value,)
    else:
        values = tuple(value)
    if len(values) > MAX_VALUES:
        raise ValueError(
            f"filter on {column!r} lists {len(values):,} values; at most {MAX_VALUES:,} allowed"
        )
    for v in values:
        if not isinstance(v, str | int | float | bool | np.integer | np.floating | pd.Timestamp):
            raise ValueError(
                f"filter on {column!r}: values are text, numbers or dates, got {type(v).__name__}"
            )
    return values


@dataclass(frozen=True)
class FilterSpec:
    """A parsed, validated filter: accepted values per column and an optional expression.

    Build it with :meth:`FilterSpec.parse`; it is immutable and hashable (safe as a cache
    key).

    Attributes
    ----------
    columns
        ``((column, (value, ...)), ...)`` in the order given.
    where
        A safe expression (:mod:`salesml.rules.expr`), or ``None``.
    """

    columns: tuple[tuple[str, tuple[Any, ...]], ...] = ()
    where: str | None = None

    @classmethod
    def parse(cls, filters: FilterLike) -> FilterSpec:
        """The :class:`FilterSpec` of ``filters`` (see the module docstring for the forms).

        Raises
        ------
        ValueError
            A column name that is not a plain name, too many columns or values, a value
            of an unsupported type, or an expression the grammar refuses (an
            :class:`~salesml.rules.expr.ExpressionError` with a caret line).
        TypeError
            ``filters`` of another type.
        """
        if filters is None:
            return cls()
        if isinstance(filters, FilterSpec):
            return filters
        if isinstance(filters, str):
            return cls(where=cls._check_where(filters))
        if not isinstance(filters, Mapping):
            raise TypeError(
                "filters must be a mapping column -> value(s), an expression string or a "
                f"FilterSpec, got {type(filters).__name__}"
            )
        where = filters.get("where")
        cols: list[tuple[str, tuple[Any, ...]]] = []
        for column, value in filters.items():
            if column == "where" or value is None:
                continue
            if not isinstance(column, str) or not _NAME.match(column):
                raise ValueError(f"filter column {column!r} is not a plain column name")
            cols.append((column, _values(column, value)))
        if len(cols) > MAX_COLUMNS:
            raise ValueError(f"filters name {len(cols)} columns; at most {MAX_COLUMNS} allowed")
        return cls(tuple(cols), cls._check_where(where) if where is not None else None)

    @staticmethod
    def _check_where(text: object) -> str | None:
        if not isinstance(text, str):
            raise ValueError(f"a filter expression is text, got {type(text).__name__}")
        text = text.strip()
        if not text:
            return None
        if len(text) > MAX_WHERE:
            raise ValueError(f"filter expression has {len(text):,} characters; at most {MAX_WHERE}")
        compile_expr(text)  # grammar check now, columns checked where it is applied
        return text

    def __bool__(self) -> bool:
        return bool(self.columns) or self.where is not None

    @property
    def names(self) -> list[str]:
        """The filtered column names, in order."""
        return [c for c, _ in self.columns]

    def get(self, column: str) -> tuple[Any, ...] | None:
        """Accepted values of ``column`` (``None`` when it is not filtered)."""
        for c, v in self.columns:
            if c == column:
                return v
        return None

    def as_dict(self) -> dict[str, Any]:
        """The plain mapping form (a list per column, ``where`` if any): JSON-friendly."""
        out: dict[str, Any] = {c: list(v) for c, v in self.columns}
        if self.where is not None:
            out["where"] = self.where
        return out

    def without(self, *columns: str) -> FilterSpec:
        """The same filter without the named columns (a breakdown by one of them)."""
        drop = set(columns)
        return FilterSpec(tuple((c, v) for c, v in self.columns if c not in drop), self.where)

    def with_columns(self, **columns: Any) -> FilterSpec:
        """The same filter with columns set (``None`` removes one)."""
        merged = dict(self.columns)
        for c, v in columns.items():
            if v is None:
                merged.pop(c, None)
            else:
                merged[c] = _values(c, v)
        return FilterSpec(tuple(merged.items()), self.where)

    def renamed(self, mapping: Mapping[str, str]) -> FilterSpec:
        """The same filter with column names replaced (``{"region": "rep_region"}``)."""
        return FilterSpec(tuple((mapping.get(c, c), v) for c, v in self.columns), self.where)

    def mask(self, frame: pd.DataFrame, *, table: str = "table") -> np.ndarray:
        """Rows of ``frame`` the filter keeps (a boolean array, one entry per row).

        Every filtered column must be a column of ``frame``; dimensions from other
        tables are joined in by the analysis first. Missing values never match.

        Raises
        ------
        ValueError
            Naming ``table`` and the column when a filtered column is absent, or when the
            expression fails on this frame.
        """
        keep = np.ones(len(frame), dtype=bool)
        for column, values in self.columns:
            if column not in frame.columns:
                raise ValueError(
                    f"cannot filter {table} on {column!r}: no such column "
                    f"(columns: {', '.join(map(str, frame.columns))})"
                )
            keep &= _isin(frame[column], values)
        if self.where is not None:
            keep &= np.asarray(expression_mask(frame, self.where, table=table), dtype=bool)
        return keep

    def apply(self, frame: pd.DataFrame, *, table: str = "table") -> pd.DataFrame:
        """The rows of ``frame`` the filter keeps (``frame`` itself when there is no filter)."""
        return frame[self.mask(frame, table=table)] if self else frame

    def slug(self) -> str:
        """A short readable, file-name-safe suffix (``region-华东``), ``""`` when empty."""
        parts = []
        for c, v in self.columns:
            vals = "+".join(_safe(str(x)) for x in v[:3]) + ("+…" if len(v) > 3 else "")
            parts.append(f"{_safe(c)}-{vals}")
        if self.where is not None:
            parts.append("where-" + hashlib.sha256(self.where.encode()).hexdigest()[:8])
        return "__".join(parts)[:120]

    def describe(self, lang: str = "en") -> str:
        """The filter in words for a report header (``Region: 华东; Segment: Key account``)."""
        parts = [
            f"{label(c, lang)}: {', '.join(label(x, lang) for x in v)}" for c, v in self.columns
        ]
        if self.where is not None:
            parts.append(self.where)
        return "; ".join(parts)


#: What every ``filters=`` argument accepts.
FilterLike = FilterSpec | Mapping[str, Any] | str | None


def _safe(text: str) -> str:
    """Characters safe in a folder name on every platform (CJK kept, separators replaced)."""
    return re.sub(r"[^\w.-]+", "_", text, flags=re.UNICODE).strip("._") or "_"


def _isin(values: pd.Series, wanted: tuple[Any, ...]) -> np.ndarray:
    """``values.isin(wanted)``, typed text read as the column's type (``"1"`` matches ``1``)."""
    probe = pd.Index(list(wanted), dtype=object)
    with contextlib.suppress(TypeError, ValueError):  # keep object values the column can't hold
        probe = probe.astype(values.dtype)
    return np.asarray(values.isin(probe), dtype=bool)
