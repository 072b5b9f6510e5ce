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


def test_period_journeys_same_with_category_ids(demo) -> None:
    """The folder allocation keeps activities' ``customer_id`` as a category (looked up
    per category, not per row): the same journeys as from text ids, missing ids too."""
    data, _ = demo
    ids = data.activities["customer_id"].astype("str")
    ids.iloc[::97] = pd.NA  # activities with no customer: in no journey
    cat_ids = ids.astype("category")
    assert isinstance(cat_ids.dtype, pd.CategoricalDtype) and cat_ids.isna().any()

    def built(customer_id: pd.Series) -> pd.DataFrame:
        acts = data.activities.assign(customer_id=customer_id)
        alt = type(data)({**data.tables, "activities": acts}, data.config)
        return journeys(alt, period="2026-09", activity_label="kind").table

    got, exp = built(cat_ids), built(ids)
    pd.testing.assert_frame_equal(got, exp, check_exact=True)
    assert got["converted"].any()
