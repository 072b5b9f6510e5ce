"""A deals-only CRM export (issue 8): funnel, cycle time, which region, amounts left out."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from salesml.data.bundle import SalesData
from salesml.i18n import label
from salesml.pipeline import (
    CYCLE,
    funnel,
    funnel_breakpoints,
    key_findings,
    stage_durations,
)
from salesml.plotting.pipeline import funnel_chart, stage_duration_bars


def _km_quantile(durations: list[float], events: list[bool], q: float) -> float:
    """Product-limit quantile written out the slow, obvious way (an independent check)."""
    pairs = sorted(zip(durations, events, strict=True), key=lambda x: (x[0], not x[1]))
    at_risk = len(pairs)
    surv = 1.0
    for d, e in pairs:
        if e:
            surv *= 1 - 1 / at_risk
            if surv <= 1 - q + 1e-12:
                return d
        at_risk -= 1
    return float("nan")


def test_first_stage_conversion_is_not_a_meaningless_100_percent(crm: SalesData) -> None:
    f = funnel(crm)
    t = f.table.set_index("stage")
    assert f.source == "deals.stage" and not f.first_measurable
    # every deal "reached" prospecting by construction and no closed deal sits there
    assert t.loc["prospecting", "reached"] == len(crm.deals)
    assert t.loc["prospecting", "lost_here"] == 0
    assert not t.loc["prospecting", "measurable"] and np.isnan(t.loc["prospecting", "conversion"])
    assert t.loc["engaging", "measurable"]
    # the win rate counts from engaging: won / decided there (5 won, 4 lost)
    assert t.loc["engaging", "conversion"] == pytest.approx(5 / 9)
    assert t.loc["engaging", "cum_conversion"] == pytest.approx(5 / 9)
    assert np.isnan(f.summary().loc["all", "prospecting"])
    notes = f.notes_text("en")
    assert any("Prospecting: conversion not measurable" in n for n in notes)
    assert any("没有阶段历史" in n for n in f.notes_text("zh"))
    en = f.key_findings("en", n=5)
    assert not any("100%" in s for s in en)
    assert any("of the deals past Prospecting are won" in s for s in en)
    assert all("Prospecting" not in s for s in en if s.startswith("The biggest leak"))
    chart = funnel_chart(f)
    assert "conv. not measurable" in chart.data[0].text[0]
    assert "100%" not in chart.data[0].text[0]


def test_first_stage_stays_measurable_when_the_export_records_early_losses(crm) -> None:
    deals = crm.deals.copy()
    deals.loc[deals["deal_id"] == "O02", "stage"] = "prospecting"  # lost while prospecting
    f = funnel(crm.replace(deals=deals))
    t = f.table.set_index("stage")
    assert f.first_measurable and t.loc["prospecting", "measurable"]
    # 12 decided there (two open prospects left out), 11 of them reached engaging
    assert t.loc["prospecting", "conversion"] == pytest.approx(11 / 12)


def test_which_region_rep_office_or_customer_country(
    crm: SalesData, crm_by_customer: SalesData
) -> None:
    rep = crm
    by_office = funnel(rep, by="region").summary()
    assert sorted(by_office.index) == ["Central", "East", "West"]
    assert by_office.loc["Central", "deals"] == 6  # Anna Snell and Darcel Schlecht
    assert funnel(rep, filters={"region": "East"}).n_deals == 4
    assert funnel(rep, filters={"region": "East"}).n_deals == (
        funnel(rep, filters={"rep_region": "East"}).n_deals
    )
    assert any("owning rep's sales region" in n for n in funnel(rep, by="region").notes_text())
    # the customer's location stays reachable by name, and is the default elsewhere
    by_country = funnel(rep, by="customer_region").summary()
    assert "Philippines" in by_country.index and "(unknown)" in by_country.index
    cust = crm_by_customer
    assert set(funnel(cust, by="region").summary().index) == set(by_country.index)
    assert not any("owning rep" in n for n in funnel(cust, by="region").notes_text())
    b = funnel_breakpoints(rep)  # default by="region": the offices
    assert set(b.table["region"]) == {"Central", "East", "West"}
    # English data values are shown as they are, in both languages
    assert label("Central", "zh") == "Central"


def test_cycle_time_from_created_and_closed(crm: SalesData) -> None:
    r = stage_durations(crm)
    assert r.method == "cycle"
    row = r.table.iloc[0]
    assert row["stage"] == CYCLE and len(r.table) == 1
    cut = r.as_of
    assert cut == pd.Timestamp("2017-02-19")  # the latest deal event of the export
    d = crm.deals
    closed = d["outcome"] != "open"
    usable = ~(closed & d["closed_at"].isna())
    assert r.n_left_out == 1  # O13: won without a close date
    end = d["closed_at"].where(closed, cut)
    days = ((end - d["created_at"]).dt.total_seconds() / 86400)[usable].tolist()
    events = closed[usable].tolist()
    assert (row["stays"], row["completed"], row["open"]) == (13, 8, 5)
    assert row["km_median_days"] == pytest.approx(_km_quantile(days, events, 0.5))
    assert row["km_p90_days"] == pytest.approx(_km_quantile(days, events, 0.9))
    done = [x for x, e in zip(days, events, strict=True) if e]
    assert row["median_days"] == pytest.approx(np.median(done))
    en = r.key_findings("en")[0]
    assert "created_at to closed_at" in en and "Kaplan-Meier" in en
    assert f"median of {row['km_median_days']:.0f} days" in en
    assert f"90th percentile {row['km_p90_days']:.0f} days" in en
    assert "5 deals are still open" in en
    assert "创建到关闭" in r.key_findings("zh")[0]
    notes = " ".join(r.notes_text("en"))
    assert "no stage history" in notes and "1 closed deal without a usable close date" in notes
    fig = stage_duration_bars(r)
    assert fig.layout.title.text == "Sales cycle (created to closed)"
    assert list(fig.data[0].x) == ["Created to closed"]
    assert fig.data[0].y[0] == pytest.approx(row["km_median_days"])


def test_cycle_time_by_region_and_as_of(crm: SalesData) -> None:
    r = stage_durations(crm, by="region", as_of="2017-01-20")
    assert set(r.table["region"]) == {"Central", "East", "West"}
    assert r.table["stays"].sum() == r.overall["stays"].iloc[0]
    # deals created after the cut are not there; deals closed after it are still open
    o = r.overall.iloc[0]
    created = crm.deals["created_at"] <= pd.Timestamp("2017-01-20")
    assert o["stays"] == int(created.sum()) - 1  # O13 (no close date) left out
    assert o["completed"] == 3  # O01, O05 and O10 closed by 20 January
    assert r.as_of == pd.Timestamp("2017-01-20")


def test_open_deals_without_an_amount_are_counted_not_hidden(crm: SalesData) -> None:
    f = funnel(crm)
    is_open = crm.deals["outcome"] == "open"
    amounts = crm.deals.loc[is_open, "amount"]
    assert f.open_without_amount == int(amounts.isna().sum()) == 3
    assert f.table["open_amount"].sum() == pytest.approx(amounts.sum())
    assert any("3 open deals have no amount yet" in n for n in f.notes_text())
    sentence = next(s for s in f.key_findings("en", n=5) if s.startswith("Open pipeline"))
    assert "$3,943" in sentence and "3 more open deals have no amount yet" in sentence
    assert "¥" not in sentence  # the dataset's currency, not a default
    assert "尚无金额" in next(s for s in f.key_findings("zh", n=5) if "管道金额" in s)


def test_report_level_findings_on_the_export(crm: SalesData) -> None:
    results = (funnel(crm), funnel_breakpoints(crm), stage_durations(crm))
    en = key_findings(*results, lang="en", n=5)
    zh = key_findings(*results, lang="zh", n=5)
    assert len(en) == len(zh) >= 3
    for s in en:
        assert "prospecting" not in s and "engaging" not in s  # display names, not codes
        assert "created_to_closed" not in s
