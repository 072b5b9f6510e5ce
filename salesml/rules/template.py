"""Bounded phrase templates: ``{column}`` and ``{column:spec}`` filled from a row, nothing else.

Phrases in rule files (``signals.yaml``, reason phrases, reminder messages) quote a
deal's values: ``"no activity for {days_since_activity:.0f} days"``. They are read
from files users edit, so they are parsed here by a whitelist instead of being
handed to :meth:`str.format`:

- a field is one name (``{amount}``; Chinese names are fine); no attribute access
  (``{x.__class__}``), no indexing (``{x[0]}``), no positional fields (``{}``, ``{0}``),
  no conversions (``{x!r}``), no nested fields (``{x:{width}}``);
- the format spec follows Python's mini-language (``[[fill]align][sign][z][#][0]
  [width][,|_][.precision][type]``, type one of ``s d f F e E g G %``) with width at most
  :data:`MAX_WIDTH` and precision at most :data:`MAX_PRECISION`;
- ``{{`` and ``}}`` write literal braces;
- a rendered value longer than :data:`MAX_FIELD_CHARS` characters is cut with ``…``; a
  missing value renders as ``?``; a value the spec does not fit (text with ``.0f``)
  renders as plain text.

So the output of one row is at most the template plus :data:`MAX_FIELD_CHARS` per
field. A malformed template raises :class:`TemplateError` (an
:class:`~salesml.rules.expr.ExpressionError`) pointing at the offending character.

Examples
--------
>>> render_template("plan revised {n:.0f} times", {"n": 4.0})
'plan revised 4 times'
>>> render_template("金额 ¥{amount:,.0f}", {"amount": 1234567})
'金额 ¥1,234,567'
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from salesml.rules._base import ExpressionError, shorten
from salesml.rules._grammar import suggest

__all__ = [
    "MAX_FIELDS",
    "MAX_FIELD_CHARS",
    "MAX_PRECISION",
    "MAX_TEMPLATE_LENGTH",
    "MAX_WIDTH",
    "TemplateError",
    "check_template",
    "render_template",
    "render_template_column",
]

#: Longest template, in characters.
MAX_TEMPLATE_LENGTH = 2000
#: Most ``{fields}`` in one template.
MAX_FIELDS = 50
#: Largest width in a format spec (``{x:>40}``).
MAX_WIDTH = 40
#: Largest precision in a format spec (``{x:.10f}``).
MAX_PRECISION = 10
#: Longest rendering of one field, in characters.
MAX_FIELD_CHARS = 200

_SPEC = re.compile(
    r"(?:(?P<fill>[^{}])?(?P<align>[<>=^]))?(?P<sign>[-+ ])?z?#?0?(?P<width>\d+)?[,_]?"
    r"(?:\.(?P<precision>\d+))?(?P<type>[sdfFeEgG%])?\Z",
    re.DOTALL,
)


class TemplateError(ExpressionError):
    """A phrase template is malformed or asks for more than the limits allow."""


@dataclass(frozen=True)
class _Field:
    name: str
    spec: str


@lru_cache(maxsize=512)
def _parse(template: str) -> tuple[str | _Field, ...]:
    """Split ``template`` into literal text and fields; raise :class:`TemplateError`."""
    if len(template) > MAX_TEMPLATE_LENGTH:
        raise TemplateError(
            f"phrase is too long ({len(template):,} characters; limit {MAX_TEMPLATE_LENGTH:,})"
        )
    pieces: list[str | _Field] = []
    buf: list[str] = []
    fields = 0
    i, n = 0, len(template)
    while i < n:
        ch = template[i]
        if ch == "}":
            if template.startswith("}}", i):
                buf.append("}")
                i += 2
                continue
            raise TemplateError("a single '}' (write '}}' for a brace)", template, i)
        if ch != "{":
            buf.append(ch)
            i += 1
            continue
        if template.startswith("{{", i):
            buf.append("{")
            i += 2
            continue
        close = template.find("}", i + 1)
        inner = template[i + 1 : close] if close >= 0 else template[i + 1 :]
        nested = inner.find("{")
        if nested >= 0:
            raise TemplateError(
                "fields cannot contain '{' (no nested fields)", template, i + 1 + nested
            )
        if close < 0:
            raise TemplateError("'{' is not closed by '}' (write '{{' for a brace)", template, i)
        fields += 1
        if fields > MAX_FIELDS:
            raise TemplateError(f"phrase has too many fields (limit {MAX_FIELDS})", template, i)
        if buf:
            pieces.append("".join(buf))
            buf = []
        pieces.append(_field(template, inner, i + 1))
        i = close + 1
    if buf:
        pieces.append("".join(buf))
    return tuple(pieces)


def _field(template: str, inner: str, at: int) -> _Field:
    name, _, spec = inner.partition(":")
    length = max(1, len(name))
    for ch, what in (
        ("!", "conversions ('!r', '!s') are"),
        (".", "attribute access ('.') is"),
        ("[", "indexing ('[...]') is"),
    ):
        if ch in name:
            raise TemplateError(
                f"{what} not allowed in a phrase; write {{column}} or {{column:.0f}}",
                template,
                at + name.index(ch),
            )
    if not name.strip():
        raise TemplateError(
            "empty field '{}': name a column, e.g. {amount}", template, at - 1, length=2
        )
    if not name.isidentifier():
        raise TemplateError(
            f"field {name!r} must be one column name (letters, digits, '_'; no spaces)",
            template,
            at,
            length=length,
        )
    m = _SPEC.match(spec)
    if m is None:
        raise TemplateError(
            f"format {spec!r} is not allowed; use e.g. .0f, ,.0f, .1%, >8",
            template,
            at + len(name) + 1,
            length=max(1, len(spec)),
        )
    width, precision = m.group("width"), m.group("precision")
    if width is not None and (len(width) > 3 or int(width) > MAX_WIDTH):
        raise TemplateError(
            f"width {shorten(width, 12)} is too large (limit {MAX_WIDTH})",
            template,
            at + len(name) + 1 + spec.index(width),
            length=len(width),
        )
    if precision is not None and (len(precision) > 3 or int(precision) > MAX_PRECISION):
        raise TemplateError(
            f"precision {shorten(precision, 12)} is too large (limit {MAX_PRECISION})",
            template,
            at + len(name) + 1 + spec.index("." + precision) + 1,
            length=len(precision),
        )
    return _Field(name, spec)


def check_template(template: str, *, names: Collection[str] | None = None) -> tuple[str, ...]:
    """Validate ``template`` and return the names of its fields, in order.

    Parameters
    ----------
    template
        The phrase.
    names
        If given, the only field names allowed (e.g. the columns of the table).

    Raises
    ------
    TemplateError
        For anything outside the rules of this module, or a field not in ``names``.
    """
    if not isinstance(template, str):
        raise TemplateError(f"a phrase must be text, got {type(template).__name__}")
    fields = [p for p in _parse(template) if isinstance(p, _Field)]
    if names is not None:
        allowed = set(names)
        for f in fields:
            if f.name not in allowed:
                at = template.find("{" + f.name) + 1
                raise TemplateError(
                    f"unknown field {f.name!r}{suggest(f.name, sorted(allowed))}",
                    template,
                    at,
                    length=len(f.name),
                )
    return tuple(dict.fromkeys(f.name for f in fields))


def _is_missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, float | np.floating):
        return math.isnan(value)
    if isinstance(value, np.datetime64 | np.timedelta64):
        return bool(np.isnat(value))
    return False


def _format(value: Any, spec: str, missing: str) -> str:
    if _is_missing(value):
        return missing
    try:
        out = format(value, spec)
    except (TypeError, ValueError, OverflowError):
        try:
            out = str(value)
        except Exception:
            return missing
    return shorten(out, MAX_FIELD_CHARS)


def render_template(
    template: str,
    values: Mapping[str, Any] | pd.Series,
    *,
    names: Collection[str] | None = None,
    missing: str = "?",
) -> str:
    """Fill ``{name}`` / ``{name:spec}`` fields of ``template`` from ``values``.

    Parameters
    ----------
    template
        The phrase (see the module docstring for what a field may be).
    values
        Field name -> value (a dict or a row as a Series); names it lacks render as
        ``missing``.
    names
        If given, the only field names allowed.
    missing
        Text for a missing value.

    Returns
    -------
    str
        At most ``len(template) + MAX_FIELD_CHARS`` characters per field.

    Raises
    ------
    TemplateError
        If the template is malformed or exceeds a limit.
    """
    check_template(template, names=names)
    out: list[str] = []
    for piece in _parse(template):
        if isinstance(piece, str):
            out.append(piece)
        else:
            out.append(_format(values.get(piece.name), piece.spec, missing))
    return "".join(out)


def render_template_column(template: str, frame: pd.DataFrame, *, missing: str = "?") -> pd.Series:
    """:func:`render_template` for every row of ``frame`` (each distinct value formatted once).

    Returns
    -------
    pandas.Series
        Text, indexed like ``frame``; fields naming no column render as ``missing``.
    """
    check_template(template)
    out = pd.Series("", index=frame.index, dtype="str")
    for piece in _parse(template):
        if isinstance(piece, str):
            out = out + piece
            continue
        if piece.name not in frame.columns:
            out = out + missing
            continue
        col = frame[piece.name]
        if isinstance(col, pd.DataFrame):
            col = col.iloc[:, 0]
        codes, uniques = pd.factorize(col, use_na_sentinel=True)
        shown = [_format(u, piece.spec, missing) for u in uniques] + [missing]
        rendered = np.asarray(shown, dtype=object)[codes]
        out = out + pd.Series(rendered, index=frame.index, dtype="str")
    return out
