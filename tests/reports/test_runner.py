"""The papermill runner on a trivial report: outputs, lineage, atomic swap, failure path."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from salesml.reports import ReportFailed, run_report
from salesml.reports.export import external_scripts
from salesml.reports.registry import ReportSpec


@pytest.mark.slow
def test_run_writes_notebook_html_and_lineage(echo_report: ReportSpec, tmp_path: Path) -> None:
    out = tmp_path / "reports"
    r = run_report(
        "echo_test", {"dataset": str(tmp_path), "period": "2026-W05", "threshold": 2}, out
    )
    assert r.ok
    assert r.folder == out / "echo_test" / "2026-W05"
    assert {p.name for p in r.folder.iterdir()} == {"echo_test.ipynb", "echo_test.html", "run.json"}
    run = json.loads(r.run_json.read_text(encoding="utf-8"))
    assert run["status"] == "ok"
    assert run["parameters"]["threshold"] == 2.0  # int widened to the declared float
    assert run["parameters"]["dataset"] == str(tmp_path.resolve())
    assert run["started"] <= run["ended"]
    nb = nbformat.read(r.notebook, as_version=4)
    printed = "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []))
    assert '"threshold": 2.0' in printed
    page = r.html.read_text(encoding="utf-8")
    assert "echo report" in page
    assert "print(json.dumps" not in page  # code hidden
    assert external_scripts(page) == []
    # nothing but the run folder is left behind (no temp folders)
    assert [p.name for p in (out / "echo_test").iterdir()] == ["2026-W05"]


@pytest.mark.slow
def test_failure_keeps_last_good_report(echo_report: ReportSpec, tmp_path: Path) -> None:
    out = tmp_path / "reports"
    good = run_report("echo_test", {"dataset": str(tmp_path), "period": "2026-01"}, out)
    before = good.html.read_bytes()
    with pytest.raises(ReportFailed) as info:
        run_report("echo_test", {"dataset": str(tmp_path), "period": "2026-01", "fail": True}, out)
    failed = info.value.result
    assert failed.status == "failed"
    assert failed.error is not None
    assert failed.error["ename"] == "RuntimeError"
    assert failed.error["evalue"] == "planted failure"
    assert "raise RuntimeError" in failed.error["source"]
    assert "planted failure" in str(info.value) and "cell" in str(info.value)
    # the good report is untouched, the failed notebook saved apart with the cell marked
    assert good.html.read_bytes() == before
    assert failed.folder == out / "echo_test" / "2026-01.failed"
    nb = nbformat.read(failed.notebook, as_version=4)
    assert any(c.metadata.get("papermill", {}).get("exception") for c in nb.cells)
    run = json.loads(failed.run_json.read_text(encoding="utf-8"))
    assert run["status"] == "failed" and run["error"]["ename"] == "RuntimeError"
    # a later good run replaces the report and clears the stale failure
    again = run_report("echo_test", {"dataset": str(tmp_path), "period": "2026-01"}, out)
    assert again.ok and not failed.folder.exists()
    assert sorted(p.name for p in (out / "echo_test").iterdir()) == ["2026-01"]
