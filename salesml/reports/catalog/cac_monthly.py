"""``cac_monthly``: CAC by channel, visit and cycle band with intervals, ROI, multi-touch, unallocated cost.

The report is declared here as its parameters and its sections. Each section names its
heading and note (catalog keys), the :class:`~salesml.attribution.CacMonthly` method that
returns its table, the figure drawn from the result, and how the table is formatted;
:func:`show` displays one section through the report context, so the notebook is one
call per section and holds no computation and no guard (a skipped analysis, ``None``,
shows the heading and nothing else).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from salesml.reports.params import ReportParams
from salesml.reports.registry import ReportSpec

if TYPE_CHECKING:  # the registry imports every catalog module: analytics load on first use
    from salesml.attribution import CacMonthly

__all__ = ["REPORT", "SECTIONS", "CacMonthlyParams", "Section", "show"]


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


@dataclass(frozen=True)
class Section:
    """One section of the report: heading, note, table, figure and table format.

    Attributes
    ----------
    key
        The section's name (``show(ctx, rep, key)``).
    title, note, region_note
        Catalog keys of the heading, of a paragraph under it, and of a paragraph shown
        only when the report is restricted to a region.
    table, table_args
        The :class:`~salesml.attribution.CacMonthly` method returning the section's table
        (``None`` when there is nothing to show) and its arguments.
    figure, figure_of
        The function of :mod:`salesml.plotting.cac` drawing the section, and the
        attribute of the result it draws (``""``: the result itself).
    percent, label_values, decimals
        How the table is formatted (money columns are shown in the dataset's currency);
        ``percent=("*",)`` formats every column but ``label_values`` as a share.
    """

    key: str
    title: str
    note: str | None = None
    region_note: str | None = None
    table: str | None = None
    table_args: tuple[Any, ...] = ()
    figure: str | None = None
    figure_of: str = ""
    percent: Sequence[str] = ()
    label_values: Sequence[str] = ()
    decimals: int = 1


SECTIONS: tuple[Section, ...] = (
    Section("findings", "report.findings"),
    Section(
        "by_channel",
        "cac_monthly.by_channel",
        note="cac_monthly.by_channel_note",
        table="channel_table",
        figure="cac_interval_chart",
        percent=("rel_precision", "change"),
        label_values=("channel",),
    ),
    Section(
        "by_visit",
        "cac_monthly.by_visit",
        note="cac_monthly.bands_note",
        table="band_table",
        table_args=("visit_band",),
        figure="cac_interval_chart",
        figure_of="by_visit_band",
        percent=("rel_precision",),
        label_values=("visit_band",),
    ),
    Section(
        "by_cycle",
        "cac_monthly.by_cycle",
        table="band_table",
        table_args=("cycle_band",),
        figure="cac_interval_chart",
        figure_of="by_cycle_band",
        percent=("rel_precision",),
        label_values=("cycle_band",),
    ),
    Section(
        "by_all",
        "cac_monthly.by_all",
        table="combined_table",
        percent=("rel_precision",),
        label_values=("channel", "visit_band", "cycle_band"),
    ),
    Section(
        "roi",
        "cac_monthly.roi",
        note="cac_monthly.roi_note",
        table="roi_table",
        figure="roi_interval_chart",
        figure_of="roi_by_channel",
        percent=("rel_precision",),
        label_values=("channel",),
        decimals=2,
    ),
    Section(
        "touch",
        "cac_monthly.touch",
        note="cac_monthly.touch_note",
        table="touch_table",
        figure="touch_comparison_chart",
        figure_of="touch",
        percent=("*",),
        label_values=("channel",),
    ),
    Section(
        "costs",
        "cac_monthly.costs",
        region_note="cac_monthly.costs_scope",
        table="cost_table",
        figure="cost_allocation_bars",
        figure_of="allocation",
        percent=("allocated_share",),
        label_values=("category",),
    ),
    Section(
        "unallocated",
        "cac_monthly.unallocated",
        table="unallocated_table",
        label_values=("category", "reason"),
    ),
)
_BY_KEY = {s.key: s for s in SECTIONS}


def show(ctx: Any, rep: CacMonthly | None, key: str) -> None:
    """Display section ``key`` of the report from ``rep`` (``None``: heading only)."""
    if key not in _BY_KEY:
        raise KeyError(f"unknown section {key!r}; sections: {', '.join(_BY_KEY)}")
    sec = _BY_KEY[key]
    ctx.heading(sec.title)
    if sec.key == "findings":
        ctx.bullets(rep.key_findings(ctx.lang) if rep is not None else [])
        return
    if sec.note:
        ctx.text(sec.note)
    if sec.region_note:
        ctx.region_note(sec.region_note)
    if rep is None:
        return
    from salesml.attribution import readable_table
    from salesml.plotting import cac as figures

    if sec.figure is not None:
        drawn = getattr(rep, sec.figure_of) if sec.figure_of else rep
        ctx.plot(getattr(figures, sec.figure), drawn)
    table = getattr(rep, sec.table)(*sec.table_args) if sec.table is not None else None
    if table is None:
        return
    percent = list(sec.percent)
    if percent == ["*"]:
        percent = [c for c in table.columns if c not in sec.label_values]
    ctx.table(
        readable_table(table, rep.currency),
        percent=percent,
        decimals=sec.decimals,
        label_values=list(sec.label_values),
    )


REPORT = ReportSpec(
    name="cac_monthly",
    params=CacMonthlyParams,
    description="CAC by channel, visit and cycle band with 95% intervals; ROI; multi-touch "
    "attribution compared across models; unallocated cost and its reasons.",
    tables=("costs", "customers", "deals", "leads"),
    loads=(
        "costs",
        "customers",
        "deals",
        "leads",
        "activities",
        "material_movements",
        "campaigns",
        "stores",
    ),
)
