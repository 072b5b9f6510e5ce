"""The engine layer's import graph: no cycles, no private cross-module imports, arrows down."""

from __future__ import annotations

import ast
from pathlib import Path

import salesml

ROOT = Path(salesml.__file__).resolve().parent
PACKAGES = ("scoring", "health")


def _module(path: Path) -> str:
    rel = path.relative_to(ROOT.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _imports() -> dict[str, list[tuple[str, list[str]]]]:
    """module -> [(imported module, imported names)], function-level imports included."""
    out: dict[str, list[tuple[str, list[str]]]] = {}
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            mod = _module(path)
            found = []
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    found.append((node.module, [a.name for a in node.names]))
                elif isinstance(node, ast.Import):
                    found += [(a.name, []) for a in node.names]
            out[mod] = found
    return out


def test_no_import_cycles_within_scoring_and_health() -> None:
    graph = {
        m: {i for i, _ in deps if i.startswith("salesml.") and i != m}
        for m, deps in _imports().items()
    }
    known = set(graph)
    for m in graph:
        graph[m] = {
            d
            for d in graph[m]
            if d in known and not (m.startswith(d + ".") and d.count(".") < m.count("."))
        }
    seen: dict[str, int] = {}

    def visit(m: str, stack: list[str]) -> None:
        seen[m] = 1
        for d in graph[m]:
            if seen.get(d) == 1:
                raise AssertionError("import cycle: " + " -> ".join([*stack, m, d]))
            if d not in seen:
                visit(d, [*stack, m])
        seen[m] = 2

    for m in sorted(graph):
        if m not in seen:
            visit(m, [])


def test_no_private_names_imported_across_modules() -> None:
    for mod, deps in _imports().items():
        for target, names in deps:
            if not target.startswith("salesml."):
                continue
            private = [n for n in names if n.startswith("_") and n != "__version__"]
            assert not private, f"{mod} imports private {private} from {target}"


def test_scoring_depends_on_no_analytics_or_edge() -> None:
    for mod, deps in _imports().items():
        if not mod.startswith("salesml.scoring"):
            continue
        for target, _ in deps:
            assert not target.startswith(
                ("salesml.health", "salesml.apps", "salesml.reports", "salesml.plotting")
            ), f"{mod} imports {target}"
            assert target.split(".")[0] not in ("ipywidgets", "IPython", "papermill", "voila")
