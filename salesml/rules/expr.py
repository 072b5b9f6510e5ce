"""Safe rule expressions: a whitelisted grammar compiled to vectorised pandas masks.

Users write filters and rules such as ``kind == "visit" and duration_min >= 30``.
The text is parsed with Python's :mod:`ast` module and every node is checked
against a strict whitelist before anything is evaluated; the checked tree is
then evaluated column-wise on a DataFrame. Nothing is ever passed to ``eval`` or
``exec``.

Grammar
-------
- literals: strings (``"visit"``), numbers (``30``, ``2.5``), ``True``, ``False``, ``None``;
- column names of the frame the expression is evaluated on (``duration_min``);
- comparisons ``==  !=  <  <=  >  >=`` (chains such as ``0 < x <= 5`` allowed);
- membership ``x in ["a", "b"]`` / ``x not in (1, 2)`` with a list or tuple of literals;
- boolean ``and``, ``or``, ``not``;
- arithmetic ``+ - * / %`` and unary ``-`` / ``+``;
- the functions in :data:`FUNCTIONS`: ``isnull(x)``, ``notnull(x)``, ``abs(x)``,
  ``log1p(x)``, ``sqrt(x)``, ``days(x)`` / ``hours(x)`` / ``minutes(x)`` (a time
  difference in days, hours, minutes), ``lower(x)``, ``upper(x)``, ``len(x)``,
  ``contains(x, "text")``, ``startswith(x, "text")``, ``endswith(x, "text")``,
  ``fillna(x, literal)``, ``month(x)``, ``weekday(x)``, ``hour(x)``.

Missing values: a comparison or membership test involving a missing value is
``False`` (``x != 3`` is ``False`` where ``x`` is missing); test for missing
values explicitly with ``isnull(x)``. ``x == None`` means ``isnull(x)``.

Everything else (attribute access, subscripts, other calls, dunder names,
imports, lambdas, comprehensions, f-strings, ``:=``, ``*x``, ``**``, ``//``,
conditional expressions) is refused with :class:`ExpressionError`, whose message
points at the offending part with a caret line. Input longer than
:data:`MAX_LENGTH` characters or nested deeper than :data:`MAX_DEPTH` is refused.

Examples
--------
>>> import pandas as pd
>>> df = pd.DataFrame({"kind": ["visit", "call"], "duration_min": [45.0, 5.0]})
>>> mask(df, 'kind == "visit" and duration_min >= 30').tolist()
[True, False]
>>> compile_expr("duration_min / 60").columns
('duration_min',)
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "FUNCTIONS",
    "MAX_DEPTH",
    "MAX_LENGTH",
    "Expr",
    "ExpressionError",
    "compile_expr",
    "mask",
]

#: Longest accepted expression, in characters.
MAX_LENGTH = 2000
#: Deepest accepted nesting of the syntax tree (and of brackets in the text).
MAX_DEPTH = 50


class ExpressionError(ValueError):
    """A rule expression is malformed, uses something outside the grammar, or fails.

    Attributes
    ----------
    text
        The expression as given.
    offset
        0-based character offset of the offending part in ``text`` (``None`` if
        the whole expression is at fault).
    reason
        The message without the caret display.
    """

    def __init__(self, reason: str, text: str = "", offset: int | None = None) -> None:
        self.reason = reason
        self.text = text
        self.offset = offset
        super().__init__(self._render())

    def _render(self) -> str:
        if self.offset is None or not self.text or len(self.text) > 300:
            return self.reason
        # Show the line holding the offset and a caret under the offending part.
        start = self.text.rfind("\n", 0, self.offset) + 1
        end = self.text.find("\n", self.offset)
        line = self.text[start : end if end >= 0 else None]
        col = self.offset - start
        return f"{self.reason} (at column {col + 1})\n  {line}\n  {' ' * col}^"


# ---------------------------------------------------------------------- functions
def _num(x: Any) -> Any:
    return pd.to_numeric(x) if isinstance(x, pd.Series) and x.dtype == object else x


def _isnull(x: Any) -> Any:
    return x.isna() if isinstance(x, pd.Series) else pd.isna(x)


def _notnull(x: Any) -> Any:
    return x.notna() if isinstance(x, pd.Series) else not pd.isna(x)


def _td_seconds(x: Any) -> Any:
    if isinstance(x, pd.Series):
        if not pd.api.types.is_timedelta64_dtype(x):
            raise TypeError(f"expects a time difference (e.g. a - b of dates), got {x.dtype}")
        return x.dt.total_seconds()
    if isinstance(x, pd.Timedelta):
        return x.total_seconds()
    raise TypeError("expects a time difference (e.g. a - b of dates)")


def _str(x: Any) -> Any:
    if isinstance(x, pd.Series):
        if not (pd.api.types.is_string_dtype(x) or x.dtype == object):
            raise TypeError(f"expects a text column, got {x.dtype}")
        return x.str
    raise TypeError("expects a text column")


def _dt(x: Any) -> Any:
    if isinstance(x, pd.Series) and pd.api.types.is_datetime64_any_dtype(x):
        return x.dt
    raise TypeError("expects a date/time column")


def _text_arg(s: Any) -> str:
    if not isinstance(s, str):
        raise TypeError("the second argument must be a text literal")
    return s


def _fillna(x: Any, v: Any) -> Any:
    if isinstance(x, pd.Series):
        return x.fillna(v)
    return v if pd.isna(x) else x


def _abs(x: Any) -> Any:
    return np.abs(x)


def _log1p(x: Any) -> Any:
    return np.log1p(x)


def _sqrt(x: Any) -> Any:
    return np.sqrt(x)


def _len(x: Any) -> Any:
    return _str(x).len() if isinstance(x, pd.Series) else len(x)


#: Whitelisted functions: name -> (number of arguments, implementation, one-line help).
FUNCTIONS: dict[str, tuple[int, Callable[..., Any], str]] = {
    "isnull": (1, _isnull, "True where the value is missing"),
    "notnull": (1, _notnull, "True where the value is present"),
    "abs": (1, _abs, "absolute value"),
    "log1p": (1, _log1p, "log(1 + x)"),
    "sqrt": (1, _sqrt, "square root"),
    "days": (1, lambda x: _td_seconds(x) / 86400.0, "a time difference in days"),
    "hours": (1, lambda x: _td_seconds(x) / 3600.0, "a time difference in hours"),
    "minutes": (1, lambda x: _td_seconds(x) / 60.0, "a time difference in minutes"),
    "lower": (1, lambda x: _str(x).lower(), "text in lower case"),
    "upper": (1, lambda x: _str(x).upper(), "text in upper case"),
    "len": (1, _len, "length of a text"),
    "contains": (
        2,
        lambda x, s: _str(x).contains(_text_arg(s), regex=False, na=False),
        "text contains a literal piece",
    ),
    "startswith": (
        2,
        lambda x, s: _str(x).startswith(_text_arg(s), na=False),
        "text starts with",
    ),
    "endswith": (2, lambda x, s: _str(x).endswith(_text_arg(s), na=False), "text ends with"),
    "fillna": (2, _fillna, "replace missing values with a literal"),
    "month": (1, lambda x: _dt(x).month, "month number (1-12) of a date"),
    "weekday": (1, lambda x: _dt(x).day_of_week, "day of week (0 = Monday) of a date"),
    "hour": (1, lambda x: _dt(x).hour, "hour of day of a date/time"),
}

_CMP_SYMBOL = {
    ast.Eq: "==",
    ast.NotEq: "!=",
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
    ast.In: "in",
    ast.NotIn: "not in",
}
_BIN_SYMBOL = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Mod: "%"}

_REFUSED = {
    ast.Attribute: "attribute access ('.') is not allowed",
    ast.Subscript: "subscripts ('[...]') are not allowed",
    ast.Lambda: "lambda is not allowed",
    ast.ListComp: "comprehensions are not allowed",
    ast.SetComp: "comprehensions are not allowed",
    ast.DictComp: "comprehensions are not allowed",
    ast.GeneratorExp: "generator expressions are not allowed",
    ast.JoinedStr: "f-strings are not allowed",
    ast.FormattedValue: "f-strings are not allowed",
    ast.NamedExpr: "assignment (':=') is not allowed",
    ast.Starred: "starred expressions ('*x') are not allowed",
    ast.IfExp: "conditional expressions ('a if c else b') are not allowed",
    ast.Await: "await is not allowed",
    ast.Yield: "yield is not allowed",
    ast.YieldFrom: "yield is not allowed",
    ast.Dict: "dict literals are not allowed",
    ast.Set: "set literals are not allowed; use a list: x in [1, 2]",
    ast.Slice: "slices are not allowed",
}


# ---------------------------------------------------------------------- checking
def _offset(text: str, node: ast.AST) -> int | None:
    """Character offset of ``node`` in ``text`` (ast offsets are UTF-8 bytes per line)."""
    lineno = getattr(node, "lineno", None)
    col = getattr(node, "col_offset", None)
    if lineno is None or col is None:
        return None
    lines = text.split("\n")
    if lineno - 1 >= len(lines):
        return None
    line = lines[lineno - 1]
    chars = len(line.encode("utf-8")[:col].decode("utf-8", errors="ignore"))
    return sum(len(x) + 1 for x in lines[: lineno - 1]) + chars


@dataclass
class _At:
    lineno: int
    col_offset: int


def _is_literal(node: ast.AST) -> bool:
    if isinstance(node, ast.Constant):
        return node.value is None or isinstance(node.value, str | int | float | bool)
    return (
        isinstance(node, ast.UnaryOp)
        and isinstance(node.op, ast.USub | ast.UAdd)
        and isinstance(node.operand, ast.Constant)
        and isinstance(node.operand.value, int | float)
        and not isinstance(node.operand.value, bool)
    )


def _literal_value(node: ast.AST) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    assert isinstance(node, ast.UnaryOp) and isinstance(node.operand, ast.Constant)
    v = node.operand.value
    return -v if isinstance(node.op, ast.USub) else v


class _Checker:
    """Walk the tree once, refuse anything off the whitelist, collect column names."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.columns: list[str] = []

    def fail(self, reason: str, node: ast.AST) -> ExpressionError:
        off = _offset(self.text, node)
        if isinstance(node, ast.Attribute) and node.end_col_offset is not None:
            # Point at the '.attr' rather than the start of the chain.
            end = _offset(self.text, _At(node.end_lineno or 1, node.end_col_offset))
            if end is not None:
                off = max(end - len(node.attr) - 1, 0)
        return ExpressionError(reason, self.text, off)

    def visit(self, node: ast.AST, depth: int = 0) -> None:
        if depth > MAX_DEPTH:
            raise self.fail(f"expression is nested too deeply (limit {MAX_DEPTH})", node)
        d = depth + 1
        if isinstance(node, ast.Constant):
            if not (node.value is None or isinstance(node.value, str | int | float | bool)):
                raise self.fail(f"literal of type {type(node.value).__name__} is not allowed", node)
        elif isinstance(node, ast.Name):
            if node.id.startswith("_"):
                raise self.fail(f"names starting with '_' are not allowed: {node.id!r}", node)
            if node.id in FUNCTIONS:
                raise self.fail(f"{node.id!r} is a function: call it, e.g. {node.id}(x)", node)
            if node.id not in self.columns:
                self.columns.append(node.id)
        elif isinstance(node, ast.BoolOp):
            for v in node.values:
                self.visit(v, d)
        elif isinstance(node, ast.UnaryOp):
            if not isinstance(node.op, ast.Not | ast.USub | ast.UAdd):
                raise self.fail("operator '~' is not allowed; use 'not'", node)
            self.visit(node.operand, d)
        elif isinstance(node, ast.BinOp):
            if type(node.op) not in _BIN_SYMBOL:
                sym = {
                    ast.Pow: "**",
                    ast.FloorDiv: "//",
                    ast.MatMult: "@",
                    ast.BitAnd: "&",
                    ast.BitOr: "|",
                    ast.BitXor: "^",
                    ast.LShift: "<<",
                    ast.RShift: ">>",
                }
                op = sym.get(type(node.op), type(node.op).__name__)
                raise self.fail(
                    f"operator {op!r} is not allowed (allowed: + - * / %, and/or/not)", node
                )
            self.visit(node.left, d)
            self.visit(node.right, d)
        elif isinstance(node, ast.Compare):
            self.visit(node.left, d)
            for op, right in zip(node.ops, node.comparators, strict=True):
                if type(op) not in _CMP_SYMBOL:
                    raise self.fail("'is' / 'is not' are not allowed; use isnull(x)", right)
                if isinstance(op, ast.In | ast.NotIn):
                    if not isinstance(right, ast.List | ast.Tuple):
                        raise self.fail(
                            '\'in\' needs a list or tuple of literals, e.g. x in ["a", "b"]',
                            right,
                        )
                    for elt in right.elts:
                        if not _is_literal(elt):
                            raise self.fail("'in' lists may hold only literals", elt)
                else:
                    self.visit(right, d)
        elif isinstance(node, ast.Call):
            if isinstance(node.func, ast.Attribute):
                raise self.fail(
                    "attribute access ('.') and method calls are not allowed", node.func
                )
            if not isinstance(node.func, ast.Name):
                raise self.fail("only the named functions may be called", node.func)
            name = node.func.id
            if name not in FUNCTIONS:
                raise self.fail(
                    f"function {name!r} is not allowed (allowed: {', '.join(sorted(FUNCTIONS))})",
                    node.func,
                )
            if node.keywords:
                raise self.fail("keyword arguments are not allowed", node.keywords[0].value)
            nargs = FUNCTIONS[name][0]
            if len(node.args) != nargs:
                raise self.fail(f"{name}() takes {nargs} argument(s), got {len(node.args)}", node)
            for a in node.args:
                self.visit(a, d)
        elif isinstance(node, ast.List | ast.Tuple):
            raise self.fail("lists and tuples are only allowed after 'in' / 'not in'", node)
        else:
            reason = _REFUSED.get(type(node), f"{type(node).__name__} is not allowed")
            raise self.fail(reason, node)


def _bracket_depth(text: str) -> int:
    depth = best = 0
    quote: str | None = None
    for ch in text:
        if quote:
            if ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
        elif ch in "([{":
            depth += 1
            best = max(best, depth)
        elif ch in ")]}":
            depth -= 1
    return best


# ---------------------------------------------------------------------- evaluation
def _null_mask(x: Any) -> Any:
    if isinstance(x, pd.Series):
        return x.isna().to_numpy()
    return bool(pd.isna(x)) if not isinstance(x, list | tuple) else False


def _as_bool(x: Any, index: pd.Index) -> pd.Series:
    """A boolean Series (missing -> False) from a Series or a scalar."""
    if isinstance(x, pd.Series):
        if x.dtype == bool:
            return x
        if pd.api.types.is_bool_dtype(x) or x.dtype == object:
            return x.fillna(False).astype(bool)
        return x.fillna(0).astype(bool)
    return pd.Series(bool(x) if not pd.isna(x) else False, index=index, dtype=bool)


def _compare(op: ast.cmpop, left: Any, right: Any, index: pd.Index) -> pd.Series:
    if isinstance(op, ast.Eq | ast.NotEq) and (
        (isinstance(right, type(None))) or (isinstance(left, type(None)))
    ):
        other = left if right is None else right
        res = _isnull(other)
        if isinstance(op, ast.NotEq):
            res = ~res if isinstance(res, pd.Series) else not res
        return _as_bool(res, index)
    if isinstance(op, ast.In | ast.NotIn):
        values = list(right)
        if isinstance(left, pd.Series):
            res = left.isin(values)
            res = _as_bool(res, index)
            if isinstance(op, ast.NotIn):
                res = ~res
            return res & ~pd.Series(_null_mask(left), index=index)
        hit = left in values
        ok = not pd.isna(left)
        return _as_bool(ok and (hit if isinstance(op, ast.In) else not hit), index)
    func = {
        ast.Eq: lambda a, b: a == b,
        ast.NotEq: lambda a, b: a != b,
        ast.Lt: lambda a, b: a < b,
        ast.LtE: lambda a, b: a <= b,
        ast.Gt: lambda a, b: a > b,
        ast.GtE: lambda a, b: a >= b,
    }[type(op)]
    res = _as_bool(func(left, right), index)
    nulls = np.logical_or(_null_mask(left), _null_mask(right))
    if np.any(nulls):
        res = res & ~pd.Series(np.broadcast_to(nulls, (len(index),)), index=index)
    return res


@dataclass(frozen=True)
class Expr:
    """A validated rule expression, ready to evaluate on DataFrames.

    Build with :func:`compile_expr`; do not construct directly.

    Attributes
    ----------
    text
        The expression as written.
    columns
        Column names the expression reads, in order of first use.
    """

    text: str
    tree: ast.Expression
    columns: tuple[str, ...]

    def check_columns(self, available: Iterable[str], *, table: str | None = None) -> None:
        """Raise :class:`ExpressionError` if a column used is not in ``available``.

        The message points at the first unknown name and lists the available columns.
        """
        avail = [str(c) for c in available]
        have = set(avail)
        funcs = {id(n.func) for n in ast.walk(self.tree) if isinstance(n, ast.Call)}
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Name) and id(node) not in funcs and node.id not in have:
                where = f" of table {table!r}" if table else ""
                shown = ", ".join(avail[:60]) + (" ..." if len(avail) > 60 else "")
                raise ExpressionError(
                    f"unknown column {node.id!r}; available columns{where}: {shown}",
                    self.text,
                    _offset(self.text, node),
                )

    def evaluate(self, df: pd.DataFrame, *, table: str | None = None) -> pd.Series:
        """Evaluate column-wise on ``df``.

        Parameters
        ----------
        df
            The frame whose columns the expression names (not modified).
        table
            Name used in error messages.

        Returns
        -------
        pandas.Series
            Indexed like ``df``: a boolean mask for conditions, values otherwise.
            A constant expression is broadcast to every row.
        """
        self.check_columns(df.columns, table=table)
        value = self._eval(self.tree.body, df)
        if isinstance(value, pd.Series):
            return value
        return pd.Series([value] * len(df), index=df.index)

    def mask(self, df: pd.DataFrame, *, table: str | None = None) -> pd.Series:
        """Evaluate as a condition: a boolean Series, missing results as ``False``."""
        return _as_bool(self.evaluate(df, table=table), df.index)

    def _fail(self, reason: str, node: ast.AST) -> ExpressionError:
        return ExpressionError(reason, self.text, _offset(self.text, node))

    def _eval(self, node: ast.AST, df: pd.DataFrame) -> Any:
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            return df[node.id]
        if isinstance(node, ast.BoolOp):
            parts = [_as_bool(self._eval(v, df), df.index) for v in node.values]
            out = parts[0]
            for p in parts[1:]:
                out = (out & p) if isinstance(node.op, ast.And) else (out | p)
            return out
        if isinstance(node, ast.UnaryOp):
            v = self._eval(node.operand, df)
            if isinstance(node.op, ast.Not):
                return ~_as_bool(v, df.index)
            try:
                return -v if isinstance(node.op, ast.USub) else +v
            except TypeError as e:
                raise self._fail(f"cannot negate this value ({e})", node) from None
        if isinstance(node, ast.BinOp):
            a, b = self._eval(node.left, df), self._eval(node.right, df)
            try:
                with np.errstate(all="ignore"):
                    if isinstance(node.op, ast.Add):
                        return a + b
                    if isinstance(node.op, ast.Sub):
                        return a - b
                    if isinstance(node.op, ast.Mult):
                        return a * b
                    if isinstance(node.op, ast.Div):
                        return _num(a) / _num(b)
                    return _num(a) % _num(b)
            except (TypeError, ValueError, ZeroDivisionError) as e:
                sym = _BIN_SYMBOL[type(node.op)]
                raise self._fail(f"cannot apply {sym!r} to these values ({e})", node) from None
        if isinstance(node, ast.Compare):
            left = self._eval(node.left, df)
            out: pd.Series | None = None
            for op, right_node in zip(node.ops, node.comparators, strict=True):
                if isinstance(op, ast.In | ast.NotIn):
                    right: Any = [_literal_value(e) for e in right_node.elts]  # type: ignore[attr-defined]
                else:
                    right = self._eval(right_node, df)
                try:
                    part = _compare(op, left, right, df.index)
                except (TypeError, ValueError) as e:
                    raise self._fail(
                        f"cannot compare with {_CMP_SYMBOL[type(op)]!r} ({e})", right_node
                    ) from None
                out = part if out is None else (out & part)
                left = right
            assert out is not None
            return out
        if isinstance(node, ast.Call):
            name = node.func.id  # type: ignore[attr-defined]
            args = [self._eval(a, df) for a in node.args]
            try:
                return FUNCTIONS[name][1](*args)
            except (TypeError, ValueError, AttributeError) as e:
                raise self._fail(f"{name}() {e}", node) from None
        raise self._fail(f"{type(node).__name__} is not allowed", node)  # pragma: no cover

    def __repr__(self) -> str:
        return f"Expr({self.text!r})"


def compile_expr(text: str, *, columns: Iterable[str] | None = None) -> Expr:
    """Parse and validate a rule expression.

    Parameters
    ----------
    text
        The expression, e.g. ``'kind == "visit" and duration_min >= 30'``.
    columns
        If given, the column names the expression may use; an unknown name is
        refused now rather than at evaluation.

    Returns
    -------
    Expr
        The validated expression.

    Raises
    ------
    ExpressionError
        If the text is empty, too long, too deeply nested, not valid syntax, or
        uses anything outside the grammar (see the module docstring). The message
        points at the offending part.
    """
    if not isinstance(text, str):
        raise ExpressionError(f"an expression must be text, got {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(
            f"expression is too long ({len(text):,} characters; limit {MAX_LENGTH:,})"
        )
    stripped = text.strip()
    if not stripped:
        raise ExpressionError("expression is empty")
    if _bracket_depth(text) > MAX_DEPTH:
        raise ExpressionError(f"expression is nested too deeply (limit {MAX_DEPTH} brackets)")
    try:
        tree = ast.parse(stripped, mode="eval")
    except SyntaxError as e:
        off = None
        if e.lineno is not None and e.offset is not None:
            lines = stripped.split("\n")
            off = sum(len(x) + 1 for x in lines[: e.lineno - 1]) + max(e.offset - 1, 0)
            off = min(off, len(stripped))
        raise ExpressionError(f"invalid syntax: {e.msg}", stripped, off) from None
    except (RecursionError, MemoryError, ValueError) as e:
        raise ExpressionError(f"expression cannot be parsed ({type(e).__name__})") from None
    checker = _Checker(stripped)
    checker.visit(tree.body)
    expr = Expr(stripped, tree, tuple(checker.columns))
    if columns is not None:
        expr.check_columns(columns)
    return expr


def mask(df: pd.DataFrame, text: str | Expr, *, table: str | None = None) -> pd.Series:
    """Rows of ``df`` where the condition ``text`` holds (missing -> ``False``).

    Parameters
    ----------
    df
        The frame to filter (not modified).
    text
        A condition in the grammar of this module, or a compiled :class:`Expr`.
    table
        Name used in error messages.

    Returns
    -------
    pandas.Series
        Boolean, indexed like ``df``.
    """
    expr = text if isinstance(text, Expr) else compile_expr(text)
    return expr.mask(df, table=table)
