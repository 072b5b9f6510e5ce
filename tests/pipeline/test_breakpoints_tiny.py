"""Tests of ``funnel_breakpoints`` mechanics (hand-built data and the z-test)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.proportion import proportions_ztest

from salesml.data.bundle import SalesData
from salesml.pipeline import funnel_breakpoints
from salesml.pipeline.breakpoints import two_proportion_ztest


def test_ztest_matches_statsmodels() -> None:
    rng = np.random.default_rng(3)
    n1 = rng.integers(5, 500, 40)
    n2 = rng.integers(5, 500, 40)
    x1 = rng.binomial(n1, 0.4)
    x2 = rng.binomial(n2, 0.5)
    z, p = two_proportion_ztest(x1, n1, x2, n2)
    for i in range(40):
        zs, ps = proportions_ztest([x1[i], x2[i]], [n1[i], n2[i]])
        assert z[i] == pytest.approx(zs, rel=1e-10)
        assert p[i] == pytest.approx(ps, rel=1e-8)
    # untestable pairs give NaN, not an error
    z, p = two_proportion_ztest(
        np.array([0, 3]), np.array([0, 3]), np.array([2, 4]), np.array([4, 4])
    )
    assert np.isnan(z[0]) and np.isnan(p[0]) and np.isnan(p[1])


def test_baseline_is_rest_of_organisation(tiny: SalesData) -> None:
    b = funnel_breakpoints(tiny, by="region")
    t = b.table.set_index(["region", "stage"])
    row = t.loc[("华东", "proposal")]
    assert row["decided"] == 2 and row["advanced"] == 1
    assert row["baseline_decided"] == 2 and row["baseline_advanced"] == 2
    assert row["gap_pp"] == pytest.approx(-50.0)
    assert row["excess_lost"] == pytest.approx(1.0)
    assert not b.table["breakpoint"].any()  # six deals prove nothing
    assert b.worst() is None
    assert b.summary().loc["华南", "proposal"] == pytest.approx(50.0)
    assert "won" not in set(b.table["stage"])


def _synthetic(
    n: int = 400, bad: tuple[str, int] = ("B", 2), seed: int = 0, weak: str | None = None
) -> SalesData:
    """Deals in regions A..D; every stage passes with 0.7, the bad pair with 0.4.

    A ``weak`` region passes every stage with 0.6 (uniformly worse, no single break).
    """
    rng = np.random.default_rng(seed)
    stages = ["qualification", "needs_analysis", "proposal", "negotiation", "contract"]
    regions = np.array(["A", "B", "C", "D"])
    reg = regions[rng.integers(0, 4, n)]
    reached = np.zeros(n, dtype=int)
    alive = np.ones(n, dtype=bool)
    for k in range(5):
        p = np.where(reg == bad[0], 0.4, 0.7) if k == bad[1] else np.full(n, 0.7)
        if weak is not None:
            p = np.where(reg == weak, p - 0.1, p)
        passed = alive & (rng.random(n) < p)
        reached = np.where(passed, k + 1, reached)
        alive = passed
    ids = [f"D{i}" for i in range(n)]
    deals = pd.DataFrame(
        {
            "deal_id": ids,
            "customer_id": [f"C{i}" for i in range(n)],
            "rep_id": "R1",
            "created_at": pd.Timestamp("2026-01-01"),
            "stage": [stages[min(r, 4)] for r in reached],
            "outcome": np.where(reached == 5, "won", "lost"),
            "closed_at": pd.Timestamp("2026-03-01"),
            "amount": 1.0,
            "product_line": "service",
        }
    )
    customers = pd.DataFrame(
        {
            "customer_id": deals["customer_id"],
            "region": reg,
            "segment": "x",
            "source_channel": "wechat",
            "created_at": pd.Timestamp("2025-01-01"),
        }
    )
    return SalesData({"deals": deals, "customers": customers})


def test_planted_synthetic_breakpoint_first() -> None:
    b = funnel_breakpoints(_synthetic(4000), by="region")
    first = b.table.iloc[0]
    assert (first["region"], first["stage"]) == ("B", "proposal")
    assert first["breakpoint"] and first["gap_pp"] < -20
    assert b.breakpoints.shape[0] == 1
    assert "B" in b.key_findings()[0] and "Proposal" in b.key_findings()[0]
    assert "断点" in b.key_findings("zh")[0]


def test_argument_checks(tiny: SalesData) -> None:
    with pytest.raises(ValueError, match="alpha"):
        funnel_breakpoints(tiny, alpha=1.5)
    with pytest.raises(ValueError, match="unknown correction method"):
        funnel_breakpoints(tiny, method="magic")
    with pytest.raises(ValueError, match="give `by`"):
        funnel_breakpoints(tiny, by=None)
    b = funnel_breakpoints(tiny, method="bonferroni", by="segment")
    assert (b.table["p_adjusted"].dropna() >= b.table["p_value"].dropna()).all()


def test_main_effects_fit_matches_statsmodels_glm() -> None:
    import statsmodels.api as sm

    from salesml.pipeline.breakpoints import _main_effects_fit

    rng = np.random.default_rng(7)
    n_groups, n_steps = 6, 5
    group = np.repeat(np.arange(n_groups), n_steps)
    step = np.tile(np.arange(n_steps), n_groups)
    decided = rng.integers(20, 300, len(group))
    logit = rng.normal(0.8, 0.3, n_steps)[step] + rng.normal(0, 0.4, n_groups)[group]
    advanced = rng.binomial(decided, 1 / (1 + np.exp(-logit)))
    own = [7]
    expected, z = _main_effects_fit(group, step, advanced, decided, own)

    x = np.zeros((len(group), n_steps + n_groups - 1 + 1))
    x[np.arange(len(group)), step] = 1
    x[group > 0, n_steps + group[group > 0] - 1] = 1
    x[7, -1] = 1  # the set-apart cell gets its own parameter
    res = sm.GLM(
        np.column_stack([advanced, decided - advanced]), x, family=sm.families.Binomial()
    ).fit()
    infl = res.get_influence()
    h = infl.hat_matrix_diag
    p = res.fittedvalues
    z_sm = (advanced - decided * p) / np.sqrt(decided * p * (1 - p) * (1 - h))
    keep = np.arange(len(group)) != 7
    assert np.allclose(expected[keep], p[keep], rtol=1e-7)
    assert np.allclose(z[keep], z_sm[keep], rtol=1e-5, atol=1e-7)
    # the set-apart cell is compared with the main-effects prediction made without it
    beta = res.params
    p7 = 1 / (1 + np.exp(-(x[7, :-1] @ beta[:-1])))
    assert expected[7] == pytest.approx(p7, rel=1e-7)


def test_uniformly_weak_group_is_not_a_breakpoint() -> None:
    b = funnel_breakpoints(_synthetic(8000, weak="C", seed=1), by="region")
    t = b.table
    weak = t[t["region"] == "C"]
    assert (weak["significant"] & (weak["gap_pp"] < 0)).sum() >= 3
    assert not weak["breakpoint"].any()
    assert list(zip(b.breakpoints["region"], b.breakpoints["stage"], strict=True)) == [
        ("B", "proposal")
    ]
    en = b.key_findings(n=3)
    assert any(s.startswith("C converts below the rest") for s in en)
    assert any("整体偏弱" in s for s in b.key_findings("zh", n=3))
