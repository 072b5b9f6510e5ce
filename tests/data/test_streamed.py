"""Validation streamed over month partitions equals validation of the whole tables (issue 16).

Every comparison is exact: the clean tables (``assert_frame_equal``), the quarantine rows
and their order, the counts, the notes and the rejected rows as read. The streamed side
runs with one piece per month (``piece_rows=1``), so keys repeated across months,
foreign keys into other months' and tables' rows and cascades of rejected parents are
all decided after the pieces, which is what is under test.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import salesml.data.io as io
import salesml.data.streamed as streamed
from salesml.data.bundle import SalesData
from salesml.data.io import load_dataset, read_raw_tables, save_dataset, validate_dataset
from salesml.data.partitions import write_month_partitions
from salesml.distributed import ENV_VAR

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def one_month_pieces(monkeypatch):
    """Every month folder (and part file) validated as a piece of its own."""
    monkeypatch.setattr(streamed, "PIECE_ROWS", 1)


def _whole(folder: Path, monkeypatch, **kw):
    """``load_dataset`` with the whole-table validation (the streamed path switched off)."""
    with monkeypatch.context() as m:
        m.setattr(io, "_streamed_load", lambda *a, **k: None)
        return load_dataset(folder, progress=False, **kw)


def assert_same(a, b) -> None:
    """Two validated loads: same tables, quarantine, counts, notes and rejected rows."""
    va, vb = a.validation, b.validation
    pd.testing.assert_frame_equal(va.quarantine, vb.quarantine, check_exact=True)
    pd.testing.assert_frame_equal(va.counts, vb.counts, check_exact=True)
    assert va.notes == vb.notes
    assert sorted(va.rejected) == sorted(vb.rejected)
    for name in vb.rejected:
        pd.testing.assert_frame_equal(va.rejected[name], vb.rejected[name], obj=name)
    assert sorted(a.tables) == sorted(b.tables)
    for name in b.tables:
        pd.testing.assert_frame_equal(a.tables[name], b.tables[name], check_exact=True, obj=name)


@pytest.fixture(scope="module")
def demo_month(demo_data, tmp_path_factory):
    data, _ = demo_data
    return save_dataset(data, tmp_path_factory.mktemp("stream") / "m", partition="month")


def _dirty(data) -> dict[str, pd.DataFrame]:
    """The demo's tables with faults in several months, some only visible across months."""
    rng = np.random.default_rng([0, 16])
    deals = data.deals.copy()
    acts = data.activities.copy()
    months = deals["created_at"].dt.to_period("M")
    first = deals.index[months == months.min()][:3]
    # the same deal ids again, created in a later month: duplicates across partitions
    again = deals.loc[first].copy()
    again["created_at"] = deals["created_at"].max() - pd.Timedelta(days=3)
    deals = pd.concat([deals, again], ignore_index=True)
    # negative amounts and unknown stages in several months; their activities cascade
    bad = rng.choice(len(deals) - 3, size=12, replace=False)
    deals.loc[bad[:6], "amount"] = -100.0
    deals["stage"] = deals["stage"].astype("str")
    deals.loc[bad[6:], "stage"] = "quoting"
    deals.loc[bad[:2], "rep_id"] = None
    # activities pointing at deals that do not exist, replies before the activity
    pick = rng.choice(len(acts), size=20, replace=False)
    acts["deal_id"] = acts["deal_id"].astype("str")
    acts.loc[pick[:8], "deal_id"] = "D_NOT_THERE"
    late = acts.loc[pick[8:14], "occurred_at"]
    acts.loc[pick[8:14], "responded_at"] = late - pd.Timedelta(hours=2)
    acts = pd.concat([acts, acts.iloc[pick[14:17]].assign(occurred_at=acts["occurred_at"].max())])
    out = dict(data.tables)
    out.update(deals=deals, activities=acts.reset_index(drop=True))
    pays = data.payments.copy()
    if len(pays):  # a payment before its contract was signed (cross-table time order)
        pays.loc[pays.index[:2], "paid_at"] = pd.Timestamp("2000-01-01")
        pays.loc[pays.index[2:4], "paid_at"] = pays["paid_at"].max()
    out["payments"] = pays
    return out


@pytest.fixture(scope="module")
def dirty_month(small_data, tmp_path_factory):
    dirty = SalesData(_dirty(small_data), small_data.config)
    return save_dataset(dirty, tmp_path_factory.mktemp("stream") / "dirty", partition="month")


@pytest.mark.parametrize("compact", [False, True])
def test_demo_streamed_equals_whole(demo_month, monkeypatch, compact):
    monkeypatch.setattr(streamed, "PIECE_ROWS", 5_000)  # the big tables: 2-3 months a piece
    got = load_dataset(demo_month, progress=False, compact=compact)
    assert got.validation.ok
    assert_same(got, _whole(demo_month, monkeypatch, compact=compact))


def test_dirty_through_key_indexes_equals_row_lookups(dirty_month, monkeypatch, one_month_pieces):
    """Every parent's key indexed as sorted packed codes (tier L's path for big tables
    in no order) gives the same report and tables as each value's first-row lookup."""
    from salesml.data.validate import keys, rules

    asked = []
    find = keys.KeyIndex.find
    with monkeypatch.context() as m:
        m.setattr(rules, "_INDEX_ROWS", 0)
        m.setattr(keys.KeyIndex, "find", lambda self, v: asked.append(len(v)) or find(self, v))
        got = load_dataset(dirty_month, progress=False, compact=True)
    assert len(asked) >= 3  # deals and activities (not in key order) are asked this way
    whole = _whole(dirty_month, monkeypatch, compact=True)
    assert_same(got, whole)
    q = got.validation.quarantine
    assert {"foreign_key", "parent_rejected"} <= set(q.loc[q["table"] == "activities", "rule"])


@pytest.mark.parametrize("compact", [False, True])
def test_dirty_streamed_equals_whole(dirty_month, monkeypatch, one_month_pieces, compact):
    got = load_dataset(dirty_month, progress=False, compact=compact)
    whole = _whole(dirty_month, monkeypatch, compact=compact)
    assert_same(got, whole)
    rules = set(got.validation.quarantine.groupby("table")["rule"].unique().explode().items())
    for planted in [
        ("deals", "unique_key"),
        ("deals", "non_negative"),
        ("deals", "allowed_values"),
        ("deals", "not_null"),
        ("activities", "foreign_key"),
        ("activities", "parent_rejected"),
        ("activities", "time_order"),
        ("activities", "unique_key"),
        ("payments", "time_order"),
    ]:
        assert planted in rules, planted
    q = got.validation.quarantine
    dup = q[(q["table"] == "deals") & (q["rule"] == "unique_key")]
    assert len(dup) == 3
    # the kept row is the first month's; the message names its row in the whole table
    first_rows = whole.validation.rejected["deals"].index
    assert dup["message"].str.contains("repeats the key of row ").all()
    assert (dup["row"].to_numpy() >= 0).all() and set(dup["row"]) <= set(first_rows)


def test_dirty_period_load_streamed_equals_whole(dirty_month, monkeypatch, one_month_pieces):
    kw = {"period": "2025-07", "lookback_days": 20, "compact": True}
    got = load_dataset(dirty_month, progress=False, **kw)
    assert_same(got, _whole(dirty_month, monkeypatch, **kw))
    assert any("loaded for a period only" in n for n in got.validation.notes)


def test_columns_projection_streamed_equals_whole(dirty_month, monkeypatch, one_month_pieces):
    kw = {"columns": {"activities": ["activity_id", "deal_id", "kind"]}, "compact": True}
    got = load_dataset(dirty_month, progress=False, tables=["deals", "activities"], **kw)
    assert list(got.activities.columns) == ["activity_id", "deal_id", "kind"]
    assert_same(got, _whole(dirty_month, monkeypatch, tables=["deals", "activities"], **kw))


def test_validate_dataset_keeps_no_tables(dirty_month, one_month_pieces):
    """``validate_dataset``: the report of a load, without holding the tables."""
    full = load_dataset(dirty_month, progress=False, compact=True).validation
    rep = validate_dataset(dirty_month)
    assert rep.data.tables == {}
    pd.testing.assert_frame_equal(rep.quarantine, full.quarantine, check_exact=True)
    pd.testing.assert_frame_equal(rep.counts, full.counts, check_exact=True)
    assert rep.notes == full.notes
    for name in full.rejected:
        pd.testing.assert_frame_equal(rep.rejected[name], full.rejected[name], obj=name)


def test_bounded_pieces_group_months(demo_month):
    """The default piece size groups a small table's months; one row keeps each apart."""
    from salesml.data.io import find_table_files

    found = find_table_files(demo_month)
    kw = {"columns": {}, "window": None, "compact": False}
    _, grouped = streamed.plan_pieces(demo_month, found, **kw)
    _, single = streamed.plan_pieces(demo_month, found, piece_rows=1, **kw)
    _, some = streamed.plan_pieces(demo_month, found, piece_rows=5_000, **kw)
    acts = [p for p in single if p.table == "activities"]
    months = {Path(f).parent.name for p in acts for f in p.files}
    assert len(acts) == len(months) > 12
    assert len([p for p in grouped if p.table == "activities"]) == 1
    assert 3 < len([p for p in some if p.table == "activities"]) < len(acts)


def test_export_fixture_streamed(tmp_path, monkeypatch, one_month_pieces):
    """A hand-made CRM export landed month by month as text Parquet files: a deal id
    re-exported in March, an activity of a deal not in the export, a negative amount, a
    renamed stage, an empty rep, a reply before its visit, text in the amount column."""
    src = FIXTURES / "stream_export"
    raw = read_raw_tables(src)
    out = tmp_path / "lake"
    out.mkdir()
    shutil.copy(src / "dataset.yaml", out / "dataset.yaml")
    for name in ("deals", "activities"):
        write_month_partitions(raw.tables[name], out / name, name)
    for name in ("customers", "reps"):
        raw.tables[name].to_parquet(out / f"{name}.parquet", index=False)
    got = load_dataset(out, progress=False)
    assert_same(got, _whole(out, monkeypatch))
    q = got.validation.quarantine.set_index(["table", "key", "rule"])["message"]
    dup = q[q.index == ("deals", "D1", "unique_key")]
    assert len(dup) == 1
    assert dup.iloc[0].startswith("deals/ row 4: ")
    assert "repeats the key of row 0" in dup.iloc[0]
    assert ("activities", "A3", "foreign_key") in q.index
    assert ("activities", "A2", "unique_key") in q.index
    assert ("activities", "A6", "non_negative") in q.index
    assert ("activities", "A4", "time_order") in q.index
    assert ("deals", "D2", "non_negative") in q.index
    assert ("deals", "D4", "not_null") in q.index
    assert ("deals", "D5", "allowed_values") in q.index
    assert ("deals", "D6", "dtype") in q.index
    # D2 was rejected: its activity A2 (the first, January) is rejected with it
    assert ("activities", "A2", "parent_rejected") in q.index
    assert sorted(got.deals["deal_id"]) == ["D1", "D3"]
    assert got.validation.counts.loc["deals", "read"] == 7


# ---------------------------------------------------------------- on a Dask cluster
# The workers read their own month folders from the dataset folder; the combine step
# runs here. Run with ``-n 0`` (``dask_client`` starts a LocalCluster of 2 processes).


def test_cluster_load_equals_in_process(dask_client, dirty_month, monkeypatch):
    monkeypatch.setattr(streamed, "PIECE_ROWS", 1)  # one piece per month
    monkeypatch.delenv(ENV_VAR, raising=False)
    here = load_dataset(dirty_month, progress=False, compact=True)
    assert not here.validation.ok
    there = load_dataset(dirty_month, progress=False, compact=True, client=dask_client)
    assert_same(there, here)
    rep = validate_dataset(dirty_month, client=dask_client)
    pd.testing.assert_frame_equal(rep.quarantine, here.validation.quarantine, check_exact=True)
    pd.testing.assert_frame_equal(rep.counts, here.validation.counts, check_exact=True)


def test_scheduler_from_the_environment(dask_client, dirty_month, monkeypatch):
    """``SALESML_DASK_SCHEDULER`` alone sends the pieces to the cluster."""
    monkeypatch.setattr(streamed, "PIECE_ROWS", 1)
    monkeypatch.setenv(ENV_VAR, dask_client.scheduler.address)
    seen = []
    real = streamed.stream_validate

    def spy(*a, **kw):
        seen.append(kw.get("client"))
        return real(*a, **kw)

    monkeypatch.setattr("salesml.data.io.stream_validate", spy)
    rep = validate_dataset(dirty_month, tables=["deals", "activities"])
    assert seen and seen[0] is not None
    monkeypatch.delenv(ENV_VAR)
    local = validate_dataset(dirty_month, tables=["deals", "activities"])
    pd.testing.assert_frame_equal(rep.quarantine, local.quarantine, check_exact=True)


def test_cli_selects_jemalloc_unless_the_user_chose(tmp_path):
    """``salesml`` makes jemalloc Arrow's allocator; ``ARROW_DEFAULT_MEMORY_POOL`` wins."""
    import os
    import subprocess
    import sys

    code = (
        "import pyarrow as pa\n"
        "from salesml.data.arrowpool import prefer_jemalloc\n"
        "print(prefer_jemalloc(), pa.default_memory_pool().backend_name)"
    )
    env = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"}
    got = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert got.stdout.split() == ["jemalloc", "jemalloc"], got.stderr
    env["ARROW_DEFAULT_MEMORY_POOL"] = "system"
    got = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert got.stdout.split() == ["system", "system"], got.stderr


def test_concat_series_unifies_text_categories_as_pandas_does() -> None:
    """Pieces' categoricals joined: categories in order of first appearance, codes
    remapped, missing values kept, the same as pandas' ``union_categoricals``."""
    from salesml.data.streamed import concat_series

    def cat(values: list[str | None], categories: list[str]) -> pd.Series:
        return pd.Series(pd.Categorical(values, categories=pd.Index(categories, dtype="str")))

    parts = [
        cat(["b", "a", None, "b"], ["b", "a"]),
        cat(["c", None, "a"], ["c", "a", "unused"]),
        cat(["a", "a"], ["b", "a"]),
        cat([None], ["d"]),
    ]
    got = concat_series(parts)
    exp = pd.Series(pd.api.types.union_categoricals([p.array for p in parts]))
    assert list(got.cat.categories) == ["b", "a", "c", "unused", "d"]
    assert list(got.cat.categories) == list(exp.cat.categories)
    np.testing.assert_array_equal(got.cat.codes.to_numpy(), exp.cat.codes.to_numpy())
    assert np.flatnonzero(got.isna()).tolist() == [2, 5, 9]
    # sorted categories: the same values (as sorted_categories would give them later)
    from salesml.data.validate.text import sorted_categories

    ordered = concat_series(parts, sort_categories=True)
    assert list(ordered.cat.categories) == ["a", "b", "c", "d", "unused"]
    pd.testing.assert_series_equal(ordered, sorted_categories(got))
    assert ordered.astype("str").tolist() == got.astype("str").tolist()
    # values the integer packing refuses (a NUL inside) are hashed and sorted instead
    odd = [cat(["x\x00", "a"], ["x\x00", "a"]), cat(["b", None], ["b"])]
    joined = concat_series(odd, sort_categories=True)
    assert list(joined.cat.categories) == ["a", "b", "x\x00"]
    assert joined.astype("str").tolist()[:3] == ["x\x00", "a", "b"] and joined.isna().tolist()[3]
