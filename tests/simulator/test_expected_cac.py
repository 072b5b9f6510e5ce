"""The expected (long-run) channel CAC in the truth, against the simulator's own runs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from salesml.simulator import PRESETS, SimulationConfig, Truth, simulate
from salesml.simulator import expected as ex
from salesml.simulator.chunk import STEPS
from salesml.simulator.digest import stable_digest


def _run_totals(config: SimulationConfig, seed: int) -> tuple[np.ndarray, np.ndarray]:
    parts = list(ex.run_cost_process(config, (seed,), steps=STEPS))
    return np.sum([p[1] for p in parts], axis=0), np.sum([p[2] for p in parts], axis=0)


@pytest.mark.parametrize("overrides", [{}, {"chunk_customers": 120}])
def test_the_cost_process_is_the_run_simulate_makes(overrides) -> None:
    """With the seed's generators and every step, the Monte-Carlo's unit *is* a run."""
    _, truth = simulate(preset="tiny", seed=4, **overrides)
    cost, acquired = _run_totals(SimulationConfig(**truth.config), 4)
    np.testing.assert_array_equal(cost, truth.channel_cac["acquisition_cost"].to_numpy())
    np.testing.assert_array_equal(acquired, truth.channel_cac["acquired_customers"].to_numpy())


def test_presets_carry_the_shipped_value(demo_data) -> None:
    _, truth = demo_data
    e = truth.channel_expected_cac
    assert list(e.index) == list(truth.channel_cac.index)
    assert list(e.columns) == ex.EXPECTED_CAC_COLUMNS
    pd.testing.assert_frame_equal(e, ex.shipped_expected_cac(PRESETS["demo"]))
    np.testing.assert_allclose(
        e["cac"], e["acquisition_cost_per_run"] / e["acquired_per_run"], rtol=1e-12
    )
    # precise enough to be a target: Monte-Carlo error well under the run-to-run spread
    assert (e["cac_mc_se"] / e["cac"] < 0.01).all(), e
    # the realised CAC of one run scatters around the expected one, not far from it
    rel = truth.channel_cac["cac"] / e["cac"] - 1
    assert (rel.abs() < 0.3).all(), rel


def test_the_shipped_table_matches_the_current_generator(demo_data) -> None:
    """Each entry records its preset's config and seed-0 fingerprint at computation time.

    When this fails the generator changed: run ``python -m salesml.simulator.refresh``.
    """
    table = ex.shipped_table()
    assert {"tiny", "demo"} <= set(table)
    for name, entry in table.items():
        assert entry["config"] == PRESETS[name].to_dict(), name
        assert entry["mc_customers"] == ex.SHIPPED_MC_CUSTOMERS
        assert entry["mc_entropy"] == ex.MC_ENTROPY
    assert table["demo"]["seed0_digest"] == stable_digest(demo_data[0])
    tiny, _ = simulate(preset="tiny", seed=0)
    assert table["tiny"]["seed0_digest"] == stable_digest(tiny)


def test_other_configurations_compute_it_on_first_use(monkeypatch, tmp_path) -> None:
    monkeypatch.setattr(ex, "MC_CUSTOMERS", 600)
    _, truth = simulate(preset="tiny", seed=1, n_customers=150, n_deals=220)
    assert truth._channel_expected_cac is None  # nothing computed until asked
    e = truth.channel_expected_cac
    assert e is truth.channel_expected_cac  # computed once
    again = ex.compute_expected_cac(SimulationConfig(**truth.config), 600)
    pd.testing.assert_frame_equal(e, again)
    assert (e["acquired_per_run"] > 0).all()
    truth.save(tmp_path / "truth")
    back = Truth.load(tmp_path / "truth")
    assert back.config == truth.config
    pd.testing.assert_frame_equal(back.channel_expected_cac, e)


def test_a_truth_without_its_config_says_so() -> None:
    _, truth = simulate(preset="tiny", seed=0, n_customers=150, n_deals=220)
    truth.config = {}
    with pytest.raises(ValueError, match="configuration"):
        _ = truth.channel_expected_cac


@pytest.mark.slow
def test_the_cost_steps_alone_have_the_full_chunks_expectation() -> None:
    """The Monte-Carlo skips the steps that consume no cost; the expectation is the same."""
    cfg = PRESETS["tiny"]
    a = ex.compute_expected_cac(cfg, 30_000, entropy=1)
    b = ex.compute_expected_cac(cfg, 30_000, steps=STEPS, entropy=2)
    z = (a["cac"] - b["cac"]) / np.hypot(a["cac_mc_se"], b["cac_mc_se"])
    assert (z.abs() < 4).all(), z


@pytest.mark.slow
def test_realised_cac_over_seeds_averages_to_the_expected_one() -> None:
    """Pooled over demo seeds 0-4, realised cost / acquisitions meets ``E[C] / E[A]``."""
    cost = acquired = 0.0
    per_run = []
    for seed in range(5):
        _, truth = simulate(preset="demo", seed=seed)
        t = truth.channel_cac
        cost = cost + t["acquisition_cost"]
        acquired = acquired + t["acquired_customers"]
        per_run.append(t["cac"])
    e = truth.channel_expected_cac
    spread = pd.concat(per_run, axis=1).std(axis=1, ddof=1)  # one run's spread
    z = (cost / acquired - e["cac"]) / np.hypot(spread / np.sqrt(5), e["cac_mc_se"])
    assert (z.abs() < 4).all(), z
