"""Opt-in planted effect of the scan rollout on material losses (issue 13).

By default the simulated losses are a fixed number of loss movements per store and
month, so the loss rate (loss over the quantity issued or redeemed) drifts as
redemptions grow and the scan rollout has no effect to recover. With
``simulate(scan_loss_effect=x)`` the loss movements are drawn instead from a stream of
their own (``[seed, chunk, SCAN_EFFECT_TAG]``, ``ChunkState.own_rng``): each issue or
redemption of ``q`` units loses on average ``BASE_LOSS_RATE * q`` units of the same SKU
at its store within half a day, and ``(1 + x)`` times that once the scan rollout (the
go-live) has come.
The loss rate is then the same on both sides of the rollout but for the planted
change ``x`` (:attr:`Truth.kpi_effects` ``["loss_rate"]``); ``x = 0`` is the placebo.

Every draw of the shared stream is made as without the switch, so every other table
is unchanged; off (``None``, the default) the output is exactly as before.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["BASE_LOSS_RATE", "SCAN_EFFECT_TAG", "check_scan_effect", "plant_scan_losses"]

#: Tag of the planted losses' own random stream (``[seed, chunk, SCAN_EFFECT_TAG]``).
SCAN_EFFECT_TAG = 0x5CA9
#: Units lost per unit issued or redeemed before the rollout.
BASE_LOSS_RATE = 0.07
#: Quantity of one loss movement: 1 or 2 (mean 1.5): many small losses, a precise rate.
_QTY_LOW, _QTY_HIGH = 1, 3
_MEAN_QTY = (_QTY_LOW + _QTY_HIGH - 1) / 2


def check_scan_effect(effect: float | None) -> None:
    """Raise ``ValueError`` unless ``effect`` is ``None`` or a change in (-0.95, 5]."""
    if effect is None:
        return
    if isinstance(effect, bool) or not isinstance(effect, (int, float)):
        raise ValueError(f"scan_loss_effect must be a number or None, got {effect!r}")
    if not (-0.95 < float(effect) <= 5.0):
        raise ValueError(f"scan_loss_effect must be in (-0.95, 5], got {effect!r}")


def plant_scan_losses(
    mmv: pd.DataFrame, rng: np.random.Generator, rollout: float, effect: float
) -> pd.DataFrame:
    """Replace the loss movements of a chunk by losses tied to its outflows.

    Parameters
    ----------
    mmv
        The chunk's movement rows (``store``, ``sku``, ``kind``, ``qty``, ``t`` in days,
        ``scanned``, ``cust``, ``ref``, ``true_cust``).
    rng
        The planted losses' own stream.
    rollout
        The scan rollout (days since the start).
    effect
        Relative change of the loss rate from the rollout on.

    Returns
    -------
    pandas.DataFrame
        ``mmv`` without its loss rows, with the planted ones appended.
    """
    check_scan_effect(effect)
    kind = mmv["kind"].to_numpy()
    out = mmv.loc[np.isin(kind, ["issue", "redeem"])]
    t = out["t"].to_numpy(float)
    mult = np.where(t >= rollout, 1.0 + float(effect), 1.0)
    lam = BASE_LOSS_RATE * out["qty"].to_numpy(float) / _MEAN_QTY * mult
    n = rng.poisson(lam)
    ii = np.repeat(np.arange(len(out)), n)
    losses = pd.DataFrame(
        {
            "store": out["store"].to_numpy()[ii],
            "sku": out["sku"].to_numpy()[ii],
            "kind": "loss",
            "qty": rng.integers(_QTY_LOW, _QTY_HIGH, len(ii)).astype(float),
            "t": t[ii] + rng.random(len(ii)) * 0.5,
            "scanned": True,
            "cust": -1,
            "ref": -1,
            "true_cust": -1,
        }
    )
    return pd.concat([mmv.loc[kind != "loss"], losses], ignore_index=True)
