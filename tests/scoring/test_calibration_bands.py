"""Calibration on a later slice, intervals, and bands named from the catalog."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from salesml.scoring import (
    Calibrator,
    assign_bands,
    band_name,
    band_range,
    describe_bands,
    expected_calibration_error,
    time_slice,
)


def test_shrunk_isotonic_never_promises_zero_and_is_monotone() -> None:
    rng = np.random.default_rng(0)
    raw = rng.normal(size=3000)
    y = (rng.random(3000) < 1 / (1 + np.exp(-2 * raw))).astype(float)
    y[raw < -2.2] = 0.0  # a block without a single win
    cal = Calibrator.fit(raw, y)
    assert cal.method == "isotonic"  # auto: >= 1000 rows and >= 50 wins
    p = cal(np.linspace(-4, 4, 200))
    assert (np.diff(p) >= -1e-12).all()
    assert p.min() > 0.0 and p.max() < 1.0
    lowest = cal(np.array([-3.0]))[0]
    n_block = int((raw < -2.2).sum())
    # the lowest step pools k >= n_block rows without a win and says 0.5 / (k + 1), not 0
    k = 0.5 / lowest - 1
    assert abs(k - round(k)) < 1e-6 and round(k) >= n_block
    assert expected_calibration_error(y, cal(raw)) < 0.03
    back = Calibrator.from_dict(cal.to_dict())
    assert np.allclose(back(raw), cal(raw)) and np.allclose(back.support, cal.support)


def test_platt_for_small_slices_and_intervals() -> None:
    rng = np.random.default_rng(1)
    raw = rng.normal(size=300)
    y = (rng.random(300) < 1 / (1 + np.exp(-raw))).astype(float)
    cal = Calibrator.fit(raw, y)
    assert cal.method == "platt"
    p = cal(raw)
    low, high = cal.interval(p, 1.645)
    assert ((low <= p) & (p <= high)).all()
    with pytest.raises(ValueError, match="calibration must be"):
        Calibrator.fit(raw, y, method="beta")


def test_time_slice_holds_out_the_latest_times() -> None:
    times = pd.Series(pd.date_range("2026-01-05", periods=8, freq="W-MON").repeat(3))
    sl = time_slice(times, share=0.25)
    assert sl.split == "time"
    assert sl.window == (pd.Timestamp("2026-02-16"), pd.Timestamp("2026-02-23"))
    assert times[sl.is_calibration].min() > times[~sl.is_calibration].max()
    one = time_slice(pd.Series([pd.Timestamp("2026-01-05")] * 40), share=0.25)
    assert one.split == "ids" and 0 < one.is_calibration.sum() < 40


def test_bands_from_the_catalog() -> None:
    assert band_name("at_risk", "zh") == "高风险" and band_name("watch") == "Watch"
    assert describe_bands() == "At risk < 25 ≤ Watch < 50 ≤ Healthy"
    assert describe_bands((30, 60), "zh") == "高风险 < 30 ≤ 关注 < 60 ≤ 健康"
    assert band_range("watch", (30, 60)) == "30-60"
    s = pd.Series([10.0, 25.0, 49.9, 50.0, np.nan], index=list("abcde"))
    b = assign_bands(s)
    assert b.iloc[:4].tolist() == ["at_risk", "watch", "watch", "healthy"]
    assert pd.isna(b["e"]) and list(b.index) == list("abcde")
    with pytest.raises(ValueError):
        assign_bands(s, (60, 30))
