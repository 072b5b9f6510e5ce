"""Tests of ``stage_durations`` on the hand-built dataset (known answers)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from salesml.data.bundle import MissingTableError, SalesData
from salesml.i18n import label
from salesml.pipeline import stage_durations
from salesml.pipeline.durations import km_quantiles


def test_known_durations(tiny: SalesData) -> None:
    r = stage_durations(tiny, as_of="2026-03-01")
    t = r.table.set_index("stage")
    # qualification stays: D1 2, D2 1, D3 4, D4 10 (lost), D5 3, D6 1 days
    q = t.loc["qualification"]
    assert (q["stays"], q["completed"], q["open"]) == (6, 6, 0)
    assert q["median_days"] == pytest.approx(2.5)
    assert q["km_median_days"] == pytest.approx(2.0)  # smallest t with S(t) <= 0.5
    assert q["km_p90_days"] == pytest.approx(10.0)
    # needs_analysis: D3 is still open there (censored); completed 3, 2, 3, 1
    n = t.loc["needs_analysis"]
    assert (n["stays"], n["completed"], n["open"]) == (5, 4, 1)
    assert n["median_days"] == pytest.approx(2.5)
    assert n["km_median_days"] == pytest.approx(3.0)
    assert np.isnan(n["km_p90_days"])  # the open stay keeps survival above 0.1
    # contract: D1 6 days to close (won), D5 2 days, D6 open
    c = t.loc["contract"]
    assert (c["completed"], c["open"]) == (2, 1)
    assert c["mean_days"] == pytest.approx(4.0)


def test_by_group_and_overall(tiny: SalesData) -> None:
    r = stage_durations(tiny, by="region", as_of="2026-03-01")
    assert set(r.table["region"]) == {"华东", "华南"}
    assert r.table.groupby("stage")["stays"].sum().sum() == r.overall["stays"].sum() == 21
    s = r.summary()
    assert list(s.index) == tiny.stage_order
    assert r.key_findings("en") and r.key_findings("zh")
    assert "<b>Time in each stage</b>" in r._repr_html_()  # the catalog title


def test_period_and_filter(tiny: SalesData) -> None:
    r = stage_durations(tiny, period="2026-01", filters={"region": "华东"}, as_of="2026-03-01")
    assert r.overall["stays"].tolist() == [3, 3, 2, 1, 1]


def test_needs_deals(tiny: SalesData) -> None:
    # without stage history the sales cycle is measured instead (tests/pipeline/test_deals_only.py)
    no_deals = SalesData({k: v for k, v in tiny.tables.items() if k != "deals"})
    with pytest.raises(MissingTableError, match="deals"):
        stage_durations(no_deals)


def test_km_matches_plain_quantile_without_censoring() -> None:
    rng = np.random.default_rng(0)
    d = rng.exponential(10, 1001)
    cell = np.zeros(1001, dtype=np.int64)
    km = km_quantiles(cell, d, np.ones(1001, dtype=bool), (0.5,), 1)
    assert km[0, 0] == pytest.approx(np.sort(d)[500])  # the 501st of 1001 values


def test_blank_cells_say_why(tiny: SalesData) -> None:
    r = stage_durations(tiny, as_of="2026-03-01")
    t = r.table.set_index("stage")
    assert t.loc["needs_analysis", "note"] == "p90_still_open"
    assert pd.isna(t.loc["qualification", "note"])  # nothing blank there
    notes = " ".join(r.notes_text("en"))
    assert "A blank P90 (KM)" in notes and "quote them as a pair" in notes
    empty = stage_durations(tiny, as_of="2026-01-05 12:00").table.set_index("stage")
    assert empty.loc["qualification", "note"] == "no_completed_stays"
    assert empty.loc["contract", "note"] == "no_stays"
    for code in ("p90_still_open", "median_still_open", "no_completed_stays", "no_stays"):
        assert label(code) != code and label(code, "zh") != code


def _finding_numbers(sentence: str) -> tuple[float, float | None]:
    m = re.search(r"median (\d+) days(?:, 90th percentile (\d+) days)?", sentence)
    assert m, sentence
    return float(m.group(1)), (float(m.group(2)) if m.group(2) else None)


def test_finding_quotes_one_consistent_pair(demo_data) -> None:
    # issue 10 item 12: "median 9 days, p90 8 days" (a KM median beside a plain p90)
    data, _ = demo_data
    seen_unknown = 0
    for month in pd.period_range("2025-06", "2026-10", freq="M"):
        r = stage_durations(data, period=str(month))
        found = r.findings()
        if not found:
            continue
        sentence = found[0].text("en")
        stage = r.overall.set_index("stage")
        row = stage.loc[next(s for s in stage.index if label(s) in sentence)]
        median, p90 = _finding_numbers(sentence)
        assert median == round(row["km_median_days"])
        if p90 is None:
            assert np.isnan(row["km_p90_days"]) and "not known yet" in sentence
            assert f"{row['p90_days']:.0f} days" not in sentence  # no completed-only stand-in
            seen_unknown += 1
        else:
            assert p90 == round(row["km_p90_days"]) and p90 >= median
    assert seen_unknown >= 1  # the recent months have stays too open to know the p90
