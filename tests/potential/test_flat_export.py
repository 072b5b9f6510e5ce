"""A flat marketing-automation lead export: imported by mapping, scored by cross-validation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

from salesml.data.bundle import SalesData
from salesml.data.io import load_dataset
from salesml.data.mapping.importer import import_dataset
from salesml.potential import flat_potential
from salesml.scoring import InsufficientDataError
from salesml.scoring.metrics import classification_metrics

EXAMPLE = Path(__file__).parents[2] / "datasets" / "examples" / "marketing_leads"


@pytest.fixture(scope="module")
def flat_data(tmp_path_factory):
    out = tmp_path_factory.mktemp("ma")
    import_dataset(EXAMPLE, EXAMPLE / "mapping.yaml", out)
    return load_dataset(out)


@pytest.fixture(scope="module")
def scored(flat_data):
    return flat_potential(flat_data)


def test_the_import_keeps_every_row_and_answer(flat_data) -> None:
    leads = flat_data.leads
    assert len(leads) == 1500 and leads["created_at"].nunique() == 1
    assert {"Budget", "Timeline", "Sales Notes", "Lead Status"} <= set(leads.columns)
    assert set(leads["status"]) == {"converted", "open"}


def test_leaky_columns_are_named_and_left_out(scored) -> None:
    screen = scored.columns.set_index("column")
    for leak in ("Sales Notes", "Lead Status"):
        assert screen.loc[leak, "flag"] == "leak" and not screen.loc[leak, "used"]
    assert screen.loc["Budget", "used"] and screen.loc["Pages Visited", "kind"] == "numeric"
    assert not scored.model.features_ or "Lead Status" not in scored.model.features_
    findings = scored.key_findings("en")
    assert "cross-validation" in findings[0] and "no dates" in findings[0]
    assert any("Sales Notes" in f for f in findings)
    assert "交叉验证" in scored.key_findings("zh")[0]


def test_the_cross_validated_score_tracks_the_planted_probability(scored) -> None:
    planted = pd.read_csv(EXAMPLE / "planted.csv")["p_planted"].to_numpy()
    y = scored.table["label"].to_numpy()
    oracle = classification_metrics(y, planted)["auc"]  # 0.786
    m = scored.metrics.set_index("model")["auc"]
    # measured: model 0.743, channel baseline 0.530, Spearman with planted p 0.86
    assert m["model"] >= oracle - 0.07
    assert m["model"] >= m["channel_baseline"] + 0.15
    assert spearmanr(scored.table["p_cv"], planted).statistic >= 0.75
    assert scored.table["p_cv"].notna().all()


def test_a_column_that_nearly_gives_the_answer_is_named_for_checking(flat_data) -> None:
    leads = flat_data.leads.copy()
    rng = np.random.default_rng(1)
    conv = leads["status"].eq("converted")
    hint = np.where(rng.random(len(leads)) < 0.92, conv, ~conv)
    leads["Follow-up Tag"] = np.where(hint, "hot", "cold")
    res = flat_potential(SalesData({"leads": leads}, flat_data.config))
    row = res.columns.set_index("column").loc["Follow-up Tag"]
    assert row["flag"] == "suspicious" and row["used"]
    assert any("Follow-up Tag" in n.text("en") for n in res.notes)
    dropped = flat_potential(SalesData({"leads": leads}, flat_data.config), drop=["Follow-up Tag"])
    assert "Follow-up Tag" not in set(dropped.columns["column"])


def test_bad_input(flat_data) -> None:
    leads = flat_data.leads
    with pytest.raises(InsufficientDataError, match="every one of the 1,500 leads"):
        flat_potential(leads.assign(status="open"))
    with pytest.raises(ValueError, match="needs a leads table"):
        flat_potential(SalesData({}, flat_data.config))
    with pytest.raises(ValueError, match="'Budgets'"):
        flat_potential(leads, drop=["Budgets"])
