"""Audit packs: PDFs with an embedded CJK font, a chained manifest, and tamper detection."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from salesml.cli import main
from salesml.data.bundle import SalesData
from salesml.ops import audit
from salesml.ops.audit import (
    FontNotFoundError,
    find_cjk_font,
    verify_audit_pack,
    write_audit_pack,
)

FIX = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="module")
def pack(demo_data, tmp_path_factory) -> tuple[Path, str]:
    data, _ = demo_data
    ap = data["approvals"]
    # customers with both steps and one with a pending step
    both = ap.groupby("subject_id")["step"].nunique()
    cs = [*both[both == 2].index[:4], ap.loc[ap["decision"] == "pending", "subject_id"].iloc[0]]
    folder = tmp_path_factory.mktemp("pack") / "p"
    p = write_audit_pack(data, folder, customers=cs)
    assert p.customers == list(dict.fromkeys(cs)) and len(p.files) == len(p.customers)
    assert p.records == ap["subject_id"].isin(cs).sum()
    return folder, p.head


@pytest.fixture
def copy(pack, tmp_path) -> Path:
    folder, _ = pack
    dst = tmp_path / "copy"
    shutil.copytree(folder, dst)
    return dst


def test_the_pack_verifies_and_is_reproducible(pack, demo_data, tmp_path) -> None:
    folder, head = pack
    v = verify_audit_pack(folder, head=head)
    assert v.ok and v.head == head
    m = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert m["head"] == head and m["entries"][-1]["chain"] == head
    kinds = [e["kind"] for e in m["entries"]]
    assert kinds.count("file") == 5 and kinds.count("record") == len(
        (folder / "records.jsonl").read_text(encoding="utf-8").splitlines()
    )
    again = write_audit_pack(demo_data[0], tmp_path / "again", customers=m["customers"])
    assert again.head == head  # same data, same bytes, same head


def test_pdfs_embed_a_cjk_truetype_font_and_list_every_step(pack, demo_data) -> None:
    folder, _ = pack
    pdf = sorted(folder.glob("*.pdf"))[0].read_bytes()
    assert pdf.startswith(b"%PDF")
    assert b"/FontFile2" in pdf  # an embedded TrueType font program
    font = find_cjk_font()
    assert font.is_file()
    recs = [json.loads(x) for x in (folder / "records.jsonl").read_text("utf-8").splitlines()]
    data = demo_data[0]
    ap = data["approvals"].set_index("approval_id")
    for r in recs:
        row = ap.loc[r["approval_id"]]
        assert r["reviewer_id"] == row["reviewer_id"] and r["decision"] == row["decision"]
        assert pd.Timestamp(r["submitted_at"]) == row["submitted_at"]
        assert r["reviewer_name"]  # the reviewer's (Chinese) name from reps


def _verdict(folder: Path) -> tuple[str, str]:
    v = verify_audit_pack(folder)
    assert not v.ok
    return v.kind, v.name


def test_a_flipped_byte_in_a_pdf_is_named(copy) -> None:
    f = sorted(copy.glob("*.pdf"))[2]
    b = bytearray(f.read_bytes())
    b[len(b) // 2] ^= 0x01
    f.write_bytes(bytes(b))
    assert _verdict(copy) == ("file", f.name)


def test_an_edited_row_is_named(copy) -> None:
    p = copy / "records.jsonl"
    lines = p.read_text("utf-8").splitlines()
    rec = json.loads(lines[3])
    rec["decision"] = "approved" if rec["decision"] != "approved" else "rejected"
    lines[3] = json.dumps(rec, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    p.write_text("\n".join(lines) + "\n", "utf-8")
    kind, name = _verdict(copy)
    assert (kind, name) == ("record", rec["approval_id"])
    assert "line 4" in verify_audit_pack(copy).problem


def test_a_removed_file_is_named(copy) -> None:
    f = sorted(copy.glob("*.pdf"))[1]
    f.unlink()
    assert _verdict(copy) == ("file", f.name)


def test_reordered_records_are_caught(copy) -> None:
    p = copy / "records.jsonl"
    lines = p.read_text("utf-8").splitlines()
    lines[0], lines[1] = lines[1], lines[0]
    p.write_text("\n".join(lines) + "\n", "utf-8")
    first = json.loads(lines[1])["approval_id"]  # what line 1 should hold
    assert _verdict(copy) == ("record", first)


def test_reordered_manifest_entries_and_a_rewritten_pack_are_caught(copy, pack) -> None:
    _, head = pack
    mp = copy / "manifest.json"
    m = json.loads(mp.read_text("utf-8"))
    m["entries"][0], m["entries"][1] = m["entries"][1], m["entries"][0]
    mp.write_text(json.dumps(m), "utf-8")
    v = verify_audit_pack(copy)
    assert not v.ok
    # a record changed and the manifest rewritten to match: only the head tells
    m["entries"][0], m["entries"][1] = m["entries"][1], m["entries"][0]
    p = copy / "records.jsonl"
    lines = p.read_text("utf-8").splitlines()
    lines[0] = lines[0].replace('"approved"', '"rejected"')
    p.write_text("\n".join(lines) + "\n", "utf-8")
    chain = audit._GENESIS
    for e in m["entries"]:
        if e["name"] == json.loads(lines[0])["approval_id"]:
            e["sha256"] = audit._sha(lines[0].encode())
        chain = e["chain"] = audit._link(chain, e["kind"], e["name"], e["sha256"])
    m["head"] = chain
    mp.write_text(json.dumps(m), "utf-8")
    assert verify_audit_pack(copy).ok  # self-consistent ...
    v = verify_audit_pack(copy, head=head)
    assert not v.ok and "rewritten" in v.problem  # ... but not the pack whose head we kept


def test_an_added_file_is_named(copy) -> None:
    (copy / "note.txt").write_text("x")
    assert _verdict(copy) == ("file", "note.txt")


def test_cli_pack_and_verify(demo_dataset_dir, tmp_path, capsys) -> None:
    out = tmp_path / "cli"
    assert (
        main(
            [
                "audit",
                "pack",
                "--data",
                str(demo_dataset_dir),
                "--period",
                "2026-01",
                "--out",
                str(out),
                "--lang",
                "en",
            ]
        )
        == 0
    )
    head = capsys.readouterr().out.split("chain head ")[1].strip()
    assert len(head) == 64
    assert main(["audit", "verify", str(out), "--head", head]) == 0
    assert "intact" in capsys.readouterr().out
    f = sorted(out.glob("*.pdf"))[0]
    f.write_bytes(f.read_bytes()[:-10])
    assert main(["audit", "verify", str(out)]) == 1
    assert f.name in capsys.readouterr().err
    # an unknown customer is an error naming it, and nothing is written
    bad = tmp_path / "bad"
    assert (
        main(
            [
                "audit",
                "pack",
                "--data",
                str(demo_dataset_dir),
                "--customer",
                "NOPE",
                "--out",
                str(bad),
            ]
        )
        == 2
    )
    assert "NOPE" in capsys.readouterr().err and not bad.exists()


def test_a_missing_font_fails_clearly(monkeypatch, demo_data, tmp_path) -> None:
    monkeypatch.setenv("SALESML_CJK_FONT", str(tmp_path / "none.ttf"))
    with pytest.raises(FontNotFoundError, match="SALESML_CJK_FONT"):
        find_cjk_font()
    monkeypatch.delenv("SALESML_CJK_FONT")
    monkeypatch.setattr(audit, "CJK_FONT_CANDIDATES", (str(tmp_path / "x.ttc"),))
    with pytest.raises(FontNotFoundError, match="fonts-wqy-microhei"):
        find_cjk_font()


def test_export_fixture_pack_keeps_problem_rows_and_document_refs(tmp_path) -> None:
    ap = pd.read_csv(FIX / "approvals_export.csv", parse_dates=["submitted_at", "decided_at"])
    ap["document_ref"] = "DOC-" + ap["approval_id"]
    cu = pd.read_csv(FIX / "customers.csv")
    data = SalesData({"approvals": ap, "customers": cu})
    p = write_audit_pack(data, tmp_path / "fx", customers=["C3", "C4"], lang="en")
    recs = [
        json.loads(x) for x in (tmp_path / "fx" / "records.jsonl").read_text("utf-8").splitlines()
    ]
    assert [r["approval_id"] for r in recs] == ["A-004", "A-005", "A-007", "A-008"]
    probs = {r["approval_id"]: r["problem"] for r in recs}
    assert probs["A-004"] == "final_before_initial" and probs["A-005"] is None
    assert all(r["document_ref"] == "DOC-" + r["approval_id"] for r in recs)
    assert verify_audit_pack(p.folder, head=p.head).ok
    with pytest.raises(ValueError, match="either customers or a period"):
        write_audit_pack(data, tmp_path / "x")
    with pytest.raises(ValueError, match="not empty"):
        write_audit_pack(data, tmp_path / "fx", customers=["C3"])
