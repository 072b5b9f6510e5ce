"""The team builder's projected compact load (issue 16) opens on the same scores,
placement and group summary as the whole dataset held in memory."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from salesml.apps.team_builder.state import LOAD_COLUMNS, TeamBuilderState
from salesml.data.io import save_dataset


@pytest.mark.slow
def test_projected_load_gives_the_whole_datasets_state(demo_data, tmp_path: Path) -> None:
    data, _ = demo_data
    folder = save_dataset(data, tmp_path / "m", partition="month")
    proj = TeamBuilderState.from_dataset(folder)
    assert "customer_id" not in proj.data.activities
    assert isinstance(proj.data.activities["rep_id"].dtype, pd.CategoricalDtype)
    assert set(LOAD_COLUMNS["activities"]) == set(proj.data.activities.columns)
    full = TeamBuilderState(data)
    pd.testing.assert_frame_equal(
        proj.scores.table, full.scores.table, check_dtype=False, check_categorical=False
    )
    pd.testing.assert_frame_equal(
        proj.proposal.table, full.proposal.table, check_dtype=False, check_categorical=False
    )
    pd.testing.assert_frame_equal(proj.summary, full.summary)
    assert proj.assignment == full.assignment
