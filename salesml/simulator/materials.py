"""Step: store material movements, with the planted unscanned-redemptions store.

Stock is conserved: per store and SKU, stock on hand (receipts and transfers in less
issues, redemptions, losses and transfers out) never falls below zero. Where an
outflow would take it below zero, a replenishment receipt of the shortfall comes just
before it (:func:`conserve_stock`; no random draw, so the other tables are unchanged).
Stock movements fall uniformly over the 30.4-day months of the window at the same rate
in each; those of the last, partial month that would fall after the end are not made.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from salesml.simulator.helpers import make_ids
from salesml.simulator.params import SKU_COST, SKUS
from salesml.simulator.scan_effect import SCAN_EFFECT_TAG, plant_scan_losses
from salesml.simulator.state import ChunkState

__all__ = ["conserve_stock", "draw_materials"]

_REDEEM_SKU_P = [0.15, 0.2, 0.15, 0.25, 0.15, 0.1]
# Poisson rate per store and month of the stock movements (scaled by the chunk's share)
_STOCK_RATES = (("receive", 3.0), ("issue", 1.5), ("loss", 0.2), ("transfer_out", 0.3))


def _moves(
    store: np.ndarray,
    sku: np.ndarray,
    kind: str,
    qty: np.ndarray,
    t: np.ndarray,
    scanned: np.ndarray | bool,
    cust: np.ndarray | int,
    ref: np.ndarray | int,
    true_cust: np.ndarray | int,
) -> pd.DataFrame:
    """Movement rows (store and sku indices, -1 for no customer or other store)."""
    return pd.DataFrame(
        {
            "store": store,
            "sku": sku,
            "kind": kind,
            "qty": qty,
            "t": t,
            "scanned": scanned,
            "cust": cust,
            "ref": ref,
            "true_cust": true_cust,
        }
    )


def _redemptions(s: ChunkState) -> pd.DataFrame:
    """Redemptions to store customers in their first 120 days; their true cost.

    After ``anomaly_since`` the anomalous store redeems 2.4x the quantity and stops
    scanning (the movement names no customer). Appends the ``store_materials``
    consumption rows.
    """
    w, rng, cu = s.world, s.rng, s.customers
    T = s.end
    cust_t = cu.created
    sc = np.flatnonzero(cu.store >= 0)
    n_red = rng.poisson(1.6, len(sc))
    rc = np.repeat(sc, n_red)
    r_t = cust_t[rc] + rng.random(len(rc)) * np.minimum(120.0, T - cust_t[rc])
    r_sku = rng.choice(len(SKUS), size=len(rc), p=_REDEEM_SKU_P)
    r_qty = rng.integers(1, 4, len(rc)).astype(float)
    r_store = cu.store[rc]
    anomalous = (r_store == w.anomalous_store) & (r_t >= w.anomaly_since)
    r_qty = np.where(anomalous, np.round(r_qty * 2.4), r_qty)
    r_keep = r_t < T
    red_cost = r_qty * SKU_COST[r_sku]
    s.consumption.append(
        pd.DataFrame(
            {
                "category": "store_materials",
                "amount": red_cost[r_keep],
                "customer": rc[r_keep],
                "lead_channel": -1,
                "t": r_t[r_keep],
                "pool": r_store[r_keep],
                "pool_kind": "store",
            }
        )
    )
    cust = np.where(anomalous, -1, rc)
    return _moves(r_store, r_sku, "redeem", r_qty, r_t, ~anomalous, cust, -1, rc)


def _stock_moves(s: ChunkState) -> list[pd.DataFrame]:
    """Receipts, internal issues, losses and transfers per store and month."""
    w, rng = s.world, s.rng
    T = s.end
    out = []
    n_months = int(np.ceil(T / 30.4))
    st_ix = np.repeat(np.arange(len(w.stores)), n_months)
    mo = np.tile(np.arange(n_months), len(w.stores))
    for kind, lam in _STOCK_RATES:
        cnt = rng.poisson(lam * min(1.0, s.share * 3), len(st_ix))
        ii = np.repeat(np.arange(len(st_ix)), cnt)
        # uniform over the month; past the end (in the last, partial month) it is dropped
        t_ = mo[ii] * 30.4 + rng.random(len(ii)) * 30.4
        qty = (
            rng.integers(5, 60, len(ii)).astype(float)
            if kind == "receive"
            else rng.integers(1, 8, len(ii)).astype(float)
        )
        s_ = st_ix[ii]
        ref = np.full(len(ii), -1)
        if kind == "transfer_out":
            reg = w.store_region[s_]
            ref = (
                np.array([rng.choice(w.stores_by_region[r]) for r in reg], dtype=int)
                if len(reg)
                else ref
            )
            same = ref == s_
            ref[same] = (ref[same] + 1) % len(w.stores)
            sku_ = rng.integers(0, len(SKUS), len(ii))
            out.append(_moves(s_, sku_, "transfer_out", qty, t_, True, -1, ref, -1))
            out.append(_moves(ref, sku_, "transfer_in", qty, t_ + 0.5, True, -1, s_, -1))
            continue
        sku_ = rng.integers(0, len(SKUS), len(ii))
        out.append(_moves(s_, sku_, kind, qty, t_, True, -1, ref, -1))
    return out


#: Movement kinds that add to stock on hand (the others take from it).
_INFLOWS = ("receive", "transfer_in")
#: How long before the outflow it covers a replenishment receipt arrives (days).
_TOPUP_LEAD = 1.0 / 1440.0


def conserve_stock(mmv: pd.DataFrame) -> pd.DataFrame:
    """Add the replenishment receipts that keep stock on hand at or above zero.

    Per store and SKU in time order (inflows first at the same instant), the
    cumulative stock's running minimum gives the receipts needed so far; each time it
    deepens, a ``receive`` of the new shortfall comes :data:`_TOPUP_LEAD` before the
    outflow (half way to it from the start for an outflow in the first minute). Stock
    then touches zero there and is never below it.

    Parameters
    ----------
    mmv
        Movement rows (``store``, ``sku``, ``kind``, ``qty``, ``t``, ...) of one chunk.

    Returns
    -------
    pandas.DataFrame
        ``mmv`` and the receipts, in time order.
    """
    inflow = mmv["kind"].isin(_INFLOWS).to_numpy()
    o = mmv.assign(_out=~inflow).sort_values(["store", "sku", "t", "_out"], kind="stable")
    signed = np.where(o["_out"].to_numpy(), -1.0, 1.0) * o["qty"].to_numpy(float)
    key = [o["store"].to_numpy(), o["sku"].to_numpy()]
    cum = pd.Series(signed, index=o.index).groupby(key).cumsum()
    need = np.maximum(-cum.groupby(key).cummin(), 0.0)
    more = need - need.groupby(key).shift(fill_value=0.0)
    at = o.loc[(more > 0).to_numpy()]
    t = at["t"].to_numpy(float)
    topup = _moves(
        at["store"].to_numpy(),
        at["sku"].to_numpy(),
        "receive",
        more[more > 0].to_numpy(float),
        t - np.minimum(_TOPUP_LEAD, t / 2),
        True,
        -1,
        -1,
        -1,
    )
    return pd.concat([mmv, topup], ignore_index=True).sort_values("t", kind="stable")


def _anomaly_cost_ratio(s: ChunkState, mmv: pd.DataFrame) -> float:
    """The anomalous store's material cost per customer over its region's other stores."""
    w = s.world
    red = mmv[(mmv["kind"] == "redeem") & (mmv["t"] >= w.anomaly_since)]
    cpc = (red["qty"] * SKU_COST[red["sku"].to_numpy()]).groupby(
        red["store"].to_numpy()
    ).sum() / red.groupby("store")["true_cust"].nunique()
    same_reg = [
        x
        for x in cpc.index
        if w.store_region[x] == w.store_region[w.anomalous_store] and x != w.anomalous_store
    ]
    if not same_reg:
        return float("nan")
    return float(cpc.get(w.anomalous_store, np.nan) / cpc.loc[same_reg].mean())


def draw_materials(s: ChunkState) -> None:
    """Writes ``material_movements``; plants ``truth["anomaly_cost_ratio"]``."""
    w, cu = s.world, s.customers
    mmv = pd.concat([_redemptions(s), *_stock_moves(s)], ignore_index=True)
    effect = w.cfg.scan_loss_effect
    srng = s.own_rng(SCAN_EFFECT_TAG) if effect is not None else None
    if srng is not None:
        mmv = plant_scan_losses(mmv, srng, w.go_live, effect)
    mmv = conserve_stock(mmv.loc[mmv["t"].to_numpy() < s.end])
    store_ids = w.stores["store_id"].to_numpy()
    cust, ref = mmv["cust"].to_numpy(), mmv["ref"].to_numpy()
    s.tables["material_movements"] = pd.DataFrame(
        {
            "movement_id": make_ids("M", s.offsets["movement"] + 1, len(mmv), 8),
            "store_id": store_ids[mmv["store"].to_numpy()],
            "sku": np.array(SKUS, dtype=object)[mmv["sku"].to_numpy()],
            "kind": mmv["kind"].to_numpy(dtype=object),
            "qty": mmv["qty"].to_numpy(float),
            "unit_cost": SKU_COST[mmv["sku"].to_numpy()],
            "occurred_at": mmv["t"].to_numpy(),
            "scanned": mmv["scanned"].to_numpy(bool),
            "customer_id": np.where(cust >= 0, cu.ids[np.maximum(cust, 0)], None),
            "ref_store_id": np.where(ref >= 0, store_ids[np.maximum(ref, 0)], None),
        }
    )
    s.truth["anomaly_cost_ratio"] = _anomaly_cost_ratio(s, mmv)
