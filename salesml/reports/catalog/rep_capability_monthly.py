"""``rep_capability_monthly``: rep capability radar, team table, low evidence, movers, grouping.

Declared as sections (see :mod:`salesml.reports.sections`); the notebook
``notebooks/reports/rep_capability_monthly.ipynb`` is imports, the parameters cell,
``report = start_report("rep_capability_monthly", globals())`` and one
``report.section(name)`` per cell. Scores are taken as known at the end of the period.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import pandas as pd

from salesml.capability.scores import COLUMNS as EVIDENCE_COLUMNS
from salesml.reports.params import ReportParams
from salesml.reports.registry import ReportSpec
from salesml.reports.sections import Section, Table

if TYPE_CHECKING:
    from salesml.capability import CapabilityResult, CapabilityTrendResult
    from salesml.capability.regroup import RegroupResult
    from salesml.reports.notebook import Report

__all__ = [
    "REPORT",
    "SECTIONS",
    "RepCapabilityParams",
    "default_groups",
    "grouping_rows",
    "team_rows",
]


@dataclass(frozen=True)
class RepCapabilityParams(ReportParams):
    """Parameters of ``rep_capability_monthly``.

    Parameters
    ----------
    dataset, period, region, lang
        See :class:`~salesml.reports.params.ReportParams`; scores use what was known at
        the end of ``period``.
    window_days
        Look-back window of the scores (days).
    trend_months
        Months compared for the movers (the first against the last).
    min_events
        Scores resting on fewer events are flagged as low evidence.
    groups
        Path of a YAML file declaring the proposed groups (see
        :mod:`salesml.capability.regroup`); ``None``: a technical key-account group and a
        commercial pricing group of ``group_size`` reps each.
    group_size
        Size of each default group.
    """

    window_days: int = 365
    trend_months: int = 6
    min_events: int = 20
    groups: str | None = None
    group_size: int = 4

    file_params: ClassVar[tuple[str, ...]] = ("groups",)

    def __post_init__(self) -> None:
        super().__post_init__()
        self._check_between("window_days", 7, 3660)
        self._check_between("trend_months", 2, 24)
        self._check_between("min_events", 1, 10_000)
        self._check_between("group_size", 1, 1000)
        if self.groups is not None and not self.groups.strip():
            raise ValueError("groups: give the path of a group file, or leave it unset")


def default_groups(size: int) -> dict[str, Any]:
    """The default declaration: a technical key-account and a commercial pricing group."""
    return {
        "groups": [
            {"name": "key_accounts", "scenario": "technical", "size": size},
            {"name": "pricing", "scenario": "commercial", "size": size},
        ]
    }


def _as_of(r: Report) -> pd.Timestamp:
    return r.period.end - pd.Timedelta(microseconds=1)  # type: ignore[union-attr]


# ---------------------------------------------------------------------- the analysis calls
def _scores(r: Report) -> CapabilityResult:
    from salesml.capability import capability_scores

    p = r.params
    return capability_scores(
        r.data,
        as_of=_as_of(r),
        window=p.window_days,  # type: ignore[attr-defined]
        filters=r.filters,
        min_events=p.min_events,  # type: ignore[attr-defined]
    )


def _trend(r: Report) -> CapabilityTrendResult:
    from salesml.capability import capability_trend

    p = r.params
    return capability_trend(
        r.data,
        as_of=_as_of(r),
        months=p.trend_months,  # type: ignore[attr-defined]
        filters=r.filters,
        min_events=p.min_events,  # type: ignore[attr-defined]
    )


def _grouping(r: Report) -> RegroupResult | None:
    from salesml.capability.regroup import regroup

    scores = r.result("radar")
    if scores is None:
        return None
    p = r.params
    groups = p.groups or default_groups(p.group_size)  # type: ignore[attr-defined]
    return regroup(scores, groups=groups, data=r.data)


def _findings(r: Report) -> list[str]:
    out: list[str] = []
    for res in r.results("radar", "movers", "grouping"):
        if res is not None:
            out.extend(res.key_findings(r.lang))
    return out


def _radar(result: CapabilityResult, lang: str = "en") -> Any:
    from salesml.plotting.capability import capability_radar

    return capability_radar(result, lang=lang)


# ---------------------------------------------------------------------- the rows shown
def team_rows(result: CapabilityResult | None) -> pd.DataFrame | None:
    """Team table: per rep and scenario the score, its 90% interval and the evidence.

    Output columns: ``team, rep_id, name, scenario, score, lower, upper, evidence,
    low_evidence``, by team then rep.
    """
    if result is None:
        return None
    cols = [
        "team",
        "rep_id",
        "name",
        "scenario",
        "score",
        "lower",
        "upper",
        "evidence",
        "low_evidence",
    ]
    return result.table[cols].sort_values(["team", "rep_id", "scenario"]).reset_index(drop=True)


def low_evidence_rows(result: CapabilityResult | None) -> pd.DataFrame | None:
    """Reps whose score rests on few events: ``team, rep_id, name, scenario, evidence``."""
    if result is None:
        return None
    low = result.low_evidence_reps()
    return low[["team", "rep_id", "name", "scenario", "evidence", "score", "lower", "upper"]]


def grouping_rows(result: RegroupResult | None, lang: str) -> pd.DataFrame | None:
    """Current team against the proposed group, with each placement's reason.

    Output columns: ``group, rep_id, name, team, score, lower, upper, reason``.
    """
    if result is None or not len(result.table):
        return None
    out = result.table[["group", "rep_id", "name", "team", "score", "lower", "upper"]].copy()
    out["reason"] = result.reasons(lang).to_numpy()
    return out


SECTIONS: tuple[Section, ...] = (
    Section("findings", title="report.findings", findings=_findings),
    Section(
        "radar",
        title="rep_capability_monthly.radar",
        note="rep_capability_monthly.radar_note",
        compute=_scores,
        figure=_radar,
        tables=(
            Table(
                rows=lambda res, r: team_rows(res),
                counts=("evidence",),
                labels=("scenario",),
                decimals=2,
                max_rows=300,
            ),
        ),
    ),
    Section(
        "low_evidence",
        title="rep_capability_monthly.low_evidence",
        note="rep_capability_monthly.low_evidence_note",
        uses="radar",
        tables=(
            Table(
                rows=lambda res, r: low_evidence_rows(res),
                counts=("evidence",),
                labels=("scenario",),
                decimals=2,
                max_rows=100,
            ),
        ),
    ),
    Section(
        "movers",
        title="rep_capability_monthly.movers",
        note="rep_capability_monthly.movers_note",
        compute=_trend,
        tables=(
            Table(
                rows="movers",
                labels=("scenario", "direction"),
                counts=("evidence_before", "evidence_after"),
                decimals=2,
            ),
        ),
    ),
    Section(
        "grouping",
        title="rep_capability_monthly.grouping",
        note="rep_capability_monthly.grouping_note",
        compute=_grouping,
        tables=(
            Table(rows="groups", labels=("scenario", "outcome", "group"), decimals=2),
            Table(rows=lambda res, r: grouping_rows(res, r.lang), labels=("group",), decimals=2),
        ),
    ),
)

REPORT = ReportSpec(
    name="rep_capability_monthly",
    params=RepCapabilityParams,
    description="Rep capability radar with intervals, low-evidence reps, movers, proposed groups.",
    tables=("deals",),
    loads=(
        "reps",
        "customers",
        "deals",
        "stage_history",
        "collab_events",
        "activities",
        "contracts",
        "payments",
    ),
    columns=EVIDENCE_COLUMNS,
    sections=SECTIONS,
    cadence="month",
)
