"""Against planted truth over many demo seeds (issue 14).

- ITS: each planted KPI's 95% interval covers the planted effect in >= 90% of seeds;
- a placebo go-live in the pre-period (nothing planted there) is flagged significant
  in <= 10% of seeds per KPI (first response included: it is a geometric mean of the
  heavy-tailed waits, whose weekly arithmetic mean was flagged in 12% of seeds);
- with the planted Chinese New Year slowdown of response times in the "before"
  window, the naive before/after figure is biased and the estimate is not;
- DiD over a staggered rollout by region: the same coverage.

``touches_per_deal_day`` has an exact target only with the opt-in
``simulate(flat_touches=True)`` (:mod:`salesml.simulator.touches`): by default the
faster replies after the go-live let more weakly engaged deals survive, which dilutes
the planted +12% by an amount the simulator does not record (the ITS estimate averages
about +8%). With the switch every open deal-day is touched at one rate, x1.12 from the
go-live: its own 50 seeds below.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from salesml.impact import KPIS, impact
from salesml.simulator import simulate

pytestmark = pytest.mark.slow

N_SEEDS = 50
N_SEEDS_SEASON = 30
N_SEEDS_DID = 30
ITS_KPIS = ["first_response_hours", "stage_days", "collab_response_hours", "media_cost_per_lead"]
DID_KPIS = ["stage_days", "collab_response_hours"]


def _run(seeds, fn) -> pd.DataFrame:
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for seed in seeds:
            rows.extend(fn(seed))
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def its_runs() -> pd.DataFrame:
    def one(seed):
        data, truth = simulate(preset="demo", seed=seed)
        r = impact(data, go_live=truth.go_live, kpis=ITS_KPIS)
        # placebo: only the data before the real go-live, a go-live in its middle
        before = data.as_of(truth.go_live - pd.Timedelta(seconds=1))
        fake = truth.go_live - pd.DateOffset(months=5)
        p = impact(before, go_live=fake, kpis=ITS_KPIS)
        out = []
        for kpi in ITS_KPIS:
            row, prow = r.row(kpi), p.row(kpi)
            planted = truth.kpi_effects[KPIS[kpi].planted]
            out.append(
                {
                    "seed": seed,
                    "kpi": kpi,
                    "rel": row["rel_effect"],
                    "covered": row["rel_low"] <= planted <= row["rel_high"],
                    "placebo_status": prow["status"],
                    "placebo_flagged": bool(prow["significant"]),
                }
            )
        return out

    return _run(range(N_SEEDS), one)


def test_its_intervals_cover_the_planted_effect_in_90_percent_of_seeds(its_runs) -> None:
    cover = its_runs.groupby("kpi")["covered"].mean()
    assert (cover >= 0.90).all(), cover


def test_its_estimates_centre_on_the_planted_effect(its_runs) -> None:
    mean = its_runs.groupby("kpi")["rel"].mean()
    for kpi, m in mean.items():
        planted = {k: e for k, e in zip(ITS_KPIS, [-0.30, -0.15, -0.30, -0.10], strict=True)}[kpi]
        assert abs(m - planted) <= 0.1 * abs(planted), (kpi, m)


def test_a_placebo_go_live_is_flagged_in_at_most_10_percent_of_seeds(its_runs) -> None:
    # seven months before the placebo date: too few for the monthly media KPI, which
    # must then say so rather than give a number
    monthly = its_runs["kpi"].map(lambda k: KPIS[k].grain == "M")
    assert (its_runs.loc[~monthly, "placebo_status"] == "ok").all()
    assert (its_runs.loc[monthly, "placebo_status"] == "not_estimable").all()
    flagged = its_runs[~monthly].groupby("kpi")["placebo_flagged"].mean()
    assert (flagged <= 0.10).all(), flagged


@pytest.fixture(scope="module")
def season_runs() -> pd.DataFrame:
    kpis = ["collab_response_hours"]

    def one(seed):
        data, truth = simulate(preset="demo", seed=seed, kpi_seasonality=True)
        # 16 weeks either side: the "before" holds Chinese New Year (mid-February)
        r = impact(data, go_live=truth.go_live, kpis=kpis, window=(16, 16))
        row = r.row(kpis[0])
        planted = truth.kpi_effects["collab_response_hours"]
        return [
            {
                "seed": seed,
                "naive": row["naive_rel"],
                "rel": row["rel_effect"],
                "covered": row["rel_low"] <= planted <= row["rel_high"],
            }
        ]

    return _run(range(N_SEEDS_SEASON), one)


def test_planted_seasonality_biases_the_naive_figure_not_the_estimate(season_runs) -> None:
    planted = -0.30
    naive_bias = season_runs["naive"].mean() - planted
    est_bias = season_runs["rel"].mean() - planted
    # the holiday slowdown sits in the "before": the naive figure overstates the gain
    assert naive_bias < -0.05, naive_bias
    assert abs(est_bias) < 0.03, est_bias
    assert season_runs["covered"].mean() >= 0.90


@pytest.fixture(scope="module")
def did_runs() -> pd.DataFrame:
    def one(seed):
        data, truth = simulate(
            preset="demo", seed=seed, staggered_go_live=True, kpi_seasonality=True
        )
        r = impact(data, go_live=truth.region_go_live, kpis=DID_KPIS, method="did")
        out = []
        for kpi in DID_KPIS:
            row = r.row(kpi)
            planted = truth.kpi_effects[KPIS[kpi].planted]
            out.append(
                {
                    "seed": seed,
                    "kpi": kpi,
                    "rel": row["rel_effect"],
                    "covered": row["rel_low"] <= planted <= row["rel_high"],
                    "pretrend_p": r.diagnostics[kpi]["pretrend_p"],
                }
            )
        return out

    return _run(range(N_SEEDS_DID), one)


def test_did_over_a_staggered_rollout_covers_the_planted_effect(did_runs) -> None:
    cover = did_runs.groupby("kpi")["covered"].mean()
    assert (cover >= 0.90).all(), cover
    # no pre-trend is planted: the pre-trend test rejects rarely
    assert (did_runs["pretrend_p"] < 0.05).mean() <= 0.15
    assert np.isfinite(did_runs["rel"]).all()


@pytest.fixture(scope="module")
def touch_runs() -> pd.DataFrame:
    kpi = "touches_per_deal_day"

    def one(seed):
        data, truth = simulate(preset="demo", seed=seed, flat_touches=True)
        row = impact(data, go_live=truth.go_live, kpis=[kpi]).row(kpi)
        before = data.as_of(truth.go_live - pd.Timedelta(seconds=1))
        fake = truth.go_live - pd.DateOffset(months=5)
        prow = impact(before, go_live=fake, kpis=[kpi]).row(kpi)
        planted = truth.kpi_effects[KPIS[kpi].planted]
        return [
            {
                "rel": row["rel_effect"],
                "covered": row["rel_low"] <= planted <= row["rel_high"],
                "placebo_flagged": bool(prow["significant"]),
            }
        ]

    return _run(range(N_SEEDS), one)


def test_the_exact_touch_target_is_recovered_covered_and_not_found_by_a_placebo(
    touch_runs,
) -> None:
    # measured: mean +11.9% (planted +12%), covered in 94%, placebo flagged in 8%
    assert abs(touch_runs["rel"].mean() - 0.12) <= 0.1 * 0.12
    assert touch_runs["covered"].mean() >= 0.90
    assert touch_runs["placebo_flagged"].mean() <= 0.10
