"""Each validation rule on small hand-made bad frames: caught, named, conserved."""

from __future__ import annotations

import pandas as pd
import pytest

from salesml.data.config import DatasetConfig
from salesml.data.schema import SPECS, TABLE_NAMES
from salesml.data.validate import RULES, ValidationReport, to_pandera, validate


def reps(**over) -> pd.DataFrame:
    d = {
        "rep_id": ["R1", "R2", "R3"],
        "name": ["王芳", "李伟", "张敏"],
        "team": ["T1", "T1", "T2"],
        "region": ["华东", "华东", "华南"],
        "role": ["manager", "sales", "sales"],
        "manager_id": [None, "R1", "R1"],
        "hired_at": ["2023-01-01", "2023-02-01", "2024-03-01 09:30"],
    }
    d.update(over)
    return pd.DataFrame(d)


def customers(**over) -> pd.DataFrame:
    d = {
        "customer_id": ["C1", "C2"],
        "segment": ["key_account", "small_business"],
        "region": ["华东", "华南"],
        "source_channel": ["wechat", "referral"],
        "created_at": ["2025-01-01", "2025-01-02"],
        "store_id": [None, None],
    }
    d.update(over)
    return pd.DataFrame(d)


def deals(**over) -> pd.DataFrame:
    d = {
        "deal_id": ["D1", "D2", "D3", "D4"],
        "customer_id": ["C1", "C1", "C2", "C2"],
        "rep_id": ["R2", "R2", "R3", "R3"],
        "lead_id": [None] * 4,
        "created_at": ["2025-02-01", "2025-02-02", "2025-02-03", "2025-02-04 10:00:00"],
        "stage": ["proposal", "contract", "qualification", "negotiation"],
        "amount": ["1000", "2500.5", "300", "42"],
        "product_line": ["equipment", "service", "solution", "consumables"],
        "outcome": ["open", "won", "lost", "open"],
        "closed_at": [None, "2025-03-01", "2025-02-20", None],
    }
    d.update(over)
    return pd.DataFrame(d)


def check(tables: dict, **kw) -> ValidationReport:
    files = kw.pop("files", {t: f"{t}.csv" for t in tables})
    r = validate(tables, files=files, **kw)
    c = r.counts
    assert (c["read"] == c["loaded"] + c["quarantined"]).all()
    for t, df in tables.items():
        assert c.loc[t, "read"] == len(df)
        assert len(r.data[t]) == c.loc[t, "loaded"]
        assert (
            r.quarantine.loc[r.quarantine["table"] == t, "row"].nunique() == c.loc[t, "quarantined"]
        )
    assert set(r.quarantine["rule"]) <= set(RULES)
    return r


def only(r: ValidationReport, rule: str) -> pd.DataFrame:
    return r.quarantine[r.quarantine["rule"] == rule]


def test_clean_frames_pass_and_get_model_dtypes():
    r = check({"reps": reps(), "customers": customers(), "deals": deals()})
    assert r.ok and r.n_rejected == 0
    d = r.data.deals
    assert str(d["amount"].dtype) == "float64"
    assert str(d["created_at"].dtype) == "datetime64[us]"
    assert d["closed_at"].isna().sum() == 2
    assert r.data.reps["hired_at"].iloc[2] == pd.Timestamp("2024-03-01 09:30")
    assert "all 9 rows" in r.headline()


def test_dtype_rule_names_file_line_column_and_value():
    r = check({"deals": deals(amount=["1000", "约39000元", "300", "42"])})
    q = only(r, "dtype")
    assert len(q) == 1
    row = q.iloc[0]
    assert (row["table"], row["row"], row["line"], row["column"]) == ("deals", 1, 3, "amount")
    assert row["key"] == "D2" and row["value"] == "约39000元"
    assert row["message"].startswith("deals.csv line 3: column amount is '约39000元'")
    assert "not a number" in row["message"]
    assert list(r.data.deals["deal_id"]) == ["D1", "D3", "D4"]


def test_int_and_bool_columns_reject_non_integers_and_non_booleans():
    quotes = pd.DataFrame(
        {
            "quote_id": ["Q1", "Q2", "Q3"],
            "deal_id": ["D1", "D1", "D1"],
            "version": ["1", "2.5", "3"],
            "sent_at": ["2025-02-01"] * 3,
            "first_viewed_at": [None] * 3,
            "replied_at": [None] * 3,
            "amount": ["10", "20", "30"],
        }
    )
    r = check({"quotes": quotes})
    assert only(r, "dtype")[["row", "column"]].values.tolist() == [[1, "version"]]
    assert str(r.data.quotes["version"].dtype) == "Int64"
    mm = pd.DataFrame(
        {
            "movement_id": ["M1", "M2", "M3"],
            "store_id": ["S01"] * 3,
            "sku": ["A"] * 3,
            "kind": ["receive", "redeem", "loss"],
            "qty": ["1", "2", "3"],
            "unit_cost": ["5", "5", "5"],
            "occurred_at": ["2025-01-01"] * 3,
            "scanned": ["True", "maybe", "false"],
            "customer_id": [None] * 3,
            "ref_store_id": [None] * 3,
        }
    )
    r = check({"material_movements": mm})
    assert only(r, "dtype")[["row", "column"]].values.tolist() == [[1, "scanned"]]
    assert r.data.material_movements["scanned"].dtype == bool
    assert r.data.material_movements["scanned"].tolist() == [True, False]


def test_date_format_rule_and_declared_formats():
    bad = deals(created_at=["2025-02-01", "2025年7月1日 14:11", "01/30/2025", "2025-02-04"])
    r = check({"deals": bad})
    q = only(r, "date_format")
    assert q["row"].tolist() == [1, 2]
    assert (q["column"] == "created_at").all()
    assert "not a date" in q["message"].iloc[0]
    # declaring the US format accepts row 2 (and parses it month first)
    cfg = DatasetConfig(extra={"date_formats": ["%m/%d/%Y"]})
    r2 = check({"deals": bad}, config=cfg)
    assert only(r2, "date_format")["row"].tolist() == [1]
    assert pd.Timestamp("2025-01-30") in set(r2.data.deals["created_at"])


def test_not_null_rule_does_not_double_report_unparseable_cells():
    r = check({"deals": deals(customer_id=["C1", None, "C2", ""], amount=["x", "1", "2", "3"])})
    nn = only(r, "not_null")
    assert nn[["row", "column"]].values.tolist() == [[1, "customer_id"], [3, "customer_id"]]
    assert "is empty" in nn["message"].iloc[0]
    # row 0's amount is reported as dtype, not also as not_null
    assert only(r, "dtype")["row"].tolist() == [0]
    assert not ((r.quarantine["row"] == 0) & (r.quarantine["rule"] == "not_null")).any()


def test_allowed_values_rule_uses_spec_sets_and_the_configured_stage_order():
    r = check({"deals": deals(outcome=["open", "wonn", "lost", "open"])})
    q = only(r, "allowed_values")
    assert q[["row", "column", "value"]].values.tolist() == [[1, "outcome", "wonn"]]
    assert "open, won" in q["message"].iloc[0] or "lost, open, won" in q["message"].iloc[0]
    # a stage outside dataset.yaml's stage_order is rejected; a custom order is honoured
    r2 = check({"deals": deals(stage=["proposal", "demo", "qualification", "negotiation"])})
    assert only(r2, "allowed_values")["row"].tolist() == [1]
    cfg = DatasetConfig(
        stage_order=["qualification", "demo", "proposal", "negotiation", "contract"]
    )
    r3 = check(
        {"deals": deals(stage=["proposal", "demo", "qualification", "negotiation"])}, config=cfg
    )
    assert r3.ok


def test_cost_categories_mapped_in_dataset_yaml_are_accepted_and_translated():
    costs = pd.DataFrame(
        {
            "cost_id": ["K1", "K2", "K3"],
            "category": ["media", "广告投放", "medai"],
            "amount": ["10", "20", "30"],
            "incurred_at": ["2025-01-01"] * 3,
        }
    )
    cfg = DatasetConfig()
    cfg.cost_categories["广告投放"] = "media"
    r = check({"costs": costs}, config=cfg)
    assert only(r, "allowed_values")["value"].tolist() == ["medai"]
    assert r.data.costs["category"].tolist() == ["media", "media"]


def test_non_negative_rule():
    r = check({"deals": deals(amount=["1000", "-350.0", "0", "42"])})
    q = only(r, "non_negative")
    assert q["row"].tolist() == [1]
    assert q["message"].iloc[0] == (
        "deals.csv line 3: column amount is -350.0; amount cannot be negative"
    )


def test_unique_key_keeps_the_first_row_and_points_at_it():
    r = check({"deals": deals(deal_id=["D1", "D2", "D1", "D1"])})
    q = only(r, "unique_key")
    assert q["row"].tolist() == [2, 3]
    assert "repeats the key of line 2" in q["message"].iloc[0]
    assert r.data.deals["deal_id"].tolist() == ["D1", "D2"]
    assert r.data.deals["amount"].tolist() == [1000.0, 2500.5]


def test_unique_key_on_a_composite_key():
    sh = pd.DataFrame(
        {
            "deal_id": ["D1", "D1", "D1", "D2"],
            "entered_at": ["2025-02-01", "2025-02-05", "2025-02-01", "2025-02-01"],
            "stage": ["qualification", "needs_analysis", "qualification", "qualification"],
        }
    )
    r = check({"stage_history": sh})
    assert only(r, "unique_key")["row"].tolist() == [2]


def test_time_order_within_a_row_and_payment_before_contract():
    r = check({"deals": deals(closed_at=[None, "2025-01-01", "2025-02-20", None])})
    q = only(r, "time_order")
    assert q[["row", "column"]].values.tolist() == [[1, "closed_at"]]
    assert "before created_at" in q["message"].iloc[0]
    contracts = pd.DataFrame(
        {
            "contract_id": ["K1", "K2"],
            "deal_id": ["D2", "D3"],
            "signed_at": ["2025-03-01", "2025-03-05"],
            "amount": ["2500", "300"],
            "payment_terms_days": ["30", "60"],
        }
    )
    payments = pd.DataFrame(
        {
            "payment_id": ["P1", "P2", "P3"],
            "contract_id": ["K1", "K2", "K2"],
            "paid_at": ["2025-03-10", "2025-03-01", "2025-04-01"],
            "amount": ["2500", "100", "200"],
        }
    )
    r2 = check({"contracts": contracts, "payments": payments})
    q2 = only(r2, "time_order")
    assert q2[["table", "row", "column"]].values.tolist() == [["payments", 1, "paid_at"]]
    assert "contract" in q2["message"].iloc[0]
    approvals = pd.DataFrame(
        {
            "approval_id": ["A1", "A2"],
            "subject_id": ["C1", "C2"],
            "step": ["initial", "final"],
            "reviewer_id": ["R1", "R1"],
            "submitted_at": ["2025-03-10", "2025-03-10"],
            "decided_at": ["2025-03-09", "2025-03-11"],
            "decision": ["approved", "approved"],
        }
    )
    r3 = check({"approvals": approvals})
    assert only(r3, "time_order")["row"].tolist() == [0]


def test_foreign_key_and_parent_rejected_are_reported_apart():
    r = check(
        {
            "reps": reps(),
            "customers": customers(created_at=["2025-01-01", "n/a"]),  # C2 rejected
            "deals": deals(rep_id=["R2", "R9", "R3", "R3"]),
        }
    )
    fk = only(r, "foreign_key")
    assert fk[["table", "row", "column", "value"]].values.tolist() == [["deals", 1, "rep_id", "R9"]]
    assert "not in reps.csv" in fk["message"].iloc[0]
    pr = only(r, "parent_rejected")
    assert pr[["table", "row", "column"]].values.tolist() == [
        ["deals", 2, "customer_id"],
        ["deals", 3, "customer_id"],
    ]
    assert "itself rejected" in pr["message"].iloc[0]
    assert r.data.deals["deal_id"].tolist() == ["D1"]


def test_parent_rejected_cascades_through_tables_and_self_references():
    # R1 is a bad row: its reports R2, R3 cascade, and so do their deals
    r = check(
        {
            "reps": reps(hired_at=["yesterday", "2023-02-01", "2024-03-01"]),
            "customers": customers(),
            "deals": deals(),
        }
    )
    assert only(r, "date_format")["key"].tolist() == ["R1"]
    pr = only(r, "parent_rejected")
    assert set(zip(pr["table"], pr["key"], strict=True)) == {
        ("reps", "R2"),
        ("reps", "R3"),
        ("deals", "D1"),
        ("deals", "D2"),
        ("deals", "D3"),
        ("deals", "D4"),
    }
    assert len(r.data.reps) == 0 and len(r.data.deals) == 0


def test_duplicate_parent_key_keeps_children_of_the_first_row():
    r = check(
        {"customers": customers(customer_id=["C1", "C1"]), "deals": deals(customer_id=["C1"] * 4)}
    )
    assert only(r, "unique_key")["table"].tolist() == ["customers"]
    assert only(r, "parent_rejected").empty
    assert len(r.data.deals) == 4


def test_references_to_absent_tables_are_skipped_with_a_note():
    r = check({"deals": deals()})
    assert r.ok
    assert any("deals.customer_id refers to customers" in n for n in r.notes)
    assert r.data.missing_tables[0] == "reps"


def test_missing_optional_columns_are_added_and_required_ones_raise():
    r = check({"deals": deals().drop(columns=["lead_id", "closed_at"])})
    assert r.ok and {"lead_id", "closed_at"} <= set(r.data.deals.columns)
    assert r.data.deals["closed_at"].isna().all()
    # amount is optional since open deals are often unpriced (salesml schema deals)
    r = check({"deals": deals().drop(columns=["amount"])})
    assert r.ok and r.data.deals["amount"].isna().all()
    with pytest.raises(ValueError, match=r"deals.csv: required column\(s\) rep_id missing"):
        validate({"deals": deals().drop(columns=["rep_id"])}, files={"deals": "deals.csv"})


def test_extra_columns_are_carried_along():
    d = deals().assign(owner_note=["a", "b", "c", "d"])
    r = check({"deals": d})
    assert r.data.deals["owner_note"].tolist() == ["a", "b", "c", "d"]


def test_mixed_object_columns_are_parsed():
    d = deals(
        amount=pd.Series([1000, "2500.5", 3.0, None], dtype=object),
        created_at=pd.Series(
            [pd.Timestamp("2025-02-01"), "2025-02-02", "2025-02-03", "2025-02-04"], dtype=object
        ),
    )
    r = check({"deals": d})
    # (amount may be empty: an open deal not yet priced loads, see salesml schema deals)
    assert r.ok
    assert r.data.deals["amount"].tolist()[:3] == [1000.0, 2500.5, 3.0]
    assert pd.isna(r.data.deals["amount"].iloc[3])
    assert r.data.deals["created_at"].iloc[0] == pd.Timestamp("2025-02-01")


def test_messages_without_files_name_the_table_and_row():
    r = validate({"deals": deals(amount=["1", "-2", "3", "4"])})
    q = r.quarantine
    assert q["message"].iloc[0].startswith("deals row 1: column amount is -2")
    assert q["line"].isna().all()


def test_report_outputs(tmp_path):
    r = check({"deals": deals(amount=["1", "-2", "x", "4"])})
    assert r.summary().loc["deals", "non_negative"] == 1
    assert r.summary().loc["deals", "dtype"] == 1
    assert "2 quarantined" in r.headline()
    html = r._repr_html_()
    assert "non_negative" in html and "deals.csv line 3" in html
    p = r.to_file(tmp_path / "q.csv")
    back = pd.read_csv(p, encoding="utf-8-sig")
    assert back["rule"].tolist() == r.quarantine["rule"].tolist()
    p2 = r.to_file(tmp_path / "q.parquet")
    pd.testing.assert_frame_equal(pd.read_parquet(p2), r.quarantine)
    assert set(r.rejected) == {"deals"} and r.rejected["deals"].index.tolist() == [1, 2]
    assert r.data.validation is r


def test_unknown_table_is_an_error():
    with pytest.raises(ValueError, match="unknown table"):
        validate({"opportunities": deals()})


def test_pandera_schemas_accept_clean_and_reject_bad(small_data):
    import pandera.errors

    for name in TABLE_NAMES:
        to_pandera(SPECS[name]).validate(small_data[name])
    bad = small_data.deals.copy()
    bad.loc[0, "amount"] = -5.0
    with pytest.raises(pandera.errors.SchemaError):
        to_pandera(SPECS["deals"]).validate(bad)
    dup = pd.concat([small_data.deals, small_data.deals.iloc[[0]]], ignore_index=True)
    with pytest.raises(pandera.errors.SchemaError):
        to_pandera(SPECS["deals"]).validate(dup)


def test_validating_a_bundle_keeps_its_config(small_data):
    r = validate(small_data)
    assert r.ok
    assert r.data.config is small_data.config
    for name in small_data.tables:
        pd.testing.assert_frame_equal(r.data[name], small_data[name])


def test_empty_tables_validate():
    from salesml.data.schema import empty_table

    r = validate({n: empty_table(n) for n in TABLE_NAMES})
    assert r.ok and (r.counts["read"] == 0).all()
    for n in TABLE_NAMES:
        assert [str(t) for t in r.data[n].dtypes] == [c.pandas_dtype for c in SPECS[n].columns]


def test_numeric_ids_and_timezone_aware_dates_are_normalised():
    d = deals(
        deal_id=[3, 1, 2, 4],
        customer_id=[10, 10, 11, 11],
        created_at=pd.to_datetime(["2025-02-01 00:00"] * 4).tz_localize("UTC"),
        closed_at=[pd.NaT, pd.Timestamp("2025-03-01"), pd.Timestamp("2025-02-20"), pd.NaT],
    )
    c = customers(customer_id=[10, 11])
    r = check({"customers": c, "deals": d}, config=DatasetConfig(timezone="Asia/Shanghai"))
    assert r.ok
    assert r.data.deals["deal_id"].tolist() == ["3", "1", "2", "4"]
    # UTC midnight is 08:00 in Shanghai; the naive result is in the dataset's timezone
    assert r.data.deals["created_at"].iloc[0] == pd.Timestamp("2025-02-01 08:00")


def test_mixed_width_ids_sorted_not_hashed_same_answers(monkeypatch):
    """Ids of two widths (tier L: ``A000000001`` and ``A120169193899``) take the packed-code
    path; duplicates, first rows and lookups equal the hash-based answers."""
    import numpy as np
    import pyarrow as pa

    from salesml.data.validate import keys as keymod
    from salesml.data.validate import rules

    rng = np.random.default_rng(3)
    ids = [f"A{i:09d}" for i in range(150_000)] + [f"A12{i:010d}" for i in range(60_000)]
    keys = rng.choice(ids, size=240_000)  # repeats, in no order
    s = pd.Series(keys, dtype="str")
    arr = rules.arrow_text(s)
    monkeypatch.setattr(keymod, "PACK_ROWS", 7_001)  # several blocks, a short last one
    got = keymod.packed_codes([arr])
    assert got is not None and got[0].dtype == np.uint64
    # one code per text, in the texts' order
    np.testing.assert_array_equal(
        np.argsort(got[0], kind="stable"), np.argsort(keys.astype("S13"), kind="stable")
    )
    assert len(np.unique(got[0])) == len(set(keys))
    np.testing.assert_array_equal(rules._later_duplicates([s]), s.duplicated().to_numpy())
    child = pa.array([*list(rng.choice(ids, size=5000)), "A9", None, "A12"], pa.large_string())
    monkeypatch.setattr(rules, "_SORT_LOOKUP_ROWS", 0)  # a hash of the child, not of the parent
    pos = rules._lookup(child, arr, parent_sorted=False)
    expect = pa.compute.index_in(child, value_set=arr).fill_null(-1).to_numpy()
    np.testing.assert_array_equal(pos, expect)
    assert (pos >= 0).sum() > 3000 and (pos[-3:] == -1).all()
    # a column joined from partitions keeps their chunks: same answers, no joined copy
    joined = pd.concat([s[:100_000], s[100_000:]], ignore_index=True)
    chunks = rules.arrow_chunks(joined)
    assert chunks.num_chunks == 2
    np.testing.assert_array_equal(rules._later_duplicates([joined]), s.duplicated().to_numpy())
    np.testing.assert_array_equal(rules._lookup(child, chunks, parent_sorted=False), expect)


def test_packed_codes_refuse_what_they_cannot_tell_apart():
    """A NUL inside a value (it would read as padding) or alphabets beyond 64 bits: no
    codes, and the duplicate check still gives pandas' answer by hashing."""
    import numpy as np
    import pyarrow as pa

    from salesml.data.validate import keys, rules

    nul = pd.Series(["A", "A\x00", "A", "B"], dtype="str")
    assert keys.packed_codes([rules.arrow_text(nul)]) is None
    np.testing.assert_array_equal(rules._later_duplicates([nul]), nul.duplicated().to_numpy())
    rng = np.random.default_rng(5)
    wide = [bytes(rng.integers(97, 123, 20)).decode() for _ in range(3000)]  # 26**20 > 2**64
    wide = pd.Series(wide + wide[:40], dtype="str")
    assert keys.packed_codes([rules.arrow_text(wide)]) is None
    np.testing.assert_array_equal(rules._later_duplicates([wide]), wide.duplicated().to_numpy())
    short = pa.array(["x", "xy", "", "xy"], pa.large_string())  # the empty value is all padding
    codes = keys.packed_codes([short])[0]
    assert codes[1] == codes[3] and len(set(codes[:3].tolist())) == 3


@pytest.mark.parametrize("categorical", [False, True])
def test_foreign_keys_into_a_key_index_equal_the_row_lookup(monkeypatch, categorical):
    """A big parent whose ids are in no order is asked through its sorted packed codes
    (:class:`~salesml.data.validate.keys.KeyIndex`): missing ids, rejected parents
    (also a repeated id whose first row was rejected), values the codes cannot hold
    and missing cells give the same issues as looking up each value's first row."""
    import numpy as np

    from salesml.data.validate import rules
    from salesml.data.validate.rules import CheckedTable, check_references, check_unique_key

    rng = np.random.default_rng(11)
    gone = {1234, 2222, 321}  # ids the codes can hold that no row has
    ids = [f"A{i:09d}" for i in rng.permutation(3000) if i not in gone]
    ids += [f"A12{i:010d}" for i in range(500) if i not in gone]
    ids += [ids[7], ids[3100]]  # repeated keys: the later rows are rejected
    parent_ids = pd.Series(ids, dtype="str")
    wanted = list(rng.choice(ids, 4000))
    wanted += ["A000001234", "A000002222", "A120000000321"]
    wanted += ["A999999999", "B000000001", "A0000000001234", "A00000001", "A\x00", None]
    wanted += [ids[7], ids[3100], ids[42]]

    def table(name: str, ids: pd.Series, file: str) -> CheckedTable:
        frame = pd.DataFrame({"activity_id": ids})
        return CheckedTable(name, frame, frame.copy(), file, rejected=np.zeros(len(ids), bool))

    def run(lookup_rows: int) -> tuple[list, bool]:
        monkeypatch.setattr(rules, "_INDEX_ROWS", lookup_rows)
        n = len(parent_ids)
        parent = table("activities", parent_ids, "activities/")
        bad = np.zeros(n, dtype=bool)
        bad[[7, 42, 99]] = True  # rows 7 and 42 are referenced; row 7's id repeats later
        parent.add(bad, "occurred_at", "not_null", " (empty)")
        check_unique_key(parent)
        indexed = parent.key_index is not None
        child_ids = pd.Series(wanted, dtype="str")
        if categorical:
            child_ids = child_ids.astype("category")
        child = table("costs", child_ids, "costs.csv")
        check_references({"activities": parent, "costs": child}, [])
        got = [
            (i.column, i.rule, tuple(i.positions), tuple(pd.Series(i.explain).astype(str)))
            for i in child.issues
        ]
        assert parent.key_index is None  # dropped once the lookups are done
        return got, indexed

    by_rows, rows_indexed = run(10**9)
    by_codes, codes_indexed = run(0)
    assert not rows_indexed and codes_indexed
    assert by_codes == by_rows
    rules_found = {r for _, r, _, _ in by_rows}
    missing_at = next(pos for _, r, pos, _ in by_rows if r == "foreign_key")
    assert set(range(4000, 4008)) <= set(missing_at)  # held by the codes, or not
    assert rules_found == {"foreign_key", "parent_rejected"}
    rejected_at = next(pos for _, r, pos, _ in by_rows if r == "parent_rejected")
    assert len(wanted) - 3 in rejected_at and len(wanted) - 1 in rejected_at  # ids 7, 42
    assert len(wanted) - 2 not in rejected_at  # id 3100's first row is loaded
