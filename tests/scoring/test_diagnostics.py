"""The leak guard and the verdict against baselines."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from salesml.scoring import FitFacts, judge, leak_check, single_feature_auc


def _metrics(model_auc, model_ece, stage_auc, stage_ece, rules_auc=0.55, rules_ece=0.03, n=2000):
    return pd.DataFrame(
        {
            "model": ["model", "stage_baseline", "rules_baseline"],
            "auc": [model_auc, stage_auc, rules_auc],
            "ece": [model_ece, stage_ece, rules_ece],
            "n": [n, n, n],
        }
    )


def test_leak_check_finds_an_amount_recorded_at_close() -> None:
    rng = np.random.default_rng(0)
    y = (rng.random(3000) < 0.5).astype(float)
    frame = pd.DataFrame(
        {
            "amount": np.where(y == 1, rng.uniform(1000, 9000, 3000), 0.0),
            "only_for_wins": np.where(y == 1, 1.0, np.nan),  # missing exactly when lost
            "honest": rng.normal(size=3000) + 0.8 * y,
            "noise": rng.normal(size=3000),
            "tag": np.where(y == 1, "closed-won", "closed-lost"),
        }
    )
    found = {w.feature: w.auc for w in leak_check(frame, list(frame.columns), y)}
    assert set(found) == {"amount", "only_for_wins", "tag"}
    assert all(a >= 0.95 for a in found.values())
    assert 0.45 < single_feature_auc(frame["noise"], y) < 0.55 + 0.05
    assert single_feature_auc(frame["honest"], y) < 0.95
    assert np.isnan(single_feature_auc(frame["noise"], np.ones(3000)))


def test_verdicts() -> None:
    facts = FitFacts(
        n_features=6, n_features_wanted=29, n_closed=300, n_calibration_rows=400, train_rate=0.45
    )
    # a model no better than the stage baseline (within noise) steps aside
    v = judge(_metrics(0.56, 0.17, 0.57, 0.12), test_rate=0.4, facts=facts)
    assert v.status == "use_baseline" and v.baseline == "stage_baseline"
    assert set(v.causes) == {"few_features", "few_closed"}
    assert not v.reliable
    texts = [n.text("en") for n in v.notes()]
    assert texts[0].startswith("⚠ The model does not beat the baseline Stage win rate")
    assert "0.560" in texts[0] and "0.570" in texts[0]
    assert any("few closed outcomes" in x for x in texts)
    # an edge smaller than the AUC's noise is no edge
    small = judge(_metrics(0.60, 0.05, 0.59, 0.06, n=300), test_rate=0.5)
    assert small.status == "use_baseline"
    # ranks better but worse calibrated than every baseline: kept, said first
    cal = judge(_metrics(0.75, 0.082, 0.66, 0.026, 0.51, 0.031), test_rate=0.45, facts=facts)
    assert cal.status == "calibration_worse" and cal.baseline == "stage_baseline"
    assert "calibration error is worse than every baseline's" in cal.notes()[0].text("en")
    assert "few_calibration_rows" in cal.causes
    ok = judge(_metrics(0.80, 0.01, 0.69, 0.03), test_rate=0.45)
    assert ok.status == "ok" and ok.reliable
    drift = judge(
        _metrics(0.60, 0.2, 0.62, 0.1),
        test_rate=0.7,
        facts=FitFacts(20, 29, 5000, 5000, 0.45),
    )
    assert drift.causes == ("drift",)
    assert judge(None).status == "not_checked"


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_verdict_notes_exist_in_both_languages(lang: str) -> None:
    v = judge(_metrics(0.56, 0.17, 0.57, 0.12), test_rate=0.4, facts=FitFacts(6, 29, 300, 400, 0.2))
    for n in v.notes():
        text = n.text(lang)
        assert "{" not in text and not text.startswith("scoring.")
