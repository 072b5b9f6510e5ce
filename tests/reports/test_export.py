"""HTML export and kernel plumbing: offline pages, lineage extraction, private kernelspec."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import nbformat
import plotly.graph_objects as go

from salesml.reports.export import (
    LINEAGE_MIME,
    PLOTLY_MIME,
    export_html,
    external_scripts,
    pop_lineage,
)
from salesml.reports.kernel import KERNEL_NAME, kernel_env, kernelspec_root


def _executed_notebook() -> nbformat.NotebookNode:
    fig = go.Figure(go.Bar(y=[1, 2, 3]))
    div = fig.to_html(full_html=False, include_plotlyjs=False)
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("secret_source_code()")
    cell.outputs = [
        nbformat.v4.new_output(
            "display_data", data={LINEAGE_MIME: {"fingerprint": "abc"}, "text/plain": ""}
        ),
        nbformat.v4.new_output(
            "display_data",
            data={PLOTLY_MIME: json.loads(fig.to_json()), "text/html": div, "text/plain": "fig"},
        ),
        nbformat.v4.new_output("display_data", data={"text/html": "<p>hello report</p>"}),
    ]
    nb.cells = [cell]
    return nb


def test_lineage_is_extracted_and_removed() -> None:
    nb = _executed_notebook()
    assert pop_lineage(nb) == {"fingerprint": "abc"}
    assert all(LINEAGE_MIME not in o.get("data", {}) for o in nb.cells[0].outputs)
    assert pop_lineage(nb) == {}


def test_html_is_offline_with_code_hidden(tmp_path: Path) -> None:
    nb = _executed_notebook()
    pop_lineage(nb)
    page = export_html(nb, tmp_path / "r.html", title="T").read_text(encoding="utf-8")
    assert external_scripts(page) == []
    assert "secret_source_code" not in page
    assert "hello report" in page
    assert page.count("Plotly.newPlot") >= 1
    from plotly.offline import get_plotlyjs

    assert page.count(get_plotlyjs()[:80]) == 1  # plotly.js itself is inlined, once
    assert not list(tmp_path.glob(".*tmp"))  # atomic write left no temp file


def test_external_scripts_are_detected() -> None:
    assert external_scripts('<script src="https://cdn.example/x.js"></script>')
    assert external_scripts("<script src='//cdn.example/x.js'>")
    assert not external_scripts("<script>var a = 'src=\"http://x\"';</script>")


def test_private_kernelspec_points_at_this_interpreter() -> None:
    root = kernelspec_root()
    spec = json.loads((root / "kernels" / KERNEL_NAME / "kernel.json").read_text())
    assert spec["argv"][0] == sys.executable
    env = kernel_env({"JUPYTER_PATH": "/elsewhere"})
    assert env["JUPYTER_PATH"].split(os.pathsep) == [str(root), "/elsewhere"]
