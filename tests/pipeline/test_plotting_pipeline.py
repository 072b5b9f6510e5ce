"""Tests of the pipeline figures (structure and labels, not pixels)."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import pytest

from salesml.data.bundle import SalesData
from salesml.i18n import label
from salesml.pipeline import funnel, funnel_breakpoints, lead_leakage, stage_durations
from salesml.plotting.pipeline import (
    breakpoint_heatmap,
    funnel_chart,
    lead_loss_bars,
    stage_duration_bars,
)


def test_funnel_chart_overall_and_groups(tiny: SalesData) -> None:
    fig = funnel_chart(funnel(tiny))
    assert isinstance(fig, go.Figure)
    assert len(fig.data) == 1
    assert list(fig.data[0].x) == [6, 5, 4, 3, 3, 2]
    assert "conv. 83%" in fig.data[0].text[0]
    grouped = funnel_chart(funnel(tiny, by="region"), lang="zh")
    assert len(grouped.data) == 2
    assert grouped.data[0].y[0] == "资格确认"
    assert grouped.layout.title.text == "销售漏斗"
    assert len(funnel_chart(funnel(tiny, by="region"), groups="overall").data) == 1


def test_breakpoint_heatmap_marks_planted(demo_data) -> None:
    data, truth = demo_data
    b = funnel_breakpoints(data)
    fig = breakpoint_heatmap(b)
    hm = fig.data[0]
    stages = list(hm.x)
    rows = list(hm.y)
    i = rows.index(truth.breakpoint["region"])
    j = stages.index(label(truth.breakpoint["stage"]))  # charts show display names
    assert "◎" in hm.text[i][j]
    assert hm.z[i][j] == pytest.approx(np.nanmin(np.asarray(hm.z, dtype=float)))
    assert sum("◎" in c for row in hm.text for c in row) == int(b.table["breakpoint"].sum())
    zh = breakpoint_heatmap(b, lang="zh", value="stage_gap_pp")
    assert "方案报价" in list(zh.data[0].x)


def test_duration_bars(tiny: SalesData) -> None:
    fig = stage_duration_bars(stage_durations(tiny, as_of="2026-03-01"))
    assert [t.name for t in fig.data] == ["Median (Kaplan-Meier)", "90th percentile (Kaplan-Meier)"]
    assert fig.data[0].y[0] == pytest.approx(2.0)  # KM median of qualification
    grouped = stage_duration_bars(stage_durations(tiny, by="region"), by_group=True, lang="zh")
    assert {t.name for t in grouped.data} == {"华东", "华南"}


def test_lead_loss_bars_highlight_unexplained(tiny: SalesData) -> None:
    fig = lead_loss_bars(lead_leakage(tiny), lang="zh")
    bar = fig.data[0]
    names = list(bar.y)
    assert "（未记录原因）" in names and "价格" in names
    k = names.index("（未记录原因）")
    assert bar.marker.color[k] != bar.marker.color[names.index("价格")]
    assert bar.x[k] == 2


def test_bad_lang(tiny: SalesData) -> None:
    with pytest.raises(ValueError, match="lang must be"):
        funnel_chart(funnel(tiny), lang="fr")


def test_heatmap_colours_only_significant_gaps(demo_data) -> None:
    data, _ = demo_data
    b = funnel_breakpoints(data)
    fig = breakpoint_heatmap(b)
    coloured, grey = fig.data[0], fig.data[1]
    groups, stages = list(coloured.y), list(coloured.x)
    t = b.table.set_index(["region", "stage"])
    z = np.asarray(coloured.z, dtype=float)
    g = np.asarray(grey.z, dtype=float)
    n_grey = 0
    for i, region in enumerate(groups):
        for j, stage in enumerate(b.stage_order):
            row = t.loc[(region, stage)]
            assert stages[j] == label(stage)
            if row["significant"]:
                assert z[i, j] == pytest.approx(row["gap_pp"]) and np.isnan(g[i, j])
            else:  # p >= alpha: never a strong colour, the gap as text on grey
                assert np.isnan(z[i, j]) and g[i, j] == 0.0
                assert grey.text[i][j] == f"{row['gap_pp']:+.1f}"
                n_grey += 1
    assert n_grey > 0
    assert grey.showscale is False and "significant" in coloured.colorbar.title.text
    note = fig.layout.annotations[0].text
    assert "Grey: not significant" in note and "0.05" in note
    zh = breakpoint_heatmap(b, lang="zh")
    assert "灰色" in zh.layout.annotations[0].text


def test_heatmap_does_not_paint_an_insignificant_big_gap(tiny: SalesData) -> None:
    b = funnel_breakpoints(tiny, by="region")
    row = b.table.set_index(["region", "stage"]).loc[("华东", "proposal")]
    assert row["gap_pp"] == pytest.approx(-50.0) and not row["significant"]
    fig = breakpoint_heatmap(b)
    assert np.isnan(np.asarray(fig.data[0].z, dtype=float)).all()
    i = list(fig.data[1].y).index("华东")
    j = list(fig.data[1].x).index("Proposal")
    assert fig.data[1].text[i][j] == "-50.0"
    assert "adj. p" in fig.data[1].customdata[i][j]


def test_duration_bars_are_one_estimator_and_say_what_is_unknown(tiny: SalesData) -> None:
    r = stage_durations(tiny, as_of="2026-03-01")
    fig = stage_duration_bars(r)
    o = r.overall
    med, p90 = fig.data
    for k, (m, p) in enumerate(zip(o["km_median_days"], o["km_p90_days"], strict=True)):
        assert med.y[k] == pytest.approx(m if np.isfinite(m) else 0.0)
        if np.isfinite(p):
            assert p90.y[k] == pytest.approx(p)
        else:  # never the completed-only p90 in its place
            assert p90.y[k] == 0.0 and p90.text[k] == "not known yet"
    assert "not known yet" in list(p90.text)  # needs_analysis: an open stay
    zh = stage_duration_bars(r, lang="zh")
    assert "暂不可知" in list(zh.data[1].text)
