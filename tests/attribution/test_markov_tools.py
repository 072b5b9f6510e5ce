"""Transition matrix, order choice, high orders and the solver choice (issue 10 items 7-8)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from salesml.attribution import (
    choose_order,
    markov_removal_effects,
    path_table,
    touch_attribution,
    transition_matrix,
)
from salesml.attribution.touch.markov import (
    DENSE_MAX_STATES,
    MAX_ORDER,
    build_chain,
    choose_solver,
)

SMALL = pd.DataFrame(
    {
        "path": ["a>b>c", "a>c", "b", "a>b", "c>a>b>a", "b>c>c", "a", "c>b"],
        "total_conversions": [3, 1, 0, 2, 1, 2, 0, 1],
        "total_null": [1, 2, 4, 1, 0, 3, 5, 2],
    }
)


def test_transition_matrix_order_1_by_hand() -> None:
    tm = transition_matrix(SMALL)
    tab = tm.table
    assert {"state_from", "state_to", "transitions", "probability"} <= set(tab.columns)
    # the probabilities out of every state add up to one
    np.testing.assert_allclose(tab.groupby("state_from")["probability"].sum(), 1.0)
    got = tab.set_index(["state_from", "state_to"])["transitions"]
    # (start) -> a: journeys of a>b>c, a>c, a>b, a = 4 + 3 + 3 + 5
    assert got[("(start)", "a")] == 15
    # a -> b: a>b>c (4), a>b (3), c>a>b>a (1)
    assert got[("a", "b")] == 8
    # c -> c only in b>c>c (5 journeys)
    assert got[("c", "c")] == 5
    # ends: a ends a (0 conv, 5 null) and c>a>b>a (1, 0)
    assert got[("a", "(conversion)")] == 1 and got[("a", "(null)")] == 5
    assert tm.n_states == 3
    assert tm.matrix().loc["a", "b"] == pytest.approx(8 / (8 + 3 + 1 + 5))
    assert len(tm.key_findings("zh")) >= 1


def test_transition_matrix_higher_order_names_states_by_their_touches() -> None:
    tm = transition_matrix(SMALL, order=2)
    states = set(tm.table["state_from"]) - {"(start)"}
    assert {"a", "b", "c", "a>b", "b>c", "c>a"} <= states
    row = tm.table[(tm.table["state_from"] == "a>b") & (tm.table["state_to"] == "b>c")]
    assert row["transitions"].iloc[0] == 4  # a>b>c
    np.testing.assert_allclose(tm.table.groupby("state_from")["probability"].sum(), 1.0)
    # journeys that never converted are fine for the transition matrix
    nulls = SMALL.assign(total_conversions=0)
    assert transition_matrix(nulls).n_states == 3


def _process(order: int, n: int, seed: int) -> pd.DataFrame:
    """Journeys over 5 channels whose next touch depends on the last ``order`` touches.

    A journey stops after each touch with probability 0.3 (no length cap shapes the
    paths); it converts with a probability set by its last touch.
    """
    rng = np.random.default_rng(seed)
    C, L = 5, 40
    table = rng.dirichlet(np.full(C, 0.3), size=C**order).cumsum(axis=1)
    hist = np.full((n, L), -1)
    hist[:, 0] = rng.integers(C, size=n)
    alive = np.ones(n, dtype=bool)
    for t in range(1, L):
        alive &= rng.random(n) > 0.3
        ctx = np.zeros(n, dtype=int)
        for j in range(order):  # the last `order` touches (0 before the journey began)
            ctx = ctx * C + np.where(t - 1 - j >= 0, hist[:, max(t - 1 - j, 0)], 0)
        nxt = (rng.random(n)[:, None] > table[ctx]).sum(axis=1).clip(0, C - 1)
        hist[alive, t] = nxt[alive]
    names = np.array(list("abcde"), dtype=object)
    length = (hist >= 0).sum(axis=1)
    last = hist[np.arange(n), length - 1]
    conv = rng.random(n) < np.where(last < 2, 0.6, 0.15)
    paths = names[hist[:, 0]]
    for t in range(1, L):
        ok = hist[:, t] >= 0
        paths[ok] = paths[ok] + ">" + names[hist[ok, t]]
    df = pd.DataFrame({"path": paths, "c": conv.astype(int), "n": (~conv).astype(int)})
    agg = df.groupby("path", as_index=False).sum()
    return agg.rename(columns={"c": "total_conversions", "n": "total_null"})


@pytest.mark.parametrize("true_order", [1, 2])
def test_choose_order_finds_the_order_of_the_process(true_order: int) -> None:
    df = _process(true_order, 20_000, seed=true_order)
    res = choose_order(df, max_order=4, seed=0)
    assert res.suggested_order == true_order, res.table
    t = res.table.set_index("order")
    assert list(t.index) == [1, 2, 3, 4] and t["suggested"].sum() == 1
    assert (t["n_states"].diff().dropna() > 0).all()
    assert t["auc"].between(0.5, 1.0).all()
    assert f"{true_order}" in res.key_findings("en")[0]
    auto = touch_attribution(df, model="markov", order="auto", max_order=3)
    assert auto.order == min(true_order, 3) and auto.orders is not None
    assert any("held-out" in s for s in auto.key_findings("en"))


def test_orders_above_four_and_the_bound_on_states() -> None:
    df = _process(2, 3_000, seed=5)
    pt = path_table(df)
    for order in (5, 6):
        re = markov_removal_effects(pt, order)
        assert re.attrs["order"] == order and re["removal_effect"].between(0, 1).all()
    with pytest.raises(ValueError, match=f"from 1 to {MAX_ORDER}"):
        markov_removal_effects(pt, MAX_ORDER + 1)
    n6 = build_chain(pt, 6).n_states
    with pytest.raises(ValueError, match="more than 100 states") as info:
        markov_removal_effects(pt, 6, max_states=100)
    assert "lower order" in str(info.value)
    assert n6 > 100
    with pytest.raises(ValueError, match="order"):
        markov_removal_effects(pt, 0)


def test_solver_choice_follows_the_measured_cost_model() -> None:
    pt = path_table(_process(2, 3_000, seed=7))
    one = build_chain(pt, 1)
    assert choose_solver(one) == "dense"  # a handful of states: one small inverse
    many = build_chain(pt, 4)
    assert choose_solver(many) == "sparse"  # thousands of sparse states
    assert choose_solver(many, "dense") == "dense"
    with pytest.raises(ValueError, match="solver"):
        choose_solver(many, "magic")
    # the dense solver is never picked beyond its memory bound
    assert DENSE_MAX_STATES <= 10_000
    a = markov_removal_effects(pt, 3, solver="dense")["removal_effect"]
    b = markov_removal_effects(pt, 3, solver="sparse")["removal_effect"]
    np.testing.assert_allclose(a, b, atol=1e-10)


def test_threads_are_bounded() -> None:
    pt = path_table(SMALL)
    with pytest.raises(ValueError, match="threads"):
        markov_removal_effects(pt, 1, threads=0)
    assert markov_removal_effects(pt, 2, threads=2).attrs["n_states"] > 0
