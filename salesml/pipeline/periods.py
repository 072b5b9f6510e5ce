"""Reporting periods: one parser shared by the analytics, the reports and the apps.

A period is written the way a manager says it:

==================  ===========================================  ==========================
text                meaning                                      ``parse_period`` result
==================  ===========================================  ==========================
``2026``            calendar year                                2026-01-01 .. 2027-01-01
``2026-Q1``         calendar quarter (Q1..Q4)                    2026-01-01 .. 2026-04-01
``2026-01``         calendar month                               2026-01-01 .. 2026-02-01
``2026-W05``        ISO 8601 week (Monday to Sunday)             2026-01-26 .. 2026-02-02
``2026-01-15``      one day                                      2026-01-15 .. 2026-01-16
``A..B`` / ``A/B``  range, both ends included                    start(A) .. end(B)
``(a, b)``          the same range as a pair (str or Timestamp)  a .. b + 1 day
==================  ===========================================  ==========================

Every period is the half-open interval ``[start, end)``: ``start`` is included, ``end``
is not, so consecutive periods never overlap. The ends of a range are dates or any
of the calendar forms, both included (``"2026-01-01..2026-01-31"`` is all of January,
``"2026-01..2026-03"`` the first quarter, ``"2026-W01..2026-W04"`` four weeks); an end
with a time of day other than midnight is taken literally as the exclusive end.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd

__all__ = [
    "PeriodLike",
    "last_complete_period",
    "mask_period",
    "parse_period",
    "period_label",
]

#: What every ``period=`` argument accepts.
PeriodLike = str | tuple[str | pd.Timestamp, str | pd.Timestamp] | None

_YEAR = re.compile(r"^(\d{4})$")
_QUARTER = re.compile(r"^(\d{4})-?Q([1-4])$", re.IGNORECASE)
_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
_WEEK = re.compile(r"^(\d{4})-?W(\d{1,2})$", re.IGNORECASE)
_DAY = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_RANGE_SEP = re.compile(r"\s*(?:\.\.|/)\s*")

_HELP = (
    "write a period as 2026 (year), 2026-Q1 (quarter), 2026-01 (month), 2026-W05 "
    "(ISO week), 2026-01-15 (day), or a range 2026-01-01..2026-03-31"
)


def _bad(p: object, why: str = "") -> ValueError:
    extra = f" ({why})" if why else ""
    return ValueError(f"cannot read period {p!r}{extra}; {_HELP}")


def _to_ts(x: object, whole: object) -> pd.Timestamp:
    if isinstance(x, pd.Timestamp):
        ts = x
    elif isinstance(x, str):
        s = x.strip()
        if not re.match(r"^\d{4}-\d{1,2}-\d{1,2}([ T]\d{1,2}:\d{2}(:\d{2})?)?$", s):
            raise _bad(whole, f"{x!r} is not a date like 2026-01-31")
        try:
            ts = pd.Timestamp(s)
        except (ValueError, TypeError):
            raise _bad(whole, f"{x!r} is not a valid date") from None
    else:
        try:
            ts = pd.Timestamp(x)  # type: ignore[arg-type]
        except (ValueError, TypeError):
            raise _bad(whole, f"{x!r} is not a date") from None
    if ts is pd.NaT or pd.isna(ts):
        raise _bad(whole, "missing date")
    if ts.tzinfo is not None:
        ts = ts.tz_localize(None)
    return ts


def _calendar(x: object) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    """Bounds of ``x`` if it is a year, quarter, month or ISO week string."""
    if isinstance(x, str):
        t = x.strip()
        if _YEAR.match(t) or _QUARTER.match(t) or _MONTH.match(t) or _WEEK.match(t):
            return parse_period(t)
    return None


def _range(a: object, b: object, whole: object) -> tuple[pd.Timestamp, pd.Timestamp]:
    cal_a, cal_b = _calendar(a), _calendar(b)
    start = cal_a[0] if cal_a else _to_ts(a, whole)
    if cal_b:
        end = cal_b[1]
    else:
        end = _to_ts(b, whole)
        if end == end.normalize():  # a date: its whole day is included
            end = end + pd.Timedelta(days=1)
    if end <= start:
        raise _bad(whole, "the range ends before it starts")
    return start, end


def parse_period(p: PeriodLike) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    """Turn a period into the half-open interval ``[start, end)``.

    Parameters
    ----------
    p
        ``None`` (no restriction), a string (``2026``, ``2026-Q1``, ``2026-01``,
        ``2026-W05``, ``2026-01-15``, ``2026-01-01..2026-03-31`` or
        ``2026-01-01/2026-03-31``), or a ``(start, end)`` pair of dates. See the
        module docstring for the exact meaning of each form.

    Returns
    -------
    tuple of pandas.Timestamp or None
        ``(start, end)`` with ``start`` included and ``end`` excluded; ``None`` when
        ``p`` is ``None``.

    Raises
    ------
    ValueError
        When ``p`` is not one of the forms above (a message shows the accepted forms),
        or names an impossible date (month 13, ISO week 54, 2026-02-30).

    Examples
    --------
    >>> parse_period("2026-W05")
    (Timestamp('2026-01-26 00:00:00'), Timestamp('2026-02-02 00:00:00'))
    >>> parse_period("2026-Q1")
    (Timestamp('2026-01-01 00:00:00'), Timestamp('2026-04-01 00:00:00'))
    """
    if p is None:
        return None
    if isinstance(p, Sequence) and not isinstance(p, str):
        if len(p) != 2:
            raise _bad(p, "a range needs exactly two dates (start, end)")
        return _range(p[0], p[1], p)
    if not isinstance(p, str):
        raise _bad(p, f"expected a string or a (start, end) pair, got {type(p).__name__}")
    s = p.strip()
    if not s:
        raise _bad(p, "empty")
    parts = _RANGE_SEP.split(s)
    if len(parts) == 2:
        return _range(parts[0], parts[1], p)
    if len(parts) > 2:
        raise _bad(p, "a range has exactly two ends")
    if m := _YEAR.match(s):
        y = int(m.group(1))
        return pd.Timestamp(y, 1, 1), pd.Timestamp(y + 1, 1, 1)
    if m := _QUARTER.match(s):
        y, q = int(m.group(1)), int(m.group(2))
        start = pd.Timestamp(y, 3 * (q - 1) + 1, 1)
        return start, start + pd.DateOffset(months=3)
    if m := _MONTH.match(s):
        y, mo = int(m.group(1)), int(m.group(2))
        if not 1 <= mo <= 12:
            raise _bad(p, f"month {mo} does not exist")
        start = pd.Timestamp(y, mo, 1)
        return start, start + pd.DateOffset(months=1)
    if m := _WEEK.match(s):
        y, w = int(m.group(1)), int(m.group(2))
        # 28 December always lies in the last ISO week of its year
        n_weeks = pd.Timestamp(y, 12, 28).isocalendar().week
        if not 1 <= w <= n_weeks:
            raise _bad(p, f"ISO year {y} has weeks 1..{n_weeks}")
        start = pd.Timestamp.fromisocalendar(y, w, 1)
        return start, start + pd.Timedelta(days=7)
    if _DAY.match(s):
        start = _to_ts(s, p)
        return start, start + pd.Timedelta(days=1)
    raise _bad(p)


def period_label(p: PeriodLike) -> str:
    """A short, file-name-safe label of a period (``2026-W05``, ``2026-01-01_2026-03-31``).

    Strings in one of the calendar forms are returned normalised (``2026-w5`` ->
    ``2026-W05``); ranges become ``START_END`` with the end day included; ``None``
    gives ``"all"``.
    """
    if p is None:
        return "all"
    bounds = parse_period(p)
    assert bounds is not None
    if isinstance(p, str):
        s = p.strip()
        if m := _YEAR.match(s):
            return m.group(1)
        if m := _QUARTER.match(s):
            return f"{m.group(1)}-Q{m.group(2)}"
        if m := _MONTH.match(s):
            return f"{m.group(1)}-{int(m.group(2)):02d}"
        if m := _WEEK.match(s):
            return f"{m.group(1)}-W{int(m.group(2)):02d}"
        if _DAY.match(s):
            return f"{bounds[0]:%Y-%m-%d}"
    start, end = bounds
    last = end - pd.Timedelta(days=1) if end == end.normalize() else end
    return f"{start:%Y-%m-%d}_{last:%Y-%m-%d}"


def last_complete_period(
    kind: Literal["week", "month", "quarter", "year"] = "week",
    as_of: str | pd.Timestamp | None = None,
) -> str:
    """The latest calendar period of ``kind`` that ended at or before ``as_of``.

    Parameters
    ----------
    kind
        ``week`` (ISO week), ``month``, ``quarter`` or ``year``.
    as_of
        The reference instant (default: now). A period ending exactly at ``as_of``
        counts as complete.

    Returns
    -------
    str
        The period in the form :func:`parse_period` reads (``2026-W43``, ``2026-10``, ...).
    """
    ts = pd.Timestamp.now() if as_of is None else pd.Timestamp(as_of)
    if ts.tzinfo is not None:
        ts = ts.tz_localize(None)
    if kind == "week":
        monday = (ts - pd.Timedelta(days=ts.weekday())).normalize()
        iso = (monday - pd.Timedelta(days=7)).isocalendar()
        return f"{iso.year}-W{iso.week:02d}"
    if kind == "month":
        prev = ts.normalize().replace(day=1) - pd.Timedelta(days=1)
        return f"{prev.year}-{prev.month:02d}"
    if kind == "quarter":
        q = (ts.month - 1) // 3
        y = ts.year
        q, y = (4, y - 1) if q == 0 else (q, y)
        return f"{y}-Q{q}"
    if kind == "year":
        return str(ts.year - 1)
    raise ValueError(f"unknown period kind {kind!r}; use week, month, quarter or year")


def mask_period(values: pd.Series, p: PeriodLike) -> np.ndarray:
    """Boolean mask of the timestamps in ``values`` that fall inside period ``p``.

    Missing timestamps are outside every period; with ``p=None`` every row is inside.
    """
    bounds = parse_period(p)
    if bounds is None:
        return np.ones(len(values), dtype=bool)
    start, end = bounds
    v = values.to_numpy(dtype="datetime64[ns]")
    return (v >= start.to_datetime64()) & (v < end.to_datetime64())
