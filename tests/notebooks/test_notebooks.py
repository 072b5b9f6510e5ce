"""Every notebook under notebooks/ executes under papermill with tiny parameters.

Report notebooks run through the real runner (``run_report``): in English for the last
full quarter (the shared ``salesml demo`` run of tests/conftest.py) and in Chinese for
the last full month here. App and exploration notebooks run under papermill directly,
given whichever of the tiny parameters they declare. Every report's ``parameters``
cell must match its schema. Notebooks saved by JupyterLab leave
``.ipynb_checkpoints/`` copies behind: those are not notebooks of the project.
"""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import nbformat
import pytest
from papermill.inspection import inspect_notebook

from salesml.reports import list_reports, run_report, validate_params
from salesml.reports.export import external_scripts
from salesml.reports.kernel import KERNEL_NAME, managed_kernel
from salesml.reports.registry import notebook_files, notebooks_dir

NOTEBOOKS = notebook_files()
REPORTS = {spec.notebook_path.resolve(): spec for spec in list_reports()}


def _id(p: Path) -> str:
    return str(p.relative_to(notebooks_dir()))


def test_notebooks_are_found() -> None:
    names = {_id(p) for p in NOTEBOOKS}
    assert {
        "reports/pipeline_weekly.ipynb",
        "apps/funnel_explorer.ipynb",
        "explore/01_tour.ipynb",
    } <= names
    assert set(REPORTS) <= set(NOTEBOOKS)


def test_lab_checkpoints_are_not_notebooks(tmp_path: Path) -> None:
    (tmp_path / "reports" / ".ipynb_checkpoints").mkdir(parents=True)
    (tmp_path / "reports" / "a.ipynb").write_text("{}")
    (tmp_path / "reports" / ".ipynb_checkpoints" / "a-checkpoint.ipynb").write_text("{}")
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".hidden" / "b.ipynb").write_text("{}")
    assert notebook_files(tmp_path) == [tmp_path / "reports" / "a.ipynb"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_id)
def test_notebook_is_committed_without_outputs(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert not cell.outputs, f"{_id(path)} cell {i} has outputs: clear them before commit"
            assert cell.execution_count is None, f"{_id(path)} cell {i} has an execution count"
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, f"{_id(path)} needs exactly one cell tagged 'parameters'"


@pytest.mark.parametrize("spec", list_reports(), ids=lambda s: s.name)
def test_report_parameters_cell_matches_schema(spec) -> None:
    declared = inspect_notebook(str(spec.notebook_path))
    fields = {f.name: f for f in dataclasses.fields(spec.params)}
    assert list(declared) == list(fields), (
        f"{spec.name}: the notebook's parameters {list(declared)} differ from its schema "
        f"{list(fields)} (same names, same order)"
    )
    literals = {name: ast.literal_eval(p["default"]) for name, p in declared.items()}
    validate_params(spec.params, literals, report=spec.name)  # right types
    for name, f in fields.items():
        if f.default is not dataclasses.MISSING:
            assert literals[name] == f.default, (
                f"{spec.name}: parameter {name!r} defaults to {literals[name]!r} in the "
                f"notebook but {f.default!r} in the schema"
            )


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=_id)
def test_notebook_executes(
    path: Path, tiny_saved: tuple[Path, str], demo_reports, tmp_path: Path
) -> None:
    dataset, period = tiny_saved
    spec = REPORTS.get(path.resolve())
    if spec is not None:
        # English, last full quarter: the session's demo run executed it
        en = demo_reports.out / spec.name / demo_reports.period / f"{spec.name}.html"
        assert en.exists(), demo_reports.printed
        page = en.read_text(encoding="utf-8")
        assert external_scripts(page) == []
        assert spec.title("en", demo_reports.period) in page
        # Chinese, last full month: executed here
        r = run_report(
            spec.name, {"dataset": str(dataset), "period": period, "lang": "zh"}, tmp_path
        )
        assert r.ok
        page = r.html.read_text(encoding="utf-8")
        assert external_scripts(page) == []
        assert spec.title("zh", period) in page
        return
    import papermill as pm

    tiny = {"dataset": str(dataset), "period": period, "preset": "tiny", "seed": 1}
    declared = inspect_notebook(str(path))
    params = {k: v for k, v in tiny.items() if k in declared}
    with managed_kernel() as km:
        pm.execute_notebook(
            str(path),
            str(tmp_path / path.name),
            parameters=params,
            kernel_name=KERNEL_NAME,
            km=km,
            language="python",
            progress_bar=False,
            cwd=str(path.parent),
        )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_id)
def test_notebook_is_thin(path: Path) -> None:
    """Notebooks hold no logic (docs/STYLE.md, rule 7): no def, class, loop or lambda."""
    nb = nbformat.read(path, as_version=4)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        tree = ast.parse(cell.source)
        for node in ast.walk(tree):
            assert not isinstance(
                node,
                ast.FunctionDef
                | ast.AsyncFunctionDef
                | ast.ClassDef
                | ast.For
                | ast.While
                | ast.Lambda,
            ), (
                f"{_id(path)} cell {i} defines or loops ({type(node).__name__}); move it into salesml"
            )
