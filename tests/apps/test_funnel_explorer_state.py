"""The funnel explorer without a browser: state recomputation, errors, and the view's wiring."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from salesml.apps.base import AppState, dataset_path
from salesml.apps.funnel_explorer.state import FunnelExplorerState
from salesml.pipeline import funnel


@pytest.fixture(scope="module")
def state_data(demo_data):
    return demo_data[0]


@pytest.fixture
def state(state_data) -> FunnelExplorerState:
    return FunnelExplorerState(state_data)


def test_options_come_from_the_data(state: FunnelExplorerState, state_data) -> None:
    assert state.regions == sorted(state_data.customers["region"].unique())
    assert set(state.segments) == {"key_account", "mid_market", "small_business"}
    assert "wechat" in state.channels
    assert state.periods[0] == "2026-10" and state.periods[-1] == "2025-05"
    assert state.result is not None and state.error == "" and not state.busy


def test_region_change_recomputes_every_result(state: FunnelExplorerState, state_data) -> None:
    seen: list[bool] = []
    state.observe(lambda c: seen.append(c["new"]), names=["busy"])
    before = state.result
    state.region = "华南"
    assert seen == [True, False]  # the busy indicator was on during the recomputation
    after = state.result
    assert after is not before
    expected = funnel(state_data, filters={"region": "华南"})
    pd.testing.assert_frame_equal(after.funnel.table, expected.table)
    assert after.funnel.n_deals < before.funnel.n_deals
    assert set(after.breakpoint_rows["region"]) == {"华南"}
    assert list(after.breakpoint_rows["stage"]) == state_data.stage_order
    assert after.durations.overall["stays"].iloc[0] == after.funnel.n_deals


def test_all_regions_table_leads_with_the_planted_breakpoint(demo_data) -> None:
    data, truth = demo_data
    first = FunnelExplorerState(data).result.breakpoint_rows.iloc[0]
    assert (first["region"], first["stage"]) == (
        truth.breakpoint["region"],
        truth.breakpoint["stage"],
    )
    assert bool(first["breakpoint"])


def test_filters_and_period_combine(state: FunnelExplorerState, state_data) -> None:
    with state.hold_trait_notifications():
        state.segment = "key_account"
        state.channel = "referral"
        state.period = "2026-Q1"
    expected = funnel(
        state_data, period="2026-Q1", filters={"segment": "key_account", "channel": "referral"}
    )
    assert state.result.funnel.n_deals == expected.n_deals > 0


def test_error_is_shown_and_the_app_recovers(state: FunnelExplorerState) -> None:
    good = state.result
    state.period = "2026-13"
    assert "month 13" in state.error and not state.busy
    assert state.result is good  # the last good result stays on screen
    state.period = "2026-09"
    assert state.error == "" and state.result is not good


def test_missing_dataset_folder_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="salesml demo"):
        dataset_path(tmp_path / "nope")


def test_computing_turns_exceptions_into_error_text() -> None:
    s = AppState()
    with s.computing():
        raise KeyError("boom")
    assert s.error == "KeyError: 'boom'" and not s.busy


def test_view_is_linked_to_the_state(
    state: FunnelExplorerState, monkeypatch: pytest.MonkeyPatch
) -> None:
    from salesml.apps.funnel_explorer.view import FunnelExplorerView

    view = FunnelExplorerView(state)
    region_dd = view.controls[0]
    assert region_dd.options[0] == ("All", "")
    headline = view.headline.value
    table = view.breakpoints.value
    trace_x = list(view.chart.figure.data[0].x)
    region_dd.value = "西南"  # as if the user picked it
    assert state.region == "西南"
    assert view.headline.value != headline
    assert view.breakpoints.value != table and "西南" in view.breakpoints.value
    assert list(view.chart.figure.data[0].x) != trace_x
    assert view.error.layout.display == "none"
    from salesml.apps.funnel_explorer import state as state_module

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("durations exploded")

    monkeypatch.setattr(state_module, "stage_durations", broken)
    region_dd.value = "华北"
    assert view.error.layout.display is None and "durations exploded" in view.error.value
    assert "西南" in view.breakpoints.value  # the last good tables stay
    assert "&#10003;" in view.busy.value  # back to ready, not stuck busy


def test_language_switch_relabels_without_recomputing(state: FunnelExplorerState) -> None:
    from salesml.apps.funnel_explorer.view import FunnelExplorerView

    view = FunnelExplorerView(state)
    state.region = "华东"
    result = state.result
    view.language.value = "zh"  # the user clicks 中文
    assert state.lang == "zh"
    assert state.result is result  # nothing recomputed
    region_dd = view.controls[0]
    assert region_dd.description == "区域" and region_dd.options[0] == ("全部", "")
    assert region_dd.value == "华东" and state.region == "华东"
    assert "销售漏斗分析" in view.title.value
    assert "阶段" in view.breakpoints.value and "资格确认" in view.breakpoints.value
    assert "就绪" in view.busy.value
    assert view.controls[1].options[1] == ("大客户", "key_account")
    view.language.value = "en"
    assert region_dd.description == "Region" and "Qualification" in view.breakpoints.value


def test_launch_shows_an_error_box_instead_of_a_blank_app(tmp_path: Path) -> None:
    from salesml.apps.funnel_explorer.view import FunnelExplorerView
    from salesml.apps.widgets import launch

    box = launch(
        FunnelExplorerView, FunnelExplorerState.from_dataset, dataset=str(tmp_path / "x"), lang="zh"
    )
    assert "出错了" in box.value and "salesml demo" in box.value


def test_deals_only_dataset_with_rep_regions(state_data) -> None:
    # a CRM export without stage history, whose regions are the reps' sales offices
    from salesml.apps.funnel_explorer.view import FunnelExplorerView
    from salesml.data.bundle import SalesData
    from salesml.data.config import DatasetConfig

    config = DatasetConfig.from_dict(
        {"stage_order": state_data.stage_order, "region_source": "rep", "currency": "USD"}
    )
    tables = {t: state_data[t] for t in ("deals", "reps", "customers")}
    data = SalesData(tables, config)
    s = FunnelExplorerState(data)
    assert s.regions == sorted(state_data.reps["region"].unique())
    assert s.result.durations.method == "cycle"
    assert list(s.result.durations.overall["stage"]) == ["created_to_closed"]
    region = s.regions[0]
    s.region = region
    owned = state_data.reps.loc[state_data.reps["region"] == region, "rep_id"]
    assert s.result.funnel.n_deals == int(state_data.deals["rep_id"].isin(owned).sum())
    assert set(s.result.breakpoint_rows["region"]) == {region}
    view = FunnelExplorerView(s)
    assert "owning rep" in view.notes.value and "no stage history" in view.notes.value
    assert "Created to closed" in view.durations.value
    assert s.error == ""


def test_controls_become_one_period_and_one_filter_spec(state: FunnelExplorerState) -> None:
    from salesml.filters import FilterSpec
    from salesml.periods import Period

    with state.hold_trait_notifications():
        state.region = "华东"
        state.period = "2026-Q2"
    assert state.period_value == Period.parse("2026-Q2")
    assert state.filters == FilterSpec.parse({"region": "华东"})
    r = state.result
    assert r.funnel.period == state.period_value and r.durations.period == state.period_value
    assert r.funnel.filters == state.filters
    assert r.breakpoints.filters == FilterSpec()  # the comparison spans every region
