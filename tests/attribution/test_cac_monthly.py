"""Tests of the monthly CAC tables and the CAC figures."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import pytest

from salesml.attribution import acquisition_units, cac, cac_monthly, what_if
from salesml.attribution.monthly import previous_period
from salesml.data.bundle import MissingTableError, SalesData
from salesml.plotting.cac import (
    cac_interval_chart,
    cost_allocation_bars,
    roi_interval_chart,
    touch_comparison_chart,
    what_if_chart,
)


@pytest.fixture(scope="module")
def monthly(demo_allocation):
    return cac_monthly(demo_allocation, period="2026-09", n_boot=100)


def test_monthly_tables(monthly, demo_allocation) -> None:
    u = acquisition_units(demo_allocation)
    in_sep = (u["acquired_at"].dt.to_period("M") == pd.Period("2026-09")).sum()
    assert monthly.by_channel["acquired"].sum() == in_sep
    assert monthly.overall["acquired"] == in_sep
    assert monthly.overall["cac_low"] <= monthly.overall["cac"] <= monthly.overall["cac_high"]
    assert {"cac_previous", "change"} <= set(monthly.by_channel.columns)
    prev = cac(demo_allocation, period="2026-08", n_boot=100).set_index("channel")["cac"]
    got = monthly.by_channel.set_index("channel")["cac_previous"]
    pd.testing.assert_series_equal(got, prev, check_names=False)
    assert set(monthly.touch["model"]) >= {"first", "last", "markov", "shapley"}
    costs = demo_allocation.data.costs
    sep = costs[costs["incurred_at"].dt.to_period("M") == pd.Period("2026-09")]
    assert monthly.cost_summary["incurred"].sum() == pytest.approx(sep["amount"].sum())


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_findings(monthly, lang: str) -> None:
    f = monthly.findings(lang)
    assert len(f) >= 3
    assert "¥" in f[0]
    if lang == "zh":
        assert "获客" in f[0] or "客户" in f[0]


def test_previous_period() -> None:
    assert previous_period("2026-03") == (pd.Timestamp("2026-02-01"), pd.Timestamp("2026-03-01"))
    assert previous_period("2026-Q2") == (pd.Timestamp("2026-01-01"), pd.Timestamp("2026-04-01"))
    assert previous_period("2026") == (pd.Timestamp("2025-01-01"), pd.Timestamp("2026-01-01"))
    lo, hi = previous_period("2026-W10")
    assert hi - lo == pd.Timedelta(days=7)


def test_cac_needs_tables(demo) -> None:
    data, _ = demo
    from salesml.attribution import allocate_costs

    al = allocate_costs(SalesData({k: v for k, v in data.tables.items() if k != "deals"}))
    with pytest.raises(MissingTableError, match="deals"):
        cac(al)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_figures(monthly, demo_allocation, lang: str) -> None:
    for fig in (
        cac_interval_chart(monthly.by_channel, lang=lang),
        cac_interval_chart(monthly.by_visit_band, lang=lang),
        cac_interval_chart(monthly.by_all, lang=lang),
        roi_interval_chart(monthly.roi, lang=lang),
        touch_comparison_chart(monthly.touch, lang=lang),
        cost_allocation_bars(monthly.cost_summary, lang=lang),
        what_if_chart(what_if(demo_allocation, budget_shift={"wechat": 1.5}, n_boot=50), lang=lang),
    ):
        assert isinstance(fig, go.Figure) and len(fig.data) >= 1
    fig = cac_interval_chart(monthly.by_channel, lang=lang)
    shown = monthly.by_channel.dropna(subset=["cac"])
    assert len(fig.data[0].y) == len(shown)
    if lang == "zh":
        assert "微信" in fig.data[0].y
    with pytest.raises(ValueError, match="lang"):
        cac_interval_chart(monthly.by_channel, lang="fr")
