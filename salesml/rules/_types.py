"""What kinds of values the rule grammar knows, and which operators and functions take which.

One table serves both the compile-time check (when literals or column types are
known) and the evaluator, so ``"a" * 1000000000`` is refused while compiling and
``kind * 6000`` (a text column) before any work is done on the rows.

Kinds: ``number`` (integers, floats; true/false counts as 1/0 in arithmetic),
``bool``, ``text``, ``datetime``, ``timedelta``, ``null`` (``None`` or a column
with no values), ``other`` (anything else: mixed columns, Python dates, ...).
``None`` as a kind means "not known before the data is seen".
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "FUNCTIONS",
    "LITERAL_ARGS",
    "SIGNATURES",
    "KindError",
    "binary_kind",
    "call_kind",
    "compare_check",
    "describe",
    "kind_of",
    "kind_of_dtype",
    "unary_kind",
]

Kind = str | None

_DESCRIBE = {
    "number": "a number",
    "bool": "a true/false value",
    "text": "text",
    "datetime": "a date",
    "timedelta": "a time difference",
    "null": "a missing value (None)",
    "other": "a mix of values rules cannot use (e.g. text and numbers)",
}


class KindError(Exception):
    """An operator or function does not take this kind of value (message for a manager)."""


def describe(kind: Kind) -> str:
    """``'text'`` -> ``'text'``, ``'number'`` -> ``'a number'`` (for messages)."""
    return _DESCRIBE.get(kind or "", "a value")


# ---------------------------------------------------------------------- kinds of values
def kind_of_dtype(dtype: Any) -> Kind:
    """The kind of a column of this dtype, ``None`` if only the values can tell (object)."""
    try:
        dtype = pd.api.types.pandas_dtype(dtype)
    except (TypeError, ValueError):
        return None
    if isinstance(dtype, pd.CategoricalDtype):
        return kind_of_dtype(dtype.categories.dtype) if dtype.categories is not None else None
    if pd.api.types.is_object_dtype(dtype):
        return None
    if pd.api.types.is_bool_dtype(dtype):
        return "bool"
    if pd.api.types.is_numeric_dtype(dtype):
        return "number"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime"
    if pd.api.types.is_timedelta64_dtype(dtype):
        return "timedelta"
    if pd.api.types.is_string_dtype(dtype):
        return "text"
    return "other"


_INFERRED = {
    "string": "text",
    "empty": "null",
    "boolean": "bool",
    "integer": "number",
    "floating": "number",
    "mixed-integer-float": "number",
    "decimal": "number",
    "datetime": "datetime",
    "datetime64": "datetime",
    "timedelta": "timedelta",
    "timedelta64": "timedelta",
}


def kind_of(value: Any) -> str:
    """The kind of a scalar or a Series (object columns are inspected, in C, once)."""
    if isinstance(value, pd.Series):
        dtype = value.dtype
        values: Any = dtype.categories if isinstance(dtype, pd.CategoricalDtype) else value
        kind = kind_of_dtype(values.dtype)
        if kind is None:
            kind = _INFERRED.get(pd.api.types.infer_dtype(values, skipna=True), "other")
        return kind
    if value is None or value is pd.NA or value is pd.NaT:
        return "null"
    if isinstance(value, bool | np.bool_):
        return "bool"
    if isinstance(value, int | float | np.integer | np.floating):
        return "number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, pd.Timestamp | _dt.datetime | np.datetime64):
        return "datetime"
    if isinstance(value, pd.Timedelta | _dt.timedelta | np.timedelta64):
        return "timedelta"
    return "other"


# ---------------------------------------------------------------------- operators
_NUM = ("number", "bool")

#: (operator, left kind, right kind) -> result kind; true/false counts as a number.
_BINARY: dict[tuple[str, str, str], str] = {}
for _a in _NUM:
    for _b in _NUM:
        for _op in "+-*/%":
            _BINARY[(_op, _a, _b)] = "number"
    _BINARY[("*", "timedelta", _a)] = "timedelta"
    _BINARY[("*", _a, "timedelta")] = "timedelta"
    _BINARY[("/", "timedelta", _a)] = "timedelta"
_BINARY.update(
    {
        ("+", "text", "text"): "text",
        ("+", "datetime", "timedelta"): "datetime",
        ("+", "timedelta", "datetime"): "datetime",
        ("+", "timedelta", "timedelta"): "timedelta",
        ("-", "datetime", "datetime"): "timedelta",
        ("-", "datetime", "timedelta"): "datetime",
        ("-", "timedelta", "timedelta"): "timedelta",
        ("/", "timedelta", "timedelta"): "number",
    }
)

_WHAT = {
    "+": "'+' adds numbers, joins two texts, or adds a time difference to a date",
    "-": "'-' subtracts numbers, dates or time differences",
    "*": "'*' multiplies numbers (or a time difference by a number); text cannot be repeated",
    "/": "'/' divides numbers or time differences",
    "%": "'%' is the remainder of a division of numbers; it does not format text",
}


def binary_kind(op: str, left: Kind, right: Kind) -> Kind:
    """Result kind of ``left op right``; raise :class:`KindError` if refused.

    Unknown kinds (``None``) pass unless the other side already rules the operator
    out (text with ``*`` or ``%`` is refused whatever the other side is).
    """
    if op in "*%" and "text" in (left, right):
        raise KindError(_WHAT[op])
    if "null" in (left, right):
        raise KindError(f"None (a missing value) cannot be used with {op!r}; use fillna(x, 0)")
    if left is None or right is None:
        return None
    kind = _BINARY.get((op, left, right))
    if kind is None:
        raise KindError(f"cannot use {op!r} on {describe(left)} and {describe(right)}: {_WHAT[op]}")
    return kind


def unary_kind(op: str, operand: Kind) -> Kind:
    """Result kind of ``-x`` / ``+x``."""
    if operand is None:
        return None
    if operand in _NUM:
        return "number"
    if operand == "timedelta":
        return "timedelta"
    raise KindError(f"{op!r} in front of a value needs a number, got {describe(operand)}")


_ORDERED = {
    "number": {"number", "bool"},
    "bool": {"number", "bool"},
    "text": {"text", "datetime"},
    "datetime": {"datetime", "text"},
    "timedelta": {"timedelta"},
}


def compare_check(op: str, left: Kind, right: Kind, *, literal_text: bool = True) -> None:
    """Refuse ordering comparisons (``<`` ...) between kinds that have no order together.

    ``==`` / ``!=`` accept any kinds (different kinds are simply not equal). A date
    may be compared with text only when the text is written in the expression
    (``t0 >= "2026-01-02"``; ``literal_text``), not with a text column.
    """
    if op in ("==", "!=") or left is None or right is None:
        return
    if "null" in (left, right):
        raise KindError(f"cannot compare with None using {op!r}; use isnull(x) / notnull(x)")
    ok = right in _ORDERED.get(left, set())
    if ok and {left, right} == {"text", "datetime"} and not literal_text:
        ok = False
    if not ok:
        raise KindError(f"cannot compare {describe(left)} with {describe(right)} using {op!r}")


# ---------------------------------------------------------------------- functions
def _td_seconds(x: pd.Series) -> pd.Series:
    return x.dt.total_seconds()


def _fillna(x: pd.Series, v: Any) -> pd.Series:
    if isinstance(v, float) and pd.api.types.is_integer_dtype(x.dtype):
        x = x.astype("float64")
    return x.fillna(v)


#: Whitelisted functions: name -> (number of arguments, implementation, one-line help).
#: Implementations receive checked, column-shaped arguments (the evaluator converts
#: and checks them first, see :data:`SIGNATURES`).
FUNCTIONS: dict[str, tuple[int, Callable[..., Any], str]] = {
    "isnull": (1, lambda x: x.isna(), "True where the value is missing"),
    "notnull": (1, lambda x: x.notna(), "True where the value is present"),
    "abs": (1, lambda x: x.abs(), "absolute value"),
    "log1p": (1, np.log1p, "log(1 + x)"),
    "sqrt": (1, np.sqrt, "square root"),
    "days": (1, lambda x: _td_seconds(x) / 86400.0, "a time difference in days"),
    "hours": (1, lambda x: _td_seconds(x) / 3600.0, "a time difference in hours"),
    "minutes": (1, lambda x: _td_seconds(x) / 60.0, "a time difference in minutes"),
    "lower": (1, lambda x: x.str.lower(), "text in lower case"),
    "upper": (1, lambda x: x.str.upper(), "text in upper case"),
    "len": (1, lambda x: x.str.len(), "length of a text"),
    "contains": (
        2,
        lambda x, s: x.str.contains(s, regex=False, na=False),
        'text contains a piece written in quotes, e.g. contains(note, "urgent")',
    ),
    "startswith": (
        2,
        lambda x, s: x.str.startswith(s, na=False),
        "text starts with a quoted piece",
    ),
    "endswith": (2, lambda x, s: x.str.endswith(s, na=False), "text ends with a quoted piece"),
    "fillna": (2, _fillna, "replace missing values with a literal, e.g. fillna(x, 0)"),
    "month": (1, lambda x: x.dt.month, "month number (1-12) of a date"),
    "weekday": (1, lambda x: x.dt.day_of_week, "day of week (0 = Monday) of a date"),
    "hour": (1, lambda x: x.dt.hour, "hour of day of a date/time"),
}

#: name -> (kinds the first argument may have, result kind); ``"same"`` keeps the kind.
SIGNATURES: dict[str, tuple[tuple[str, ...], str]] = {
    "isnull": (("*",), "bool"),
    "notnull": (("*",), "bool"),
    "abs": (("number", "bool", "timedelta"), "same"),
    "log1p": (("number", "bool"), "number"),
    "sqrt": (("number", "bool"), "number"),
    "days": (("timedelta",), "number"),
    "hours": (("timedelta",), "number"),
    "minutes": (("timedelta",), "number"),
    "lower": (("text",), "text"),
    "upper": (("text",), "text"),
    "len": (("text",), "number"),
    "contains": (("text",), "bool"),
    "startswith": (("text",), "bool"),
    "endswith": (("text",), "bool"),
    "fillna": (("number", "bool", "text", "datetime", "null"), "same"),
    "month": (("datetime",), "number"),
    "weekday": (("datetime",), "number"),
    "hour": (("datetime",), "number"),
}

#: Arguments that must be written as literals: name -> {position: "text" | "literal"}.
LITERAL_ARGS: dict[str, dict[int, str]] = {
    "contains": {1: "text"},
    "startswith": {1: "text"},
    "endswith": {1: "text"},
    "fillna": {1: "literal"},
}

_WANTS = {
    "number": "numbers",
    "text": "a text column",
    "datetime": "a date/time column",
    "timedelta": "a time difference (e.g. a - b of dates)",
}

_FILL_OK = {
    "number": {"number", "bool"},
    "bool": {"bool"},
    "text": {"text"},
    "datetime": {"text"},
}


def call_kind(name: str, arg: Kind, fill: Kind = None) -> Kind:
    """Result kind of ``name(arg, ...)``; raise :class:`KindError` if refused.

    ``fill`` is the kind of ``fillna``'s literal.
    """
    accepted, result = SIGNATURES[name]
    if arg is None:
        return None if result == "same" else result
    if accepted != ("*",) and arg not in accepted:
        wants = " or ".join(_WANTS[k] for k in accepted if k not in ("bool", "null"))
        raise KindError(f"{name}() needs {wants}, got {describe(arg)}")
    if name == "fillna":
        if arg == "null":
            return fill
        if fill not in _FILL_OK[arg]:
            how = "a date written as text" if arg == "datetime" else describe(arg)
            raise KindError(
                f"fillna() of {describe(arg)} needs {how} to fill in, got {describe(fill)}"
            )
    if result == "same":
        return "number" if arg == "bool" and name == "abs" else arg
    return result
