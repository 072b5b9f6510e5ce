"""Compact loads: foreign-key ids and categories as pandas ``category`` (issue 16)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from salesml.data.io import load_dataset, save_dataset
from salesml.data.schema import SPECS
from salesml.data.validate import validate
from salesml.data.validate.parse import compact_columns
from salesml.data.validate.rules import _later_duplicates

FIXTURES = Path(__file__).parent / "fixtures"


def _as_plain(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with its categorical columns back as pandas ``str``."""
    cats = [c for c in df.columns if isinstance(df[c].dtype, pd.CategoricalDtype)]
    return df.astype({c: "str" for c in cats}) if cats else df


def _assert_compact(df: pd.DataFrame, name: str) -> None:
    for c in compact_columns(name):
        if c in df.columns:
            assert isinstance(df[c].dtype, pd.CategoricalDtype), (name, c, df[c].dtype)
            assert df[c].cat.categories.dtype == "str", (name, c)
            assert "" not in df[c].cat.categories
            # in value order, not the order met in the files: sorting and grouping by
            # the column give the order of a plain load
            assert df[c].cat.categories.is_monotonic_increasing, (name, c)
    for c in SPECS[name].key:  # a table's own key keeps its dtype
        assert not isinstance(df[c].dtype, pd.CategoricalDtype), (name, c)


@pytest.fixture(scope="module")
def month_folder(demo_data, tmp_path_factory):
    data, _ = demo_data
    return save_dataset(data, tmp_path_factory.mktemp("compact") / "month", partition="month")


def test_compact_columns_are_the_repeating_text_columns():
    assert compact_columns("activities") == ("customer_id", "deal_id", "rep_id", "kind", "channel")
    assert "deal_id" not in compact_columns("deals")  # a table's own key stays str
    assert "lead_id" in compact_columns("deals") and "stage" in compact_columns("deals")


def test_compact_load_equals_plain_load(month_folder):
    plain = load_dataset(month_folder, progress=False)
    compact = load_dataset(month_folder, progress=False, compact=True)
    assert set(compact.tables) == set(plain.tables)
    for name, df in compact.tables.items():
        _assert_compact(df, name)
        pd.testing.assert_frame_equal(_as_plain(df), plain[name], obj=name)
    pd.testing.assert_frame_equal(compact.validation.counts, plain.validation.counts)
    by = {
        k: d.activities.groupby("rep_id", observed=True).size()
        for k, d in (("p", plain), ("c", compact))
    }
    assert list(by["c"].index.astype("str")) == list(by["p"].index)
    # a compact activity table takes well under the memory of the plain one
    mem = {k: d.activities.memory_usage(deep=True).sum() for k, d in (("p", plain), ("c", compact))}
    assert mem["c"] < 0.75 * mem["p"], mem


def test_compact_period_and_projection(month_folder):
    kw = {"progress": False, "period": "2026-Q1", "lookback_days": 30}
    cols = {"activities": ["deal_id", "kind", "occurred_at"]}
    plain = load_dataset(month_folder, columns=cols, **kw)
    compact = load_dataset(month_folder, columns=cols, compact=True, **kw)
    assert list(compact.activities.columns) == cols["activities"]
    assert isinstance(compact.activities["kind"].dtype, pd.CategoricalDtype)
    for name in plain.tables:
        pd.testing.assert_frame_equal(_as_plain(compact[name]), plain[name], obj=name)


def test_compact_unvalidated_load(month_folder):
    plain = load_dataset(month_folder, progress=False, validate=False, tables=["deals", "costs"])
    compact = load_dataset(
        month_folder, progress=False, validate=False, tables=["deals", "costs"], compact=True
    )
    for name in ("deals", "costs"):
        _assert_compact(compact[name], name)
        pd.testing.assert_frame_equal(_as_plain(compact[name]), plain[name], obj=name)


def test_dirty_demo_same_quarantine_when_compact(dirty_demo, tmp_path):
    """Bad rows (typos, broken keys, empty cells) are quarantined alike from codes."""
    raw, _ = dirty_demo
    folder = save_dataset(raw, tmp_path / "dirty")
    plain = load_dataset(folder, progress=False)
    compact = load_dataset(folder, progress=False, compact=True)
    assert plain.validation.quarantine.shape[0] > 0
    pd.testing.assert_frame_equal(compact.validation.counts, plain.validation.counts)
    pd.testing.assert_frame_equal(compact.validation.quarantine, plain.validation.quarantine)
    for name, df in compact.tables.items():
        _assert_compact(df, name)
        pd.testing.assert_frame_equal(_as_plain(df), plain[name], obj=name)


def test_in_memory_categorical_tables_validate_alike(dirty_demo, dirty_report):
    """``validate(compact=True)`` on tables already held as categoricals."""
    raw, _ = dirty_demo
    cats = {
        name: df.astype({c: "category" for c in compact_columns(name) if c in df.columns})
        for name, df in raw.tables.items()
    }
    plain = dirty_report
    compact = validate(cats, compact=True)
    pd.testing.assert_frame_equal(compact.quarantine, plain.quarantine)
    for name, df in compact.data.tables.items():
        pd.testing.assert_frame_equal(_as_plain(df), plain.data[name], obj=name)


def test_export_fixture_compact(tmp_path):
    """A finance export: own category names mapped, a typo quarantined, a missing activity."""
    plain = load_dataset(FIXTURES / "compact_export", progress=False)
    compact = load_dataset(FIXTURES / "compact_export", progress=False, compact=True)
    costs = compact.costs
    assert isinstance(costs["category"].dtype, pd.CategoricalDtype)
    assert list(costs["category"].astype("str")) == list(plain.costs["category"])
    assert set(costs["category"].cat.categories) <= {"media", "travel", "samples"}
    q = compact.validation.quarantine
    assert set(q["rule"]) == set(plain.validation.quarantine["rule"])
    assert {"allowed_values", "foreign_key"} <= set(q["rule"])  # Travle; A9 not an activity
    assert "K3" in set(q["key"]) and "K6" in set(q["key"])
    pd.testing.assert_frame_equal(compact.validation.quarantine, plain.validation.quarantine)
    # A2 has no channel (required): quarantined from the codes as from the text
    assert "A2" not in set(compact.activities["activity_id"])
    pd.testing.assert_frame_equal(_as_plain(compact.activities), plain.activities)
    # through Parquet, the codes read from the files give the same
    parquet = save_dataset(plain, tmp_path / "pq", partition="month")
    back = load_dataset(parquet, progress=False, compact=True)
    pd.testing.assert_frame_equal(_as_plain(back.costs), plain.costs)


@pytest.mark.parametrize("n", [2, 7, 1000, 50_000])
def test_sorted_duplicate_check_equals_hashing(n):
    """The sort-based check of one fixed-width key gives pandas' ``duplicated``."""
    rng = np.random.default_rng(n)
    v = rng.integers(0, n // 2 + 1, n)
    keys = pd.Series([f"K{x:07d}" for x in v], dtype="str")
    expect = pd.Series(v).duplicated(keep="first").to_numpy()
    np.testing.assert_array_equal(_later_duplicates([keys]), expect)
    mixed = pd.Series(["a", "bb", "a", None, "bb"], dtype="str")  # widths differ: hashed
    assert list(_later_duplicates([mixed])) == [False, False, True, False, True]


def test_sorted_lookup_equals_hashing(monkeypatch):
    """An unsorted long parent bisected through a stable sort finds the first row."""
    import pyarrow as pa

    from salesml.data.validate import rules

    rng = np.random.default_rng(3)
    parent_v = rng.integers(0, 4000, 6000)  # repeats: the first row of each must be found
    child_v = np.append(rng.integers(0, 5000, 900), [-1])
    parent = pa.array([f"P{x:05d}" for x in parent_v], type=pa.large_string())
    child = pa.array([None if x < 0 else f"P{x:05d}" for x in child_v], type=pa.large_string())
    hashed = rules._lookup(child, parent, False)
    monkeypatch.setattr(rules, "_SORT_LOOKUP_ROWS", 10)
    np.testing.assert_array_equal(rules._lookup(child, parent, False), hashed)
    assert (hashed >= 0).any() and (hashed < 0).any()


def test_compact_load_keeps_no_hash_tables_of_categories(small_data, tmp_path, monkeypatch):
    """The streamed compact load leaves no cached pandas hash table (of ``str`` objects)
    on the categories of its tables, and a lookup by value still works (built anew)."""
    import salesml.data.streamed as streamed
    from salesml.data.validate.parse import forget_lookup_tables

    monkeypatch.setattr(streamed, "PIECE_ROWS", 1)
    folder = save_dataset(small_data, tmp_path / "m", partition="month")
    back = load_dataset(folder, progress=False, compact=True)
    cats = back.activities["deal_id"].cat.categories
    assert "_engine" not in cats._cache
    assert cats.get_loc(cats[3]) == 3  # pandas builds the table again when asked
    assert "_engine" in cats._cache
    forget_lookup_tables(back.activities)
    assert "_engine" not in cats._cache


def test_joined_key_of_category_and_time_equals_hashing():
    """A stage change's key (deal category, entered at) checked as one integer per row
    gives pandas' ``duplicated`` for the complete rows; missing parts never match."""
    from salesml.data.validate.rules import _joined_codes, _later_duplicates

    rng = np.random.default_rng(8)
    n = 20_000
    deal = pd.Series(pd.Categorical(rng.choice([f"D{i}" for i in range(300)] + [None], n)))
    base = pd.Timestamp("2025-01-01")
    at = pd.Series(base + pd.to_timedelta(rng.integers(0, 40, n) * 3600, unit="s"))
    at[rng.random(n) < 0.02] = pd.NaT
    assert _joined_codes([deal, at]) is not None
    complete = (deal.notna() & at.notna()).to_numpy()
    expect = pd.DataFrame({"d": deal, "t": at}).duplicated(keep="first").to_numpy() & complete
    got = _later_duplicates([deal, at]) & complete
    np.testing.assert_array_equal(got, expect)
    assert got.sum() > 1000
    text = deal.astype("str")  # the key's own id column is text, not a category
    assert isinstance(text.dtype, pd.StringDtype) and _joined_codes([text, at]) is not None
    np.testing.assert_array_equal(_later_duplicates([text, at]) & complete, expect)
    # times in nanoseconds over a wide span (62 bits): numbered by their rank instead
    wide = pd.Series(pd.to_datetime(rng.integers(0, 2**62, n)))
    wide[::5] = wide[3]  # repeats: rows i and i + 5000 of every fifth row share a key
    many = pd.Series(pd.Categorical([f"D{i % 5000}" for i in range(n)]))
    assert _joined_codes([many, wide]) is not None
    got = _later_duplicates([many, wide])
    np.testing.assert_array_equal(got, pd.DataFrame({"d": many, "t": wide}).duplicated().to_numpy())
    assert got.sum() == 3000
    # a key of a number column is not joined (hashed as before)
    assert _joined_codes([many, pd.Series(rng.random(n))]) is None
