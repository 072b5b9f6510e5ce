"""Fixtures for the report tests: throw-away reports (``tiny_dataset`` is in tests/conftest.py).

Test reports are declared here, not in ``salesml/reports/catalog``: the registry's
discovery is patched to add them, with notebooks written to ``tmp_path``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest

from salesml.reports import registry
from salesml.reports.params import ReportParams
from salesml.reports.registry import ReportSpec


def _notebook(params_src: str, body: list[str]) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.cells.append(nbformat.v4.new_code_cell("import json, os, sys"))
    cell = nbformat.v4.new_code_cell(params_src)
    cell.metadata["tags"] = ["parameters"]
    nb.cells.append(cell)
    nb.cells.extend(nbformat.v4.new_code_cell(src) for src in body)
    return nb


@dataclass(frozen=True)
class EchoParams(ReportParams):
    """A test report's parameters: the base ones plus a threshold and a flag."""

    threshold: float = 0.5
    fail: bool = False
    pause: float = 0.0
    rules: str | None = None


@pytest.fixture
def echo_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ReportSpec:
    """A trivial registered report ``echo_test`` that prints its parameters.

    With ``fail=True``, or a file ``FAIL`` in the dataset folder (a failure that is
    not a parameter), a cell raises ``RuntimeError("planted failure")``;
    ``pause`` seconds are slept first (to hold the run lock a while); ``rules`` is a
    file parameter (checked like ``cac_monthly``'s).
    """
    nb = _notebook(
        'dataset = "x"\nperiod = "2026-01"\nregion = None\nlang = "en"\n'
        "threshold = 0.5\nfail = False\npause = 0.0\nrules = None",
        [
            "print(json.dumps({'dataset': dataset, 'period': period, 'threshold': threshold}))",
            "import time\ntime.sleep(pause)",
            "if fail or os.path.exists(os.path.join(dataset, 'FAIL')):\n"
            "    raise RuntimeError('planted failure')",
            "from IPython.display import HTML\nHTML('<h1>echo report</h1>')",
        ],
    )
    path = tmp_path / "echo_test.ipynb"
    nbformat.write(nb, path)
    spec = ReportSpec(
        name="echo_test", params=EchoParams, description="test report", notebook=str(path)
    )
    real = registry._discover

    def discover() -> dict[str, ReportSpec]:
        return {**real(), "echo_test": spec}

    monkeypatch.setattr(registry, "_discover", discover)
    return spec
