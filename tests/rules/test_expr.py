"""Tests of the safe rule-expression parser."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from salesml.rules.expr import MAX_DEPTH, MAX_LENGTH, ExpressionError, compile_expr, mask


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "kind": pd.array(["visit", "call", None, "demo"], dtype="str"),
            "duration_min": [45.0, 5.0, np.nan, 30.0],
            "n": pd.array([1, None, 3, 4], dtype="Int64"),
            "t0": pd.to_datetime(["2026-01-01", "2026-01-02", None, "2026-01-03"]),
            "t1": pd.to_datetime(["2026-01-02", "2026-01-05", "2026-01-01", None]),
            "region": ["华东", "华南", "华东", "西南"],
        },
        index=[10, 11, 12, 13],
    )


REFUSED = [
    ("__import__('os')", "function '__import__'"),
    ("().__class__", "attribute access"),
    ("open('x')", "function 'open'"),
    ("a.b.c", "attribute access"),
    ("x[0]", "subscripts"),
    ("lambda: 1", "lambda"),
    ("[x for x in y]", "comprehensions"),
    ("{x for x in y}", "comprehensions"),
    ("(x for x in y)", "generator"),
    ("f'{x}'", "f-strings"),
    ("(y := 1)", "':='"),
    ("x ** 2", "'**'"),
    ("x // 2", "'//'"),
    ("x if y else z", "conditional"),
    ("x is None", "'is'"),
    ("__class__", "'_'"),
    ("_private > 1", "'_'"),
    ("import os", "invalid syntax"),
    ("kind == 'a'; import os", "invalid syntax"),
    ("x +", "invalid syntax"),
    ("kind in y", "list or tuple"),
    ("kind in [y]", "only literals"),
    ("abs", "is a function"),
    ("abs(x, y)", "takes 1"),
    ("contains(kind, s='a')", "keyword"),
    ("getattr(x, 'y')", "function 'getattr'"),
    ("x.__globals__", "attribute"),
    ("{'a': 1}", "dict"),
    ("~x", "'~'"),
    ("b'abc' == x", "bytes"),
    ("[1, 2]", "only allowed after 'in'"),
    ("", "empty"),
]


@pytest.mark.parametrize(("text", "needle"), REFUSED)
def test_refuses_outside_grammar(text: str, needle: str) -> None:
    with pytest.raises(ExpressionError) as info:
        compile_expr(text)
    assert needle in str(info.value)


def test_error_points_at_offending_part() -> None:
    with pytest.raises(ExpressionError) as info:
        compile_expr('kind == "visit" and os.system("rm")')
    err = info.value
    assert err.offset == len('kind == "visit" and os')  # the '.system'
    assert "^" in str(err) and "os.system" in str(err)
    with pytest.raises(ExpressionError) as info:
        compile_expr('region == "华东" and x[0]')
    assert info.value.offset == len('region == "华东" and ')


def test_refuses_deep_nesting_and_long_input_cleanly() -> None:
    deep = "(" * 10_000 + "1" + ")" * 10_000
    with pytest.raises(ExpressionError, match="too long"):
        compile_expr(deep)
    with pytest.raises(ExpressionError, match="too long"):
        compile_expr("'" + "a" * 100_000 + "'")
    with pytest.raises(ExpressionError, match="nested too deeply"):
        compile_expr("(" * (MAX_DEPTH + 5) + "1" + ")" * (MAX_DEPTH + 5))
    with pytest.raises(ExpressionError, match="nested too deeply"):
        compile_expr("-" * (MAX_LENGTH - 1) + "1")
    with pytest.raises(ExpressionError, match="nested too deeply"):
        compile_expr(" + ".join(["x"] * 200))
    with pytest.raises(ExpressionError):
        compile_expr(123)  # type: ignore[arg-type]


def test_unknown_column_lists_available(frame: pd.DataFrame) -> None:
    with pytest.raises(ExpressionError) as info:
        mask(frame, "kindd == 'visit'", table="activities")
    msg = str(info.value)
    assert "'kindd'" in msg and "activities" in msg and "duration_min" in msg
    with pytest.raises(ExpressionError, match="unknown column 'zz'"):
        compile_expr("zz > 1", columns=frame.columns)


ACCEPTED = [
    ('kind == "visit" and duration_min >= 30', [True, False, False, False]),
    ('kind != "visit"', [False, True, False, True]),
    ('kind in ["visit", "demo"]', [True, False, False, True]),
    ('kind not in ("visit",)', [False, True, False, True]),
    ("isnull(kind) or n > 2", [False, False, True, True]),
    ("notnull(duration_min)", [True, True, False, True]),
    ("days(t1 - t0) > 1", [False, True, False, False]),
    ("hours(t1 - t0) == 24", [True, False, False, False]),
    ("0 < duration_min <= 30", [False, True, False, True]),
    ("kind == None", [False, False, True, False]),
    ("kind != None", [True, True, False, True]),
    ("not (n > 2)", [True, True, False, False]),
    ('contains(kind, "is")', [True, False, False, False]),
    ('lower(upper(kind)) == "visit"', [True, False, False, False]),
    ('startswith(region, "华")', [True, True, True, False]),
    ('region == "华东"', [True, False, True, False]),
    ('t0 >= "2026-01-02"', [False, True, False, True]),
    ("month(t0) == 1 and weekday(t0) >= 3", [True, True, False, True]),
    ("fillna(duration_min, 0) > 1", [True, True, False, True]),
    ("abs(-duration_min) > 10 and log1p(duration_min) > 0", [True, False, False, True]),
    ("duration_min % 2 == 1", [True, True, False, False]),
    ("n in [1, -4, 3.0]", [True, False, True, False]),
    ("True", [True] * 4),
    ("len(kind) == 4", [False, True, False, True]),
]


@pytest.mark.parametrize(("text", "expected"), ACCEPTED)
def test_accepts_documented_grammar(frame: pd.DataFrame, text: str, expected: list[bool]) -> None:
    got = mask(frame, text)
    assert got.dtype == bool
    assert got.index.equals(frame.index)
    assert got.tolist() == expected


def test_values_and_columns(frame: pd.DataFrame) -> None:
    e = compile_expr("duration_min / 60 + n * 2")
    assert e.columns == ("duration_min", "n")
    v = e.evaluate(frame)
    assert v.index.equals(frame.index)
    assert v.iloc[0] == pytest.approx(0.75 + 2)
    assert pd.isna(v.iloc[1])
    const = compile_expr("1 + 2").evaluate(frame)
    assert const.tolist() == [3, 3, 3, 3]
    assert compile_expr("isnull(kind)").columns == ("kind",)


def test_input_not_modified(frame: pd.DataFrame) -> None:
    before = frame.copy()
    mask(frame, "duration_min - 1 > 3 and lower(kind) == 'visit'")
    pd.testing.assert_frame_equal(frame, before)


def test_type_errors_are_expression_errors(frame: pd.DataFrame) -> None:
    with pytest.raises(ExpressionError, match="text column"):
        mask(frame, "lower(n) == 'a'")
    with pytest.raises(ExpressionError, match="time difference"):
        mask(frame, "days(duration_min) > 1")
    with pytest.raises(ExpressionError, match="compare"):
        mask(frame, "t0 > 5")


# ---------------------------------------------------------------------- hypothesis
_COLS = ("a", "b", "c")


@st.composite
def _numeric(draw: st.DrawFn, depth: int = 0) -> tuple[str, object]:
    """A random arithmetic expression: (text, function of a dict of numpy arrays)."""
    if depth >= 3 or draw(st.booleans()):
        if draw(st.booleans()):
            name = draw(st.sampled_from(_COLS))
            return name, lambda env, n=name: env[n]
        k = draw(st.integers(-5, 5))
        return str(k), lambda env, k=k: np.full_like(env["a"], float(k))
    op = draw(st.sampled_from(["+", "-", "*", "neg", "abs"]))
    lt, lf = draw(_numeric(depth + 1))
    if op == "neg":
        return f"-({lt})", lambda env: -lf(env)
    if op == "abs":
        return f"abs({lt})", lambda env: np.abs(lf(env))
    rt, rf = draw(_numeric(depth + 1))
    fn = {"+": np.add, "-": np.subtract, "*": np.multiply}[op]
    return f"({lt}) {op} ({rt})", lambda env: fn(lf(env), rf(env))


@st.composite
def _condition(draw: st.DrawFn, depth: int = 0) -> tuple[str, object]:
    if depth >= 2 or draw(st.booleans()):
        lt, lf = draw(_numeric())
        rt, rf = draw(_numeric())
        op = draw(st.sampled_from(["<", "<=", ">", ">=", "==", "!="]))
        fn = {
            "<": np.less,
            "<=": np.less_equal,
            ">": np.greater,
            ">=": np.greater_equal,
            "==": np.equal,
            "!=": np.not_equal,
        }[op]
        return f"({lt}) {op} ({rt})", lambda env: fn(lf(env), rf(env))
    kind = draw(st.sampled_from(["and", "or", "not"]))
    at, af = draw(_condition(depth + 1))
    if kind == "not":
        return f"not ({at})", lambda env: ~af(env)
    bt, bf = draw(_condition(depth + 1))
    fn = np.logical_and if kind == "and" else np.logical_or
    return f"({at}) {kind} ({bt})", lambda env: fn(af(env), bf(env))


@settings(max_examples=150, deadline=None)
@given(
    cond=_condition(),
    values=st.lists(st.tuples(*(st.integers(-20, 20) for _ in _COLS)), min_size=1, max_size=12),
)
def test_random_safe_expressions_match_reference(cond: tuple[str, object], values: list) -> None:
    text, ref = cond
    arr = np.array(values, dtype=float)
    df = pd.DataFrame(arr, columns=list(_COLS), index=np.arange(len(arr)) * 3 + 1)
    env = {c: df[c].to_numpy() for c in _COLS}
    got = mask(df, text)
    np.testing.assert_array_equal(got.to_numpy(), ref(env))  # type: ignore[operator]
    assert got.index.equals(df.index)


def test_chinese_column_names_and_values() -> None:
    df = pd.DataFrame({"金额": [100.0, 5.0, None], "大区": ["华东", "华南", "华东"]})
    assert mask(df, '金额 >= 50 and 大区 == "华东"').tolist() == [True, False, False]
    assert compile_expr("金额 * 2").columns == ("金额",)
