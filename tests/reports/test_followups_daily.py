"""``followups_daily``: the report on the tiny dataset (zh), its rows, and the task export."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from salesml.data.io import load_dataset
from salesml.reports import run_report
from salesml.reports.catalog.followups_daily import owner_rows, task_rows
from salesml.rules import due_followups
from salesml.rules.export import export_tasks, task_sheet


@pytest.fixture(scope="module")
def tiny(tiny_dataset: Path):
    data = load_dataset(tiny_dataset, progress=False)
    return data, data.time_range[1].normalize() - pd.Timedelta(days=1)


def test_rows_are_overdue_first(tiny):
    data, day = tiny
    res = due_followups(data, as_of=day + pd.Timedelta(days=1), lang="zh")
    own = owner_rows(res)
    assert own["tasks"].sum() == len(res.open())
    assert own["overdue"].is_monotonic_decreasing
    rows = task_rows(res, 10)
    assert len(rows) == min(10, len(res.open()))
    assert rows["overdue_hours"].is_monotonic_decreasing


@pytest.mark.slow
def test_report_runs_in_chinese_for_a_day(tiny, tiny_dataset: Path, tmp_path: Path):
    data, day = tiny
    period = f"{day:%Y-%m-%d}"
    r = run_report(
        "followups_daily", {"dataset": str(tiny_dataset), "period": period, "lang": "zh"}, tmp_path
    )
    assert r.ok
    page = r.html.read_text(encoding="utf-8")
    assert "每日待办跟进" in page and "按负责人" in page and "建议话术" in page
    res = due_followups(
        data, as_of=day + pd.Timedelta(days=1) - pd.Timedelta(microseconds=1), lang="zh"
    )
    top = owner_rows(res).iloc[0]["owner_name"]
    assert top in page


def test_export_is_formula_safe_in_csv_and_excel(tiny, tmp_path: Path):
    data, day = tiny
    res = due_followups(data, as_of=day, lang="zh")
    tasks = res.open().copy()
    tasks.loc[tasks.index[0], "owner_name"] = '=HYPERLINK("http://evil","x")'
    sheet = task_sheet(tasks, lang="zh")
    assert list(sheet.columns)[:3] == ["负责人姓名", "负责人", "优先级"]
    assert set(sheet["优先级"]) <= {"高", "中", "低"}
    csv = export_tasks(tasks, tmp_path / "tasks.csv", lang="zh")
    back = pd.read_csv(csv, encoding="utf-8-sig")
    assert len(back) == len(tasks)
    assert back["负责人姓名"].str.startswith("'=").sum() == 1
    assert not back["负责人姓名"].str.startswith("=").any()
    pytest.importorskip("openpyxl")
    xlsx = export_tasks(tasks, tmp_path / "tasks.xlsx", lang="en")
    book = pd.read_excel(xlsx)
    assert len(book) == len(tasks) and (book["Owner name"].str.startswith("'=")).sum() == 1
    with pytest.raises(ValueError, match=r"csv or an \.xlsx"):
        export_tasks(tasks, tmp_path / "tasks.json")
