"""``compliance_weekly``: dual-review approvals against their SLAs, for a period.

Sections: key findings, the SLA overview per step, the breaches, the pending queue by
reviewer, time to admission and the approval rows left out (with why). Approvals are
those submitted in the period; pending reviews are judged at the period's end.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

from salesml.ops.compliance import ApprovalResult, approval_sla
from salesml.reports.params import ReportParams
from salesml.reports.registry import ReportSpec
from salesml.reports.sections import Section, Table

if TYPE_CHECKING:
    from salesml.reports.notebook import Report

__all__ = ["REPORT", "SECTIONS", "ComplianceWeeklyParams", "breach_rows"]


@dataclass(frozen=True)
class ComplianceWeeklyParams(ReportParams):
    """Parameters of ``compliance_weekly``.

    Parameters
    ----------
    dataset, period, region, lang
        See :class:`~salesml.reports.params.ReportParams`; ``region`` is the customer's.
    business_hours
        Count waits in business hours (``dataset.yaml`` ``approval_calendar``,
        9:00-18:00 Monday-Friday when it declares none) instead of calendar hours.
    """

    business_hours: bool = False


def _approvals(r: Report) -> ApprovalResult:
    r.data.require("approvals", analysis="the compliance report")
    ap = r.data["approvals"]
    last = pd.concat([pd.to_datetime(ap["submitted_at"]), pd.to_datetime(ap["decided_at"])]).max()
    p = r.period
    # pending reviews are judged at the period's end, or at the data's end before it
    as_of = p.end if pd.isna(last) or p.end <= last else None  # type: ignore[union-attr]
    return approval_sla(
        r.data,
        period=p,
        as_of=as_of,
        filters=r.filters,
        calendar=True if r.params.business_hours else None,  # type: ignore[attr-defined]
    )


def _findings(r: Report) -> list[str]:
    res = r.result("sla")
    return res.key_findings(r.lang) if res is not None else []


def breach_rows(result: ApprovalResult | None) -> pd.DataFrame | None:
    """The breaches shown: ``approval_id``, ``subject_id``, ``step``, ``reviewer_id``,
    ``submitted_at``, ``decision``, ``sla_h``, ``waited_h`` (longest wait first)."""
    if result is None:
        return None
    cols = [
        "approval_id",
        "subject_id",
        "step",
        "reviewer_id",
        "submitted_at",
        "decision",
        "sla_h",
        "waited_h",
    ]
    out = result.breaches[cols].copy()
    out["submitted_at"] = out["submitted_at"].dt.strftime("%Y-%m-%d %H:%M")
    return out


SECTIONS: tuple[Section, ...] = (
    Section("findings", title="report.findings", findings=_findings),
    Section(
        "sla",
        title="compliance_weekly.sla",
        note="compliance_weekly.sla_note",
        compute=_approvals,
        tables=(
            Table(
                rows="overview",
                percent=("breach_rate",),
                counts=("steps", "decided", "pending", "breached"),
                labels=("step",),
            ),
        ),
    ),
    Section(
        "breaches",
        title="compliance_weekly.breaches",
        uses="sla",
        tables=(Table(rows=lambda res, r: breach_rows(res), labels=("step", "decision")),),
    ),
    Section(
        "queue",
        title="compliance_weekly.queue",
        uses="sla",
        tables=(
            Table(rows="queue", counts=("pending", "pending_initial", "pending_final", "over_sla")),
        ),
    ),
    Section(
        "admission",
        title="compliance_weekly.admission",
        uses="sla",
        tables=(Table(rows="admission_stats", counts=("subjects", "admitted")),),
    ),
    Section(
        "problems",
        title="compliance_weekly.problems",
        note="compliance_weekly.problems_note",
        uses="sla",
        tables=(Table(rows="problems", labels=("problem",)),),
    ),
)

REPORT = ReportSpec(
    name="compliance_weekly",
    params=ComplianceWeeklyParams,
    description="Approval SLA breaches, the review queue and time to admission.",
    tables=("approvals",),
    loads=("approvals", "customers"),
    sections=SECTIONS,
    cadence="week",
)
