"""Reporting periods: one :class:`Period` value shared by the analytics, the reports and the apps.

A period is parsed once, at the edge (the command line, a report's parameters, an
app's controls), into a :class:`Period`; every ``period=`` argument of salesml accepts
a :class:`Period` as well as the text forms below, and the functions here turn either
into the same half-open interval.

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
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

__all__ = [
    "Period",
    "PeriodKind",
    "PeriodLike",
    "as_period",
    "last_complete_period",
    "mask_period",
    "parse_period",
    "period_label",
]

#: The calendar kinds a period can be; ``range`` is any other interval.
PeriodKind = Literal["year", "quarter", "month", "week", "day", "range"]

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


_ZH_KIND = {"year": "年", "quarter": "季度", "month": "月", "week": "周", "day": "日"}


@dataclass(frozen=True)
class Period:
    """A reporting period: the half-open interval ``[start, end)`` with its name.

    Build one with :meth:`Period.parse` (or :func:`as_period`), never by hand: the
    text forms are in the module docstring. A period is immutable and hashable.

    Attributes
    ----------
    start, end
        Midnight-based bounds; ``start`` is included, ``end`` is not.
    kind
        ``year``, ``quarter``, ``month``, ``week``, ``day`` or ``range``.
    label
        The canonical text (``2026-Q3``, ``2026-W05``, ``2026-01-01..2026-03-31``);
        :meth:`Period.parse` of it gives the same period back.

    Examples
    --------
    >>> p = Period.parse("2026-q3")
    >>> p.label, p.slug, p.previous().label
    ('2026-Q3', '2026-Q3', '2026-Q2')
    >>> p.contains("2026-09-30 23:00")
    True
    """

    start: pd.Timestamp
    end: pd.Timestamp
    kind: PeriodKind
    label: str

    @classmethod
    def parse(cls, p: object) -> Period:
        """The :class:`Period` of ``p`` (text, ``(start, end)`` pair, ``pandas.Period``).

        Raises
        ------
        ValueError
            When ``p`` is not one of the accepted forms (the message lists them), or is
            ``None``: use :func:`as_period` where "no period" is allowed.
        """
        if isinstance(p, Period):
            return p
        if p is None:
            raise _bad(p, "no period given")
        if isinstance(p, pd.Period):
            p = str(p)  # 2026-03, 2026Q1, 2026-01-26/2026-02-01: forms parse_period reads
        bounds = parse_period(p)  # type: ignore[arg-type]
        assert bounds is not None
        start, end = bounds
        kind = _kind_of(p, start, end)
        if kind == "range":
            last = end - pd.Timedelta(days=1) if end == end.normalize() else end
            text = f"{start:%Y-%m-%d}..{last:%Y-%m-%d}"
            if end != end.normalize() or start != start.normalize():
                text = f"{start.isoformat()}..{end.isoformat()}"
        else:
            text = _calendar_text(kind, start)
        return cls(start=start, end=end, kind=kind, label=text)

    @property
    def slug(self) -> str:
        """File-name-safe form (``2026-Q3``; ranges ``2026-01-01_2026-03-31``)."""
        if self.kind != "range":
            return self.label
        last = self.end - pd.Timedelta(days=1) if self.end == self.end.normalize() else self.end
        return f"{self.start:%Y-%m-%d}_{last:%Y-%m-%d}"

    @property
    def bounds(self) -> tuple[pd.Timestamp, pd.Timestamp]:
        """``(start, end)``."""
        return self.start, self.end

    @property
    def days(self) -> float:
        """Length in days."""
        return (self.end - self.start) / pd.Timedelta(days=1)

    @property
    def last_day(self) -> pd.Timestamp:
        """The last calendar day the period covers (midnight)."""
        return (self.end - pd.Timedelta(nanoseconds=1)).normalize()

    def previous(self) -> Period:
        """The period of the same kind just before (a range: the same length before)."""
        if self.kind in ("year", "quarter", "month"):
            months = {"year": 12, "quarter": 3, "month": 1}[self.kind]
            start = self.start - pd.DateOffset(months=months)
            return Period.parse((start, self.start - pd.Timedelta(days=1))).as_kind(self.kind)
        if self.kind in ("week", "day"):
            step = pd.Timedelta(days=7 if self.kind == "week" else 1)
            return Period.parse((self.start - step, self.start - pd.Timedelta(days=1))).as_kind(
                self.kind
            )
        length = self.end - self.start
        return Period(self.start - length, self.start, "range", "").relabel()

    def next(self) -> Period:
        """The period of the same kind just after (a range: the same length after)."""
        if self.kind in ("year", "quarter", "month"):
            months = {"year": 12, "quarter": 3, "month": 1}[self.kind]
            end = self.end + pd.DateOffset(months=months)
            return Period.parse((self.end, end - pd.Timedelta(days=1))).as_kind(self.kind)
        if self.kind in ("week", "day"):
            step = pd.Timedelta(days=7 if self.kind == "week" else 1)
            return Period.parse((self.end, self.end + step - pd.Timedelta(days=1))).as_kind(
                self.kind
            )
        length = self.end - self.start
        return Period(self.end, self.end + length, "range", "").relabel()

    def as_kind(self, kind: PeriodKind) -> Period:
        """The same interval named as a ``kind`` period (it must be exactly one)."""
        if kind == "range":
            return self
        if _calendar_bounds(kind, self.start) != (self.start, self.end):
            raise ValueError(f"{self.label} is not a single {kind}")
        return Period(self.start, self.end, kind, _calendar_text(kind, self.start))

    def relabel(self) -> Period:
        """This interval with its canonical kind and label (used after arithmetic)."""
        return Period.parse((self.start, self.end - pd.Timedelta(days=1)))

    def contains(self, ts: object) -> bool:
        """Whether instant ``ts`` lies in ``[start, end)``."""
        t = pd.Timestamp(ts)  # type: ignore[arg-type]
        if t.tzinfo is not None:
            t = t.tz_localize(None)
        return bool(self.start <= t < self.end)

    def mask(self, values: pd.Series) -> np.ndarray:
        """Boolean mask of the timestamps in ``values`` inside the period (missing: outside)."""
        return mask_period(values, self)

    def display(self, lang: str = "en") -> str:
        """How a reader sees the period: ``2026-Q3`` / ``2026年第3季度``."""
        if lang != "zh":
            return self.label if self.kind != "range" else self.label.replace("..", " to ")
        y = self.start.year
        if self.kind == "year":
            return f"{y}年"
        if self.kind == "quarter":
            return f"{y}年第{(self.start.month - 1) // 3 + 1}季度"
        if self.kind == "month":
            return f"{y}年{self.start.month}月"
        if self.kind == "week":
            iso = self.start.isocalendar()
            return f"{iso.year}年第{iso.week}周"
        if self.kind == "day":
            return f"{y}年{self.start.month}月{self.start.day}日"
        last = self.last_day
        return f"{self.start:%Y-%m-%d} 至 {last:%Y-%m-%d}"

    def __str__(self) -> str:
        return self.label


#: What every ``period=`` argument accepts.
PeriodLike = Period | str | tuple[str | pd.Timestamp, str | pd.Timestamp] | pd.Period | None


def as_period(p: PeriodLike) -> Period | None:
    """``p`` as a :class:`Period`, or ``None`` when ``p`` is ``None`` (no restriction)."""
    return None if p is None else Period.parse(p)


def _calendar_text(kind: str, start: pd.Timestamp) -> str:
    if kind == "year":
        return f"{start.year}"
    if kind == "quarter":
        return f"{start.year}-Q{(start.month - 1) // 3 + 1}"
    if kind == "month":
        return f"{start.year}-{start.month:02d}"
    if kind == "week":
        iso = start.isocalendar()
        return f"{iso.year}-W{iso.week:02d}"
    return f"{start:%Y-%m-%d}"


def _calendar_bounds(kind: str, start: pd.Timestamp) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    """The ``kind`` period starting at ``start``, if ``start`` is where one starts."""
    if start != start.normalize():
        return None
    if kind == "year" and start.month == 1 and start.day == 1:
        return start, start + pd.DateOffset(years=1)
    if kind == "quarter" and start.day == 1 and start.month % 3 == 1:
        return start, start + pd.DateOffset(months=3)
    if kind == "month" and start.day == 1:
        return start, start + pd.DateOffset(months=1)
    if kind == "week" and start.weekday() == 0:
        return start, start + pd.Timedelta(days=7)
    if kind == "day":
        return start, start + pd.Timedelta(days=1)
    return None


def _kind_of(p: object, start: pd.Timestamp, end: pd.Timestamp) -> PeriodKind:
    """The calendar kind of ``p``: from its text form, else from its bounds."""
    if isinstance(p, str):
        t = p.strip()
        for kind, rx in (
            ("year", _YEAR),
            ("quarter", _QUARTER),
            ("month", _MONTH),
            ("week", _WEEK),
            ("day", _DAY),
        ):
            if rx.match(t):
                return kind  # type: ignore[return-value]
        # pandas' spelling of an ISO week: 2026-01-26/2026-02-01
        if "/" in t and _calendar_bounds("week", start) == (start, end):
            return "week"
    return "range"


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
    if isinstance(p, Period):
        return p.start, p.end
    if isinstance(p, pd.Period):
        return p.start_time, (p + 1).start_time
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
    if isinstance(p, Period):
        return p.slug
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
