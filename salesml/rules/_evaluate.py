"""Evaluate a checked expression tree column-wise, within a memory budget.

Every operation first works out the kinds of its operands (refusing, say, text
with ``*`` before any work) and the size of its result (rows x item size; for
text, the bytes it will hold), charges that size to the budget, and only then
computes. The budget counts the values alive at one time: an operator's operands
are released once its result exists. Anything pandas or numpy raises becomes an
:class:`ExpressionError` pointing at the operator.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from salesml.rules._base import ExpressionError, format_bytes, shorten
from salesml.rules._grammar import (
    Binary,
    Call,
    Column,
    Compare,
    Link,
    Literal,
    Logical,
    Node,
    Not,
    Unary,
)
from salesml.rules._types import (
    FUNCTIONS,
    KindError,
    binary_kind,
    call_kind,
    compare_check,
    describe,
    kind_of,
    unary_kind,
)

__all__ = ["Evaluator", "Value"]

_INT_LIMIT = 2**63
_FIXED = 9  # bytes per row of a number/date/flag column, with its missing-value mask
_SLACK = 64

_COMPARE = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_ARITH = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    "%": operator.mod,
}


@dataclass(eq=False)
class Value:
    """A value during evaluation: a scalar or a Series indexed like the frame."""

    value: Any
    kind: str
    cost: int = 0  # bytes charged to the budget for it

    @property
    def series(self) -> bool:
        return isinstance(self.value, pd.Series)


def _is_object(dtype: Any) -> bool:
    return pd.api.types.is_object_dtype(dtype)


def _is_int(x: Any) -> bool:
    if isinstance(x, pd.Series):
        return pd.api.types.is_integer_dtype(x.dtype)
    return isinstance(x, int | np.integer) and not isinstance(x, bool | np.bool_)


def _max_abs(x: Any) -> int:
    if not isinstance(x, pd.Series):
        return abs(int(x))
    if not len(x):
        return 0
    lo, hi = x.min(), x.max()
    if pd.isna(lo) or pd.isna(hi):
        return 0
    return max(abs(int(lo)), abs(int(hi)))


def text_bytes(x: Any, rows: int) -> int:
    """Bytes a text value takes as a column of ``rows`` rows (an upper bound)."""
    if isinstance(x, str):
        return rows * (len(x.encode("utf-8")) + 8) + _SLACK
    if not isinstance(x, pd.Series):
        return rows * _FIXED + _SLACK
    arr = x.array
    if hasattr(arr, "__arrow_array__"):
        data = pa.array(arr)
        if pa.types.is_string(data.type) or pa.types.is_large_string(data.type):
            total = pc.sum(pc.binary_length(data)).as_py() or 0
            return int(total) + 8 * len(x) + _SLACK
    if isinstance(x.dtype, pd.CategoricalDtype):
        cats = x.cat.categories
        lengths = np.array([len(str(c).encode("utf-8")) for c in cats], dtype=np.int64)
        codes = x.cat.codes.to_numpy()
        counts = np.bincount(codes[codes >= 0], minlength=len(cats))
        return int(counts @ lengths) + 8 * len(x) + _SLACK
    # Object column: at most 4 bytes per character.
    return int(x.str.len().fillna(0).sum()) * 4 + 8 * len(x) + _SLACK


class Evaluator:
    """One evaluation of a tree over one frame."""

    def __init__(
        self, text: str, frame: pd.DataFrame, *, table: str | None, max_bytes: int
    ) -> None:
        self.text = text
        self.frame = frame
        self.table = table
        self.rows = len(frame)
        self.index = frame.index
        self.max_bytes = max_bytes
        self.live = 0
        self.peak = 0
        self._kinds: dict[str, str] = {}

    # budget ------------------------------------------------------------------
    def fail(self, reason: str, at: int, length: int = 1) -> ExpressionError:
        return ExpressionError(reason, self.text, at, length=length)

    def charge(self, nbytes: int, node: Node, at: int | None = None) -> int:
        if self.live + nbytes > self.max_bytes:
            where = f" of table {self.table!r}" if self.table else ""
            raise self.fail(
                f"this expression would need about {format_bytes(self.live + nbytes)} of memory "
                f"on the {self.rows:,} rows{where} (limit {format_bytes(self.max_bytes)}); "
                "simplify it or filter the rows first",
                node.start if at is None else at,
                node.end - node.start if at is None else 1,
            )
        self.live += nbytes
        self.peak = max(self.peak, self.live)
        return nbytes

    def release(self, *values: Value) -> None:
        for v in values:
            self.live -= v.cost
            v.cost = 0

    def fixed(self) -> int:
        return self.rows * _FIXED + _SLACK

    def source(self, node: Node) -> str:
        return shorten(self.text[node.start : node.end])

    def guard(self, what: str, error: Exception, at: int, length: int = 1) -> ExpressionError:
        if isinstance(error, MemoryError):
            return self.fail(f"not enough memory to compute {what}", at, length)
        detail = str(error).splitlines()[0] if str(error) else type(error).__name__
        return self.fail(f"cannot compute {what} ({shorten(detail, 120)})", at, length)

    # conversions ---------------------------------------------------------------
    def convert(self, v: Value, kind: str, node: Node) -> Value:
        """``v`` as a column of ``kind`` ready for numpy/pandas (charged if copied).

        The caller releases ``v`` and the returned value once its operation is done.
        """
        x = v.value
        if not isinstance(x, pd.Series):
            if kind == "number" and isinstance(x, bool | np.bool_):
                return Value(int(x), "number")
            if isinstance(x, np.generic):
                return Value(x.item(), v.kind)
            return v
        if kind == "text":
            if isinstance(x.dtype, pd.StringDtype) or (
                isinstance(x.dtype, pd.ArrowDtype) and v.kind == "text"
            ):
                return v
            cost = self.charge(text_bytes(x, self.rows), node)
            return Value(x.astype("str"), "text", cost)
        orig = v
        if isinstance(x.dtype, pd.CategoricalDtype):
            cost = self.charge(self.fixed(), node)
            x = x.astype(x.cat.categories.dtype)
            v = Value(x, v.kind, cost)
        if kind == "number" and (v.kind == "bool" or _is_object(x.dtype)):
            cost = self.charge(self.fixed(), node)
            if not _is_object(x.dtype):
                y = x.astype("Int64" if x.hasnans else "int64")
            else:
                y = pd.to_numeric(x.where(x.notna(), np.nan))
                if _is_object(y.dtype) or pd.api.types.is_bool_dtype(y.dtype):
                    y = y.astype("float64")
        elif kind in ("datetime", "timedelta") and _is_object(x.dtype):
            cost = self.charge(self.fixed(), node)
            y = pd.to_datetime(x) if kind == "datetime" else pd.to_timedelta(x)
        else:
            return v
        if v is not orig:
            self.release(v)
        return Value(y, kind, cost)

    def column_kind(self, node: Column, s: pd.Series) -> str:
        if node.column not in self._kinds:
            self._kinds[node.column] = kind_of(s)
        return self._kinds[node.column]

    def condition(self, v: Value, node: Node, op: str) -> Value:
        """``v`` as true/false (missing -> false); refuse anything that is not a condition."""
        x = v.value
        if not isinstance(x, pd.Series):
            if v.kind == "bool":
                return Value(bool(x), "bool")
            raise self.fail(
                f"{self.source(node)!r} is {describe(v.kind)}, not a condition; "
                f"{op} needs conditions such as x > 0",
                node.start,
                node.end - node.start,
            )
        if v.kind == "null":
            cost = self.charge(self.rows + _SLACK, node)
            self.release(v)
            return Value(pd.Series(np.zeros(self.rows, dtype=bool), index=self.index), "bool", cost)
        if v.kind != "bool":
            raise self.fail(
                f"{self.source(node)!r} is {describe(v.kind)}, not a condition; "
                f"{op} needs conditions such as x > 0",
                node.start,
                node.end - node.start,
            )
        if x.dtype == bool:
            return v
        cost = self.charge(self.rows + _SLACK, node)
        out = pd.Series(x.to_numpy(dtype=bool, na_value=False), index=self.index)
        self.release(v)
        return Value(out, "bool", cost)

    def broadcast(self, v: Value, node: Node) -> pd.Series:
        """A scalar result as a column (charged)."""
        x = v.value
        if v.kind == "text":
            self.charge(text_bytes(x, self.rows), node)
            return pd.Series(x, index=self.index, dtype="str")
        self.charge(self.fixed(), node)
        if v.kind == "bool":
            return pd.Series(np.full(self.rows, bool(x)), index=self.index)
        if v.kind == "null":
            return pd.Series(np.full(self.rows, np.nan), index=self.index)
        return pd.Series(x, index=self.index)

    # the walk ------------------------------------------------------------------
    def run(self, node: Node) -> Value:
        if isinstance(node, Literal):
            return Value(node.value, node.kind or kind_of(node.value))
        if isinstance(node, Column):
            return self.column(node)
        if isinstance(node, Logical):
            return self.logical(node)
        if isinstance(node, Not):
            c = self.condition(self.run(node.operand), node.operand, "'not'")
            if not c.series:
                return Value(not c.value, "bool")
            cost = self.charge(self.rows + _SLACK, node)
            out = ~c.value
            self.release(c)
            return Value(out, "bool", cost)
        if isinstance(node, Unary):
            return self.unary(node)
        if isinstance(node, Binary):
            return self.binary(node)
        if isinstance(node, Compare):
            return self.compare(node)
        if isinstance(node, Call):
            return self.call(node)
        raise self.fail(f"{type(node).__name__} is not allowed", node.start)  # pragma: no cover

    def column(self, node: Column) -> Value:
        s = self.frame[node.column]
        if isinstance(s, pd.DataFrame):
            raise self.fail(
                f"column {node.column!r} appears more than once in the table; rename one",
                node.start,
                node.end - node.start,
            )
        return Value(s, self.column_kind(node, s))

    def logical(self, node: Logical) -> Value:
        op = f"'{node.op}'"
        acc: Value | None = None
        for part in node.operands:
            c = self.condition(self.run(part), part, op)
            if acc is None:
                acc = c
                continue
            if not acc.series and not c.series:
                acc = Value(
                    acc.value and c.value if node.op == "and" else acc.value or c.value, "bool"
                )
                continue
            cost = self.charge(self.rows + _SLACK, node)
            a, b = acc.value, c.value
            out = (a & b) if node.op == "and" else (a | b)
            if not isinstance(out, pd.Series):  # pragma: no cover - defensive
                out = pd.Series(np.full(self.rows, bool(out)), index=self.index)
            self.release(acc, c)
            acc = Value(out, "bool", cost)
        assert acc is not None
        return acc

    def unary(self, node: Unary) -> Value:
        v = self.run(node.operand)
        try:
            kind = unary_kind(node.op, v.kind)
        except KindError as e:
            raise self.fail(f"{e} ({self.source(node.operand)!r})", node.start) from None
        assert kind is not None
        x = self.convert(v, kind, node)
        if node.op == "+":
            return x
        if not x.series:
            return Value(-x.value, kind)
        cost = self.charge(self.fixed(), node)
        try:
            s = x.value
            if _is_int(s) and _max_abs(s) >= _INT_LIMIT - 1:
                s = s.astype("float64")
            out = -s
        except Exception as e:
            raise self.guard(f"'-{self.source(node.operand)}'", e, node.start) from None
        self.release(v, x)
        return Value(out, kind, cost)

    def binary(self, node: Binary) -> Value:
        a = self.run(node.left)
        b = self.run(node.right)
        oplen = len(node.op)
        # A column with no values at all takes the kind of the other side.
        if a.kind == "null" and a.series and b.kind != "null":
            a = Value(a.value, b.kind, a.cost)
        if b.kind == "null" and b.series and a.kind != "null":
            b = Value(b.value, a.kind, b.cost)
        if a.kind == "null" and b.kind == "null" and (a.series or b.series):
            cost = self.charge(self.fixed(), node, node.at)
            self.release(a, b)
            return Value(pd.Series(np.full(self.rows, np.nan), index=self.index), "number", cost)
        try:
            kind = binary_kind(node.op, a.kind, b.kind)
        except KindError as e:
            raise self.fail(
                f"{e} ({self.source(node.left)!r} is {describe(a.kind)}, "
                f"{self.source(node.right)!r} is {describe(b.kind)})",
                node.at,
                oplen,
            ) from None
        assert kind is not None
        want_a = {"datetime": "datetime", "timedelta": "timedelta", "text": "text"}.get(
            a.kind, "number"
        )
        want_b = {"datetime": "datetime", "timedelta": "timedelta", "text": "text"}.get(
            b.kind, "number"
        )
        x, y = self.convert(a, want_a, node.left), self.convert(b, want_b, node.right)
        fn = _ARITH[node.op]
        what = f"{self.source(node.left)!r} {node.op} {self.source(node.right)!r}"
        if not x.series and not y.series:
            try:
                out = fn(x.value, y.value)
            except ZeroDivisionError:
                raise self.fail("division by zero", node.at, oplen) from None
            except Exception as e:
                raise self.guard(what, e, node.at, oplen) from None
            if _is_int(out) and abs(out) >= _INT_LIMIT:
                out = float(out)  # exact whole numbers stop at 2**63; carry on in floating point
            return Value(out, kind)
        if kind == "text":
            cost = self.charge(
                text_bytes(x.value, self.rows) + text_bytes(y.value, self.rows), node, node.at
            )
        else:
            cost = self.charge(self.fixed() * (2 if node.op in "+-*" else 1), node, node.at)
        try:
            lv, rv = x.value, y.value
            if node.op in "+-*" and _is_int(lv) and _is_int(rv):
                ma, mb = _max_abs(lv), _max_abs(rv)
                bound = ma * mb if node.op == "*" else ma + mb
                if bound >= _INT_LIMIT:
                    lv = lv.astype("float64") if isinstance(lv, pd.Series) else float(lv)
                    rv = rv.astype("float64") if isinstance(rv, pd.Series) else float(rv)
            with np.errstate(all="ignore"):
                out = fn(lv, rv)
        except Exception as e:
            raise self.guard(what, e, node.at, oplen) from None
        self.release(a, b, x, y)
        return Value(out, kind, cost)

    def compare(self, node: Compare) -> Value:
        left = self.run(node.left)
        left_node: Node = node.left
        acc: Value | None = None
        for link in node.links:
            if link.values is not None:
                part = self.membership(left, link, node)
                right, right_node = Value(None, "null"), left_node
            else:
                assert link.right is not None
                right = self.run(link.right)
                right_node = link.right
                part = self.compare_one(left, right, left_node, right_node, link, node)
            if acc is None:
                acc = part
            elif not acc.series and not part.series:
                acc = Value(acc.value and part.value, "bool")
            else:
                cost = self.charge(self.rows + _SLACK, node, link.at)
                out = acc.value & part.value
                self.release(acc, part)
                acc = Value(out, "bool", cost)
            self.release(left)
            left, left_node = right, right_node
        self.release(left)
        assert acc is not None
        return acc

    def membership(self, left: Value, link: Link, node: Compare) -> Value:
        values = list(link.values or ())
        x = left.value
        if not isinstance(x, pd.Series):
            hit = x is not None and not pd.isna(x) and x in values
            return Value(hit if link.op == "in" else not hit and x is not None, "bool")
        cost = self.charge(2 * self.rows + _SLACK, node, link.at)
        try:
            res = x.isin(values).to_numpy(dtype=bool, na_value=False)
            if link.op == "not in":
                res = ~res
            res = res & x.notna().to_numpy()
        except Exception as e:
            raise self.guard(f"{link.op!r}", e, link.at, link.length) from None
        return Value(pd.Series(res, index=self.index), "bool", cost)

    def compare_one(
        self, a: Value, b: Value, a_node: Node, b_node: Node, link: Link, node: Compare
    ) -> Value:
        op = link.op
        if op in ("==", "!=") and (
            (not a.series and a.kind == "null") or (not b.series and b.kind == "null")
        ):
            other = b if (not a.series and a.kind == "null") else a
            x = other.value
            if not isinstance(x, pd.Series):
                missing = x is None or bool(pd.isna(x))
                return Value(missing if op == "==" else not missing, "bool")
            cost = self.charge(self.rows + _SLACK, node, link.at)
            res = x.isna().to_numpy()
            return Value(pd.Series(res if op == "==" else ~res, index=self.index), "bool", cost)
        if (a.series and a.kind == "null") or (b.series and b.kind == "null"):
            cost = self.charge(self.rows + _SLACK, node, link.at)
            return Value(pd.Series(np.zeros(self.rows, dtype=bool), index=self.index), "bool", cost)
        text_node = a_node if a.kind == "text" else b_node
        try:
            compare_check(op, a.kind, b.kind, literal_text=isinstance(text_node, Literal))
        except KindError as e:
            raise self.fail(
                f"{e} ({self.source(a_node)!r} is {describe(a.kind)}, "
                f"{self.source(b_node)!r} is {describe(b.kind)})",
                link.at,
                link.length,
            ) from None
        x, y = a, b
        if op not in ("==", "!="):
            # Unordered categories and object columns compare as their values.
            for v, n in ((a, a_node), (b, b_node)):
                if v.series and (
                    isinstance(v.value.dtype, pd.CategoricalDtype) or _is_object(v.value.dtype)
                ):
                    want = v.kind if v.kind in ("text", "datetime", "timedelta") else "number"
                    conv = self.convert(v, want, n)
                    x, y = (conv, y) if v is a else (x, conv)
        fn = _COMPARE[op]
        what = f"{self.source(a_node)!r} {op} {self.source(b_node)!r}"
        if not x.series and not y.series:
            try:
                return Value(bool(fn(x.value, y.value)), "bool")
            except Exception as e:
                raise self.guard(what, e, link.at, link.length) from None
        cost = self.charge(2 * self.rows + _SLACK, node, link.at)
        try:
            res = fn(x.value, y.value)
            res = res.to_numpy(dtype=bool, na_value=False)
            # Missing compares False: numpy, arrow and masked arrays already give False
            # except for '!=' and for object columns (None == None).
            for v in (x, y):
                if v.series and (op == "!=" or _is_object(v.value.dtype)):
                    res = res & v.value.notna().to_numpy()
        except Exception as e:
            raise self.guard(what, e, link.at, link.length) from None
        if x is not a:
            self.release(x)
        if y is not b:
            self.release(y)
        return Value(pd.Series(res, index=self.index), "bool", cost)

    def call(self, node: Call) -> Value:
        name = node.name
        arg = self.run(node.args[0])
        extra = [a.value for a in node.args[1:]]  # literals (checked by the grammar)
        fill_kind = kind_of(extra[0]) if name == "fillna" else None
        if arg.kind == "null" and arg.series and name not in ("isnull", "notnull", "fillna"):
            # A column with no values: the function of nothing is missing (or false).
            cost = self.charge(self.fixed(), node)
            self.release(arg)
            if call_kind(name, None) == "bool":
                return Value(
                    pd.Series(np.zeros(self.rows, dtype=bool), index=self.index), "bool", cost
                )
            return Value(pd.Series(np.full(self.rows, np.nan), index=self.index), "number", cost)
        try:
            kind = call_kind(name, arg.kind, fill_kind)
        except KindError as e:
            raise self.fail(
                f"{e} ({self.source(node.args[0])!r})", node.start, node.end - node.start
            ) from None
        assert kind is not None
        want = {"text": "text", "datetime": "datetime", "timedelta": "timedelta"}.get(
            arg.kind, "number" if arg.kind in ("number", "bool") else arg.kind
        )
        lifted = not arg.series
        x = arg if not lifted else Value(pd.Series([arg.value]), arg.kind)
        if arg.kind != "null" and name not in ("isnull", "notnull"):
            x = self.convert(x, want, node.args[0])
        s = x.value
        rows = len(s)
        if name in ("lower", "upper"):
            nbytes = 3 * text_bytes(s, rows)
        elif name == "fillna" and arg.kind == "null":
            nbytes = text_bytes(extra[0], rows) if kind == "text" else rows * _FIXED + _SLACK
        elif name == "fillna" and kind == "text":
            nbytes = text_bytes(s, rows) + text_bytes(extra[0], int(s.isna().sum()))
        else:
            nbytes = rows * _FIXED + _SLACK
        cost = 0 if lifted else self.charge(nbytes, node)
        try:
            if name == "fillna":
                extra = [self.fill_value(s, arg.kind, extra[0])]
                if arg.kind == "null":
                    s = s.astype(object)
            with np.errstate(all="ignore"):
                out = FUNCTIONS[name][1](s, *extra)
        except Exception as e:
            raise self.guard(f"{name}()", e, node.start, node.end - node.start) from None
        self.release(arg, x)
        if lifted:
            value = out.iloc[0]
            value = value.item() if isinstance(value, np.generic) else value
            if value is pd.NA:
                value = None
            return Value(value, kind if value is not None else "null")
        if name == "fillna" and arg.kind == "null":
            out = out.infer_objects()
        return Value(out, kind, cost)

    @staticmethod
    def fill_value(s: pd.Series, kind: str, v: Any) -> Any:
        if kind == "number" and isinstance(v, bool):
            return int(v)
        if kind == "datetime":
            ts = pd.Timestamp(v)
            tz = getattr(s.dt, "tz", None)
            if tz is not None and ts.tz is None:
                ts = ts.tz_localize(tz)
            return ts
        return v
