"""``followups_daily``: the follow-ups due at the end of a day, per owner, overdue first.

Sections: findings (counts and skipped rules), one row per owner (open and overdue
tasks), and the open task list (reason, suggested script, due time), each computed by
:func:`salesml.rules.due_followups` as of the end of the report's period. The notebook
``notebooks/reports/followups_daily.ipynb`` is imports, the parameters cell,
``start_report`` and one ``report.section(name)`` per cell.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from salesml.periods import Period
from salesml.reports.params import ReportParams
from salesml.reports.registry import ReportSpec
from salesml.reports.sections import Section, Table
from salesml.rules.followups import FollowupResult, due_followups

if TYPE_CHECKING:
    from salesml.reports.notebook import Report

__all__ = ["REPORT", "SECTIONS", "FollowupsDailyParams", "owner_rows", "task_rows"]


@dataclass(frozen=True)
class FollowupsDailyParams(ReportParams):
    """Parameters of ``followups_daily``.

    Parameters
    ----------
    dataset, period, region, lang
        See :class:`~salesml.reports.params.ReportParams`; the tasks are those due as of
        the end of ``period`` (a day, usually).
    rules
        A follow-up rule file (YAML) instead of the shipped defaults.
    max_tasks
        Most tasks the task list shows (the owner table counts them all).
    """

    rules: str | None = None
    max_tasks: int = 100

    def __post_init__(self) -> None:
        super().__post_init__()
        self._check_between("max_tasks", 1, 2000)


def _as_of(r: Report) -> pd.Timestamp:
    period = r.period
    end = period.end if isinstance(period, Period) else Period.parse(period).end
    return end - pd.Timedelta(microseconds=1)


def _followups(r: Report) -> FollowupResult:
    rules = r.params.rules  # type: ignore[attr-defined]
    book = Path(rules) if rules else None
    res = due_followups(r.data, rules=book, as_of=_as_of(r), lang=r.lang)
    if r.params.region:
        res = replace(res, table=res.table[res.table["region"] == r.params.region])
    return res


def owner_rows(result: FollowupResult | None) -> pd.DataFrame | None:
    """One row per owner: ``owner_name``, ``owner_id``, ``tasks``, ``overdue`` (most overdue first)."""
    if result is None:
        return None
    o = result.open()
    if o.empty:
        return pd.DataFrame(columns=["owner_name", "owner_id", "tasks", "overdue"])
    g = o.assign(overdue=o["overdue_hours"] > 0).groupby(["owner_name", "owner_id"], dropna=False)
    out = g.agg(tasks=("task_id", "size"), overdue=("overdue", "sum")).reset_index()
    return out.sort_values(["overdue", "tasks"], ascending=False, ignore_index=True)


def task_rows(result: FollowupResult | None, max_tasks: int = 100) -> pd.DataFrame | None:
    """The open tasks, overdue first: ``owner_name``, ``priority``, ``kind``, ``reason``,
    ``script``, ``due_at``, ``overdue_hours``."""
    if result is None:
        return None
    o = result.open().sort_values(["overdue_hours"], ascending=False, kind="stable")
    cols = ["owner_name", "priority", "kind", "reason", "script", "due_at", "overdue_hours"]
    out = o[cols].head(max_tasks).copy()
    out["due_at"] = out["due_at"].dt.strftime("%Y-%m-%d %H:%M")
    return out.reset_index(drop=True)


def _findings(r: Report) -> list[str]:
    res = r.result("tasks")
    return [] if res is None else res.key_findings(r.lang)


SECTIONS: tuple[Section, ...] = (
    Section("findings", title="report.findings", findings=_findings),
    Section(
        "tasks",
        title="followups_daily.tasks",
        note="followups_daily.tasks_note",
        compute=_followups,
        tables=(
            Table(
                rows=lambda res, r: task_rows(res, r.params.max_tasks),
                decimals=0,
                labels=("priority", "kind"),
                max_rows=2000,
            ),
        ),
    ),
    Section(
        "owners",
        title="followups_daily.owners",
        uses="tasks",
        tables=(Table(rows=lambda res, r: owner_rows(res), counts=("tasks", "overdue")),),
    ),
)

REPORT = ReportSpec(
    name="followups_daily",
    params=FollowupsDailyParams,
    description="Follow-ups due at the end of the day, per owner, overdue first.",
    tables=("customers",),
    loads=(
        "reps",
        "customers",
        "deals",
        "activities",
        "quotes",
        "contracts",
        "payments",
        "approvals",
    ),
    sections=SECTIONS,
    cadence="day",
)
