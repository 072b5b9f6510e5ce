"""``cac_monthly``: CAC by channel, visit and cycle band with intervals, ROI, multi-touch, unallocated cost."""

from __future__ import annotations

from dataclasses import dataclass

from salesml.reports.params import ReportParams
from salesml.reports.registry import ReportSpec

__all__ = ["MONEY_COLUMNS", "REPORT", "CacMonthlyParams"]


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



#: Columns of the CAC tables (report and what-if app) holding CNY amounts.
MONEY_COLUMNS: tuple[str, ...] = (
    "acquisition_cost",
    "cac",
    "cac_low",
    "cac_high",
    "cac_previous",
    "cac_base",
    "revenue",
    "cost",
    "incurred",
    "allocated",
    "unallocated",
    "amount",
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
