"""Days deals spend in each stage, with open deals handled as censored stays."""

from __future__ import annotations

import html
from dataclasses import dataclass

import numpy as np
import pandas as pd

from salesml.data.bundle import SalesData
from salesml.i18n import label
from salesml.periods import PeriodLike, period_label
from salesml.pipeline._common import (
    _NAT,
    DealIndex,
    Filters,
    GroupBy,
    Selection,
    Stays,
    deal_stays,
    linear_quantiles,
    normalise_by,
    select_deals,
)
from salesml.pipeline.findings import Finding

__all__ = ["DurationResult", "km_quantiles", "stage_durations"]

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


@dataclass
class DurationResult:
    """Days spent in each stage, per group.

    Attributes
    ----------
    table
        One row per group and stage; columns:

        - the ``by`` dimensions, ``stage``, ``step``;
        - ``stays``: times a deal of the cohort entered the stage;
        - ``completed``: stays that ended (the deal entered a later stage or closed);
        - ``open``: stays still going on at ``as_of`` (censored);
        - ``median_days``, ``p90_days``, ``mean_days``: over completed stays only;
        - ``km_median_days``, ``km_p90_days``: Kaplan-Meier estimates that also use the
          open stays as censored observations ("at least this long so far"). They are
          the less biased figures for recent cohorts: completed-only figures miss the
          deals that are stuck. NaN when more than half (a tenth) of the stays are
          still open beyond every completed one.
    overall
        The same columns without grouping (equal to ``table`` when ``by`` is ``None``).
    as_of
        The cut-off at which open stays are censored.
    """

    table: pd.DataFrame
    overall: pd.DataFrame
    by: list[str]
    as_of: pd.Timestamp
    stage_order: list[str]
    period_text: str = "all"

    def summary(self) -> pd.DataFrame:
        """Median and p90 days per stage (rows) for the whole cohort."""
        cols = ["stays", "open", "median_days", "p90_days", "km_median_days", "km_p90_days"]
        return self.overall.set_index("stage")[cols]

    def findings(self) -> list[Finding]:
        """Finding: the stage where deals wait longest (Kaplan-Meier median)."""
        o = self.overall
        med = o["km_median_days"].fillna(o["median_days"])
        if not med.notna().any():
            return []
        i = int(med.to_numpy().argmax()) if med.notna().all() else int(med.fillna(-1).argmax())
        r = o.iloc[i]
        st = str(r["stage"])
        p90 = r["km_p90_days"] if pd.notna(r["km_p90_days"]) else r["p90_days"]
        p90_en = f", p90 {p90:.0f} days" if pd.notna(p90) else ""
        p90_zh = f"，90分位 {p90:.0f} 天" if pd.notna(p90) else ""
        return [
            Finding(
                en=(
                    f"Deals wait longest in {label(st)}: median {med.iloc[i]:.0f} days{p90_en}; "
                    + (
                        f"{int(r['open']):,} deal is in it now."
                        if int(r["open"]) == 1
                        else f"{int(r['open']):,} deals are in it now."
                    )
                ),
                zh=(
                    f"商机在{label(st, 'zh')}阶段停留最久：中位数 {med.iloc[i]:.0f} 天{p90_zh}；"
                    f"目前有 {int(r['open']):,} 个商机处于该阶段。"
                ),
                weight=200.0,
                kind="slow_stage",
            )
        ]

    def key_findings(self, lang: str = "en", n: int = 3) -> list[str]:
        """The ``n`` most important findings of this result as sentences in ``lang``."""
        from salesml.pipeline.findings import key_findings

        return key_findings(self, lang=lang, n=n)

    def _repr_html_(self) -> str:
        head = (
            f"<b>Stage durations</b> (days) · period {html.escape(self.period_text)} · "
            f"open stays censored at {self.as_of:%Y-%m-%d %H:%M}"
        )
        body = self.summary().to_html(float_format=lambda x: f"{x:.1f}", na_rep="")
        return f"<div>{head}{body}</div>"


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
    keys = sel.keys if grouped else pd.DataFrame(index=[0])
    if len(keys.columns):
        out = keys.loc[keys.index.repeat(n_stages)].reset_index(drop=True)
    else:
        out = pd.DataFrame(index=range(n_cells))
    out["stage"] = pd.array(np.tile(np.asarray(order, dtype=object), n_groups), dtype="str")
    out["step"] = np.tile(np.arange(n_stages), n_groups)
    out["stays"] = n_stays
    out["completed"] = n_done
    out["open"] = n_stays - n_done
    out["median_days"] = plain[:, 0]
    out["p90_days"] = plain[:, 1]
    out["mean_days"] = mean
    out["km_median_days"] = km[:, 0]
    out["km_p90_days"] = km[:, 1]
    return out


def _data_end(idx: DealIndex, stays: Stays) -> pd.Timestamp:
    """The latest deal event (creation, stage entry or close): the export's "now"."""
    latest = max(
        int(idx.created.max(initial=_NAT)),
        int(idx.closed.max(initial=_NAT)),
        int(stays.entered.max(initial=_NAT)),
    )
    return pd.Timestamp(latest) if latest != _NAT else pd.Timestamp.now()


def stage_durations(
    data: SalesData,
    *,
    by: GroupBy = None,
    period: PeriodLike = None,
    filters: Filters = None,
    as_of: str | pd.Timestamp | None = None,
) -> DurationResult:
    """Median and p90 days deals spend in each stage, overall and per group.

    A stay in a stage runs from entering it (``stage_history.entered_at``) to entering
    the next stage, or to ``deals.closed_at`` when the deal closed in it (won deals
    close in the last stage when the contract is signed). A stay of a deal that is
    still open has not ended: it is *censored* at ``as_of``. Completed-only figures
    (``median_days``, ``p90_days``) leave such stays out and so understate how long
    deals really wait; the Kaplan-Meier figures (``km_median_days``, ``km_p90_days``)
    count them as "at least this long" and are the ones to quote for recent cohorts.

    Parameters
    ----------
    data
        The dataset; needs ``deals`` and ``stage_history``.
    by, period, filters
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
        When ``deals`` or ``stage_history`` is absent (stage durations need the dates
        deals entered each stage).
    """
    analysis = "stage durations"
    data.require("deals", "stage_history", analysis=analysis)
    dims = normalise_by(by)
    sel = select_deals(data, dims=dims, period=period, filters=filters, analysis=analysis)
    stays = deal_stays(data, sel.idx, analysis)
    cut_ts = _data_end(sel.idx, stays) if as_of is None else pd.Timestamp(as_of)
    cut = int(cut_ts.to_datetime64().astype("datetime64[ns]").view(np.int64))
    order = sel.idx.stage_order
    overall = _summarise(stays, sel, cut, order, grouped=False)
    table = _summarise(stays, sel, cut, order, grouped=True) if dims else overall
    return DurationResult(
        table=table,
        overall=overall,
        by=dims,
        as_of=cut_ts,
        stage_order=order,
        period_text=period_label(period),
    )
