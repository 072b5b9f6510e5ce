"""Importing a CRM-style export through a YAML column mapping."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

from salesml.data.io import load_dataset
from salesml.data.mapping import ImportMapping, apply_mapping, import_dataset
from salesml.data.quarantine import quarantine_counts

CRM = Path(__file__).resolve().parents[2] / "datasets" / "examples" / "crm_export"
MAPPING = CRM / "mapping.yaml"


@pytest.fixture
def crm_copy(tmp_path: Path) -> Path:
    dst = tmp_path / "export"
    shutil.copytree(CRM, dst)
    return dst


def test_example_export_imports_cleanly(tmp_path):
    out = tmp_path / "crm"
    report = import_dataset(CRM, MAPPING, out)
    assert report.ok, report.quarantine
    data = load_dataset(out, progress=False)
    assert list(data.tables) == ["reps", "customers", "deals"]
    assert "activities" in data.missing_tables
    assert data.config.name == "crm-export-example"
    deals = data.deals.set_index("deal_id")
    # value maps: "Closed Won" -> won, other stages -> open through "*"
    assert deals.loc["O-1001", "outcome"] == "won"
    assert deals.loc["O-1003", "outcome"] == "lost"
    assert deals.loc["O-1004", "outcome"] == "open"
    assert deals.loc["O-1003", "stage"] == "proposal"
    assert deals.loc["O-1001", "stage"] == "contract"
    # thousands separators and MM/DD/YYYY dates
    assert deals.loc["O-1001", "amount"] == 1_250_000.0
    assert deals.loc["O-1006", "amount"] == 54_300.5
    assert deals.loc["O-1001", "created_at"] == pd.Timestamp("2025-01-20")
    assert deals.loc["O-1002", "closed_at"] == pd.Timestamp("2025-03-30")
    assert pd.isna(deals.loc["O-1004", "closed_at"])
    assert deals["lead_id"].isna().all()
    reps = data.reps.set_index("rep_id")
    assert reps.loc["U01", "role"] == "manager" and reps.loc["U02", "role"] == "sales"
    assert (reps["team"] == "直销").all()  # a constant
    assert reps.loc["U02", "manager_id"] == "U01"
    cust = data.customers.set_index("customer_id")
    assert cust.loc["A004", "region"] == "华南"
    assert cust.loc["A001", "source_channel"] == "exhibition"
    assert cust.loc["A003", "segment"] == "small_business"
    assert cust.loc["A001", "Account Name"] == "上海华信机械有限公司"  # keep_unmapped


def test_bad_source_rows_are_quarantined_with_source_names(crm_copy, tmp_path):
    opp = crm_copy / "opportunities.csv"
    text = opp.read_text(encoding="utf-8")
    text = text.replace('"148,000.00"', '"-148,000.00"').replace("04/05/2025", "2025.04.05")
    # and the file in GBK, as Excel in China saves it
    opp.write_bytes(text.encode("gbk"))
    out = tmp_path / "crm"
    report = import_dataset(crm_copy, MAPPING, out)
    q = report.quarantine.set_index("rule")
    assert q.loc["non_negative", "line"] == 6
    assert q.loc["non_negative", "source_column"] == "Amount"
    assert q.loc["non_negative", "message"].startswith(
        "opportunities.csv line 6: column 'Amount' (amount) is -148000.0"
    )
    assert q.loc["date_format", "value"] == "2025.04.05"
    assert q.loc["date_format", "source_column"] == "Created Date"
    assert (out / "quarantine.parquet").exists()
    assert report.counts.loc["deals", "loaded"] == 8
    back = load_dataset(out, progress=False)
    assert len(back.deals) == 8
    # the quarantine stays with the dataset: the load knows what the import rejected
    assert quarantine_counts(back.quarantine).loc["deals", "rejected_at_import"] == 2


def test_unmapped_value_passes_through_and_is_rejected(crm_copy, tmp_path):
    acc = crm_copy / "accounts.csv"
    acc.write_text(acc.read_text(encoding="utf-8").replace("Walk-in", "Billboard"), "utf-8")
    report = import_dataset(crm_copy, MAPPING, tmp_path / "o")
    # source_channel is an open set in the model: the raw value is kept, not guessed
    cust = report.data.customers.set_index("customer_id")
    assert cust.loc["A007", "source_channel"] == "Billboard"
    # deal stages are a closed set (dataset.yaml stage_order): an unmapped one is rejected
    opp = crm_copy / "opportunities.csv"
    text = opp.read_text(encoding="utf-8").replace(
        "Qualification,Qualification", "Qualification,Discovery"
    )
    opp.write_text(text, "utf-8")
    report = import_dataset(crm_copy, MAPPING, tmp_path / "o2")
    q = report.quarantine
    assert q[["rule", "key", "value", "source_column"]].values.tolist() == [
        ["allowed_values", "O-1008", "Discovery", "Stage Reached"]
    ]


def test_mapping_errors_name_the_mapping_table_and_column(crm_copy, tmp_path):
    m = yaml.safe_load(MAPPING.read_text(encoding="utf-8"))
    bad = dict(m, tables={"opportunities": m["tables"]["deals"]})
    with pytest.raises(ValueError, match="unknown table 'opportunities'"):
        ImportMapping.from_dict(bad)
    deals = dict(m["tables"]["deals"])
    # (amount may be empty since open deals are often unpriced: rep_id is required)
    deals["columns"] = {k: v for k, v in deals["columns"].items() if v != "rep_id"}
    with pytest.raises(ValueError, match=r"table deals: required model column\(s\) rep_id"):
        ImportMapping.from_dict(dict(m, tables={"deals": deals}))
    renamed = dict(m["tables"]["deals"])
    renamed["columns"] = dict(renamed["columns"], **{"Deal Size": "amount"})
    del renamed["columns"]["Amount"]
    mp = ImportMapping.from_dict(dict(m, tables={"deals": renamed}))
    with pytest.raises(ValueError, match=r"opportunities.csv: column\(s\) 'Deal Size'"):
        apply_mapping(crm_copy, mp)
    with pytest.raises(ValueError, match="unknown setting"):
        ImportMapping.from_dict(dict(m, tabels={}))
    missing = dict(m, tables={"deals": dict(m["tables"]["deals"], file="nope.csv")})
    with pytest.raises(FileNotFoundError, match=r"nope\.csv"):
        apply_mapping(crm_copy, ImportMapping.from_dict(missing))


def test_parquet_source_per_table_formats_and_encoding(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    users = pd.read_csv(CRM / "users.csv", dtype="str")
    users["Start Date"] = pd.to_datetime(users["Start Date"], format="%m/%d/%Y").dt.strftime(
        "%d.%m.%Y"
    )
    users.to_parquet(src / "users.parquet", index=False)
    accounts = (CRM / "accounts.csv").read_text(encoding="utf-8")
    (src / "accounts.csv").write_bytes(accounts.encode("gb18030"))
    m = yaml.safe_load(MAPPING.read_text(encoding="utf-8"))
    m["tables"]["reps"]["file"] = "users.parquet"
    m["tables"]["reps"]["date_formats"] = ["%d.%m.%Y"]
    m["tables"]["customers"]["encoding"] = "gbk"
    del m["tables"]["deals"]
    report = import_dataset(src, ImportMapping.from_dict(m), tmp_path / "out", format="csv")
    assert report.ok, report.quarantine
    reps = report.data.reps.set_index("rep_id")
    assert reps.loc["U02", "hired_at"] == pd.Timestamp("2022-06-15")
    assert report.data.customers["region"].tolist()[:2] == ["华东", "华东"]
    assert (tmp_path / "out" / "reps.csv").exists()


def test_excel_sources_get_a_clear_error(crm_copy, tmp_path):
    (crm_copy / "opportunities.xlsx").write_bytes(b"PK\x03\x04")
    m = yaml.safe_load(MAPPING.read_text(encoding="utf-8"))
    m["tables"]["deals"]["file"] = "opportunities.xlsx"
    with pytest.raises(ValueError, match=r"opportunities.xlsx: unsupported source file type"):
        import_dataset(crm_copy, ImportMapping.from_dict(m), tmp_path / "o")


def test_semicolon_delimited_source(crm_copy, tmp_path):
    import csv

    rows = list(csv.reader((crm_copy / "users.csv").open(encoding="utf-8")))
    with (crm_copy / "users.txt").open("w", encoding="utf-8", newline="") as f:
        csv.writer(f, delimiter=";").writerows(rows)
    m = yaml.safe_load(MAPPING.read_text(encoding="utf-8"))
    m["tables"]["reps"].update(file="users.txt", delimiter=";")
    m["tables"] = {"reps": m["tables"]["reps"]}
    report = import_dataset(crm_copy, ImportMapping.from_dict(m), tmp_path / "o")
    assert report.ok
    assert report.data.reps["name"].tolist()[:2] == ["王芳", "李伟"]
