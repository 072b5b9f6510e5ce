"""The papermill runner on a trivial report: outputs, lineage, variants, locks, swaps, index."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import nbformat
import pytest

from salesml.reports import ReportFailed, run_report
from salesml.reports.export import external_scripts
from salesml.reports.registry import ReportSpec
from salesml.reports.store import ReportBusy, is_free, lock_path, locked


@pytest.mark.slow
def test_run_writes_notebook_html_and_lineage(echo_report: ReportSpec, tmp_path: Path) -> None:
    out = tmp_path / "reports"
    r = run_report(
        "echo_test", {"dataset": str(tmp_path), "period": "2026-W05", "threshold": 2}, out
    )
    assert r.ok
    # a non-default parameter is part of the folder name: no run replaces another silently
    assert r.folder == out / "echo_test" / "2026-W05__threshold-2"
    assert {p.name for p in r.folder.iterdir()} == {"echo_test.ipynb", "echo_test.html", "run.json"}
    run = json.loads(r.run_json.read_text(encoding="utf-8"))
    assert run["status"] == "ok"
    assert run["parameters"]["threshold"] == 2.0  # int widened to the declared float
    assert run["parameters"]["dataset"] == str(tmp_path.resolve())
    assert (run["period_kind"], run["period_start"], run["period_end"]) == (
        "week",
        "2026-01-26",
        "2026-02-01",
    )
    assert run["variant"] == "__threshold-2"
    assert run["started"] <= run["ended"]
    nb = nbformat.read(r.notebook, as_version=4)
    printed = "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []))
    assert '"threshold": 2.0' in printed
    page = r.html.read_text(encoding="utf-8")
    assert "echo report" in page
    assert "print(json.dumps" not in page  # code hidden
    assert external_scripts(page) == []
    # nothing but the run folder is left behind (no temp folders)
    assert [p.name for p in (out / "echo_test").iterdir()] == ["2026-W05__threshold-2"]
    # the landing page lists the run, with its fingerprint column and a link
    index = (out / "index.html").read_text(encoding="utf-8")
    assert "echo_test/2026-W05__threshold-2/echo_test.html" in index
    assert "threshold-2" in index and ">ok<" in index
    assert external_scripts(index) == [] and "<script" not in index
    assert "报告" in (out / "index.zh.html").read_text(encoding="utf-8")


@pytest.mark.slow
def test_failure_keeps_last_good_report(echo_report: ReportSpec, tmp_path: Path) -> None:
    out = tmp_path / "reports"
    params = {"dataset": str(tmp_path), "period": "2026-01"}
    good = run_report("echo_test", params, out)
    before = good.html.read_bytes()
    (tmp_path / "FAIL").write_text("x")  # the same parameters now fail
    with pytest.raises(ReportFailed) as info:
        run_report("echo_test", params, out)
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
    # the landing page shows both: the good report and the newer failure, with its error
    index = (out / "index.html").read_text(encoding="utf-8")
    assert ">failed<" in index and "planted failure" in index and ">ok<" in index
    assert "echo_test/2026-01.failed/echo_test.ipynb" in index
    # a failing run with another parameter is another variant: it touches neither
    with pytest.raises(ReportFailed) as other:
        run_report("echo_test", {**params, "fail": True}, out)
    assert other.value.result.folder == out / "echo_test" / "2026-01__fail-true.failed"
    # a later good run replaces the report and clears the stale failure of its variant
    (tmp_path / "FAIL").unlink()
    again = run_report("echo_test", params, out)
    assert again.ok and not failed.folder.exists()
    assert sorted(p.name for p in (out / "echo_test").iterdir()) == [
        "2026-01",
        "2026-01__fail-true.failed",
    ]


@pytest.mark.slow
def test_second_concurrent_run_is_refused_before_executing(
    echo_report: ReportSpec, tmp_path: Path
) -> None:
    out = tmp_path / "reports"
    params = {"dataset": str(tmp_path), "period": "2026-02", "pause": 4.0}
    results: dict[str, object] = {}

    def first() -> None:
        results["first"] = run_report("echo_test", params, out)

    worker = threading.Thread(target=first)
    worker.start()
    lock = lock_path(out.resolve(), "echo_test/2026-02__pause-4")
    deadline = time.monotonic() + 60
    while is_free(lock) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not is_free(lock), "the first run never took its lock"
    t0 = time.monotonic()
    with pytest.raises(ReportBusy, match="already running"):
        run_report("echo_test", params, out)
    assert time.monotonic() - t0 < 3  # refused at once, not after executing
    worker.join(120)
    assert results["first"].ok  # type: ignore[attr-defined]
    assert [p.name for p in (out / "echo_test").iterdir()] == ["2026-02__pause-4"]


@pytest.mark.slow
def test_leftovers_of_killed_runs_are_cleaned_when_their_lock_is_free(
    echo_report: ReportSpec, tmp_path: Path
) -> None:
    out = tmp_path / "reports"
    report_dir = out / "echo_test"
    # what SIGKILL leaves: a run killed while executing (.tmp-), one killed between the
    # two renames of a swap (.old-, its destination missing), and a live run's temp folder
    killed = report_dir / ".2026-03.tmp-0123abcd"
    half_swapped = report_dir / ".2026-04.old-89abcdef"
    live = report_dir / ".2026-05.tmp-deadbeef"
    for d in (killed, half_swapped, live):
        d.mkdir(parents=True)
    (half_swapped / "run.json").write_text('{"status": "ok"}', encoding="utf-8")
    with locked(lock_path(out.resolve(), "echo_test/2026-05")):  # held by a "live" run
        r = run_report("echo_test", {"dataset": str(tmp_path), "period": "2026-06"}, out)
    assert r.ok
    assert not killed.exists()
    assert not half_swapped.exists() and (report_dir / "2026-04" / "run.json").exists()
    assert live.exists()  # its lock was held: left alone
