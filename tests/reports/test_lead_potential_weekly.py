"""``lead_potential_weekly`` on the tiny dataset, in both languages, and the analysis behind it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from salesml.cli import main
from salesml.data.io import load_dataset
from salesml.demo import latest_complete_month
from salesml.potential import lead_features
from salesml.potential.baselines import lead_baselines
from salesml.potential.weekly import weekly_potential
from salesml.reports.catalog.lead_potential_weekly import (
    REPORT,
    account_rows,
    cash_rows,
    queue_rows,
    visit_rows,
)


@pytest.fixture(scope="module")
def tiny(tiny_dataset: Path):
    return load_dataset(tiny_dataset, progress=False)


@pytest.fixture(scope="module")
def period(tiny) -> str:
    return latest_complete_month(tiny)


@pytest.fixture(scope="module")
def review(tiny, period):
    return weekly_potential(tiny, period=period, capacity=4, lang="en")


def test_the_review_plans_visits_within_capacity(review) -> None:
    plan = review.plan.table
    assert len(plan) and (plan.groupby("rep_id").size() <= 4).all()
    assert set(plan["kind"]) <= {"lead", "account"}
    # each rep's list is ranked by expected revenue per visit
    for _, g in plan.groupby("rep_id"):
        assert g.sort_values("rank")["value_per_visit"].is_monotonic_decreasing
    assert (plan["reasons"].str.len() > 0).all()
    rows = visit_rows(review)
    assert list(rows.columns)[:4] == ["rep_id", "rank", "kind", "id"]
    acc = account_rows(review, 5)
    assert len(acc) == 5 and acc["expected_revenue"].is_monotonic_decreasing
    cash = cash_rows(review)
    assert cash["group"].iloc[0] == "all" and cash["total"].iloc[0] == "1.00x"
    # the simulated leads have owners: one queue per owner, no team pool
    queue = queue_rows(review)
    assert queue["planned"].sum() == len(plan) and (queue["planned"] <= queue["capacity"]).all()
    assert "<unassigned>" not in set(queue["rep_id"]) and queue["rep_id"].is_unique


def test_scores_come_from_the_baseline_when_the_verdict_says_so(review, tiny) -> None:
    verdict = review.card.verdict
    leads = review.candidates.loc[review.candidates["kind"] == "lead"]
    fit = review.lead_fit
    today = lead_features(tiny, as_of=review.as_of)
    assert leads["id"].tolist() == today["lead_id"].tolist()
    if verdict.status == "use_baseline":
        expected = lead_baselines()[verdict.baseline].fit(fit.training).predict(today)
    else:
        expected = fit.model.predict_proba(today).to_numpy()
    np.testing.assert_allclose(leads["win_prob"].to_numpy(), expected)


@pytest.mark.slow
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_report_runs_on_tiny(
    tiny_dataset: Path, period: str, tmp_path: Path, lang: str
) -> None:
    out = tmp_path / "reports"
    args = ["report", "run", "lead_potential_weekly", "--period", period, "--out", str(out)]
    assert main([*args, "--data", str(tiny_dataset), "-p", "lang", lang]) == 0
    folder = out / "lead_potential_weekly" / (period if lang == "en" else f"{period}__{lang}")
    page = (folder / "lead_potential_weekly.html").read_text(encoding="utf-8")
    run = json.loads((folder / "run.json").read_text(encoding="utf-8"))
    assert run["status"] == "ok" and sorted(run["fingerprint_covers"]) == sorted(REPORT.loads)
    heads = {
        "en": [
            "Monthly lead potential review",
            "visits per rep",
            "Queue per owner",
            "Top accounts",
            "Lead to cash",
        ],
        "zh": ["线索潜力月报", "拜访清单", "各负责人待办队列", "潜力最高的客户", "线索到回款"],
    }[lang]
    for h in heads:
        assert h in page, h
    # no catalog key shows through, and the code is hidden
    assert "lead_potential_weekly." not in page and "potential.reason." not in page
    assert "start_report(" not in page
