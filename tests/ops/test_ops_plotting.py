"""Figures of salesml.ops: they draw the result's numbers, in both languages."""

from __future__ import annotations

import numpy as np

from salesml.ops import store_cost_anomalies, war_room
from salesml.plotting.ops import response_trend, store_cost_heatmap


def test_store_heatmap_orders_stores_by_the_ranking(demo_data) -> None:
    data, truth = demo_data
    r = store_cost_anomalies(data)
    for lang in ("en", "zh"):
        fig = store_cost_heatmap(r, lang=lang)
        hm = fig.data[0]
        assert hm.y[0] == f"{truth.anomalous_stores['store_id'].iloc[0]} ◎"
        assert len(hm.y) == len(r.table)
    row = r.heatmap.dropna(subset=["ratio"]).iloc[0]
    i = [y.split()[0] for y in hm.y].index(row["store_id"])
    j = list(hm.x).index(row["month"])
    assert np.asarray(hm.z)[i][j] == np.log2(row["ratio"]) or row["ratio"] <= 0
    assert "门店" in store_cost_heatmap(r, lang="zh").layout.title.text


def test_response_trend_draws_the_trend(demo_data) -> None:
    data, _ = demo_data
    r = war_room(data)
    fig = response_trend(r, lang="zh")
    assert list(fig.data[0].y) == list(r.trend["median_h"])
    assert fig.layout.title.text == "各月跨团队响应时长"
