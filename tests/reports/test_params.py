"""Parameter safety: names, types, values and paths are refused before anything executes."""

from __future__ import annotations

from pathlib import Path

import pytest

from salesml.reports import ParameterError, run_report, validate_params
from salesml.reports.catalog.pipeline_weekly import PipelineWeeklyParams
from salesml.reports.params import ReportParams, parse_cli_value, period_slug
from salesml.reports.registry import ReportSpec, get_report, list_reports
from salesml.reports.runner import resolve_out_dir

BASE = {"dataset": "datasets/demo", "period": "2026-01"}


@pytest.fixture
def no_execution(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Record any attempt to execute a notebook (there must be none)."""
    import papermill

    calls: list[object] = []
    monkeypatch.setattr(papermill, "execute_notebook", lambda *a, **k: calls.append(a))
    return calls


def test_code_in_a_parameter_name_is_refused(
    echo_report: ReportSpec, tmp_path: Path, no_execution: list[object]
) -> None:
    evil = {**BASE, "dataset": str(tmp_path), "x = 1\nimport os; os.system('touch pwned')\ny": 1}
    with pytest.raises(ParameterError, match="plain identifiers"):
        run_report("echo_test", evil, tmp_path / "reports")
    assert no_execution == []
    assert not (tmp_path / "reports").exists()


@pytest.mark.parametrize("name", ["../echo_test", "echo_test/../../x", "/etc/passwd", "Echo", ""])
def test_report_name_escaping_the_folder_is_refused(
    echo_report: ReportSpec, tmp_path: Path, name: str, no_execution: list[object]
) -> None:
    with pytest.raises(ParameterError, match="invalid report name"):
        run_report(name, {**BASE, "dataset": str(tmp_path)}, tmp_path / "reports")
    assert no_execution == []


def test_output_path_with_parent_references_is_refused(
    echo_report: ReportSpec, tmp_path: Path, no_execution: list[object]
) -> None:
    with pytest.raises(ParameterError, match=r"contains '\.\.'"):
        run_report("echo_test", {**BASE, "dataset": str(tmp_path)}, tmp_path / "reports/../..")
    with pytest.raises(ParameterError):
        resolve_out_dir("../elsewhere")
    assert no_execution == []


@pytest.mark.parametrize(
    ("values", "match"),
    [
        ({"threshold": "high"}, "'threshold' must be float"),
        ({"fail": 1}, "'fail' must be bool"),
        ({"lang": "fr"}, "'lang' must be one of 'en', 'zh'"),
        ({"region": 3}, "'region' must be str | None"),
        ({"period": "January"}, "cannot read period"),
        ({"period": "2026-13"}, "month 13"),
        ({"nonsense": 1}, "unknown parameter 'nonsense'"),
    ],
)
def test_wrong_types_and_values_are_refused(
    echo_report: ReportSpec,
    tmp_path: Path,
    values: dict[str, object],
    match: str,
    no_execution: list[object],
) -> None:
    with pytest.raises(ParameterError, match=match):
        run_report("echo_test", {**BASE, "dataset": str(tmp_path), **values}, tmp_path / "r")
    assert no_execution == []


def test_missing_dataset_and_required_params(echo_report: ReportSpec, tmp_path: Path) -> None:
    with pytest.raises(ParameterError, match=r"missing required parameter.*period"):
        run_report("echo_test", {"dataset": str(tmp_path)}, tmp_path / "r")
    with pytest.raises(ParameterError, match="does not exist"):
        run_report("echo_test", {**BASE, "dataset": str(tmp_path / "nope")}, tmp_path / "r")


def test_unknown_report_lists_the_registered_ones() -> None:
    with pytest.raises(ParameterError, match="pipeline_weekly"):
        get_report("no_such_report")


def test_schema_validation_and_cli_conversion() -> None:
    p = validate_params(PipelineWeeklyParams, {**BASE, "n_findings": 5}, report="pipeline_weekly")
    assert p.n_findings == 5 and p.lang == "en" and p.region is None
    with pytest.raises(ParameterError, match="n_findings must be between"):
        validate_params(PipelineWeeklyParams, {**BASE, "n_findings": 0})
    with pytest.raises(ParameterError, match="'n_findings' must be int"):
        validate_params(PipelineWeeklyParams, {**BASE, "n_findings": True})
    with pytest.raises(ParameterError, match="breakpoints_by must be one of"):
        validate_params(PipelineWeeklyParams, {**BASE, "breakpoints_by": "os.system"})
    assert parse_cli_value(PipelineWeeklyParams, "n_findings", "4") == 4
    assert parse_cli_value(PipelineWeeklyParams, "region", "none") is None
    assert parse_cli_value(PipelineWeeklyParams, "region", "华东") == "华东"
    assert parse_cli_value(PipelineWeeklyParams, "lang", "zh") == "zh"
    # an unconvertible value stays text and is then refused by type
    assert parse_cli_value(PipelineWeeklyParams, "n_findings", "many") == "many"


@pytest.mark.parametrize(
    ("period", "slug"),
    [
        ("2026-01", "2026-01"),
        ("2026-W05", "2026-W05"),
        ("2026-01-01..2026-01-31", "2026-01-01_2026-01-31"),
        ("2026-02-01/2026-02-10", "2026-02-01_2026-02-10"),
    ],
)
def test_period_slugs_are_safe_folder_names(period: str, slug: str) -> None:
    assert period_slug(period) == slug


def test_every_report_schema_is_well_formed() -> None:
    specs = list_reports()
    assert "pipeline_weekly" in [s.name for s in specs]
    for spec in specs:
        assert issubclass(spec.params, ReportParams)
        d = spec.params.describe()
        assert set(d.loc[d["required"], "name"]) == {"dataset", "period"}, spec.name
        assert spec.title("en") != f"{spec.name}.title", f"{spec.name} has no en title"
        assert spec.title("zh") != spec.title("en"), f"{spec.name} has no zh title"
