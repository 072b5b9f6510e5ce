"""Importing a CRM-style export through a YAML column mapping."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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


# ---------------------------------------------------------------------- the CRM sample shape
PIPELINE = CRM.parent / "sales_pipeline"


def _raw(name: str) -> pd.DataFrame:
    return pd.read_csv(PIPELINE / name, dtype="str", keep_default_na=False)


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    out = tmp_path_factory.mktemp("pipeline") / "ds"
    return import_dataset(PIPELINE, PIPELINE / "mapping.yaml", out), out


def test_pipeline_rows_read_are_loaded_skipped_or_quarantined(pipeline):
    report, _ = pipeline
    c = report.counts
    for table, file in (
        ("deals", "sales_pipeline.csv"),
        ("customers", "accounts.csv"),
        ("reps", "sales_teams.csv"),
    ):
        assert c.loc[table, "read"] == len(_raw(file))
        assert c.loc[table, "read"] + c.loc[table, "added"] == (
            c.loc[table, "loaded"] + c.loc[table, "skipped"] + c.loc[table, "quarantined"]
        )
        assert c.loc[table, "loaded"] == len(report.data[table])
    deals = _raw("sales_pipeline.csv")
    test = deals["account"] == "Internal Test"
    no_date = (deals["engage_date"] == "") & (deals["close_date"] == "")
    assert c.loc["deals", "skipped"] == test.sum() > 0
    # a good mapping loses only the deals that truly have no date at all
    assert c.loc["deals", "quarantined"] == (no_date & ~test).sum() > 0
    q = report.quarantine
    assert set(zip(q["table"], q["rule"], q["column"], strict=True)) == {
        ("deals", "not_null", "created_at")
    }
    assert set(q["key"]) == set(deals.loc[no_date & ~test, "opportunity_id"])
    assert (q["source_column"] == "engage_date").all()
    # the line named is the line of the source file holding that deal
    lines = deals.reset_index()
    by_id = dict(zip(lines["opportunity_id"], lines["index"] + 2, strict=True))
    assert [by_id[k] for k in q["key"]] == q["line"].tolist()
    assert report.headline().startswith(f"import: {c['loaded'].sum() - 1:,} of")


def test_pipeline_open_deals_without_account_or_amount_are_first_class(pipeline):
    report, _ = pipeline
    data = report.data
    deals = _raw("sales_pipeline.csv")
    deals = deals[(deals["account"] != "Internal Test")]
    dated = deals[(deals["engage_date"] != "") | (deals["close_date"] != "")]
    loaded = data.deals.set_index("deal_id")
    no_account = dated.loc[dated["account"] == "", "opportunity_id"]
    assert len(no_account) > 0
    assert (loaded.loc[no_account, "customer_id"] == "(no account)").all()
    assert (loaded.loc[no_account, "outcome"] == "open").all()
    cust = data.customers.set_index("customer_id")
    assert bool(cust.loc["(no account)", "is_placeholder"])
    assert int(cust["is_placeholder"].sum()) == 1
    # trailing spaces in account names do not break the reference
    assert data.deals["customer_id"].isin(cust.index).all()
    # amount is the list price (known before close); the realised value is kept apart
    prices = _raw("products.csv").set_index("product")["sales_price"].astype(float)
    gtx = dated.loc[dated["product"] == "GTXPro", "opportunity_id"]
    assert (loaded.loc[gtx, "amount"] == prices["GTX Pro"]).all()
    assert (loaded.loc[gtx, "product_line"] == "GTX Pro").all()
    ultra = dated.loc[dated["product"] == "MG Ultra", "opportunity_id"]
    assert loaded.loc[ultra, "amount"].isna().all()
    assert len(data.rows_without("deals", "amount")) == len(ultra)
    won = dated[dated["deal_stage"] == "Won"]
    assert (loaded.loc[won["opportunity_id"], "won_amount"].astype(float) > 0).all()
    # a closed deal without engage date took its close date as created_at
    filled = dated[(dated["engage_date"] == "") & (dated["close_date"] != "")]
    assert len(filled) > 0
    assert (
        loaded.loc[filled["opportunity_id"], "created_at"]
        == pd.to_datetime(filled["close_date"]).to_numpy()
    ).all()
    assert data.config.currency == "USD" and data.config.region_source == "rep"
    assert report.warnings["check"].tolist().count("not_in_reference") == 1


def test_pipeline_quarantine_survives_import_validate_info(pipeline, capsys):
    from salesml.cli import main

    report, out = pipeline
    n = report.counts.loc["deals", "quarantined"]
    line = f"{n:,} deals rows were rejected at import; see quarantine.parquet"
    back = load_dataset(out, progress=False)
    assert back.validation.ok  # the folder itself is clean ...
    counts = quarantine_counts(back.quarantine)  # ... but the import's losses stay with it
    assert counts.loc["deals", "rejected_at_import"] == n
    assert counts.loc["deals", "skipped"] == report.counts.loc["deals", "skipped"]
    assert line in back._repr_html_()
    assert main(["validate", str(out)]) == 1
    assert line in capsys.readouterr().out
    assert main(["validate", str(out), "--allow-rejects"]) == 0
    capsys.readouterr()
    assert main(["info", str(out)]) == 0
    printed = capsys.readouterr().out
    assert line in printed and "region from the rep" in printed
    # and through a time cut
    assert quarantine_counts(back.as_of("2017-06-30").quarantine).loc["deals", "rejected"] == n


def test_import_cli_writes_the_quarantine_and_exits_1(tmp_path, capsys):
    from salesml.cli import main

    out = tmp_path / "ds"
    args = ["import", str(PIPELINE), "--mapping", str(PIPELINE / "mapping.yaml"), "--out", str(out)]
    assert main([*args, "--quarantine-csv", "q.csv"]) == 1
    printed = capsys.readouterr().out
    assert "skipped by the mapping's filter" in printed and "data-quality warnings" in printed
    assert (out / "quarantine.parquet").exists()
    q = pd.read_csv(out / "q.csv", encoding="utf-8-sig")
    assert (q["rule"] == "not_null").all()
    assert main([*args, "--allow-rejects"]) == 0
    assert main(["import", str(PIPELINE), "--out", str(out)]) == 2
    assert "--mapping" in capsys.readouterr().err


def test_schema_command_lists_tables_and_explains_columns(capsys):
    from salesml.cli import main

    assert main(["schema"]) == 0
    printed = capsys.readouterr().out
    assert "deals" in printed and "商机" in printed and "docs/mapping.md" in printed
    assert main(["schema", "deals"]) == 0
    printed = capsys.readouterr().out
    assert "amount  (Amount / 金额)  float, required: no" in printed
    assert "open, won, lost" in printed and "rows_without" in printed
    assert main(["schema", "deals", "--lang", "zh"]) == 0
    assert "必填: 是" in capsys.readouterr().out
    assert main(["schema", "opportunities"]) == 2
    assert "unknown table 'opportunities'" in capsys.readouterr().err


# ---------------------------------------------------------------------- the format, piece by piece
def _export(tmp_path: Path, rows: list[dict], name: str = "deals.csv") -> Path:
    src = tmp_path / "src"
    src.mkdir(exist_ok=True)
    pd.DataFrame(rows).to_csv(src / name, index=False)
    return src


_BASE = [
    {
        "id": "D1",
        "owner": "ann",
        "acct": "A",
        "status": "Won",
        "created": "2024-01-05",
        "closed": "2024-02-01",
        "value": "100",
        "product": "GTX Pro",
    },
    {
        "id": "D2",
        "owner": "bob",
        "acct": "",
        "status": "Open",
        "created": "",
        "closed": "",
        "value": "",
        "product": "GTXPro",
    },
    {
        "id": "D3",
        "owner": "ann",
        "acct": "B",
        "status": "N/A",
        "created": "2024-03-01",
        "closed": "",
        "value": "1,200",
        "product": "gtx-pro",
    },
    {
        "id": "D4",
        "owner": "cy",
        "acct": "C",
        "status": "Lost - price",
        "created": "2024-03-09",
        "closed": "2024-04-01",
        "value": "0",
        "product": "MG",
    },
]


def _deals_mapping(**extra) -> dict:
    deals = {
        "file": "deals.csv",
        "columns": {
            "id": "deal_id",
            "owner": "rep_id",
            "acct": "customer_id",
            "status": ["outcome", "stage"],
            "created": "created_at",
            "closed": "closed_at",
            "value": "amount",
            "product": "product_line",
        },
        "thousands": ",",
        "values": {
            "outcome": {"Won": "won", "glob:Lost*": "lost", "*": "open"},
            "stage": {"*": "proposal"},
        },
    }
    deals.update(extra)
    return {"tables": {"deals": deals}}


def test_value_maps_match_empty_cells_patterns_and_can_empty_a_cell(tmp_path):
    rows = [dict(r) for r in _BASE]
    src = _export(tmp_path, rows)
    m = _deals_mapping(
        values={
            "outcome": {"Won": "won", "glob:Lost*": "lost", "": "open", "*": "open"},
            "stage": {"*": "proposal"},
            "product_line": {"re:(?i)gtx[ -]?pro": "GTX Pro"},
            "customer_id": {"": "NOACCT"},
            "closed_at": {"": None},
            "amount": {"N/A": None, "0": None},
        }
    )
    raw = apply_mapping(src, ImportMapping.from_dict(m)).raw["deals"].set_index("deal_id")
    assert raw["outcome"].tolist() == ["won", "open", "open", "lost"]
    assert raw["product_line"].tolist() == ["GTX Pro", "GTX Pro", "GTX Pro", "MG"]
    assert raw.loc["D2", "customer_id"] == "NOACCT"  # the "" key is not ignored any more
    assert pd.isna(raw.loc["D4", "amount"])  # a value mapped to null is an empty cell
    assert raw.loc["D3", "amount"] == "1200"


def test_fill_from_coalesces_sources_and_default_fills_the_rest(tmp_path):
    src = _export(tmp_path, _BASE)
    m = _deals_mapping(
        fill={
            "created_at": {"fill_from": ["closed"], "default": "2024-01-01"},
            "amount": {"default": 0},
        },
    )
    raw = apply_mapping(src, ImportMapping.from_dict(m)).raw["deals"].set_index("deal_id")
    assert raw.loc["D2", "created_at"] == "2024-01-01"
    assert raw.loc["D2", "amount"] == "0"
    m = _deals_mapping(fill={"created_at": {"fill_from": ["nope"]}})
    with pytest.raises(ValueError, match=r"deals.csv: column\(s\) 'nope'"):
        apply_mapping(src, ImportMapping.from_dict(m))


def test_lookup_exact_and_loose_with_misses_reported(tmp_path):
    src = _export(tmp_path, _BASE)
    pd.DataFrame({"name": ["GTX Pro", "MG"], "price": ["4821", "55"]}).to_csv(
        src / "products.csv", index=False
    )
    for match, expected in (
        ("exact", ["4821", None, None, "55"]),
        ("loose", ["4821", "4821", "4821", "55"]),
    ):
        m = _deals_mapping(
            lookups={
                "price": {
                    "file": "products.csv",
                    "key": "product",
                    "on": "name",
                    "value": "price",
                    "match": match,
                }
            },
            fill={"amount": {"fill_from": ["lookup.price"]}},
        )
        m["tables"]["deals"]["columns"].pop("value")
        mapped = apply_mapping(src, ImportMapping.from_dict(m))
        got = mapped.raw["deals"]["amount"].tolist()
        assert [None if pd.isna(x) else x for x in got] == expected, match
        misses = mapped.warnings
        if match == "exact":
            assert set(misses["value"]) == {"GTXPro", "gtx-pro"}
            assert (misses["check"] == "not_in_reference").all()
        else:
            assert not len(misses)
    bad = _deals_mapping(fill={"amount": {"fill_from": ["lookup.nope"]}})
    with pytest.raises(ValueError, match=r"lookup\.nope names no lookup"):
        ImportMapping.from_dict(bad)


def test_derived_ids_from_a_template_or_a_stable_hash(tmp_path):
    rows = [{k: v for k, v in r.items() if k != "id"} for r in _BASE]
    src = _export(tmp_path, rows)
    m = _deals_mapping(ids={"deal_id": {"template": "{owner}-{_row}"}})
    m["tables"]["deals"]["columns"].pop("id")
    raw = apply_mapping(src, ImportMapping.from_dict(m)).raw["deals"]
    assert raw["deal_id"].tolist() == ["ann-1", "bob-2", "ann-3", "cy-4"]
    m["tables"]["deals"]["ids"] = {"deal_id": {"hash": ["owner", "created"], "prefix": "H"}}
    a = apply_mapping(src, ImportMapping.from_dict(m)).raw["deals"]["deal_id"]
    b = apply_mapping(src, ImportMapping.from_dict(m)).raw["deals"]["deal_id"]
    assert a.tolist() == b.tolist() and a.str.fullmatch(r"H[0-9a-f]{12}").all()
    assert a.nunique() == 4
    for bad, msg in (
        ({"template": "{owner"}, "unbalanced braces"),
        ({"template": "fixed"}, "names no column"),
        ({"hash": ["owner"], "length": 40}, "length"),
        ({"template": "{a}", "hash": ["b"]}, "exactly one"),
    ):
        m["tables"]["deals"]["ids"] = {"deal_id": bad}
        with pytest.raises(ValueError, match=msg):
            ImportMapping.from_dict(m)


def test_filter_skips_rows_by_a_safe_expression_counted_not_lost(tmp_path):
    src = _export(tmp_path, _BASE)
    m = _deals_mapping(
        filter={"skip": 'amount >= 1000 or owner == "cy"'},
        fill={"created_at": {"fill_from": ["closed"]}},
        placeholders={"customer_id": "(none)"},
    )
    report = import_dataset(src, ImportMapping.from_dict(m), tmp_path / "out")
    # amount is compared as a number (thousands removed), owner is a source column
    assert report.counts.loc["deals", "skipped"] == 2
    assert set(report.stored.loc[report.stored["rule"] == "skipped", "line"]) == {4, 5}
    assert report.stored["message"].str.contains("skipped by the mapping's filter").sum() == 2
    assert report.counts.loc["deals", "quarantined"] == 1  # D2 has no date at all
    assert report.data.deals["deal_id"].tolist() == ["D1"]
    keep = _deals_mapping(filter={"keep": "isnull(closed_at)"})
    report = import_dataset(src, ImportMapping.from_dict(keep), tmp_path / "out2")
    assert report.counts.loc["deals", "skipped"] == 2
    for bad, msg in (
        ({"skip": "__import__('os')"}, "not allowed"),
        ({"drop": "x == 1"}, "exactly one of"),
    ):
        with pytest.raises(ValueError, match=msg):
            ImportMapping.from_dict(_deals_mapping(filter=bad))
    with pytest.raises(ValueError, match="unknown column 'colour'"):
        apply_mapping(src, ImportMapping.from_dict(_deals_mapping(filter={"skip": "colour == 1"})))


def test_placeholder_without_the_parent_table_is_noted(tmp_path):
    src = _export(tmp_path, _BASE)
    m = _deals_mapping(placeholders={"customer_id": "(no account)"})
    mapped = apply_mapping(src, ImportMapping.from_dict(m))
    assert mapped.raw["deals"]["customer_id"].tolist()[1] == "(no account)"
    assert any("no customers table" in n for n in mapped.notes)
    with pytest.raises(ValueError, match="not a reference"):
        ImportMapping.from_dict(_deals_mapping(placeholders={"stage": "x"}))


def test_mapping_entries_are_bounded_and_checked(tmp_path):
    for extra, msg in (
        ({"values": {"outcome": {"re:(": "won"}}}, "not a valid regular expression"),
        ({"values": {"outcome": {f"re:{'a' * 300}": "won"}}}, "longer than 200"),
        ({"values": {"outcome": {f"glob:x{i}": "won" for i in range(101)}}}, "more than 100"),
        ({"colums": {}}, "did you mean 'columns'"),
        ({"lookups": {"p": {"file": "x.csv", "key": "k"}}}, "'value:' is required"),
        ({"fill": {"amount": {}}}, "give fill_from, default or both"),
        ({"constants": {"amount": 1}, "fill": {"amount": {"default": 2}}}, "fed by both"),
    ):
        m = _deals_mapping(**extra)
        with pytest.raises(ValueError, match=msg):
            ImportMapping.from_dict(m)
    big = tmp_path / "big.yaml"
    big.write_text("tables: {}\n" + "#" * (2 << 20), encoding="utf-8")
    with pytest.raises(ValueError, match="at most"):
        ImportMapping.read(big)
    (tmp_path / "bad.yaml").write_text("tables: [", encoding="utf-8")
    with pytest.raises(ValueError, match="not valid YAML"):
        ImportMapping.read(tmp_path / "bad.yaml")


# ---------------------------------------------------------------------- property
_CELLS = {
    "owner": ["a", "b", "", " "],
    "acct": ["A", "B", "Z", "", " A "],
    "status": ["Won", "Lost", "Open", "Closed Won", "weird", ""],
    "created": ["2024-01-05", "01/02/2024", "13/45/2024", "", "2024-02-30"],
    "closed": ["2024-03-01", "", "03/04/2024", "soon"],
    "value": ["100", "-5", "1,200", "abc", "", "0"],
    "product": ["GTX Pro", "", "MG"],
}


@pytest.mark.slow
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_property_no_row_is_silently_dropped(data):
    """For random exports and mappings: read + added = loaded + skipped + quarantined,
    and every source row is either loaded or recorded in quarantine.parquet."""
    import tempfile

    n = data.draw(st.integers(0, 25), label="rows")
    rows = [
        {
            "id": data.draw(st.sampled_from([f"D{i}", f"D{i}", "D0", ""]), label="id"),
            **{c: data.draw(st.sampled_from(v), label=c) for c, v in _CELLS.items()},
            "src_row": f"r{i}",
        }
        for i in range(n)
    ]
    mapping = _deals_mapping()
    deals = mapping["tables"]["deals"]
    deals["keep_unmapped"] = True
    deals["values"]["outcome"] = data.draw(
        st.sampled_from(
            [
                {"Won": "won", "glob:Lost*": "lost", "*": "open"},
                {"re:.*Won": "won", "Lost": "lost", "": "open"},
                {"Won": "won"},
            ]
        ),
        label="outcome map",
    )
    if data.draw(st.booleans(), label="fill"):
        deals["fill"] = {"created_at": {"fill_from": ["closed"]}, "amount": {"default": 0}}
    deals["filter"] = data.draw(
        st.sampled_from([None, {"skip": 'owner == "b"'}, {"keep": "amount > 0"}]), label="filter"
    )
    with_accounts = data.draw(st.booleans(), label="customers table")
    if data.draw(st.booleans(), label="placeholder"):
        deals["placeholders"] = {"customer_id": "(none)"}
    if data.draw(st.booleans(), label="date formats"):
        mapping["date_formats"] = ["%m/%d/%Y"]
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "src"
        src.mkdir()
        cols = ["id", *_CELLS, "src_row"]
        pd.DataFrame(rows, columns=cols).to_csv(src / "deals.csv", index=False)
        if with_accounts:
            pd.DataFrame(
                {
                    "acct": ["A", "B"],
                    "seg": ["x", "y"],
                    "reg": ["E", "W"],
                    "src": ["web", "web"],
                    "since": ["2020-01-01", ""],
                }
            ).to_csv(src / "accounts.csv", index=False)
            mapping["tables"]["customers"] = {
                "file": "accounts.csv",
                "columns": {
                    "acct": "customer_id",
                    "seg": "segment",
                    "reg": "region",
                    "src": "source_channel",
                    "since": "created_at",
                },
            }
        report = import_dataset(src, ImportMapping.from_dict(mapping), Path(tmp) / "out")
        stored = read_stored_quarantine_of(Path(tmp) / "out")
    c = report.counts
    for table in c.index:
        assert c.loc[table, "read"] + c.loc[table, "added"] == (
            c.loc[table, "loaded"] + c.loc[table, "skipped"] + c.loc[table, "quarantined"]
        ), table
    got = stored[stored["table"] == "deals"]
    loaded = set(report.data.deals["src_row"]) if n and "src_row" in report.data.deals else set()
    recorded = {f"r{r}" for r in got["row"]}
    assert loaded | recorded == {f"r{i}" for i in range(n)}
    assert not loaded & recorded
    skipped = set(got.loc[got["rule"] == "skipped", "row"])
    assert len(skipped) == c.loc["deals", "skipped"] if n else True
    assert (got["line"] == got["row"] + 2).all()
    assert len(stored) == len(report.stored)


def read_stored_quarantine_of(folder: Path) -> pd.DataFrame:
    from salesml.data.quarantine import read_stored_quarantine

    return read_stored_quarantine(folder)


def test_the_format_reference_is_a_valid_mapping():
    import re

    docs = Path(__file__).resolve().parents[2] / "docs" / "mapping.md"
    text = docs.read_text(encoding="utf-8")
    block = next(b for b in re.findall(r"```yaml\n(.*?)```", text, flags=re.S) if "tables:" in b)
    m = ImportMapping.from_dict(yaml.safe_load(block))
    deals = m.tables["deals"]
    assert deals.filter is not None and deals.filter.skip
    assert set(deals.lookups) == {"list_price"} and deals.placeholders
    # every setting of a table is shown in the reference
    from salesml.data.mapping.spec import _TABLE_KEYS

    assert all(f"    {k}:" in block for k in _TABLE_KEYS)
    readme = (docs.parents[1] / "README.md").read_text(encoding="utf-8")
    data_in = readme.split("### Data in", 1)[1].split("###", 1)[0]
    assert "docs/mapping.md" in data_in
    assert "salesml/data/mapping" in salesml_mapping_doc()


def salesml_mapping_doc() -> str:
    import salesml.data.mapping as mod

    assert "docs/mapping.md" in (mod.__doc__ or "")
    return mod.__file__
