"""The opt-in planted scan-rollout effect on the loss rate, and its recovery by scan_rollout."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from salesml.ops import scan_rollout
from salesml.simulator import simulate

EFFECT = -0.4
SEEDS = range(10)


def _values(mv: pd.DataFrame) -> pd.DataFrame:
    cols = ["store_id", "sku", "kind", "qty", "occurred_at", "scanned", "customer_id"]
    return mv[cols].sort_values(cols[:5], kind="stable").reset_index(drop=True)


def test_off_by_default_and_only_losses_change() -> None:
    base, bt = simulate(preset="tiny", seed=1)
    data, truth = simulate(preset="tiny", seed=1, scan_loss_effect=EFFECT)
    assert "loss_rate" not in bt.kpi_effects and "scan_loss_effect" not in bt.config
    assert truth.kpi_effects["loss_rate"] == EFFECT
    assert truth.config["scan_loss_effect"] == EFFECT
    # the shared random stream is untouched: every other table is as without the switch
    for name in base.tables:
        if name != "material_movements":
            pd.testing.assert_frame_equal(data[name], base[name], obj=name)
    # and so are the movements other than losses and (stock-keeping) receipts
    keep = ["issue", "redeem", "transfer_in", "transfer_out"]
    a, b = (_values(d["material_movements"]) for d in (data, base))
    pd.testing.assert_frame_equal(
        a[a["kind"].isin(keep)].reset_index(drop=True),
        b[b["kind"].isin(keep)].reset_index(drop=True),
    )
    assert not a[a["kind"] == "loss"].equals(b[b["kind"] == "loss"])


@pytest.mark.parametrize("bad", [-1.0, 6.0, "big", True])
def test_bad_switch_values_are_refused(bad: object) -> None:
    with pytest.raises(ValueError, match="scan_loss_effect"):
        simulate(preset="tiny", seed=0, scan_loss_effect=bad)


def _rollout(seed: int, effect: float) -> pd.DataFrame:
    data, truth = simulate(preset="demo", seed=seed, scan_loss_effect=effect)
    assert truth.kpi_effects["loss_rate"] == effect
    return scan_rollout(data, n_boot=1000, seed=seed).table.set_index("kpi")


@pytest.mark.slow
def test_scan_rollout_recovers_the_planted_loss_effect_and_not_a_placebo() -> None:
    planted = [_rollout(s, EFFECT) for s in SEEDS]
    loss = pd.DataFrame([r.loc["loss_rate"] for r in planted])
    covered = (loss["low"] <= EFFECT) & (loss["high"] >= EFFECT)
    assert covered.sum() >= 8, loss
    assert (loss["high"] < 0).sum() >= 8, loss  # a fall is found, not just "no change"
    assert abs(loss["change"].median() - EFFECT) < 0.1, loss
    # no effect: transfers in the same runs, and the loss rate of the placebo (x = 0)
    tr = pd.DataFrame([r.loc["transfers_per_store_month"] for r in planted])
    assert ((tr["low"] > 0) | (tr["high"] < 0)).sum() <= 2, tr
    placebo = pd.DataFrame([_rollout(s, 0.0).loc["loss_rate"] for s in SEEDS])
    assert ((placebo["low"] > 0) | (placebo["high"] < 0)).sum() <= 2, placebo
    assert np.isfinite(placebo["change"]).all()
