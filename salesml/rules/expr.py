"""Safe rule expressions: a whitelisted, bounded grammar evaluated column-wise on DataFrames.

Users write filters and rules such as ``kind == "visit" and duration_min >= 30``
or, with aliases, ``月采购额 > 50000 and 复购率 > 0.6``. The text is parsed with
Python's :mod:`ast` module and every node is checked against a strict whitelist;
the checked tree is then evaluated column-wise. Nothing is ever passed to
``eval`` or ``exec``.

Grammar
-------
- literals: text in quotes (``"visit"``, at most :data:`MAX_TEXT_LITERAL` characters),
  numbers (``30``, ``2.5``; whole numbers below ``10**18`` in size, finite),
  ``True``, ``False``, ``None``;
- names: column names of the frame (``duration_min``) or declared aliases
  (``aliases={"月采购额": "monthly_purchase"}``). A name must be typed exactly:
  Python would read full-width ``ｋｉｎｄ`` as ``kind``; this grammar refuses it
  (unless ``ｋｉｎｄ`` itself is a declared alias);
- comparisons ``==  !=  <  <=  >  >=`` (chains such as ``0 < x <= 5`` allowed).
  ``<`` and friends need two numbers, two texts, two dates (or a date and a date
  written in quotes: ``t0 >= "2026-01-02"``) or two time differences;
- membership ``x in ["a", "b"]`` / ``x not in (1, 2)`` with a list or tuple of at
  most :data:`MAX_IN_ITEMS` literals;
- boolean ``and``, ``or``, ``not`` between conditions (a number is not a condition:
  write ``n > 0``);
- arithmetic: ``+ - * / %`` and unary ``-`` / ``+`` on numbers (true/false count as
  1/0); ``date - date`` is a time difference, ``date ± time difference`` a date,
  time differences may be added, subtracted, multiplied or divided by numbers;
  ``text + text`` joins two texts. Text is never repeated (``"a" * 3``, ``kind * 6000``)
  or formatted (``"%s" % x``); ``**``, ``//``, ``<<``, ``&``, ``|`` ... are refused.
  Whole-number arithmetic that would pass ``2**63`` is carried out in floating point;
- the functions in :data:`FUNCTIONS`: ``isnull(x)``, ``notnull(x)``, ``abs(x)``,
  ``log1p(x)``, ``sqrt(x)`` (numbers), ``days(x)`` / ``hours(x)`` / ``minutes(x)`` (a time
  difference in days, hours, minutes), ``lower(x)``, ``upper(x)``, ``len(x)`` (text),
  ``contains(x, "text")``, ``startswith(x, "text")``, ``endswith(x, "text")`` (the second
  argument text in quotes), ``fillna(x, literal)`` (the second argument a literal: a
  number, text in quotes, ``True``/``False``; a date column takes a date in quotes),
  ``month(x)``, ``weekday(x)``, ``hour(x)`` (dates).

Missing values: a comparison or membership test involving a missing value is
``False`` (``x != 3`` is ``False`` where ``x`` is missing); test for missing
values explicitly with ``isnull(x)``. ``x == None`` means ``isnull(x)``.

Everything else (attribute access, subscripts, other calls, dunder names,
imports, lambdas, comprehensions, f-strings, ``:=``, ``*x``, ``#`` comments,
conditional expressions) is refused with :class:`ExpressionError`, whose message
says what to change and points at the offending part of the user's own text with
a caret line (lined up under Chinese characters).

Limits
------
Text at most :data:`MAX_LENGTH` characters, nesting at most :data:`MAX_DEPTH`, at most
:data:`MAX_NODES` operations. Evaluation does one vectorised pass over the rows per
operation and refuses, before computing it, any step that would take the values
alive at one time past ``max_bytes`` (default :data:`MAX_MEMORY_BYTES`). Every
failure, from the parser, pandas or numpy, is an :class:`ExpressionError`.

Examples
--------
>>> import pandas as pd
>>> df = pd.DataFrame({"kind": ["visit", "call"], "duration_min": [45.0, 5.0]})
>>> mask(df, 'kind == "visit" and duration_min >= 30').tolist()
[True, False]
>>> compile_expr("duration_min / 60").columns
('duration_min',)
>>> evaluate_mask("时长 > 10", df, aliases={"时长": "duration_min"}).tolist()
[True, False]
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from salesml.rules._base import (
    MAX_DEPTH,
    MAX_IN_ITEMS,
    MAX_INT,
    MAX_LENGTH,
    MAX_MEMORY_BYTES,
    MAX_NODES,
    MAX_ROWS,
    MAX_TEXT_LITERAL,
    ExpressionError,
)
from salesml.rules._evaluate import Evaluator
from salesml.rules._grammar import Column, Node, parse, suggest
from salesml.rules._types import FUNCTIONS, describe, kind_of_dtype

__all__ = [
    "FUNCTIONS",
    "MAX_DEPTH",
    "MAX_INT",
    "MAX_IN_ITEMS",
    "MAX_LENGTH",
    "MAX_MEMORY_BYTES",
    "MAX_NODES",
    "MAX_ROWS",
    "MAX_TEXT_LITERAL",
    "Expr",
    "ExpressionError",
    "compile_expr",
    "evaluate_mask",
    "mask",
]


def _columns_of(node: Node) -> list[Column]:
    out: list[Column] = []
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, Column):
            out.append(n)
            continue
        for name in ("operand", "left", "right"):
            child = getattr(n, name, None)
            if isinstance(child, Node):
                stack.append(child)
        stack.extend(getattr(n, "operands", ()))
        stack.extend(getattr(n, "args", ()))
        stack.extend(link.right for link in getattr(n, "links", ()) if link.right is not None)
    return sorted(out, key=lambda c: c.start)


@dataclass(frozen=True, eq=False)
class Expr:
    """A validated rule expression, ready to evaluate on DataFrames.

    Build with :func:`compile_expr`; do not construct directly.

    Attributes
    ----------
    text
        The expression exactly as written (error offsets refer to it).
    columns
        Column names the expression reads (aliases resolved), in order of first use.
    names
        The words the user wrote for them (aliases as written), in order of first use.
    aliases
        The alias mapping the expression was compiled with (word -> column).
    kind
        What the expression gives when known without data: ``"bool"`` for a
        condition, ``"number"``, ``"text"``, ... or ``None``.
    """

    text: str
    root: Node = field(repr=False)
    columns: tuple[str, ...]
    names: tuple[str, ...] = ()
    aliases: Mapping[str, str] = field(default_factory=dict, repr=False)

    @property
    def kind(self) -> str | None:
        return self.root.kind

    def check_columns(self, available: Iterable[str], *, table: str | None = None) -> None:
        """Raise :class:`ExpressionError` if a column used is not in ``available``.

        The message points at the first unknown name (in the user's words), lists the
        available columns and suggests a close match.
        """
        avail = [str(c) for c in available]
        have = set(avail)
        for node in _columns_of(self.root):
            if node.column in have:
                continue
            where = f" of table {table!r}" if table else ""
            shown = ", ".join(avail[:60]) + (" ..." if len(avail) > 60 else "")
            if node.source != node.column:
                reason = (
                    f"{node.source!r} stands for column {node.column!r}, which the table{where} "
                    f"does not have; available columns: {shown}"
                )
            else:
                hint = suggest(node.column, avail + list(self.aliases))
                reason = f"unknown column {node.column!r}{hint}; available columns{where}: {shown}"
            raise ExpressionError(reason, self.text, node.start, length=node.end - node.start)

    def evaluate(
        self, df: pd.DataFrame, *, table: str | None = None, max_bytes: int = MAX_MEMORY_BYTES
    ) -> pd.Series:
        """Evaluate column-wise on ``df``.

        Parameters
        ----------
        df
            The frame whose columns the expression names (not modified).
        table
            Name used in error messages.
        max_bytes
            Most memory the values alive at one time may take (see the module's *Limits*).

        Returns
        -------
        pandas.Series
            Indexed like ``df``: a boolean mask for conditions, values otherwise.
            A constant expression is broadcast to every row.

        Raises
        ------
        ExpressionError
            For an unknown column, a value of the wrong kind (text with ``*``), a step
            past the memory limit, or anything pandas refuses; with a caret.
        """
        return self._run(df, table=table, max_bytes=max_bytes, condition=False)

    def mask(
        self, df: pd.DataFrame, *, table: str | None = None, max_bytes: int = MAX_MEMORY_BYTES
    ) -> pd.Series:
        """Evaluate as a condition: a boolean Series indexed like ``df``, missing as ``False``.

        Raises :class:`ExpressionError` if the expression is not a condition (a
        number, a text): write ``n > 0``, not ``n``.
        """
        return self._run(df, table=table, max_bytes=max_bytes, condition=True)

    def _run(
        self, df: pd.DataFrame, *, table: str | None, max_bytes: int, condition: bool
    ) -> pd.Series:
        if not isinstance(df, pd.DataFrame):
            raise ExpressionError(f"expressions are evaluated on a table, got {type(df).__name__}")
        self.check_columns(df.columns, table=table)
        ev = Evaluator(self.text, df, table=table, max_bytes=max_bytes)
        try:
            value = ev.run(self.root)
            if condition:
                if value.kind != "bool" and value.kind != "null":
                    raise ExpressionError(
                        f"the expression gives {describe(value.kind)}, not a condition "
                        "(true/false); compare it, e.g. x > 0",
                        self.text,
                        self.root.start,
                        length=self.root.end - self.root.start,
                    )
                value = ev.condition(value, self.root, "a filter")
            out = value.value if value.series else ev.broadcast(value, self.root)
        except ExpressionError:
            raise
        except RecursionError:  # pragma: no cover - depth is capped by the grammar
            raise ExpressionError("expression is nested too deeply", self.text) from None
        except Exception as e:  # anything pandas/numpy raise that no operator caught
            raise ExpressionError(
                f"the expression cannot be computed on this table ({type(e).__name__}: "
                f"{str(e).splitlines()[0] if str(e) else ''})",
                self.text,
                self.root.start,
            ) from None
        return out

    def __repr__(self) -> str:
        return f"Expr({self.text!r})"


def compile_expr(
    text: str,
    *,
    columns: Iterable[str] | Mapping[str, Any] | pd.Series | None = None,
    aliases: Mapping[str, str] | None = None,
) -> Expr:
    """Parse and validate a rule expression without data.

    Parameters
    ----------
    text
        The expression, e.g. ``'kind == "visit" and duration_min >= 30'``.
    columns
        If given, the column names the expression may use; an unknown name is refused
        now rather than at evaluation. A mapping of name -> dtype (``df.dtypes``) also
        checks kinds now: ``kind * 6000`` on a text column is refused while compiling.
    aliases
        Words the user may write for columns, e.g. ``{"月采购额": "monthly_purchase",
        "复购率": "repurchase_rate"}``. Each word must be one identifier (Chinese
        characters are fine); aliases are looked up before column names.

    Returns
    -------
    Expr
        The validated expression.

    Raises
    ------
    ExpressionError
        If the text is empty, too long, too deeply nested, not valid syntax, or uses
        anything outside the grammar (see the module docstring); the message points at
        the offending part of ``text``.
    """
    kinds: dict[str, str | None] = {}
    names: list[str] | None = None
    if isinstance(columns, pd.Series | Mapping):
        items = columns.items()
        names = [str(k) for k, _ in items]
        kinds = {str(k): kind_of_dtype(v) for k, v in columns.items()}
    elif columns is not None:
        names = [str(c) for c in columns]
    parsed = parse(text, aliases=aliases, kinds=kinds)
    expr = Expr(text, parsed.root, parsed.columns, parsed.names, dict(aliases or {}))
    if names is not None:
        expr.check_columns(names)
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


def evaluate_mask(
    expression: str | Expr,
    frame: pd.DataFrame,
    *,
    aliases: Mapping[str, str] | None = None,
    table: str | None = None,
    max_rows: int | None = MAX_ROWS,
    max_bytes: int = MAX_MEMORY_BYTES,
) -> np.ndarray:
    """Evaluate a condition over ``frame``: the entry point for filter specs.

    Parameters
    ----------
    expression
        A condition in the grammar of this module (or a compiled :class:`Expr`; then
        ``aliases`` must be ``None``, the compiled ones apply).
    frame
        The rows to test (not modified).
    aliases
        Words the user may write for columns (see :func:`compile_expr`).
    table
        Name used in error messages.
    max_rows
        Refuse frames with more rows than this (``None``: no row limit; the memory
        limit still applies).
    max_bytes
        Most memory the values alive at one time may take.

    Returns
    -------
    numpy.ndarray
        ``bool``, one per row of ``frame`` in order; missing values give ``False``.

    Raises
    ------
    ExpressionError
        If the expression is malformed, not a condition (``n`` rather than ``n > 0``),
        names a column ``frame`` lacks, or exceeds a limit.
    """
    if isinstance(expression, Expr):
        if aliases is not None:
            raise ExpressionError("pass aliases to compile_expr, not with a compiled expression")
        expr = expression
    else:
        expr = compile_expr(expression, aliases=aliases)
    if max_rows is not None and len(frame) > max_rows:
        raise ExpressionError(
            f"the table{f' {table!r}' if table else ''} has {len(frame):,} rows; filters "
            f"evaluate at most {max_rows:,} (filter by period first)"
        )
    return expr.mask(frame, table=table, max_bytes=max_bytes).to_numpy(dtype=bool)
