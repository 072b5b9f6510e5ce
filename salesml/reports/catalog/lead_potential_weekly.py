"""``lead_potential_weekly``: next week's visit lists, top accounts with reasons, the
backtest card, the lead-to-cash table.

One analysis call (:func:`salesml.potential.weekly_potential` at the period's review
instant, the call the ``visit_planner`` app makes too); the sections below show parts
of its result. Row functions pick and order columns for people; they compute nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from salesml.distributed import resolve_client
from salesml.potential.cash import STAGES
from salesml.potential.snapshots import LOAD_COLUMNS
from salesml.potential.weekly import WeeklyPotential, weekly_potential
from salesml.reports.params import ReportParams
from salesml.reports.registry import ReportSpec
from salesml.reports.sections import Section, Table

if TYPE_CHECKING:
    from salesml.reports.notebook import Report

__all__ = [
    "REPORT",
    "LeadPotentialWeeklyParams",
    "account_rows",
    "backtest_rows",
    "card_rows",
    "cash_rows",
    "queue_rows",
    "visit_rows",
]


@dataclass(frozen=True)
class LeadPotentialWeeklyParams(ReportParams):
    """Parameters of ``lead_potential_weekly``.

    Parameters
    ----------
    dataset, period, region, lang
        See :class:`~salesml.reports.params.ReportParams`; the review is taken at the end
        of ``period`` (or of the data, if earlier); ``region`` limits the candidates.
    visits_per_rep
        Visits each rep has next week.
    horizon_days
        Conversion / purchase horizon of the models.
    top_n
        Rows of the top-accounts table.
    backtest_origins
        Monthly origins of the lead model's backtest (0 skips it).
    """

    visits_per_rep: int = 10
    horizon_days: int = 90
    top_n: int = 20
    backtest_origins: int = 2

    def __post_init__(self) -> None:
        super().__post_init__()
        self._check_between("visits_per_rep", 1, 200)
        self._check_between("horizon_days", 14, 365)
        self._check_between("top_n", 1, 200)
        self._check_between("backtest_origins", 0, 12)


def _review(r: Report) -> WeeklyPotential:
    p = r.params
    return weekly_potential(
        r.data,
        period=p.period,
        filters=r.filters,
        capacity=p.visits_per_rep,  # type: ignore[attr-defined]
        horizon_days=p.horizon_days,  # type: ignore[attr-defined]
        backtest_origins=p.backtest_origins,  # type: ignore[attr-defined]
        lang=r.lang,
        fingerprint=r.fingerprint,
        client=resolve_client(),  # `report run --scheduler` sets SALESML_DASK_SCHEDULER
    )


def _findings(r: Report) -> list[str]:
    w = r.result("visits")
    return w.key_findings(r.lang) if w is not None else []


def visit_rows(w: WeeklyPotential | None) -> pd.DataFrame | None:
    """The visit list: ``rep_id``, ``rank``, ``kind``, ``id``, ``potential_score``,
    ``expected_revenue``, ``reasons``."""
    if w is None:
        return None
    cols = ["rep_id", "rank", "kind", "id", "potential_score", "expected_revenue", "reasons"]
    return w.plan.table[[c for c in cols if c in w.plan.table]]


def queue_rows(w: WeeklyPotential | None) -> pd.DataFrame | None:
    """Each owner's queue: ``rep_id``, ``candidates`` (open leads and accounts they own),
    ``capacity``, ``planned``, ``expected_revenue`` of the planned visits."""
    if w is None:
        return None
    cols = ["rep_id", "candidates", "capacity", "planned", "expected_revenue"]
    return w.plan.by_rep[cols]


def account_rows(w: WeeklyPotential | None, n: int) -> pd.DataFrame | None:
    """Top accounts: ``id``, ``rep_id``, ``segment``, ``region``, ``potential_score``,
    ``expected_revenue``, ``reasons``."""
    if w is None:
        return None
    cols = ["id", "rep_id", "segment", "region", "potential_score", "expected_revenue", "reasons"]
    return w.top_accounts(n)[cols]


def card_rows(w: WeeklyPotential | None, lang: str) -> pd.DataFrame | None:
    """The lead model's card for people (``item``, ``value``)."""
    if w is None or w.card is None:
        return None
    return w.card.rows(lang)


def backtest_rows(w: WeeklyPotential | None) -> pd.DataFrame | None:
    """Pooled backtest metrics: ``model``, ``auc``, ``brier``, ``log_loss``, ``ece``, ``n``."""
    if w is None or w.backtest is None:
        return None
    return w.backtest.table[["model", "auc", "brier", "log_loss", "ece", "n"]]


def cash_rows(w: WeeklyPotential | None) -> pd.DataFrame | None:
    """Lead-to-cash by channel: ``group``, ``leads``, ``p_qualified``, ``p_won``,
    ``won_amount_mean``, ``paid_share``, ``cash_per_lead``, the stage terms as factors
    (as factors against the business: ``1.20x`` = 20% above it), ``days_to_cash``."""
    if w is None or w.cash is None:
        return None
    tab = w.cash.table
    out = tab[
        [
            "group",
            "leads",
            "p_qualified",
            "p_won",
            "won_amount_mean",
            "paid_share",
            "cash_per_lead",
            "days_to_cash",
        ]
    ].copy()
    for s in (*STAGES, "total"):
        factor = np.exp(tab[s].astype("float64"))
        out[s] = factor.map(lambda v: "" if pd.isna(v) else f"{v:.2f}x")
    return out


def _card_note(w: WeeklyPotential | None, r: Report) -> str:
    if w is not None and w.backtest is not None:
        return "lead_potential_weekly.card_note"
    return "lead_potential_weekly.no_backtest"


SECTIONS: tuple[Section, ...] = (
    Section("findings", title="report.findings", findings=_findings),
    Section(
        "visits",
        title="lead_potential_weekly.visits",
        note="lead_potential_weekly.visits_note",
        compute=_review,
        tables=(
            Table(
                rows=lambda w, r: visit_rows(w),
                money=("expected_revenue",),
                labels=("kind",),
                max_rows=60,
            ),
        ),
    ),
    Section(
        "queue",
        title="lead_potential_weekly.queue",
        note="lead_potential_weekly.queue_note",
        uses="visits",
        tables=(
            Table(
                rows=lambda w, r: queue_rows(w),
                money=("expected_revenue",),
                counts=("candidates", "capacity", "planned"),
                max_rows=60,
            ),
        ),
    ),
    Section(
        "accounts",
        title="lead_potential_weekly.accounts",
        uses="visits",
        tables=(
            Table(
                rows=lambda w, r: account_rows(w, r.params.top_n),  # type: ignore[attr-defined]
                money=("expected_revenue",),
                labels=("segment",),
            ),
        ),
    ),
    Section(
        "card",
        title="lead_potential_weekly.card",
        uses="visits",
        note=_card_note,
        tables=(
            Table(rows=lambda w, r: card_rows(w, r.lang), labels=("item",), max_rows=60),
            Table(rows=lambda w, r: backtest_rows(w), decimals=3, labels=("model",)),
        ),
    ),
    Section(
        "cash",
        title="lead_potential_weekly.cash",
        note="lead_potential_weekly.cash_note",
        uses="visits",
        tables=(
            Table(
                rows=lambda w, r: cash_rows(w),
                percent=("p_qualified", "p_won", "paid_share"),
                money=("won_amount_mean", "cash_per_lead"),
                counts=("leads",),
                labels=("group",),
            ),
        ),
    ),
)

REPORT = ReportSpec(
    name="lead_potential_weekly",
    params=LeadPotentialWeeklyParams,
    description="Next week's visit lists, top accounts with reasons, backtest card, lead-to-cash.",
    tables=("leads",),
    loads=("leads", "deals", "customers", "activities", "contracts", "payments"),
    # of 31M activities only the four columns the review reads (compact ids)
    columns={t: LOAD_COLUMNS[t] for t in ("deals", "activities")},
    sections=SECTIONS,
)
