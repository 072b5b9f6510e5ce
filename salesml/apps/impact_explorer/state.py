"""State of the impact explorer: controls and the estimate as traits; no widgets.

Choosing a KPI, a go-live month, a method, a window or a region recomputes
:func:`salesml.impact.impact` for that KPI (one ``result`` update per change). Every
control offers only values taken from the data or a fixed list, so nothing a user
picks is parsed beyond a date the state itself offered.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import pandas as pd
from traitlets import Instance, Int, List, Unicode, observe

from salesml.apps.base import AppState, load_app_data
from salesml.data.bundle import SalesData
from salesml.impact import KPIS, ImpactResult, impact
from salesml.impact.kpis import KPI_COLUMNS, KPI_TABLES, event_span

__all__ = ["WINDOWS", "ImpactExplorerState"]

#: Windows offered (periods either side of the go-live; 0 = all the data).
WINDOWS: tuple[int, ...] = (0, 13, 26, 52)


class ImpactExplorerState(AppState):
    """Impact explorer: pick KPI, go-live, method, window and region; get the estimate.

    Parameters
    ----------
    data
        The dataset.
    go_live_by_region
        Region -> go-live date, when regions went live at different dates: this offers
        the ``did`` and ``sts`` methods (``dataset.yaml`` holds one date only).
    lang
        ``en`` or ``zh``.

    Attributes
    ----------
    kpi, go_live, method, region
        Selected values (``go_live`` a ``YYYY-MM-DD`` from :attr:`go_lives`;
        ``region`` ``""`` for all regions).
    window
        Periods before and after the go-live (0: all the data).
    kpis, go_lives, methods, regions
        The choices offered (measurable KPIs; month starts inside the data; methods the
        dates support; regions of the data).
    result
        The latest :class:`~salesml.impact.ImpactResult` (kept when a recomputation
        fails; ``error`` says why).
    """

    TABLES: tuple[str, ...] = KPI_TABLES

    kpi = Unicode("")
    go_live = Unicode("")
    method = Unicode("its")
    window = Int(0)
    region = Unicode("")

    kpis = List(Unicode())
    go_lives = List(Unicode())
    methods = List(Unicode())
    regions = List(Unicode())

    result = Instance(ImpactResult, allow_none=True)

    def __init__(
        self,
        data: SalesData,
        *,
        go_live_by_region: Mapping[str, object] | None = None,
        lang: str = "en",
        **kwargs: object,
    ) -> None:
        super().__init__(lang=lang, **kwargs)
        span = event_span(data)
        if span is None:
            raise ValueError("the dataset has no dated events: nothing to measure")
        self.data = data
        self.by_region = (
            {str(k): pd.Timestamp(str(v)) for k, v in go_live_by_region.items()}
            if go_live_by_region
            else None
        )
        self.kpis = [k for k, d in KPIS.items() if all(tb in data for tb in d.tables)]
        months = pd.date_range(span[0].normalize(), span[1], freq="MS")[1:]
        self.go_lives = [f"{m:%Y-%m-%d}" for m in months]
        staggered = self.by_region is not None and len(set(self.by_region.values())) > 1
        self.methods = ["its", "did", "sts"] if staggered else ["its"]
        self.regions = (
            sorted(str(r) for r in data.customers["region"].dropna().unique())
            if "customers" in data
            else []
        )
        declared = data.config.go_live_ts
        default = f"{declared:%Y-%m-%d}" if declared is not None else ""
        with self.hold_trait_notifications():
            self.kpi = "stage_days" if "stage_days" in self.kpis else (self.kpis or [""])[0]
            self.go_live = (
                default
                if default in self.go_lives
                else (self.go_lives[len(self.go_lives) * 2 // 3] if self.go_lives else "")
            )
            if default and default not in self.go_lives:
                self.go_lives = sorted({*self.go_lives, default})
                self.go_live = default
        self.recompute()

    @classmethod
    def from_dataset(
        cls, dataset: str | os.PathLike[str] | None = None, *, lang: str = "en"
    ) -> ImpactExplorerState:
        """Load a dataset folder (default: ``$SALESML_DATASET`` or ``datasets/demo``)."""
        data = load_app_data(dataset, cls.TABLES, compact=True, columns=KPI_COLUMNS)
        return cls(data, lang=lang)

    @observe("kpi", "go_live", "method", "window", "region")
    def _on_selection(self, change: dict[str, object]) -> None:
        self.recompute()

    def recompute(self) -> None:
        """Estimate the selected KPI (errors go to ``error``, the last result stays)."""
        with self.computing():
            if self.kpi not in self.kpis:
                raise ValueError(f"choose a KPI among {', '.join(self.kpis)}")
            if self.method not in self.methods:
                raise ValueError(f"choose a method among {', '.join(self.methods)}")
            if self.window not in WINDOWS:
                raise ValueError(f"choose a window among {WINDOWS}")
            if self.region and self.region not in self.regions:
                raise ValueError(f"unknown region {self.region!r}")
            if self.method == "its":
                go_live: object = self.go_live if self.go_live in self.go_lives else None
                if go_live is None:
                    raise ValueError("choose a go-live date among those offered")
                if self.region and self.by_region and self.region in self.by_region:
                    go_live = self.by_region[self.region]
            else:
                go_live = self.by_region
            self.result = impact(
                self.data,
                go_live=go_live,
                kpis=[self.kpi],
                method=self.method,
                window=self.window or None,
                region=self.region or None if self.method == "its" else None,
            )
