"""The opt-in planted lead quality: off it changes nothing, on it drives conversion."""

from __future__ import annotations

import numpy as np
import pandas as pd

from salesml.simulator import simulate

PLANTED = ("project_area_m2", "budget_band", "inspected_at", "findings_reported")


def test_off_by_default_no_columns_and_empty_truth(demo_data) -> None:
    data, truth = demo_data
    assert not set(PLANTED) & set(data.leads.columns)
    assert truth.lead_quality.empty
    assert list(truth.lead_quality.columns) == ["quality", "p_convert"]


def test_on_keeps_the_shared_stream_and_plants_signals(demo_data, quality_demo) -> None:
    off, _ = demo_data
    on, truth = quality_demo
    # the leads themselves are drawn before the quality: same ids, times and channels
    a = off.leads.set_index("lead_id").sort_index()
    b = on.leads.set_index("lead_id").sort_index()
    assert a.index.equals(b.index)
    pd.testing.assert_series_equal(a["created_at"], b["created_at"])
    pd.testing.assert_series_equal(a["channel"], b["channel"])
    pd.testing.assert_frame_equal(off.reps, on.reps)
    # the overall conversion rate is kept (re-centred quality effect)
    conv_off = (a["status"] == "converted").mean()
    conv_on = (b["status"] == "converted").mean()
    assert abs(conv_on - conv_off) < 0.02
    q = truth.lead_quality.reindex(b.index)
    assert q.notna().all().all() and abs(q["quality"].mean()) < 0.05
    # conversion rises with quality, quartile by quartile
    conv = (b["status"] == "converted").groupby(pd.qcut(q["quality"], 4)).mean().to_numpy()
    assert np.all(np.diff(conv) > 0.03), conv
    # signals: inspections after creation, findings only where inspected
    insp = b["inspected_at"].notna()
    assert (b.loc[insp, "inspected_at"] > b.loc[insp, "created_at"]).all()
    assert b.loc[~insp, "findings_reported"].isna().all()
    assert set(b["budget_band"].unique()) == {"low", "mid", "high"}
    assert np.corrcoef(np.log(b["project_area_m2"]), q["quality"])[0, 1] > 0.7


def test_same_seed_same_quality() -> None:
    _, t1 = simulate(preset="tiny", seed=3, lead_quality=True)
    _, t2 = simulate(preset="tiny", seed=3, lead_quality=True)
    pd.testing.assert_frame_equal(t1.lead_quality, t2.lead_quality)
    assert len(t1.lead_quality) > 0
