"""Days deals spend in each stage (or, without stage history, from creation to close).

Open deals are censored observations ("at least this long so far"): the figures to
quote are the Kaplan-Meier median and 90th percentile, always as a pair from the same
estimator; completed-only figures are kept beside them, labelled as such.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Literal

import numpy as np
import pandas as pd

from salesml.data.bundle import SalesData
from salesml.filters import FilterLike, FilterSpec
from salesml.periods import PeriodLike, as_period
from salesml.pipeline.findings import Finding, PipelineResult, Term, note, part, plural
from salesml.pipeline.funnel import scope_notes
from salesml.pipeline.index import (
    NAT,
    DealIndex,
    GroupBy,
    Selection,
    Stays,
    deal_stays,
    linear_quantiles,
    normalise_by,
    select_deals,
    to_ns,
)
from salesml.results import Note

__all__ = ["CYCLE", "DurationResult", "km_quantiles", "stage_durations"]

#: The ``stage`` of the one row a deals-only dataset gets: creation to close.
CYCLE = "created_to_closed"

_DAY = np.timedelta64(1, "D").astype("timedelta64[ns]").astype(np.int64)


def km_quantiles(
    cell: np.ndarray, duration: np.ndarray, event: np.ndarray, qs: tuple[float, ...], n_cells: int
) -> np.ndarray:
    """Kaplan-Meier quantiles of ``duration`` per cell, all cells at once.

    Parameters
    ----------
    cell
        Integer cell of each stay (``0..n_cells-1``).
    duration
        Length of each stay (any unit).
    event
        ``True`` where the stay ended (the deal left the stage); ``False`` where it is
        still going on (censored at the cut-off).
    qs
        Quantiles wanted (``0.5`` = median).

    Returns
    -------
    numpy.ndarray
        Shape ``(n_cells, len(qs))``: the smallest observed duration at which the
        product-limit survival falls to ``1 - q`` or below; NaN when it never does
        (too many stays still open) or the cell is empty.
    """
    out = np.full((n_cells, len(qs)), np.nan)
    if not len(cell):
        return out
    c, d, e, start, size = _sorted_cells(cell, duration, event, n_cells)
    return _km_sorted(c, d, e, start, size, qs, n_cells)


def _km_sorted(
    c: np.ndarray,
    d: np.ndarray,
    e: np.ndarray,
    start: np.ndarray,
    size: np.ndarray,
    qs: tuple[float, ...],
    n_cells: int,
) -> np.ndarray:
    """:func:`km_quantiles` on stays already sorted by :func:`_sorted_cells`."""
    out = np.full((n_cells, len(qs)), np.nan)
    if not len(c):
        return out
    rank = np.arange(len(c)) - start[c]
    at_risk = size[c] - rank
    with np.errstate(divide="ignore"):
        log_factor = np.log1p(-e.astype(float) / at_risk)
    # survival within each cell: cumulative sum of log factors restarted at each cell
    logs = pd.Series(log_factor).groupby(c, sort=False).cumsum().to_numpy()
    surv = np.exp(logs)
    for j, q in enumerate(qs):
        hit = surv <= 1.0 - q + 1e-12
        if not hit.any():
            continue
        idx = np.flatnonzero(hit)
        hit_cells = c[idx]
        first = np.ones(len(idx), dtype=bool)
        first[1:] = hit_cells[1:] != hit_cells[:-1]
        out[hit_cells[first], j] = d[idx[first]]
    return out


def _sorted_cells(
    cell: np.ndarray, duration: np.ndarray, event: np.ndarray, n_cells: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Stays sorted by cell, then duration, events before censorings at ties.

    Returns the sorted cell, duration and event arrays, and each cell's start offset
    and size.
    """
    o = np.argsort(~event, kind="stable")
    o = o[np.argsort(duration[o], kind="stable")]
    o = o[np.argsort(cell[o], kind="stable")]
    c, d, e = cell[o], duration[o], event[o]
    size = np.bincount(c, minlength=n_cells)
    start = np.concatenate(([0], np.cumsum(size)[:-1]))
    return c, d, e, start, size


@dataclass(kw_only=True)
class DurationResult(PipelineResult):
    """Days spent in each stage (or in the whole sales cycle), per group.

    Attributes
    ----------
    table
        One row per group and stage; columns:

        - the ``by`` dimensions, ``stage``, ``step``;
        - ``stays``: times a deal of the cohort entered the stage (with
          ``method="cycle"``: deals of the cohort, one row ``stage="created_to_closed"``);
        - ``completed``: stays that ended (the deal entered a later stage or closed);
        - ``open``: stays still going on at ``as_of`` (censored);
        - ``km_median_days``, ``km_p90_days``: Kaplan-Meier estimates that use the open
          stays as censored observations ("at least this long so far"): the pair to
          quote. NaN when more than half (a tenth) of the stays are still open beyond
          every completed one: the quantile is not known yet (``note`` says so);
        - ``median_days``, ``p90_days``, ``mean_days``: over completed stays only (they
          miss the deals that are stuck and so understate waiting times);
        - ``note``: why figures of the row are blank, a code with a catalog label
          (``no_stays``, ``no_completed_stays``, ``median_still_open``,
          ``p90_still_open``), missing when nothing is blank.
    overall
        The same columns without grouping (equal to ``table`` when ``by`` is ``None``).
    method
        ``"stage_history"`` (stays between stage entries) or ``"cycle"`` (no stage
        history: ``deals.created_at`` to ``deals.closed_at``).
    n_left_out
        Closed deals left out of the cycle (no close date, or a close before creation).
    """

    title_key: ClassVar[str] = "pipeline.title.durations"

    overall: pd.DataFrame = field(default_factory=pd.DataFrame)
    by: list[str] = field(default_factory=list)
    stage_order: list[str] = field(default_factory=list)
    method: Literal["stage_history", "cycle"] = "stage_history"
    n_left_out: int = 0

    def summary(self) -> pd.DataFrame:
        """Kaplan-Meier median and p90 per stage (rows) for the whole cohort, then the
        completed-only figures and the ``note`` on blank cells."""
        cols = [
            "stays",
            "open",
            "km_median_days",
            "km_p90_days",
            "median_days",
            "p90_days",
            "note",
        ]
        return self.overall.set_index("stage")[cols]

    def findings(self) -> list[Finding]:
        """Finding: the stage where deals wait longest (or the sales cycle), Kaplan-Meier."""
        o = self.overall
        if self.method == "cycle":
            return self._cycle_findings(o)
        med = o["km_median_days"]
        if not med.notna().any():
            return []
        i = int(med.fillna(-1.0).to_numpy().argmax())
        r = o.iloc[i]
        values = {"stage": Term.of(r["stage"]), "median": float(r["km_median_days"])}
        if pd.notna(r["km_p90_days"]):
            first = part("pipeline.finding.slow_stage", p90=float(r["km_p90_days"]), **values)
        else:
            first = part("pipeline.finding.slow_stage_no_p90", **values)
        return [
            Finding(
                (first, _open_part("pipeline.finding.in_stage", int(r["open"]))),
                weight=200.0,
                kind="slow_stage",
            )
        ]

    def _cycle_findings(self, o: pd.DataFrame) -> list[Finding]:
        if not len(o) or o["stays"].iloc[0] == 0:
            return []
        r = o.iloc[0]
        if pd.isna(r["km_median_days"]):
            longest = float(o.attrs.get("longest_completed", np.nan))
            if np.isnan(longest):
                return []
            first = part("pipeline.finding.cycle_no_median", longest=longest)
        elif pd.notna(r["km_p90_days"]):
            first = part(
                "pipeline.finding.cycle",
                median=float(r["km_median_days"]),
                p90=float(r["km_p90_days"]),
            )
        else:
            first = part("pipeline.finding.cycle_no_p90", median=float(r["km_median_days"]))
        return [
            Finding(
                (first, _open_part("pipeline.finding.still_open", int(r["open"]))),
                weight=200.0,
                kind="slow_stage",
            )
        ]


def _open_part(prefix: str, n: int) -> tuple[str, tuple[tuple[str, object], ...]]:
    """`` 3 deals are in it now.`` with the right number (``prefix.none/one/many``)."""
    if n == 0:
        return part(f"{prefix}.none")
    if n == 1:
        return part(f"{prefix}.one")
    return part(f"{prefix}.many", n=n)


def _summarise(
    stays: Stays,
    sel: Selection,
    cut: int,
    order: list[str],
    grouped: bool,
) -> pd.DataFrame:
    """Per-cell stay counts and duration statistics of the selected deals."""
    n_stages = len(order)
    n_groups = sel.n_groups if grouped else 1
    code_of = np.full(sel.idx.n, -1, dtype=np.int64)
    code_of[sel.rows] = sel.codes if grouped else 0
    g = code_of[stays.row]
    keep = (g >= 0) & (stays.entered <= cut)
    g, step = g[keep], stays.step[keep]
    entered, end = stays.entered[keep], stays.end[keep]
    ended = stays.ended[keep] & (end <= cut)
    days = (np.where(ended, end, cut) - entered) / _DAY
    cell = g * n_stages + step
    n_cells = n_groups * n_stages
    n_stays = np.bincount(cell, minlength=n_cells)
    n_done = np.bincount(cell[ended], minlength=n_cells)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.bincount(cell[ended], weights=days[ended], minlength=n_cells) / n_done
    # one sort serves both: completed stays keep their (cell, days) order
    c, d, e, start, size = _sorted_cells(cell, days, ended, n_cells)
    plain = linear_quantiles(c[e], d[e], (0.5, 0.9), n_cells, presorted=True)
    km = _km_sorted(c, d, e, start, size, (0.5, 0.9), n_cells)
    note_code = np.select(
        [
            n_stays == 0,
            n_done == 0,
            np.isnan(km[:, 0]),
            np.isnan(km[:, 1]),
        ],
        ["no_stays", "no_completed_stays", "median_still_open", "p90_still_open"],
        default="",
    )
    columns = {
        "stage": pd.array(np.tile(np.asarray(order, dtype=object), n_groups), dtype="str"),
        "step": np.tile(np.arange(n_stages), n_groups),
        "stays": n_stays,
        "completed": n_done,
        "open": n_stays - n_done,
        "median_days": plain[:, 0],
        "p90_days": plain[:, 1],
        "mean_days": mean,
        "km_median_days": km[:, 0],
        "km_p90_days": km[:, 1],
        "note": pd.array(np.where(note_code == "", None, note_code), dtype="str"),
    }
    keys = sel.keys if grouped else pd.DataFrame(index=[0])
    if len(keys.columns):
        rep = keys.loc[keys.index.repeat(n_stages)].reset_index(drop=True)
        out = pd.concat([rep, pd.DataFrame(columns, index=rep.index)], axis=1)
    else:
        out = pd.DataFrame(columns, index=pd.RangeIndex(n_cells))
    out.attrs["longest_completed"] = float(d[e].max()) if e.any() else np.nan
    return out


def _data_end(idx: DealIndex, stays: Stays | None) -> pd.Timestamp:
    """The latest deal event (creation, stage entry or close): the export's "now"."""
    latest = max(
        int(idx.created.max(initial=NAT)),
        int(idx.closed.max(initial=NAT)),
        int(stays.entered.max(initial=NAT)) if stays is not None else NAT,
    )
    return pd.Timestamp(latest) if latest != NAT else pd.Timestamp.now()


def _cycle_stays(sel: Selection, cut: int) -> tuple[Stays, int]:
    """One "stay" per selected deal from ``created_at`` to ``closed_at``, and the count of
    closed deals left out (no close date, or closed before created)."""
    idx = sel.idx
    rows = sel.rows
    created = idx.created[rows]
    closed = idx.closed[rows]
    is_closed = np.isin(idx.outcome[rows], (1, 2))
    known = created != NAT
    unusable = is_closed & ((closed == NAT) | ((closed != NAT) & (closed < created)))
    keep = known & ~unusable
    row = rows[keep]
    end = np.where(is_closed[keep], closed[keep], NAT)
    stays = Stays(
        row=row,
        step=np.zeros(len(row), dtype=np.int64),
        entered=created[keep],
        end=end,
        ended=end != NAT,
    )
    # a deal closed after the cut is still open at it (and censored there)
    left_out = int((unusable & known & ((closed == NAT) | (closed <= cut))).sum())
    return stays, left_out


def stage_durations(
    data: SalesData,
    *,
    period: PeriodLike = None,
    as_of: str | pd.Timestamp | None = None,
    filters: FilterLike = None,
    by: GroupBy = None,
) -> DurationResult:
    """Median and p90 days deals spend in each stage, overall and per group.

    A stay in a stage runs from entering it (``stage_history.entered_at``) to entering
    the next stage, or to ``deals.closed_at`` when the deal closed in it (won deals
    close in the last stage when the contract is signed). A stay of a deal that is
    still open has not ended: it is *censored* at ``as_of``. The Kaplan-Meier figures
    (``km_median_days``, ``km_p90_days``) count such stays as "at least this long" and
    are the ones quoted in findings and figures, always as a pair; completed-only
    figures (``median_days``, ``p90_days``) leave them out and so understate how long
    deals really wait.

    Without ``stage_history`` (a deals-only export), time per stage cannot be
    measured; the sales cycle is measured instead, from ``deals.created_at`` to
    ``deals.closed_at`` (open deals censored), as one row ``stage="created_to_closed"``
    with ``method="cycle"``; the result's notes and finding say so.

    Parameters
    ----------
    data
        The dataset; needs ``deals`` (``stage_history`` for time per stage).
    period, filters, by
        As in :func:`salesml.pipeline.funnel` (cohort by ``deals.created_at``).
    as_of
        Cut-off: stays entered later are ignored, stays still going on (or ending
        later) are censored there. Default: the latest deal event in the dataset
        (a deal created, entering a stage or closing), i.e. when the export was taken.

    Returns
    -------
    DurationResult
        ``.table`` per group and stage, ``.overall`` for the whole cohort; see
        :class:`DurationResult` for the columns.

    Raises
    ------
    MissingTableError
        When ``deals`` is absent.
    """
    analysis = "stage durations"
    data.require("deals", analysis=analysis)
    p = as_period(period)
    spec = FilterSpec.parse(filters)
    dims = normalise_by(by)
    sel = select_deals(data, dims=dims, period=p, filters=spec, analysis=analysis)
    method: Literal["stage_history", "cycle"] = (
        "stage_history" if data.has("stage_history") else "cycle"
    )
    stays = deal_stays(data, sel.idx, analysis) if method == "stage_history" else None
    cut_ts = _data_end(sel.idx, stays) if as_of is None else pd.Timestamp(as_of)
    if cut_ts.tzinfo is not None:
        cut_ts = cut_ts.tz_localize(None)
    cut = to_ns(cut_ts)
    left_out = 0
    if stays is None:
        stays, left_out = _cycle_stays(sel, cut)
        order = [CYCLE]
    else:
        order = sel.idx.stage_order
    overall = _summarise(stays, sel, cut, order, grouped=False)
    table = _summarise(stays, sel, cut, order, grouped=True) if dims else overall
    notes: list[Note] = scope_notes(data, [*dims, *spec.names])
    if method == "cycle":
        notes.append(note("pipeline.note.cycle_method", as_of=f"{cut_ts:%Y-%m-%d}"))
    notes.append(note("pipeline.note.km_pair"))
    present = table["stays"] > 0
    codes = set(table.loc[present, "note"].dropna())
    for code in ("no_completed_stays", "median_still_open", "p90_still_open"):
        if code in codes:
            notes.append(note(f"pipeline.note.{code}"))
    if left_out:
        notes.append(note(plural("pipeline.note.cycle_left_out", left_out), n=left_out))
    return DurationResult(
        table=table,
        period=p,
        as_of=cut_ts,
        filters=spec,
        notes=notes,
        overall=overall,
        by=dims,
        stage_order=list(sel.idx.stage_order),
        method=method,
        n_left_out=left_out,
    )
