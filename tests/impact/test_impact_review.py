"""The ``impact_review`` report (issue 14) on the tiny dataset, in en and zh."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from salesml.cli import main
from salesml.data.io import load_dataset
from salesml.demo import latest_complete_month
from salesml.reports import get_report, validate_params
from salesml.reports.catalog.impact_review import ImpactReviewParams, check_rows, effect_rows
from salesml.reports.params import ParameterError


def test_registered_with_its_sections() -> None:
    spec = get_report("impact_review")
    assert [s.name for s in spec.sections] == ["findings", "table", "charts", "assumptions"]
    assert spec.notebook_path.exists()


def test_parameters_are_checked_before_papermill() -> None:
    base = {"dataset": "x", "period": "2026-10"}
    with pytest.raises(ParameterError, match="method"):
        validate_params(ImpactReviewParams, {**base, "method": "did"}, report="impact_review")
    with pytest.raises(ParameterError, match="go_live"):
        validate_params(ImpactReviewParams, {**base, "go_live": "soon"}, report="impact_review")
    with pytest.raises(ParameterError, match="window"):
        validate_params(ImpactReviewParams, {**base, "window": 9999}, report="impact_review")


def test_rows_of_the_table_and_the_checks(demo_data) -> None:
    from salesml.impact import impact

    data, truth = demo_data
    res = impact(data, go_live=truth.go_live, kpis=["stage_days", "cac"])
    rows = effect_rows(res, "zh")
    assert rows["kpi"].tolist() == ["单阶段停留天数", "获客成本（综合）"]
    assert {"naive_rel", "rel_effect", "rel_low", "rel_high"} <= set(rows)
    checks = check_rows(res, "en")
    assert checks["check"].str.contains("Durbin-Watson").all()


@pytest.mark.slow
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_report_runs_on_the_tiny_dataset(
    tiny_dataset: Path, tmp_path: Path, lang: str, capsys: pytest.CaptureFixture[str]
) -> None:
    period = latest_complete_month(load_dataset(tiny_dataset, progress=False))
    out = tmp_path / "reports"
    args = ["report", "run", "impact_review", "--data", str(tiny_dataset), "--period", period]
    assert main([*args, "--out", str(out), "-p", "lang", lang]) == 0
    capsys.readouterr()
    html = next((out / "impact_review").rglob("impact_review.html")).read_text(encoding="utf-8")
    if lang == "zh":
        assert "变革效果评估报告" in html and "简单前后对比" in html and "假设与检验" in html
        assert "反事实" in html
    else:
        assert "Impact review" in html and "Naive change" in html
        assert "Assumptions and checks" in html and "Durbin-Watson" in html
    assert html.count("plotly-graph-div") >= 1  # the counterfactual charts
    run = json.loads(next((out / "impact_review").rglob("run.json")).read_text(encoding="utf-8"))
    assert run["status"] == "ok"
