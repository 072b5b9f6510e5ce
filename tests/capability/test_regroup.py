"""regroup: exact placement under sizes and must-keep members, reasons, and the expected
effect of a grouping against the effect planted in the simulator."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from salesml.capability import capability_scores
from salesml.capability.regroup import _solve, load_groups, regroup
from salesml.simulator import simulate
from salesml.simulator.team_effects import plant_cycle_time, plant_payment_speed

GROUPS = Path(__file__).parent / "fixtures" / "groups.yaml"


@pytest.fixture(scope="module")
def planted():
    """Demo seed 3 with the planted payment speed (-6 days per SD of commercial skill)."""
    data, truth = simulate(preset="demo", seed=3)
    data, effect = plant_payment_speed(data, truth)
    return data, truth, effect, capability_scores(data)


def test_placement_is_the_exact_optimum(demo_scores) -> None:
    r = regroup(demo_scores, groups=GROUPS)
    wide = demo_scores.table.pivot(index="rep_id", columns="scenario", values="score")
    assert r.table.groupby("group").size().to_dict() == {"key_accounts": 4, "pricing": 4}
    assert r.table["rep_id"].is_unique
    # brute force over every choice of 4 technical members, then the best 3 or 4 of the rest
    reps = list(wide.index)
    tech_v, comm_v = wide["technical"].to_numpy(), wide["commercial"].to_numpy()
    combos = np.array(list(itertools.combinations(range(len(reps)), 4)))
    chosen = np.zeros((len(combos), len(reps)), bool)
    chosen[np.arange(len(combos))[:, None], combos] = True
    order = np.argsort(-comm_v)
    rest = ~chosen[:, order]
    rank_in_rest = np.cumsum(rest, axis=1)
    top = np.where(rest, comm_v[order], 0.0)
    top3 = (top * (rank_in_rest <= 3)).sum(axis=1)
    top4 = (top * (rank_in_rest <= 4)).sum(axis=1)
    best = float((tech_v[combos].sum(axis=1) + np.maximum(top3, top4)).max())
    assert r.objective == pytest.approx(best, abs=1e-6)
    reasons = r.reasons("en")
    assert len(reasons) == 8 and all("→" in s for s in reasons)
    assert r.reasons("zh").str.contains("评分").all()
    assert len(r.unplaced) == len(reps) - 8


def test_must_keep_members_stay_and_the_cost_shows(demo_scores) -> None:
    wide = demo_scores.table.pivot(index="rep_id", columns="scenario", values="score")
    weakest = wide["technical"].idxmin()
    spec = {
        "groups": [
            {"name": "key_accounts", "scenario": "technical", "size": 3, "must_keep": [weakest]},
            {"name": "pricing", "scenario": "commercial", "size": 3},
        ]
    }
    r = regroup(demo_scores, groups=spec)
    kept = r.table[r.table["rep_id"] == weakest].iloc[0]
    assert kept["group"] == "key_accounts" and kept["must_keep"]
    free = regroup(
        demo_scores, groups={"groups": [{**spec["groups"][0], "must_keep": []}, spec["groups"][1]]}
    )
    assert r.objective < free.objective
    assert any("kept by the declaration" in s for s in r.reasons("en"))
    moved = r.table[~r.table["must_keep"]]
    assert (moved["loss_if_moved"] >= -1e-9).all()


def test_groups_from_a_path_text_or_mapping_agree(tmp_path) -> None:
    from_path = load_groups(GROUPS)
    assert load_groups(str(GROUPS)) == from_path
    assert load_groups(GROUPS.read_text(encoding="utf-8")) == from_path
    assert [g.name for g in from_path] == ["key_accounts", "pricing"]
    assert (from_path[1].min_size, from_path[1].max_size) == (3, 4)
    with pytest.raises(FileNotFoundError):
        load_groups(str(tmp_path / "missing.yaml"))


def test_declaration_errors_name_the_group_and_key(demo_scores) -> None:
    with pytest.raises(ValueError, match=r"group 1 \(a\).*scenario must be one of"):
        load_groups({"groups": [{"name": "a", "scenario": "legal", "size": 2}]})
    with pytest.raises(ValueError, match="unknown key"):
        load_groups({"groups": [{"name": "a", "scenario": "technical", "size": 2, "boss": 1}]})
    with pytest.raises(ValueError, match="min_size 5 is larger than max_size 2"):
        load_groups(
            {"groups": [{"name": "a", "scenario": "technical", "min_size": 5, "max_size": 2}]}
        )
    with pytest.raises(ValueError, match="alias"):
        load_groups("groups:\n  - &g {name: a, scenario: technical, size: 1}\n  - *g\n")
    with pytest.raises(ValueError, match="no placement meets the sizes"):
        regroup(
            demo_scores, groups={"groups": [{"name": "all", "scenario": "technical", "size": 500}]}
        )
    with pytest.raises(ValueError, match="no capability score"):
        regroup(
            demo_scores,
            groups={
                "groups": [
                    {"name": "a", "scenario": "technical", "size": 1, "must_keep": ["NOBODY"]}
                ]
            },
        )


def test_expected_effect_covers_the_planted_effect(planted) -> None:
    data, truth, effect, scores = planted
    r = regroup(scores, groups=GROUPS, data=data)
    g = r.groups.set_index("group")
    assert g["effect_supported"].all()
    pricing = r.table[r.table["group"] == "pricing"]["rep_id"]
    target = effect.effect_of(truth.rep_skills["commercial"].reindex(pricing))
    lo, hi = g.loc["pricing", "effect_lower"], g.loc["pricing", "effect_upper"]
    assert lo <= target <= hi, (lo, target, hi)
    assert hi < 0  # the strong commercial group is paid sooner, and the data can tell
    # nothing is planted on the key-account group's cycle time: its interval covers 0
    assert g.loc["key_accounts", "effect_lower"] <= 0 <= g.loc["key_accounts", "effect_upper"]
    found = " ".join(r.key_findings("en"))
    assert "Pricing-strategy group" in found and "days" in found
    assert "天" in " ".join(r.key_findings("zh"))


def test_says_plainly_when_the_data_cannot_support_an_estimate(planted) -> None:
    data, _, _, scores = planted
    few = data.replace(contracts=data.contracts.iloc[:30])
    r = regroup(scores, groups=GROUPS, data=few)
    g = r.groups.set_index("group")
    assert not g.loc["pricing", "effect_supported"] and np.isnan(g.loc["pricing", "effect"])
    assert any("too few deals" in s for s in r.key_findings("en"))


@pytest.fixture(scope="module")
def planted_both():
    """Demo seed 3 with both planted effects: payment speed (commercial) and cycle time
    (technical, -5 days per SD)."""
    data, truth = simulate(preset="demo", seed=3)
    data, pay = plant_payment_speed(data, truth)
    data, cycle = plant_cycle_time(data, truth)
    return data, truth, pay, cycle, capability_scores(data)


def test_planted_cycle_time_moves_only_won_deals_and_keeps_their_order(planted_both) -> None:
    data, truth, _, cycle, _ = planted_both
    before, _ = simulate(preset="demo", seed=3)
    assert cycle.deals > 0.95 * (before.deals["outcome"] == "won").sum()
    same = before.deals["outcome"] != "won"
    pd_ = data.deals
    assert pd_.loc[same, "closed_at"].equals(before.deals.loc[same, "closed_at"])
    won = pd_[pd_["outcome"] == "won"].set_index("deal_id")
    sh = data.stage_history.join(won["closed_at"], on="deal_id", how="inner")
    assert (sh["entered_at"] < sh["closed_at"]).all()
    k = data.contracts.join(won["closed_at"], on="deal_id", how="inner")
    assert (k["signed_at"] == k["closed_at"]).all()
    # the change per deal follows the planted slope (jitter from its own stream)
    b = before.deals.set_index("deal_id").loc[won.index]
    change = ((won["closed_at"] - b["closed_at"]) / pd.Timedelta(days=1)).to_numpy()
    z = won["rep_id"].map(truth.rep_skills["technical"]).to_numpy() / cycle.skill_sd
    slope = np.polyfit(z, change, 1)[0]
    assert slope == pytest.approx(cycle.days_per_sd, abs=0.5)
    again, _ = plant_cycle_time(before, truth)
    assert again.deals["closed_at"].equals(pd_["closed_at"])  # the same stream, the same draw


def test_expected_effect_covers_the_planted_cycle_time(planted_both) -> None:
    data, truth, pay, cycle, scores = planted_both
    r = regroup(scores, groups=GROUPS, data=data)
    g = r.groups.set_index("group")
    assert g["effect_supported"].all()
    assert g.loc["key_accounts", "outcome"] == "cycle_days"
    for name, planted, scen in (
        ("key_accounts", cycle, "technical"),
        ("pricing", pay, "commercial"),
    ):
        members = r.table[r.table["group"] == name]["rep_id"]
        target = planted.effect_of(truth.rep_skills[scen].reindex(members))
        lo, hi = g.loc[name, "effect_lower"], g.loc[name, "effect_upper"]
        assert lo <= target <= hi, (name, lo, target, hi)
        assert hi < 0, (name, lo, hi)  # strong members: faster, and the data can tell


@pytest.mark.parametrize(
    "spec",
    [
        str(GROUPS),
        {
            "groups": [
                {"name": "key_accounts", "scenario": "technical", "min_size": 2, "max_size": 5},
                {"name": "pricing", "scenario": "commercial", "size": 4, "must_keep": ["R002"]},
                {"name": "delivery", "scenario": "delivery", "min_size": 3, "max_size": 6},
            ]
        },
        {
            "groups": [
                {"name": "a", "scenario": "technical", "size": 7},
                {"name": "b", "scenario": "commercial", "size": 7},
                {"name": "c", "scenario": "delivery", "size": 6},
            ]
        },
    ],
)
def test_tradeoffs_equal_a_re_solve_with_the_rep_moved(demo_scores, spec) -> None:
    """The residual-network trade-offs are exact: each equals one more MILP solve."""
    r = regroup(demo_scores, groups=spec)
    specs = load_groups(spec)
    wide = demo_scores.table.pivot(index="rep_id", columns="scenario", values="score")
    pool = sorted(wide.index)
    value = np.column_stack([wide.loc[pool, s.scenario].to_numpy(float) for s in specs])
    names = [s.name for s in specs]
    fixed = [(pool.index(k), g) for g, s in enumerate(specs) for k in s.must_keep]
    checked = 0
    for _, row in r.table.iterrows():
        if row["must_keep"] or not isinstance(row["alt_group"], str):
            assert np.isnan(row["loss_if_moved"])
            continue
        y = _solve(
            value, specs, [*fixed, (pool.index(row["rep_id"]), names.index(row["alt_group"]))]
        )
        want = r.objective - float((value * y).sum()) if y is not None else np.nan
        np.testing.assert_allclose(row["loss_if_moved"], want, atol=1e-7)
        checked += 1
    assert checked >= 8
