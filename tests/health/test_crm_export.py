"""Deal health on a deals-only CRM export (issue 8): leak guard, honest model, missing tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from crm_export import crm_export

from salesml.health import (
    DealHealthModel,
    build_features,
    deal_snapshots,
    health_baselines,
    health_signals,
    weekly_health,
)


@pytest.fixture(scope="module")
def crm():
    return crm_export()


@pytest.fixture(scope="module")
def crm_weekly(crm):
    return weekly_health(crm, period="2017-12")


def test_leak_guard_names_the_realised_amount_and_leaves_it_out(crm_weekly):
    m = crm_weekly.model
    leaks = {w.feature: w.auc for w in m.leaks_}
    # amount 0 for every lost deal: the amount alone separates won from lost
    assert leaks.get("log_amount", 0) >= 0.95
    assert "log_amount" not in m.features_ and m.unavailable_["log_amount"] == "leak"
    en = " ".join(crm_weekly.card.key_findings("en"))
    assert "Amount alone separates won from lost on the training data" in en
    assert "must be known before the outcome" in en
    zh = " ".join(crm_weekly.card.key_findings("zh"))
    assert "仅凭「金额」就能在训练数据上区分赢单与输单" in zh
    # the same sentence on the card table the report prints
    assert crm_weekly.card.rows("en")["value"].str.contains("Amount alone separates").any()


def test_leak_guard_keep_keeps_the_feature_and_still_warns(crm):
    snaps = deal_snapshots(
        crm, as_of=pd.date_range("2016-11-07", "2017-09-25", freq="W-MON"), fingerprint=False
    )
    m = DealHealthModel(leak_guard="keep").fit(snaps.loc[snaps["label"].notna()])
    assert "log_amount" in m.features_
    assert any("scores that use it overstate" in n.text("en") for n in m.card_notes())
    # reasons quote money in the dataset's currency (USD), never a hard-coded ¥
    closed = snaps.loc[snaps["amount"].notna()].head(200)
    ex = m.explain(closed, top=len(m.contributions(closed.head(1)).columns))
    amounts = ex.loc[ex["reason"] == "log_amount", "phrase"]
    assert len(amounts) and amounts.str.match(r"^amount \$[\d,]+$").all()
    assert not ex["phrase"].str.contains("¥").any()


def test_a_model_that_does_not_beat_the_baseline_says_so_first_and_steps_aside(crm, crm_weekly):
    wk = crm_weekly
    v = wk.card.verdict
    assert v.status == "use_baseline" and v.baseline == "stage_baseline"
    # the comparison it rests on: the pooled backtest on held-out time
    m = wk.backtest.table.set_index("model")
    assert m.loc["model", "auc"] <= m.loc["stage_baseline", "auc"] + 0.1
    first = wk.key_findings("en")[0]
    assert first.startswith("⚠ The model does not beat the baseline Stage win rate")
    assert "the scores shown are the baseline's" in first
    assert "too few features" in wk.key_findings("en")[1]
    assert wk.card.rows("en")["item"].iloc[0] == "verdict"
    assert wk.key_findings("zh")[0].startswith("⚠ 在时间外样本上模型没有超过基线「阶段历史赢率」")
    # and the scores are the baseline's, fit on the same training rows
    now = build_features(crm.as_of(wk.as_of), as_of=wk.as_of)
    expected = health_baselines()["stage_baseline"].fit(wk.fit.training).predict(now)
    got = wk.scored.set_index("deal_id")["win_prob"].reindex(now["deal_id"]).to_numpy()
    assert np.allclose(got, expected)
    assert (wk.scored["scored_by"] == "stage_baseline").all()
    assert not wk.scored["reliable"].any()


def test_the_card_names_the_features_it_could_not_compute_and_the_missing_table(crm_weekly):
    text = crm_weekly.card.key_findings("en")
    by_table = {
        table: next(x for x in text if f"the dataset has no {table} table" in x)
        for table in ("activities", "quotes", "collab_events")
    }
    assert "Days since last activity" in by_table["activities"]
    assert "Viewed quote unanswered (h)" in by_table["quotes"]
    assert "Plan revisions" in by_table["collab_events"]
    # one line per missing table or column, not one per feature
    assert sum("could not be computed" in x.lower() for x in text) == 5
    assert any("the customers table has no tier column: Customer tier" in x for x in text)
    assert any("the customers table has no source_channel column: Channel" in x for x in text)
    zh = crm_weekly.card.key_findings("zh")
    assert any("数据集中没有 activities 表，无法计算：" in x and "、" in x for x in zh)


def test_rule_signals_of_missing_tables_are_unavailable_not_false(crm):
    feats = build_features(crm, as_of="2017-12-01")
    sig = health_signals(feats)
    rules = ["plan_revised_often", "terms_adjusted_often", "no_recent_activity"]
    rules += ["quote_viewed_no_reply", "stalled_in_stage"]
    for r in rules:
        assert sig[r].isna().all(), r  # <NA>: not computable, never False
    assert (sig["n_unavailable"] == 5).all() and (sig["n_signals"] == 0).all()
    assert sig.attrs["unavailable"]["no_recent_activity"] == "table:activities"
    assert sig.attrs["unavailable"]["stalled_in_stage"] == "table:stage_history"
    assert (sig["signal_text"] == "").all()


def test_the_review_runs_on_deals_reps_and_customers_only(crm_weekly):
    wk = crm_weekly
    assert set(wk.fit.model.features_) >= {"stage_index", "age_days", "rep_win_rate"}
    assert wk.model.currency_ == "USD"
    assert len(wk.scored) == int((wk.scored["band"].notna()).sum()) > 0
    assert wk.by_region["open_deals"].sum() == len(wk.scored)


@pytest.mark.slow
def test_the_report_runs_on_a_deals_only_folder(crm, tmp_dataset, tmp_path):
    from salesml.reports import run_report

    # today's loader still wants a source channel and quarantines open deals without an
    # amount (the data layer's part of issue 8); the report runs on what is left
    folder = tmp_dataset(crm.replace(customers=crm.customers.assign(source_channel="unknown")))
    for lang in ("en", "zh"):
        r = run_report(
            "deal_health_weekly",
            {"dataset": str(folder), "period": "2017-12", "lang": lang},
            tmp_path,
        )
        assert r.ok
        page = r.html.read_text(encoding="utf-8")
        if lang == "en":
            assert "Amount alone separates won from lost" in page
            assert "the dataset has no activities table" in page
            assert page.index("Before reading the scores") < page.index("Model card")
        else:
            assert "数据集中没有 activities 表" in page
