"""``capability_trend``: the capability scores month by month, and the reps who moved."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import pandas as pd

from salesml.capability.scores import (
    Z90,
    capability_scores,
    data_end,
    note_text,
    parse_window,
    rep_label,
)
from salesml.data.bundle import SalesData
from salesml.filters import FilterLike, FilterSpec
from salesml.i18n import check_lang, label, t
from salesml.results import AnalysisResult

__all__ = ["CapabilityTrendResult", "capability_trend", "movers"]

#: Months a trend may span at most (each month is one scoring pass).
MAX_MONTHS = 36


@dataclass(kw_only=True)
class CapabilityTrendResult(AnalysisResult):
    """Monthly capability scores.

    ``table`` columns: ``month`` (``YYYY-MM``), ``month_end`` (the instant scored at),
    then the columns of :class:`~salesml.capability.scores.CapabilityResult` (``rep_id,
    name, team, region, scenario, score, lower, upper, score_sd, evidence, ...``).

    Attributes
    ----------
    movers
        Reps whose score changed by more than its uncertainty between the first and the
        last month: ``rep_id, name, team, scenario, before, after, change,
        change_lower, change_upper, direction`` (``up``/``down``), largest first.
    """

    title_key: ClassVar[str] = "capability.trend.title"

    movers: pd.DataFrame = field(default_factory=pd.DataFrame)
    months: list[str] = field(default_factory=list)

    def summary(self) -> pd.DataFrame:
        """Score per rep (rows) and month (columns), one block per scenario."""
        if not len(self.table):
            return self.table
        return self.table.pivot_table(
            index=["scenario", "rep_id"], columns="month", values="score", aggfunc="first"
        ).reset_index()

    def key_findings(self, lang: str = "en") -> list[str]:
        """The largest mover each way, or that nobody moved beyond the noise."""
        check_lang(lang)
        out = []
        if not len(self.movers):
            out.append(
                t("capability.trend.no_movers", lang, first=self.months[0], last=self.months[-1])
            )
        for direction in ("up", "down"):
            m = self.movers[self.movers["direction"] == direction] if len(self.movers) else []
            if len(m):
                r = m.iloc[0]
                out.append(
                    t(
                        f"capability.trend.mover_{direction}",
                        lang,
                        rep=rep_label(r),
                        scenario=label(r["scenario"], lang),
                        change=r["change"],
                        lower=r["change_lower"],
                        upper=r["change_upper"],
                        first=self.months[0],
                        last=self.months[-1],
                        n=int((self.movers["direction"] == direction).sum()),
                    )
                )
        return out + [note_text(n, lang) for n in self.notes]


def movers(table: pd.DataFrame, first: str, last: str) -> pd.DataFrame:
    """Reps whose score moved beyond its 90% uncertainty from month ``first`` to ``last``.

    The two months' scores come from windows that may overlap; treating them as
    independent makes the change's interval wider than it is, so a listed mover has
    moved at least this much.
    """
    a = table[table["month"] == first].set_index(["rep_id", "scenario"])
    b = table[table["month"] == last].set_index(["rep_id", "scenario"])
    both = a.index.intersection(b.index)
    a, b = a.loc[both], b.loc[both]
    change = b["score"] - a["score"]
    se = np.sqrt(a["score_sd"] ** 2 + b["score_sd"] ** 2)
    out = pd.DataFrame(
        {
            "name": b["name"],
            "team": b["team"],
            "before": a["score"],
            "after": b["score"],
            "change": change,
            "change_lower": change - Z90 * se,
            "change_upper": change + Z90 * se,
            "evidence_before": a["evidence"],
            "evidence_after": b["evidence"],
        }
    )
    moved = (out["change_lower"] > 0) | (out["change_upper"] < 0)
    out = out[moved & ~a["low_evidence"] & ~b["low_evidence"]].copy()
    out["direction"] = np.where(out["change"] > 0, "up", "down")
    out = out.reset_index()
    return out.reindex(out["change"].abs().sort_values(ascending=False).index).reset_index(
        drop=True
    )


def capability_trend(
    data: SalesData,
    *,
    as_of: str | pd.Timestamp | None = None,
    months: int = 6,
    window: int | float | str | pd.Timedelta | None = 90,
    filters: FilterLike = None,
    min_events: int = 20,
) -> CapabilityTrendResult:
    """Capability scores at the end of each of the last ``months`` calendar months.

    Parameters
    ----------
    data
        The dataset (see :func:`~salesml.capability.capability_scores`).
    as_of
        The last month is the one containing this instant (default: the last event);
        each month is scored with what was known at its end (or at ``as_of``).
    months
        How many months, 2 to :data:`MAX_MONTHS`.
    window
        Look-back window of each monthly score (default 90 days, so a month's score
        rests on the last quarter).
    filters, min_events
        As in :func:`~salesml.capability.capability_scores`.

    Returns
    -------
    CapabilityTrendResult
    """
    spec = FilterSpec.parse(filters)
    parse_window(window)
    if not isinstance(months, (int, np.integer)) or not 2 <= int(months) <= MAX_MONTHS:
        raise ValueError(f"months must be a whole number from 2 to {MAX_MONTHS}, got {months!r}")
    end = pd.Timestamp(as_of) if as_of is not None else data_end(data)
    if end is None:
        raise ValueError("a capability trend needs dated collab_events or activities")
    last_start = end.to_period("M").start_time
    starts = pd.date_range(end=last_start, periods=int(months), freq="MS")
    parts, notes = [], []
    for s in starts:
        cut = min(s + pd.offsets.MonthBegin(1) - pd.Timedelta(microseconds=1), end)
        r = capability_scores(data, as_of=cut, window=window, filters=spec, min_events=min_events)
        parts.append(r.table.assign(month=f"{s:%Y-%m}", month_end=cut))
        notes = r.notes  # the last month's caveats
    table = pd.concat(parts, ignore_index=True)
    cols = ["month", "month_end"] + [c for c in table.columns if c not in ("month", "month_end")]
    table = table[cols]
    labels = [f"{s:%Y-%m}" for s in starts]
    return CapabilityTrendResult(
        table=table,
        as_of=pd.Timestamp(as_of) if as_of is not None else None,
        filters=spec,
        notes=notes,
        movers=movers(table, labels[0], labels[-1]),
        months=labels,
    )
