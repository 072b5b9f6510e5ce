"""The streamed, compact allocation gives exactly what the merge-based one gave.

``tests/attribution/alloc_reference.py`` keeps the algorithm as it was before the
rewrite; the ledger, the allocation lines (same rows, order, dtypes and floating-point
amounts), the monthly conservation and the acquisition units every CAC table is built
from must be identical on the demo simulation, on the dirty demo after validation, on a
hand-made export and under other rules.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from alloc_reference import reference_allocation, reference_units
from test_export_fixture import export  # noqa: F401  (the hand-made export fixture)

from salesml.attribution import allocate_costs, cac, default_rules, what_if
from salesml.attribution.allocation import driver_frame
from salesml.attribution.allocation.drivers import driver_view
from salesml.attribution.units import acquisition_units
from salesml.data.validate import validate
from salesml.simulator import simulate


@pytest.fixture(scope="module")
def dirty_clean():
    raw, _ = simulate(preset="demo", seed=0, dirty=True)
    return validate(raw).data


def _same(data, **kw) -> None:
    al = allocate_costs(data, **kw)
    ledger, lines, monthly = reference_allocation(data, **kw)
    pd.testing.assert_frame_equal(al.table, ledger, check_exact=True)
    pd.testing.assert_frame_equal(al.lines, lines, check_exact=True)
    pd.testing.assert_frame_equal(al.monthly, monthly, check_exact=True)
    assert len(al.compact) == len(lines)
    ref = SimpleNamespace(lines=lines, data=al.data, memo={})
    for period in (None, "2026-Q1"):
        fresh = allocate_costs(data, **kw)  # units from the compact lines, frame never built
        got = acquisition_units(fresh, period=period)
        assert fresh.compact._frame is None
        pd.testing.assert_frame_equal(got, reference_units(ref, period=period), check_exact=True)


def test_demo_identical(demo) -> None:
    data, _ = demo
    _same(data)
    _same(data, period="2026-Q2", filters={"category": ["tools", "media", "travel"]})


def test_dirty_demo_identical(dirty_clean) -> None:
    _same(dirty_clean)


def test_export_identical(export) -> None:  # noqa: F811
    _same(export)


def test_other_rules_identical(demo) -> None:
    data, _ = demo
    rules = default_rules()
    cats = rules["categories"]
    # a cross join (no scope), a three-key scope and a customer column in a filter
    cats["channel_fees"] = [
        {
            "name": "won partner deals",
            "driver": "deals",
            "filter": 'outcome == "won" and source_channel == "partner"',
            "weight": "amount",
        }
    ]
    cats["travel"] = [
        {
            "name": "rep store month",
            "driver": "activities",
            "scope": ["rep_id", "store_id", "month"],
            "filter": 'region != "x" and kind == "visit"',
        }
    ]
    _same(data, rules=rules)


def test_driver_view_is_driver_frame(demo) -> None:
    data, _ = demo
    for name in ("leads", "activities", "deals", "redemptions"):
        full, cols = driver_view(data, name)
        assert cols == list(full.columns)
        pd.testing.assert_frame_equal(full, driver_frame(data, name), check_exact=True)
        part, _ = driver_view(data, name, ["month", "action_at"])
        assert list(part.columns) == ["action_at", "month"]
        pd.testing.assert_frame_equal(part, full[["action_at", "month"]], check_exact=True)


def test_cac_and_what_if_from_compact_lines(demo) -> None:
    data, _ = demo
    al = allocate_costs(data)
    c = cac(al, by="channel", n_boot=50)
    w = what_if(al, budget_shift={"wechat": 1.2}, n_boot=50)
    assert al.compact._frame is None  # CAC never built the lines frame
    assert np.isfinite(c.table["cac"]).any()
    assert (w.table["budget_factor"] > 1).any()
    assert len(al.lines) == len(al.compact)
