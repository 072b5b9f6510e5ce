"""The CAC bootstrap split into pieces of replicates: the same sums in-process, in pieces,
on a Dask cluster; and CAC / month-by-month allocation on the cluster equal to in-process."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from salesml.attribution import acquisition_units, cac
from salesml.attribution.allocation import allocate_costs_by_month
from salesml.attribution.bootstrap import BLOCK, boot_sums
from salesml.data.io import save_dataset

COLUMNS = ("acquisition_cost", "revenue", "acquired_n")


@pytest.fixture(scope="module")
def units(demo_allocation) -> pd.DataFrame:
    u = acquisition_units(demo_allocation)
    return u.assign(acquired_n=u["acquired"].astype("float64"))


def _same(a, b) -> None:
    (ka, pa, ra), (kb, pb, rb) = a, b
    pd.testing.assert_frame_equal(ka, kb)
    for c in COLUMNS:
        np.testing.assert_array_equal(pa[c], pb[c])
        np.testing.assert_array_equal(ra[c], rb[c])


def test_pieces_give_the_same_replicates(units) -> None:
    n_boot = 3 * BLOCK + 7  # a partial last block
    one = boot_sums(units, ["channel"], COLUMNS, n_boot=n_boot, seed=5)
    assert one[2]["acquisition_cost"].shape == (n_boot, len(one[0]))
    for pieces in (2, 3, 50):
        _same(boot_sums(units, ["channel"], COLUMNS, n_boot=n_boot, seed=5, pieces=pieces), one)
    # drawn a few replicates at a time (another chunking inside a block): the same draws
    small = boot_sums(units, ["channel"], COLUMNS, n_boot=n_boot, seed=5, chunk_cells=len(units))
    _same(small, one)
    # the replicates differ from each other and from another seed's (the test can fail)
    reps = one[2]["acquisition_cost"]
    assert len(np.unique(reps[:, 0])) > n_boot // 2
    other = boot_sums(units, ["channel"], COLUMNS, n_boot=n_boot, seed=6)[2]["acquisition_cost"]
    assert not np.array_equal(other, reps)
    # the first replicates do not depend on how many follow
    fewer = boot_sums(units, ["channel"], COLUMNS, n_boot=BLOCK + 3, seed=5, pieces=2)
    np.testing.assert_array_equal(fewer[2]["revenue"], one[2]["revenue"][: BLOCK + 3])


def test_bootstrap_on_dask_equals_in_process(units, dask_client) -> None:
    one = boot_sums(units, ["channel", "visit_band"], COLUMNS, n_boot=60, seed=1)
    got = boot_sums(
        units, ["channel", "visit_band"], COLUMNS, n_boot=60, seed=1, client=dask_client
    )
    _same(got, one)
    _same(
        boot_sums(
            units,
            ["channel", "visit_band"],
            COLUMNS,
            n_boot=60,
            seed=1,
            client=dask_client,
            pieces=3,
        ),
        one,
    )


def test_cac_on_dask_equals_in_process(demo_allocation, dask_client) -> None:
    from dataclasses import replace

    fresh = replace(demo_allocation, memo={})  # no cached bootstrap sums
    got = cac(fresh, by="all", n_boot=60, seed=3, client=dask_client).table
    exp = cac(demo_allocation, by="all", n_boot=60, seed=3).table
    pd.testing.assert_frame_equal(got, exp, check_exact=True)


@pytest.fixture(scope="module")
def month_folder(tmp_path_factory):
    from salesml.simulator import simulate

    data, _ = simulate(preset="tiny", seed=7, n_customers=80, n_deals=100, n_reps=6, months=5)
    return save_dataset(data, tmp_path_factory.mktemp("dask_month") / "d", partition="month")


def test_allocation_by_month_on_dask_equals_in_process(month_folder, dask_client) -> None:
    here = allocate_costs_by_month(month_folder, keep_activities=True)
    there = allocate_costs_by_month(month_folder, keep_activities=True, client=dask_client)
    assert there.months == here.months and len(here.months) >= 5
    pd.testing.assert_frame_equal(there.table, here.table, check_exact=True)
    pd.testing.assert_frame_equal(there.lines, here.lines, check_exact=True)
    pd.testing.assert_frame_equal(there.monthly, here.monthly, check_exact=True)
    assert len(here.lines) > 1000
    a, b = here.allocation(), there.allocation()
    pd.testing.assert_frame_equal(
        acquisition_units(b), acquisition_units(a), check_exact=True, check_categorical=False
    )
    c_here = cac(a, by="all", n_boot=40, seed=2).table
    c_there = cac(b, by="all", n_boot=40, seed=2, client=dask_client).table
    pd.testing.assert_frame_equal(c_there, c_here, check_exact=True, check_categorical=False)
    assert c_here["acquired"].sum() > 0
