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


@pytest.mark.parametrize("as_category", [True, False])
def test_period_journeys_same_with_category_ids(demo, as_category) -> None:
    """The folder allocation keeps activities' ``customer_id`` as a category (looked up
    per category, not per row): the same journeys as from text ids, missing ids too."""
    data, _ = demo
    acts = data.activities.copy()
    ids = acts["customer_id"].astype("str")
    ids.iloc[::97] = pd.NA  # activities with no customer: in no journey
    acts["customer_id"] = ids.astype("category") if as_category else ids
    tables = {**data.tables, "activities": acts}
    alt = type(data)(tables, data.config)
    text = type(data)({**tables, "activities": acts.assign(customer_id=ids)}, data.config)
    got = journeys(alt, period="2026-09", activity_label="kind").table
    exp = journeys(text, period="2026-09", activity_label="kind").table
    pd.testing.assert_frame_equal(got, exp, check_exact=True)
    assert got["converted"].any()
