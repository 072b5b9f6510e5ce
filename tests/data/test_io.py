"""Dataset folders: Parquet and CSV round trips, encodings, subsets, errors."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml

from salesml.data.bundle import SalesData
from salesml.data.io import (
    detect_encoding,
    folder_fingerprint,
    load_dataset,
    read_csv_table,
    save_dataset,
)


def assert_same(a: SalesData, b: SalesData) -> None:
    assert list(a.tables) == list(b.tables)
    for name in a.tables:
        pd.testing.assert_frame_equal(a[name], b[name], obj=name)


def test_parquet_round_trip_is_identical(demo_data, tmp_dataset):
    data, _ = demo_data
    folder = tmp_dataset(data)
    back = load_dataset(folder, progress=False)
    assert_same(back, data)
    assert back.validation is not None and back.validation.ok
    assert back.config.name == data.config.name
    assert back.config.go_live == data.config.go_live
    assert back.source == folder


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_csv_round_trip_is_identical(small_data, tmp_dataset, encoding):
    folder = tmp_dataset(small_data, format="csv", encoding=encoding)
    raw = (folder / "reps.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") == (encoding == "utf-8-sig")
    back = load_dataset(folder, progress=False)
    assert_same(back, small_data)
    assert back.validation.ok


@pytest.mark.slow
def test_demo_csv_gb18030_round_trip_is_identical(demo_data, tmp_dataset):
    data, _ = demo_data
    folder = tmp_dataset(data, format="csv", encoding="gb18030")
    assert_same(load_dataset(folder, progress=False), data)


def test_encoding_detection_without_declaration(small_data, tmp_path):
    folder = save_dataset(small_data, tmp_path / "gbk", format="csv", encoding="gb18030")
    # forget the declared encoding: detection must find GB18030 from the bytes
    y = yaml.safe_load((folder / "dataset.yaml").read_text(encoding="utf-8"))
    y["encoding"] = "auto"
    (folder / "dataset.yaml").write_text(yaml.safe_dump(y, allow_unicode=True), encoding="utf-8")
    with pytest.raises(UnicodeDecodeError):
        (folder / "reps.csv").read_bytes().decode("utf-8")
    assert detect_encoding(folder / "reps.csv") == "gb18030"
    assert_same(load_dataset(folder, progress=False), small_data)


def test_bom_and_gbk_detection_on_hand_written_files(tmp_path):
    text = "rep_id,name\nR1,王芳\n"
    (tmp_path / "bom.csv").write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    (tmp_path / "gbk.csv").write_bytes(text.encode("gbk"))
    (tmp_path / "plain.csv").write_bytes(text.encode("utf-8"))
    for f in ("bom.csv", "gbk.csv", "plain.csv"):
        df, _ = read_csv_table(tmp_path / f)
        assert df.columns.tolist() == ["rep_id", "name"], f
        assert df["name"].tolist() == ["王芳"], f


def test_declared_wrong_encoding_gives_a_clear_error(tmp_path):
    (tmp_path / "gbk.csv").write_bytes("rep_id,name\nR1,王芳\n".encode("gbk"))
    with pytest.raises(ValueError, match=r"gbk.csv is not valid utf-8"):
        read_csv_table(tmp_path / "gbk.csv", encoding="utf-8")


def test_subset_of_tables_and_missing_tables(small_data, tmp_path):
    sub = SalesData({t: small_data[t] for t in ("reps", "customers", "deals")}, small_data.config)
    folder = save_dataset(sub, tmp_path / "crm")
    back = load_dataset(folder, progress=False)
    assert list(back.tables) == ["reps", "customers", "deals"]
    assert "activities" in back.missing_tables and "deals" not in back.missing_tables
    assert any("stores" in n for n in back.validation.notes)
    only_deals = load_dataset(folder, tables=["deals"], progress=False)
    assert list(only_deals.tables) == ["deals"]
    with pytest.raises(KeyError, match="unknown table"):
        load_dataset(folder, tables=["opportunities"], progress=False)
    with pytest.raises(FileNotFoundError, match="has none of the tables asked for"):
        load_dataset(folder, tables=["activities"], progress=False)


def test_parquet_part_folders_are_read_in_order(small_data, tmp_path):
    folder = save_dataset(small_data, tmp_path / "parts")
    acts = small_data.activities
    (folder / "activities.parquet").unlink()
    (folder / "activities").mkdir()
    half = len(acts) // 2
    acts.iloc[:half].to_parquet(folder / "activities" / "part-00000.parquet", index=False)
    acts.iloc[half:].to_parquet(folder / "activities" / "part-00001.parquet", index=False)
    back = load_dataset(folder, progress=False)
    pd.testing.assert_frame_equal(back.activities, acts)
    assert back.validation.counts.loc["activities", "file"] == "activities/"


def test_files_override_in_dataset_yaml(small_data, tmp_path):
    folder = save_dataset(small_data, tmp_path / "ov", format="csv")
    (folder / "deals.csv").rename(folder / "opportunities_export.csv")
    y = yaml.safe_load((folder / "dataset.yaml").read_text(encoding="utf-8"))
    y["files"] = {"deals": "opportunities_export.csv"}
    (folder / "dataset.yaml").write_text(yaml.safe_dump(y, allow_unicode=True), encoding="utf-8")
    back = load_dataset(folder, progress=False)
    pd.testing.assert_frame_equal(back.deals, small_data.deals)
    assert back.validation.counts.loc["deals", "file"] == "opportunities_export.csv"


def test_bad_csv_cells_are_quarantined_not_fatal(small_data, tmp_path):
    folder = save_dataset(small_data, tmp_path / "bad", format="csv")
    lines = (folder / "deals.csv").read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    cells = lines[5].split(",")  # data row 4, CSV line 6
    cells[header.index("amount")] = "n/a"
    lines[5] = ",".join(cells)
    (folder / "deals.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    back = load_dataset(folder, progress=False)
    q = back.validation.quarantine
    hit = q[(q["table"] == "deals") & (q["rule"] == "dtype")]
    assert hit[["row", "line", "column", "value"]].values.tolist() == [[4, 6, "amount", "n/a"]]
    assert hit["message"].iloc[0].startswith("deals.csv line 6: column amount is 'n/a'")
    assert len(back.deals) == len(small_data.deals) - 1
    c = back.validation.counts
    assert (c["read"] == c["loaded"] + c["quarantined"]).all()


def test_extra_csv_columns_are_typed_by_hints_or_inspection(tmp_path):
    deals = pd.DataFrame(
        {
            "deal_id": ["D1", "D2"],
            "customer_id": ["C1", "C2"],
            "rep_id": ["R1", "R1"],
            "lead_id": [None, None],
            "created_at": pd.to_datetime(["2025-01-01", "2025-01-02"]).astype("datetime64[us]"),
            "stage": ["proposal", "contract"],
            "amount": [1.0, 2.0],
            "product_line": ["service", "service"],
            "outcome": ["open", "won"],
            "closed_at": pd.to_datetime([None, "2025-02-01"]).astype("datetime64[us]"),
            "code": ["007", "008"],
            "n_calls": [3, 4],
            "score": [0.5, None],
            "won_at": pd.to_datetime([None, "2025-02-01"]).astype("datetime64[us]"),
        }
    ).astype({"deal_id": "str", "lead_id": "str"})
    data = SalesData({"deals": deals})
    folder = save_dataset(data, tmp_path / "x", format="csv")
    back = load_dataset(folder, progress=False)
    pd.testing.assert_frame_equal(back.deals, validate_frame(deals))
    assert back.deals["code"].tolist() == ["007", "008"]  # the hint keeps text as text
    # without hints, extras are inferred: dates and numbers, other text kept
    y = yaml.safe_load((folder / "dataset.yaml").read_text(encoding="utf-8"))
    y.pop("column_types")
    (folder / "dataset.yaml").write_text(yaml.safe_dump(y, allow_unicode=True), encoding="utf-8")
    guessed = load_dataset(folder, progress=False).deals
    assert str(guessed["won_at"].dtype) == "datetime64[us]"
    assert str(guessed["n_calls"].dtype) == "int64"
    assert str(guessed["score"].dtype) == "float64"
    assert guessed["code"].tolist() == [7, 8]  # documented: all-numeric text becomes a number


def validate_frame(df: pd.DataFrame) -> pd.DataFrame:
    from salesml.data.validate import validate

    return validate({"deals": df}).data.deals


def test_save_refuses_to_overwrite_when_asked(small_data, tmp_path):
    folder = save_dataset(small_data, tmp_path / "o")
    with pytest.raises(FileExistsError, match="already holds a dataset"):
        save_dataset(small_data, folder, overwrite=False)
    # switching format replaces the old files instead of leaving both
    save_dataset(small_data, folder, format="csv")
    assert not (folder / "deals.parquet").exists() and (folder / "deals.csv").exists()
    with pytest.raises(ValueError, match="format must be"):
        save_dataset(small_data, folder, format="xlsx")  # type: ignore[arg-type]


def test_load_without_validation_only_parses(small_data, tmp_path):
    folder = save_dataset(small_data, tmp_path / "nv", format="csv")
    back = load_dataset(folder, validate=False, progress=False)
    assert back.validation is None
    assert_same(back, small_data)


def test_load_errors_name_the_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="not a dataset folder"):
        load_dataset(tmp_path / "nope", progress=False)
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="holds no table files"):
        load_dataset(tmp_path / "empty", progress=False)


def test_top_level_exports():
    import salesml

    assert salesml.load_dataset is load_dataset
    assert salesml.save_dataset is save_dataset


def test_line_numbers_survive_multiline_cells_and_blank_lines(tmp_path):
    from salesml.data.io import csv_line_numbers

    folder = tmp_path / "ml"
    folder.mkdir()
    text = (
        "rep_id,name,team,region,role,manager_id,hired_at\n"  # line 1
        'R1,"王芳\n(华东负责人)",T1,华东,manager,,2023-01-01\n'  # lines 2-3
        "\n"  # line 4, blank
        "R2,李伟,T1,华东,sales,R1,2023-02-01\n"  # line 5
        "R3,张敏,T1,华东,sales,R1,someday\n"  # line 6
    )
    (folder / "reps.csv").write_text(text, encoding="gb18030")
    data = load_dataset(folder, progress=False)
    q = data.validation.quarantine
    assert q[["row", "line", "rule"]].values.tolist() == [[2, 6, "date_format"]]
    assert q["message"].iloc[0].startswith("reps.csv line 6: column hired_at is 'someday'")
    assert data.reps["name"].iloc[0] == "王芳\n(华东负责人)"
    # a plain file needs no line map
    (folder / "plain.csv").write_text("a,b\n1,2\n3,4\n", encoding="utf-8")
    assert csv_line_numbers(folder / "plain.csv", "utf-8", 2) is None
    (folder / "noeol.csv").write_text("a,b\n1,2\n3,4", encoding="utf-8")
    assert csv_line_numbers(folder / "noeol.csv", "utf-8", 2) is None


def test_describe_files_counts_rows_without_loading(small_data, tmp_path):
    from salesml.data.io import describe_files

    pq_dir = save_dataset(small_data, tmp_path / "p")
    csv_dir = save_dataset(small_data, tmp_path / "c", format="csv", encoding="gb18030")
    for folder in (pq_dir, csv_dir):
        d = describe_files(folder)
        assert list(d.index) == list(small_data.tables)
        for name, df in small_data.tables.items():
            assert d.loc[name, "rows"] == len(df)
            assert d.loc[name, "columns"] == df.shape[1]


def test_unsupported_file_type_is_named(small_data, tmp_path):
    folder = save_dataset(small_data, tmp_path / "x")
    (folder / "deals.xlsx").write_bytes(b"PK")
    y = yaml.safe_load((folder / "dataset.yaml").read_text(encoding="utf-8"))
    y["files"] = {"deals": "deals.xlsx"}
    (folder / "dataset.yaml").write_text(yaml.safe_dump(y, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ValueError, match=r"deals.xlsx \(table deals\): unsupported file type"):
        load_dataset(folder, progress=False)


def test_one_fingerprint_per_dataset_folder(small_data, tmp_dataset):
    """Issue 10 item 12: one dataset folder has one fingerprint, whichever tables are loaded.

    It changes when any file changes (even a table not loaded), and bundles derived in
    memory (``as_of``, ``replace``) hash their content instead of claiming the folder's.
    """
    folder = tmp_dataset(small_data)
    full = load_dataset(folder, progress=False)
    part = load_dataset(folder, progress=False, tables=["reps", "customers", "deals"])
    raw = load_dataset(folder, progress=False, validate=False, tables=["deals"])
    fp = folder_fingerprint(folder)
    assert full.fingerprint() == part.fingerprint() == raw.fingerprint() == fp
    assert len(fp) == 16
    cut = full.as_of(full.deals["created_at"].median())
    assert cut.fingerprint() not in (fp, small_data.fingerprint())
    assert full.replace(deals=full.deals.head(3)).fingerprint() != fp
    # a change in a table this load did not read still changes the folder's fingerprint
    acts = pd.read_parquet(folder / "activities.parquet")
    acts.head(len(acts) - 1).to_parquet(folder / "activities.parquet", index=False)
    assert folder_fingerprint(folder) != fp
    assert load_dataset(folder, progress=False, tables=["deals"]).fingerprint() != fp
