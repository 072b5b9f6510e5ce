"""The ``impact_review`` report (issue 14) on the tiny dataset, in en and zh."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from salesml.cli import main
from salesml.data.io import load_dataset
from salesml.demo import latest_complete_month
from salesml.i18n import t
from salesml.reports import get_report, validate_params
from salesml.reports.catalog.impact_review import (
    ImpactReviewParams,
    check_rows,
    effect_rows,
    parse_region_go_live,
)
from salesml.reports.params import ParameterError


def test_registered_with_its_sections() -> None:
    spec = get_report("impact_review")
    assert [s.name for s in spec.sections] == ["findings", "table", "charts", "assumptions"]
    assert spec.notebook_path.exists()


def test_parameters_are_checked_before_papermill() -> None:
    base = {"dataset": "x", "period": "2026-10"}
    with pytest.raises(ParameterError, match="method"):
        validate_params(ImpactReviewParams, {**base, "method": "lasso"}, report="impact_review")
    # did / sts compare regions: they need per-region dates, two of them different
    for method in ("did", "sts"):
        with pytest.raises(ParameterError, match="region_go_live"):
            validate_params(ImpactReviewParams, {**base, "method": method}, report="impact_review")
        one_date = {**base, "method": method, "region_go_live": "华东=2026-01-01,华南=2026-01-01"}
        with pytest.raises(ParameterError, match="different dates"):
            validate_params(ImpactReviewParams, one_date, report="impact_review")
    for bad, why in [
        ("华东 2026-01-01", "pair 1"),
        ("华东=2026-01-01; 华南=soon", "pair 2"),
        ("华东=2026-13-45", "not a date"),
        ("华东=2026-01-01, 华东=2026-02-01", "twice"),
        ("x=__import__('os')", "pair 1"),
        (",".join(f"r{i}=2026-01-01" for i in range(101)), "at most 100"),
    ]:
        with pytest.raises(ParameterError, match=why):
            validate_params(
                ImpactReviewParams,
                {**base, "method": "did", "region_go_live": bad},
                report="impact_review",
            )
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


def test_region_go_live_is_parsed_by_a_whitelist() -> None:
    text = "华东=2025-11-01, 华南: 2025-12-01；华北＝2026-01-01"
    with pytest.raises(ValueError, match="pair 3"):  # a full-width '=' is not accepted
        parse_region_go_live(text)
    got = parse_region_go_live("华东=2025-11-01, 华南: 2025-12-01；North-West (old)=2026-01-01")
    assert got == {"华东": "2025-11-01", "华南": "2025-12-01", "North-West (old)": "2026-01-01"}
    assert parse_region_go_live(None) == {} and parse_region_go_live("  ") == {}


@pytest.fixture(scope="module")
def staggered_tiny(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """The tiny preset with one go-live per region, saved once."""
    from salesml.data.io import save_dataset
    from salesml.simulator import simulate

    data, truth = simulate(preset="tiny", seed=3, staggered_go_live=True)
    folder = tmp_path_factory.mktemp("data") / "tiny_staggered"
    save_dataset(data, folder)
    return folder, dict(truth.region_go_live)


@pytest.mark.parametrize("method", ["its", "did", "sts", "auto"])
def test_each_method_through_the_report_sections(staggered_tiny, method: str) -> None:
    """The report's compute step with each method (the notebook run is tested below)."""
    from salesml.reports.catalog.impact_review import SECTIONS

    folder, dates = staggered_tiny
    regional = "" if method == "its" else ", ".join(f"{k}={v}" for k, v in dates.items())
    params = validate_params(
        ImpactReviewParams,
        {"dataset": str(folder), "period": "2026-04", "method": method, "region_go_live": regional},
        report="impact_review",
    )
    data = load_dataset(folder, progress=False)

    class _R:  # the two attributes the compute step reads of a running report
        def __init__(self) -> None:
            self.params, self.data, self.period = params, data, params.period_value

    compute = next(s for s in SECTIONS if s.name == "table").compute
    res = compute(_R())
    assert res.method == ("did" if method == "auto" else method)
    if method != "its":
        assert res.go_live == {k: pd.Timestamp(v) for k, v in dates.items()}
    ok = res.table[res.table["status"] == "ok"]
    assert len(ok) >= 3 and (ok["method"] == res.method).all()
    # the planted -30% on cross-team response: every method sees a clear drop
    assert res.row("collab_response_hours")["rel_effect"] < -0.1
    assert effect_rows(res, "zh")["method"].iloc[0] == t(f"impact.method.{res.method}", "zh")
    assert check_rows(res, "en")["check"].str.len().gt(0).all()


@pytest.mark.slow
def test_the_report_runs_with_a_regional_method(
    staggered_tiny, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # one notebook run (20 s): sts goes through the same parameters and sections above
    method = "did"
    folder, dates = staggered_tiny
    out = tmp_path / "reports"
    regional = ", ".join(f"{k}={v}" for k, v in dates.items())
    args = ["report", "run", "impact_review", "--data", str(folder), "--period", "2026-04"]
    args += ["--out", str(out), "-p", "method", method, "-p", "region_go_live", regional]
    assert main(args) == 0
    capsys.readouterr()
    html = next((out / "impact_review").rglob("impact_review.html")).read_text(encoding="utf-8")
    assert t(f"impact.method.{method}", "en") in html
    assert t(f"impact_review.assumptions.{method}", "en")[:40] in html
    run = json.loads(next((out / "impact_review").rglob("run.json")).read_text(encoding="utf-8"))
    assert run["status"] == "ok"


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
