"""Bad or unusual path input in ChannelAttribution's conventions (issue 10 item 6).

Each case is either a clear error naming the column and row, or a stated, counted
correction (a warning with the numbers, and a note on the result).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from salesml.attribution import path_table, touch_attribution


def _paths(**cols) -> pd.DataFrame:
    base = {
        "path": ["a>b", "b>c", "a", "c>a"],
        "total_conversions": [3, 1, 2, 1],
        "total_null": [5, 4, 2, 3],
    }
    base.update(cols)
    return pd.DataFrame(base)


def _markov(df: pd.DataFrame, **kw) -> pd.Series:
    return touch_attribution(df, model="markov", **kw).table.set_index("channel")["conversions"]


def test_spaces_around_the_separator_are_trimmed() -> None:
    spaced = _paths(path=["a > b", " b >c ", "a ", "c>  a"])
    got = _markov(spaced)
    assert sorted(got.index) == ["a", "b", "c"]
    pd.testing.assert_series_equal(got, _markov(_paths()))
    # ChannelAttribution's PathData spelling
    pt = path_table(pd.DataFrame({"path": ["alpha > beta > eta"], "total_conversions": [1]}))
    assert list(pt.channels) == ["alpha", "beta", "eta"]


@pytest.mark.parametrize("bad", ["a>>b", "a>b>", ">a>b", "a> >b"])
def test_empty_touches_are_dropped_and_counted(bad: str) -> None:
    df = _paths(path=[bad, "b>c", "a", "c>a"])
    with pytest.warns(UserWarning, match=r"1 path\(s\) had empty touches") as rec:
        r = touch_attribution(df, model=["first", "markov"])
    assert "" not in set(r.table["channel"])
    assert sorted(set(r.table["channel"])) == ["a", "b", "c"]
    # the correction is stated on the result too, with the count
    assert any("empty touches" in s for s in r.key_findings("en"))
    assert "1" in str(rec[0].message)
    clean = _markov(_paths())
    pd.testing.assert_series_equal(_markov_quiet(df), clean)


def _markov_quiet(df: pd.DataFrame) -> pd.Series:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _markov(df)


def test_empty_touches_can_be_refused() -> None:
    df = _paths(path=["a>>b", "b>c", "a", "c>a"])
    with pytest.raises(ValueError, match=r"column 'path'.*row 0.*'a>>b'"):
        touch_attribution(df, model="markov", empty_touches="raise")


def test_touch_lists_are_not_split_on_the_separator() -> None:
    df = pd.DataFrame(
        {
            "touches": [["search > brand", "email"], ["email"], ["search > brand"]],
            "conversions": [2, 1, 1],
            "nulls": [1, 3, 2],
        }
    )
    r = touch_attribution(df, model="linear").table
    assert sorted(r["channel"]) == ["email", "search > brand"]
    assert r["conversions"].sum() == pytest.approx(4)


def test_empty_and_missing_paths_are_dropped_with_a_count() -> None:
    df = _paths(path=["a>b", "", None, "c>a"])
    with pytest.warns(UserWarning, match="2 journey row") as rec:
        r = touch_attribution(df, model="markov")
    msg = str(rec[0].message)
    assert "3 conversions" in msg and "6 non-conversions" in msg
    # totals of the result are those of the paths kept, and it says so
    assert r.table["conversions"].sum() == pytest.approx(4)
    assert any("2 journey row" in s for s in r.key_findings("en"))


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("total_conversions", np.nan),
        ("total_conversions", -1),
        ("total_conversions", np.inf),
        ("total_null", np.nan),
        ("total_null", -2),
        ("total_null", -np.inf),
    ],
)
def test_bad_counts_name_column_and_row(column: str, value: float) -> None:
    df = _paths()
    df[column] = df[column].astype("float64")
    df.loc[2, column] = value
    with pytest.raises(ValueError, match=rf"column '{column}'.*row 2") as info:
        touch_attribution(df, model="markov")
    assert "'a'" in str(info.value)  # the path of that row


def test_text_count_error_names_the_column() -> None:
    df = _paths(total_conversions=["3", "1", "two", "1"])
    with pytest.raises(ValueError, match=r"column 'total_conversions'.*row 2.*'two'"):
        touch_attribution(df, model="markov")


def test_all_zero_conversions_is_a_clear_error() -> None:
    df = _paths(total_conversions=[0, 0, 0, 0])
    with pytest.raises(ValueError, match="no journey converted"):
        touch_attribution(df, model="markov")
    with pytest.raises(ValueError, match="no journey converted"):
        touch_attribution(df, model="first")


def test_converted_flags_must_be_booleans() -> None:
    df = pd.DataFrame({"path": ["a>b", "b", "a"], "converted": [True, None, False]})
    with pytest.raises(ValueError, match=r"column 'converted'.*row 1"):
        touch_attribution(df, model="markov")
    df = pd.DataFrame({"path": ["a>b", "b", "a"], "converted": ["yes", "no", "no"]})
    with pytest.raises(ValueError, match=r"column 'converted'"):
        touch_attribution(df, model="markov")


def test_bad_conversion_value_names_column_and_row() -> None:
    df = _paths(total_conversion_value=[10.0, np.inf, 5.0, 1.0])
    with pytest.raises(ValueError, match=r"column 'total_conversion_value'.*row 1"):
        touch_attribution(df, model="markov")
