"""``war_room_weekly``: deal war rooms for a period, with the go-live effect.

Sections: key findings, the overview, response time per role, its monthly trend, the
before/after of the go-live, the coordination load per person, and the at-risk war-room
deals (open, with unanswered requests or many revisions), each linked to the deal-health
reasons (rule signals) where the dataset has what they need.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

from salesml.data.schema import SPECS
from salesml.health.snapshots import LOAD_COLUMNS as HEALTH_COLUMNS
from salesml.ops.warroom import EVENT_COLUMNS, ImpactResult, WarRoomResult, war_room, war_room_impact
from salesml.plotting.ops import response_trend
from salesml.reports.params import ReportParams
from salesml.reports.registry import ReportSpec
from salesml.reports.sections import Section, Table

if TYPE_CHECKING:
    from salesml.reports.notebook import Report

__all__ = ["LOADS", "LOAD_COLUMNS", "REPORT", "SECTIONS", "WarRoomWeeklyParams", "at_risk_rows"]

#: The tables the report reads: the war room's (events, deals; customers for the
#: region and segment filters) and what the deal-health reasons of the at-risk deals
#: read (:func:`salesml.health.deal_snapshots`); leads, costs, contracts, payments,
#: material movements and approvals are not loaded.
LOADS: tuple[str, ...] = (
    "reps",
    "customers",
    "deals",
    "stage_history",
    "activities",
    "quotes",
    "collab_events",
)
#: Per big table the columns the war room and the deal-health features read (the
#: features' :data:`salesml.health.snapshots.LOAD_COLUMNS` without the activity and
#: quote ids, which they never read; deals, reps and customers whole: filters read any
#: of their columns). At tier L this keeps 31M activities to six columns.
LOAD_COLUMNS: dict[str, tuple[str, ...]] = {
    t: tuple(
        c.name
        for c in SPECS[t].columns
        if (c.name in HEALTH_COLUMNS.get(t, ()) and c.name not in ("activity_id", "quote_id"))
        or (t == "collab_events" and c.name in EVENT_COLUMNS)
    )
    for t in ("stage_history", "activities", "quotes", "collab_events")
}


@dataclass(frozen=True)
class WarRoomWeeklyParams(ReportParams):
    """Parameters of ``war_room_weekly``.

    Parameters
    ----------
    dataset, period, region, lang
        See :class:`~salesml.reports.params.ReportParams`.
    overdue_h
        Hours after which an unanswered request is overdue.
    max_revisions
        A war-room deal with more plan or terms revisions than this is at risk.
    """

    overdue_h: float = 48.0
    max_revisions: int = 3

    def __post_init__(self) -> None:
        super().__post_init__()
        self._check_between("overdue_h", 1, 1000)
        self._check_between("max_revisions", 1, 100)


def _end(r: Report) -> pd.Timestamp | None:
    """The period's end, unless the data ends before it."""
    ev = r.data["collab_events"]
    last = pd.to_datetime(ev["occurred_at"]).max()
    end = r.period.end  # type: ignore[union-attr]
    return end if pd.isna(last) or end <= last else None


def _war_room(r: Report) -> WarRoomResult:
    r.data.require("collab_events", analysis="the war room report")
    return war_room(
        r.data,
        period=r.period,
        as_of=_end(r),
        filters=r.filters,
        overdue_h=r.params.overdue_h,  # type: ignore[attr-defined]
    )


def _history(r: Report) -> WarRoomResult:
    r.data.require("collab_events", analysis="the war room report")
    return war_room(r.data, as_of=_end(r), filters=r.filters)


def _impact(r: Report) -> ImpactResult | None:
    r.data.require("collab_events", "deals", analysis="the war room report")
    if r.data.config.go_live_ts is None:
        return None
    return war_room_impact(r.data, as_of=_end(r), filters=r.filters)


def _findings(r: Report) -> list[str]:
    out: list[str] = []
    for name in ("overview", "impact"):
        res = r.result(name)
        if res is not None:
            out += res.key_findings(r.lang)
    return out


def at_risk_rows(result: WarRoomResult | None, report: Report) -> pd.DataFrame | None:
    """Open war-room deals at risk, with their deal-health reasons where available.

    A deal is at risk when it is still open at the period's end and has an overdue
    request or more plan or terms revisions than ``max_revisions``. Output columns:
    ``deal_id``, ``roles``, ``unanswered``, ``overdue``, ``plan_revisions``,
    ``terms_revisions``, ``response_median_h``, ``health_reasons`` (the fired
    deal-health rule signals; empty when none fired or the dataset cannot compute them).
    """
    if result is None:
        return None
    cap = report.params.max_revisions  # type: ignore[attr-defined]
    t = result.table
    risky = t[
        (t["overdue"] > 0) | (t["plan_revisions"] > cap) | (t["terms_revisions"] > cap)
    ].copy()
    if report.data.has("deals"):
        deals = report.data["deals"].set_index("deal_id")
        end = _end(report) or pd.to_datetime(report.data["collab_events"]["occurred_at"]).max()
        closed = pd.to_datetime(deals["closed_at"]).reindex(risky["deal_id"])
        risky = risky[~(closed.notna() & (closed <= end)).to_numpy()]
    cols = [
        "deal_id",
        "roles",
        "unanswered",
        "overdue",
        "plan_revisions",
        "terms_revisions",
        "response_median_h",
    ]
    out = risky[cols].head(50).reset_index(drop=True)
    out["health_reasons"] = _health_reasons(report, out["deal_id"])
    return out


def _health_reasons(report: Report, deal_ids: pd.Series) -> list[str]:
    """The fired deal-health signals per deal ('' where none or not computable)."""
    if not len(deal_ids):
        return []
    from salesml.health import deal_snapshots, health_signals

    end = _end(report) or pd.to_datetime(report.data["collab_events"]["occurred_at"]).max()
    try:
        snaps = deal_snapshots(
            report.data, as_of=end - pd.Timedelta(seconds=1), horizon_days=None, fingerprint=False
        )
    except Exception:  # a dataset without what the snapshots need: no reasons, said as empty
        return [""] * len(deal_ids)
    sig = health_signals(snaps, lang=report.lang)
    if "deal_id" in snaps.columns:
        text = pd.Series(sig["signal_text"].to_numpy(), index=snaps["deal_id"].to_numpy())
    else:
        text = sig["signal_text"]
    text = text[~text.index.duplicated(keep="last")]
    return [
        str(x) if isinstance(x, str) else "" for x in text.reindex(deal_ids.to_numpy()).to_numpy()
    ]


SECTIONS: tuple[Section, ...] = (
    Section("findings", title="report.findings", findings=_findings),
    Section(
        "overview",
        title="war_room_weekly.overview",
        note="war_room_weekly.overview_note",
        compute=_war_room,
        tables=(
            Table(
                rows="overview",
                percent=("war_room_share",),
                counts=("deals", "war_rooms", "requests", "unanswered", "overdue"),
            ),
        ),
    ),
    Section(
        "roles",
        title="war_room_weekly.roles",
        uses="overview",
        tables=(Table(rows="distribution", counts=("requests", "answered"), labels=("role",)),),
    ),
    Section(
        "trend",
        title="war_room_weekly.trend",
        compute=_history,
        figure=response_trend,
        tables=(Table(rows="trend", counts=("requests",)),),
    ),
    Section(
        "impact",
        title="war_room_weekly.impact",
        note="war_room_weekly.impact_note",
        compute=_impact,
        tables=(Table(percent=("change", "low", "high"), labels=("kpi",), decimals=2),),
    ),
    Section(
        "load",
        title="war_room_weekly.load",
        uses="overview",
        tables=(
            Table(
                rows=lambda res, r: res.load.head(20), counts=("requests_raised", "responses_given")
            ),
        ),
    ),
    Section(
        "at_risk",
        title="war_room_weekly.at_risk",
        note="war_room_weekly.at_risk_note",
        uses="overview",
        tables=(
            Table(
                rows=at_risk_rows,
                counts=("unanswered", "overdue", "plan_revisions", "terms_revisions"),
            ),
        ),
    ),
)

REPORT = ReportSpec(
    name="war_room_weekly",
    params=WarRoomWeeklyParams,
    description="Who is pulled into deals, response times, the go-live effect and at-risk war rooms.",
    tables=("collab_events",),
    loads=LOADS,
    columns=LOAD_COLUMNS,
    sections=SECTIONS,
    cadence="week",
)
