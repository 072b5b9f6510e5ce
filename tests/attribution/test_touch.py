"""Tests of journeys and multi-touch attribution models."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from salesml.attribution import (
    MODELS,
    journeys,
    markov_removal_effects,
    path_table,
    touch_attribution,
)
from salesml.data.bundle import MissingTableError, SalesData


@pytest.fixture(scope="module")
def demo_journeys(demo) -> pd.DataFrame:
    data, _ = demo
    return journeys(data).table


def test_journeys_shape_and_cut(demo, demo_journeys) -> None:
    data, truth = demo
    j = demo_journeys
    assert j["journey_id"].is_unique
    assert j["converted"].sum() == truth.channel_cac["acquired_customers"].sum()
    conv = j[j["converted"]]
    last = conv["times"].map(max)
    assert (last <= conv["converted_at"]).all()
    assert (j["n_touches"] == j["touches"].str.len()).all()
    assert (j["path"].str.count(">") + 1 == j["n_touches"]).all()
    # leads of converted customers start their journeys with the lead channel
    first = conv["touches"].str[0]
    assert (first == conv["channel"]).mean() > 0.9
    leads_only = journeys(data, activity_label=None).table
    assert set(itertools.chain.from_iterable(leads_only["touches"])) <= set(data.leads["channel"])


def test_journeys_need_tables(demo) -> None:
    data, _ = demo
    with pytest.raises(MissingTableError, match="leads"):
        journeys(SalesData({"customers": data.customers, "deals": data.deals}))


def test_every_model_sums_to_conversions(demo_journeys) -> None:
    r = touch_attribution(demo_journeys, model=list(MODELS)).table
    total = demo_journeys["converted"].sum()
    sums = r.groupby("model")["conversions"].sum()
    np.testing.assert_allclose(sums.to_numpy(), total, rtol=1e-9)
    shares = r.groupby("model")["share"].sum()
    np.testing.assert_allclose(shares.to_numpy(), 1.0, rtol=1e-9)
    vals = r.groupby("model")["value"].sum()
    np.testing.assert_allclose(vals.to_numpy(), demo_journeys["value"].sum(), rtol=1e-9)
    assert list(r.columns) == [
        "model",
        "channel",
        "conversions",
        "share",
        "value",
        "removal_effect",
        "se",
    ]


SMALL = pd.DataFrame(
    {
        "path": ["a>b>c", "a>c", "b", "a>b", "c>a>b>a", "b>c>c", "a", "c>b"],
        "conversions": [3, 1, 0, 2, 1, 2, 0, 1],
        "nulls": [1, 2, 4, 1, 0, 3, 5, 2],
        "value": [300.0, 50.0, 0.0, 120.0, 80.0, 100.0, 0.0, 40.0],
    }
)


def _brute_markov(df: pd.DataFrame, order: int) -> dict[str, float]:
    """Removal effects by a dense solve over a chain built with plain Python dicts."""
    counts: dict[tuple, dict[tuple, float]] = {}

    def add(a: tuple, b: tuple, w: float) -> None:
        counts.setdefault(a, {})
        counts[a][b] = counts[a].get(b, 0.0) + w

    for path, c, n in zip(df["path"], df["conversions"], df["nulls"], strict=True):
        touches = path.split(">")
        states = [("S",)] + [
            tuple(touches[max(0, i - order + 1) : i + 1]) for i in range(len(touches))
        ]
        for a, b in itertools.pairwise(states):
            add(a, b, c + n)
        add(states[-1], ("CONV",), c)
        add(states[-1], ("NULL",), n)
    nodes = sorted(set(counts) | {b for d in counts.values() for b in d})
    ix = {s: i for i, s in enumerate(nodes)}
    M = np.zeros((len(nodes), len(nodes)))
    for a, d in counts.items():
        tot = sum(d.values())
        for b, w in d.items():
            M[ix[a], ix[b]] = w / tot
    for s in (("CONV",), ("NULL",)):
        M[ix[s], :] = 0
        M[ix[s], ix[s]] = 1

    def p_conv(removed: str | None) -> float:
        T = M.copy()
        if removed is not None:
            for s in nodes:
                if removed in s:  # redirect everything entering s to NULL
                    T[:, ix[("NULL",)]] += T[:, ix[s]]
                    T[:, ix[s]] = 0
        # absorption probabilities: x = T x, x(CONV)=1, x(NULL)=0
        n = len(nodes)
        A = np.eye(n) - T
        b = np.zeros(n)
        for s, v in ((("CONV",), 1.0), (("NULL",), 0.0)):
            A[ix[s], :] = 0
            A[ix[s], ix[s]] = 1
            b[ix[s]] = v
        x = np.linalg.lstsq(A, b, rcond=None)[0]
        return float(x[ix[("S",)]])

    base = p_conv(None)
    chans = sorted({t for p in df["path"] for t in p.split(">")})
    return {c: 1 - p_conv(c) / base for c in chans}


@pytest.mark.parametrize("order", [1, 2, 3])
def test_markov_equals_brute_force(order: int) -> None:
    got = markov_removal_effects(path_table(SMALL), order)["removal_effect"]
    want = _brute_markov(SMALL, order)
    for ch, v in want.items():
        assert got[ch] == pytest.approx(v, abs=1e-10)


def test_markov_hand_computed() -> None:
    df = pd.DataFrame({"path": ["a>b", "a"], "conversions": [1, 0], "nulls": [0, 1]})
    re = markov_removal_effects(path_table(df))
    assert re.attrs["p_conversion"] == pytest.approx(0.5)
    assert re["removal_effect"].tolist() == pytest.approx([1.0, 1.0])
    r = touch_attribution(df, model="markov").table
    assert r["conversions"].tolist() == pytest.approx([0.5, 0.5])


def test_markov_is_deterministic_and_orders(demo_journeys) -> None:
    a = touch_attribution(demo_journeys, model="markov", order=2).table
    b = touch_attribution(demo_journeys, model="markov", order=2).table
    pd.testing.assert_frame_equal(a, b)
    assert a["model"].iloc[0] == "markov_2"
    with pytest.raises(ValueError, match="order"):
        touch_attribution(demo_journeys, model="markov", order=11)


def test_shapley_exact_closed_form_and_sampled() -> None:
    exact = touch_attribution(SMALL, model="shapley").table.set_index("channel")
    # closed form of this game: each journey's conversions split over its distinct channels
    want: dict[str, float] = {}
    for path, c in zip(SMALL["path"], SMALL["conversions"], strict=True):
        s = set(path.split(">"))
        for ch in s:
            want[ch] = want.get(ch, 0.0) + c / len(s)
    for ch, v in want.items():
        assert exact.loc[ch, "conversions"] == pytest.approx(v)
    assert exact["conversions"].sum() == pytest.approx(SMALL["conversions"].sum())
    sampled = touch_attribution(SMALL, model="shapley", max_exact=0, n_samples=3000)
    sampled = sampled.table.set_index("channel")
    assert (sampled["se"] > 0).all()
    z = (sampled["conversions"] - exact["conversions"]).abs() / sampled["se"]
    assert (z < 5).all()
    assert sampled["conversions"].sum() == pytest.approx(SMALL["conversions"].sum())


def test_shapley_many_channels_sampled() -> None:
    rng = np.random.default_rng(1)
    chans = [f"c{i:02d}" for i in range(18)]
    paths = [">".join(rng.choice(chans, rng.integers(1, 5))) for _ in range(300)]
    df = pd.DataFrame({"path": paths, "converted": rng.random(300) < 0.3})
    r = touch_attribution(df, model="shapley", n_samples=200).table
    assert r["conversions"].sum() == pytest.approx(df["converted"].sum())
    assert (r["se"] > 0).any()


def test_heuristics_by_hand() -> None:
    df = pd.DataFrame({"path": ["a>b>c>d", "b"], "conversions": [10, 2], "nulls": [0, 0]})
    r = touch_attribution(df, model=["first", "last", "linear", "position"]).table
    p = r.pivot(index="channel", columns="model", values="conversions")
    assert p.loc["a", "first"] == 10 and p.loc["d", "last"] == 10
    assert p.loc["b", "linear"] == pytest.approx(2.5 + 2)
    assert p.loc["a", "position"] == pytest.approx(4.0)
    assert p.loc["c", "position"] == pytest.approx(1.0)


def test_time_decay_needs_times_and_prefers_recent(demo_journeys) -> None:
    with pytest.raises(ValueError, match="times"):
        touch_attribution(SMALL, model="time_decay")
    short = touch_attribution(demo_journeys, model="time_decay", half_life_days=1).table
    long = touch_attribution(demo_journeys, model="time_decay", half_life_days=1000).table
    short, long = short.set_index("channel"), long.set_index("channel")
    lead_ch = ["online_ads", "wechat", "exhibition", "store_walkin", "referral"]
    assert short.loc[lead_ch, "conversions"].sum() < long.loc[lead_ch, "conversions"].sum()
    with pytest.raises(ValueError, match="unknown model"):
        touch_attribution(demo_journeys, model="magic")


@pytest.mark.parametrize("order", [1, 2, 3, 5])
@pytest.mark.parametrize("solver", ["dense", "sparse"])
def test_markov_solvers_equal_brute_force(order: int, solver: str) -> None:
    got = markov_removal_effects(path_table(SMALL), order, solver=solver)["removal_effect"]
    for ch, v in _brute_markov(SMALL, order).items():
        assert got[ch] == pytest.approx(v, abs=1e-9)


def test_sparse_solver_falls_back_when_krylov_stalls(monkeypatch) -> None:
    import salesml.attribution.touch.markov as mk

    monkeypatch.setattr(mk, "_KRYLOV_MAXITER", 1)  # force the fixed-point fallback
    got = markov_removal_effects(path_table(SMALL), 2, solver="sparse")["removal_effect"]
    for ch, v in _brute_markov(SMALL, 2).items():
        assert got[ch] == pytest.approx(v, abs=1e-9)
