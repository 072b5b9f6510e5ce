"""State of the funnel explorer: controls and results as traits; no widgets.

Changing ``region``, ``segment``, ``channel`` or ``period`` recomputes the funnel,
the breakpoint table and the stage durations (one ``result`` update per change).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import pandas as pd
from traitlets import Instance, List, Unicode, observe

from salesml.apps.base import AppState, load_app_data
from salesml.data.bundle import SalesData
from salesml.pipeline import (
    BreakpointResult,
    DurationResult,
    FunnelResult,
    funnel,
    funnel_breakpoints,
    stage_durations,
)

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
        Days in each stage for the selection.
    """

    funnel: FunnelResult
    breakpoints: BreakpointResult
    breakpoint_rows: pd.DataFrame
    durations: DurationResult


def _values(data: SalesData, table: str, column: str) -> list[str]:
    if not data.has(table) or column not in data[table]:
        return []
    return sorted(str(v) for v in data[table][column].dropna().unique())


class FunnelExplorerState(AppState):
    """Funnel explorer: pick region, segment, channel and period; get funnel, breakpoints, durations.

    Parameters
    ----------
    data
        The dataset (needs ``deals`` and ``customers``; ``stage_history`` when present).
    lang
        ``en`` or ``zh``.

    Attributes
    ----------
    region, segment, channel
        Selected value, ``""`` for all.
    period
        A period :func:`salesml.pipeline.parse_period` reads (``2026-09``, ``2026-Q3``)
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
        data.require("deals", "customers", analysis="the funnel explorer")
        self.data = data
        self.regions = _values(data, "customers", "region")
        self.segments = _values(data, "customers", "segment")
        self.channels = _values(data, "customers", "source_channel")
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
        return cls(load_app_data(dataset, cls.TABLES), lang=lang)

    @property
    def filters(self) -> dict[str, str]:
        """The active filters ``{dimension: value}``."""
        chosen = {"region": self.region, "segment": self.segment, "channel": self.channel}
        return {k: v for k, v in chosen.items() if v}

    @observe("region", "segment", "channel", "period")
    def _on_selection(self, change: dict[str, object]) -> None:
        self.recompute()

    def recompute(self) -> None:
        """Recompute every result for the current selection (errors go to ``error``)."""
        with self.computing():
            period = self.period or None
            filters = self.filters
            f = funnel(self.data, period=period, filters=filters or None)
            others = {k: v for k, v in filters.items() if k != "region"}
            b = funnel_breakpoints(self.data, by="region", period=period, filters=others or None)
            if self.region:
                rows = b.table[b.table["region"] == self.region].sort_values("step")
            else:
                flagged = b.table[b.table["breakpoint"]]
                rows = flagged if len(flagged) >= 5 else b.table.nsmallest(5, "gap_pp")
            d = stage_durations(self.data, period=period, filters=filters or None)
            self.result = FunnelExplorerResult(
                funnel=f, breakpoints=b, breakpoint_rows=rows.reset_index(drop=True), durations=d
            )
