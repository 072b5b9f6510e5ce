"""Journeys built per chunk of customers, in this process and on a Dask cluster: identical.

Run with ``-n 0`` (the ``dask_client`` fixture starts a LocalCluster of 2 worker
processes once per session).
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from salesml.attribution import journeys
from salesml.data.bundle import SalesData
from salesml.data.io import load_dataset, save_dataset
from salesml.distributed import ENV_VAR
from salesml.simulator import simulate


@pytest.fixture(scope="module")
def parts(tmp_path_factory: pytest.TempPathFactory) -> SalesData:
    """The tiny preset written month-partitioned and loaded back compact (as at tier L)."""
    data, _ = simulate(preset="tiny", seed=5)
    folder = tmp_path_factory.mktemp("journeys") / "tiny-parts"
    save_dataset(data, folder, partition="month")
    assert (folder / "activities").is_dir()  # hive folders month=YYYY-MM
    return load_dataset(
        folder, tables=["customers", "deals", "leads", "activities"], compact=True, progress=False
    )


@pytest.fixture(scope="module")
def whole(parts: SalesData) -> pd.DataFrame:
    return journeys(parts).table


@pytest.mark.parametrize("chunks", [2, 7, 40])
def test_chunks_in_process_are_identical(
    parts: SalesData, whole: pd.DataFrame, chunks: int
) -> None:
    got = journeys(parts, chunks=chunks).table
    assert len(got) == len(whole) > 100
    pd.testing.assert_frame_equal(got, whole, check_exact=True)


def test_cluster_is_identical(parts: SalesData, whole: pd.DataFrame, dask_client: Any) -> None:
    from distributed import get_task_stream

    with get_task_stream(client=dask_client) as ts:
        got = journeys(parts, client=dask_client).table
    pd.testing.assert_frame_equal(got, whole, check_exact=True)
    ran = [t for t in ts.data if t["key"].startswith("_chunk_paths")]
    workers = {t["worker"] for t in ran}
    assert len(ran) == 4 and workers <= set(dask_client.scheduler_info()["workers"])


def test_cluster_options_and_env_var(
    parts: SalesData, dask_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another label, no collapsing, a period, ``as_of``, a filter: the same on the
    cluster named only by ``SALESML_DASK_SCHEDULER``."""
    opts: dict[str, Any] = {
        "activity_label": "channel",
        "collapse_repeats": False,
        "as_of": "2026-06-01",
        "filters": {"converted": False},
    }
    here = journeys(parts, **opts).table
    monkeypatch.setenv(ENV_VAR, dask_client.scheduler.address)
    there = journeys(parts, chunks=5, **opts).table
    assert len(here) > 10
    pd.testing.assert_frame_equal(there, here, check_exact=True)


def test_no_touches_and_bad_separator(parts: SalesData) -> None:
    empty = SalesData(
        {
            "customers": parts.customers.iloc[:0],
            "deals": parts.deals.iloc[:0],
            "leads": parts.leads.iloc[:0],
        },
        parts.config,
    )
    got = journeys(empty, activity_label=None, chunks=4).table
    assert got.empty and list(got.columns) == list(journeys(empty, activity_label=None).table)
    with pytest.raises(ValueError, match="path separator"):
        journeys(parts, sep="_", chunks=3)  # labels such as online_ads contain "_"


def test_hand_made_export() -> None:
    """A small export by hand: empty cells, a customer without region or store column,
    a lead never converted, an activity without a deal, a touch on the acquisition
    day: chunked or not, the same journeys."""
    from salesml.data.config import DatasetConfig

    t = pd.Timestamp
    customers = pd.DataFrame(
        {
            "customer_id": ["C1", "C2", "C3"],
            "segment": ["mid_market", None, "key_account"],
            "region": ["East", "West", None],
            "source_channel": ["wechat", None, "referral"],
            "created_at": [t("2026-01-03"), t("2026-01-10"), t("2026-02-01")],
        }
    )
    leads = pd.DataFrame(
        {
            "lead_id": ["L1", "L2", "L3", "L9"],
            "customer_id": ["C1", "C1", "C3", None],
            "channel": ["wechat", "exhibition", "referral", "online_ads"],
            "created_at": [t("2026-01-01"), t("2026-01-02"), t("2026-01-30"), t("2026-02-05")],
        }
    )
    deals = pd.DataFrame(
        {
            "deal_id": ["D1", "D2", "D3"],
            "customer_id": ["C1", "C1", "C3"],
            "created_at": [t("2026-01-04"), t("2026-03-01"), t("2026-02-02")],
            "amount": [1000.0, 500.0, None],
            "outcome": ["won", "won", "lost"],
            "closed_at": [t("2026-02-01"), t("2026-04-01"), t("2026-03-01")],
        }
    )
    activities = pd.DataFrame(
        {
            "activity_id": ["A1", "A2", "A3", "A4", "A5"],
            "customer_id": ["C1", "C1", "C1", "C2", "C3"],
            "deal_id": ["D1", None, "D2", None, "D3"],
            "kind": ["visit", "call", "visit", "message", "demo"],
            "channel": ["onsite", "phone", "onsite", "wechat", "onsite"],
            "occurred_at": [
                t("2026-01-05"),
                t("2026-02-01"),  # the acquisition day: kept (<=)
                t("2026-03-02"),  # after acquisition: cut
                t("2026-01-20"),
                t("2026-02-10"),
            ],
        }
    )
    data = SalesData(
        {"customers": customers, "leads": leads, "deals": deals, "activities": activities},
        DatasetConfig(),
    )
    one = journeys(data).table
    two = journeys(data, chunks=3).table
    pd.testing.assert_frame_equal(two, one, check_exact=True)
    by_id = one.set_index("journey_id")
    assert by_id.loc["C1", "path"] == "wechat>exhibition>visit>call"
    assert bool(by_id.loc["C1", "converted"]) and by_id.loc["C1", "value"] == 1000.0
    assert by_id.loc["L9", "kind"] == "lead" and not bool(by_id.loc["L9", "converted"])
    assert by_id.loc["C2", "path"] == "message" and pd.isna(by_id.loc["C2", "channel"])
