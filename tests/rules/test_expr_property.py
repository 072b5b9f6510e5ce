"""Property: random expressions over a small mixed frame raise nothing but ExpressionError
and never produce a value larger than the memory cap they were given."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from salesml.rules._grammar import Column
from salesml.rules.expr import FUNCTIONS, ExpressionError, compile_expr, evaluate_mask

CAP = 4096  # bytes the values alive at one time may take, for 6 rows


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "num": [1.5, -2.0, np.nan, 0.0, 1e300, 7.0],
            "cnt": pd.array([1, None, 3, 0, -4, 2**40], dtype="Int64"),
            "big": np.array([2**62, -(2**62), 1, 0, 5, 9], dtype="int64"),
            "txt": pd.array(["visit", "华东", None, "", "a" * 50, "call"], dtype="str"),
            "obj": pd.Series(["a", 3, None, 2.5, "b", True], dtype=object),
            "cat": pd.Categorical(["x", "y", None, "x", "z", "y"]),
            "t": pd.to_datetime(
                ["2026-01-01", None, "2026-02-01", "2025-12-31", "2026-01-05", "2026-03-01"]
            ),
            "td": pd.to_timedelta(["1D", "2h", None, "0s", "-3D", "30min"]),
            "flag": pd.Series([True, False, None, True, False, True], dtype=object),
            "empty": pd.Series([None] * 6, dtype=object),
        },
        index=[3, 1, 4, 1, 5, 9],  # a duplicated index, as exports have
    )


_NAMES = ["num", "cnt", "big", "txt", "obj", "cat", "t", "td", "flag", "empty", "zz", "ｎｕｍ"]
_LITERALS = st.one_of(
    st.integers(-(10**20), 10**20).map(str),
    st.sampled_from(
        ["0", "1", "-1", "2.5", "1e400", "1e308", "0x7fffffffffffffff", "True", "None"]
    ),
    st.text(alphabet="ab华 %s{}", max_size=6).map(repr),
    st.integers(0, 600).map(lambda n: repr("z" * n)),
    st.sampled_from(['"2026-01-15"', '"not a date"']),
)
_LEAF = st.one_of(st.sampled_from(_NAMES), _LITERALS)
_BINARY = ["+", "-", "*", "/", "%", "**", "//", "<<", "&", "<", "<=", "==", "!=", ">", ">="]
_FUNCS = [*FUNCTIONS, "open", "getattr"]


def _extend(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.tuples(children, st.sampled_from(_BINARY), children).map(
            lambda t: f"({t[0]} {t[1]} {t[2]})"
        ),
        st.tuples(children, st.sampled_from(["and", "or"]), children).map(
            lambda t: f"({t[0]} {t[1]} {t[2]})"
        ),
        children.map(lambda c: f"not ({c})"),
        children.map(lambda c: f"-({c})"),
        st.tuples(st.sampled_from(_FUNCS), st.lists(children, min_size=1, max_size=2)).map(
            lambda t: f"{t[0]}({', '.join(t[1])})"
        ),
        st.tuples(children, st.sampled_from(["in", "not in"]), st.lists(_LITERALS, max_size=4)).map(
            lambda t: f"({t[0]} {t[1]} [{', '.join(t[2])}])"
        ),
        children.map(lambda c: f"({c}).real"),
        children.map(lambda c: f"({c})[0]"),
    )


_EXPR = st.recursive(_LEAF, _extend, max_leaves=10)

# Mostly well-typed expressions, so that many evaluate and the memory cap is exercised.
_NUM_LEAF = st.one_of(
    st.sampled_from(["num", "cnt", "big", "len(txt)", "days(td)", "hours(t - t)", "month(t)"]),
    st.sampled_from(["0", "1", "-3", "2.5", "999999999999999999", "True"]),
)
_TXT_LEAF = st.one_of(
    st.sampled_from(["txt", "cat", "lower(txt)", "upper(cat)", 'fillna(txt, "无")']),
    st.integers(0, 400).map(lambda n: repr("y" * n)),
)


def _num_ext(c: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.tuples(c, st.sampled_from(list("+-*/%")), c).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.tuples(st.sampled_from(["abs", "sqrt", "log1p"]), c).map(lambda t: f"{t[0]}({t[1]})"),
        c.map(lambda x: f"fillna({x}, 0)"),
    )


_NUMERIC = st.recursive(_NUM_LEAF, _num_ext, max_leaves=6)
_TEXT = st.recursive(
    _TXT_LEAF,
    lambda c: st.one_of(
        st.tuples(c, c).map(lambda t: f"({t[0]} + {t[1]})"),
        c.map(lambda x: f"lower({x})"),
    ),
    max_leaves=6,
)
_CMP = ["<", "<=", "==", "!=", ">", ">="]
_COND_LEAF = st.one_of(
    st.tuples(_NUMERIC, st.sampled_from(_CMP), _NUMERIC).map(" ".join),
    st.tuples(_TEXT, st.sampled_from(_CMP), _TEXT).map(" ".join),
    st.tuples(_TEXT, st.sampled_from(["in", "not in"]), st.lists(_LITERALS, max_size=3)).map(
        lambda t: f"{t[0]} {t[1]} [{', '.join(t[2])}]"
    ),
    _TEXT.map(lambda x: f'contains({x}, "a")'),
    st.sampled_from(["isnull(num)", "notnull(cat)", "flag", 't >= "2026-01-02"']),
)
_CONDITION = st.recursive(
    _COND_LEAF,
    lambda c: st.one_of(
        st.tuples(c, st.sampled_from(["and", "or"]), c).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        c.map(lambda x: f"not ({x})"),
    ),
    max_leaves=4,
)
_ANY = st.one_of(_EXPR, _NUMERIC, _TEXT, _CONDITION)


@pytest.mark.slow
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=_ANY)
def test_random_expressions_are_bounded(frame: pd.DataFrame, text: str) -> None:
    try:
        expr = compile_expr(text)
        out = expr.evaluate(frame, max_bytes=CAP)
    except ExpressionError as e:
        assert e.reason
        return
    assert isinstance(out, pd.Series) and len(out) == len(frame)
    assert out.index.equals(frame.index)
    if not isinstance(expr.root, Column):  # a bare column is the frame's own data
        assert out.memory_usage(index=False, deep=True) <= CAP
    try:
        got = evaluate_mask(expr, frame, max_bytes=CAP)
    except ExpressionError:
        return
    assert got.dtype == bool and got.shape == (len(frame),)


@settings(max_examples=300, deadline=None)
@given(
    text=st.text(
        alphabet=st.sampled_from(list("()[]'\"+-*/%<>=!., #:0129abnx_华ｘ＞“　\n\\")), max_size=60
    )
)
def test_random_text_only_raises_expression_errors(frame: pd.DataFrame, text: str) -> None:
    try:
        compile_expr(text).evaluate(frame.rename(columns={"num": "x", "txt": "a"}), max_bytes=CAP)
    except ExpressionError as e:
        if e.offset is not None:
            assert 0 <= e.offset <= len(text)
