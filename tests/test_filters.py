"""The one filter spec shared by analyses, reports and apps."""

from __future__ import annotations

import pandas as pd
import pytest

from salesml.filters import MAX_VALUES, FilterSpec, region_column
from salesml.rules.expr import ExpressionError


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "region": ["华东", "华南", None, "华东"],
            "segment": ["key_account", "mid_market", "key_account", "small_business"],
            "amount": [100.0, 5.0, 50.0, None],
            "n": [1, 2, 3, 4],
        }
    )


def test_forms_parse_to_the_same_spec(frame: pd.DataFrame) -> None:
    a = FilterSpec.parse({"region": "华东", "segment": None})
    b = FilterSpec.parse({"region": ["华东"]})
    assert a == b and hash(a) == hash(b)
    assert FilterSpec.parse(a) is a
    assert not FilterSpec.parse(None) and not FilterSpec.parse({}) and not FilterSpec.parse(" ")
    assert a.mask(frame).tolist() == [True, False, False, True]


def test_expression_and_columns_combine(frame: pd.DataFrame) -> None:
    f = FilterSpec.parse({"region": "华东", "where": "amount >= 50"})
    assert f.mask(frame).tolist() == [True, False, False, False]  # missing amount never matches
    assert FilterSpec.parse("amount < 60").apply(frame)["n"].tolist() == [2, 3]


def test_typed_text_is_read_as_the_column_type(frame: pd.DataFrame) -> None:
    # values typed on a command line or in a dashboard arrive as text
    assert FilterSpec.parse({"n": "1"}).mask(frame).tolist() == [True, False, False, False]
    assert FilterSpec.parse({"n": "x"}).mask(frame).sum() == 0
    assert FilterSpec.parse({"n": [1, 3]}).mask(frame).tolist() == [True, False, True, False]


def test_without_renamed_and_slug() -> None:
    f = FilterSpec.parse({"region": "华东", "segment": ["key_account", "mid_market"]})
    assert f.without("region").names == ["segment"]
    assert f.renamed({"region": "rep_region"}).names == ["rep_region", "segment"]
    assert f.slug() == "region-华东__segment-key_account+mid_market"
    assert "/" not in FilterSpec.parse({"region": "../x/y"}).slug()
    assert f.describe("zh") == "区域: 华东; 客户类型: 大客户, 中型客户"


def test_bad_filters_are_refused_clearly(frame: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="plain column name"):
        FilterSpec.parse({"a; drop": 1})
    with pytest.raises(ValueError, match="at most"):
        FilterSpec.parse({"n": list(range(MAX_VALUES + 1))})
    with pytest.raises(ExpressionError):
        FilterSpec.parse("__import__('os')")
    with pytest.raises(TypeError):
        FilterSpec.parse(42)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="no such column"):
        FilterSpec.parse({"team": "x"}).mask(frame, table="deals")
    assert region_column("rep") == "rep_region" and region_column(None) == "region"
    with pytest.raises(ValueError):
        region_column("store")
