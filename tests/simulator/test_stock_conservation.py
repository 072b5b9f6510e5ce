"""Simulated store stock is conserved, and the last partial month does not pile up at the end."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from salesml.simulator import simulate
from salesml.simulator.materials import conserve_stock

_KINDS = ["receive", "transfer_in", "issue", "redeem", "transfer_out", "loss"]
_SIGN = {"receive": 1, "transfer_in": 1}


def _stock_path(mv: pd.DataFrame, store: str, sku: str, t: str, kind: str) -> pd.Series:
    """Stock on hand after each instant, per store and SKU (inflows first at an instant)."""
    signed = mv[kind].map(_SIGN).fillna(-1).to_numpy(float) * mv["qty"].to_numpy(float)
    per = pd.Series(signed).groupby([mv[store].to_numpy(), mv[sku].to_numpy(), mv[t].to_numpy()])
    return per.sum().groupby(level=[0, 1]).cumsum()


def _assert_conserved(mv: pd.DataFrame, store="store_id", sku="sku", t="occurred_at", kind="kind"):
    path = _stock_path(mv, store, sku, t, kind)
    assert path.min() >= 0, path[path < 0].head()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_simulated_stock_never_goes_negative(seed: int) -> None:
    data, _ = simulate(preset="tiny", seed=seed)
    _assert_conserved(data["material_movements"])


def test_demo_stock_is_conserved_and_the_last_month_is_not_piled_at_the_end(demo_data) -> None:
    data, truth = demo_data
    mv = data["material_movements"]
    _assert_conserved(mv)
    # stock moves (issues, losses, transfers out) come at the same daily rate in the
    # last week as over the whole window (they were piled at the final instant)
    stock = mv[mv["kind"].isin(["issue", "loss", "transfer_out"])]
    days = (truth.end - mv["occurred_at"].min()) / pd.Timedelta(days=1)
    rate = len(stock) / days
    last = (stock["occurred_at"] >= truth.end - pd.Timedelta(days=7)).sum() / 7
    assert last < 2 * rate, (last, rate)
    assert mv["occurred_at"].max() < truth.end
    # no instant carries more than a handful of movements
    assert mv["occurred_at"].value_counts().max() <= 3


_rows = st.lists(
    st.tuples(
        st.integers(0, 2),  # store
        st.integers(0, 2),  # sku
        st.sampled_from(_KINDS),
        st.integers(1, 40),  # qty
        st.floats(0, 60, allow_nan=False),  # t (days)
    ),
    min_size=0,
    max_size=60,
)


def _frame(rows: list[tuple]) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=["store", "sku", "kind", "qty", "t"])
    df["qty"] = df["qty"].astype(float)
    df["t"] = df["t"].astype(float)
    for c in ("cust", "ref", "true_cust"):
        df[c] = -1
    df["scanned"] = True
    return df


@settings(max_examples=40, deadline=None)
@given(_rows)
def test_conserve_stock_adds_only_the_minimal_receipts(rows: list[tuple]) -> None:
    mv = _frame(rows)
    out = conserve_stock(mv)
    # never below zero, at any instant
    if len(out):
        _assert_conserved(out, store="store", sku="sku", t="t", kind="kind")
    # the original rows are all there, unchanged; the additions are positive receipts
    # no later than the outflow they cover
    orig = out.loc[out.index < len(mv)].sort_index()
    pd.testing.assert_frame_equal(orig, mv.loc[:, orig.columns])
    added = out.loc[out.index >= len(mv)]
    assert (added["kind"] == "receive").all() and (added["qty"] > 0).all()
    assert (added["t"] >= 0).all()
    assert out["t"].is_monotonic_increasing
    # minimal: per store and SKU the receipts added equal the deepest shortfall
    signed = mv["kind"].map(_SIGN).fillna(-1) * mv["qty"]
    o = mv.assign(signed=signed, _out=signed < 0).sort_values(["store", "sku", "t", "_out"])
    deepest = o.groupby(["store", "sku"])["signed"].cumsum().groupby([o["store"], o["sku"]]).min()
    want = np.maximum(-deepest, 0)
    got = added.groupby(["store", "sku"])["qty"].sum().reindex(want.index, fill_value=0.0)
    np.testing.assert_allclose(got.to_numpy(float), want.to_numpy(float))


def test_conserved_input_is_left_alone() -> None:
    mv = _frame([(0, 0, "receive", 10, 1.0), (0, 0, "issue", 10, 2.0), (1, 0, "loss", 3, 0.5)])
    out = conserve_stock(mv.iloc[:2])
    assert len(out) == 2
    out = conserve_stock(mv)
    added = out.loc[out.index >= 3]
    assert added[["store", "kind", "qty"]].values.tolist() == [[1, "receive", 3.0]]
    assert 0 < added["t"].iloc[0] < 0.5
