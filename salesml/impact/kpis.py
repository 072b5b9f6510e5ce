"""The KPIs a process change is judged by, each defined once, as period series.

Every KPI is a ratio of two sums over the events of a period: a *numerator* (hours
waited, days spent, touches made, money spent) and a *denominator* (responses, stage
spells, open deal-days, leads). A period's value is ``sum(numerator) / sum(denominator)``,
so periods and regions aggregate exactly (a quarter is not the mean of its weeks).
Heavy-tailed waiting times (first response to leads) are summed as logs instead and
the value is their geometric mean, ``exp(sum(log hours) / n)`` (``KpiDef.mean``); that
aggregates exactly too.

Each definition names the tables it needs. A KPI whose tables the dataset does not
have, and the seed's KPIs no table of the data model records (month-end close time,
coordination hours), are listed as *not measurable* with the table that would make
them measurable; no number is made up for them.

Events too close to the end of the data to be complete (a lead created an hour ago
has no response yet, a stage entered last week has not ended) are left out for a
KPI's ``maturity_days``, so the last periods are not biased toward fast cases.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from salesml.data.bundle import SalesData
from salesml.filters import FilterLike, FilterSpec
from salesml.i18n import check_lang, label, t
from salesml.impact.events import (
    STAGE_CAP_DAYS,
    blended_cac_events,
    collab_response_events,
    first_response_events,
    material_loss_events,
    media_cost_per_lead_events,
    payment_delay_events,
    stage_spells_events,
    touches_per_deal_day_events,
    touches_per_rep_day_events,
    won_cycle_events,
)
from salesml.impact.scope import CASCADE, filter_columns, scoped
from salesml.results import AnalysisResult, Note

__all__ = [
    "FREQS",
    "KPIS",
    "KPI_COLUMNS",
    "KPI_TABLES",
    "NOT_MEASURABLE",
    "KpiDef",
    "KpiSeriesResult",
    "kpi_events",
    "kpi_series",
    "period_start",
    "ratio_value",
]

#: Period lengths a series can be built at (pandas period codes).
FREQS: dict[str, str] = {"D": "D", "W": "W-SUN", "M": "M", "Q": "Q-DEC"}
_GRAIN_ORDER = ("D", "W", "M", "Q")


@dataclass(frozen=True)
class KpiDef:
    """One KPI: what is divided by what, from which tables.

    Attributes
    ----------
    key
        The KPI's name (``first_response_hours``); its display name is the catalog
        entry ``impact.kpi.<key>``, its numerator and denominator in words
        ``impact.kpi.<key>.num`` / ``.den``.
    tables
        The tables it needs.
    unit
        ``hours``, ``days``, ``count``, ``money`` or ``share`` (catalog ``impact.unit.<unit>``).
    better
        ``lower`` or ``higher``: which direction is an improvement.
    grain
        The finest period the KPI is meaningful at (``M`` for costs booked monthly).
    maturity_days
        Events within this many days of the end of the data are left out.
    groups
        The ``by`` columns the KPI can be split by.
    columns
        The columns it reads, as ``table.column``, the keys it joins its tables on
        included (a table's time column and the keys :mod:`salesml.impact.scope` cuts
        by are added for :data:`KPI_COLUMNS`).
    planted
        The key of :attr:`salesml.simulator.Truth.kpi_effects` this KPI measures
        exactly (``None``: the simulator plants no exact effect on it).
    mean
        ``ratio``: a period's value is ``sum(num) / sum(den)``. ``geometric``: the
        events' ``num`` is a log and ``den`` a count, the value is
        ``exp(sum(num) / sum(den))``, the geometric mean (for heavy-tailed waiting
        times, where a few long waits would swing a mean). Such a KPI has no groups.
    filter_table
        The table whose rows ``filters=`` selects (its dependants are cut to them, see
        :mod:`salesml.impact.scope`); ``None``: the KPI cannot be filtered.
    """

    key: str
    tables: tuple[str, ...]
    unit: str
    better: str
    grain: str = "D"
    maturity_days: float = 0.0
    groups: tuple[str, ...] = ("region",)
    planted: str | None = None
    columns: tuple[str, ...] = ()
    mean: str = "ratio"
    filter_table: str | None = None
    events: Callable[[SalesData, pd.Timestamp, pd.Timestamp], pd.DataFrame] = field(
        default=lambda d, a, b: pd.DataFrame(), repr=False, compare=False
    )


KPIS: dict[str, KpiDef] = {
    k.key: k
    for k in (
        KpiDef(
            "first_response_hours",
            ("leads",),
            "hours",
            "lower",
            columns=("leads.created_at", "leads.first_response_at", "leads.channel"),
            maturity_days=7.0,
            groups=(),
            planted="first_response_hours",
            mean="geometric",
            filter_table="leads",
            events=first_response_events,
        ),
        KpiDef(
            "stage_days",
            ("deals", "stage_history"),
            "days",
            "lower",
            columns=(
                "stage_history.deal_id",
                "stage_history.entered_at",
                "stage_history.stage",
                "deals.closed_at",
            ),
            maturity_days=STAGE_CAP_DAYS,
            planted="stage_duration_days",
            filter_table="deals",
            events=stage_spells_events,
        ),
        KpiDef(
            "won_cycle_days",
            ("deals",),
            "days",
            "lower",
            columns=("deals.outcome", "deals.created_at", "deals.closed_at"),
            filter_table="deals",
            events=won_cycle_events,
        ),
        KpiDef(
            "touches_per_deal_day",
            ("deals", "activities"),
            "count",
            "higher",
            columns=(
                "activities.deal_id",
                "activities.kind",
                "activities.occurred_at",
                "deals.created_at",
                "deals.closed_at",
            ),
            planted="daily_touches",
            filter_table="deals",
            events=touches_per_deal_day_events,
        ),
        KpiDef(
            "touches_per_rep_day",
            ("reps", "activities"),
            "count",
            "higher",
            columns=(
                "activities.rep_id",
                "activities.kind",
                "activities.occurred_at",
                "reps.region",
                "reps.hired_at",
            ),
            filter_table="reps",
            events=touches_per_rep_day_events,
        ),
        KpiDef(
            "collab_response_hours",
            ("deals", "collab_events"),
            "hours",
            "lower",
            columns=(
                "collab_events.event_id",
                "collab_events.deal_id",
                "collab_events.kind",
                "collab_events.request_id",
                "collab_events.occurred_at",
            ),
            maturity_days=7.0,
            planted="collab_response_hours",
            filter_table="deals",
            events=collab_response_events,
        ),
        KpiDef(
            "media_cost_per_lead",
            ("costs", "leads"),
            "money",
            "lower",
            columns=(
                "costs.category",
                "costs.amount",
                "costs.incurred_at",
                "costs.channel",
                "leads.channel",
                "leads.created_at",
            ),
            grain="M",
            groups=(),
            planted="media_cost_per_lead",
            events=media_cost_per_lead_events,
        ),
        KpiDef(
            "cac",
            ("costs", "customers"),
            "money",
            "lower",
            columns=("costs.amount", "costs.incurred_at", "customers.created_at"),
            grain="M",
            groups=(),
            events=blended_cac_events,
        ),
        KpiDef(
            "payment_delay_days",
            ("deals", "contracts", "payments"),
            "days",
            "lower",
            columns=(
                "payments.contract_id",
                "payments.paid_at",
                "contracts.contract_id",
                "contracts.deal_id",
                "contracts.signed_at",
                "contracts.payment_terms_days",
            ),
            filter_table="deals",
            events=payment_delay_events,
        ),
        KpiDef(
            "material_loss_rate",
            ("material_movements",),
            "share",
            "lower",
            columns=(
                "material_movements.store_id",
                "material_movements.kind",
                "material_movements.qty",
                "material_movements.occurred_at",
            ),
            filter_table="material_movements",
            events=material_loss_events,
        ),
    )
}

#: Seed KPIs no table of the data model records: key -> the table that would.
NOT_MEASURABLE: dict[str, str] = {
    "month_end_close_days": "finance_close",
    "coordination_hours": "timesheets",
}


#: Every table the KPIs or their filters read (a store's region scopes material
#: movements): what a report or an app showing the KPIs loads.
KPI_TABLES: tuple[str, ...] = tuple(
    dict.fromkeys(["reps", "stores", "customers", *(t for k in KPIS.values() for t in k.tables)])
)

#: Tables a KPI load holds whole: the roots ``filters=`` selects rows of by any of their
#: columns (:attr:`KpiDef.filter_table`), and the tables regions are looked up in.
_WHOLE_TABLES: tuple[str, ...] = (
    "customers",
    "stores",
    *dict.fromkeys(k.filter_table for k in KPIS.values() if k.filter_table),
)


def _kpi_columns() -> dict[str, tuple[str, ...]]:
    """Per table the KPIs read that is not held whole: the columns they declare, the
    time column (``as_of`` cuts by it, :func:`event_span` reads it) and the keys
    :mod:`salesml.impact.scope` cuts it by; in the table's own column order."""
    from salesml.data.schema import SPECS

    wanted: dict[str, set[str]] = {}
    for k in KPIS.values():
        for col in k.columns:
            table, _, name = col.partition(".")
            wanted.setdefault(table, set()).add(name)
    for children in CASCADE.values():
        for child, key in children:
            if child in wanted:
                wanted[child].add(key)
    out = {}
    for table, names in wanted.items():
        if table in _WHOLE_TABLES:
            continue
        spec = SPECS[table]
        if spec.time_column:
            names.add(spec.time_column)
        out[table] = tuple(c.name for c in spec.columns if c.name in names)
    return out


#: The columns a report or app showing the KPIs loads of the tables not held whole
#: (``load_dataset(columns=)``): at tier L, 31M activities without their ids, channels
#: and durations, cross-team events without roles and actors, cost lines without their
#: ids. Derived from the KPIs' :attr:`KpiDef.columns`; deals, reps, leads, material
#: movements, customers and stores are loaded whole (filters read any of their columns).
KPI_COLUMNS: dict[str, tuple[str, ...]] = _kpi_columns()


#: Tables whose dates are events (not master data such as a rep's hiring date).
EVENT_TABLES = (
    "leads",
    "deals",
    "stage_history",
    "activities",
    "quotes",
    "contracts",
    "payments",
    "costs",
    "material_movements",
    "approvals",
    "collab_events",
)


def event_span(data: SalesData) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    """First and last event time over the event tables (``None`` without any)."""
    from salesml.data.schema import SPECS

    lo, hi = [], []
    for name in EVENT_TABLES:
        if name not in data:
            continue
        col = SPECS[name].time_column
        df = data[name]
        if col and col in df and len(df) and pd.api.types.is_datetime64_any_dtype(df[col]):
            lo.append(df[col].min())
            hi.append(df[col].max())
    lo, hi = [x for x in lo if pd.notna(x)], [x for x in hi if pd.notna(x)]
    if not lo:
        return None
    return min(lo), max(hi)


def period_start(ts: pd.Series | np.ndarray, freq: str) -> pd.DatetimeIndex:
    """The start of the period (of length ``freq``) each instant falls in."""
    idx = pd.DatetimeIndex(ts)
    return idx.to_period(FREQS[freq]).start_time


def _check_freq(freq: str) -> str:
    if freq not in FREQS:
        raise ValueError(
            f"freq must be one of {', '.join(FREQS)} (day, week, month, quarter); got {freq!r}"
        )
    return freq


def _coarser(a: str, b: str) -> str:
    return a if _GRAIN_ORDER.index(a) >= _GRAIN_ORDER.index(b) else b


def _check_kpis(kpis: Sequence[str] | str | None) -> list[str]:
    if kpis is None:
        return list(KPIS) + list(NOT_MEASURABLE)
    if isinstance(kpis, str):
        kpis = [kpis]
    known = set(KPIS) | set(NOT_MEASURABLE)
    bad = [k for k in kpis if k not in known]
    if bad:
        raise ValueError(f"unknown KPI(s) {bad}; choose from {', '.join([*KPIS, *NOT_MEASURABLE])}")
    return list(dict.fromkeys(kpis))


def kpi_events(
    data: SalesData, kpi: str, *, filters: FilterLike = None
) -> tuple[pd.DataFrame, pd.Timestamp, pd.Timestamp]:
    """The events of ``kpi`` with the data's time range (mature events only).

    ``filters`` keeps the rows of the KPI's :attr:`KpiDef.filter_table` it matches
    (:mod:`salesml.impact.scope`); the time range is the whole dataset's either way.

    Returns
    -------
    events, start, end
        ``events`` has columns ``t``, ``region``, ``num``, ``den`` (touches also ``n``:
        they come counted per day and region, see :mod:`salesml.impact.events`);
        ``start`` and ``end`` bound the data (``end`` exclusive).

    Raises
    ------
    ValueError
        For an unknown KPI, one the data model cannot measure, or a dataset without dates;
        a :class:`~salesml.impact.scope.FilterColumnError` when the KPI's rows carry no
        filtered column.
    """
    if kpi not in KPIS:
        _check_kpis([kpi])
        raise ValueError(
            f"KPI {kpi!r} is not measurable: it needs a {NOT_MEASURABLE[kpi]!r} table, "
            "which the data model does not have"
        )
    rng = event_span(data)
    if rng is None:
        raise ValueError("the dataset has no dated events: no KPI series can be built")
    start, end = rng[0], rng[1] + pd.Timedelta(microseconds=1)
    d = KPIS[kpi]
    data.require(*d.tables, analysis=f"the KPI {kpi!r}")
    data = scoped(data, kpi, d.filter_table, FilterSpec.parse(filters))
    ev = d.events(data, start, end)
    if d.maturity_days:
        ev = ev[ev["t"] < end - pd.Timedelta(days=d.maturity_days)]
    return ev, start, end


@dataclass(kw_only=True)
class KpiSeriesResult(AnalysisResult):
    """KPI values per period (and group).

    Attributes
    ----------
    table
        One row per KPI, period (and group): ``kpi``, ``period`` (its first day),
        the ``by`` column if any, ``numerator``, ``denominator``, ``value``
        (``numerator / denominator``, its ``exp`` for a geometric KPI; missing when
        the denominator is 0: no data).
    definitions
        One row per measurable KPI: ``kpi``, ``tables``, ``unit``, ``better``,
        ``grain``, ``freq`` (the period length used), ``maturity_days``, ``planted``,
        ``mean`` (``ratio`` or ``geometric``, see :class:`KpiDef`).
    not_measurable
        ``kpi``, ``needs`` (the table that would make it measurable) and ``reason``
        (``no_table_in_model``, ``missing_table``, ``missing_column``, ``no_group``
        or ``filter_column``).
    freq, by, filters
        As asked.
    """

    title_key: ClassVar[str] = "impact.title.kpis"

    definitions: pd.DataFrame
    not_measurable: pd.DataFrame
    freq: str = "W"
    by: str | None = None

    def series(self, kpi: str) -> pd.DataFrame:
        """The rows of one KPI."""
        return self.table[self.table["kpi"] == kpi].reset_index(drop=True)

    def key_findings(self, lang: str = "en") -> list[str]:
        """One sentence per KPI that cannot be measured, then the notes."""
        check_lang(lang)
        out = [
            t(
                f"impact.not_measurable.{r.reason}",
                lang,
                kpi=t(f"impact.kpi.{r.kpi}", lang),
                table=label(r.needs, lang) if r.reason == "no_group" else r.needs,
            )
            for r in self.not_measurable.itertuples()
        ]
        return out + [n.text(lang) for n in self.notes]


def kpi_series(
    data: SalesData,
    *,
    kpis: Sequence[str] | str | None = None,
    freq: str = "W",
    by: str | None = None,
    filters: FilterLike = None,
) -> KpiSeriesResult:
    """KPI values per period: each a ratio of summed numerator and denominator.

    Parameters
    ----------
    data
        The dataset.
    kpis
        KPI keys (default: every KPI of :data:`KPIS` and :data:`NOT_MEASURABLE`).
    freq
        ``D``, ``W`` (weeks starting Monday), ``M`` or ``Q``. A KPI booked at a
        coarser grain (media costs are monthly) is built at its own grain; the
        ``freq`` column of :attr:`KpiSeriesResult.definitions` says which.
    by
        ``None`` or ``"region"`` (the customer's region; the rep's for touches per
        rep, the store's for materials). KPIs without a region are listed as not
        measurable by region.
    filters
        A :class:`~salesml.filters.FilterSpec` (or what it parses: ``{"segment":
        "key_account"}``, ``"amount >= 50000"``) on each KPI's rows
        (:mod:`salesml.impact.scope`). A KPI whose rows carry no filtered column is
        listed as not measurable (``reason == "filter_column"``), not measured unfiltered.

    Returns
    -------
    KpiSeriesResult
        See its attributes for the columns.

    Raises
    ------
    ValueError
        For an unknown KPI, ``freq``, ``by`` or filter (a column name that is not a plain
        name, an expression the grammar refuses or that fails on a KPI's rows).
    """
    freq = _check_freq(freq)
    if by not in (None, "region"):
        raise ValueError(f"by must be None or 'region'; got {by!r}")
    spec = FilterSpec.parse(filters)
    wanted = _check_kpis(kpis)
    frames, defs, nm = [], [], []
    no_region: dict[str, int] = {}
    for key in wanted:
        if key in NOT_MEASURABLE:
            nm.append({"kpi": key, "needs": NOT_MEASURABLE[key], "reason": "no_table_in_model"})
            continue
        d = KPIS[key]
        missing = [tb for tb in d.tables if tb not in data]
        if missing:
            nm.append({"kpi": key, "needs": ", ".join(missing), "reason": "missing_table"})
            continue
        absent = [c for c in d.columns if c.split(".")[1] not in data[c.split(".")[0]].columns]
        if absent:
            nm.append({"kpi": key, "needs": ", ".join(absent), "reason": "missing_column"})
            continue
        if by is not None and by not in d.groups:
            nm.append({"kpi": key, "needs": by, "reason": "no_group"})
            continue
        unresolved = filter_columns(data, d.filter_table, spec) if spec else []
        if unresolved:
            nm.append({"kpi": key, "needs": ", ".join(unresolved), "reason": "filter_column"})
            continue
        ev, _, _ = kpi_events(data, key, filters=spec)
        f = _coarser(freq, d.grain)
        if by:
            none = ev["region"].isna().to_numpy()
            # a row of counted events (touches per day) stands for ``n`` records
            n_none = int(ev["n"].fillna(1.0)[none].sum()) if "n" in ev else int(none.sum())
            if n_none:
                no_region[key] = n_none
        frames.append(_aggregate(ev, key, f, by, d.mean))
        defs.append(
            {
                "kpi": key,
                "tables": ", ".join(d.tables),
                "unit": d.unit,
                "better": d.better,
                "grain": d.grain,
                "freq": f,
                "maturity_days": d.maturity_days,
                "planted": d.planted,
                "mean": d.mean,
            }
        )
    cols = ["kpi", "period", *([by] if by else []), "numerator", "denominator", "value"]
    table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=cols)
    notes = []
    for key, n in no_region.items():
        notes.append(Note("impact.note.no_region", (("kpi", key), ("n", n))))
    return KpiSeriesResult(
        table=table[cols],
        definitions=pd.DataFrame(
            defs,
            columns=[
                "kpi",
                "tables",
                "unit",
                "better",
                "grain",
                "freq",
                "maturity_days",
                "planted",
                "mean",
            ],
        ),
        not_measurable=pd.DataFrame(nm, columns=["kpi", "needs", "reason"]),
        freq=freq,
        by=by,
        filters=spec,
        notes=notes,
    )


def ratio_value(numerator: object, denominator: object, mean: str = "ratio") -> Any:
    """A KPI's value from its summed numerator and denominator (NaN without data).

    ``mean="geometric"``: ``exp`` of the ratio (the numerator is a sum of logs).
    Works on numbers and arrays alike.
    """
    num = np.asarray(numerator, dtype=float)
    den = np.asarray(denominator, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        v = np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)
        if mean == "geometric":
            v = np.exp(v)
    return float(v) if v.ndim == 0 else v


def _aggregate(
    ev: pd.DataFrame, key: str, freq: str, by: str | None, mean: str = "ratio"
) -> pd.DataFrame:
    """Sum numerator and denominator per period (and group); value per :func:`ratio_value`."""
    keys = [pd.Series(period_start(ev["t"].to_numpy(), freq), name="period")]
    if by:
        keys.append(ev["region"].astype("object").rename(by).reset_index(drop=True))
    ev = ev.reset_index(drop=True)
    g = ev[["num", "den"]].groupby(keys, dropna=True, sort=True).sum()
    g = g.rename(columns={"num": "numerator", "den": "denominator"}).reset_index()
    full = pd.date_range(g["period"].min(), g["period"].max(), freq=_range_freq(freq))
    if by:
        idx = pd.MultiIndex.from_product(
            [full, sorted(g[by].dropna().unique())], names=["period", by]
        )
        g = g.set_index(["period", by]).reindex(idx, fill_value=0.0).reset_index()
    else:
        g = g.set_index("period").reindex(full, fill_value=0.0).rename_axis("period").reset_index()
    g["value"] = ratio_value(g["numerator"], g["denominator"], mean)
    g.insert(0, "kpi", key)
    return g


def _range_freq(freq: str) -> str:
    return {"D": "D", "W": "W-MON", "M": "MS", "Q": "QS"}[freq]
