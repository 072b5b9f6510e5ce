"""CAC, the cac_monthly report and the cac_whatif state read from a dataset folder.

A month-partitioned folder is allocated month by month (never held whole); the results
must be those of the in-memory path on the loaded data, exactly.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from salesml.apps.cac_whatif.state import CacWhatIfState
from salesml.attribution import allocate_costs, cac, cac_monthly
from salesml.attribution.allocation.by_month import allocate_dataset, is_month_partitioned
from salesml.data.io import load_dataset, save_dataset

PERIOD = "2025-09"


@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> tuple[Path, Path]:
    """A small simulation saved month-partitioned and as one file per table."""
    from salesml.simulator import simulate

    data, _ = simulate(preset="tiny", seed=4, n_customers=150, n_deals=200, n_reps=6, months=6)
    root = tmp_path_factory.mktemp("cac_folder")
    return save_dataset(data, root / "month", partition="month"), save_dataset(data, root / "one")


@pytest.fixture(scope="module")
def whole(folders):
    """The in-memory path: the folder loaded, then allocated."""
    return allocate_costs(load_dataset(folders[0], progress=False))


def _equal(got: pd.DataFrame | None, exp: pd.DataFrame | None) -> None:
    assert got is not None and exp is not None
    pd.testing.assert_frame_equal(
        got.reset_index(drop=True),
        exp.reset_index(drop=True),
        check_exact=True,
        check_categorical=False,
    )


def test_folder_is_allocated_month_by_month(folders, whole) -> None:
    month, one = folders
    assert is_month_partitioned(month) and not is_month_partitioned(one)
    al = allocate_dataset(month)
    assert al.folder == month and "activity_id" not in al.data.activities  # CAC's columns only
    _equal(al.lines, whole.lines)
    flat = allocate_dataset(one)
    assert flat.folder is None
    _equal(flat.lines, allocate_costs(load_dataset(one, progress=False)).lines)


def test_cac_monthly_from_a_folder_equals_the_loaded_data(folders, whole) -> None:
    got = cac_monthly(folders[0], period=PERIOD, n_boot=40, seed=2)
    exp = cac_monthly(whole, period=PERIOD, n_boot=40, seed=2)
    assert got.allocation.folder == folders[0]
    assert got.table["acquired"].sum() > 3
    for method, args in (
        ("channel_table", ()),
        ("band_table", ("visit_band",)),
        ("band_table", ("cycle_band",)),
        ("combined_table", ()),
        ("roi_table", ()),
        ("touch_table", ()),
        ("cost_table", ()),
        ("unallocated_table", ()),
    ):
        _equal(getattr(got, method)(*args), getattr(exp, method)(*args))
    _equal(got.overall.table, exp.overall.table)
    assert got.key_findings("en") == exp.key_findings("en")


def test_the_report_reads_the_folder_not_its_loaded_tables(folders, whole, monkeypatch) -> None:
    from salesml.reports import notebook
    from salesml.reports.catalog.cac_monthly import compute

    monkeypatch.setattr(notebook, "_display", lambda bundle: None)
    report = notebook.start_report(
        "cac_monthly", dataset=str(folders[0]), period=PERIOD, bootstrap=40, seed=2
    )
    assert "costs" not in report.data and "activities" not in report.data
    assert set(report.data.customers.columns) <= {
        "customer_id",
        "store_id",
        "region",
        "segment",
        "source_channel",
    }
    got = compute(report)
    exp = cac_monthly(whole, period=PERIOD, n_boot=40, seed=2)
    assert got.allocation.folder == folders[0]
    _equal(got.channel_table(), exp.channel_table())
    _equal(got.combined_table(), exp.combined_table())
    # the report on a flat folder loads the tables and computes in memory: the same table
    flat = notebook.start_report(
        "cac_monthly", dataset=str(folders[1]), period=PERIOD, bootstrap=40, seed=2
    )
    _equal(compute(flat).channel_table(), exp.channel_table())


def test_cac_monthly_changes_with_the_seed(whole) -> None:
    """The equality above can fail: another seed gives other intervals."""
    a = cac_monthly(whole, period=PERIOD, n_boot=40, seed=2).table
    b = cac_monthly(whole, period=PERIOD, n_boot=40, seed=3).table
    assert not a["cac_low"].fillna(0).equals(b["cac_low"].fillna(0))


@pytest.fixture(scope="module")
def app_states(folders):
    """The app opened on the folder, and on the loaded data."""
    month, _ = folders
    return CacWhatIfState.from_dataset(month), CacWhatIfState(load_dataset(month, progress=False))


def test_app_on_a_folder_equals_the_app_on_loaded_data(app_states, whole) -> None:
    got, exp = app_states
    assert got.error == "" and exp.error == ""
    assert got._base.folder is not None and exp._base.folder is None
    _equal(got._base.lines, whole.lines)
    _equal(got._base.table, whole.table)
    assert got.channels == exp.channels
    _equal(got.result.table, exp.result.table)
    _equal(got.result.roi, exp.result.roi)
    for st in (got, exp):
        st.set_factor(got.channels[0], 1.5)
    _equal(got.result.table, exp.result.table)
    # the editor offers the driver's every column (read from one month of the folder)
    assert list(got._driver_columns("activities").index) == list(
        exp._driver_columns("activities").index
    )
    assert got.rule_check == ""


def test_app_on_a_folder_applies_rules_month_by_month(app_states) -> None:
    got, exp = app_states
    for st in (got, exp):
        st.edit_category = "travel"
        st.edit_filter = 'kind == "visit"'
        assert st.apply_rule(), st.rule_check
    assert got._allocation() is not got._base
    assert got._allocation().folder is not None
    _equal(got._allocation().lines, exp._allocation().lines)
    _equal(got.result.table, exp.result.table)
    # a scope spanning months cannot be allocated month by month: refused, rules kept
    rules = got.rules
    got.edit_scope = "rep_id"
    assert got.rule_check == ""
    assert got.apply_rule() is False
    assert "spans months" in got.rule_check and "[rep_id]" in got.rule_check
    assert got.rules == rules
    got.lang = "zh"  # the refusal comes from the label catalog, in the viewer's language
    assert got.apply_rule() is False and "跨越多个月" in got.rule_check
    got.lang = "en"
    exp.edit_scope = "rep_id"
    assert exp.apply_rule()  # in memory it can
    for st in (got, exp):
        st.reset_rules()


def test_cac_takes_a_folder(folders, whole) -> None:
    got = cac(folders[1], by="all", n_boot=30, seed=1).table
    _equal(got, cac(whole, by="all", n_boot=30, seed=1).table)
