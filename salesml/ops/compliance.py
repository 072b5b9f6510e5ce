"""Compliance approvals: dual review against its service levels, admission time, review queue.

A customer record (``approvals.subject_id``) passes an *initial* and then a *final*
review. Each step has a service level in hours (``dataset.yaml``
``approval_sla_hours``, default :data:`DEFAULT_SLA_HOURS`: initial within 2 h, final
within 4 h). A step breaches its SLA when it was decided after it, or is still pending
and has waited longer than it at the reference instant (``as_of``, else the latest
timestamp of the table). Waiting time is counted in calendar hours, or in business hours
of a :class:`BusinessCalendar` (opening hours, public holidays and the extra working
days of Chinese holiday shifts).

Rows that cannot be measured are not dropped silently: they land in the result's
``problems`` table (row, approval, column, problem) and are counted in its notes.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from salesml.data.bundle import SalesData
from salesml.data.checks import require_columns
from salesml.filters import FilterLike, FilterSpec
from salesml.i18n import check_lang, t
from salesml.periods import PeriodLike, as_period
from salesml.results import AnalysisResult, Note

__all__ = [
    "DEFAULT_SLA_HOURS",
    "STEPS",
    "ApprovalResult",
    "BusinessCalendar",
    "approval_sla",
    "china_calendar",
    "sla_hours_of",
]

#: The review steps, in order.
STEPS: tuple[str, ...] = ("initial", "final")
#: The default policy: initial review within 2 hours, final within 4.
DEFAULT_SLA_HOURS: dict[str, float] = {"initial": 2.0, "final": 4.0}
#: Holidays or extra working days a calendar may list at most.
MAX_CALENDAR_DAYS = 5_000

_SUBSTITUTED = re.compile(r"substituted from (\d{2})/(\d{2})/(\d{4})")
_COLUMNS = ("approval_id", "subject_id", "step", "reviewer_id", "submitted_at", "decided_at")
_DECISIONS = ("approved", "rejected", "pending")
_NS_PER_H = 3_600 * 10**9


@dataclass(frozen=True)
class BusinessCalendar:
    """Working hours for SLA clocks: opening hours, holidays and extra working days.

    Parameters
    ----------
    open_hour, close_hour
        Opening and closing hour of a working day (``9`` and ``18``: 9:00-18:00).
    holidays
        Dates that are not working days although they fall on Monday-Friday
        (the Chinese public holidays of the years covered, say).
    workdays
        Weekend dates that are working days (the make-up days of Chinese holiday shifts).
    """

    open_hour: float = 9.0
    close_hour: float = 18.0
    holidays: tuple[dt.date, ...] = ()
    workdays: tuple[dt.date, ...] = ()

    def __post_init__(self) -> None:
        if not (0 <= self.open_hour < self.close_hour <= 24):
            raise ValueError(
                "business calendar: opening hours must satisfy 0 <= open < close <= 24, "
                f"got {self.open_hour}-{self.close_hour}"
            )
        if len(self.holidays) + len(self.workdays) > MAX_CALENDAR_DAYS:
            raise ValueError(f"business calendar: at most {MAX_CALENDAR_DAYS} listed days")

    @classmethod
    def from_dict(
        cls, d: Mapping[str, Any], *, source: str = "approval_calendar"
    ) -> BusinessCalendar:
        """Build from a parsed mapping ``{open: 9, close: 18, holidays: [...], workdays: [...]}``.

        Raises
        ------
        ValueError
            Naming ``source`` and the key at fault.
        """
        if not isinstance(d, Mapping):
            raise ValueError(f"{source}: expected a mapping, got {type(d).__name__}")
        unknown = set(d) - {"open", "close", "holidays", "workdays"}
        if unknown:
            raise ValueError(f"{source}: unknown key(s) {sorted(unknown)}")

        def hour(key: str, default: float) -> float:
            v = d.get(key, default)
            if isinstance(v, bool) or not isinstance(v, int | float):
                raise ValueError(f"{source}.{key}: an hour of the day (9 or 18.5), got {v!r}")
            return float(v)

        def days(key: str) -> tuple[dt.date, ...]:
            raw = d.get(key) or []
            if not isinstance(raw, list) or len(raw) > MAX_CALENDAR_DAYS:
                raise ValueError(f"{source}.{key}: a list of dates (at most {MAX_CALENDAR_DAYS})")
            out = []
            for i, v in enumerate(raw):
                try:
                    out.append(pd.Timestamp(str(v)).date())
                except ValueError:
                    raise ValueError(f"{source}.{key}[{i}]: not a date: {v!r}") from None
            return tuple(out)

        return cls(hour("open", 9.0), hour("close", 18.0), days("holidays"), days("workdays"))

    @property
    def day_hours(self) -> float:
        """Working hours in one working day."""
        return self.close_hour - self.open_hour

    def _clock(self, ns: np.ndarray) -> np.ndarray:
        """Working hours from 1970-01-01 to each instant (``ns`` int64 nanoseconds)."""
        day = (ns // (86_400 * 10**9)).astype("datetime64[D]")
        hol = np.array(sorted(self.holidays), dtype="datetime64[D]")
        extra = np.array(sorted(self.workdays), dtype="datetime64[D]")
        before = np.busday_count(np.datetime64("1970-01-01"), day, holidays=hol)
        before = before + np.searchsorted(extra, day, side="left")
        working = np.is_busday(day, holidays=hol) | np.isin(day, extra)
        hour = (ns - day.astype("datetime64[ns]").astype(np.int64)) / _NS_PER_H
        inside = np.clip(hour - self.open_hour, 0.0, self.day_hours)
        return before * self.day_hours + np.where(working, inside, 0.0)

    def hours_between(self, start: np.ndarray, end: np.ndarray) -> np.ndarray:
        """Working hours between two arrays of ``datetime64[ns]`` instants (NaN where missing)."""
        s = np.asarray(start, dtype="datetime64[ns]")
        e = np.asarray(end, dtype="datetime64[ns]")
        bad = np.isnat(s) | np.isnat(e)
        si = np.where(bad, 0, s.astype(np.int64))
        ei = np.where(bad, 0, e.astype(np.int64))
        return np.where(bad, np.nan, self._clock(ei) - self._clock(si))


def sla_hours_of(
    data: SalesData | None, sla_hours: Mapping[str, float] | None = None
) -> dict[str, float]:
    """The SLA per step: ``sla_hours``, else ``dataset.yaml``, else :data:`DEFAULT_SLA_HOURS`.

    Raises
    ------
    ValueError
        For a step that is not ``initial`` or ``final`` or hours that are not positive.
    """
    out = dict(DEFAULT_SLA_HOURS)
    declared = (
        sla_hours
        if sla_hours is not None
        else (data.config.approval_sla_hours if data is not None else {})
    )
    for step, hours in (declared or {}).items():
        if step not in STEPS:
            raise ValueError(f"approval SLA: unknown step {step!r} (steps: {', '.join(STEPS)})")
        if isinstance(hours, bool) or not isinstance(hours, int | float) or not hours > 0:
            raise ValueError(f"approval SLA of step {step!r}: positive hours, got {hours!r}")
        out[step] = float(hours)
    return out


def _calendar_of(
    data: SalesData, calendar: BusinessCalendar | Mapping[str, Any] | bool | None
) -> BusinessCalendar | None:
    """``calendar`` as given; ``True``: the one of ``dataset.yaml`` (``approval_calendar``)."""
    if calendar is None or calendar is False:
        return None
    if isinstance(calendar, BusinessCalendar):
        return calendar
    if calendar is True:
        raw = data.config.extra.get("approval_calendar")
        if raw is None:
            return BusinessCalendar()
        return BusinessCalendar.from_dict(raw, source="dataset.yaml approval_calendar")
    return BusinessCalendar.from_dict(calendar)


def _problem(frame: pd.DataFrame, mask: np.ndarray, column: str, problem: str) -> pd.DataFrame:
    sub = frame.loc[mask]
    return pd.DataFrame(
        {
            "row": sub["_row"].to_numpy(),
            "approval_id": sub["approval_id"].to_numpy(dtype=object),
            "column": column,
            "problem": problem,
            "value": sub[column].astype(str).to_numpy(dtype=object),
        }
    )


def _screen(ap: pd.DataFrame, customers: pd.Series | None) -> tuple[np.ndarray, pd.DataFrame]:
    """Rows that can be measured, and the problems of the others (one row per problem)."""
    parts = []
    step = ap["step"].astype(object).to_numpy()
    sub = ap["submitted_at"].to_numpy()
    dec = ap["decided_at"].to_numpy()
    decision = ap["decision"].astype(object).to_numpy()
    checks: list[tuple[np.ndarray, str, str]] = [
        (~np.isin(step, STEPS), "step", "unknown_step"),
        (np.isnat(sub), "submitted_at", "missing_time"),
        (~np.isin(decision, _DECISIONS), "decision", "unknown_decision"),
        (np.isin(decision, ("approved", "rejected")) & np.isnat(dec), "decided_at", "missing_time"),
        (~np.isnat(dec) & ~np.isnat(sub) & (dec < sub), "decided_at", "decided_before_submitted"),
        (ap["approval_id"].duplicated(keep="first").to_numpy(), "approval_id", "duplicate_id"),
    ]
    if customers is not None:
        known = ap["subject_id"].isin(customers).to_numpy()
        checks.append((~known, "subject_id", "unknown_subject"))
    bad = np.zeros(len(ap), dtype=bool)
    for m, column, problem in checks:
        if m.any():
            parts.append(_problem(ap, m, column, problem))
            bad |= m
    # a final review needs an approved initial one decided before it was submitted
    ok_init = (step == "initial") & (decision == "approved") & ~bad
    first_ok = (
        pd.Series(dec[ok_init], index=ap["subject_id"].to_numpy()[ok_init]).groupby(level=0).min()
    )
    fin = (step == "final") & ~bad
    ref = first_ok.reindex(ap["subject_id"].to_numpy()[fin]).to_numpy()
    no_init = np.zeros(len(ap), dtype=bool)
    early = np.zeros(len(ap), dtype=bool)
    no_init[np.flatnonzero(fin)] = np.isnat(ref)
    early[np.flatnonzero(fin)] = ~np.isnat(ref) & (sub[fin] < ref)
    for m, problem in ((no_init, "final_without_initial"), (early, "final_before_initial")):
        if m.any():
            parts.append(_problem(ap, m, "submitted_at", problem))
            bad |= m
    problems = (
        pd.concat(parts, ignore_index=True).sort_values(["row", "problem"], kind="stable")
        if parts
        else pd.DataFrame(columns=["row", "approval_id", "column", "problem", "value"])
    )
    return ~bad, problems.reset_index(drop=True)


@dataclass(kw_only=True)
class ApprovalResult(AnalysisResult):
    """Dual-review approvals measured against their SLAs.

    Attributes
    ----------
    table
        One row per measurable approval step: ``approval_id``, ``subject_id``, ``step``,
        ``reviewer_id``, ``submitted_at``, ``decided_at``, ``decision``, ``sla_h``,
        ``waited_h`` (until the decision, or until ``now`` while pending), ``pending``,
        ``breached`` (``waited_h > sla_h``).
    breaches
        The breaching rows of ``table``, longest wait first.
    overview
        One row per step and ``all``: ``steps``, ``decided``, ``pending``, ``breached``,
        ``breach_rate``, ``sla_h``, ``waited_median_h``, ``waited_p90_h``.
    admission
        One row per subject with an approved final review: ``subject_id``,
        ``first_submitted_at``, ``admitted_at``, ``admission_h``.
    admission_stats
        One row: ``subjects``, ``admitted``, ``admission_median_h``, ``admission_p90_h``.
    queue
        Pending reviews by reviewer: ``reviewer_id``, ``pending``, ``pending_initial``,
        ``pending_final``, ``over_sla``, ``oldest_wait_h``; most pending first.
    problems
        Rows left out: ``row`` (position in the input table), ``approval_id``,
        ``column``, ``problem``, ``value``.
    now
        The reference instant of pending waits.
    sla_hours
        The SLA per step used.
    business_hours
        Whether waits are in business hours.
    """

    title_key: ClassVar[str] = "ops.title.approvals"

    breaches: pd.DataFrame = field(default_factory=pd.DataFrame)
    overview: pd.DataFrame = field(default_factory=pd.DataFrame)
    admission: pd.DataFrame = field(default_factory=pd.DataFrame)
    admission_stats: pd.DataFrame = field(default_factory=pd.DataFrame)
    queue: pd.DataFrame = field(default_factory=pd.DataFrame)
    problems: pd.DataFrame = field(default_factory=pd.DataFrame)
    now: pd.Timestamp | None = None
    sla_hours: dict[str, float] = field(default_factory=dict)
    business_hours: bool = False

    @property
    def breach_ids(self) -> pd.Index:
        """Approval ids that breach their SLA."""
        return pd.Index(self.breaches["approval_id"].astype(str))

    def summary(self) -> pd.DataFrame:
        """The overview per step."""
        return self.overview

    def key_findings(self, lang: str = "en") -> list[str]:
        """Breaches per step, admission time, the longest queue, then the notes."""
        check_lang(lang)
        out = []
        unit = t("ops.unit.business_h" if self.business_hours else "ops.unit.h", lang)
        for _, r in self.overview[self.overview["step"] != "all"].iterrows():
            if r["steps"]:
                out.append(
                    t(
                        "ops.finding.sla",
                        lang,
                        step=t(f"ops.step.{r['step']}", lang),
                        sla=float(r["sla_h"]),
                        unit=unit,
                        breached=int(r["breached"]),
                        steps=int(r["steps"]),
                        rate=float(r["breach_rate"]),
                    )
                )
        a = self.admission_stats.iloc[0] if len(self.admission_stats) else None
        if a is not None and a["admitted"]:
            out.append(
                t(
                    "ops.finding.admission",
                    lang,
                    admitted=int(a["admitted"]),
                    median=float(a["admission_median_h"]),
                    p90=float(a["admission_p90_h"]),
                    unit=unit,
                )
            )
        if len(self.queue):
            q = self.queue.iloc[0]
            out.append(
                t(
                    "ops.finding.queue",
                    lang,
                    pending=int(self.queue["pending"].sum()),
                    reviewer=str(q["reviewer_id"]),
                    n=int(q["pending"]),
                )
            )
        return out + [n.text(lang) for n in self.notes]


def _quantile(x: np.ndarray, q: float) -> float:
    x = x[~np.isnan(x)]
    return float(np.percentile(x, q)) if len(x) else float("nan")


def approval_sla(
    data: SalesData,
    *,
    period: PeriodLike = None,
    as_of: str | pd.Timestamp | None = None,
    filters: FilterLike = None,
    sla_hours: Mapping[str, float] | None = None,
    calendar: BusinessCalendar | Mapping[str, Any] | bool | None = None,
) -> ApprovalResult:
    """Measure the dual review of customer records against its SLAs.

    Parameters
    ----------
    data
        A bundle with ``approvals`` (and ``customers``, used to check subjects and to
        filter by ``region``/``segment``).
    period
        Keep approval steps submitted in this period (``None``: all).
    as_of
        Cut the history at this instant: later submissions are dropped, later
        decisions hidden (pending); pending waits run until it. ``None``: everything,
        with pending waits until the latest timestamp of the table.
    filters
        On the approvals' columns (``reviewer_id``, ``step``) or the customer's
        ``region``, ``segment``, ``store_id``.
    sla_hours
        SLA per step, overriding ``dataset.yaml``'s ``approval_sla_hours``.
    calendar
        Count waits in business hours: a :class:`BusinessCalendar`, its mapping, or
        ``True`` for the ``approval_calendar`` of ``dataset.yaml`` (9:00-18:00 on
        Monday-Friday when it declares none). ``None``: calendar hours.

    Returns
    -------
    ApprovalResult
    """
    data.require("approvals", analysis="approval SLA")
    ap = data["approvals"]
    require_columns(ap, "approvals", (*_COLUMNS, "decision"), "approval SLA")
    p = as_period(period)
    spec = FilterSpec.parse(filters)
    slas = sla_hours_of(data, sla_hours)
    cal = _calendar_of(data, calendar)
    ap = ap.loc[:, [*_COLUMNS, "decision"]].copy()
    ap["_row"] = np.arange(len(ap))
    for c in ("submitted_at", "decided_at"):
        ap[c] = pd.to_datetime(ap[c], errors="coerce").astype("datetime64[ns]")
    ts = pd.Timestamp(as_of) if as_of is not None else None
    if ts is not None:
        ap = ap.loc[~(ap["submitted_at"] >= ts).to_numpy()]
        later = (ap["decided_at"] >= ts).to_numpy()
        ap.loc[later, "decided_at"] = pd.NaT
        ap.loc[later, "decision"] = "pending"
    customers = data["customers"] if data.has("customers") else None
    ok, problems = _screen(ap, customers["customer_id"] if customers is not None else None)
    good = ap.loc[ok]
    if ts is not None:
        now = ts
    else:
        stamps = pd.concat([ap["submitted_at"], ap["decided_at"]]).dropna()
        now = stamps.max() if len(stamps) else pd.Timestamp("1970-01-01")
    if p is not None:
        good = good.loc[p.mask(good["submitted_at"])]
    if spec:
        if customers is not None:
            dims = [c for c in ("region", "segment", "store_id") if c in customers.columns]
            good = good.merge(
                customers[["customer_id", *dims]].rename(columns={"customer_id": "subject_id"}),
                on="subject_id",
                how="left",
            )
        good = spec.apply(good, table="approvals")
    pending = good["decision"].astype(object).to_numpy() == "pending"
    end = good["decided_at"].to_numpy().copy()
    end[pending] = np.datetime64(now.to_datetime64(), "ns")
    sub = good["submitted_at"].to_numpy()
    if cal is None:
        waited = (end - sub).astype("timedelta64[ns]").astype(np.int64) / _NS_PER_H
    else:
        waited = cal.hours_between(sub, end)
    waited = np.maximum(waited, 0.0)
    sla = good["step"].map(slas).to_numpy(float)
    table = pd.DataFrame(
        {
            "approval_id": good["approval_id"].to_numpy(dtype=object),
            "subject_id": good["subject_id"].to_numpy(dtype=object),
            "step": good["step"].to_numpy(dtype=object),
            "reviewer_id": good["reviewer_id"].to_numpy(dtype=object),
            "submitted_at": sub,
            "decided_at": good["decided_at"].to_numpy(),
            "decision": good["decision"].to_numpy(dtype=object),
            "sla_h": sla,
            "waited_h": waited,
            "pending": pending,
            "breached": waited > sla,
        }
    )
    breaches = table.loc[table["breached"]].sort_values("waited_h", ascending=False, kind="stable")
    result = ApprovalResult(
        table=table,
        breaches=breaches.reset_index(drop=True),
        overview=_overview(table, slas),
        queue=_queue(table),
        problems=problems,
        period=p,
        as_of=ts,
        filters=spec,
        now=now,
        sla_hours=slas,
        business_hours=cal is not None,
    )
    result.admission, result.admission_stats = _admission(table, cal)
    if len(problems):
        result.notes.append(
            Note(
                "ops.note.approval_problems",
                (
                    ("rows", int(problems["row"].nunique())),
                    ("kinds", ", ".join(sorted(problems["problem"].unique()))),
                ),
            )
        )
    return result


def _overview(table: pd.DataFrame, slas: Mapping[str, float]) -> pd.DataFrame:
    rows = []
    for step in (*STEPS, "all"):
        part = table if step == "all" else table[table["step"] == step]
        w = part["waited_h"].to_numpy(float)
        n = len(part)
        rows.append(
            {
                "step": step,
                "steps": n,
                "decided": int((~part["pending"]).sum()),
                "pending": int(part["pending"].sum()),
                "breached": int(part["breached"].sum()),
                "breach_rate": float(part["breached"].mean()) if n else float("nan"),
                "sla_h": float(slas[step]) if step in slas else float("nan"),
                "waited_median_h": _quantile(w, 50),
                "waited_p90_h": _quantile(w, 90),
            }
        )
    return pd.DataFrame(rows)


def _queue(table: pd.DataFrame) -> pd.DataFrame:
    pend = table[table["pending"]]
    if not len(pend):
        return pd.DataFrame(
            columns=[
                "reviewer_id",
                "pending",
                "pending_initial",
                "pending_final",
                "over_sla",
                "oldest_wait_h",
            ]
        )
    g = pend.groupby("reviewer_id", sort=True)
    q = pd.DataFrame(
        {
            "pending": g.size(),
            "pending_initial": (pend["step"] == "initial").groupby(pend["reviewer_id"]).sum(),
            "pending_final": (pend["step"] == "final").groupby(pend["reviewer_id"]).sum(),
            "over_sla": g["breached"].sum().astype(int),
            "oldest_wait_h": g["waited_h"].max(),
        }
    ).reset_index()
    return q.sort_values(["pending", "oldest_wait_h"], ascending=False, kind="stable").reset_index(
        drop=True
    )


def _admission(
    table: pd.DataFrame, cal: BusinessCalendar | None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    first = table.groupby("subject_id")["submitted_at"].min()
    fin = table[(table["step"] == "final") & (table["decision"] == "approved")]
    admitted = fin.groupby("subject_id")["decided_at"].min()
    adm = pd.DataFrame(
        {"first_submitted_at": first.reindex(admitted.index), "admitted_at": admitted}
    )
    s = adm["first_submitted_at"].to_numpy()
    e = adm["admitted_at"].to_numpy()
    if cal is None:
        hours = (e - s).astype("timedelta64[ns]").astype(np.int64) / _NS_PER_H
    else:
        hours = cal.hours_between(s, e)
    adm["admission_h"] = hours
    adm = adm.rename_axis("subject_id").reset_index()
    stats = pd.DataFrame(
        [
            {
                "subjects": int(first.size),
                "admitted": len(adm),
                "admission_median_h": _quantile(adm["admission_h"].to_numpy(float), 50),
                "admission_p90_h": _quantile(adm["admission_h"].to_numpy(float), 90),
            }
        ]
    )
    return adm, stats


def china_calendar(
    years: Iterable[int], *, open_hour: float = 9.0, close_hour: float = 18.0
) -> BusinessCalendar:
    """A :class:`BusinessCalendar` with China's public holidays, from the ``holidays`` package.

    The weekday holidays become ``holidays``; the make-up working days of the holiday
    shifts (调休), which ``holidays`` names in its "Day off (substituted from MM/DD/YYYY)"
    entries, become ``workdays`` (none when its wording differs).

    Raises
    ------
    ImportError
        When the optional ``holidays`` package is not installed (``pip install holidays``).
    """
    try:
        import holidays as hol
    except ImportError as e:  # optional dependency
        raise ImportError(
            "Chinese public holidays need the optional 'holidays' package: pip install holidays"
        ) from e
    cn = hol.China(years=sorted({int(y) for y in years}), language="en_US")
    days = sorted(d for d in cn if d.weekday() < 5)
    made_up = set()
    for name in cn.values():
        for m in _SUBSTITUTED.finditer(str(name)):
            d = dt.date(int(m.group(3)), int(m.group(1)), int(m.group(2)))
            if d.weekday() >= 5:
                made_up.add(d)
    return BusinessCalendar(open_hour, close_hour, tuple(days), tuple(sorted(made_up)))
