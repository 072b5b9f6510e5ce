"""Deal health: leak-free snapshots, signals, model, reasons, persistence, backtest, truth."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from health_tiny import tiny_data
from scipy.stats import spearmanr

from salesml.health import (
    DealHealthModel,
    FeatureMismatchError,
    InsufficientDataError,
    backtest,
    build_features,
    classification_metrics,
    deal_snapshots,
    expected_calibration_error,
    health_signals,
    interventions,
    load_signal_rules,
    stage_win_rate,
)
from salesml.plotting.health import calibration_curve, reason_waterfall, score_distribution
from salesml.rules.expr import ExpressionError

# --------------------------------------------------------------------------- snapshots


def test_tiny_snapshot_features_by_hand():
    s = deal_snapshots(tiny_data(), as_of=["2025-01-25", "2025-02-26"], horizon_days=30)
    d3 = s.loc[(s["deal_id"] == "D3")].iloc[0]
    assert d3["stage"] == "needs_analysis"
    assert d3["days_in_stage"] == pytest.approx(6.0)
    assert d3["plan_revisions"] == 2  # E3 and E4 are before 2025-02-26
    assert d3["terms_revisions"] == 1
    # quote Q3 viewed 02-13, replied only 03-10: at 02-26 it waits 13 days = 312 h
    assert d3["quote_unanswered_hours"] == pytest.approx(312.0)
    # message A5 on 02-10 answered 03-01: unanswered at the snapshot
    assert d3["unanswered_messages"] == 1
    assert np.isnan(d3["label"])  # horizon not over at the end of the data
    d1 = s.loc[(s["deal_id"] == "D1") & (s["as_of"] == pd.Timestamp("2025-01-25"))].iloc[0]
    assert d1["reply_delay_hours_mean"] == pytest.approx(5.0)
    assert d1["label"] == 0.0  # won on 03-01, after the 30-day horizon
    assert d1["label_known_at"] == pd.Timestamp("2025-02-24")
    d1b = s.loc[(s["deal_id"] == "D1") & (s["as_of"] == pd.Timestamp("2025-02-26"))].iloc[0]
    assert d1b["label"] == 1.0
    assert d1b["quote_amount_change"] == pytest.approx(-0.1)
    # R001 lost D2 on 02-20: the only closed deal of that rep at 02-26
    assert d1b["rep_closed_deals"] == 1


def test_no_leakage_features_equal_with_or_without_future(demo):
    data, _ = demo
    for when in ("2025-12-15", "2026-05-04"):
        full = build_features(data, as_of=when)
        cut = build_features(data.as_of(when), as_of=when)
        pd.testing.assert_frame_equal(full, cut)
    snaps = deal_snapshots(data, as_of=["2026-03-02"], fingerprint=False)
    again = deal_snapshots(data.as_of("2026-03-02"), as_of=["2026-03-02"], fingerprint=False)
    feats = [
        c
        for c in snaps.columns
        if c not in ("label", "label_known_at", "final_outcome", "closed_at")
    ]
    pd.testing.assert_frame_equal(snaps[feats], again[feats])


def test_snapshots_only_open_deals_and_labels(demo, demo_snapshots):
    data, _ = demo
    s = demo_snapshots
    assert not s.duplicated(["as_of", "deal_id"]).any()
    d = data.deals.set_index("deal_id")
    created = d.loc[s["deal_id"], "created_at"].to_numpy()
    assert (created <= s["as_of"].to_numpy()).all()
    closed = d.loc[s["deal_id"], "closed_at"]
    assert not (closed.to_numpy() <= s["as_of"].to_numpy()).any()
    known = s["label"].notna()
    assert (s.loc[known, "label_known_at"] > s.loc[known, "as_of"]).all()
    won_in = (s["final_outcome"] == "won") & (s["closed_at"] <= s["as_of"] + pd.Timedelta(days=90))
    assert (s.loc[known, "label"] == won_in[known].astype(float)).all()


# --------------------------------------------------------------------------- signals


def test_signals_thresholds_and_phrases(demo_snapshots):
    s = demo_snapshots
    sig = health_signals(s)
    assert (sig["plan_revised_often"] == (s["plan_revisions"] > 3)).all()
    assert (sig["terms_adjusted_often"] == (s["terms_revisions"] >= 3)).all()
    assert (sig["quote_viewed_no_reply"] == (s["quote_unanswered_hours"] > 48)).all()
    assert (sig["no_recent_activity"] == (s["days_since_activity"] >= 14)).all()
    row = sig.index[sig["plan_revised_often"]][0]
    n = int(s.loc[row, "plan_revisions"])
    # each fired signal reads as a list item: a capital first letter in English
    assert f"Technical plan revised {n} times" in sig.loc[row, "signal_text"]
    zh = health_signals(s.loc[[row]], lang="zh")
    assert f"技术方案已修改 {n} 次" in zh.loc[row, "signal_text"]
    assert (sig["signal_text"] == "").sum() == (sig["n_signals"] == 0).sum()


def test_signal_rules_are_parsed_safely():
    with pytest.raises(ExpressionError):
        load_signal_rules([{"name": "evil", "when": "__import__('os').system('true')"}])
    with pytest.raises(ValueError, match="severity"):
        load_signal_rules([{"name": "x", "when": "plan_revisions > 1", "severity": "huge"}])
    rules = load_signal_rules("signals:\n  - name: busy\n    when: touches_30d >= 20\n")
    assert [r.name for r in rules] == ["busy"]


# --------------------------------------------------------------------------- model


def test_predict_keeps_index_scores_and_bands(fitted, split):
    _, test = split
    sub = test.iloc[::7]
    sub.index = [f"k{i}" for i in range(len(sub))]
    p = fitted.predict_proba(sub)
    assert list(p.index) == list(sub.index)
    assert ((p > 0) & (p < 1)).all()
    sc = fitted.score(sub)
    assert list(sc.index) == list(sub.index)
    assert np.allclose(sc["health_score"], (100 * p).round(1))
    assert set(sc["band"]) <= {"at_risk", "watch", "healthy"}
    assert (sc.loc[sc["health_score"] < 25, "band"] == "at_risk").all()
    assert ((sc["low"] <= sc["win_prob"]) & (sc["win_prob"] <= sc["high"])).all()
    card = fitted.summary().set_index("item")["value"]
    assert card["engine"] == "lightgbm"
    assert "lightgbm" in fitted._repr_html_()


def test_reason_codes_sum_to_log_odds_and_read_well(fitted, split):
    _, test = split
    sub = test.iloc[:50]
    c = fitted.contributions(sub)
    assert np.allclose(c.sum(axis=1), fitted.decision_function(sub), atol=1e-6)
    ex = fitted.explain(sub, top=5)
    assert (ex.groupby("row").size() == 5).all()
    # ranked by absolute contribution within each deal
    for _, g in ex.groupby("row"):
        assert (np.diff(g["contribution"].abs().to_numpy()) <= 1e-12).all()
    row = test.index[test["plan_revisions"] > 3][0]
    one = fitted.explain(test.loc[[row]], top=30)
    phrase = one.loc[one["reason"] == "plan_revisions", "phrase"].iloc[0]
    assert phrase == f"{int(test.loc[row, 'plan_revisions'])} technical plan revisions"
    act = fitted.explain(sub, top=3, scope="actionable")
    assert (act["kind"] == "deal").all()


@pytest.mark.filterwarnings("ignore:LightGBM binary classifier:UserWarning")
def test_pred_contrib_equals_shap_tree_explainer(fitted, split):
    shap = pytest.importorskip("shap")
    _, test = split
    X = fitted.encoder_.transform(test.iloc[:40])
    booster = fitted.engine_model_.booster_
    ours = booster.predict(X, pred_contrib=True)
    sv = shap.TreeExplainer(booster).shap_values(X)
    sv = sv[1] if isinstance(sv, list) else sv
    assert np.allclose(ours[:, :-1], sv, atol=1e-6)


def test_save_load_round_trip(fitted, split, tmp_path):
    _, test = split
    sub = test.iloc[:200]
    fitted.save(tmp_path / "m")
    back = DealHealthModel.load(tmp_path / "m")
    assert np.allclose(back.predict_proba(sub), fitted.predict_proba(sub))
    assert back.explain(sub, top=3).equals(fitted.explain(sub, top=3))
    assert back.features_ == fitted.features_
    assert back.training_window_ == fitted.training_window_
    card = back.summary().set_index("item")["value"]
    assert card["salesml version"] == fitted.salesml_version_


def test_scoring_with_mismatched_features_is_refused(fitted, split):
    _, test = split
    with pytest.raises(FeatureMismatchError, match="plan_revisions"):
        fitted.predict_proba(test.drop(columns=["plan_revisions"]))
    bad = test.iloc[:5].assign(touches_30d="many")
    with pytest.raises(FeatureMismatchError, match="touches_30d"):
        fitted.score(bad)


def test_single_class_and_tiny_data_give_clear_errors(split):
    train, _ = split
    with pytest.raises(InsufficientDataError, match="both won and not-won"):
        DealHealthModel().fit(train.assign(label=1.0))
    few = train.loc[train["deal_id"].isin(train["deal_id"].unique()[:30])]
    with pytest.raises(InsufficientDataError, match="at least 60"):
        DealHealthModel().fit(few)
    with pytest.raises(InsufficientDataError):
        DealHealthModel().fit(deal_snapshots(tiny_data(), as_of=["2025-01-25"], horizon_days=30))


def test_small_data_falls_back_to_logistic_with_intervals(split):
    train, test = split
    # the stated minimum: 60 labelled deals (measured AUC 0.75-0.78 over three samples)
    ids = pd.Series(train["deal_id"].unique()).sample(60, random_state=1)
    small = train.loc[train["deal_id"].isin(ids)]
    m = DealHealthModel().fit(small)
    assert m.engine_ == "logistic"
    assert any("small data" in n.text("en") for n in m.notes_)
    iv = m.predict_interval(test.iloc[:300])
    assert ((iv["low"] < iv["win_prob"]) & (iv["win_prob"] < iv["high"])).all()
    # the small model still ranks held-out deals better than chance
    met = classification_metrics(test["label"].to_numpy(), m.predict_proba(test).to_numpy())
    assert met["auc"] > 0.6
    ex = m.explain(test.iloc[:20], top=3)
    assert len(ex) == 60


# --------------------------------------------------------------------------- held-out quality
# Bounds from measurements on the demo tier (seeds 0-2; bench/README.md "deal health"):
# AUC lift over the stage baseline 0.21-0.23 (bound 0.10), ECE 0.058-0.082 (isotonic on
# ~2,300 calibration rows; bound 0.12), Spearman vs truth on held-out snapshots
# 0.69-0.79 (bound 0.65; see the README for why it stays below the M target of 0.8),
# plan revisions > 3 among the top-3 actionable reasons for 71-99% of those deals
# (bound 0.55). Over all reasons that share is 7-97% at demo size, so it is checked at
# M in the bench, not here.


def test_calibrated_and_beats_stage_baseline_on_held_out_time(fitted, split):
    train, test = split
    y = test["label"].to_numpy()
    p = fitted.predict_proba(test).to_numpy()
    ours = classification_metrics(y, p)
    stage = classification_metrics(y, stage_win_rate(train, test))
    assert ours["auc"] >= stage["auc"] + 0.10
    assert ours["ece"] <= 0.12
    assert ours["brier"] < stage["brier"]
    assert expected_calibration_error(y, p) == pytest.approx(ours["ece"])


def test_truth_spearman_and_plan_revision_reasons(demo, fitted, split):
    _, truth = demo
    _, test = split
    p = fitted.predict_proba(test)
    rho = spearmanr(p, truth.win_prob_at(test)).statistic
    assert rho >= 0.65
    act = test.loc[test["plan_revisions"] > 3]
    ex = fitted.explain(act, top=3, scope="actionable")
    share = ex.groupby("row")["reason"].apply(lambda r: "plan_revisions" in set(r)).mean()
    assert share >= 0.55


@pytest.mark.slow
def test_backtest_two_origins_against_baselines(demo, demo_snapshots):
    data, _ = demo
    bt = backtest(data, start="2026-05-01", end="2026-08-01", freq="3MS", snapshots=demo_snapshots)
    m = bt.metrics.set_index("model")
    assert set(m.index) == {"model", "stage_baseline", "rules_baseline"}
    assert bt.by_origin["origin"].nunique() == 2
    # the bar (0.05 above the stage baseline); measured 0.087-0.095 at demo once the
    # simulator stopped letting lost deals go quiet before closing (an outcome leak)
    assert bt.auc_lift >= 0.05
    assert m.loc["model", "ece"] <= 0.12
    assert m.loc["model", "brier"] < m.loc["rules_baseline", "brier"]
    assert {"mean_pred", "observed", "n"} <= set(bt.calibration.columns)
    assert "AUC lift" in bt._repr_html_()
    fig = calibration_curve(bt.calibration, lang="zh")
    assert len(fig.data) == 5  # the diagonal, three predictors, the bin counts


# --------------------------------------------------------------------------- director list, plots


def test_interventions_list(fitted, demo):
    data, _ = demo
    now = build_features(data, as_of="2026-10-26")
    before = build_features(data, as_of="2026-10-19")
    scored = fitted.score(now)
    todo = interventions(scored, fitted.explain(now, top=5), previous=fitted.score(before))
    assert len(todo)
    assert todo["priority"].tolist() == list(range(1, len(todo) + 1))
    assert set(todo["band"]) <= {"at_risk", "watch", "healthy"}
    assert (todo.loc[~todo["escalate"], "band"] != "healthy").all()
    hv = scored["amount"].quantile(0.8)
    esc = todo.loc[todo["escalate"]]
    assert ((esc["amount"] >= hv) & (esc["change"] <= -10)).all()
    assert esc["suggested_action"].str.startswith("Escalate").all()
    assert (todo["top_reasons"] != "").all()
    zh = interventions(scored, fitted.explain(now, top=5, lang="zh"), lang="zh")
    assert zh["suggested_action"].str.contains("[\u4e00-\u9fff]").all()


def test_plots_build(fitted, split):
    _, test = split
    sub = test.iloc[:100]
    sc = fitted.score(sub)
    assert len(score_distribution(sc, by="region").data) == sc["region"].nunique()
    c = fitted.contributions(sub.iloc[:1]).iloc[0]
    fig = reason_waterfall(
        c, deal_id=sub["deal_id"].iloc[0], health_score=sc["health_score"].iloc[0]
    )
    assert fig.data[0].x[0] == pytest.approx(c["bias"])


@pytest.fixture(scope="module")
def weekly(demo):
    from salesml.health import weekly_health

    data, _ = demo
    return weekly_health(
        data, as_of="2026-10-25 23:59", filters={"region": "华东"}, backtest_origins=1
    )


@pytest.mark.slow
def test_weekly_health_review(weekly):
    from salesml.results import AnalysisResult

    wk = weekly
    assert isinstance(wk, AnalysisResult) and wk.table is wk.scored
    assert wk.model.training_window_[1] < wk.as_of
    assert set(wk.scored["region"]) == {"华东"}
    assert len(wk.actions) and wk.actions["deal_id"].isin(wk.scored["deal_id"]).all()
    # movers: biggest moves first, change = score - previous
    assert (np.diff(wk.movers["change"].abs().to_numpy()) <= 1e-9).all()
    assert np.allclose(wk.movers["health_score"] - wk.movers["previous"], wk.movers["change"])
    assert wk.by_region["open_deals"].sum() == len(wk.scored)
    assert wk.backtest is not None and len(wk.backtest.metrics) == 3
    assert "open deals" in wk._repr_html_()
    assert wk.filters.get("region") == ("华东",)


@pytest.mark.slow
def test_one_fingerprint_for_one_dataset(demo, weekly):
    """Issue 10 item 12: the card carries the fingerprint a report header shows (the data's,
    not that of the data cut at the review instant, which the card used to show)."""
    data, _ = demo
    card = weekly.card.rows("en").set_index("item")["value"]
    assert card["data fingerprint"] == data.fingerprint()
    assert data.as_of(weekly.as_of).fingerprint() != data.fingerprint()
    assert weekly.model.data_fingerprint_ == data.fingerprint()


@pytest.mark.slow
def test_card_says_first_when_calibration_is_worse_than_every_baseline(weekly):
    """Issue 10 item 12: whatever the verdict, it is the card's first line, and a calibration
    error worse than both baselines' is said in words."""
    m = weekly.backtest.table.set_index("model")
    rows = weekly.card.rows("en")
    assert rows["item"].iloc[0] == "verdict"
    worse = (m.loc["model", "ece"] > m.drop(index="model")["ece"]).all()
    first = weekly.key_findings("en")[0]
    if worse:
        assert weekly.card.verdict.status in ("calibration_worse", "use_baseline")
        assert f"{m.loc['model', 'ece']:.3f}" in first
    else:
        assert weekly.card.verdict.status in ("ok", "use_baseline")
    # the calibration curve labels every point with its bin's count
    fig = calibration_curve(weekly.backtest.calibration)
    model_trace = next(tr for tr in fig.data if tr.name == "Health model")
    n = weekly.backtest.calibration.query("model == 'model'")["n"]
    assert list(model_trace.text) == [f"n={int(v):,}" for v in n]
    assert any(getattr(tr, "yaxis", None) == "y2" for tr in fig.data)


@pytest.mark.slow
def test_action_reasons_show_what_hurts_first_and_mark_what_helps(weekly):
    """Issue 10 item 11."""
    at_risk = weekly.actions.loc[weekly.actions["band"] == "at_risk", "top_reasons"]
    assert len(at_risk)
    for text in at_risk:
        items = text.split("; ")
        marks = [i[0] for i in items]
        assert set(marks) <= {"▼", "▲"}
        assert marks == sorted(marks, key=lambda m: m != "▼")  # hurts first
        assert all(i[2].isupper() or i[2].isdigit() for i in items)  # a capital after "; "
    assert at_risk.str.startswith("▼").mean() > 0.9
    singular = r"(?<![\d.,])1 (?:activities|visits|days|touches|customer messages)\b"
    assert not weekly.actions["top_reasons"].str.contains(singular, regex=True).any()


def test_reason_grammar_and_chinese_punctuation(fitted, split):
    _, test = split
    one = test.iloc[:40].assign(n_activities=1.0, touches_30d=1.0, unanswered_messages=1.0)
    ex = fitted.explain(one, top=30)
    by = ex.set_index(["row", "reason"])["phrase"]
    row = one.index[0]
    assert by[(row, "n_activities")] == "1 activity so far"
    assert by[(row, "touches_30d")] == "1 touch in the last 30 days"
    assert by[(row, "unanswered_messages")] == "1 customer message unanswered"
    zh = fitted.explain(one.iloc[:5], top=5, lang="zh", scope="actionable")
    scored = fitted.score(one.iloc[:5])
    todo = interventions(scored, zh, include=("at_risk", "watch", "healthy"), lang="zh")
    assert todo["top_reasons"].str.contains("；").all()
    assert not todo["top_reasons"].str.contains("; ").any()


def test_actions_mapping_is_checked():
    from salesml.health import load_actions

    with pytest.raises(ValueError, match="reasons"):
        load_actions({"actions": [{"en": "call them"}]})
    acts = load_actions(
        {"actions": [{"reasons": ["plan_revisions"], "en": "freeze", "zh": "冻结"}]}
    )
    assert acts["by_reason"]["plan_revisions"]["zh"] == "冻结"
