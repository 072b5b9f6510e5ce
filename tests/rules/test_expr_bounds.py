"""The evaluator is bounded: no text repetition, capped literals, capped memory, typed errors.

Each test here failed on the evaluator before issue 10 item 1 (it either computed,
allocated, or raised something other than ExpressionError).
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pandas as pd
import pytest

from salesml.rules.expr import (
    MAX_IN_ITEMS,
    MAX_NODES,
    MAX_TEXT_LITERAL,
    ExpressionError,
    compile_expr,
    evaluate_mask,
    mask,
)


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "kind": pd.array(["visit", "call", None, "demo"], dtype="str"),
            "note": pd.Series(["a", "bb", None, "ccc"], dtype=object),
            "mixed": pd.Series(["a", 3, None, "b"], dtype=object),
            "n": pd.array([1, None, 3, 4], dtype="Int64"),
            "big": np.array([2**62, 1, 2, 3], dtype="int64"),
            "x": [1.0, 2.0, np.nan, 4.0],
            "t0": pd.to_datetime(["2026-01-01", "2026-01-02", None, "2026-01-03"]),
            "tz": pd.to_datetime(["2026-01-01"] * 4).tz_localize("Asia/Shanghai"),
            "stage": pd.Categorical(["lead", "quote", None, "lead"]),
        }
    )


def _peak_bytes(fn) -> int:
    """Peak Python/numpy allocation while ``fn`` runs (it must raise ExpressionError)."""
    tracemalloc.start()
    try:
        with pytest.raises(ExpressionError) as info:
            fn()
        return tracemalloc.get_traced_memory()[1], info.value
    finally:
        tracemalloc.stop()


# ---------------------------------------------------------------------- no repetition of text
def test_text_literal_repetition_refused_while_compiling() -> None:
    with pytest.raises(ExpressionError) as info:
        compile_expr('"a"*1000000000 == kind')
    err = info.value
    assert "text cannot be repeated" in err.reason
    assert err.offset == 3  # the '*'
    assert "^" in str(err)


def test_text_repetition_refused_before_allocating(frame: pd.DataFrame) -> None:
    # 10 MB of text would be built before the fix; now nothing is.
    peak, err = _peak_bytes(lambda: mask(frame, '"a" * 10000000 == kind'))
    assert peak < 2_000_000
    peak, err = _peak_bytes(lambda: compile_expr("kind * 6000").evaluate(frame))
    assert peak < 2_000_000
    assert "'kind' is text" in err.reason and err.offset == 5


@pytest.mark.parametrize(
    "text",
    [
        "kind * 3",
        "3 * kind",
        "note * 2",  # an object column of text
        "mixed * 2",  # text among numbers
        'n * "ab"',
        "True * kind",
        "lower(kind) * 2",
        "(kind + kind) * 2",
    ],
)
def test_no_repetition_of_any_text(frame: pd.DataFrame, text: str) -> None:
    with pytest.raises(ExpressionError):
        compile_expr(text).evaluate(frame)


def test_column_kinds_known_while_compiling(frame: pd.DataFrame) -> None:
    """With dtypes (``df.dtypes``) a rule editor refuses ``kind * 6000`` before evaluating."""
    with pytest.raises(ExpressionError, match="text cannot be repeated"):
        compile_expr("kind * 6000", columns=frame.dtypes)
    with pytest.raises(ExpressionError, match="cannot compare a date with a number"):
        compile_expr("t0 > 5", columns=frame.dtypes)
    with pytest.raises(ExpressionError, match="needs a text column"):
        compile_expr("lower(x) == 'a'", columns=frame.dtypes)
    assert compile_expr("x * 2 > n", columns=frame.dtypes).kind == "bool"


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ('"%s" % kind', "does not format text"),
        ('"%d" % n', "does not format text"),
        ("kind % 3", "does not format text"),
        ("kind - 1", "'-' subtracts"),
        ("kind / 2", "'/' divides"),
        ("-kind", "needs a number"),
        ("kind + 1", "joins two texts"),
        ("kind << 2", "'<<'"),
        ("n ** 2", "'**'"),
        ("t0 + 1", "cannot use '+'"),
    ],
)
def test_text_operators(frame: pd.DataFrame, text: str, needle: str) -> None:
    with pytest.raises(ExpressionError) as info:
        compile_expr(text).evaluate(frame)
    assert needle in info.value.reason


# ---------------------------------------------------------------------- literal caps
@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("n + 10**400", "'**'"),
        ("n + 1" + "0" * 400, "too large"),
        ("n + 1" + "0" * 18, "too large"),
        ("n > -1" + "0" * 18, "too large"),
        ("n in [1, 1" + "0" * 30 + "]", "too large"),
        ("fillna(n, 1" + "0" * 30 + ") > 1", "too large"),
        ("x > 1e400", "too large"),
        ("x > 0x" + "f" * 20, "too large"),
        ("kind == '" + "a" * (MAX_TEXT_LITERAL + 1) + "'", "too long"),
    ],
)
def test_literal_caps(frame: pd.DataFrame, text: str, needle: str) -> None:
    with pytest.raises(ExpressionError) as info:
        compile_expr(text).evaluate(frame)
    assert needle in info.value.reason


def test_largest_literals_accepted(frame: pd.DataFrame) -> None:
    assert mask(frame, "big > -999999999999999999").tolist() == [True] * 4
    assert mask(frame, "big > 999999999999999999").tolist() == [True, False, False, False]
    assert mask(frame, "kind != '" + "a" * MAX_TEXT_LITERAL + "'").tolist() == [
        True,
        True,
        False,
        True,
    ]


def test_whole_number_overflow_moves_to_floating_point(frame: pd.DataFrame) -> None:
    got = compile_expr("big * 4").evaluate(frame)
    assert got.dtype == np.float64
    assert got.iloc[0] == pytest.approx(2.0**64)
    assert compile_expr("big + big").evaluate(frame).iloc[0] == pytest.approx(2.0**63)
    # Exact while it fits.
    assert compile_expr("big * 1").evaluate(frame).tolist() == [2**62, 1, 2, 3]
    # Constants too: 1e18 ** 3 would be an integer too large for a column before.
    got = mask(frame, "999999999999999999 * 999999999999999999 * 999999999999999999 > n")
    assert got.tolist() == [True, False, True, True]


# ---------------------------------------------------------------------- size of the work
def test_node_and_list_caps() -> None:
    with pytest.raises(ExpressionError, match="too many parts"):
        compile_expr(" and ".join(["x > 1"] * (MAX_NODES // 3 + 1)))
    with pytest.raises(ExpressionError, match="'in' list has"):
        compile_expr("x in [" + ",".join(["1"] * (MAX_IN_ITEMS + 1)) + "]")
    compile_expr("x in [" + ",".join(["1"] * MAX_IN_ITEMS) + "]")


def test_memory_budget_refuses_before_computing(frame: pd.DataFrame) -> None:
    big = pd.DataFrame({"kind": pd.array(["visit"] * 10_000, dtype="str"), "x": np.ones(10_000)})
    e = compile_expr("kind + kind + kind == 'a'")
    with pytest.raises(ExpressionError, match=r"would need about .* of memory on the 10,000 rows"):
        e.evaluate(big, max_bytes=200_000)
    assert not e.mask(big, max_bytes=2_000_000).any()
    # A long literal broadcast to every row counts too.
    lit = compile_expr("'" + "z" * 400 + "'")
    with pytest.raises(ExpressionError, match="of memory"):
        lit.evaluate(big, max_bytes=1_000_000)
    with pytest.raises(ExpressionError, match="of memory"):
        compile_expr("fillna(kind, '" + "z" * 400 + "') == 'a'").evaluate(
            big.assign(kind=pd.array([None] * 10_000, dtype="str")), max_bytes=1_000_000
        )
    # Numbers: rows x item size.
    with pytest.raises(ExpressionError, match="of memory"):
        compile_expr("x + x + x").evaluate(big, max_bytes=100_000)


def test_categorical_text_is_measured_before_it_is_expanded() -> None:
    long = "x" * 400
    df = pd.DataFrame({"c": pd.Categorical([long] * 20_000)})
    with pytest.raises(ExpressionError, match="of memory"):
        compile_expr("c + '!'").evaluate(df, max_bytes=4_000_000)


def test_evaluate_mask_row_bound(frame: pd.DataFrame) -> None:
    with pytest.raises(ExpressionError, match="has 4 rows; filters evaluate at most 3"):
        evaluate_mask("x > 1", frame, max_rows=3)
    assert evaluate_mask("x > 1", frame, max_rows=None).tolist() == [False, True, False, True]


# ---------------------------------------------------------------------- every failure typed
@pytest.mark.parametrize(
    "text",
    [
        "abs(kind) > 1",  # ArrowNotImplementedError before
        "n + 1" + "0" * 30,  # OverflowError before
        "1 / 0 > 1",  # ZeroDivisionError
        "1 % 0 > 1",
        "t0 > 'not a date'",
        "t0 > tz",  # tz-naive vs tz-aware
        "t0 - tz > 1",
        "mixed > 1",
        "stage > 1",
        "kind > t0",  # a date with a text column
        "days(t0 - 5)",
        "month(x) == 1",
        "sqrt(kind) > 1",
        "fillna(x, 'a') > 1",
        "fillna(t0, 'soon') > t0",
        "x > None",
        "None + 1 > 1",
        "kind",  # not a condition
        "x",
        "x and kind",
        "not x",
    ],
)
def test_failures_are_expression_errors(frame: pd.DataFrame, text: str) -> None:
    with pytest.raises(ExpressionError) as info:
        mask(frame, text)
    err = info.value
    assert err.reason and "Traceback" not in err.reason
    assert err.offset is not None, "the caret shows where"


def test_duplicate_columns_and_non_frames(frame: pd.DataFrame) -> None:
    dup = pd.concat([frame[["x"]], frame[["x"]]], axis=1)
    with pytest.raises(ExpressionError, match="appears more than once"):
        mask(dup, "x > 1")
    with pytest.raises(ExpressionError, match="on a table"):
        compile_expr("x > 1").mask({"x": [1]})  # type: ignore[arg-type]


def test_missing_and_empty_columns_behave(frame: pd.DataFrame) -> None:
    df = frame.assign(empty=pd.Series([None] * 4, dtype=object))
    assert mask(df, "empty + 1 > 0").tolist() == [False] * 4
    assert mask(df, "isnull(empty)").tolist() == [True] * 4
    assert mask(df, "fillna(empty, 'z') == 'z'").tolist() == [True] * 4
    assert mask(df, "lower(empty) == 'a'").tolist() == [False] * 4
    assert mask(df, "stage == 'lead'").tolist() == [True, False, False, True]
    assert mask(df, "lower(stage) < 'm'").tolist() == [True, False, False, True]
    assert mask(df, "note + '!' == 'bb!'").tolist() == [False, True, False, False]
