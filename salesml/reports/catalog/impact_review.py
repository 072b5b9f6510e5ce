"""``impact_review``: did the change move the KPIs? The seed's before/after table with
honest intervals, one counterfactual chart per KPI, assumptions and checks in words.

Declared as sections (see :mod:`salesml.reports.sections`); the notebook
``notebooks/reports/impact_review.ipynb`` is the parameters cell,
``report = start_report("impact_review", globals())`` and one ``report.section`` per cell.
The data is cut at the end of ``period`` (what was known then); the go-live is the
dataset's (``dataset.yaml``) unless ``go_live`` is given.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd

from salesml.impact.kpis import KPI_COLUMNS
from salesml.reports.params import ReportParams
from salesml.reports.registry import ReportSpec
from salesml.reports.sections import Section, Table

if TYPE_CHECKING:
    from salesml.impact import ImpactResult
    from salesml.reports.notebook import Report

__all__ = [
    "REPORT",
    "SECTIONS",
    "ImpactReviewParams",
    "check_rows",
    "effect_rows",
    "parse_region_go_live",
]

#: Methods the report offers (as :data:`salesml.impact.METHODS`, kept here so the
#: parameters are checked without importing the analytics).
METHODS = ("auto", "its", "did", "sts")
#: Regions ``region_go_live`` may list at most, and its length in characters.
MAX_REGIONS = 100
MAX_REGION_TEXT = 4000
_PAIR = re.compile(r"\s*([^\W_][\w\-·() ]{0,63}?)\s*[=:：]\s*(\d{4}-\d{2}-\d{2})\s*")


@dataclass(frozen=True)
class ImpactReviewParams(ReportParams):
    """Parameters of ``impact_review``.

    Parameters
    ----------
    dataset, period, region, lang
        See :class:`~salesml.reports.params.ReportParams`. The data is cut at the end
        of ``period``; ``region`` measures that region alone.
    go_live
        The go-live date (``2026-05-01``); ``None`` takes the dataset's.
    region_go_live
        One go-live date per region, ``"华东=2025-11-01, 华南=2025-12-01"`` (at most
        :data:`MAX_REGIONS` pairs, dates as ``YYYY-MM-DD``); replaces ``go_live``.
    method
        ``auto`` (``did`` when ``region_go_live`` has different dates, else ``its``),
        ``its``, ``did`` or ``sts``; ``did`` and ``sts`` compare regions and need
        ``region_go_live``.
    window
        Periods before and after the go-live to use (``0``: all the data).
    freq
        ``W`` (weeks) or ``M`` (months).
    """

    go_live: str | None = None
    region_go_live: str | None = None
    method: Literal["auto", "its", "did", "sts"] = "auto"
    window: int = 0
    freq: str = "W"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {', '.join(METHODS)}; got {self.method!r}")
        regional = parse_region_go_live(self.region_go_live)
        if self.method in ("did", "sts") and len(set(regional.values())) < 2:
            raise ValueError(
                f"method {self.method!r} compares regions going live at different dates: "
                "give region_go_live as 'region=YYYY-MM-DD, region=YYYY-MM-DD' with at "
                "least two different dates"
            )
        if self.freq not in ("W", "M"):
            raise ValueError(f"freq must be 'W' or 'M'; got {self.freq!r}")
        self._check_between("window", 0, 520)
        if self.go_live is not None:
            try:
                pd.Timestamp(self.go_live)
            except (TypeError, ValueError):
                raise ValueError(
                    f"go_live must be a date (2026-05-01); got {self.go_live!r}"
                ) from None


def parse_region_go_live(text: str | None) -> dict[str, str]:
    """``"华东=2025-11-01, 华南=2025-12-01"`` as a mapping region -> date.

    Pairs are separated by commas or semicolons, region and date by ``=`` or ``:``.
    Region names are words (letters, digits, ``_ - · ( )`` and spaces inside); dates
    ``YYYY-MM-DD``. Nothing else is accepted.

    Raises
    ------
    ValueError
        Naming the pair that does not parse, a repeated region, too many pairs or too
        long a text.
    """
    if text is None or not text.strip():
        return {}
    if len(text) > MAX_REGION_TEXT:
        raise ValueError(
            f"region_go_live has {len(text):,} characters; at most {MAX_REGION_TEXT} allowed"
        )
    pairs = [x for x in re.split(r"[,;，；]", text) if x.strip()]
    if len(pairs) > MAX_REGIONS:
        raise ValueError(f"region_go_live lists {len(pairs)} regions; at most {MAX_REGIONS}")
    out: dict[str, str] = {}
    for i, pair in enumerate(pairs, start=1):
        m = _PAIR.fullmatch(pair)
        if m is None:
            raise ValueError(
                f"region_go_live pair {i} ({pair.strip()!r}) is not 'region=YYYY-MM-DD'"
            )
        region, date = m.group(1).strip(), m.group(2)
        try:
            pd.Timestamp(date)
        except ValueError:
            raise ValueError(f"region_go_live pair {i}: {date!r} is not a date") from None
        if region in out:
            raise ValueError(f"region_go_live names region {region!r} twice")
        out[region] = date
    return out


def _impact(r: Report) -> ImpactResult:
    from salesml.impact import impact

    p: ImpactReviewParams = r.params  # type: ignore[assignment]
    period = r.period
    data = r.data.as_of(period.end) if hasattr(period, "end") else r.data
    regional = parse_region_go_live(p.region_go_live)
    return impact(
        data,
        go_live=regional or p.go_live,
        method=p.method,
        window=p.window or None,
        freq=p.freq,
        region=p.region,
    )


def effect_rows(result: ImpactResult | None, lang: str) -> pd.DataFrame | None:
    """The seed-style table: KPI, before, after, naive change, baseline, effect, interval.

    Output columns: ``kpi`` (display name), ``naive_before``, ``naive_after``,
    ``naive_rel``, ``baseline``, ``rel_effect``, ``rel_low``, ``rel_high``, ``method``.
    """
    from salesml.i18n import t

    if result is None:
        return None
    s = result.summary()
    s = s.drop(columns=["observed"])
    s["kpi"] = [t(f"impact.kpi.{k}", lang) for k in s["kpi"]]
    s["method"] = [t(f"impact.method.{m}", lang) for m in s["method"]]
    return s


def check_rows(result: ImpactResult | None, lang: str) -> pd.DataFrame | None:
    """Per KPI: periods before and after, p-value and the method's check, in words.

    Output columns: ``kpi``, ``n_pre``, ``n_post``, ``p_value``, ``check``.
    """
    from salesml.i18n import t

    if result is None:
        return None
    rows = []
    for r in result.table.itertuples():
        d: dict[str, Any] = result.diagnostics.get(r.kpi, {})
        if r.status != "ok":
            check = t(r.reason, lang)
        elif r.method == "did":
            check = t("impact.check.did", lang, p=d.get("pretrend_p", float("nan")))
        elif r.method == "sts":
            check = t("impact.check.sts", lang, n=len(d.get("regions", [])))
        else:
            check = t("impact.check.its", lang, dw=d.get("durbin_watson", float("nan")))
        rows.append(
            {
                "kpi": t(f"impact.kpi.{r.kpi}", lang),
                "n_pre": r.n_pre,
                "n_post": r.n_post,
                "p_value": "" if pd.isna(r.p_value) else f"{r.p_value:.3f}",
                "check": check,
            }
        )
    return pd.DataFrame(rows)


def _table_note(result: ImpactResult | None, r: Report) -> tuple[str, dict[str, Any]] | None:
    if result is None:
        return None
    gl = result.go_live
    when = (
        f"{gl:%Y-%m-%d}"
        if isinstance(gl, pd.Timestamp)
        else ", ".join(f"{k} {v:%Y-%m-%d}" for k, v in (gl or {}).items())
    )
    return "impact_review.table_note", {
        "go_live": when,
        "method": r.t(f"impact.method.{result.method}"),
    }


def _assumptions(result: ImpactResult | None, r: Report) -> str | None:
    if result is None:
        return None
    return f"impact_review.assumptions.{result.method}"


def _findings(r: Report) -> list[str]:
    res = r.result("table")
    return [] if res is None else res.key_findings(r.lang)


def _grid(result: Any, lang: str = "en") -> Any:
    from salesml.plotting.impact import counterfactual_grid

    return counterfactual_grid(result, lang=lang)


SECTIONS: tuple[Section, ...] = (
    Section("findings", title="impact_review.findings", findings=_findings),
    Section(
        "table",
        title="impact_review.table",
        note=_table_note,
        compute=_impact,
        tables=(
            Table(
                rows=lambda res, r: effect_rows(res, r.lang),
                percent=("naive_rel", "rel_effect", "rel_low", "rel_high"),
                decimals=2,
            ),
        ),
    ),
    Section(
        "charts",
        title="impact_review.charts",
        note="impact_review.charts_note",
        uses="table",
        figure=_grid,
    ),
    Section(
        "assumptions",
        title="impact_review.assumptions",
        note=_assumptions,
        uses="table",
        tables=(Table(rows=lambda res, r: check_rows(res, r.lang), counts=("n_pre", "n_post")),),
    ),
)

REPORT = ReportSpec(
    name="impact_review",
    params=ImpactReviewParams,
    description="Did the change move the KPIs: before/after with honest intervals.",
    tables=(),
    loads=(
        "reps",
        "stores",
        "customers",
        "leads",
        "deals",
        "stage_history",
        "activities",
        "contracts",
        "payments",
        "costs",
        "material_movements",
        "collab_events",
    ),
    columns=KPI_COLUMNS,
    sections=SECTIONS,
)
