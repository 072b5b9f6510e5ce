"""impact() (issue 14): the result object, methods on one demo seed, bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from salesml.impact import KPIS, ImpactResult, impact
from salesml.impact.kpis import event_span

PLANTED = [k for k, d in KPIS.items() if d.planted and k != "touches_per_deal_day"]


@pytest.fixture(scope="module")
def its_result(demo_data) -> ImpactResult:
    data, truth = demo_data
    return impact(data, go_live=truth.go_live, kpis=PLANTED)


@pytest.fixture(scope="module")
def staggered():
    from salesml.simulator import simulate

    return simulate(preset="demo", seed=0, staggered_go_live=True, kpi_seasonality=True)


def test_its_intervals_cover_the_planted_effects_on_one_seed(demo_data, its_result) -> None:
    _, truth = demo_data
    tb = its_result.table.set_index("kpi")
    for kpi in PLANTED:
        planted = truth.kpi_effects[KPIS[kpi].planted]
        row = tb.loc[kpi]
        assert row["status"] == "ok"
        assert row["rel_low"] <= planted <= row["rel_high"], (kpi, row.to_dict())
        if KPIS[kpi].grain != "M":  # a -10% media effect on 18 months can stay unclear
            assert row["significant"], kpi
        # baseline, observed and effect agree with each other
        assert row["observed"] - row["baseline"] == pytest.approx(row["effect"])
        assert row["effect"] / row["baseline"] == pytest.approx(row["rel_effect"])
        assert row["effect_low"] <= row["effect"] <= row["effect_high"]


def test_the_default_go_live_is_the_datasets(demo_data, its_result) -> None:
    data, truth = demo_data
    r = impact(data, kpis=["stage_days"])  # dataset.yaml declares the go-live
    assert r.go_live == truth.go_live
    a = r.row("stage_days")
    b = its_result.row("stage_days")
    assert a["rel_effect"] == pytest.approx(b["rel_effect"])


def test_the_card_shows_the_seed_table_with_the_naive_figure_beside(its_result) -> None:
    html = its_result._repr_html_()
    assert "Naive change" in html and "Estimated effect (95% interval)" in html
    assert "Days in a stage" in html
    zh = its_result.to_html("zh")
    assert "简单前后对比" in zh and "估计效果" in zh
    findings = its_result.key_findings("en")
    assert len(findings) == len(PLANTED)
    assert all("naive" in f for f in findings)
    s = its_result.summary()
    assert {"naive_before", "naive_after", "rel_effect", "rel_low", "rel_high"} <= set(s.columns)


def test_counterfactual_per_kpi_with_its_interval(its_result) -> None:
    for kpi in PLANTED:
        cf = its_result.counterfactuals[kpi]
        assert {"period", "observed", "counterfactual", "lower", "upper", "post"} <= set(cf)
        assert (cf["lower"] <= cf["counterfactual"]).all()
        assert (cf["counterfactual"] <= cf["upper"]).all()
        assert cf["post"].any() and (~cf["post"]).any()
        d = its_result.diagnostics[kpi]
        assert d["n_pre"] >= 8 and d["hac_lags"] >= 1 and "durbin_watson" in d


def test_did_and_sts_on_a_staggered_rollout(staggered) -> None:
    data, truth = staggered
    assert len(set(truth.region_go_live.values())) == 5
    for method in ("did", "sts"):
        r = impact(
            data, go_live=truth.region_go_live, kpis=["collab_response_hours"], method=method
        )
        row = r.row("collab_response_hours")
        assert row["method"] == method
        assert row["rel_low"] <= truth.kpi_effects["collab_response_hours"] <= row["rel_high"]
    r = impact(data, go_live=truth.region_go_live, kpis=["collab_response_hours"])
    assert r.method == "did"  # auto: staggered dates
    assert 0.0 <= r.diagnostics["collab_response_hours"]["pretrend_p"] <= 1.0
    # a KPI without regions is refused by region, with the reason, not estimated
    r = impact(data, go_live=truth.region_go_live, kpis=["first_response_hours"])
    row = r.row("first_response_hours")
    assert row["status"] == "not_estimable" and np.isnan(row["rel_effect"])


def test_one_region_of_a_staggered_rollout_by_its_own_date(staggered) -> None:
    data, truth = staggered
    r = impact(data, go_live=truth.region_go_live, region="华东", kpis=["collab_response_hours"])
    assert r.method == "its"
    assert r.go_live == pd.Timestamp(truth.region_go_live["华东"])
    assert r.row("collab_response_hours")["status"] == "ok"


def test_a_go_live_outside_the_data_is_refused(demo_data) -> None:
    data, _ = demo_data
    with pytest.raises(ValueError, match="outside the data"):
        impact(data, go_live="2031-01-01")
    with pytest.raises(ValueError, match="outside the data"):
        impact(data, go_live="2020-01-01")
    with pytest.raises(ValueError, match="must be a date"):
        impact(data, go_live="soon")


def test_too_little_pre_period_gives_no_number_and_says_why(demo_data) -> None:
    data, _ = demo_data
    start = event_span(data)[0]
    r = impact(data, go_live=start + pd.Timedelta(days=30), kpis=["stage_days", "cac"])
    for kpi in ("stage_days", "cac"):
        row = r.row(kpi)
        assert row["status"] == "not_estimable"
        assert row["reason"] == "impact.error.short_pre"
        assert np.isnan(row["effect"]) and np.isnan(row["rel_effect"])
    text = " ".join(r.key_findings("en"))
    assert "too little data before the go-live" in text
    assert "at least 8" in text
    assert "上线前数据不足" in " ".join(r.key_findings("zh"))


def test_a_window_shorter_than_the_minimum_is_refused_per_kpi(demo_data) -> None:
    data, truth = demo_data
    r = impact(data, go_live=truth.go_live, kpis=["stage_days"], window=(4, 4))
    assert r.row("stage_days")["status"] == "not_estimable"
    r = impact(data, go_live=truth.go_live, kpis=["stage_days"], window=(26, 8))
    assert r.row("stage_days")["n_pre"] <= 26


def test_a_kpi_with_no_data_after_the_go_live_is_not_estimated(demo_data) -> None:
    data, truth = demo_data
    cut = data.replace(
        collab_events=data.collab_events[data.collab_events["occurred_at"] < truth.go_live]
    )
    r = impact(cut, go_live=truth.go_live, kpis=["collab_response_hours"])
    row = r.row("collab_response_hours")
    assert row["status"] == "not_estimable" and row["reason"] == "impact.error.short_post"


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"method": "magic"}, "method must be"),
        ({"method": "did"}, "mapping region"),
        ({"window": "all"}, "window must be"),
        ({"window": (0, 5)}, "between 1"),
        ({"alpha": 0.9}, "alpha"),
        ({"seasonality": "lunar"}, "seasonality"),
        ({"kpis": ["nps"]}, "unknown KPI"),
    ],
)
def test_bad_options_are_named(demo_data, kwargs, match) -> None:
    data, truth = demo_data
    with pytest.raises(ValueError, match=match):
        impact(data, **{"go_live": truth.go_live, **kwargs})
