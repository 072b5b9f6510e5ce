"""The data layer's import graph: one direction, no cycles, no private names across modules.

Issue 9: ``bundle.py`` and ``validate.py`` imported each other (hidden in a function)
and ``io.py`` imported ``validate._finalise``. Function-level and ``TYPE_CHECKING``
imports count here too: a cycle hidden in a function is still a cycle.
"""

from __future__ import annotations

import ast
from pathlib import Path

DATA = Path(__file__).resolve().parents[2] / "salesml" / "data"

#: Lower layers first; a module may import only from layers at or below its own, never
#: from a layer above. Modules another helper owns (simulate, dirty, mapping, cli) sit on top.
LAYERS = [
    {"errors", "schema", "checks"},
    {"yamlsafe", "csvsafe", "encoding"},
    {"config"},
    {"bundle"},
    {"validate", "validate.parse", "validate.rules", "validate.report"},
    {"csvfile"},
    {"streamed"},
    {"io"},
]
RANK = {m: i for i, layer in enumerate(LAYERS) for m in layer}


def _module_name(path: Path) -> str:
    rel = path.relative_to(DATA).with_suffix("")
    parts = [p for p in rel.parts if p != "__init__"]
    return ".".join(parts)


def _imports(path: Path) -> list[tuple[str, list[str]]]:
    """(imported salesml.data module, names) for every import anywhere in the file."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if (
            isinstance(node, ast.ImportFrom)
            and node.module
            and node.module.startswith("salesml.data")
        ):
            mod = node.module.removeprefix("salesml.data").lstrip(".")
            out.append((mod, [a.name for a in node.names]))
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith("salesml.data."):
                    out.append((a.name.removeprefix("salesml.data."), []))
    return out


def _graph() -> dict[str, list[tuple[str, list[str]]]]:
    return {_module_name(p): _imports(p) for p in DATA.rglob("*.py") if _module_name(p)}


def test_no_private_names_cross_modules():
    offenders = [
        f"{mod} imports {name} from {target}"
        for mod, imps in _graph().items()
        for target, names in imps
        for name in names
        if name.startswith("_") and target != mod
    ]
    assert offenders == []


def test_imports_run_one_way():
    upward = [
        f"{mod} -> {target}"
        for mod, imps in _graph().items()
        if mod in RANK
        for target, _ in imps
        if target in RANK and RANK[target] > RANK[mod]
    ]
    assert upward == []
    assert set(RANK) <= set(_graph()), set(RANK) - set(_graph())


def test_no_import_cycles():
    graph = {m: {t for t, _ in imps if t and t != m} for m, imps in _graph().items()}
    state: dict[str, int] = {}

    def visit(m: str, path: list[str]) -> None:
        state[m] = 1
        for t in graph.get(m, ()):
            if state.get(t) == 1:
                raise AssertionError("import cycle: " + " -> ".join([*path, m, t]))
            if t not in state:
                visit(t, [*path, m])
        state[m] = 2

    for m in graph:
        if m not in state:
            visit(m, [])
