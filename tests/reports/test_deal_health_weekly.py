"""``deal_health_weekly`` declared as sections, rendered without a kernel (issue 9).

The notebook is one call per section, like every sectioned report (the contract test
below runs over all of them); the review is computed once and shared; headings claim
"this week" only on a weekly run; a dataset too thin for a model says why instead of
praising it.
"""

from __future__ import annotations

import ast
from typing import Any

import nbformat
import pandas as pd
import pytest

from salesml.health import WeeklyHealth
from salesml.reports import list_reports, notebook
from salesml.reports.catalog.deal_health_weekly import NoHealthModel
from salesml.reports.notebook import Report
from salesml.reports.params import validate_params
from salesml.reports.registry import get_report

SECTIONED = [spec for spec in list_reports() if spec.sections]


@pytest.fixture
def shown(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Every display bundle a report emits (instead of sending it to a notebook)."""
    out: list[dict[str, Any]] = []
    monkeypatch.setattr(notebook, "_display", lambda bundle: out.append(dict(bundle)))
    return out


def _text(shown: list[dict[str, Any]]) -> str:
    return "\n".join(str(b.get("text/html", b.get("text/plain", ""))) for b in shown)


def _report(data: Any, **values: Any) -> Report:
    spec = get_report("deal_health_weekly")
    params = validate_params(
        spec.params, {"dataset": "unused", "period": "2026-W43", **values}, report=spec.name
    )
    return Report(spec=spec, params=params, data=data)


def test_deal_health_weekly_is_one_of_the_sectioned_reports() -> None:
    names = [s.name for s in get_report("deal_health_weekly").sections]
    assert names == ["findings", "actions", "distribution", "movers", "card"]
    assert "deal_health_weekly" in {s.name for s in SECTIONED}
    # one analysis: every other section shows the review the actions section computes
    computing = [s.name for s in get_report("deal_health_weekly").sections if s.computes]
    assert computing == ["actions"]


@pytest.mark.parametrize("spec", SECTIONED, ids=lambda s: s.name)
def test_a_sectioned_notebook_is_one_call_per_section(spec) -> None:
    """Imports, the parameters cell, ``start_report(name, globals())``, then one
    ``report.section(name)`` per cell, each declared section once, and nothing else
    (``deal_health_weekly``: in the declared order)."""
    nb = nbformat.read(spec.notebook_path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    params = [i for i, c in enumerate(code) if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1
    before, after = code[: params[0]], code[params[0] + 1 :]
    for c in before:  # imports only
        tree = ast.parse(c.source)
        assert all(isinstance(n, ast.Import | ast.ImportFrom) for n in tree.body), c.source
    assert after[0].source == f'report = start_report("{spec.name}", globals())'
    calls = [c.source for c in after[1:]]
    declared = [f'report.section("{s.name}")' for s in spec.sections]
    assert sorted(calls) == sorted(declared)
    if spec.name == "deal_health_weekly":
        assert calls == declared


def test_the_sections_render_in_order_with_one_review(demo_data, shown) -> None:
    data, _ = demo_data
    report = _report(data, period="2026-W43", backtest_origins=2)
    report.render_all()
    page = _text(shown)
    titles = [
        "Before reading the scores",
        "Deals to act on this week",
        "Score distribution by region and rep",
        "Week-over-week movers",
        "Model card",
    ]
    positions = [page.index(f"<h2>{t}</h2>") for t in titles]
    assert positions == sorted(positions)
    weekly = report.result("actions")
    assert isinstance(weekly, WeeklyHealth)
    # computed once and shared by every section that shows it
    assert all(report.result(n) is weekly for n in ("findings", "distribution", "movers", "card"))
    assert weekly.as_of <= pd.Timestamp("2026-10-26")  # the end of W43 or of the data
    # the card's verdict comes first, as bullets; not "nothing stands out"
    assert "salesml-findings" in page and "Nothing stands out" not in page
    for sentence in weekly.key_findings("en"):
        assert sentence.replace("&", "&amp;")[:40] in page
    # the texts: horizon and band rule under the action list, how to read the backtest
    assert "winning within 90 days" in page
    assert "Backtest on held-out time" in page
    # action list (top_n rows), by region, by rep, movers, card, backtest
    assert page.count("salesml-table") == 6
    assert sum("application/vnd.plotly.v1+json" in b for b in shown) == 2  # histogram, calibration
    assert weekly.backtest is not None and "health_model" not in page  # model names translated


def test_headings_claim_this_week_only_on_a_weekly_run(demo_data, shown) -> None:
    data, _ = demo_data
    report = _report(data, period="2026-10", lang="zh", backtest_origins=0, top_n=5)
    report.render_all()
    page = _text(shown)
    assert "<h2>当前需要跟进的商机</h2>" in page and "<h2>本周" not in page
    assert "<h2>与上次快照相比变化最大的商机</h2>" in page
    assert "<h2>模型卡</h2>" in page and "已关闭的历史商机不足，暂无法回测。" in page
    assert sum("application/vnd.plotly.v1+json" in b for b in shown) == 1  # no backtest curve
    weekly = _report(data, period="2026-W43", lang="zh")
    assert weekly.t_period(weekly.spec.section("actions").title) == "本周需要跟进的商机"


def test_a_dataset_too_thin_for_a_model_says_why(demo_data, shown) -> None:
    data, _ = demo_data
    deals = data.deals
    thin = data.replace(deals=deals.loc[deals["closed_at"].isna()].head(40))
    report = _report(thin)
    report.render_all()  # the report does not fail: it says why there are no scores
    got = report.result("actions")
    assert isinstance(got, NoHealthModel) and got.detail
    page = _text(shown)
    assert f"No health model could be fit: {got.detail}"[:60] in page
    assert "Nothing stands out" not in page
    assert "<h2>Deals to act on this week</h2>" in page and "winning within 90 days" in page
    assert "Not enough closed history for a backtest yet." in page
    assert "salesml-table" not in page and not any(
        "application/vnd.plotly.v1+json" in b for b in shown
    )
