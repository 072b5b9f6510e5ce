"""``compliance_weekly`` and ``war_room_weekly`` run on the tiny dataset, in zh and en."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from salesml.cli import main
from salesml.reports import list_reports
from salesml.reports.export import external_scripts


def _text(page: str) -> str:
    page = re.sub(r"<script.*?</script>|<style.*?</style>", "", page, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))


def test_both_reports_are_registered() -> None:
    names = {s.name for s in list_reports()}
    assert {"compliance_weekly", "war_room_weekly"} <= names


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "zh", "en"),
    [
        (
            "compliance_weekly",
            ["合规审批季报", "初审", "超时清单"],
            ["Quarterly compliance", "SLA breaches"],
        ),
        (
            "war_room_weekly",
            ["商机作战室季报", "上线前后对比", "跨团队响应时长"],
            ["Quarterly deal war room", "Before and after the go-live"],
        ),
    ],
)
def test_report_runs_in_both_languages(
    name: str, zh: list[str], en: list[str], tiny_dataset: Path, tmp_path: Path
) -> None:
    out = tmp_path / "reports"
    for lang, words in (("zh", zh), ("en", en)):
        args = ["report", "run", name, "--data", str(tiny_dataset), "--period", "2026-Q1"]
        assert main([*args, "--out", str(out), "-p", "lang", lang]) == 0
        folder = out / name / ("2026-Q1__zh" if lang == "zh" else "2026-Q1")
        page = (folder / f"{name}.html").read_text(encoding="utf-8")
        text = _text(page)
        for w in words:
            assert w in text, (lang, w)
        assert "Traceback" not in text and external_scripts(page) == []
        assert json.loads((folder / "run.json").read_text(encoding="utf-8"))["status"] == "ok"
