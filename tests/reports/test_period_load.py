"""Reports that declare ``lookback_days`` load only their period from a partitioned dataset."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

from salesml.data.io import load_dataset, save_dataset
from salesml.periods import Period
from salesml.reports import registry
from salesml.reports.notebook import start_report
from salesml.reports.params import ReportParams
from salesml.reports.registry import ReportSpec


@pytest.fixture(scope="module")
def month_folder(demo_data, tmp_path_factory):
    data, _ = demo_data
    return save_dataset(data, tmp_path_factory.mktemp("period_load") / "m", partition="month")


def _register(monkeypatch, spec: ReportSpec) -> None:
    real = registry._discover
    monkeypatch.setattr(registry, "_discover", lambda: {**real(), spec.name: spec})


def test_report_loads_its_period_and_lookback(month_folder, monkeypatch):
    spec = ReportSpec(
        name="period_probe",
        params=ReportParams,
        description="test report",
        loads=("deals", "activities", "customers"),
        lookback_days=31,
    )
    _register(monkeypatch, spec)
    period = "2026-Q2"
    report = start_report("period_probe", dataset=str(month_folder), period=period)
    data = report.data
    per = Period.parse(period)
    start = per.start - pd.Timedelta(days=31)
    full = load_dataset(month_folder, progress=False, tables=list(spec.loads))
    for name, tc in (("deals", "created_at"), ("activities", "occurred_at")):
        ts = data[name][tc]
        assert ts.min() >= start and ts.max() < per.end, name
        ref = full[name][(full[name][tc] >= start) & (full[name][tc] < per.end)]
        # a report loads compact (ids and categories as category): the same values
        got = data[name].apply(lambda c: c.astype("str") if c.dtype == "category" else c)
        pd.testing.assert_frame_equal(got, ref.reset_index(drop=True), obj=name)
        assert len(data[name]) < 0.5 * len(full[name])
    # customers have no partitioned time column: loaded whole
    assert len(data.customers) == len(full.customers)
    assert any("loaded for a period only" in n for n in data.validation.notes)


def test_report_without_lookback_loads_everything(month_folder, monkeypatch):
    spec = ReportSpec(
        name="period_probe_all", params=ReportParams, description="test", loads=("deals",)
    )
    _register(monkeypatch, spec)
    report = start_report("period_probe_all", dataset=str(month_folder), period="2026-Q2")
    assert len(report.data.deals) == len(load_dataset(month_folder, tables=["deals"]).deals)
    with pytest.raises(ValueError, match="lookback_days"):
        dataclasses.replace(spec, lookback_days=-1)
