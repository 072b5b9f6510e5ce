"""Everything the ``cac_monthly`` report shows, computed once: :func:`cac_monthly`.

The report (and anyone else) reads ready tables from the :class:`CacMonthly` result:
its methods return the table of each section, or ``None`` when the section has nothing
to show, so a notebook does not re-derive or guard anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import pandas as pd

from salesml.attribution.allocation import Allocation, RulesLike
from salesml.attribution.cac import (
    CacResult,
    DataOrAllocation,
    OverallCac,
    RoiResult,
    as_allocation,
    cac,
    overall_cac,
    roi,
)
from salesml.attribution.journeys import journeys
from salesml.attribution.touch import TouchAttribution, touch_attribution
from salesml.distributed import resolve_client
from salesml.filters import FilterLike, FilterSpec
from salesml.i18n import check_lang, money, t
from salesml.periods import Period, PeriodLike
from salesml.results import Note

__all__ = ["TOUCH_MODELS", "CacMonthly", "cac_monthly"]

#: The multi-touch models the report compares, in its column order.
TOUCH_MODELS: tuple[str, ...] = (
    "first",
    "last",
    "linear",
    "position",
    "time_decay",
    "markov",
    "shapley",
)


@dataclass(kw_only=True)
class CacMonthly(CacResult):
    """Result of :func:`cac_monthly`: the period's CAC by channel and everything around it.

    Attributes
    ----------
    table
        CAC by channel in the period (:class:`~salesml.attribution.CacResult` columns)
        plus ``cac_previous`` (the previous period's CAC) and ``change`` (relative).
    previous_period
        The period compared with (:meth:`Period.previous`).
    overall, previous
        :func:`~salesml.attribution.overall_cac` of the period and of the one before.
    by_visit_band, by_cycle_band, by_all
        :func:`~salesml.attribution.cac` by visit band, cycle band and all three.
    roi_by_channel
        :func:`~salesml.attribution.roi` by channel.
    touch
        :func:`~salesml.attribution.touch_attribution` of the journeys that ended in the
        period, every model of :data:`TOUCH_MODELS` (``None`` when none converted).
    allocation
        The allocation, its period set to this one (cost summary and unallocated cost).
    """

    title_key: ClassVar[str] = "cac_monthly.title"
    previous_period: Period | None = None
    overall: OverallCac | None = None
    previous: OverallCac | None = None
    by_visit_band: CacResult | None = None
    by_cycle_band: CacResult | None = None
    by_all: CacResult | None = None
    roi_by_channel: RoiResult | None = None
    touch: TouchAttribution | None = None
    allocation: Allocation | None = field(default=None, repr=False)

    # ------------------------------------------------------------------ section tables
    def channel_table(self) -> pd.DataFrame:
        """CAC by channel with the previous period's CAC and the change."""
        return self.table

    def band_table(self, dimension: Literal["visit_band", "cycle_band"]) -> pd.DataFrame | None:
        """CAC by visit band or by cycle band."""
        r = {"visit_band": self.by_visit_band, "cycle_band": self.by_cycle_band}[dimension]
        return None if r is None else r.table

    def combined_table(self) -> pd.DataFrame | None:
        """CAC by channel, visit band and cycle band together: the groups with a CAC."""
        return None if self.by_all is None else self.by_all.table.dropna(subset=["cac"])

    def roi_table(self) -> pd.DataFrame | None:
        """ROI by channel."""
        return None if self.roi_by_channel is None else self.roi_by_channel.table

    def touch_table(self) -> pd.DataFrame | None:
        """Share of conversions per channel (rows) under each model (columns)."""
        return None if self.touch is None else self.touch.summary()

    def cost_table(self) -> pd.DataFrame | None:
        """Per cost category in the period: incurred, allocated, unallocated, share."""
        return None if self.allocation is None else self.allocation.summary()

    def unallocated_table(self) -> pd.DataFrame | None:
        """Unallocated cost of the period by category and reason."""
        return None if self.allocation is None else self.allocation.unallocated

    # ------------------------------------------------------------------ findings
    def key_findings(self, lang: str = "en") -> list[str]:
        """Overall CAC, the change, highest and lowest channel, best ROI, unbound cost."""
        check_lang(lang)
        out: list[str] = []
        o, prev = self.overall, self.previous
        if o is not None:
            out += o.key_findings(lang)
        if o is not None and prev is not None and prev["acquired"] and o["acquired"]:
            out.append(
                t(
                    "attribution.finding.change",
                    lang,
                    period=self.previous_period.display(lang) if self.previous_period else "",
                    prev=money(prev["cac"], self.currency),
                    change=f"{o['cac'] / prev['cac'] - 1:+.1%}",
                )
            )
        out += self.extremes(lang)
        if self.roi_by_channel is not None:
            out += self.roi_by_channel.key_findings(lang)
        if self.allocation is not None:
            out += self.allocation.key_findings(lang)[:1]
        return out + [n.text(lang) for n in self.notes]


def cac_monthly(
    data: DataOrAllocation,
    *,
    period: PeriodLike,
    as_of: str | pd.Timestamp | None = None,
    filters: FilterLike = None,
    rules: RulesLike = None,
    n_boot: int = 200,
    seed: int = 0,
    touch_label: Literal["kind", "channel"] | None = "kind",
    client: Any = None,
) -> CacMonthly:
    """Compute the tables of the monthly CAC report.

    Parameters
    ----------
    data
        The dataset (allocated here with ``rules``), its folder (allocated month by month
        when month-partitioned: :func:`~salesml.attribution.allocation.by_month.
        allocate_dataset`) or an existing allocation.
    period
        Reporting period (``2026-10``, ``2026-Q3``, ``2026-W40``, a date range).
        Customers acquired in it count with their full acquisition cost; see
        :func:`~salesml.attribution.units.acquisition_units`. It is compared with the
        period just before (:meth:`Period.previous`).
    as_of
        Compute from what was known at this instant (with a dataset).
    filters
        Restrict the customers and journeys (``{"region": ...}``, segment, channel,
        store_id, or an expression); cost lines have no region, so the cost sections
        cover every region.
    rules
        Allocation rules (path or dict; ``None`` = defaults).
    n_boot
        Bootstrap replicates of the intervals.
    seed
        Seed of the bootstrap.
    touch_label
        Activity label of the journeys for the multi-touch comparison (``None``:
        lead channels only).
    client
        A ``distributed.Client`` (or ``None``: ``$SALESML_DASK_SCHEDULER`` if set, else
        this process): the months of a folder's allocation and the bootstrap replicates
        run on it, with the same results (see :func:`~salesml.attribution.cac`).

    Returns
    -------
    CacMonthly
    """
    p = Period.parse(period)
    prev_p = p.previous()
    spec = FilterSpec.parse(filters)
    client = resolve_client(client)
    al = as_allocation(data, rules=rules, as_of=as_of, client=client)
    kw = {"filters": spec, "n_boot": n_boot, "seed": seed, "client": client}
    by_channel = cac(al, period=p, **kw)
    prev_channel = cac(al, period=prev_p, **kw).table.set_index("channel")["cac"]
    table = by_channel.table.copy()
    table["cac_previous"] = table["channel"].map(prev_channel)
    table["change"] = table["cac"] / table["cac_previous"] - 1
    notes: list[Note] = []
    j = journeys(al.data, period=p, filters=spec, activity_label=touch_label)
    touch = None
    if j.table["converted"].any():
        touch = touch_attribution(j, model=list(TOUCH_MODELS))
    else:
        notes.append(Note("attribution.note.no_conversions", (("n", f"{len(j.table):,}"),)))
    return CacMonthly(
        table=table,
        period=p,
        as_of=al.as_of,
        filters=spec,
        notes=notes,
        by=("channel",),
        ci=by_channel.ci,
        n_boot=by_channel.n_boot,
        currency=al.currency,
        previous_period=prev_p,
        overall=overall_cac(al, period=p, **kw),
        previous=overall_cac(al, period=prev_p, **kw),
        by_visit_band=cac(al, by="visit_band", period=p, **kw),
        by_cycle_band=cac(al, by="cycle_band", period=p, **kw),
        by_all=cac(al, by="all", period=p, **kw),
        roi_by_channel=roi(al, period=p, **kw),
        touch=touch,
        allocation=al.for_period(p),
    )
