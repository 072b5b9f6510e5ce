"""capability_scores against the planted skills (demo) and its contract."""

from __future__ import annotations

import inspect

import numpy as np
import pandas as pd
import pytest

from salesml.capability import SCENARIOS, CapabilityResult, capability_scores
from salesml.capability.validation import recovery
from salesml.results import AnalysisResult


def test_signature_and_contract(demo_scores: CapabilityResult) -> None:
    params = list(inspect.signature(capability_scores).parameters.values())
    assert params[0].name == "data"
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in params[1:])
    assert [p.name for p in params[1:4]] == ["as_of", "window", "filters"]
    r = demo_scores
    assert isinstance(r, AnalysisResult)
    tab = r.table
    assert set(tab["scenario"]) == set(SCENARIOS)
    assert len(tab) == 3 * tab["rep_id"].nunique()
    for col in (
        "score",
        "lower",
        "upper",
        "raw",
        "timeliness",
        "quality",
        "outcome",
        "evidence",
        "low_evidence",
    ):
        assert col in tab
    assert (tab["lower"] < tab["score"]).all() and (tab["score"] < tab["upper"]).all()
    for lang in ("en", "zh"):
        found = r.key_findings(lang)
        assert found and all(isinstance(s, str) for s in found)
    card = r._repr_html_()
    assert r.title() in card and "Loading" in card
    assert "技术沟通" in " ".join(r.key_findings("zh"))
    wide = r.summary()
    assert len(wide) == tab["rep_id"].nunique() and "technical_score" in wide


def test_demo_recovers_the_planted_skills(demo_data, demo_scores) -> None:
    # demo has 20 reps: the stated bounds are looser than the tier-M ones
    # (Spearman >= 0.8, coverage >= 85%; see test_tier_m.py and bench/bench_capability.py)
    _, truth = demo_data
    rec = recovery(demo_scores, truth.rep_skills).set_index("scenario")
    assert (rec["spearman"] >= 0.9).all(), rec
    assert (rec["coverage"] >= 0.75).all(), rec
    assert (rec["reps"] == 20).all()


def test_shrinkage_pulls_toward_the_average_and_widens_with_less_evidence(demo_data) -> None:
    data, truth = demo_data
    r = capability_scores(data, window=30)  # a month: few events per rep
    tab = r.table[r.table["raw"].notna()]
    assert (tab["score"].abs() <= tab["raw"].abs() + 1e-12).all()
    assert (tab["score_sd"] <= tab["raw_sd"] + 1e-12).all()
    # the fewer the events, the wider the interval
    for _, g in tab.groupby("scenario"):
        rho = pd.Series(g["evidence"].to_numpy()).corr(
            pd.Series(g["score_sd"].to_numpy()), method="spearman"
        )
        assert rho < -0.3
    assert r.table["low_evidence"].any()
    rec = recovery(r, truth.rep_skills)
    # on a month of data, shrinking beats the unshrunk estimate overall
    assert (rec["rmse_shrunk"] < rec["rmse_raw"]).all(), rec


def test_as_of_uses_only_what_was_known(demo_data) -> None:
    data, _ = demo_data
    ts = pd.Timestamp("2026-06-01")
    a = capability_scores(data, as_of=ts, window=180)
    # the same data with everything after the cut-off physically removed
    cut = data.replace(
        collab_events=data.collab_events[data.collab_events["occurred_at"] <= ts],
        activities=data.activities[data.activities["occurred_at"] <= ts],
    )
    b = capability_scores(cut, as_of=ts, window=180)
    pd.testing.assert_frame_equal(a.table, b.table)
    assert a.as_of == ts and a.end == ts
    later = capability_scores(data, window=180)
    assert not np.allclose(a.table["score"], later.table["score"])


def test_difficulty_adjustment_does_not_penalise_a_harder_book(demo_data) -> None:
    data, _ = demo_data
    base = capability_scores(data)
    # key accounts become much harder: every colleague response on them takes 4x longer
    ce = data.collab_events.copy()
    seg = data.deals.set_index("deal_id")["customer_id"].map(
        data.customers.set_index("customer_id")["segment"]
    )
    key = (
        ce["deal_id"].map(seg).eq("key_account").to_numpy() & (ce["kind"] == "response").to_numpy()
    )
    req_t = ce.set_index("event_id")["occurred_at"]
    asked = ce.loc[key, "request_id"].map(req_t).to_numpy()
    ce.loc[key, "occurred_at"] = asked + 4 * (ce.loc[key, "occurred_at"].to_numpy() - asked)
    harder = capability_scores(data.replace(collab_events=ce))
    t0 = base.table[base.table["scenario"] == "technical"]
    t1 = harder.table[harder.table["scenario"] == "technical"]
    # a naive mean of log response hours moves each rep by log(4) x their key-account share
    resp = ce[ce["kind"] == "response"]
    share = resp["deal_id"].map(seg).eq("key_account").groupby(resp["actor_id"]).mean()
    before = data.collab_events
    b_resp = before[before["kind"] == "response"]
    b_hrs = (b_resp["occurred_at"] - b_resp["request_id"].map(req_t)).dt.total_seconds()
    naive_sd = np.log(b_hrs).groupby(b_resp["actor_id"]).mean().std()
    naive_move = (np.log(4) * share / naive_sd).reindex(t0["rep_id"]).to_numpy()
    moved = (t1["timeliness"].to_numpy() - t0["timeliness"].to_numpy()) / t0["timeliness"].std()
    # relative to the spread of reps, the naive score moves reps apart, ours does not
    assert np.ptp(naive_move) > 0.15
    assert np.ptp(moved) < 0.3 * np.ptp(naive_move), (np.ptp(moved), np.ptp(naive_move))
    assert np.abs(t1["score"].to_numpy() - t0["score"].to_numpy()).max() < 0.1


def test_filters_restrict_deals_and_reps(demo_data) -> None:
    data, _ = demo_data
    team = data.reps["team"].iloc[5]
    r = capability_scores(data, filters={"team": team})
    assert set(r.table["team"]) == {team}
    seg = capability_scores(data, filters={"segment": "key_account"})
    assert seg.table["evidence"].sum() < capability_scores(data).table["evidence"].sum()
    assert any(n.key == "capability.note.filtered" for n in seg.notes)


@pytest.mark.parametrize("window", [0, -3, "soon", 10**6, True])
def test_bad_window_is_refused(demo_data, window) -> None:
    data, _ = demo_data
    with pytest.raises(ValueError, match="window"):
        capability_scores(data, window=window)
