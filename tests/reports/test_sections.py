"""Reports declared as sections, without a kernel: rendering, skips, the header, rejected rows."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from salesml.data.bundle import SalesData
from salesml.data.io import load_dataset
from salesml.data.mapping import import_dataset
from salesml.reports import notebook
from salesml.reports.notebook import Report, ReportNotComputed
from salesml.reports.params import validate_params
from salesml.reports.registry import get_report
from salesml.reports.rejects import rejected_rows

CRM = Path(__file__).resolve().parents[2] / "datasets" / "examples" / "crm_export"


@pytest.fixture
def shown(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Every display bundle a report emits (instead of sending it to a notebook)."""
    out: list[dict[str, Any]] = []
    monkeypatch.setattr(notebook, "_display", lambda bundle: out.append(dict(bundle)))
    return out


def _text(shown: list[dict[str, Any]]) -> str:
    return "\n".join(str(b.get("text/html", b.get("text/plain", ""))) for b in shown)


def _report(data: SalesData, **values: Any) -> Report:
    spec = get_report("pipeline_weekly")
    params = validate_params(
        spec.params, {"dataset": "unused", "period": "2026-Q3", **values}, report=spec.name
    )
    return Report(spec=spec, params=params, data=data)


def test_pipeline_sections_render_in_order(demo_data, shown) -> None:
    data, _ = demo_data
    report = _report(data, lang="zh")
    report.render_all()
    page = _text(shown)
    titles = ["关键发现", "销售漏斗", "转化断点", "各阶段停留时间", "线索流失"]
    positions = [page.index(f"<h2>{t}") for t in titles]
    assert positions == sorted(positions)
    assert page.count("salesml-table") >= 5 and "salesml-findings" in page
    assert sum("application/vnd.plotly.v1+json" in b for b in shown) == 4  # one figure each
    # each analysis ran once, with the Period parsed once
    assert report.result("funnel") is report.result("funnel")
    # (a Period once salesml.pipeline returns the AnalysisResult contract; bounds today)
    assert report.result("funnel").period in (report.period, report.period.bounds)


def test_one_section_per_cell_and_the_notebook_names_them(demo_data, shown) -> None:
    import nbformat

    spec = get_report("pipeline_weekly")
    nb = nbformat.read(spec.notebook_path, as_version=4)
    calls = [c.source for c in nb.cells if c.source.startswith("report.section(")]
    assert calls == [f'report.section("{s.name}")' for s in spec.sections]
    with pytest.raises(KeyError, match="has no section 'nope'; it has: findings, funnel"):
        _report(demo_data[0]).section("nope")


def test_a_report_nothing_could_be_computed_for_says_so(demo_data, shown) -> None:
    data, _ = demo_data
    reps_only = SalesData({"reps": data.reps, "customers": data.customers}, data.config)
    report = _report(reps_only)
    with pytest.raises(ReportNotComputed, match=r"could not be computed.*deals"):
        report.section("findings")
    page = _text(shown)
    assert "could not be computed" in page and "Nothing stands out" not in page


def test_a_skipped_section_says_why_and_the_others_still_show(demo_data, shown) -> None:
    data, _ = demo_data
    no_leads = data.replace()
    del no_leads.tables["leads"]
    report = _report(no_leads)
    report.render_all()
    page = _text(shown)
    assert "Skipped:" in page and "leads" in page
    assert report.skip_reason("leakage") and report.skip_reason("funnel") is None


def test_a_notebooks_own_calls_say_a_missing_table_and_refuse_empty_praise(
    demo_data, shown
) -> None:
    """``report.attempt`` (a notebook of one's own, outside the catalog): a missing table
    is said, not raised, and "nothing stands out" is refused when nothing was computed."""
    data, _ = demo_data
    report = _report(SalesData({"reps": data.reps}, data.config))
    assert report.params.period_bounds == (
        pd.Timestamp("2026-07-01"),
        pd.Timestamp("2026-10-01"),
    )
    assert report.attempt(lambda d: d.deals, report.data) is None
    assert "deals" in _text(shown)
    with pytest.raises(ReportNotComputed):
        report.bullets([])


def test_money_columns_use_the_dataset_currency(demo_data, shown) -> None:
    from dataclasses import replace

    data, _ = demo_data
    usd = SalesData(data.tables, replace(data.config, currency="USD"))
    report = _report(usd)
    report.table(pd.DataFrame({"amount": [1234.4, -5.0]}), money=["amount"])
    assert "$1,234" in _text(shown) and "¥" not in _text(shown)


@pytest.fixture
def imported_with_rejects(tmp_path: Path) -> tuple[Path, Any]:
    """The hand-made CRM export with two bad deals rows, imported with its quarantine."""
    src = tmp_path / "export"
    shutil.copytree(CRM, src)
    opp = src / "opportunities.csv"
    text = opp.read_text(encoding="utf-8")
    # a negative amount and an unreadable date: two deals the import must reject
    text = text.replace('"148,000.00"', '"-148,000.00"').replace("04/05/2025", "2025.04.05")
    opp.write_text(text, encoding="utf-8")
    out = tmp_path / "crm"
    report = import_dataset(src, CRM / "mapping.yaml", out)
    return out, report


def test_rows_rejected_at_import_reach_the_header_and_lineage(imported_with_rejects, shown) -> None:
    folder, imported = imported_with_rejects
    expected = int(imported.counts.loc["deals", "quarantined"])
    assert expected == 2
    data = load_dataset(folder, progress=False)
    counts = {(r.table, r.source): r.rows for r in rejected_rows(data)}
    assert counts == {("deals", "import"): 2}  # two records per row would be four rules
    spec = get_report("pipeline_weekly")
    params = validate_params(spec.params, {"dataset": str(folder), "period": "2025-Q1"})
    report = Report(spec=spec, params=params, data=data)
    report.header()
    page = _text(shown)
    assert "2 deals rows were rejected at import" in page
    assert "quarantine.parquet" in page
    lineage = report.lineage()
    assert lineage["dataset"]["rejected_at_import"] == {"deals": 2}
    assert lineage["fingerprint"] == data.fingerprint()
    assert lineage["fingerprint_covers"] == sorted(data.tables)
    # the header says which tables the fingerprint covers
    assert f"Dataset fingerprint {data.fingerprint()}" in page and "customers, deals, reps" in page


def test_rows_quarantined_at_load_are_counted_apart(imported_with_rejects, shown) -> None:
    folder, _ = imported_with_rejects
    deals = pd.read_parquet(folder / "deals.parquet")
    bad = deals.copy()
    bad.loc[bad.index[0], "amount"] = -1.0  # rejected when the report loads it
    bad.to_parquet(folder / "deals.parquet")
    data = load_dataset(folder, progress=False)
    counts = {(r.table, r.source): r.rows for r in rejected_rows(data)}
    assert counts == {("deals", "import"): 2, ("deals", "load"): 1}
    report = _report(data)
    report.header()
    page = _text(shown)
    assert "2 deals rows were rejected at import" in page
    assert "1 deals rows broke a validation rule at load" in page
