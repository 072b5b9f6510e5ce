"""Journeys of a period are built from the touches of the journeys that can end in it only;
the table is the one selected from every journey, row for row."""

from __future__ import annotations

import pandas as pd
import pytest

from salesml.attribution.journeys import journeys, select_journeys
from salesml.periods import Period


@pytest.mark.parametrize("period", ["2026-09", "2026-Q3", "2020-01"])
@pytest.mark.parametrize("label", ["kind", "channel", None])
def test_period_journeys_equal_the_selection_of_all(demo, period, label) -> None:
    data, _ = demo
    got = journeys(data, period=period, activity_label=label).table
    every = journeys(data, activity_label=label).table
    exp = select_journeys(every, period=Period.parse(period)).reset_index(drop=True)
    pd.testing.assert_frame_equal(got, exp, check_exact=True)
    if period != "2020-01":
        assert 0 < len(got) < len(every) and got["converted"].any()
