"""Draft mappings read off an export's headers and values (salesml.data.draft)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from salesml.cli import main
from salesml.data.draft import _header_score, draft_mapping
from salesml.data.mapping import ImportMapping, import_dataset

EXAMPLES = Path(__file__).resolve().parents[2] / "datasets" / "examples"


def test_headers_match_model_columns_through_crm_words():
    for header, table, column in (
        ("Opportunity ID", "deals", "deal_id"),
        ("sales_agent", "deals", "rep_id"),
        ("close_value", "deals", "amount"),
        ("deal_stage", "deals", "stage"),
        ("Account", "deals", "customer_id"),
        ("office_location", "customers", "region"),
        ("客户", "deals", "customer_id"),  # the zh label
        ("CloseDate", "deals", "closed_at"),
    ):
        assert _header_score(header, table, column) >= 0.9, (header, column)
    assert _header_score("Opportunity Name", "deals", "amount") < 0.8


def test_draft_of_the_salesforce_style_example_imports_without_edits(tmp_path):
    src = EXAMPLES / "crm_export"
    draft = draft_mapping(src)
    p = draft.write(tmp_path / "draft.yaml")
    text = p.read_text(encoding="utf-8")
    assert "# CHECK" in text and yaml.safe_load(text) == draft.mapping
    tables = draft.mapping["tables"]
    assert [tables[t]["file"] for t in ("reps", "customers", "deals")] == [
        "users.csv",
        "accounts.csv",
        "opportunities.csv",
    ]
    assert tables["deals"]["columns"]["Stage"] == "outcome"
    assert tables["deals"]["columns"]["Stage Reached"] == "stage"
    assert draft.mapping["dataset"]["stage_order"] == [
        "qualification",
        "needs_analysis",
        "proposal",
        "negotiation",
        "contract",
    ]
    report = import_dataset(src, p, tmp_path / "out")
    assert report.ok, report.quarantine
    hand = import_dataset(src, src / "mapping.yaml", tmp_path / "hand")
    cols = ["deal_id", "outcome", "stage", "amount", "created_at", "closed_at", "customer_id"]
    pd.testing.assert_frame_equal(report.data.deals[cols], hand.data.deals[cols])


def test_draft_of_the_crm_sample_imports_with_one_edit(tmp_path, capsys):
    src = EXAMPLES / "sales_pipeline"
    out = tmp_path / "draft.yaml"
    assert main(["import", str(src), "--draft-mapping", str(out)]) == 0
    assert "guesses are marked CHECK" in capsys.readouterr().out
    m = yaml.safe_load(out.read_text(encoding="utf-8"))
    deals = m["tables"]["deals"]
    # the draft saw what the user had to find out: placeholders, a second date, list prices,
    # and a close value that is 0 for lost deals kept out of amount
    assert deals["placeholders"] == {"customer_id": "(no account)"}
    assert deals["fill"]["created_at"] == {"fill_from": ["close_date"]}
    assert deals["fill"]["amount"] == {"fill_from": ["lookup.list_price"]}
    assert deals["columns"]["close_value"] == "won_amount"
    assert m["tables"]["reps"]["columns"]["manager"] == "team"
    # the one edit: the currency, which no header says
    m["dataset"]["currency"] = "USD"
    report = import_dataset(src, ImportMapping.from_dict(m), tmp_path / "ds")
    raw = pd.read_csv(src / "sales_pipeline.csv", dtype="str", keep_default_na=False)
    no_date = ((raw["engage_date"] == "") & (raw["close_date"] == "")).sum()
    c = report.counts
    assert c.loc["deals", "quarantined"] <= no_date
    assert c.loc["deals", "loaded"] + c.loc["deals", "quarantined"] == len(raw)
    assert c.loc["customers", "quarantined"] == c.loc["reps", "quarantined"] == 0
    assert report.data.config.currency == "USD"
    w = report.warnings
    near = w[w["check"] == "near_duplicate"]
    pairs = {frozenset((a, b)) for a, b in zip(near["value"], near["suggestion"], strict=True)}
    assert {
        frozenset(("technolgy", "technology")),
        frozenset(("GTXPro", "GTX Pro")),
        frozenset(("Philipines", "Philippines")),
    } <= pairs
    assert not (w["check"] == "amount_reveals_outcome").any()


def test_draft_errors_name_the_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="holds no CSV"):
        draft_mapping(tmp_path)
    pd.DataFrame({"colour": ["red"], "size": [3]}).to_csv(tmp_path / "things.csv", index=False)
    with pytest.raises(ValueError, match=r"no file of .* looks like deals"):
        draft_mapping(tmp_path)
    assert (
        main(["import", str(tmp_path / "nope"), "--draft-mapping", str(tmp_path / "d.yaml")]) == 2
    )
