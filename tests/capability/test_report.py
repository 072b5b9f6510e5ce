"""``rep_capability_monthly`` run for real on the tiny dataset, in English and Chinese."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from salesml.cli import main
from salesml.data.io import load_dataset
from salesml.demo import latest_complete_month
from salesml.reports.catalog.rep_capability_monthly import REPORT, RepCapabilityParams
from salesml.reports.registry import get_report


def test_registered_with_sections_and_checked_parameters(tmp_path: Path) -> None:
    assert get_report("rep_capability_monthly") == REPORT
    assert [s.name for s in REPORT.sections] == [
        "findings",
        "radar",
        "low_evidence",
        "movers",
        "grouping",
    ]
    with pytest.raises(ValueError, match="window_days"):
        RepCapabilityParams(dataset="d", period="2026-01", window_days=0)
    with pytest.raises(ValueError, match="groups"):
        RepCapabilityParams(dataset="d", period="2026-01", groups=" ")


@pytest.mark.slow
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_report_runs_on_the_tiny_dataset(
    tiny_dataset: Path, tmp_path: Path, lang: str, capsys: pytest.CaptureFixture[str]
) -> None:
    period = latest_complete_month(load_dataset(tiny_dataset, progress=False))
    out = tmp_path / "reports"
    args = [
        "report",
        "run",
        "rep_capability_monthly",
        "--data",
        str(tiny_dataset),
        "--period",
        period,
        "--out",
        str(out),
        "-p",
        "lang",
        lang,
    ]
    assert main(args) == 0
    folder = next((out / "rep_capability_monthly").iterdir())
    page = (folder / "rep_capability_monthly.html").read_text(encoding="utf-8")
    run = json.loads((folder / "run.json").read_text(encoding="utf-8"))
    assert run["status"] == "ok"
    words = {
        "en": [
            "Rep capability report",
            "Capability radar",
            "Reps with little evidence",
            "Movers",
            "Current teams and the proposed groups",
            "Key-account group",
            "Technical communication",
            "90% lower",
        ],
        "zh": [
            "销售能力月报",
            "能力雷达图",
            "证据不足的销售",
            "变化显著的销售",
            "当前团队与建议分组",
            "大客户组",
            "技术沟通",
            "90% 下限",
        ],
    }[lang]
    for w in words:
        assert w in page, w
    assert "scatterpolar" in page  # the radar is drawn
    assert "report.section(" not in page  # code hidden
