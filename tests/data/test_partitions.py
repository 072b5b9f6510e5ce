"""Month-partitioned Parquet datasets, period and column-projected loads (issue 16)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from salesml.data.errors import DatasetError
from salesml.data.io import folder_fingerprint, load_dataset, save_dataset
from salesml.data.partitions import PARTITIONED_TABLES
from salesml.data.schema import SPECS
from salesml.periods import Period

FIXTURES = Path(__file__).parent / "fixtures"


def _by_key(df: pd.DataFrame, name: str) -> pd.DataFrame:
    return df.sort_values(list(SPECS[name].key), kind="stable").reset_index(drop=True)


def _cut(df: pd.DataFrame, name: str, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    if name not in PARTITIONED_TABLES:
        return df
    ts = df[SPECS[name].time_column]
    return df[((ts >= start) & (ts < end)).fillna(False).to_numpy(dtype=bool)]


@pytest.fixture(scope="module")
def demo_folders(demo_data, tmp_path_factory):
    data, _ = demo_data
    root = tmp_path_factory.mktemp("partitions")
    single = save_dataset(data, root / "single")
    month = save_dataset(data, root / "month", partition="month")
    return data, single, month


def test_partitioned_layout_on_disk(demo_folders):
    data, _, month = demo_folders
    for name in PARTITIONED_TABLES:
        assert not (month / f"{name}.parquet").exists()
        dirs = sorted(p.name for p in (month / name).iterdir())
        assert dirs and all(d.startswith("month=") for d in dirs), (name, dirs[:3])
        months = data[name][SPECS[name].time_column].dt.strftime("%Y-%m").unique()
        assert set(dirs) == {f"month={m}" for m in months}
        assert (month / name / dirs[0] / "part-0.parquet").is_file()
    # the small tables stay single files
    assert (month / "reps.parquet").is_file() and (month / "customers.parquet").is_file()


def test_dictionary_encoded_text_columns(demo_folders):
    import pyarrow.parquet as pq

    _, _, month = demo_folders
    part = next((month / "activities").glob("month=*/part-0.parquet"))
    meta = pq.ParquetFile(part).metadata.row_group(0)
    enc = {meta.column(i).path_in_schema: meta.column(i).encodings for i in range(meta.num_columns)}
    assert any("DICTIONARY" in e or "RLE_DICTIONARY" in e for e in enc["deal_id"]), enc["deal_id"]
    assert any("DICTIONARY" in e or "RLE_DICTIONARY" in e for e in enc["kind"])


def test_full_load_partitioned_equals_single_files(demo_folders):
    data, single, month = demo_folders
    a = load_dataset(single, progress=False)
    b = load_dataset(month, progress=False)
    assert b.validation.ok and list(a.tables) == list(b.tables)
    for name in a.tables:
        assert "month" not in b[name].columns, name
        pd.testing.assert_frame_equal(_by_key(b[name], name), _by_key(a[name], name), obj=name)
        pd.testing.assert_frame_equal(_by_key(b[name], name), _by_key(data[name], name), obj=name)
    assert b.validation.counts["read"].sum() == a.validation.counts["read"].sum()


@pytest.mark.parametrize("layout", ["single", "month"])
@pytest.mark.parametrize(("period", "lookback"), [("2026-Q1", 0), ("2025-11", 45.5)])
def test_period_load_equals_full_load_then_filtered(demo_folders, layout, period, lookback):
    _, single, month = demo_folders
    folder = single if layout == "single" else month
    full = load_dataset(single, progress=False)
    got = load_dataset(folder, progress=False, period=period, lookback_days=lookback)
    p = Period.parse(period)
    start, end = p.start - pd.Timedelta(days=lookback), p.end
    assert list(got.tables) == list(full.tables)
    for name in full.tables:
        want = _by_key(_cut(full[name], name, start, end), name)
        pd.testing.assert_frame_equal(_by_key(got[name], name), want, obj=name)
        if name in PARTITIONED_TABLES:
            assert 0 < len(got[name]) < len(full[name]), name
    # references into tables the period cut are not checked, and the report says so
    assert got.validation.ok
    assert any("loaded for a period only" in n for n in got.validation.notes)
    # a Period object works as its text does
    again = load_dataset(folder, progress=False, period=p, lookback_days=lookback)
    pd.testing.assert_frame_equal(again.activities, got.activities)


def test_period_reads_only_the_months_it_needs(demo_folders):
    """Pruning: a partition outside the window is never opened, even when unreadable."""
    _, _, month = demo_folders
    work = month.parent / "pruned"
    import shutil

    shutil.copytree(month, work)
    bad = work / "activities" / "month=2025-06" / "part-0.parquet"
    bad.write_bytes(b"not parquet at all")
    got = load_dataset(work, progress=False, period="2026-Q1", tables=["activities"])
    assert got.activities["occurred_at"].min() >= pd.Timestamp("2026-01-01")
    with pytest.raises(DatasetError, match=r"activities: activities/month=2025-06/part-0"):
        load_dataset(work, progress=False, tables=["activities"])


def test_columns_projection(demo_folders):
    _, single, month = demo_folders
    full = load_dataset(single, progress=False)
    cols = {
        "activities": ["activity_id", "kind", "occurred_at"],
        "deals": ["amount", "deal_id"],
    }
    for folder in (single, month):
        for validate in (True, False):
            got = load_dataset(folder, progress=False, columns=cols, validate=validate)
            for name, want in cols.items():
                assert list(got[name].columns) == want, (folder.name, validate, name)
                pd.testing.assert_frame_equal(
                    _by_key(got[name], name), _by_key(full[name], name)[want], obj=name
                )
            # tables not named in columns= come whole
            pd.testing.assert_frame_equal(_by_key(got.costs, "costs"), _by_key(full.costs, "costs"))
    both = load_dataset(month, progress=False, columns=cols, period="2026-02")
    assert list(both.activities.columns) == cols["activities"]
    assert both.activities["occurred_at"].dt.strftime("%Y-%m").eq("2026-02").all()


def test_bad_arguments_are_named(demo_folders):
    _, single, month = demo_folders
    with pytest.raises(DatasetError, match=r"activities.*nope"):
        load_dataset(month, progress=False, columns={"activities": ["deal_id", "nope"]})
    with pytest.raises(KeyError, match="unknown table 'deal'"):
        load_dataset(month, progress=False, columns={"deal": ["deal_id"]})
    with pytest.raises(TypeError, match="list of column names"):
        load_dataset(month, progress=False, columns={"deals": "deal_id"})
    with pytest.raises(ValueError, match="write a period"):
        load_dataset(month, progress=False, period="last summer")
    with pytest.raises(ValueError, match="lookback_days"):
        load_dataset(month, progress=False, period="2026-Q1", lookback_days=-3)
    with pytest.raises(ValueError, match="needs a period"):
        load_dataset(month, progress=False, lookback_days=30)
    with pytest.raises(ValueError, match="partition"):
        save_dataset(load_dataset(single, progress=False), month.parent / "x", partition="week")


def test_fingerprint_hashes_partition_files(demo_folders):
    _, _, month = demo_folders
    work = month.parent / "fp"
    import shutil

    shutil.copytree(month, work)
    fp = folder_fingerprint(work)
    assert fp == folder_fingerprint(month)
    part = sorted((work / "costs").glob("month=*/part-0.parquet"))[-1]
    df = pd.read_parquet(part)
    df.head(len(df) - 1).to_parquet(part, index=False)
    assert folder_fingerprint(work) != fp
    assert load_dataset(work, progress=False, tables=["deals"]).fingerprint() != fp


def test_resave_replaces_partitions_and_single_files(small_data, tmp_path):
    folder = save_dataset(small_data, tmp_path / "d", partition="month")
    assert (folder / "activities").is_dir()
    save_dataset(small_data, folder)  # back to single files: no stale partitions left
    assert not (folder / "activities").exists() and (folder / "activities.parquet").is_file()
    save_dataset(small_data, folder, partition="month")
    assert not (folder / "activities.parquet").exists()
    back = load_dataset(folder, progress=False)
    for name in small_data.tables:
        pd.testing.assert_frame_equal(
            _by_key(back[name], name), _by_key(small_data[name], name), obj=name
        )


def test_export_fixture_with_month_column_and_gaps(tmp_path):
    """A hand-made export: a column of its own named ``month``, empty optional cells,
    another currency, a typo'd kind: written partitioned, the ``month`` column survives
    (table written as one file), the bad row is quarantined as from a single file."""
    src = load_dataset(FIXTURES / "partitions_export", progress=False)
    assert "month" in src.activities.columns
    out = save_dataset(src, tmp_path / "p", partition="month")
    assert (out / "activities.parquet").is_file()  # its own `month` column: not partitioned
    assert (out / "deals").is_dir()
    assert (out / "deals" / "month=2026-02" / "part-0.parquet").is_file()
    whole = load_dataset(out, progress=False)
    assert whole.validation.ok  # the typo'd row was quarantined when the export was read
    assert list(whole.activities["month"]) == list(src.activities["month"])
    assert list(_by_key(whole.deals, "deals")["currency"]) == ["USD", "USD", "EUR", "USD"]
    back = load_dataset(out, progress=False, period="2026-02")
    assert sorted(back.deals["deal_id"]) == ["D2", "D3"]
    assert sorted(back.activities["activity_id"]) == ["A2", "A4"]
    assert back.activities["month"].eq("2026年2月").all()
    assert pd.isna(back.deals.set_index("deal_id").loc["D3", "amount"])
    # the CSV export itself, cut after validation, gives the same rows
    csv = load_dataset(FIXTURES / "partitions_export", progress=False, period="2026-02")
    pd.testing.assert_frame_equal(_by_key(csv.deals, "deals"), _by_key(back.deals, "deals"))


def test_chunked_simulation_writes_month_partitions(tmp_path):
    """``write_simulated`` (what ``salesml generate --preset L`` runs) partitions by month,
    one file per chunk and month, and loads back to the in-memory simulation's rows."""
    from salesml.simulator import simulate, write_simulated

    write_simulated(tmp_path / "ds", preset="tiny", seed=2, progress=False, chunk_customers=120)
    data, _ = simulate(preset="tiny", seed=2, chunk_customers=120)
    acts = tmp_path / "ds" / "activities"
    files = sorted(p.relative_to(acts).as_posix() for p in acts.rglob("*.parquet"))
    assert files[0].startswith("month=") and any(f.endswith("part-00001.parquet") for f in files)
    assert (tmp_path / "ds" / "customers" / "part-00000.parquet").is_file()
    loaded = load_dataset(tmp_path / "ds", progress=False)
    assert loaded.validation.ok
    for name in data.tables:
        pd.testing.assert_frame_equal(
            _by_key(loaded[name], name), _by_key(data[name], name), check_dtype=False, obj=name
        )
    cut = load_dataset(tmp_path / "ds", progress=False, period="2026-01", lookback_days=10)
    start, end = pd.Timestamp("2025-12-22"), pd.Timestamp("2026-02-01")
    for name in PARTITIONED_TABLES:
        pd.testing.assert_frame_equal(
            _by_key(cut[name], name),
            _by_key(_cut(loaded[name], name, start, end), name),
            obj=name,
        )


def test_generate_small_presets_write_single_files(tmp_path):
    from salesml.cli import main

    assert main(["generate", "--preset", "tiny", "--out", str(tmp_path / "t")]) == 0
    assert (tmp_path / "t" / "activities.parquet").is_file()


def test_text_dictionaries_made_categorical_as_to_pandas_makes_them(demo_folders, monkeypatch):
    """Dictionary columns over many month files (one dictionary each) come out as Arrow's
    ``to_pandas`` makes them: same categories in the same order, codes and code width."""
    import salesml.data.partitions as partitions
    from salesml.data.folder import table_parts
    from salesml.data.partitions import read_parquet_table, table_schema

    _, _, month = demo_folders
    p = month / "costs"
    parts = table_parts(p, month, "costs")
    assert len(parts) > 3
    cols = ["activity_id", "deal_id", "rep_id", "category"]
    schema = table_schema(p, parts, "costs", dictionary=cols)
    ours = read_parquet_table(p, parts, "costs", schema=schema)
    monkeypatch.setattr(partitions, "_text_categorical", lambda col: None)
    arrows = read_parquet_table(p, parts, "costs", schema=schema)
    pd.testing.assert_frame_equal(ours, arrows, check_exact=True)
    for c in cols:
        assert ours[c].cat.codes.dtype == arrows[c].cat.codes.dtype
        assert (ours[c].cat.codes.to_numpy() == arrows[c].cat.codes.to_numpy()).all()
        assert "_engine" not in ours[c].cat.categories._cache
