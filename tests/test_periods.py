"""Tests of the shared period parser."""

from __future__ import annotations

import pandas as pd
import pytest

from salesml.periods import (
    last_complete_period,
    mask_period,
    parse_period,
    period_label,
)

T = pd.Timestamp


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("2026", "2026-01-01", "2027-01-01"),
        ("2026-Q1", "2026-01-01", "2026-04-01"),
        ("2026-q4", "2026-10-01", "2027-01-01"),
        ("2026-01", "2026-01-01", "2026-02-01"),
        ("2026-12", "2026-12-01", "2027-01-01"),
        ("2026-W05", "2026-01-26", "2026-02-02"),
        ("2026-W01", "2025-12-29", "2026-01-05"),  # ISO week 1 starts in the old year
        ("2020-W53", "2020-12-28", "2021-01-04"),
        ("2026-01-15", "2026-01-15", "2026-01-16"),
        ("2026-01-01..2026-01-31", "2026-01-01", "2026-02-01"),
        ("2026-01-01/2026-03-31", "2026-01-01", "2026-04-01"),
        (" 2026-01-01 .. 2026-01-02 ", "2026-01-01", "2026-01-03"),
    ],
)
def test_parse_period_forms(text: str, start: str, end: str) -> None:
    assert parse_period(text) == (T(start), T(end))


def test_parse_period_pairs_and_none() -> None:
    assert parse_period(None) is None
    assert parse_period(("2026-01-01", "2026-01-31")) == (T("2026-01-01"), T("2026-02-01"))
    # an end with a time of day is taken literally (exclusive)
    assert parse_period((T("2026-01-01"), T("2026-01-31 12:00"))) == (
        T("2026-01-01"),
        T("2026-01-31 12:00"),
    )


@pytest.mark.parametrize(
    ("bad", "why"),
    [
        ("2026-13", "month 13"),
        ("2026-00", "month 0"),
        ("2026-W54", "weeks 1..53"),
        ("2025-W53", "weeks 1..52"),
        ("2026-Q5", ""),
        ("2026-02-30", "not a valid date"),
        ("2026-03-01..2026-01-01", "ends before it starts"),
        ("2026-01-01..2026-02-01..2026-03-01", "two ends"),
        ("last week", ""),
        ("", "empty"),
        ("2026-01; import os", ""),
        (("2026-01-01",), "exactly two dates"),
        (202601, "got int"),
    ],
)
def test_parse_period_rejects_with_clear_message(bad: object, why: str) -> None:
    with pytest.raises(ValueError, match="cannot read period") as e:
        parse_period(bad)  # type: ignore[arg-type]
    assert "2026-W05" in str(e.value)  # the message shows the accepted forms
    assert why in str(e.value)


def test_period_label() -> None:
    assert period_label("2026-w5") == "2026-W05"
    assert period_label("2026-1") == "2026-01"
    assert period_label("2026-q2") == "2026-Q2"
    assert period_label(("2026-01-01", "2026-03-31")) == "2026-01-01_2026-03-31"
    assert period_label("2026-01-01..2026-03-31") == "2026-01-01_2026-03-31"
    assert period_label(None) == "all"


def test_last_complete_period() -> None:
    # 2026-10-31 is a Saturday of ISO week 44: the last complete week is 43
    assert last_complete_period("week", "2026-10-31") == "2026-W43"
    assert last_complete_period("week", "2026-11-02") == "2026-W44"  # Monday
    assert last_complete_period("month", "2026-10-31") == "2026-09"
    assert last_complete_period("month", "2026-11-01") == "2026-10"
    assert last_complete_period("quarter", "2026-01-05") == "2025-Q4"
    assert last_complete_period("year", "2026-06-01") == "2025"
    for kind in ("week", "month", "quarter", "year"):
        _start, end = parse_period(last_complete_period(kind, "2026-10-31"))  # type: ignore[misc]
        assert end <= T("2026-10-31")
    with pytest.raises(ValueError, match="unknown period kind"):
        last_complete_period("fortnight")  # type: ignore[arg-type]


def test_mask_period() -> None:
    s = pd.Series(
        pd.to_datetime(["2026-01-01 00:00", "2026-01-31 23:59", "2026-02-01 00:00", None])
    )
    assert mask_period(s, "2026-01").tolist() == [True, True, False, False]
    assert mask_period(s, None).tolist() == [True] * 4


def test_ranges_of_calendar_periods() -> None:
    assert parse_period("2026-01..2026-03") == (T("2026-01-01"), T("2026-04-01"))
    assert parse_period("2026-W01..2026-W04") == (T("2025-12-29"), T("2026-01-26"))
    assert parse_period("2025-Q4/2026-01-15") == (T("2025-10-01"), T("2026-01-16"))
    assert parse_period(("2026-01", "2026-02")) == (T("2026-01-01"), T("2026-03-01"))
    with pytest.raises(ValueError, match="ends before it starts"):
        parse_period("2026-03..2026-01")


def test_period_value_parsed_once() -> None:
    from salesml.periods import Period, as_period

    q = Period.parse("2026-q3")
    assert (q.kind, q.label, q.slug) == ("quarter", "2026-Q3", "2026-Q3")
    assert q.bounds == (T("2026-07-01"), T("2026-10-01"))
    assert q.previous().label == "2026-Q2" and q.next().label == "2026-Q4"
    assert Period.parse("2026-01").previous().label == "2025-12"
    assert Period.parse("2026-W01").previous().label == "2025-W52"
    assert q.contains("2026-09-30 23:59") and not q.contains("2026-10-01")
    assert Period.parse(q) is q and as_period(None) is None
    assert parse_period(q) == q.bounds and period_label(q) == "2026-Q3"
    r = Period.parse("2026-01-03..2026-02-05")
    assert r.kind == "range" and r.slug == "2026-01-03_2026-02-05"
    assert r.previous().end == r.start and r.previous().days == r.days
    assert q.display("zh") == "2026年第3季度" and q.display() == "2026-Q3"
    assert Period.parse(pd.Period("2026-03", "M")).label == "2026-03"
    assert Period.parse(pd.Period("2026-01-28", "W")).label == "2026-W05"
    with pytest.raises(ValueError, match="write a period as"):
        Period.parse(None)
