"""Tests of ``salesml.pipeline.funnel`` on the hand-built dataset (known answers)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from salesml.data.bundle import MissingTableError, SalesData
from salesml.pipeline import funnel


def test_overall_counts_known(tiny: SalesData) -> None:
    t = funnel(tiny).table.set_index("stage")
    assert t["reached"].tolist() == [6, 5, 4, 3, 3, 2]
    assert t["open_here"].tolist() == [0, 1, 0, 0, 1, 0]
    assert t["lost_here"].tolist() == [1, 0, 1, 0, 0, 0]
    assert t["decided"].tolist() == [6, 4, 4, 3, 2, 2]
    # open deals are left out of the denominator: needs_analysis converts 4 of 4 decided
    assert t.loc["needs_analysis", "conversion"] == 1.0
    assert t.loc["qualification", "conversion"] == pytest.approx(5 / 6)
    assert t.loc["proposal", "conversion"] == pytest.approx(3 / 4)
    assert t.loc["contract", "cum_conversion"] == pytest.approx(5 / 6 * 3 / 4)
    assert np.isnan(t.loc["won", "conversion"])
    assert t.loc["won", "share_of_first"] == pytest.approx(2 / 6)


def test_by_region_and_summary(tiny: SalesData) -> None:
    r = funnel(tiny, by="region")
    s = r.summary()
    assert s.loc["华东", "deals"] == 3 and s.loc["华南", "deals"] == 3
    assert s.loc["华东", "proposal"] == pytest.approx(0.5)
    assert s.loc["华南", "qualification"] == pytest.approx(2 / 3)
    assert s.loc["华东", "win_rate"] == pytest.approx(0.5)
    # groups add up to the whole
    pd.testing.assert_frame_equal(
        r.overall()[["reached", "open_here", "lost_here"]],
        funnel(tiny).table[["reached", "open_here", "lost_here"]],
    )


def test_counts_monotone_per_group(tiny: SalesData) -> None:
    t = funnel(tiny, by=["region", "segment"]).table
    for _, g in t.groupby(["region", "segment"]):
        assert (np.diff(g["reached"].to_numpy()) <= 0).all()


def test_lost_before_win_keeps_product_zero(tiny: SalesData) -> None:
    s = funnel(tiny, by="segment").summary()
    # the single mid_market deal was lost at proposal: win rate 0, not unknown
    assert s.loc["mid_market", "win_rate"] == 0.0


def test_period_is_cohort_of_created_at(tiny: SalesData) -> None:
    assert funnel(tiny, period="2026-01").n_deals == 3
    assert funnel(tiny, period="2026-W06").n_deals == 3  # 2026-02-02 is a Monday
    assert funnel(tiny, period=("2026-01-01", "2026-02-02")).n_deals == 6
    empty = funnel(tiny, period="2027")
    assert empty.n_deals == 0
    assert empty.table["reached"].sum() == 0


def test_filters(tiny: SalesData) -> None:
    assert funnel(tiny, filters={"region": "华东"}).n_deals == 3
    assert funnel(tiny, filters={"channel": ["wechat", "online_ads"]}).n_deals == 5
    assert funnel(tiny, filters={"product_line": "equipment", "region": "华南"}).n_deals == 1
    assert funnel(tiny, filters={"team": "T2"}).n_deals == 3
    with pytest.raises(ValueError, match="unknown dimension 'colour'"):
        funnel(tiny, filters={"colour": "red"})
    # values are compared, never evaluated
    assert funnel(tiny, filters={"region": "__import__('os')"}).n_deals == 0


def test_unknown_dimension(tiny: SalesData) -> None:
    with pytest.raises(ValueError, match="unknown dimension 'planet'"):
        funnel(tiny, by="planet")


def test_fallback_without_stage_history(tiny: SalesData) -> None:
    no_hist = SalesData({k: v for k, v in tiny.tables.items() if k != "stage_history"})
    r = funnel(no_hist)
    assert r.source == "deals.stage"
    pd.testing.assert_frame_equal(r.table, funnel(tiny).table)


def test_missing_tables(tiny: SalesData) -> None:
    no_deals = SalesData({"customers": tiny.customers})
    with pytest.raises(MissingTableError, match="deals"):
        funnel(no_deals)
    no_cust = SalesData({k: v for k, v in tiny.tables.items() if k != "customers"})
    assert funnel(no_cust).n_deals == 6  # no dimension needed: fine
    with pytest.raises(MissingTableError, match="customers"):
        funnel(no_cust, by="region")


def test_unknown_stage_names_row(tiny: SalesData) -> None:
    hist = tiny.stage_history.copy()
    hist.loc[3, "stage"] = "prposal"
    with pytest.raises(ValueError, match=r"stage_history.*row 3.*'prposal'"):
        funnel(tiny.replace(stage_history=hist))


def test_input_not_mutated(tiny: SalesData) -> None:
    before = {k: v.copy() for k, v in tiny.tables.items()}
    funnel(tiny, by="region", filters={"segment": "key_account"}, period="2026")
    for k, v in before.items():
        pd.testing.assert_frame_equal(tiny[k], v)


def test_findings_both_languages(tiny: SalesData) -> None:
    r = funnel(tiny)
    en, zh = r.key_findings("en"), r.key_findings("zh")
    assert len(en) == len(zh) >= 1
    assert "Proposal" in en[0] or "Qualification" in en[0]
    assert any("赢单率" in s for s in zh)
    assert "<b>Sales funnel</b>" in r._repr_html_()  # the catalog title


def test_cache_follows_replaced_tables(tiny: SalesData) -> None:
    before = funnel(tiny, by="region").summary()
    customers = tiny.customers.assign(region="华北")
    moved = funnel(tiny.replace(customers=customers), by="region").summary()
    assert list(moved.index) == ["华北"] and moved.loc["华北", "deals"] == 6
    # a new deals table (as_of, replace) gets a fresh index
    deals = tiny.deals.assign(outcome="lost", closed_at=pd.Timestamp("2026-03-01"))
    lost = funnel(tiny.replace(deals=deals)).table.set_index("stage")
    assert lost.loc["won", "reached"] == 0
    # the original is unaffected
    pd.testing.assert_frame_equal(funnel(tiny, by="region").summary(), before)


def test_unparsed_dates_named(tiny: SalesData) -> None:
    deals = tiny.deals.assign(created_at=tiny.deals["created_at"].dt.strftime("%Y-%m-%d %H:%M"))
    ok = funnel(tiny.replace(deals=deals), period="2026-01")  # ISO text still reads
    assert ok.n_deals == 3
    deals = deals.copy()  # a new table: the deal index is cached per table object
    deals.loc[4, "created_at"] = "2026年2月2日"
    with pytest.raises(
        ValueError, match=r"'deals', column 'created_at', row 4 holds '2026年2月2日'"
    ):
        funnel(tiny.replace(deals=deals))
