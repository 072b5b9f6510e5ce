"""Every word of the pipeline results and figures from the catalog (issue 9, issue 10 item 13)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import salesml
from salesml.data.bundle import SalesData
from salesml.i18n import has_label, label
from salesml.pipeline import (
    funnel,
    funnel_breakpoints,
    key_findings,
    lead_leakage,
    stage_durations,
)
from salesml.plotting.pipeline import (
    breakpoint_heatmap,
    funnel_chart,
    lead_loss_bars,
    stage_duration_bars,
)

ROOT = Path(salesml.__file__).parent
SOURCES = [
    *sorted((ROOT / "pipeline").glob("*.py")),
    ROOT / "plotting" / "pipeline.py",
    *sorted((ROOT / "apps" / "funnel_explorer").glob("*.py")),
]
CJK = re.compile(r"[\u4e00-\u9fff\u3000-\u303f\uff00-\uffef]")
KEY = re.compile(r"""["']((?:pipeline|funnel_explorer|pipeline_weekly)\.[a-z_.]+)["']""")


def _docstrings(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                ids.add(id(body[0].value))
    return ids


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_no_inline_sentences_in_the_code(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docs = _docstrings(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs:
            assert not CJK.search(node.value), f"{path.name}:{node.lineno}: {node.value!r}"
        if isinstance(node, ast.Compare):  # no `if lang == "zh"` sentence switches
            consts = [c.value for c in ast.walk(node) if isinstance(c, ast.Constant)]
            assert "zh" not in consts, f"{path.name}:{node.lineno} compares with 'zh'"
        if isinstance(node, ast.keyword):  # no Finding(en=..., zh=...) pairs
            assert node.arg not in ("en", "zh"), f"{path.name}:{node.lineno}"


def test_every_catalog_key_the_code_names_exists() -> None:
    used = {k for p in SOURCES for k in KEY.findall(p.read_text(encoding="utf-8"))}
    assert len(used) > 30
    for key in sorted(used):
        variants = [key, f"{key}.one", f"{key}.many", f"{key}.none"]
        assert any(has_label(v) for v in variants), key
        if has_label(f"{key}.one"):
            assert has_label(f"{key}.many"), key


def _results(data: SalesData, leads: bool = True) -> list[object]:
    out = [funnel(data), funnel_breakpoints(data), stage_durations(data)]
    return [*out, lead_leakage(data)] if leads else out


def _codes(data: SalesData) -> set[str]:
    """Data values that have a display name different from their code (but for the words
    "won", "lost", "open", which a sentence uses as words)."""
    codes = set(data.stage_order) | {"created_to_closed"}
    if data.has("leads"):
        codes |= set(data.leads["channel"].dropna()) | set(data.leads["lost_reason"].dropna())
    if data.has("customers"):
        codes |= set(data.customers["segment"].dropna())
    return {c for c in codes if label(c) != c}


@pytest.mark.parametrize("which", ["tiny", "demo", "crm"])
def test_sentences_show_names_not_codes(which: str, request: pytest.FixtureRequest) -> None:
    data = request.getfixturevalue(which)
    if which == "demo":
        data = data[0]
    results = _results(data, leads=data.has("leads"))
    codes = _codes(data)
    for lang in ("en", "zh"):
        sentences = key_findings(*results, lang=lang, n=10)
        sentences += [n for r in results for n in r.notes_text(lang)]
        assert sentences
        for s in sentences:
            assert not s.startswith(("pipeline.", "value.")), s  # every key found
            assert "{" not in s and "}" not in s, s  # every placeholder filled
            for code in codes:
                assert not re.search(rf"(?<![\w-]){re.escape(code)}(?![\w-])", s), (code, s)
            if lang == "en" and which == "crm":  # an English export reads English throughout
                assert not CJK.search(s), s


@pytest.fixture(scope="module")
def demo(demo_data):
    return demo_data


def test_figures_use_catalog_words_in_both_languages(demo_data) -> None:
    data, _ = demo_data
    f, b, d, leak = _results(data)
    for lang in ("en", "zh"):
        figs = [
            funnel_chart(f, lang=lang),
            breakpoint_heatmap(b, lang=lang),
            stage_duration_bars(d, lang=lang),
            lead_loss_bars(leak, lang=lang),
        ]
        for fig in figs:
            title = fig.layout.title.text
            assert title and not title.startswith("pipeline."), title
            words = [title, fig.layout.xaxis.title.text or "", fig.layout.yaxis.title.text or ""]
            words += [tr.name or "" for tr in fig.data]
            for tr in fig.data:
                for attr in ("x", "y"):
                    values = getattr(tr, attr, None)
                    if values is not None and len(values) and isinstance(values[0], str):
                        words += list(values)
            for w in words:
                assert w not in _codes(data), (lang, w)  # "needs_analysis", "online_ads"
    zh = funnel_chart(f, lang="zh")
    assert zh.data[0].y[1] == "需求分析" and "转化" in zh.data[0].text[0]
    zh_bars = stage_duration_bars(d, lang="zh")
    assert [t.name for t in zh_bars.data] == ["中位数(KM)", "90分位(KM)"]
    assert zh_bars.layout.yaxis.title.text == "天数"


def test_every_column_a_result_shows_has_both_names(tiny: SalesData, crm: SalesData) -> None:
    results = [*_results(tiny), *_results(crm, leads=False)]
    cols: set[str] = set()
    for r in results:
        cols |= set(map(str, r.table.columns)) | set(map(str, r.summary().columns))
    cols |= set(results[3].reasons.columns) | set(results[3].overview.columns)
    cols -= set(tiny.stage_order) | set(crm.stage_order)  # stage columns: stage labels
    missing = sorted(c for c in cols if not has_label(f"value.{c}"))
    assert missing == []
    for stage in [*tiny.stage_order, *crm.stage_order, "won", "created_to_closed"]:
        assert has_label(f"value.{stage}"), stage
