"""``salesml demo``: latest complete period, data generation skipped when present, reports run,
the landing page printed last."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from salesml.demo import ensure_demo_data, latest_complete, latest_complete_month
from salesml.reports import list_reports
from salesml.reports.export import external_scripts


def test_latest_complete_month(demo_data) -> None:
    data, _ = demo_data
    assert latest_complete_month(data) == "2026-10"  # the data ends on 31 October
    assert latest_complete_month(data.as_of("2026-06-15 12:00")) == "2026-05"
    assert latest_complete(data, "quarter") == "2026-Q3"
    assert latest_complete(data, "week") == "2026-W43"  # Sunday 25 October ends W43


def test_existing_demo_data_is_not_regenerated(tiny_dataset: Path) -> None:
    before = sorted((p.name, p.stat().st_mtime_ns) for p in tiny_dataset.iterdir())
    assert ensure_demo_data(tiny_dataset) == tiny_dataset
    assert sorted((p.name, p.stat().st_mtime_ns) for p in tiny_dataset.iterdir()) == before


@pytest.mark.slow
def test_demo_runs_every_report_and_ends_with_the_landing_page(demo_reports) -> None:
    assert demo_reports.exit_code == 0, demo_reports.printed
    htmls = sorted(demo_reports.out.glob("*/*/*.html"))
    assert {h.parent.parent.name for h in htmls} == {s.name for s in list_reports()}
    assert all(h.parent.name == demo_reports.period for h in htmls)  # the last full quarter
    assert all(str(h) in demo_reports.printed for h in htmls)
    index = demo_reports.out.resolve() / "index.html"
    assert demo_reports.printed.strip().splitlines()[-1].strip() == str(index)
    page = index.read_text(encoding="utf-8")
    assert external_scripts(page) == [] and "<script" not in page
    for h in htmls:
        run = json.loads((h.parent / "run.json").read_text(encoding="utf-8"))
        assert f"{h.parent.parent.name}/{h.parent.name}/{h.name}" in page  # linked
        assert run["dataset_fingerprint"] in page and run["title"]["en"] in page
    zh = (demo_reports.out / "index.zh.html").read_text(encoding="utf-8")
    assert "成功" in zh and "数据集指纹" in zh and "销售漏斗季报" in zh
