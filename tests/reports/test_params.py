"""Parameter safety: names, types, values and paths are refused before anything executes."""

from __future__ import annotations

from pathlib import Path

import pytest

from salesml.periods import Period
from salesml.reports import ParameterError, run_report, validate_params
from salesml.reports.catalog.pipeline_weekly import PipelineWeeklyParams
from salesml.reports.params import (
    MAX_PARAM_FILE_BYTES,
    ReportParams,
    check_param_file,
    parse_cli_value,
    parse_report_period,
)
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
        ("2026-q3", "2026-Q3"),
        ("2026-01-01..2026-01-31", "2026-01-01_2026-01-31"),
        ("2026-02-01/2026-02-10", "2026-02-01_2026-02-10"),
    ],
)
def test_period_is_parsed_once_into_a_safe_folder_name(period: str, slug: str) -> None:
    p = validate_params(PipelineWeeklyParams, {**BASE, "period": period})
    assert isinstance(p.period_value, Period) and p.period_value == Period.parse(period)
    assert p.period_value.slug == slug and p.run_slug == slug
    assert p.period == period  # the text as given travels to the notebook unchanged
    assert parse_report_period(period) == p.period_value


def test_every_non_default_parameter_names_the_run_folder() -> None:
    def slug(**values: object) -> str:
        return validate_params(
            PipelineWeeklyParams, {**BASE, "period": "2026-Q3", **values}
        ).run_slug

    assert slug() == "2026-Q3"
    assert slug(region="华东", lang="zh") == "2026-Q3__华东__zh"
    assert slug(region="华东", lang="zh", n_findings=5) == "2026-Q3__华东__zh__n_findings-5"
    assert slug(n_findings=3) == "2026-Q3"  # a default given explicitly is still the default
    assert slug(breakpoints_by="segment") == "2026-Q3__breakpoints_by-segment"
    # text unsafe in a folder name is cleaned and keeps a hash of the exact value, so two
    # values that clean alike still get two folders
    a, b = slug(region="North East"), slug(region="North/East")
    assert a.startswith("2026-Q3__North-East-") and b.startswith("2026-Q3__")
    assert a != b and "/" not in b and " " not in a
    # every parameter of every report changes the folder: no run replaces another
    for spec in list_reports():
        base = validate_params(spec.params, {**BASE, "period": "2026-Q3"})
        for name, default in spec.params.defaults().items():
            if isinstance(default, bool):
                other: object = not default
            elif isinstance(default, int):
                other = default + 1
            elif isinstance(default, float):
                other = default * 2 + 1
            else:
                continue
            try:
                changed = validate_params(spec.params, {**base.to_dict(), name: other})
            except ParameterError:
                continue  # outside the schema's bounds
            assert changed.run_slug != base.run_slug, (spec.name, name)


def test_run_folder_names_stay_short() -> None:
    p = validate_params(
        PipelineWeeklyParams, {**BASE, "period": "2026-01-01..2026-03-31", "region": "区" * 100}
    )
    assert len(p.run_slug.encode("utf-8")) < 200  # file systems allow 255 bytes
    assert p.run_slug.startswith("2026-01-01_2026-03-31__")


def test_file_parameters_are_checked_before_execution(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    roots = [tmp_path.resolve()]
    rules = tmp_path / "rules.yaml"
    rules.write_text("categories: {}\n", encoding="utf-8")
    assert check_param_file("r", "rules", "rules.yaml", roots=roots) == str(rules.resolve())
    with pytest.raises(ParameterError, match=r"'rules': file 'nope\.yaml' does not exist"):
        check_param_file("r", "rules", "nope.yaml", roots=roots)
    with pytest.raises(ParameterError, match="not a regular file"):
        check_param_file("r", "rules", str(tmp_path), roots=roots)
    big = tmp_path / "big.yaml"
    big.write_bytes(b"#" * (MAX_PARAM_FILE_BYTES + 1))
    with pytest.raises(ParameterError, match="at most"):
        check_param_file("r", "rules", str(big), roots=roots)
    with pytest.raises(ParameterError, match="outside the folders"):
        check_param_file("r", "rules", "/etc/hostname", roots=roots)
    link = tmp_path / "link.yaml"  # a link inside the root to a file outside it
    link.symlink_to("/etc/hostname")
    with pytest.raises(ParameterError, match="outside the folders"):
        check_param_file("r", "rules", str(link), roots=roots)


def test_file_parameters_through_the_runner(
    echo_report: ReportSpec,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    no_execution: list[object],
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    data = tmp_path / "data"
    data.mkdir()
    outside = tmp_path / "outside.yaml"
    outside.write_text("x: 1\n", encoding="utf-8")
    with pytest.raises(ParameterError, match=r"'rules'.*outside the folders"):
        run_report(
            "echo_test", {**BASE, "dataset": str(data), "rules": str(outside)}, tmp_path / "r"
        )
    monkeypatch.setenv("SALESML_PARAM_ROOTS", str(tmp_path))
    from salesml.reports.runner import prepare_params

    _, p = prepare_params("echo_test", {**BASE, "dataset": str(data), "rules": "../outside.yaml"})
    assert p.rules == str(outside.resolve())  # type: ignore[attr-defined]  # absolute for the kernel
    assert no_execution == []


def test_titles_follow_the_period_kind() -> None:
    spec = get_report("pipeline_weekly")
    assert spec.title("en", "2026-Q3") == "Quarterly pipeline report"
    assert spec.title("zh", "2026-Q3") == "销售漏斗季报"
    assert spec.title("zh", "2026-10") == "销售漏斗月报"
    assert spec.title("zh", "2026-W40") == "销售漏斗周报"
    assert spec.title("en", "2026-01-01..2026-02-15") == "Pipeline report"
    for s in list_reports():  # no report calls a quarterly run "weekly"
        for lang, word in (("en", "weekly"), ("zh", "周")):
            assert word not in s.title(lang, "2026-Q3").lower(), (s.name, lang)


def test_every_report_schema_is_well_formed() -> None:
    specs = list_reports()
    assert "pipeline_weekly" in [s.name for s in specs]
    for spec in specs:
        assert issubclass(spec.params, ReportParams)
        d = spec.params.describe()
        assert set(d.loc[d["required"], "name"]) == {"dataset", "period"}, spec.name
        assert spec.title("en") != f"{spec.name}.title", f"{spec.name} has no en title"
        assert spec.title("zh") != spec.title("en"), f"{spec.name} has no zh title"
