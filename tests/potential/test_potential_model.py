"""PotentialModel against the planted lead quality, its card, reasons, saving, small data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

from salesml.data.bundle import SalesData
from salesml.potential import (
    AccountPotentialModel,
    PotentialModel,
    account_snapshots,
    backtest,
    fit_as_of,
    lead_features,
    lead_snapshots,
)
from salesml.scoring import InsufficientDataError, model_card

AS_OF = pd.Timestamp("2026-06-01")


@pytest.fixture(scope="module")
def fitted(quality_demo):
    data, _ = quality_demo
    return fit_as_of(data, kind="lead", as_of=AS_OF, history_days=365)


@pytest.mark.slow
def test_backtest_beats_the_channel_baseline_and_tracks_the_planted_probability(
    lead_backtest, quality_demo
) -> None:
    _, truth = quality_demo
    m = lead_backtest.table.set_index("model")
    # demo bounds (measured 0.75 vs 0.65 AUC, ECE 0.023, Spearman 0.72 on 1,500 rows);
    # the bars at tier M are checked by bench/bench_potential.py
    assert lead_backtest.auc_lift >= 0.05
    assert m.loc["model", "auc"] > m.loc["rules_baseline", "auc"]
    assert m.loc["model", "ece"] <= 0.05
    pr = lead_backtest.predictions
    p_true = pr["lead_id"].map(truth.lead_quality["p_convert"])
    assert p_true.notna().all()
    rho = spearmanr(pr["p_model"], p_true).statistic
    rho_channel = spearmanr(pr["p_channel_baseline"], p_true).statistic
    assert rho >= 0.6 and rho > rho_channel + 0.2
    assert lead_backtest.verdict().status in ("ok", "calibration_worse")
    assert lead_backtest.skipped.empty


def test_scores_carry_expected_revenue_and_reasons_in_both_languages(fitted, quality_demo) -> None:
    data, _ = quality_demo
    model = fitted.model
    assert model.engine_ == "lightgbm"
    today = lead_features(data, as_of=AS_OF)
    scored = model.score(today)
    assert scored.index.equals(today.index)
    p = scored["win_prob"]
    assert ((scored["low"] <= p + 1e-12) & (p <= scored["high"] + 1e-12)).all()
    np.testing.assert_allclose(scored["expected_revenue"], p * scored["revenue_if_won"])
    assert (scored["revenue_if_won"] > 0).all()
    # higher-quality signals score higher: high budget above low budget on average
    by_band = p.groupby(today["budget_band"]).mean()
    assert by_band["high"] > by_band["mid"] > by_band["low"]
    for lang in ("en", "zh"):
        ex = model.explain(today.head(40), top=3, lang=lang)
        assert len(ex) == 120
        assert not ex["phrase"].str.contains(r"[{}]|potential\.reason").any()
        assert (ex["phrase"].str.len() > 3).all()
    zh = model.explain(today.head(40), top=3, lang="zh")["phrase"]
    assert zh.str.contains(r"[\u4e00-\u9fff]").all()


def test_the_card_and_saving(fitted, lead_backtest, quality_demo, tmp_path) -> None:
    model = fitted.model
    card = model_card(model, backtest=lead_backtest, as_of=AS_OF)
    items = dict(zip(card.table["item"], card.table["value"], strict=True))
    assert items["engine"] == "lightgbm" and int(items["labelled leads"]) > 1000
    assert float(items["revenue per win"].replace(",", "")) > 0
    rows = card.rows("zh")
    assert "已知结果线索数" in set(rows["item"]) or "labelled leads" in set(card.table["item"])
    model.save(tmp_path / "m")
    back = PotentialModel.load(tmp_path / "m")
    today = lead_features(quality_demo[0], as_of=AS_OF)
    pd.testing.assert_frame_equal(back.score(today), model.score(today))


def test_small_data_path_and_no_outcomes(quality_demo) -> None:
    data, _ = quality_demo
    dates = pd.date_range("2025-07-07", periods=6, freq="W-MON")
    snaps = lead_snapshots(data, as_of=dates, horizon_days=60)
    few = snaps.loc[snaps["lead_id"].isin(snaps["lead_id"].drop_duplicates().head(150))]
    small = PotentialModel().fit(few)
    assert small.engine_ == "logistic"
    assert any(n.key == "scoring.note.small_data" for n in small.card_notes())
    p = small.predict_interval(few)
    assert (p["high"] - p["low"] > 0).all()
    with pytest.raises(InsufficientDataError, match="both won and not-won"):
        PotentialModel().fit(few.assign(label=0.0))
    labelled = few.loc[few["label"].notna()].drop_duplicates("lead_id")
    ids = pd.concat([g.head(10) for _, g in labelled.groupby("label")])["lead_id"]
    with pytest.raises(InsufficientDataError, match="at least 60"):
        PotentialModel().fit(few.loc[few["lead_id"].isin(ids)])


def test_one_channel_still_scores_and_the_baseline_is_the_overall_rate(quality_demo) -> None:
    data, _ = quality_demo
    leads = data.leads.loc[data.leads["channel"] == "online_ads"]
    one = SalesData({**data.tables, "leads": leads}, data.config)
    res = backtest(
        one,
        kind="lead",
        start="2026-03-02",
        end="2026-05-04",
        freq="MS",
        history_start="2025-09-01",
    )
    pr = res.predictions
    assert len(pr) > 150 and pr["channel"].eq("online_ads").all()
    # a single channel: the channel baseline cannot rank (one value per origin) ...
    assert pr.groupby("origin")["p_channel_baseline"].nunique().eq(1).all()
    # ... while the model still ranks leads within the channel
    assert res.auc_lift > 0.05


def test_account_potential(quality_demo) -> None:
    data, _ = quality_demo
    dates = pd.date_range("2025-09-01", "2026-06-01", freq="2W-MON")
    snaps = account_snapshots(data, as_of=dates, horizon_days=90)
    known = snaps.loc[snaps["label_known_at"] <= pd.Timestamp("2026-06-01")]
    model = AccountPotentialModel().fit(known)
    scored = model.score(known.tail(200))
    assert {"customer_id", "expected_revenue", "potential_score"} <= set(scored.columns)
    res = backtest(
        data, kind="account", start="2026-03-02", end="2026-05-04", freq="MS", snapshots=snaps
    )
    assert set(res.table["model"]) == {"model", "segment_baseline", "rules_baseline"}
    m = res.table.set_index("model")["auc"]
    assert m["model"] > 0.55


@pytest.mark.slow
def test_account_model_beats_its_baselines_on_held_out_time(quality_demo) -> None:
    """Eight monthly origins (2025-12 .. 2026-07), fortnightly training snapshots.

    The simulator draws repeat deals at a rate that depends on the segment only, so
    the account's history says little; what it does plant is the owner's skill (and
    the region's breakpoint), which the owner's win rate carries. Measured at demo
    seed 0: AUC 0.611 (logistic engine) against 0.527 rules and 0.484 segment, Brier
    0.0278 against 0.0279, ECE 0.002; verdict ok.
    """
    data, _ = quality_demo
    dates = pd.date_range("2025-06-02", "2026-07-01", freq="2W-MON")
    dates = dates.union(pd.date_range("2025-12-01", "2026-07-01", freq="MS"))
    snaps = account_snapshots(data, as_of=dates, horizon_days=90)
    assert snaps["owner_win_rate"].between(0, 1).all()
    res = backtest(
        data, kind="account", start="2025-12-01", end="2026-07-01", freq="MS", snapshots=snaps
    )
    m = res.table.set_index("model")
    assert set(res.predictions["engine"]) == {"logistic"}
    best = m.drop(index="model")["auc"].max()
    assert m.loc["model", "auc"] >= best + 0.05
    assert m.loc["model", "brier"] <= m.drop(index="model")["brier"].min() + 1e-4
    assert m.loc["model", "ece"] <= 0.01
    assert res.verdict().status == "ok"
