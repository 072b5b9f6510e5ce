"""``salesml report due``: closed periods since the last good run, caught up, idempotent, locked."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from salesml.cli import main
from salesml.periods import Period
from salesml.reports.registry import ReportSpec, get_report
from salesml.reports.schedule import data_end, due_periods, run_due
from salesml.reports.store import ReportBusy, lock_path, locked


def _labels(periods: list[Period]) -> list[str]:
    return [p.label for p in periods]


def test_due_periods_follow_the_cadence_and_catch_up() -> None:
    weekly = get_report("pipeline_weekly")
    assert weekly.period_kind == "week"
    assert get_report("cac_monthly").period_kind == "month"
    monday = pd.Timestamp("2026-10-26 06:00")  # W44 has just begun: W43 closed last night
    # never ran: the last closed period only
    assert _labels(due_periods(weekly, [], as_of=monday)) == ["2026-W43"]
    # ran for W40: the three missed weeks, oldest first
    good = [Period.parse("2026-W39"), Period.parse("2026-W40")]
    assert _labels(due_periods(weekly, good, as_of=monday)) == ["2026-W41", "2026-W42", "2026-W43"]
    assert _labels(due_periods(weekly, good, as_of=monday, max_catch_up=2)) == [
        "2026-W41",
        "2026-W42",
    ]
    # up to date: nothing (running again does nothing new)
    assert due_periods(weekly, [Period.parse("2026-W43")], as_of=monday) == []
    # a first run may start earlier; a month given for a weekly report starts at its first week
    assert _labels(due_periods(weekly, [], as_of=monday, since=Period.parse("2026-10")))[:2] == [
        "2026-W40",
        "2026-W41",
    ]
    # Sunday night the week has not closed yet
    assert _labels(due_periods(weekly, [], as_of=pd.Timestamp("2026-10-25 23:00"))) == ["2026-W42"]


def test_data_end_reads_deals_and_leads(tiny_dataset: Path) -> None:
    from salesml.data.io import load_dataset

    data = load_dataset(tiny_dataset, progress=False)
    assert data_end(tiny_dataset) == max(
        data.deals["created_at"].max(),
        data.leads["created_at"].max(),
        data.deals["closed_at"].max(),
    )


@pytest.mark.slow
def test_due_runs_missed_periods_once_and_waits_for_data(
    echo_report: ReportSpec, tiny_dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "reports"
    end = data_end(tiny_dataset)
    last_full = Period.parse(f"{end:%Y-%m}")
    if last_full.last_day > end.normalize():
        last_full = last_full.previous()
    first = last_full.previous()
    # a month after the data ends: the month after the data has closed, but is not in it
    clock = (last_full.end + pd.DateOffset(months=1, days=9)).strftime("%Y-%m-%d")
    args = ["report", "due", "--data", str(tiny_dataset), "--out", str(out), "--as-of", clock]
    args += ["--report", "echo_test", "--since", first.label]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert f"echo_test {first.label}: ok" in printed
    assert f"echo_test {last_full.label}: ok" in printed
    assert f"echo_test {last_full.next().label}: waiting" in printed
    folders = sorted(p.name for p in (out / "echo_test").iterdir())
    assert folders == [first.label, last_full.label]
    stamps = {p: p.stat().st_mtime_ns for p in (out / "echo_test").iterdir()}
    assert str(out.resolve() / "index.html") in printed
    # idempotent: a second call runs nothing
    assert main(args) == 0
    again = capsys.readouterr().out
    assert ": ok" not in again and "waiting" in again
    assert {p: p.stat().st_mtime_ns for p in (out / "echo_test").iterdir()} == stamps
    # a second scheduler on the same folder does nothing
    with locked(lock_path(out.resolve(), "due")):
        with pytest.raises(ReportBusy):
            run_due(tiny_dataset, out, as_of=clock, reports=["echo_test"])
        assert main(args) == 0
        assert "nothing done" in capsys.readouterr().out


def test_due_refuses_bad_input_in_one_line(
    tiny_dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["report", "due", "--out", str(tmp_path / "r")]
    assert main([*base, "--data", str(tiny_dataset / "deals.parquet")]) == 2
    assert "is a file" in capsys.readouterr().err
    assert main([*base, "--data", str(tiny_dataset), "--as-of", "soon"]) == 2
    assert "--as-of" in capsys.readouterr().err
    assert main([*base, "--data", str(tiny_dataset), "-p", "nonsense", "1"]) == 2
    assert "no selected report takes parameter(s) nonsense" in capsys.readouterr().err
    assert main([*base, "--data", str(tiny_dataset), "--report", "../x"]) == 2
    assert "invalid report name" in capsys.readouterr().err
