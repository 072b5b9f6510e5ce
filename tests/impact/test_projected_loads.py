"""Projected loads (issue 16): a report or app loading only the columns the KPIs read
gives the same tables as one loading every column.

Both loads are compact, from the demo dataset saved month-partitioned (a projection
applies to partitioned Parquet tables, as at tier L).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from salesml.data.io import load_dataset, save_dataset
from salesml.data.schema import SPECS
from salesml.impact.kpis import KPI_COLUMNS, KPIS
from salesml.reports import get_report, validate_params
from salesml.reports.notebook import Report


@pytest.fixture(scope="module")
def demo_parts(demo_data, tmp_path_factory: pytest.TempPathFactory) -> Path:
    data, _ = demo_data
    return save_dataset(data, tmp_path_factory.mktemp("projected") / "m", partition="month")


def section_outputs(report: Report) -> dict[str, Any]:
    """Every section's tables and findings (what the report shows, figures aside)."""
    out: dict[str, Any] = {}
    for s in report.spec.sections:
        res = report.result(s.name)
        if s.findings is not None:
            out[f"{s.name}.findings"] = s.findings(report)
        for i, tbl in enumerate(s.tables):
            out[f"{s.name}.{i}"] = tbl.frame(res, report)
    return out


def assert_same_outputs(got: dict[str, Any], want: dict[str, Any]) -> None:
    assert got.keys() == want.keys()
    for key, value in want.items():
        if isinstance(value, pd.DataFrame):
            pd.testing.assert_frame_equal(got[key], value, obj=key)
        else:
            assert got[key] == value, key


def report_on(name: str, folder: Path, period: str, *, projected: bool) -> Report:
    spec = get_report(name)
    columns = {t: list(c) for t, c in spec.columns.items()} if projected else None
    data = load_dataset(folder, tables=spec.loads, compact=True, columns=columns, progress=False)
    params = validate_params(spec.params, {"dataset": str(folder), "period": period}, report=name)
    return Report(spec=spec, params=params, data=data)


def test_kpi_columns_come_from_the_kpi_declarations() -> None:
    for table, cols in KPI_COLUMNS.items():
        declared = {
            c.split(".")[1] for k in KPIS.values() for c in k.columns if c.startswith(f"{table}.")
        }
        assert declared <= set(cols), table
        assert SPECS[table].time_column in cols
    # the big tables lose what no KPI reads
    assert "activity_id" not in KPI_COLUMNS["activities"]
    assert "role" not in KPI_COLUMNS["collab_events"]
    assert "cost_id" not in KPI_COLUMNS["costs"]
    assert get_report("impact_review").columns == KPI_COLUMNS


@pytest.mark.slow
def test_impact_review_projected_load_gives_the_full_loads_tables(demo_parts: Path) -> None:
    full = report_on("impact_review", demo_parts, "2026-Q3", projected=False)
    proj = report_on("impact_review", demo_parts, "2026-Q3", projected=True)
    assert "role" in full.data.collab_events and "role" not in proj.data.collab_events
    assert "cost_id" in full.data.costs and "cost_id" not in proj.data.costs
    got, want = section_outputs(proj), section_outputs(full)
    assert len(want["table.0"]) == len(KPIS)
    assert_same_outputs(got, want)


@pytest.mark.slow
def test_impact_explorer_projected_load_gives_the_full_loads_estimate(demo_parts: Path) -> None:
    from salesml.apps.impact_explorer.state import ImpactExplorerState

    proj = ImpactExplorerState.from_dataset(demo_parts)
    assert "channel" not in proj.data.activities
    full = ImpactExplorerState(
        load_dataset(demo_parts, tables=ImpactExplorerState.TABLES, compact=True, progress=False)
    )
    for kpi in ("stage_days", "touches_per_rep_day", "collab_response_hours", "cac"):
        proj.kpi = full.kpi = kpi
        assert proj.error == full.error == ""
        pd.testing.assert_frame_equal(proj.result.table, full.result.table, obj=kpi)


def test_touches_counted_per_day_give_the_series_of_one_row_per_touch(demo_data) -> None:
    """Touches come counted per day and region; the weekly touches by region (and the
    touches without a region: of deals the deals table lacks) are those of a plain
    count of the touch rows."""
    from salesml.impact import kpi_series
    from salesml.impact.events import TOUCH_KINDS

    data, _ = demo_data
    lost = data.deals["deal_id"].iloc[::7]  # their touches have no region
    cut = data.replace(deals=data.deals[~data.deals["deal_id"].isin(lost)])
    got = kpi_series(cut, kpis=["touches_per_deal_day"], freq="W", by="region")
    a = cut.activities
    a = a[a["deal_id"].notna() & a["kind"].isin(TOUCH_KINDS) & a["occurred_at"].notna()]
    region = a["deal_id"].map(
        cut.deals.set_index("deal_id")["customer_id"].map(
            cut.customers.set_index("customer_id")["region"]
        )
    )
    week = a["occurred_at"].dt.to_period("W-SUN").dt.start_time
    want = a.groupby([week.rename("period"), region.rename("region")]).size()
    tab = got.table.set_index(["period", "region"])["numerator"]
    pd.testing.assert_series_equal(
        tab[tab > 0], want.astype(float), check_names=False, check_index_type=False
    )
    assert [dict(n.values)["n"] for n in got.notes] == [int(region.isna().sum())]
    assert region.isna().sum() > 100
