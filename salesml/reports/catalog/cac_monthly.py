"""``cac_monthly``: CAC by channel, visit and cycle band with intervals, ROI, multi-touch, unallocated cost.

Declared as sections (:mod:`salesml.reports.sections`), like ``deal_health_weekly``: one
:func:`~salesml.attribution.cac_monthly` call over the report's period and filters is the
``by_channel`` section's analysis, computed once; every other section shows a table or a
figure of that same result. The notebook ``notebooks/reports/cac_monthly.ipynb`` is an
import, the parameters cell, ``report = start_report("cac_monthly", globals())`` and one
``report.section(name)`` per cell. Tables are shown with amounts in the dataset's currency
and each interval in one column (:func:`~salesml.attribution.readable_table`); a section
whose table is ``None`` (no customer acquired in the period: no multi-touch comparison)
shows its heading and note only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from salesml.reports.params import ReportParams
from salesml.reports.registry import ReportSpec
from salesml.reports.sections import Section, Table

if TYPE_CHECKING:  # the registry imports every catalog module: analytics load on first use
    from plotly.graph_objects import Figure

    from salesml.attribution import CacMonthly
    from salesml.reports.notebook import Report

__all__ = ["REPORT", "SECTIONS", "CacMonthlyParams", "compute", "readable_rows"]


@dataclass(frozen=True)
class CacMonthlyParams(ReportParams):
    """Parameters of ``cac_monthly``.

    Parameters
    ----------
    dataset, period, region, lang
        See :class:`~salesml.reports.params.ReportParams`. ``period`` selects the
        customers acquired in it (with their full acquisition cost) and the cost
        lines incurred in it; the previous period of the same length is compared.
    bootstrap
        Bootstrap replicates of the 95% intervals (0 is refused; 200 is quick,
        1000 is smoother).
    rules
        Path of a cost-allocation rule file (YAML); ``None`` for the default rules.
    seed
        Seed of the bootstrap.
    """

    bootstrap: int = 200
    rules: str | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        super().__post_init__()
        self._check_between("bootstrap", 20, 10_000)
        if self.rules is not None and not self.rules.strip():
            raise ValueError("rules: give the path of a rule file, or leave it unset")


def compute(report: Report) -> CacMonthly:
    """The report's one analysis: :func:`~salesml.attribution.cac_monthly` over the
    report's period and filters, with its bootstrap, rules and seed parameters.

    The report loads only a few columns of customers, deals and leads (its header and
    region filter); the analysis reads the dataset folder itself, month by month when
    it is month-partitioned (:func:`~salesml.attribution.allocation.by_month.
    allocate_dataset`: one month of costs and activities at a time), so a big dataset
    is never held whole. A report built on data holding the cost ledger computes from
    that data. The bootstrap and the months run on the Dask cluster
    ``$SALESML_DASK_SCHEDULER`` names, if any, with the same results.
    """
    from pathlib import Path

    from salesml.attribution import cac_monthly

    p = report.params
    source = report.data if report.data.has("costs") else Path(p.dataset)
    return cac_monthly(
        source,
        period=report.period,
        filters=report.filters,
        rules=p.rules,  # type: ignore[attr-defined]
        n_boot=p.bootstrap,  # type: ignore[attr-defined]
        seed=p.seed,  # type: ignore[attr-defined]
    )


def readable_rows(method: str, *args: Any) -> Callable[[CacMonthly, Report], Any]:
    """``rows(result, report)`` of a table: ``result.<method>(*args)`` made readable
    (amounts in the dataset's currency, intervals in one column); ``None`` stays ``None``."""

    def rows(result: CacMonthly, report: Report) -> Any:
        from salesml.attribution import readable_table

        table = getattr(result, method)(*args)
        return None if table is None else readable_table(table, result.currency)

    rows.__name__ = f"readable_{method}"
    return rows


def _figure(name: str, of: str = "") -> Callable[..., Figure | None]:
    """``figure(result, lang=...)``: :mod:`salesml.plotting.cac` ``name`` drawing the
    result's attribute ``of`` (``""``: the result itself; ``None`` draws nothing)."""

    def draw(result: CacMonthly, *, lang: str = "en") -> Figure | None:
        from salesml.plotting import cac as figures

        drawn = getattr(result, of) if of else result
        return None if drawn is None else getattr(figures, name)(drawn, lang=lang)

    draw.__name__ = f"{name}_of_{of or 'result'}"
    return draw


def _band_section(band: str, *, note: str | None = None) -> Section:
    """CAC by ``visit_band`` or ``cycle_band``: the interval chart and its table."""
    short = band.removesuffix("_band")
    return Section(
        f"by_{short}",
        title=f"cac_monthly.by_{short}",
        note=note,
        uses="by_channel",
        figure=_figure("cac_interval_chart", f"by_{band}"),
        tables=(
            Table(
                rows=readable_rows("band_table", band),
                percent=("rel_precision",),
                labels=(band,),
            ),
        ),
    )


def _findings(report: Report) -> list[str]:
    got = report.result("by_channel")
    return got.key_findings(report.lang) if got is not None else []


SECTIONS: tuple[Section, ...] = (
    Section("findings", title="report.findings", uses="by_channel", findings=_findings),
    Section(
        "by_channel",
        title="cac_monthly.by_channel",
        note="cac_monthly.by_channel_note",
        compute=compute,
        figure=_figure("cac_interval_chart"),
        tables=(
            Table(
                rows=readable_rows("channel_table"),
                percent=("rel_precision", "change"),
                labels=("channel",),
            ),
        ),
    ),
    _band_section("visit_band", note="cac_monthly.bands_note"),
    _band_section("cycle_band"),
    Section(
        "by_all",
        title="cac_monthly.by_all",
        uses="by_channel",
        tables=(
            Table(
                rows=readable_rows("combined_table"),
                percent=("rel_precision",),
                labels=("channel", "visit_band", "cycle_band"),
            ),
        ),
    ),
    Section(
        "roi",
        title="cac_monthly.roi",
        note="cac_monthly.roi_note",
        uses="by_channel",
        figure=_figure("roi_interval_chart", "roi_by_channel"),
        tables=(
            Table(
                rows=readable_rows("roi_table"),
                percent=("rel_precision",),
                labels=("channel",),
                decimals=2,
            ),
        ),
    ),
    Section(
        "touch",
        title="cac_monthly.touch",
        note="cac_monthly.touch_note",
        uses="by_channel",
        figure=_figure("touch_comparison_chart", "touch"),
        # one share column per attribution model compared: every column but the channel
        tables=(Table(rows=readable_rows("touch_table"), percent=("*",), labels=("channel",)),),
    ),
    Section(
        "costs",
        title="cac_monthly.costs",
        scope_note="cac_monthly.costs_scope",
        uses="by_channel",
        figure=_figure("cost_allocation_bars", "allocation"),
        tables=(
            Table(
                rows=readable_rows("cost_table"),
                percent=("allocated_share",),
                labels=("category",),
            ),
        ),
    ),
    Section(
        "unallocated",
        title="cac_monthly.unallocated",
        uses="by_channel",
        tables=(Table(rows=readable_rows("unallocated_table"), labels=("category", "reason")),),
    ),
)

REPORT = ReportSpec(
    name="cac_monthly",
    params=CacMonthlyParams,
    description="CAC by channel, visit and cycle band with 95% intervals; ROI; multi-touch "
    "attribution compared across models; unallocated cost and its reasons.",
    tables=("customers", "deals", "leads"),
    sections=SECTIONS,
    # the analysis reads costs, activities... from the folder (compute); these are the
    # header's and the tables-present check's, projected to what CAC reads of them
    loads=("customers", "deals", "leads"),
    columns={
        "customers": ("customer_id", "store_id", "region", "segment", "source_channel"),
        "deals": ("deal_id", "customer_id", "lead_id", "outcome", "created_at", "amount"),
        "leads": ("lead_id", "customer_id", "channel", "created_at"),
    },
)
