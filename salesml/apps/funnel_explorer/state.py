"""State of the funnel explorer: controls and results as traits; no widgets.

Changing ``region``, ``segment``, ``channel`` or ``period`` recomputes the funnel,
the breakpoint table and the stage durations (one ``result`` update per change). The
controls are read once per change into a :class:`~salesml.periods.Period` and a
:class:`~salesml.filters.FilterSpec`, which every analysis receives. ``region`` is the
customer's region or the owning rep's, as ``dataset.yaml`` declares (``region_source``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import pandas as pd
from traitlets import Instance, List, Unicode, observe

from salesml.apps.base import AppState, load_app_data
from salesml.data.bundle import SalesData
from salesml.filters import DIMENSIONS, FilterSpec
from salesml.periods import Period
from salesml.pipeline import (
    BreakpointResult,
    DurationResult,
    FunnelResult,
    funnel,
    funnel_breakpoints,
    stage_durations,
)
from salesml.pipeline.index import resolve_dimension
from salesml.results import Note

__all__ = ["FunnelExplorerResult", "FunnelExplorerState"]


@dataclass(frozen=True)
class FunnelExplorerResult:
    """What one recomputation produced.

    Attributes
    ----------
    funnel
        The funnel of the selection (deals created in the period, matching the filters).
    breakpoints
        Breakpoints by region for the segment/channel/period selection (the region
        control does not filter the comparison: it picks the rows shown).
    breakpoint_rows
        The rows to show: the selected region's stages, or every flagged breakpoint
        (at least the five worst gaps) when all regions are selected.
    durations
        Days in each stage for the selection (the sales cycle on a deals-only dataset).
    """

    funnel: FunnelResult
    breakpoints: BreakpointResult
    breakpoint_rows: pd.DataFrame
    durations: DurationResult

    @property
    def notes(self) -> list[Note]:
        """The caveats of the funnel and the durations, each once."""
        out: list[Note] = []
        for n in [*self.funnel.notes, *self.durations.notes]:
            if n not in out:
                out.append(n)
        return out


def _values(data: SalesData, dimension: str) -> list[str]:
    """The values a control offers for ``dimension`` (empty when its table is absent)."""
    table, column, _ = DIMENSIONS[resolve_dimension(data, dimension)]
    if not data.has(table) or column not in data[table]:
        return []
    return sorted(str(v) for v in data[table][column].dropna().unique())


class FunnelExplorerState(AppState):
    """Funnel explorer: pick region, segment, channel and period; get funnel, breakpoints, durations.

    Parameters
    ----------
    data
        The dataset (needs ``deals`` and the table ``region`` comes from: ``customers``,
        or ``reps`` with ``region_source: rep``; ``stage_history`` when present, else
        durations are the sales cycle).
    lang
        ``en`` or ``zh``.

    Attributes
    ----------
    region, segment, channel
        Selected value, ``""`` for all.
    period
        A period :meth:`salesml.periods.Period.parse` reads (``2026-09``, ``2026-Q3``)
        or ``""`` for the whole history.
    regions, segments, channels, periods
        The choices offered (from the data; periods are months, newest first).
    result
        The latest :class:`FunnelExplorerResult` (kept from the previous selection
        when a recomputation fails; ``error`` then says why).
    """

    #: Tables the explorer reads.
    TABLES: tuple[str, ...] = ("reps", "customers", "deals", "stage_history")

    region = Unicode("")
    segment = Unicode("")
    channel = Unicode("")
    period = Unicode("")

    regions = List(Unicode())
    segments = List(Unicode())
    channels = List(Unicode())
    periods = List(Unicode())

    result = Instance(FunnelExplorerResult, allow_none=True)

    def __init__(self, data: SalesData, *, lang: str = "en", **kwargs: object) -> None:
        super().__init__(lang=lang, **kwargs)
        region_table = DIMENSIONS[resolve_dimension(data, "region")][0]
        data.require("deals", region_table, analysis="the funnel explorer")
        self.data = data
        self.regions = _values(data, "region")
        self.segments = _values(data, "segment")
        self.channels = _values(data, "channel")
        created = data.deals["created_at"].dropna()
        months = created.dt.to_period("M").unique() if len(created) else []
        self.periods = [str(m) for m in sorted(months, reverse=True)]
        self.recompute()

    @classmethod
    def from_dataset(
        cls, dataset: str | os.PathLike[str] | None = None, *, lang: str = "en"
    ) -> FunnelExplorerState:
        """Load a dataset folder (default: ``$SALESML_DATASET`` or ``datasets/demo``).

        Only the tables the explorer reads are loaded (:attr:`TABLES`).
        """
        return cls(load_app_data(dataset, cls.TABLES, compact=True), lang=lang)

    @property
    def filters(self) -> FilterSpec:
        """The active filters (``region``, ``segment``, ``channel``; "all" left out)."""
        chosen = {"region": self.region, "segment": self.segment, "channel": self.channel}
        return FilterSpec.parse({k: v for k, v in chosen.items() if v})

    @property
    def period_value(self) -> Period | None:
        """The selected period, parsed (``None``: the whole history)."""
        return Period.parse(self.period) if self.period else None

    @observe("region", "segment", "channel", "period")
    def _on_selection(self, change: dict[str, object]) -> None:
        self.recompute()

    def recompute(self) -> None:
        """Recompute every result for the current selection (errors go to ``error``)."""
        with self.computing():
            period = self.period_value
            filters = self.filters
            f = funnel(self.data, period=period, filters=filters)
            others = filters.without("region")
            b = funnel_breakpoints(self.data, by="region", period=period, filters=others)
            if self.region:
                rows = b.table[b.table["region"] == self.region].sort_values("step")
            else:
                flagged = b.table[b.table["breakpoint"]]
                rows = flagged if len(flagged) >= 5 else b.table.nsmallest(5, "gap_pp")
            d = stage_durations(self.data, period=period, filters=filters)
            self.result = FunnelExplorerResult(
                funnel=f, breakpoints=b, breakpoint_rows=rows.reset_index(drop=True), durations=d
            )
