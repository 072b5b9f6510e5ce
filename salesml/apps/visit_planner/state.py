"""State of the visit planner (traitlets, no widgets): capacity per rep or region -> the plan.

The models are fit once, at the review instant of ``lead_potential_weekly``
(:func:`salesml.potential.weekly_potential`, the report's call), so the app and the
report show the same candidates and scores; changing capacity only re-plans
(:func:`salesml.potential.visit_plan`), which is fast.
"""

from __future__ import annotations

import os
from typing import Any

import pandas as pd
from traitlets import Float, Instance, Int, List, TraitError, Unicode, observe, validate

from salesml.apps.base import AppState, dataset_path
from salesml.data.bundle import SalesData
from salesml.distributed import resolve_client
from salesml.i18n import money, t
from salesml.potential.visits import MAX_VISITS, POOL, VisitPlan, visit_plan
from salesml.potential.weekly import (
    WEEKLY_TABLES,
    WeeklyPotential,
    load_potential_data,
    weekly_potential,
)

__all__ = ["PERIOD_ENV", "VisitPlannerState"]

#: Environment variable ``salesml serve`` may set: the review period.
PERIOD_ENV = "SALESML_PERIOD"


class VisitPlannerState(AppState):
    """Capacity controls and the visit plan they give.

    Parameters
    ----------
    data
        The dataset.
    period
        The review period (as for ``lead_potential_weekly``; ``None``: the end of the data).
    lang
        ``en`` or ``zh``.
    base_capacity
        Visits per rep next week.

    Attributes
    ----------
    region
        Region whose reps get ``region_capacity`` visits instead ("" = every rep).
    rep
        One rep who gets ``rep_capacity`` visits instead ("" = none).
    result
        The plan for the current capacities.
    reference
        The plan with ``base_capacity`` for every rep (what a change is measured against).
    change
        Expected revenue of :attr:`result` minus that of :attr:`reference`.
    """

    TABLES = WEEKLY_TABLES

    base_capacity = Int(10)
    region = Unicode("")
    region_capacity = Int(10)
    rep = Unicode("")
    rep_capacity = Int(10)
    regions = List(Unicode())
    reps = List(Unicode())
    result = Instance(VisitPlan, allow_none=True)
    reference = Instance(VisitPlan, allow_none=True)
    change = Float(0.0)

    def __init__(
        self,
        data: SalesData,
        *,
        period: str | None = None,
        lang: str = "en",
        base_capacity: int = 10,
        **kwargs: Any,
    ) -> None:
        super().__init__(lang=lang, **kwargs)
        self.data = data
        self.period = period
        # SALESML_DASK_SCHEDULER (``salesml serve --scheduler``): fit on that cluster
        self.review: WeeklyPotential = weekly_potential(
            data, period=period, lang=lang, client=resolve_client()
        )
        self.rep_region = self._rep_regions()
        cand = self.review.candidates
        self.reps = sorted(r for r in cand["rep_id"].dropna().astype("str").unique() if r != POOL)
        self.regions = sorted(set(self.rep_region.dropna().astype("str")))
        self.base_capacity = base_capacity
        self.region_capacity = base_capacity
        self.rep_capacity = base_capacity
        self.recompute()

    @classmethod
    def from_dataset(
        cls, dataset: str | None = None, *, period: str | None = None, lang: str = "en"
    ) -> VisitPlannerState:
        """Open ``dataset`` (default: ``$SALESML_DATASET`` or ``datasets/demo``): its
        :attr:`TABLES`, deals and activities projected to the columns the review reads,
        ids and categories compact (:func:`salesml.potential.weekly.load_potential_data`),
        so a big dataset's kernel holds only those."""
        data = load_potential_data(dataset_path(dataset), tables=cls.TABLES)
        return cls(data, period=period or os.environ.get(PERIOD_ENV) or None, lang=lang)

    def _rep_regions(self) -> pd.Series:
        if self.data.has("reps") and "region" in self.data.reps:
            reps = self.data.reps.drop_duplicates("rep_id")
            return pd.Series(
                reps["region"].astype("str").to_numpy(), index=reps["rep_id"].astype("str")
            )
        return pd.Series(dtype="str")

    @validate("base_capacity", "region_capacity", "rep_capacity")
    def _bounded(self, proposal: dict[str, Any]) -> int:
        v = int(proposal["value"])
        if not 0 <= v <= MAX_VISITS:
            raise TraitError(f"visits per rep must be between 0 and {MAX_VISITS}, got {v}")
        return v

    @validate("region")
    def _known_region(self, proposal: dict[str, Any]) -> str:
        v = str(proposal["value"])
        if v and self.regions and v not in self.regions:
            raise TraitError(f"unknown region {v!r}; choose one of {', '.join(self.regions)}")
        return v

    @validate("rep")
    def _known_rep(self, proposal: dict[str, Any]) -> str:
        v = str(proposal["value"])
        if v and self.reps and v not in self.reps:
            raise TraitError(f"unknown rep {v!r}")
        return v

    def capacities(self) -> dict[str, int]:
        """Visits per rep (and the team pool) for the current controls."""
        cand = self.review.candidates
        reps = pd.Index(cand["rep_id"].astype("str").fillna(POOL).unique())
        cap = dict.fromkeys(reps, self.base_capacity)
        if self.region:
            for r in reps:
                if self.rep_region.get(r) == self.region:
                    cap[r] = self.region_capacity
        if self.rep:
            cap[self.rep] = self.rep_capacity
        return cap

    def _plan(self, capacity: dict[str, int] | int) -> VisitPlan:
        return visit_plan(
            self.review.candidates,
            capacity=capacity,
            id_column="id",
            currency=self.data.config.currency,
            as_of=self.review.as_of,
        )

    @observe("base_capacity", "region", "region_capacity", "rep", "rep_capacity")
    def _on_change(self, change: dict[str, Any]) -> None:
        self.recompute()

    def recompute(self) -> None:
        """Re-plan for the current capacities (the models are not refit)."""
        with self.computing():
            ref = self._plan(self.base_capacity)
            plan = self._plan(self.capacities())
            self.reference = ref
            self.change = plan.expected_revenue - ref.expected_revenue
            self.result = plan

    def headline(self) -> str:
        """Visits planned, expected revenue and the change against the base capacity."""
        if self.result is None:
            return ""
        cur = self.data.config.currency
        sign = "+" if self.change >= 0 else "-"
        return t(
            "visit_planner.headline",
            self.lang,
            visits=f"{int(self.result.by_rep['planned'].sum()):,}",
            revenue=money(self.result.expected_revenue, cur),
            change=f"{sign}{money(abs(self.change), cur)}",
        )

    def plan_rows(self) -> pd.DataFrame:
        """The plan shown: ``rep_id``, ``rank``, ``kind``, ``id``, ``potential_score``,
        ``expected_revenue``, ``reasons``."""
        if self.result is None:
            return pd.DataFrame()
        cols = ["rep_id", "rank", "kind", "id", "potential_score", "expected_revenue", "reasons"]
        return self.result.table[cols]

    def heading(self) -> str:
        """What the plan is about: the review instant."""
        return t("visit_planner.as_of", self.lang, as_of=f"{self.review.as_of:%Y-%m-%d}")
