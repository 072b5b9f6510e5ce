"""Approvals' document references: the opt-in simulated column and the audit pack's listing."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import reportlab.platypus

from salesml.data.bundle import SalesData
from salesml.ops.audit import documents, verify_audit_pack, write_audit_pack
from salesml.simulator import simulate

FIX = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="module")
def with_docs() -> tuple[SalesData, SalesData]:
    base, _ = simulate(preset="tiny", seed=2)
    data, truth = simulate(preset="tiny", seed=2, approval_documents=True)
    assert truth.config["approval_documents"] is True
    return base, data


def test_documents_are_opt_in_and_leave_everything_else_alone(with_docs) -> None:
    base, data = with_docs
    assert "document_ref" not in base["approvals"].columns
    ap = data["approvals"]
    pd.testing.assert_frame_equal(ap.drop(columns="document_ref"), base["approvals"])
    for name in base.tables:
        if name != "approvals":
            pd.testing.assert_frame_equal(data[name], base[name], obj=name)
    seg = data["customers"].set_index("customer_id")["segment"].reindex(ap["subject_id"])
    docs = ap["document_ref"].map(documents)
    named = docs.str.len() > 0
    assert 0.01 < (~named).mean() < 0.08  # a few steps name no document
    initial = (ap["step"] == "initial").to_numpy() & named.to_numpy()
    final = (ap["step"] == "final").to_numpy() & named.to_numpy()
    # every reference names its kind and its own approval
    for aid, ds in zip(ap["approval_id"], docs, strict=True):
        assert all(d.split("-", 1)[1] == aid for d in ds)
    kinds = docs.map(lambda ds: {d.split("-")[0] for d in ds})
    assert kinds[initial].map(lambda k: "LIC" in k and k <= {"LIC", "IDC", "INV"}).all()
    assert kinds[final].map(lambda k: "CON" in k and k <= {"CON", "CRD"}).all()
    crd = kinds.map(lambda k: "CRD" in k).to_numpy()
    assert crd.any() and (seg.to_numpy()[crd] == "key_account").all()


def test_the_audit_pack_lists_each_approvals_documents(with_docs, tmp_path, monkeypatch) -> None:
    _, data = with_docs
    ap = data["approvals"]
    no_doc = ap.loc[ap["document_ref"].isna(), "subject_id"].iloc[0]
    cs = [*ap["subject_id"].drop_duplicates().iloc[:3], no_doc]
    shown: list[str] = []
    real = reportlab.platypus.Paragraph

    def spy(text, *args, **kwargs):
        shown.append(str(text))
        return real(text, *args, **kwargs)

    monkeypatch.setattr(reportlab.platypus, "Paragraph", spy)
    p = write_audit_pack(data, tmp_path / "pack", customers=cs, lang="en")
    assert verify_audit_pack(p.folder, head=p.head).ok
    recs = [json.loads(x) for x in (p.folder / "records.jsonl").read_text("utf-8").splitlines()]
    want = ap.set_index("approval_id")["document_ref"]
    assert len(recs) == ap["subject_id"].isin(cs).sum()
    for r in recs:
        ref = want[r["approval_id"]]
        assert r["documents"] == ([] if pd.isna(ref) else ref.split("; "))
        # the PDF lists the documents one per line, or a dash when there are none
        assert ("<br/>".join(r["documents"]) or "—") in shown
    assert any(r["documents"] == [] for r in recs)


def test_export_fixture_documents_in_one_cell(tmp_path) -> None:
    ap = pd.read_csv(FIX / "approvals_documents_export.csv", parse_dates=["submitted_at"])
    ap = ap.rename(columns={"附件": "document_ref"})
    cu = pd.read_csv(FIX / "customers.csv")
    p = write_audit_pack(
        SalesData({"approvals": ap, "customers": cu}), tmp_path / "fx", customers=["C1", "C2", "C3"]
    )
    recs = {
        r["approval_id"]: r
        for r in map(json.loads, (p.folder / "records.jsonl").read_text("utf-8").splitlines())
    }
    assert recs["A-001"]["documents"] == ["营业执照.pdf", "法人身份证.jpg"]
    # a line break separates too; markup characters are text, not reportlab markup
    assert recs["A-002"]["documents"] == ["框架合同 <v2> & 附件.pdf", "授信申请.xlsx"]
    assert recs["A-003"]["documents"] == [] and recs["A-003"]["document_ref"] is None
    assert recs["A-005"]["documents"] == ["LIC-0042", "IDC-0042"]  # empty items dropped
    assert verify_audit_pack(p.folder, head=p.head).ok
