"""The reports folder's plumbing: the atomic exchange, the swap fallback, locks that die with
their process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from salesml.reports import store
from salesml.reports.store import (
    ReportBusy,
    clean_stale,
    exchange,
    is_free,
    lock_path,
    locked,
    swap_in,
)


def _folder(path: Path, text: str) -> Path:
    path.mkdir(parents=True)
    (path / "run.json").write_text(text, encoding="utf-8")
    return path


def test_exchange_swaps_two_folders_in_one_step(tmp_path: Path) -> None:
    a, b = _folder(tmp_path / "a", "new"), _folder(tmp_path / "b", "old")
    if not exchange(a, b):
        pytest.skip("this file system has no atomic exchange (the two-rename fallback is tested)")
    assert (b / "run.json").read_text() == "new" and (a / "run.json").read_text() == "old"


@pytest.mark.parametrize("atomic", [True, False])
def test_swap_in_replaces_the_report_and_leaves_nothing_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, atomic: bool
) -> None:
    if not atomic:
        monkeypatch.setattr(store, "exchange", lambda a, b: False)
    final = tmp_path / "2026-01"
    swap_in(_folder(tmp_path / ".2026-01.tmp-00000001", "first"), final)  # nothing to replace
    swap_in(_folder(tmp_path / ".2026-01.tmp-00000002", "second"), final)
    assert (final / "run.json").read_text() == "second"
    assert [p.name for p in tmp_path.iterdir()] == ["2026-01"]


def test_an_interrupted_fallback_swap_is_repaired(tmp_path: Path) -> None:
    # the fallback renamed the old report aside and died before renaming the new one in
    report_dir = tmp_path / "reports" / "r"
    _folder(report_dir / ".2026-01.old-00000001", "old")
    _folder(report_dir / ".2026-01.tmp-00000002", "half-written")
    done = clean_stale(report_dir, tmp_path / "reports")
    assert len(done) == 2
    assert (report_dir / "2026-01" / "run.json").read_text() == "old"  # the good report is back
    assert [p.name for p in report_dir.iterdir()] == ["2026-01"]


def test_a_lock_is_exclusive_and_dies_with_its_process(tmp_path: Path) -> None:
    path = lock_path(tmp_path, "r/2026-01")
    with locked(path, what="report 'r' for 2026-01"):
        assert not is_free(path)
        busy = pytest.raises(ReportBusy, match="report 'r' for 2026-01 is already running")
        with busy, locked(path, what="report 'r' for 2026-01"):
            pass
    assert is_free(path)
    # a run killed by SIGKILL holds its lock no longer: the next run may clean up after it
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "from pathlib import Path\n"
            "from salesml.reports.store import locked\n"
            "with locked(Path(sys.argv[1])):\n"
            "    print('locked', flush=True)\n"
            "    time.sleep(60)\n",
            str(path),
        ],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        assert not is_free(path)
    finally:
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait()
    deadline = time.monotonic() + 10
    while not is_free(path) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert is_free(path)
