"""Data-quality warnings (salesml.data.quality): what loads but looks wrong."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from salesml.data.bundle import SalesData
from salesml.data.config import DatasetConfig
from salesml.data.quality import (
    CHECKS,
    WARNING_COLUMNS,
    quality_warnings,
    split_missing,
    suggested_value_map,
)
from salesml.data.validate import validate


def _customers(segments: list[str], regions: list[str] | None = None) -> pd.DataFrame:
    n = len(segments)
    return pd.DataFrame(
        {
            "customer_id": [f"C{i}" for i in range(n)],
            "segment": segments,
            "region": regions or ["East"] * (n // 2) + ["West"] * (n - n // 2),
            "source_channel": ["web", "fair"] * (n // 2) + ["web"] * (n % 2),
            "created_at": pd.Timestamp("2024-01-01"),
            "store_id": pd.Series([None] * n, dtype="str"),
        }
    )


def test_near_duplicates_are_found_with_a_suggested_value_map():
    segs = (
        ["technology"] * 30
        + ["technolgy"] * 4
        + ["GTX Pro"] * 20
        + ["GTXPro"] * 6
        + ["gtx-pro"] * 1
        + ["GTX 500"] * 9
        + ["GTX 600"] * 9
        + ["retail"] * 10
    )
    regs = ["Philippines"] * 3 + ["Philipines"] * 12 + ["United States"] * 74
    w = quality_warnings(SalesData({"customers": _customers(segs, regs)}))
    assert tuple(w.columns) == WARNING_COLUMNS
    nd = w[w["check"] == "near_duplicate"].set_index("value")
    assert nd.loc["technolgy", "suggestion"] == "technology" and nd.loc["technolgy", "rows"] == 4
    assert nd.loc["GTXPro", "suggestion"] == "GTX Pro" and nd.loc["gtx-pro", "rows"] == 1
    # the commoner spelling wins unless dataset.yaml declares the right one
    assert nd.loc["Philippines", "suggestion"] == "Philipines"
    assert "GTX 600" not in nd.index and "GTX 500" not in nd.index  # two products
    assert (
        "'technolgy' (4 rows) looks like 'technology' (30 rows)" in nd.loc["technolgy", "message"]
    )
    vm = suggested_value_map(w)
    assert vm["customers"]["segment"] == {
        "technolgy": "technology",
        "GTXPro": "GTX Pro",
        "gtx-pro": "GTX Pro",
    }
    cfg = DatasetConfig(value_sets={"customers.region": ["Philippines", "United States"]})
    w = quality_warnings(SalesData({"customers": _customers(segs, regs)}, cfg))
    nd = w[w["check"] == "near_duplicate"].set_index("value")
    assert nd.loc["Philipines", "suggestion"] == "Philippines"
    out = w[w["check"] == "outside_value_set"].set_index("value")
    assert out.loc["Philipines", "suggestion"] == "Philippines"
    assert out.loc["Philipines", "rows"] == 12


def test_closed_value_sets_warn_or_quarantine_when_strict():
    cust = _customers(["smb"] * 40 + ["enterprise"] * 19 + ["Enterprise"] * 1)
    loose = DatasetConfig(value_sets={"customers.segment": ["smb", "enterprise"]})
    report = validate({"customers": cust}, config=loose)
    assert report.ok  # warned, not rejected
    w = quality_warnings(report.data)
    out = w[w["check"] == "outside_value_set"]
    assert out[["value", "suggestion", "rows"]].values.tolist() == [["Enterprise", "enterprise", 1]]
    strict = DatasetConfig(
        value_sets={"customers.segment": {"values": ["smb", "enterprise"], "strict": True}}
    )
    report = validate({"customers": cust}, config=strict)
    assert report.quarantine[["rule", "value"]].values.tolist() == [
        ["allowed_values", "Enterprise"]
    ]
    # the same through dataset.yaml
    assert strict.to_dict()["value_sets"] == {
        "customers.segment": {"values": ["smb", "enterprise"], "strict": True}
    }
    for bad, msg in (
        ({"custmers.segment": ["a"]}, "not 'table.column'"),
        ({"customers.segment": []}, "non-empty list"),
        ({"customers.segment": {"values": ["a"], "strict": "yes"}}, "true or false"),
        ({"customers.segment": list(range(10_001))}, "at most"),
    ):
        with pytest.raises(ValueError, match=msg):
            DatasetConfig.from_dict({"value_sets": bad})
    with pytest.raises(ValueError, match="region_source"):
        DatasetConfig.from_dict({"region_source": "store"})


def test_constant_and_mostly_empty_columns():
    n = 100
    cust = _customers(["a", "b"] * (n // 2)).assign(
        source_channel="web", note=[None] * (n - 1) + ["x"]
    )
    w = quality_warnings(SalesData({"customers": cust}))
    got = set(zip(w["check"], w["column"], strict=True))
    assert ("constant", "source_channel") in got and ("mostly_empty", "note") in got
    assert ("constant", "segment") not in got
    small = quality_warnings(SalesData({"customers": cust.head(10)}))
    assert not small["check"].isin(["constant", "mostly_empty"]).any()  # too few rows to say


def _deals(outcome, amount) -> pd.DataFrame:
    n = len(outcome)
    return pd.DataFrame(
        {
            "deal_id": [f"D{i}" for i in range(n)],
            "customer_id": "C1",
            "rep_id": "R1",
            "lead_id": None,
            "created_at": pd.Timestamp("2024-01-01"),
            "stage": "proposal",
            "amount": amount,
            "product_line": "x",
            "outcome": outcome,
            "closed_at": pd.NaT,
        }
    )


def test_amount_checks_won_without_amount_and_a_leaking_amount():
    outcome = ["won"] * 20 + ["lost"] * 20 + ["open"] * 10
    amount = [100.0] * 19 + [np.nan] + [0.0] * 20 + [np.nan] * 10
    w = quality_warnings(SalesData({"deals": _deals(outcome, amount)})).set_index("check")
    assert w.loc["won_without_amount", "rows"] == 1
    assert "1 of 20 won deals have no amount" in w.loc["won_without_amount", "message"]
    assert "gives the outcome away" in w.loc["amount_reveals_outcome", "message"]
    honest = [100.0] * 20 + [80.0] * 20 + [np.nan] * 10
    w = quality_warnings(SalesData({"deals": _deals(outcome, honest)}))
    assert not w["check"].isin(["won_without_amount", "amount_reveals_outcome"]).any()
    # open deals without an amount load (amount is optional) and analyses can count them
    report = validate({"deals": _deals(outcome, honest)})
    assert report.ok
    assert len(report.data.rows_without("deals", "amount")) == 10
    priced, left_out = split_missing(report.data.deals, "amount")
    assert left_out == 10 and len(priced) == 40


def test_work_is_bounded_and_results_are_sorted():
    many = [f"name{i:05d}" for i in range(3000)]
    w = quality_warnings(SalesData({"customers": _customers(many)}), max_distinct=2000)
    assert not (w["check"] == "near_duplicate").any()  # too many distinct values: free text
    with pytest.raises(ValueError, match="max_distinct"):
        quality_warnings(SalesData({"customers": _customers(many)}), max_distinct=10**6)
    segs = ["technology"] * 30 + ["technolgy"] * 4
    w = quality_warnings(SalesData({"customers": _customers(segs)}, DatasetConfig()))
    assert list(w["check"]) == sorted(w["check"], key=CHECKS.index)


def test_simulated_data_is_quiet(small_data):
    w = quality_warnings(small_data)
    assert not (w["check"] == "near_duplicate").any(), w


def test_rows_without_checks_its_columns(small_data):
    with pytest.raises(KeyError, match="no column"):
        small_data.rows_without("deals", "colour")
    assert (
        len(small_data.rows_without("deals", "lead_id")) == small_data.deals["lead_id"].isna().sum()
    )
