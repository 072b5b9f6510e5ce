"""The analysis contract (issue 9) on the four pipeline analyses, and ``key_findings`` input."""

from __future__ import annotations

import inspect

import pandas as pd
import pytest

from salesml.data.bundle import SalesData
from salesml.filters import FilterSpec
from salesml.periods import Period
from salesml.pipeline import (
    BreakpointResult,
    DurationResult,
    FunnelResult,
    LeakageResult,
    funnel,
    funnel_breakpoints,
    key_findings,
    lead_leakage,
    stage_durations,
)
from salesml.results import AnalysisResult

ANALYSES = [
    (funnel, FunnelResult),
    (funnel_breakpoints, BreakpointResult),
    (stage_durations, DurationResult),
    (lead_leakage, LeakageResult),
]


@pytest.mark.parametrize(("analysis", "kind"), ANALYSES)
def test_signature_is_data_then_keyword_only_options(analysis, kind) -> None:
    params = list(inspect.signature(analysis).parameters.values())
    assert params[0].name == "data"
    assert params[0].kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
    rest = params[1:]
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in rest)
    names = [p.name for p in rest]
    assert names[:3] == ["period", "as_of", "filters"]
    assert all(p.default is None for p in rest[:3])
    assert issubclass(kind, AnalysisResult)


@pytest.mark.parametrize(("analysis", "kind"), ANALYSES)
def test_results_follow_the_contract(tiny: SalesData, analysis, kind) -> None:
    p = Period.parse("2026-01")
    r = analysis(tiny, period=p)
    assert isinstance(r, kind) and isinstance(r, AnalysisResult)
    assert r.period == p and isinstance(r.filters, FilterSpec)
    assert isinstance(r.table, pd.DataFrame) and len(r.table)
    assert isinstance(r.summary(), pd.DataFrame)  # a method everywhere
    for lang in ("en", "zh"):
        assert isinstance(r.key_findings(lang), list)
    card = r._repr_html_()
    assert r.title() in card and "2026-01" in card
    # the text form of the period is parsed once into the same Period
    assert analysis(tiny, period="2026-01").period == p
    with pytest.raises(TypeError):
        analysis(tiny, "2026-01")  # options are keyword-only
    with pytest.raises(ValueError, match="month 13"):
        analysis(tiny, period="2026-13")


def test_filters_are_one_filter_spec(tiny: SalesData) -> None:
    spec = FilterSpec.parse({"region": "华东"})
    assert funnel(tiny, filters=spec).n_deals == funnel(tiny, filters={"region": "华东"}).n_deals
    assert funnel(tiny, filters=spec).filters == spec
    # a safe expression on deal columns, alone or beside column filters
    assert funnel(tiny, filters="product_line == 'equipment'").n_deals == 2
    both = {"region": "华南", "where": "product_line == 'equipment'"}
    assert funnel(tiny, filters=both).n_deals == 1
    r = stage_durations(tiny, filters="product_line == 'equipment'", as_of="2026-03-01")
    assert r.overall["stays"].sum() == 5 + 1  # D1 entered five stages, D4 one
    assert lead_leakage(tiny, filters="channel == 'wechat'").overview.iloc[0]["leads"] == 5
    with pytest.raises(ValueError, match="colour"):
        funnel(tiny, filters="colour == 'red'")  # the expression names an unknown column
    card = funnel(tiny, filters={"region": "华东"})._repr_html_()
    assert "Region: 华东" in card  # the filter in words, through the catalog


def test_as_of_takes_the_data_as_known_then(tiny: SalesData) -> None:
    cut = "2026-01-15"
    got = funnel(tiny, as_of=cut)
    want = funnel(tiny.as_of(cut))
    pd.testing.assert_frame_equal(got.table, want.table)
    assert got.as_of == pd.Timestamp(cut) and got.n_deals == 3
    b = funnel_breakpoints(tiny, as_of=cut, by="segment")
    assert b.as_of == pd.Timestamp(cut)
    leak = lead_leakage(tiny, as_of="2026-01-10 12:00")
    o = leak.overview.iloc[0]
    # the conversions (day 3) and losses (day 5) had not happened yet; 3 responses had
    assert (o["leads"], o["lost"], o["converted"], o["responded"]) == (10, 0, 0, 3)


def test_key_findings_of_a_dataset_is_a_clear_type_error(tiny: SalesData) -> None:
    with pytest.raises(TypeError, match=r"pipeline results, not SalesData.*funnel\(data\)"):
        key_findings(tiny)
    with pytest.raises(TypeError, match="not DataFrame"):
        key_findings(funnel(tiny), tiny.deals)
    assert key_findings(None, funnel(tiny), lang="zh")  # None entries are skipped
