"""Names are typed exactly, aliases carry Chinese metric names, carets point into the user's words."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from salesml.rules._base import display_width
from salesml.rules.expr import Expr, ExpressionError, compile_expr, evaluate_mask, mask

ALIASES = {"月采购额": "monthly_purchase", "复购率": "repurchase_rate", "ｋｐｉ": "kpi"}


@pytest.fixture(scope="module")
def customers() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "monthly_purchase": [60_000.0, 10.0, np.nan, 80_000.0],
            "repurchase_rate": [0.7, 0.9, 0.5, 0.65],
            "kind": pd.array(["a", "b", None, "a"], dtype="str"),
            "kpi": [1, 2, 3, 4],
        }
    )


def _caret_column(err: ExpressionError) -> int:
    """Display column of the first caret, relative to the shown line."""
    lines = str(err).split("\n")
    return display_width(lines[2][2:].split("^")[0])


# ---------------------------------------------------------------------- full-width names
@pytest.mark.parametrize(
    ("text", "written", "offset"),
    [
        ('ｋｉｎｄ == "a"', "ｋｉｎｄ", 0),
        ("Ｔｒｕｅ", "Ｔｒｕｅ", 0),  # Python reads it as the name 'True'
        ("ﬁle > 1", "ﬁle", 0),  # a ligature
        ("x > 1 and ｌｅｎ(kind) > 1", "ｌｅｎ", 10),
    ],
)
def test_full_width_names_are_refused(text: str, written: str, offset: int) -> None:
    with pytest.raises(ExpressionError) as info:
        compile_expr(text)
    err = info.value
    assert "full-width or compatibility characters" in err.reason
    assert repr(written) in err.reason
    assert err.offset == offset and err.length == len(written)


def test_full_width_alias_is_allowed(customers: pd.DataFrame) -> None:
    e = compile_expr("ｋｐｉ > 2", aliases=ALIASES)
    assert mask(customers, e, table="c").tolist() == [False, False, True, True]
    # ... as declared only: 'kpi' typed with ASCII letters is the column itself.
    assert compile_expr("ｋｐｉ > 2", aliases=ALIASES).columns == ("kpi",)


def test_full_width_operators_get_a_hint() -> None:
    with pytest.raises(ExpressionError) as info:
        compile_expr("月采购额 ＞ 50000", aliases=ALIASES)
    err = info.value
    assert err.offset == 5 and "type '>' instead" in err.reason
    with pytest.raises(ExpressionError, match="type '\"' instead"):
        compile_expr("kind == “a”")
    with pytest.raises(ExpressionError, match="'ａｎｄ' is typed in full-width"):
        compile_expr("x > 1 ａｎｄ y > 2")
    with pytest.raises(ExpressionError, match="type ',' instead"):
        compile_expr("x in [1，2]")
    with pytest.raises(ExpressionError, match="full-width space"):
        compile_expr("x　> 1")


# ---------------------------------------------------------------------- aliases
def test_chinese_aliases_evaluate(customers: pd.DataFrame) -> None:
    e = compile_expr("月采购额 > 50000 and 复购率 > 0.6", aliases=ALIASES)
    assert e.columns == ("monthly_purchase", "repurchase_rate")
    assert e.names == ("月采购额", "复购率")
    assert e.mask(customers).tolist() == [True, False, False, True]
    got = evaluate_mask("月采购额 > 50000 and 复购率 > 0.6", customers, aliases=ALIASES)
    assert got.dtype == bool and got.tolist() == [True, False, False, True]


def test_alias_errors_point_at_the_users_words(customers: pd.DataFrame) -> None:
    text = "月采购额 > 50000 and 复购率x > 0.6"
    with pytest.raises(ExpressionError) as info:
        compile_expr(text, columns=customers.columns, aliases=ALIASES)
    err = info.value
    assert err.offset == text.index("复购率x") and err.length == 4
    assert "did you mean '复购率'" in err.reason
    # The caret sits under the word, counting each Chinese character as two columns.
    assert _caret_column(err) == display_width(text[: err.offset])
    assert str(err).split("\n")[2].count("^") == display_width("复购率x")


def test_alias_to_a_missing_column_names_both() -> None:
    df = pd.DataFrame({"monthly_purchase": [1.0]})
    with pytest.raises(ExpressionError) as info:
        mask(df, compile_expr("复购率 > 0.6", aliases=ALIASES), table="customers")
    assert "'复购率' stands for column 'repurchase_rate'" in info.value.reason
    assert info.value.offset == 0


def test_syntax_errors_point_at_the_end_not_the_start() -> None:
    text = "月采购额 > 50000 and 复购率 >"
    with pytest.raises(ExpressionError) as info:
        compile_expr(text, aliases=ALIASES)
    err = info.value
    assert err.offset == len(text)
    assert "stops too early" in err.reason
    assert _caret_column(err) == display_width(text)


def test_offsets_refer_to_the_original_text() -> None:
    text = "  \n  x > 1 and\n   y.z > 2"
    with pytest.raises(ExpressionError) as info:
        compile_expr(text)
    err = info.value
    assert text[err.offset : err.offset + 2] == ".z"
    assert err.line == 3 and err.column == 5
    assert "line 3, column 5" in str(err)
    assert err.text == text


@pytest.mark.parametrize(
    "aliases",
    [{"月 采购额": "a"}, {"and": "a"}, {"len": "a"}, {"_x": "a"}, {"a": ""}, {"复购率%": "a"}],
)
def test_bad_aliases_refused(aliases: dict[str, str]) -> None:
    with pytest.raises(ExpressionError, match="alias"):
        compile_expr("x > 1", aliases=aliases)


def test_alias_cannot_be_called() -> None:
    with pytest.raises(ExpressionError, match="function '月采购额' is not allowed"):
        compile_expr("月采购额(1) > 2", aliases=ALIASES)


# ---------------------------------------------------------------------- literal-only arguments
@pytest.mark.parametrize(
    "text",
    [
        "fillna(x, kind) > 1",
        "fillna(x, x) > 1",
        "fillna(x, 1 + 1) > 1",
        "fillna(x, None) > 1",
        "fillna(x, abs(-1)) > 1",
        "contains(kind, kind)",
        "contains(kind, lower('A'))",
        "startswith(kind, 1)",
        "endswith(kind, None)",
    ],
)
def test_literal_only_arguments(text: str) -> None:
    with pytest.raises(ExpressionError) as info:
        compile_expr(text)
    assert info.value.offset == text.index(",") + 2  # the second argument


def test_literal_arguments_accepted(customers: pd.DataFrame) -> None:
    assert mask(customers, "fillna(monthly_purchase, -1) < 0").tolist() == [
        False,
        False,
        True,
        False,
    ]
    assert mask(customers, 'fillna(kind, "z") == "z"').tolist() == [False, False, True, False]


# ---------------------------------------------------------------------- conditions are conditions
@pytest.mark.parametrize("text", ["kpi", "kpi and kind == 'a'", "not kpi", "kind or kpi > 1"])
def test_numbers_and_texts_are_not_conditions(customers: pd.DataFrame, text: str) -> None:
    with pytest.raises(ExpressionError, match="not a condition"):
        evaluate_mask(text, customers)


def test_conditions_refused_statically_when_known() -> None:
    with pytest.raises(ExpressionError, match="'5' is a number, not a condition"):
        compile_expr("x > 1 and 5")
    with pytest.raises(ExpressionError, match="is text, not a condition"):
        compile_expr("not 'a'")


def test_in_is_not_chained() -> None:
    with pytest.raises(ExpressionError, match="on its own") as info:
        compile_expr("x in [1] == True")
    assert info.value.offset == 2
    compile_expr("0 < x in [1, 2]")


def test_comments_refused_multiline_accepted(customers: pd.DataFrame) -> None:
    with pytest.raises(ExpressionError, match="comments"):
        compile_expr("kpi > 1 # and kpi < 3\n and kpi > 0")
    assert mask(customers, "kpi > 1 and\n  kpi < 4").tolist() == [False, True, True, False]


def test_compile_without_data_for_rule_files() -> None:
    names = ["monthly_purchase", "repurchase_rate"]
    e = compile_expr("月采购额 > 50000", columns=names, aliases=ALIASES)
    assert isinstance(e, Expr) and e.kind == "bool"
    with pytest.raises(ExpressionError, match="unknown column 'monthly'; did you mean"):
        compile_expr("monthly > 1", columns=names)


def test_evaluate_mask_contract(customers: pd.DataFrame) -> None:
    got = evaluate_mask("monthly_purchase > 5", customers)
    assert isinstance(got, np.ndarray) and got.dtype == bool
    assert got.tolist() == [True, True, False, True]  # missing -> False
    compiled = compile_expr("月采购额 > 5", aliases=ALIASES)
    assert evaluate_mask(compiled, customers).tolist() == [True, True, False, True]
    with pytest.raises(ExpressionError, match="pass aliases to compile_expr"):
        evaluate_mask(compiled, customers, aliases=ALIASES)
    with pytest.raises(ExpressionError, match="not a condition"):
        evaluate_mask("monthly_purchase * 2", customers)
    assert evaluate_mask("True", customers.iloc[:0]).shape == (0,)
