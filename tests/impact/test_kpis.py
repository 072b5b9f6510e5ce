"""KPI series (issue 14): each KPI defined once, exact aggregation, honest 'not measurable'."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from salesml.data.bundle import SalesData
from salesml.i18n import has_label
from salesml.impact import KPIS, NOT_MEASURABLE, kpi_series
from salesml.impact.kpis import event_span

T = pd.Timestamp


@pytest.fixture(scope="module")
def weekly(demo_data):
    data, _ = demo_data
    return kpi_series(data, freq="W")


def test_every_kpi_has_a_name_numerator_and_denominator_in_both_languages() -> None:
    for key, d in KPIS.items():
        for suffix in ("", ".num", ".den"):
            assert has_label(f"impact.kpi.{key}{suffix}"), key + suffix
        assert has_label(f"impact.unit.{d.unit}")
        assert d.better in ("lower", "higher")
    for key in NOT_MEASURABLE:
        assert has_label(f"impact.kpi.{key}")


def test_months_are_the_exact_sum_of_their_days(demo_data, weekly) -> None:
    data, _ = demo_data
    daily = kpi_series(data, freq="D", kpis=["collab_response_hours", "touches_per_deal_day"])
    monthly = kpi_series(data, freq="M", kpis=["collab_response_hours", "touches_per_deal_day"])
    for key in ("collab_response_hours", "touches_per_deal_day"):
        d = daily.series(key)
        by_month = d.groupby(d["period"].dt.to_period("M").dt.start_time)[
            ["numerator", "denominator"]
        ].sum()
        m = monthly.series(key).set_index("period")
        np.testing.assert_allclose(m["numerator"], by_month["numerator"], rtol=1e-9)
        np.testing.assert_allclose(m["denominator"], by_month["denominator"], rtol=1e-9)
        np.testing.assert_allclose(m["value"], m["numerator"] / m["denominator"])


def test_open_deal_days_add_up_to_each_deals_time_open(demo_data) -> None:
    data, _ = demo_data
    s = kpi_series(data, freq="M", kpis=["touches_per_deal_day"]).series("touches_per_deal_day")
    d = data.deals
    end = event_span(data)[1] + pd.Timedelta(microseconds=1)
    open_days = ((d["closed_at"].fillna(end) - d["created_at"]) / pd.Timedelta(days=1)).sum()
    assert s["denominator"].sum() == pytest.approx(open_days, rel=1e-6)
    touches = data.activities["deal_id"].notna() & data.activities["kind"].isin(
        ["visit", "call", "message", "email", "demo", "sample", "meeting"]
    )
    assert s["numerator"].sum() == touches.sum()


def test_regions_add_up_to_the_total(demo_data) -> None:
    data, _ = demo_data
    total = kpi_series(data, freq="M", kpis=["stage_days"]).series("stage_days")
    split = kpi_series(data, freq="M", kpis=["stage_days"], by="region").series("stage_days")
    assert split["region"].nunique() == 5
    agg = split.groupby("period")[["numerator", "denominator"]].sum()
    np.testing.assert_allclose(agg["denominator"], total.set_index("period")["denominator"])


def test_planted_kpis_move_by_their_planted_effect_before_after_go_live(demo_data) -> None:
    # not the estimator (that is test_impact): the definitions measure what was planted.
    data, truth = demo_data
    r = kpi_series(data, freq="M")
    for key in ("stage_days", "collab_response_hours", "touches_per_deal_day"):
        s = r.series(key)
        post = s["period"] >= truth.go_live
        before = s.loc[~post, "numerator"].sum() / s.loc[~post, "denominator"].sum()
        after = s.loc[post, "numerator"].sum() / s.loc[post, "denominator"].sum()
        planted = truth.kpi_effects[KPIS[key].planted]
        assert after / before - 1 == pytest.approx(planted, abs=0.04), key


def test_the_seeds_unmeasurable_kpis_are_listed_with_the_table_they_need(weekly) -> None:
    nm = weekly.not_measurable.set_index("kpi")
    assert nm.loc["month_end_close_days", "needs"] == "finance_close"
    assert "month_end_close_days" not in set(weekly.table["kpi"])
    text = " ".join(weekly.key_findings("en"))
    assert "finance_close" in text
    assert "月结" in " ".join(weekly.key_findings("zh"))


def test_kpis_without_a_region_are_refused_by_region_not_guessed(demo_data) -> None:
    data, _ = demo_data
    r = kpi_series(data, freq="W", by="region", kpis=["first_response_hours", "stage_days"])
    assert set(r.table["kpi"]) == {"stage_days"}
    assert r.not_measurable.set_index("kpi").loc["first_response_hours", "reason"] == "no_group"
    assert "区域" in " ".join(r.key_findings("zh"))


def test_bad_options_are_named() -> None:
    data = SalesData({})
    with pytest.raises(ValueError, match="freq"):
        kpi_series(data, freq="fortnight")
    with pytest.raises(ValueError, match="unknown KPI"):
        kpi_series(data, kpis=["nps"])
    with pytest.raises(ValueError, match="by must be"):
        kpi_series(data, by="planet")


@pytest.fixture(scope="module")
def export() -> SalesData:
    """A hand-made export: no stage history, a lead never answered, an empty date,
    a request nobody answered, responses without their request, USD."""
    from salesml.data.config import DatasetConfig

    leads = pd.DataFrame(
        {
            "lead_id": ["L1", "L2", "L3", "L4"],
            "customer_id": [None] * 4,
            "channel": ["wechat", "wechat", "Online Ads", "wechat"],
            "created_at": [T("2026-01-05 09:00"), T("2026-01-06"), pd.NaT, T("2026-02-10")],
            "first_response_at": [
                T("2026-01-05 11:00"),
                pd.NaT,
                T("2026-01-07"),
                T("2026-02-10 04:00"),
            ],
            "status": ["open"] * 4,
        }
    )
    deals = pd.DataFrame(
        {
            "deal_id": ["D1", "D2"],
            "customer_id": ["C1", "C2"],
            "rep_id": ["R1", "R1"],
            "created_at": [T("2026-01-02"), T("2026-01-20")],
            "stage": ["contract", "proposal"],
            "amount": [1000.0, 2000.0],
            "product_line": ["x", "x"],
            "outcome": ["won", "open"],
            "closed_at": [T("2026-02-01"), pd.NaT],
        }
    )
    collab = pd.DataFrame(
        {
            "event_id": ["E1", "E2", "E3", "E4"],
            "deal_id": ["D1", "D1", "D2", "D2"],
            "role": ["technical"] * 4,
            "actor_id": ["R1"] * 4,
            "kind": ["request", "response", "request", "response"],
            "occurred_at": [
                T("2026-01-03"),
                T("2026-01-03 06:00"),
                T("2026-01-21"),
                T("2026-01-22"),
            ],
            "request_id": [None, "E1", None, "E9"],
        }
    )
    return SalesData(
        {"leads": leads, "deals": deals, "collab_events": collab},
        DatasetConfig(currency="USD"),
    )


def test_a_hand_made_export_gets_what_it_supports_and_is_told_the_rest(export) -> None:
    r = kpi_series(export, freq="M")
    nm = r.not_measurable.set_index("kpi")
    assert nm.loc["stage_days", "reason"] == "missing_table"
    assert nm.loc["stage_days", "needs"] == "stage_history"
    assert nm.loc["payment_delay_days", "reason"] == "missing_table"
    # the lead without a response and the lead without a date are not counted as zero;
    # the lead of the export's last week is too recent to be complete (maturity 7 days)
    # (a geometric mean: the numerator sums log hours)
    fr = r.series("first_response_hours")
    assert fr["denominator"].sum() == 1
    assert fr["numerator"].sum() == pytest.approx(np.log(2.0))
    assert fr["value"].dropna().tolist() == pytest.approx([2.0])
    # only the request whose response names it counts: 6 hours
    cr = r.series("collab_response_hours")
    assert cr["denominator"].sum() == 1 and cr["numerator"].sum() == pytest.approx(6.0)
    won = r.series("won_cycle_days")
    assert won["value"].dropna().tolist() == [30.0]


def test_first_response_is_a_geometric_mean_with_channel_mix_held_fixed() -> None:
    # week 1: waits of 1 h and 4 h; week 2: 2 h and 2 h; a trade-show lead waiting
    # 48 h in week 2 is put on the overall scale by its channel (its only lead)
    created = [T("2026-03-02 09:00"), T("2026-03-03 09:00"), T("2026-03-09 09:00")]
    created += [T("2026-03-10 09:00"), T("2026-03-11 09:00"), T("2026-04-20")]
    waits = [1.0, 4.0, 2.0, 2.0, 48.0, None]
    leads = pd.DataFrame(
        {
            "lead_id": [f"L{i}" for i in range(6)],
            "customer_id": [None] * 6,
            "channel": ["wechat"] * 4 + ["exhibition", "wechat"],
            "created_at": created,
            "first_response_at": [
                c + pd.Timedelta(hours=w) if w is not None else pd.NaT
                for c, w in zip(created, waits, strict=True)
            ],
            "status": ["open"] * 6,
        }
    )
    r = kpi_series(SalesData({"leads": leads}), kpis=["first_response_hours"], freq="W")
    fr = r.series("first_response_hours").dropna(subset=["value"])
    assert r.definitions.set_index("kpi").loc["first_response_hours", "mean"] == "geometric"
    # both weeks answer wechat leads at their channel's usual 2 h (geometric), and the
    # trade-show lead at its channel's usual: both weeks sit at the overall geometric
    # mean (an arithmetic mean would say 2.5 h, then 17.3 h)
    overall = np.exp(np.log([1.0, 4.0, 2.0, 2.0, 48.0]).mean())
    assert fr["value"].tolist() == pytest.approx([overall, overall])
    assert fr["denominator"].tolist() == [2.0, 3.0]


def test_ids_are_matched_to_their_rows_text_or_not() -> None:
    from salesml.impact.events import _positions

    keys = pd.Series(["D1", "D2", "D3"], dtype="str")
    got = _positions(pd.Series(["D3", None, "D9", "D1"], dtype="str"), keys)
    assert got.tolist() == [2, -1, -1, 0]
    got = _positions(pd.Series([3, 9, 1]), pd.Series([1, 2, 3]))  # not text: pandas
    assert got.tolist() == [2, -1, 0]
    obj = _positions(pd.Series(["D2", "x"], dtype=object), keys.astype(object))
    assert obj.tolist() == [1, -1]


def test_category_ids_match_like_text_ids() -> None:
    from salesml.impact.events import _positions

    keys = pd.Series(["D1", "D2", "D3"], dtype="str")
    vals = pd.Series(["D3", None, "D9", "D1", "D3"], dtype="str")
    cat = _positions(vals.astype("category"), keys)
    assert cat.tolist() == _positions(vals, keys).tolist() == [2, -1, -1, 0, 2]


def test_kpis_are_the_same_on_a_compact_load(demo_dataset_dir) -> None:
    from salesml.data.io import load_dataset

    plain = load_dataset(demo_dataset_dir, validate=False, progress=False)
    compact = load_dataset(demo_dataset_dir, validate=False, progress=False, compact=True)
    assert isinstance(compact.activities["deal_id"].dtype, pd.CategoricalDtype)
    for kpi in ["touches_per_deal_day", "touches_per_rep_day", "collab_response_hours"]:
        a = kpi_series(plain, kpis=kpi, freq="W", by="region").table
        b = kpi_series(compact, kpis=kpi, freq="W", by="region").table
        assert len(a) > 0
        pd.testing.assert_frame_equal(
            a.reset_index(drop=True),
            b.reset_index(drop=True),
            check_dtype=False,
            check_categorical=False,
        )


def test_the_report_loads_every_table_the_kpis_read() -> None:
    """``impact_review`` names its tables literally (the registry imports no analytics);
    they are exactly the KPIs' tables that the app loads (``KPI_TABLES``)."""
    from salesml.apps.impact_explorer.state import ImpactExplorerState
    from salesml.impact.kpis import KPI_TABLES, KPIS
    from salesml.reports.registry import get_report

    assert set(get_report("impact_review").loads) == set(KPI_TABLES)
    assert ImpactExplorerState.TABLES == KPI_TABLES
    assert {t for k in KPIS.values() for t in k.tables} <= set(KPI_TABLES)
