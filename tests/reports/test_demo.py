"""``salesml demo``: latest complete month, data generation skipped when present, reports run."""

from __future__ import annotations

from pathlib import Path

import pytest

from salesml.demo import ensure_demo_data, latest_complete_month, run_demo


def test_latest_complete_month(demo_data) -> None:
    data, _ = demo_data
    assert latest_complete_month(data) == "2026-10"  # the data ends on 31 October
    assert latest_complete_month(data.as_of("2026-06-15 12:00")) == "2026-05"


@pytest.mark.slow
def test_demo_runs_every_report_on_existing_data(
    tiny_dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = sorted(p.name for p in tiny_dataset.iterdir())
    assert ensure_demo_data(tiny_dataset) == tiny_dataset
    assert sorted(p.name for p in tiny_dataset.iterdir()) == before  # not regenerated
    assert run_demo(tiny_dataset, tmp_path / "reports") == 0
    out = capsys.readouterr().out
    htmls = sorted((tmp_path / "reports").glob("*/*/*.html"))
    assert htmls and all(str(h) in out for h in htmls)
    assert any(h.parent.parent.name == "pipeline_weekly" for h in htmls)
