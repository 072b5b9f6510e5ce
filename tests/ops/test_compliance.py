"""Compliance approvals against the planted SLA breaches, bad input, business hours."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from salesml.data.bundle import SalesData
from salesml.data.config import DatasetConfig
from salesml.data.errors import DatasetError
from salesml.ops.compliance import (
    DEFAULT_SLA_HOURS,
    ApprovalResult,
    BusinessCalendar,
    approval_sla,
    sla_hours_of,
)
from salesml.simulator import simulate

FIX = Path(__file__).parent / "fixtures"


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
def test_breach_list_equals_the_planted_breaches(seed: int) -> None:
    data, truth = simulate(preset="demo", seed=seed)
    r = approval_sla(data, as_of=truth.end)
    got, want = set(r.breach_ids), set(truth.sla_breaches)
    # precision and recall 100%
    assert got == want and len(want) > 50
    assert r.sla_hours == {"initial": truth.sla_hours, "final": truth.sla_hours}
    assert len(r.problems) == 0
    assert len(r.table) == len(data["approvals"])


def test_overview_queue_and_admission_agree_with_the_table(demo_data) -> None:
    data, truth = demo_data
    r = approval_sla(data, as_of=truth.end)
    assert isinstance(r, ApprovalResult)
    ov = r.overview.set_index("step")
    assert ov.loc["all", "breached"] == len(truth.sla_breaches)
    assert ov.loc["initial", "steps"] + ov.loc["final", "steps"] == ov.loc["all", "steps"]
    ap = data["approvals"]
    assert r.queue["pending"].sum() == (ap["decision"] == "pending").sum()
    # admission: final approved minus first submission, by hand for one subject
    adm = r.admission.set_index("subject_id")
    sid = adm.index[0]
    rows = ap[ap["subject_id"] == sid]
    fin = rows[(rows["step"] == "final") & (rows["decision"] == "approved")]["decided_at"].min()
    want = (fin - rows["submitted_at"].min()) / pd.Timedelta(hours=1)
    assert adm.loc[sid, "admission_h"] == pytest.approx(want)
    st = r.admission_stats.iloc[0]
    assert st["admission_median_h"] == pytest.approx(np.median(adm["admission_h"]))
    assert st["admission_p90_h"] == pytest.approx(np.percentile(adm["admission_h"], 90))
    for lang in ("en", "zh"):
        assert len(r.key_findings(lang)) >= 3
    assert r.title() in r._repr_html_()


def test_as_of_hides_later_decisions(demo_data) -> None:
    data, truth = demo_data
    cut = truth.end - pd.Timedelta(days=200)
    r = approval_sla(data, as_of=cut)
    assert (r.table["submitted_at"] < cut).all()
    assert r.table.loc[r.table["pending"], "decided_at"].isna().all()
    assert r.table["pending"].sum() >= (data["approvals"]["decided_at"] >= cut).sum() - len(
        data["approvals"][data["approvals"]["submitted_at"] >= cut]
    )
    assert r.now == cut


def test_period_and_filters(demo_data) -> None:
    data, truth = demo_data
    r = approval_sla(data, period="2026-Q1", filters={"region": "华东"}, as_of=truth.end)
    assert r.table["submitted_at"].between("2026-01-01", "2026-04-01", inclusive="left").all()
    cust = data["customers"].set_index("customer_id")["region"]
    assert (cust.reindex(r.table["subject_id"]) == "华东").all() and len(r.table)


def test_default_policy_is_two_and_four_hours() -> None:
    assert sla_hours_of(None) == DEFAULT_SLA_HOURS == {"initial": 2.0, "final": 4.0}
    with pytest.raises(ValueError, match="unknown step 'second'"):
        sla_hours_of(None, {"second": 3})
    cfg = DatasetConfig.from_dict({"approval_sla_hours": {"initial": 1, "final": 8}})
    assert cfg.approval_sla_hours == {"initial": 1.0, "final": 8.0}
    assert DatasetConfig.from_dict(cfg.to_dict()).approval_sla_hours == cfg.approval_sla_hours
    with pytest.raises(DatasetError, match="approval_sla_hours"):
        DatasetConfig.from_dict({"approval_sla_hours": {"initial": -1}})
    assert "approval_sla_hours" not in DatasetConfig().to_dict()


def _fixture() -> SalesData:
    ap = pd.read_csv(FIX / "approvals_export.csv", parse_dates=["submitted_at", "decided_at"])
    cu = pd.read_csv(FIX / "customers.csv")
    return SalesData({"approvals": ap, "customers": cu})


def test_export_fixture_bad_rows_are_reported_not_lost() -> None:
    r = approval_sla(_fixture(), as_of="2026-03-10")
    probs = r.problems.set_index("approval_id")["problem"].to_dict()
    assert probs == {
        "A-004": "final_before_initial",
        "A-006": "unknown_subject",
        "A-007": "decided_before_submitted",
        "A-008": "unknown_step",
    }
    # nothing lost: measured + reported == read
    assert len(r.table) + r.problems["row"].nunique() == 10
    assert any("4" in s and "unknown_subject" in s for s in r.key_findings("en"))
    # the default policy: A-002 (5.5 h final), A-003 (pending for days), A-009 (3.5 h)
    assert set(r.breach_ids) == {"A-002", "A-003", "A-009", "A-010"}
    q = r.queue.set_index("reviewer_id")
    assert q.loc["R9", "pending"] == 1 and q.loc["R9", "over_sla"] == 1
    # C1 admitted 2026-03-02 09:10 -> 16:00
    adm = r.admission.set_index("subject_id")
    assert adm.loc["C1", "admission_h"] == pytest.approx(6 + 50 / 60)


def test_business_hours_skip_nights_weekends_and_holidays() -> None:
    cal = BusinessCalendar(9, 18)
    # Friday 17:00 -> Monday 10:00: one hour on Friday, one on Monday
    h = cal.hours_between(
        np.array(["2026-03-06T17:00"], dtype="datetime64[ns]"),
        np.array(["2026-03-09T10:00"], dtype="datetime64[ns]"),
    )
    assert h[0] == pytest.approx(2.0)
    r = approval_sla(_fixture(), as_of="2026-03-10", calendar=cal)
    assert "A-010" not in set(r.breach_ids)
    # 2026-10-01..07 National Day; 2026-09-27 (Sunday) a make-up working day
    cal = BusinessCalendar(
        9,
        18,
        holidays=tuple(pd.date_range("2026-10-01", "2026-10-07").date),
        workdays=(pd.Timestamp("2026-09-27").date(),),
    )
    h = cal.hours_between(
        np.array(["2026-09-26T12:00", "2026-09-30T17:00"], dtype="datetime64[ns]"),
        np.array(["2026-09-28T10:00", "2026-10-08T09:30"], dtype="datetime64[ns]"),
    )
    assert h == pytest.approx([9.0 + 1.0, 1.0 + 0.5])
    with pytest.raises(ValueError, match=r"approval_calendar\.holidays"):
        BusinessCalendar.from_dict({"holidays": ["not a date"]}, source="approval_calendar")
    with pytest.raises(ValueError, match="unknown key"):
        BusinessCalendar.from_dict({"opens": 9})


def test_missing_table_and_columns_are_named() -> None:
    with pytest.raises(Exception, match="approvals"):
        approval_sla(SalesData({}))
    ap = pd.read_csv(FIX / "approvals_export.csv").drop(columns=["reviewer_id"])
    with pytest.raises(ValueError, match="reviewer_id"):
        approval_sla(SalesData({"approvals": ap}))


def test_china_calendar_from_the_holidays_package() -> None:
    pytest.importorskip("holidays")
    from salesml.ops.compliance import china_calendar

    cal = china_calendar([2026])
    assert pd.Timestamp("2026-10-01").date() in cal.holidays  # National Day
    assert pd.Timestamp("2026-02-17").date() in cal.holidays  # Spring Festival
    assert all(d.weekday() >= 5 for d in cal.workdays)
    # 2026-01-04 (a Sunday) is the make-up working day of the New Year shift
    assert pd.Timestamp("2026-01-04").date() in cal.workdays
    h = cal.hours_between(
        np.array(["2026-09-30T17:00"], dtype="datetime64[ns]"),
        np.array(["2026-10-09T10:00"], dtype="datetime64[ns]"),
    )
    assert h[0] < 9 + 9  # the holiday week does not count
