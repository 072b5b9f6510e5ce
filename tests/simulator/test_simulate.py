"""The simulator: reproducible, valid, and carrying the truth it claims."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from salesml.data.schema import COST_CATEGORIES, DEFAULT_STAGE_ORDER, TABLE_NAMES
from salesml.data.validate import validate
from salesml.simulator import Truth, simulate, write_simulated


@pytest.fixture(scope="module")
def sim():
    return simulate(preset="demo", seed=3)


def test_same_seed_same_data_other_seed_other_data():
    a, _ = simulate(preset="tiny", seed=5)
    b, _ = simulate(preset="tiny", seed=5)
    c, _ = simulate(preset="tiny", seed=6)
    assert a.fingerprint() == b.fingerprint()
    assert a.fingerprint() != c.fingerprint()


def test_demo_sizes_and_tables(sim):
    data, truth = sim
    assert set(data.tables) == set(TABLE_NAMES)
    assert len(data.reps) == 20
    assert len(data.stores) == 32
    assert 1_700 <= len(data.customers) <= 2_300
    assert 2_800 <= len(data.deals) <= 3_100
    assert 45_000 <= len(data.activities) <= 90_000
    span = data.deals["created_at"].max() - data.deals["created_at"].min()
    assert pd.Timedelta(days=500) < span < pd.Timedelta(days=550)
    assert set(data.costs["category"]) == set(COST_CATEGORIES)
    assert truth.end == pd.Timestamp("2026-11-01")


def test_simulated_data_is_clean(sim):
    data, _ = sim
    report = validate(data)
    assert report.quarantine.empty, report.quarantine.head().to_string()


def test_stage_history_is_consistent_with_deals(sim):
    data, _ = sim
    order = {s: i for i, s in enumerate(DEFAULT_STAGE_ORDER)}
    sh = data.stage_history.assign(k=data.stage_history["stage"].map(order))
    reached = sh.groupby("deal_id")["k"].agg(["min", "max", "count"])
    assert (reached["min"] == 0).all()
    assert (reached["count"] == reached["max"] + 1).all()  # no stage skipped
    last = data.deals.set_index("deal_id")["stage"].map(order)
    assert (reached["max"].reindex(last.index) == last).all()
    won = data.deals.loc[data.deals["outcome"] == "won", "deal_id"]
    assert (reached.loc[won, "max"] == len(DEFAULT_STAGE_ORDER) - 1).all()


def test_planted_breakpoint_shows_in_the_data(sim):
    data, truth = sim
    region = data.deals.merge(data.customers[["customer_id", "region"]], on="customer_id")
    sh = data.stage_history.merge(region[["deal_id", "region", "outcome"]], on="deal_id")
    stage = truth.breakpoint["stage"]
    nxt = DEFAULT_STAGE_ORDER[DEFAULT_STAGE_ORDER.index(stage) + 1]
    at = sh[sh["stage"] == stage]
    decided = at["deal_id"].isin(sh.loc[sh["stage"] == nxt, "deal_id"]) | (at["outcome"] == "lost")
    at = at[decided]
    passed = at["deal_id"].isin(sh.loc[sh["stage"] == nxt, "deal_id"])
    conv = passed.groupby(at["region"]).mean()
    others = conv.drop(truth.breakpoint["region"])
    assert conv[truth.breakpoint["region"]] < others.min() - 0.15
    tc = truth.stage_conversion
    bp = tc[tc["is_breakpoint"]]
    assert len(bp) == 1 and bp["p_true"].iloc[0] < tc.loc[~tc["is_breakpoint"], "p_true"].min()


def test_true_win_probability_is_calibrated_on_early_deals(sim):
    data, truth = sim
    early = data.deals[data.deals["created_at"] < pd.Timestamp("2025-12-01")]
    closed = early[early["outcome"] != "open"]
    assert len(closed) / len(early) > 0.97
    p = truth.deal_win_prob.reindex(closed["deal_id"]).to_numpy()
    won = (closed["outcome"] == "won").to_numpy()
    assert abs(p.mean() - won.mean()) < 0.03
    # and it discriminates: the top quartile of true probability wins far more often
    q = np.quantile(p, [0.25, 0.75])
    assert won[p >= q[1]].mean() > won[p <= q[0]].mean() + 0.25


def test_win_prob_at_uses_the_current_stage(sim):
    data, truth = sim
    open_deals = data.deals[data.deals["outcome"] == "open"]
    p_now = truth.win_prob_at(open_deals)
    p_start = truth.deal_win_prob.reindex(open_deals["deal_id"]).to_numpy()
    assert p_now.index.equals(open_deals.index)
    assert (p_now.to_numpy() >= p_start - 1e-12).all()
    at_first = (open_deals["stage"] == DEFAULT_STAGE_ORDER[0]).to_numpy()
    np.testing.assert_allclose(p_now.to_numpy()[at_first], p_start[at_first])


def test_lead_loss_truth_matches_the_table(sim):
    data, truth = sim
    lost = data.leads[data.leads["status"] == "lost"]
    share = lost["lost_reason"].isna().mean()
    assert truth.lead_loss["unexplained_share"] == pytest.approx(share, abs=1e-12)
    assert 0.2 < share < 0.36
    hours = (data.leads["first_response_at"] - data.leads["created_at"]).dt.total_seconds() / 3600
    assert truth.first_response_hours["median"] == pytest.approx(hours.median(), rel=1e-6)


def test_go_live_improves_first_response(sim):
    data, truth = sim
    leads = data.leads.dropna(subset=["first_response_at"])
    hours = (leads["first_response_at"] - leads["created_at"]).dt.total_seconds() / 3600
    after = leads["created_at"] >= truth.go_live
    # per channel, so the channel mix does not blur the planted -30%
    ratio = (
        hours[after].groupby(leads["channel"]).median()
        / hours[~after].groupby(leads["channel"]).median()
    )
    assert 0.55 < ratio.median() < 0.85


def test_sla_breaches_and_unanswered_quotes_match_tables(sim):
    data, truth = sim
    ap = data.approvals
    waited = (ap["decided_at"].fillna(truth.end) - ap["submitted_at"]).dt.total_seconds() / 3600
    assert set(ap.loc[waited > truth.sla_hours, "approval_id"]) == set(truth.sla_breaches)
    q = data.quotes
    viewed = q["first_viewed_at"].notna()
    late = (q["replied_at"].fillna(truth.end) - q["first_viewed_at"]) > pd.Timedelta(hours=48)
    old = (truth.end - q["first_viewed_at"]) > pd.Timedelta(hours=48)
    assert set(q.loc[viewed & late & old, "quote_id"]) == set(truth.unanswered_quotes)
    paid = data.payments.groupby("contract_id")["amount"].sum()
    k = truth.contract_collection
    assert not set(k.index[k["never_paid"]]) & set(paid.index)
    # the collection list at the end, from the tables: due + 7 days passed, not paid in full
    c = data.contracts.set_index("contract_id")
    due = c["signed_at"] + pd.to_timedelta(c["payment_terms_days"].astype(float), unit="D")
    short = c["amount"] - paid.reindex(c.index).fillna(0.0) > 0.01
    late = due + pd.Timedelta(days=truth.collection_grace_days) <= truth.end
    assert set(c.index[late & short]) == set(truth.unpaid_contracts)
    assert list(truth.unpaid_contracts_at(truth.end)) == list(truth.unpaid_contracts)
    assert (k["due_at"] == due.reindex(k.index)).all()


def test_anomalous_store_stops_scanning_and_overspends(sim):
    data, truth = sim
    store = truth.anomalous_stores["store_id"].iloc[0]
    mm = data.material_movements
    red = mm[
        (mm["kind"] == "redeem") & (mm["occurred_at"] >= truth.anomalous_stores["since"].iloc[0])
    ]
    scanned = red.groupby("store_id")["scanned"].mean()
    assert scanned[store] == 0.0
    assert scanned.drop(store).min() == 1.0
    assert 1.6 < truth.anomalous_stores["cost_ratio"].iloc[0] < 3.5


def test_channel_cac_is_positive_and_varies(sim):
    _, truth = sim
    cac = truth.channel_cac
    assert (cac["acquired_customers"] > 10).all()
    assert np.isfinite(cac["cac"]).all() and (cac["cac"] > 0).all()
    assert cac["cac"].max() / cac["cac"].min() > 1.5  # channels really differ


def test_truth_round_trip(sim, tmp_path):
    _, truth = sim
    truth.save(tmp_path / "truth")
    back = Truth.load(tmp_path / "truth")
    pd.testing.assert_frame_equal(back.channel_cac, truth.channel_cac)
    pd.testing.assert_series_equal(back.deal_win_prob, truth.deal_win_prob)
    assert back.breakpoint == truth.breakpoint
    assert back.go_live == truth.go_live
    assert list(back.sla_breaches) == list(truth.sla_breaches)
    pd.testing.assert_frame_equal(back.contract_collection, truth.contract_collection)
    t = truth.end - pd.Timedelta(days=100)
    assert list(back.unpaid_contracts_at(t)) == list(truth.unpaid_contracts_at(t))


def test_chunked_writer_matches_in_memory(tmp_path):
    from salesml.data.io import load_dataset

    truth = write_simulated(
        tmp_path / "ds", preset="tiny", seed=2, progress=False, chunk_customers=120, partition=None
    )
    data, truth2 = simulate(preset="tiny", seed=2, chunk_customers=120)
    loaded = load_dataset(tmp_path / "ds", progress=False)
    for name in ("deals", "activities", "costs", "customers"):
        pd.testing.assert_frame_equal(
            loaded[name].reset_index(drop=True),
            data[name].reset_index(drop=True),
            check_dtype=False,
        )
    pd.testing.assert_frame_equal(truth.channel_cac, truth2.channel_cac)


def test_unknown_options_are_refused():
    with pytest.raises(ValueError, match="unknown preset"):
        simulate(preset="XL")
    with pytest.raises(TypeError, match="n_dealz"):
        simulate(preset="tiny", n_dealz=3)
