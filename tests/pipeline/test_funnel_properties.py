"""Property tests of the funnel and breakpoints on random small datasets (hypothesis)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from salesml.data.bundle import SalesData
from salesml.pipeline import clear_cache, funnel, funnel_breakpoints, stage_durations

STAGES = ["qualification", "needs_analysis", "proposal", "negotiation", "contract"]


@st.composite
def datasets(draw: st.DrawFn) -> SalesData:
    n = draw(st.integers(1, 60))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    furthest = rng.integers(0, 5, n)
    outcome = rng.choice(["open", "won", "lost"], n)
    outcome = np.where((outcome == "won") & (furthest < 4), "lost", outcome)
    created = pd.Timestamp("2026-01-01") + pd.to_timedelta(rng.integers(0, 90, n), unit="D")
    ids = [f"D{i}" for i in range(n)]
    hist = []
    closed = []
    for i in range(n):
        t = created[i]
        for k in range(furthest[i] + 1):
            hist.append({"deal_id": ids[i], "entered_at": t, "stage": STAGES[k]})
            last = t
            t = t + pd.Timedelta(days=int(rng.integers(1, 20)))
        closed.append(pd.NaT if outcome[i] == "open" else last + pd.Timedelta(days=3))
    customers = pd.DataFrame(
        {
            "customer_id": ids,
            "region": rng.choice(["A", "B", "C"], n),
            "segment": rng.choice(["x", "y"], n),
            "source_channel": "wechat",
            "created_at": pd.Timestamp("2025-01-01"),
        }
    )
    deals = pd.DataFrame(
        {
            "deal_id": ids,
            "customer_id": ids,
            "rep_id": "R1",
            "created_at": created,
            "stage": [STAGES[k] for k in furthest],
            "amount": 1.0,
            "product_line": "service",
            "outcome": outcome,
            "closed_at": pd.to_datetime(pd.Series(closed, dtype="datetime64[us]")),
        }
    )
    return SalesData({"deals": deals, "customers": customers, "stage_history": pd.DataFrame(hist)})


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(datasets())
def test_funnel_invariants(data: SalesData) -> None:
    clear_cache()
    n = len(data.deals)
    whole = funnel(data).table
    reached = whole["reached"].to_numpy()
    assert reached[0] == n
    assert (np.diff(reached) <= 0).all()
    assert reached[-1] == (data.deals["outcome"] == "won").sum()
    assert (whole["advanced"] <= whole["decided"]).all()
    conv = whole["conversion"].dropna()
    assert ((conv >= 0) & (conv <= 1)).all()
    assert whole["open_here"].sum() == (data.deals["outcome"] == "open").sum()
    assert whole["lost_here"].sum() == (data.deals["outcome"] == "lost").sum()
    by = funnel(data, by=["region", "segment"])
    pd.testing.assert_frame_equal(
        by.overall()[["reached", "open_here", "lost_here"]],
        whole[["reached", "open_here", "lost_here"]],
    )
    months = [funnel(data, period=m).n_deals for m in ("2026-01", "2026-02", "2026-03")]
    assert sum(months) == n


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(datasets())
def test_breakpoints_and_durations_do_not_break(data: SalesData) -> None:
    clear_cache()
    b = funnel_breakpoints(data, by="region")
    t = b.table
    assert len(t) == t["region"].nunique() * len(STAGES)
    p = t["p_adjusted"].dropna()
    assert ((p >= 0) & (p <= 1)).all()
    assert not (t["breakpoint"] & ~t["significant"]).any()
    d = stage_durations(data, as_of="2026-12-31")
    assert d.overall["stays"].sum() == len(data.stage_history)
    med = d.overall["median_days"].dropna()
    assert (med >= 0).all()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(datasets())
def test_deals_only_invariants(data: SalesData) -> None:
    clear_cache()
    deals = data.deals
    only = SalesData({"deals": deals, "customers": data.customers})
    t = funnel(only).table
    first_lost = bool(((deals["outcome"] == "lost") & (deals["stage"] == STAGES[0])).any())
    assert bool(t["measurable"].iloc[0]) == first_lost
    if not first_lost:
        assert np.isnan(t["conversion"].iloc[0])  # never a 100% by construction
    assert t["reached"].iloc[0] == len(deals)
    d = stage_durations(only, as_of="2026-12-31")
    assert d.method == "cycle"
    row = d.overall.iloc[0]
    assert row["stays"] + d.n_left_out == len(deals)
    assert row["completed"] == (deals["outcome"] != "open").sum()
    if pd.notna(row["km_p90_days"]):
        assert row["km_p90_days"] >= row["km_median_days"]
