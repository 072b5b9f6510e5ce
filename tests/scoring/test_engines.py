"""Every engine keeps the Engine contract; the base model works for a non-deal configuration."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.stats import spearmanr
from scoring_toy import LeadModel, lead_snapshots

from salesml.scoring import (
    ENGINES,
    Engine,
    FeatureMismatchError,
    InsufficientDataError,
    LightGBMEngine,
    LogisticEngine,
    classification_metrics,
)
from salesml.scoring.engines import engine_from_dict


def _xy(n: int = 2000, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    X[rng.random(n) < 0.1, 2] = np.nan  # engines accept missing values
    y = (rng.random(n) < 1 / (1 + np.exp(-(1.5 * X[:, 0] - X[:, 1])))).astype(float)
    return X, y


@pytest.mark.parametrize("name", sorted(ENGINES))
def test_engine_contract(name: str) -> None:
    X, y = _xy()
    engine = ENGINES[name]().fit(X, y, columns=["a", "b", "c"])
    assert isinstance(engine, Engine)
    raw = engine.predict_raw(X)
    assert raw.shape == (len(X),) and np.isfinite(raw).all()
    contrib = engine.contributions(X)
    assert contrib.shape == (len(X), 4)
    assert np.allclose(contrib.sum(axis=1), raw, atol=1e-6)  # additive, bias last
    assert classification_metrics(y, 1 / (1 + np.exp(-raw)))["auc"] > 0.75
    d = engine.to_dict()
    json.dumps(d)  # JSON-ready, nothing pickled
    back = engine_from_dict(json.loads(json.dumps(d)), engine.files())
    assert np.allclose(back.predict_raw(X), raw)
    se = engine.raw_std_error(X)
    if name == "logistic":
        assert se is not None and (se > 0).all()
    else:
        assert se is None


def test_lightgbm_monotone_constraint_holds() -> None:
    X, y = _xy()
    engine = LightGBMEngine(monotone={"b": -1}).fit(X, y, columns=["a", "b", "c"])
    grid = np.tile(X[:50], (21, 1))
    grid[:, 1] = np.repeat(np.linspace(-3, 3, 21), 50)
    raw = engine.predict_raw(grid).reshape(21, 50)
    assert (np.diff(raw, axis=0) <= 1e-9).all()


def test_logistic_log_columns_and_unknown_engine() -> None:
    X, y = _xy()
    X = np.abs(X)
    e = LogisticEngine(log_columns=["a"]).fit(X, y, columns=["a", "b", "c"])
    assert e.to_dict()["settings"]["log_columns"] == ["a"]
    with pytest.raises(ValueError, match="unknown engine"):
        engine_from_dict({"name": "xgboost"}, {})


def test_base_model_scores_a_lead_configuration(leads, lead_model) -> None:
    m = lead_model
    assert m.engine_ == "lightgbm" and m.n_closed_ == 1500
    assert m.currency_ == "EUR" and m.data_fingerprint_ == "toy"
    sc = m.score(leads.iloc[:300])
    assert list(sc.index) == list(leads.index[:300])
    assert {"lead_id", "as_of", "channel", "win_prob", "low", "high", "potential", "band"} <= set(
        sc.columns
    )
    assert ((sc["low"] <= sc["win_prob"]) & (sc["win_prob"] <= sc["high"])).all()
    rho = spearmanr(m.predict_proba(leads), leads["p_true"]).statistic
    assert rho > 0.8
    c = m.contributions(leads.iloc[:50])
    assert set(c.columns) == {"response_hours", "visits", "noise", "channel", "bias"}
    assert np.allclose(c.sum(axis=1), m.decision_function(leads.iloc[:50]))
    card = m.summary().set_index("item")["value"]
    assert card["engine"] == "lightgbm" and card["labelled rows"] == "1500"
    assert "LeadModel" in m._repr_html_()


def test_small_data_and_refusals() -> None:
    few = lead_snapshots(n_leads=120, seed=3)
    m = LeadModel().fit(few)
    assert m.engine_ == "logistic"
    assert m.features_ == ["response_hours", "visits"]
    assert any(n.key == "scoring.note.small_data" for n in m.notes_)
    iv = m.predict_interval(few)
    assert ((iv["low"] < iv["win_prob"]) & (iv["win_prob"] < iv["high"])).all()
    with pytest.raises(InsufficientDataError, match="at least 60"):
        LeadModel().fit(lead_snapshots(n_leads=40))
    with pytest.raises(InsufficientDataError, match="both won and not-won"):
        LeadModel().fit(few.assign(label=0.0))
    with pytest.raises(FeatureMismatchError, match="visits"):
        m.predict_proba(few.drop(columns=["visits"]))
    with pytest.raises(ValueError, match="unknown feature"):
        LeadModel(features=["visits", "shoe_size"]).fit(lead_snapshots())
    with pytest.raises(RuntimeError, match="not fitted"):
        LeadModel().predict_proba(few)
