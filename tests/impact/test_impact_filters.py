"""``filters=`` on kpi_series and impact (issue 14): the shared FilterSpec on each KPI's rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from salesml.data.bundle import SalesData
from salesml.filters import FilterSpec
from salesml.impact import KPIS, impact, kpi_series

T = pd.Timestamp


def test_a_region_filter_gives_exactly_the_region_rows_of_the_split(demo_data) -> None:
    data, _ = demo_data
    kpis = ["collab_response_hours", "won_cycle_days", "payment_delay_days"]
    split = kpi_series(data, kpis=kpis, by="region").table
    region = split["region"].dropna().iloc[0]
    one = kpi_series(data, kpis=kpis, filters={"region": region})
    assert one.filters == FilterSpec.parse({"region": region})
    for kpi in kpis:
        a = split[(split["kpi"] == kpi) & (split["region"] == region)]
        b = one.series(kpi)
        a = a[a["period"].isin(b["period"])]
        assert b["denominator"].sum() > 0
        assert a["numerator"].sum() == pytest.approx(b["numerator"].sum())
        assert a["denominator"].sum() == pytest.approx(b["denominator"].sum())
        # and the filter really narrows: fewer events than the whole
        assert b["denominator"].sum() < split[split["kpi"] == kpi]["denominator"].sum()


def test_a_segment_filter_still_recovers_the_planted_effects(demo_data) -> None:
    data, truth = demo_data
    kpis = ["stage_days", "collab_response_hours"]
    whole = impact(data, go_live=truth.go_live, kpis=kpis)
    r = impact(data, go_live=truth.go_live, kpis=kpis, filters={"segment": "key_account"})
    assert r.filters.get("segment") == ("key_account",)
    for kpi in kpis:
        row = r.row(kpi)
        planted = truth.kpi_effects[KPIS[kpi].planted]
        assert row["status"] == "ok"
        assert row["rel_low"] <= planted <= row["rel_high"], (kpi, row.to_dict())
        # fewer deals: a wider interval than on all deals
        w_all = whole.row(kpi)["rel_high"] - whole.row(kpi)["rel_low"]
        assert row["rel_high"] - row["rel_low"] > w_all


def test_kpis_whose_rows_lack_the_column_say_so_and_are_not_measured_unfiltered(
    demo_data,
) -> None:
    data, truth = demo_data
    r = impact(
        data,
        go_live=truth.go_live,
        kpis=["first_response_hours", "cac", "stage_days"],
        filters={"team": data.reps["team"].iloc[0]},
    )
    tb = r.table.set_index("kpi")
    # a lead has no team, nor do the cost lines of CAC; deals do (their owner's)
    assert tb.loc["first_response_hours", "status"] == "not_estimable"
    assert tb.loc["first_response_hours", "reason"] == "impact.reason.filter_column"
    assert np.isnan(tb.loc["cac", "rel_effect"])
    assert tb.loc["stage_days", "status"] == "ok"
    s = kpi_series(data, kpis=["first_response_hours"], filters={"team": "x"})
    nm = s.not_measurable.set_index("kpi")
    assert nm.loc["first_response_hours", "needs"] == "team"
    assert "cannot be filtered on team" in s.key_findings("en")[0]
    assert s.key_findings("zh")[0] != s.key_findings("en")[0]


def test_an_expression_filter_on_deals(demo_data) -> None:
    data, _ = demo_data
    big = kpi_series(data, kpis=["won_cycle_days"], filters="amount >= 50000")
    won = data.deals[(data.deals["outcome"] == "won") & data.deals["closed_at"].notna()]
    n_big = int((won["amount"] >= 50000).sum())
    assert big.series("won_cycle_days")["denominator"].sum() == n_big
    assert 0 < n_big < len(won)


def test_bad_filters_are_refused_with_the_reason(demo_data) -> None:
    data, truth = demo_data
    with pytest.raises(ValueError, match="plain column name"):
        impact(data, go_live=truth.go_live, kpis=["stage_days"], filters={"a b": 1})
    with pytest.raises(ValueError):
        impact(data, go_live=truth.go_live, kpis=["stage_days"], filters="amount >= ")
    with pytest.raises(TypeError, match="filters must be"):
        kpi_series(data, kpis=["stage_days"], filters=42)  # type: ignore[arg-type]


def test_a_hand_made_export_filtered_by_lead_channel() -> None:
    leads = pd.read_csv(
        "tests/impact/fixtures/leads_export.csv", parse_dates=["created_at", "first_response_at"]
    )
    data = SalesData({"leads": leads})
    r = kpi_series(data, kpis=["first_response_hours"], filters={"channel": "wechat"}, freq="M")
    fr = r.series("first_response_hours").dropna(subset=["value"])
    # wechat leads answered in 2 h and 8 h (the unanswered and the undated ones are not
    # counted; the 'WeChat ' typo is another channel): the geometric mean is 4 h
    assert fr["denominator"].sum() == 2
    assert fr["value"].iloc[0] == pytest.approx(4.0)
