"""The monthly CAC result (tables, findings, sections) and the CAC figures."""

from __future__ import annotations

import dataclasses
import re

import pandas as pd
import plotly.graph_objects as go
import pytest

from salesml.attribution import (
    CacMonthly,
    acquisition_units,
    allocate_costs,
    cac,
    cac_monthly,
    what_if,
)
from salesml.data.bundle import MissingTableError, SalesData
from salesml.i18n import has_label, label, t
from salesml.periods import Period
from salesml.plotting.cac import (
    cac_interval_chart,
    cost_allocation_bars,
    roi_interval_chart,
    touch_comparison_chart,
    what_if_chart,
)
from salesml.reports import notebook
from salesml.reports.catalog.cac_monthly import SECTIONS
from salesml.reports.notebook import Report
from salesml.reports.params import validate_params
from salesml.reports.registry import get_report
from salesml.reports.sections import Section


@pytest.fixture(scope="module")
def monthly(demo_allocation) -> CacMonthly:
    return cac_monthly(demo_allocation, period="2026-09", n_boot=100)


def test_monthly_tables(monthly, demo_allocation) -> None:
    u = acquisition_units(demo_allocation)
    in_sep = (u["acquired_at"].dt.to_period("M") == pd.Period("2026-09")).sum()
    assert monthly.table["acquired"].sum() == in_sep
    assert monthly.overall["acquired"] == in_sep
    assert monthly.overall["cac_low"] <= monthly.overall["cac"] <= monthly.overall["cac_high"]
    assert {"cac_previous", "change"} <= set(monthly.table.columns)
    prev = cac(demo_allocation, period="2026-08", n_boot=100).table.set_index("channel")["cac"]
    got = monthly.table.set_index("channel")["cac_previous"]
    pd.testing.assert_series_equal(got, prev, check_names=False)
    assert set(monthly.touch.table["model"]) >= {"first", "last", "markov", "shapley"}
    costs = demo_allocation.data.costs
    sep = costs[costs["incurred_at"].dt.to_period("M") == pd.Period("2026-09")]
    assert monthly.cost_table()["incurred"].sum() == pytest.approx(sep["amount"].sum())


def test_period_is_parsed_once_and_previous_is_the_one_before(monthly) -> None:
    assert monthly.period == Period.parse("2026-09")
    assert monthly.previous_period == Period.parse("2026-08")
    assert monthly.previous.period == monthly.previous_period
    assert monthly.by_all.period is monthly.period or monthly.by_all.period == monthly.period
    q = cac_monthly(monthly.allocation, period="2026-Q3", n_boot=20)
    assert q.previous_period.label == "2026-Q2"


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_findings(monthly, lang: str) -> None:
    f = monthly.key_findings(lang)
    assert len(f) >= 4
    assert "¥" in f[0]
    if lang == "zh":
        assert "获客" in f[0] or "客户" in f[0]


#: Data values the findings and charts must never show raw.
_CODES = re.compile(
    r"\b(online_ads|store_walkin|wechat|exhibition|referral|telesales|partner|"
    r"store_materials|field_promotion_labor|channel_fees|community_referral|"
    r"no_driver|no_rule|no_scope|no_table|unknown_category|not_acquired|time_decay)\b"
)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_findings_show_no_raw_codes(demo, lang: str) -> None:
    data, _ = demo
    # a month with unallocated cost: no redemption table, so store materials stay unbound
    no_mm = SalesData({k: v for k, v in data.tables.items() if k != "material_movements"})
    rep = cac_monthly(no_mm, period="2026-09", n_boot=20)
    text = " ".join(rep.key_findings(lang))
    assert label("store_materials", lang) in text  # the category by its name
    assert label("no_table", lang) in text  # the reason in words
    assert not _CODES.search(text), text


def test_money_follows_the_dataset_currency(demo) -> None:
    data, _ = demo
    usd = SalesData(data.tables, dataclasses.replace(data.config, currency="USD"))
    rep = cac_monthly(usd, period="2026-09", n_boot=20)
    text = " ".join(rep.key_findings("en"))
    assert "$" in text and "¥" not in text
    fig = cac_interval_chart(rep, lang="en")
    assert "$" in fig.layout.xaxis.title.text and "CNY" not in fig.layout.xaxis.title.text
    assert "$" in fig.data[0].hovertext[0]
    fig = cost_allocation_bars(rep.allocation, lang="zh")
    assert "$" in fig.layout.xaxis.title.text


def test_every_code_in_the_tables_has_both_labels(monthly) -> None:
    cols = ("channel", "visit_band", "cycle_band", "category", "reason", "model")
    tables = [
        monthly.table,
        monthly.by_visit_band.table,
        monthly.by_cycle_band.table,
        monthly.combined_table(),
        monthly.roi_table(),
        monthly.touch.table,
        monthly.cost_table(),
        monthly.unallocated_table(),
    ]
    missing = set()
    for tab in tables:
        for c in cols:
            if c in tab:
                missing |= {str(v) for v in tab[c].dropna().unique() if not has_label(f"value.{v}")}
        missing |= {str(c) for c in tab.columns if not has_label(f"value.{c}")}
    # visit bands ("1-2") read the same in both languages
    assert missing <= {"0", "1-2", "3-5", "6-10", "11+"}, missing


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_chart_names_are_the_table_labels(monthly, lang: str) -> None:
    fig = cac_interval_chart(monthly, lang=lang)
    shown = monthly.table.dropna(subset=["cac"])
    assert sorted(fig.data[0].y) == sorted(label(c, lang) for c in shown["channel"])
    fig = cac_interval_chart(monthly.by_cycle_band, lang=lang)
    assert label("not_acquired", lang) not in fig.data[0].y  # no CAC, no bar
    fig = touch_comparison_chart(monthly.touch, lang=lang)
    assert {tr.name for tr in fig.data} >= {label("first", lang), label("shapley", lang)}
    fig = cost_allocation_bars(monthly.allocation, lang=lang)
    assert {tr.name for tr in fig.data} == {label("allocated", lang), label("unallocated", lang)}
    assert set(fig.data[0].y) <= {label(c, lang) for c in monthly.cost_table()["category"]}


def test_cac_needs_tables(demo) -> None:
    data, _ = demo
    al = allocate_costs(SalesData({k: v for k, v in data.tables.items() if k != "deals"}))
    with pytest.raises(MissingTableError, match="deals"):
        cac(al)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_figures(monthly, demo_allocation, lang: str) -> None:
    for fig in (
        cac_interval_chart(monthly, lang=lang),
        cac_interval_chart(monthly.by_visit_band, lang=lang),
        cac_interval_chart(monthly.by_all, lang=lang),
        roi_interval_chart(monthly.roi_by_channel, lang=lang),
        touch_comparison_chart(monthly.touch, lang=lang),
        cost_allocation_bars(monthly.allocation, lang=lang),
        what_if_chart(what_if(demo_allocation, budget_shift={"wechat": 1.5}, n_boot=50), lang=lang),
    ):
        assert isinstance(fig, go.Figure) and len(fig.data) >= 1
    fig = cac_interval_chart(monthly, lang=lang)
    shown = monthly.table.dropna(subset=["cac"])
    assert len(fig.data[0].y) == len(shown)
    if lang == "zh":
        assert "微信" in fig.data[0].y
    with pytest.raises(ValueError, match="lang"):
        cac_interval_chart(monthly, lang="fr")


def _section(name: str) -> Section:
    return next(s for s in SECTIONS if s.name == name)


def test_one_analysis_shared_by_every_section() -> None:
    assert [s.name for s in SECTIONS if s.computes] == ["by_channel"]
    assert {s.uses for s in SECTIONS if not s.computes} == {"by_channel"}


@pytest.mark.parametrize("name", [s.name for s in SECTIONS if s.tables])
def test_sections_show_ready_tables_and_figures(monthly, name: str) -> None:
    sec = _section(name)
    for tbl in sec.tables:
        df = tbl.frame(monthly, None)
        assert df is not None and len(df)
        # amounts already in the dataset's currency; intervals in one column
        for col in ("cac", "acquisition_cost", "incurred", "amount"):
            if col in df:
                assert df[col].map(lambda x: x == "" or x.startswith("¥")).all(), col
        assert "cac_low" not in df and "roi_high" not in df
        shares = tbl.percent_columns(df)
        assert set(shares) <= set(df.columns)
        if tbl.percent == ("*",):  # one share per attribution model, the channel aside
            assert len(shares) == len(df.columns) - 1 and "channel" not in shares
    if sec.figure is not None:
        assert isinstance(sec.figure(monthly, lang="zh"), go.Figure)


def test_the_report_renders_every_section_once_from_one_analysis(demo, monkeypatch) -> None:
    shown: list[dict] = []
    monkeypatch.setattr(notebook, "_display", lambda bundle: shown.append(dict(bundle)))
    spec = get_report("cac_monthly")
    params = validate_params(
        spec.params, {"dataset": "unused", "period": "2026-09", "bootstrap": 20}, report=spec.name
    )
    report = Report(spec=spec, params=params, data=demo[0])
    import salesml.attribution

    calls: list[str] = []
    real = salesml.attribution.cac_monthly

    def counted(*args, **kwargs):
        calls.append(str(kwargs["period"]))
        return real(*args, **kwargs)

    monkeypatch.setattr(salesml.attribution, "cac_monthly", counted)
    report.render_all()
    html = "\n".join(str(b.get("text/html", "")) for b in shown)
    headings = re.findall(r"<h2>(.*?)</h2>", html)
    assert len(headings) == len(SECTIONS)
    assert headings[0] == t("report.findings", "en")
    assert "¥" in html and "cac_low" not in html
    assert sum("plotly" in str(b) for b in shown) >= 5  # the figures
    assert len(calls) == 1  # one analysis, shown by every section


def test_no_conversions_in_the_period_is_said_not_raised(demo_allocation) -> None:
    rep = cac_monthly(demo_allocation, period="2020-01", n_boot=20)
    assert rep.touch is None and rep.touch_table() is None
    text = " ".join(rep.key_findings("en"))
    assert "No customer was acquired" in text and "multi-touch" in text
    touch = _section("touch")
    assert touch.tables[0].frame(rep, None) is None
    assert touch.figure(rep, lang="en") is None
