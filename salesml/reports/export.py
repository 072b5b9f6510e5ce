"""HTML export of executed report notebooks, and the lineage they carry.

The HTML is self-contained and renders offline: code cells are hidden, the lab
template's CDN scripts (require.js, MathJax, mermaid, widget manager) are left
out, and plotly.js is inlined once in the page head when the notebook has
plotly figures (see
:func:`salesml.reports.notebook.show`).
"""

from __future__ import annotations

import os
import re
import sys
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # nbformat pulls in jsonschema (seconds): only the runner needs it
    import nbformat

__all__ = ["LINEAGE_MIME", "export_html", "external_scripts", "pop_lineage"]

#: MIME type of the display output a report notebook emits with its lineage.
LINEAGE_MIME = "application/vnd.salesml.lineage+json"
PLOTLY_MIME = "application/vnd.plotly.v1+json"

# The lab template minus everything fetched from the network. Kept as a string
# (a jinja DictLoader) so it ships inside the Python package without data files.
_TEMPLATE = """\
{%- extends 'index.html.j2' -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{% block jupyter_widgets %}{% endblock jupyter_widgets %}
{%- block html_head_js -%}
{%- if resources.salesml_plotlyjs -%}
<script type="text/javascript">{{ resources.salesml_plotlyjs }}</script>
{%- endif -%}
{%- endblock html_head_js -%}
{% block extra_css %}
<style type="text/css">
  body.jp-Notebook { max-width: 1100px; margin: 0 auto; padding: 1.5em; }
  .salesml-meta { color: #666; font-size: 0.85em; }
  .salesml-findings li { margin: 0.3em 0; }
  .salesml-skip { color: #8a6d3b; background: #fcf8e3; padding: 0.5em; border-radius: 4px; }
  table.salesml-table { border-collapse: collapse; font-size: 0.9em; }
  table.salesml-table th, table.salesml-table td { padding: 2px 8px; text-align: right; }
  table.salesml-table th { background: #f3f3f3; }
</style>
{% endblock extra_css %}
"""

_EXTERNAL_SCRIPT = re.compile(r"<script[^>]*\bsrc\s*=\s*[\"']?(?:https?:)?//", re.IGNORECASE)


def pop_lineage(nb: nbformat.NotebookNode) -> dict[str, Any]:
    """Remove the lineage outputs from ``nb`` (in place) and return the last one's payload."""
    found: dict[str, Any] = {}
    for cell in nb.cells:
        if cell.get("cell_type") != "code":
            continue
        kept = []
        for out in cell.get("outputs", []):
            data = out.get("data", {}) if isinstance(out, dict) else {}
            if LINEAGE_MIME in data:
                payload = data[LINEAGE_MIME]
                if isinstance(payload, dict):
                    found = dict(payload)
                continue
            kept.append(out)
        cell["outputs"] = kept
    return found


def external_scripts(html_text: str) -> list[str]:
    """The ``<script src="http...">`` tags of an HTML page (should be none)."""
    return [m.group(0) for m in _EXTERNAL_SCRIPT.finditer(html_text)]


def _has_plotly(nb: nbformat.NotebookNode) -> bool:
    return any(
        PLOTLY_MIME in out.get("data", {})
        for cell in nb.cells
        if cell.get("cell_type") == "code"
        for out in cell.get("outputs", [])
    )


def _plotlyjs() -> str:
    """plotly.js, inlined once per page (with ``</script>`` made harmless)."""
    from plotly.offline import get_plotlyjs

    return get_plotlyjs().replace("</script", "<\\/script")


def _base_templates() -> tuple[list[str], list[str]]:
    """nbconvert's own templates where the usual Jupyter paths miss them.

    In a virtualenv made with ``--system-site-packages`` nbconvert comes from the base
    interpreter, whose ``share/jupyter`` the venv's Jupyter paths do not list. Returns
    ``(extra_template_basedirs, extra_template_paths)`` for the exporter.
    """
    basedirs, paths = [os.getcwd()], []  # the cwd: nbconvert's default basedir
    if sys.base_prefix != sys.prefix:
        share = Path(sys.base_prefix) / "share" / "jupyter"
        templates = share / "nbconvert" / "templates"
        if templates.is_dir():
            basedirs.append(str(templates))
            paths += [str(templates), str(share)]
    return basedirs, paths


def export_html(nb: nbformat.NotebookNode, path: str | os.PathLike[str], *, title: str) -> Path:
    """Write ``nb`` as one self-contained HTML file with the code hidden.

    Parameters
    ----------
    nb
        An executed notebook.
    path
        Output file.
    title
        The page title.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    RuntimeError
        If the page would still load a script from the network.
    """
    import nbformat
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter

    basedirs, paths = _base_templates()
    nb = nbformat.from_dict(nb)  # a copy; the caller's notebook keeps its metadata
    nb.metadata["title"] = title
    nb.metadata.pop("widgets", None)
    exporter = HTMLExporter(
        template_name="lab",
        extra_loaders=[DictLoader({"salesml_report.html.j2": _TEMPLATE})],
        template_file="salesml_report.html.j2",
        extra_template_basedirs=basedirs,
        extra_template_paths=paths,
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        embed_images=True,
    )
    resources = {"salesml_plotlyjs": _plotlyjs() if _has_plotly(nb) else ""}
    body, _ = exporter.from_notebook_node(nb, resources=resources)
    bad = external_scripts(body)
    if bad:
        raise RuntimeError(f"the report HTML would load scripts from the network: {bad[:3]}")
    out = Path(path)
    tmp = out.with_name(f".{out.name}.{uuid.uuid4().hex[:8]}.tmp")
    tmp.write_text(body, encoding="utf-8")
    os.replace(tmp, out)
    return out
