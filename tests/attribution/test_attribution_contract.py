"""The analysis contract over every public attribution analysis (issue 9).

``f(data_or_allocation, *, period=None, as_of=None, filters=None, ...)`` with keyword-only
options, returning an :class:`~salesml.results.AnalysisResult` with ``.table``,
``summary()``, ``key_findings(lang)`` and ``_repr_html_``; period, as-of and filters as
parsed once.
"""

from __future__ import annotations

import inspect

import numpy as np
import pandas as pd
import pytest

from salesml.attribution import (
    allocate_costs,
    cac,
    cac_monthly,
    choose_order,
    journeys,
    overall_cac,
    roi,
    touch_attribution,
    transition_matrix,
    what_if,
)
from salesml.filters import FilterSpec
from salesml.periods import Period
from salesml.results import AnalysisResult

ANALYSES = [
    allocate_costs,
    cac,
    roi,
    what_if,
    overall_cac,
    journeys,
    touch_attribution,
    transition_matrix,
    choose_order,
    cac_monthly,
]


@pytest.mark.parametrize("fn", ANALYSES, ids=lambda f: f.__name__)
def test_signature(fn) -> None:
    params = list(inspect.signature(fn).parameters.values())
    assert params[0].kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
    rest = params[1:]
    assert rest and all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in rest), fn.__name__
    names = [p.name for p in rest]
    assert names[:3] == ["period", "as_of", "filters"], names


@pytest.fixture(scope="module")
def results(demo, demo_allocation) -> dict[str, AnalysisResult]:
    data, _ = demo
    return {
        "allocate_costs": demo_allocation.for_period("2026-09"),
        "cac": cac(demo_allocation, period="2026-09", n_boot=50),
        "roi": roi(demo_allocation, period="2026-09", n_boot=50),
        "what_if": what_if(demo_allocation, budget_shift={"wechat": 1.2}, n_boot=50),
        "overall_cac": overall_cac(demo_allocation, period="2026-09", n_boot=50),
        "journeys": journeys(data, period="2026-09"),
        "touch_attribution": touch_attribution(data, model=["first", "markov"], period="2026-Q3"),
        "transition_matrix": transition_matrix(data, period="2026-Q3"),
        "choose_order": choose_order(data, period="2026-Q3", max_order=2),
        "cac_monthly": cac_monthly(demo_allocation, period="2026-09", n_boot=50),
    }


@pytest.mark.parametrize("name", [f.__name__ for f in ANALYSES])
def test_result(results, name: str) -> None:
    r = results[name]
    assert isinstance(r, AnalysisResult)
    assert isinstance(r.table, pd.DataFrame) and len(r.table)
    assert isinstance(r.summary(), pd.DataFrame)
    assert r.period is None or isinstance(r.period, Period)
    assert isinstance(r.filters, FilterSpec)
    for lang in ("en", "zh"):
        f = r.key_findings(lang)
        assert isinstance(f, list) and all(isinstance(s, str) and s for s in f)
        assert r.title(lang) and not r.title(lang).startswith(("attribution.", "cac_"))
    assert "<div" in r._repr_html_()
    with pytest.raises(ValueError, match="lang"):
        r.key_findings("fr")


def test_positional_options_are_refused(demo) -> None:
    data, _ = demo
    with pytest.raises(TypeError):
        allocate_costs(data, None)  # type: ignore[misc]
    with pytest.raises(TypeError):
        touch_attribution(data, "markov")  # type: ignore[misc]


def test_filters_are_one_filter_spec(demo, demo_allocation) -> None:
    data, _ = demo
    region = str(data.customers["region"].dropna().iloc[0])
    a = cac(demo_allocation, filters={"region": region}, n_boot=50)
    b = cac(demo_allocation, filters=f'region == "{region}"', n_boot=50)
    pd.testing.assert_frame_equal(a.table, b.table)
    assert a.filters == FilterSpec.parse({"region": region})
    # the same filter on the journeys selects the same customers
    j = journeys(data, filters={"region": region}).table
    assert (j["region"] == region).all() and j["kind"].eq("customer").all()
    # an expression on the unit table, and a clear error on an unknown column
    few = cac(demo_allocation, filters="visits >= 3", n_boot=50).table
    assert few["acquired"].sum() < cac(demo_allocation, n_boot=50).table["acquired"].sum()
    with pytest.raises(ValueError, match="planet"):
        cac(demo_allocation, filters={"planet": "mars"}, n_boot=50)
    # a cost-ledger filter on the allocation, its left-out lines counted in a note
    media = allocate_costs(data, filters={"category": "media"})
    assert set(media.costs["category"].astype(str)) == {"media"}
    assert any("left out by the filter" in s for s in media.key_findings("en"))


def test_period_parsed_once_in_every_form(demo_allocation) -> None:
    p = Period.parse("2026-Q3")
    for period in ("2026-Q3", "2026-q3", p, ("2026-07-01", "2026-09-30")):
        r = cac(demo_allocation, period=period, n_boot=50)
        assert r.period == p or (r.period.start, r.period.end) == (p.start, p.end)
        np.testing.assert_array_equal(
            r.table["acquired"], cac(demo_allocation, period=p, n_boot=50).table["acquired"]
        )
    with pytest.raises(ValueError, match="cannot read period"):
        cac(demo_allocation, period="2026-13", n_boot=50)


def test_as_of_cuts_the_data_before_allocating(demo) -> None:
    data, _ = demo
    ts = pd.Timestamp("2026-06-30")
    a = cac(data, as_of=ts, n_boot=50)
    b = cac(allocate_costs(data.as_of(ts)), n_boot=50)
    pd.testing.assert_frame_equal(a.table, b.table)
    assert a.as_of == ts
    al = allocate_costs(data, as_of=ts)
    assert al.costs["incurred_at"].max() <= ts
    with pytest.raises(ValueError, match="as of"):
        cac(al, as_of="2026-03-31")
