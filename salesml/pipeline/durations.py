"""Days deals spend in each stage, with open deals handled as censored stays."""

from __future__ import annotations

import html
from dataclasses import dataclass

import numpy as np
import pandas as pd

from salesml.data.bundle import SalesData
from salesml.pipeline._common import (
    Filters,
    GroupBy,
    deal_frame,
    group_codes,
    normalise_by,
    require_columns,
)
from salesml.pipeline._labels import label
from salesml.pipeline.findings import Finding
from salesml.pipeline.periods import PeriodLike, period_label

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
    # events before censorings at tied durations (the usual convention)
    order = np.lexsort((~event, duration, cell))
    c, d, e = cell[order], duration[order], event[order]
    size = np.bincount(c, minlength=n_cells)
    start = np.concatenate(([0], np.cumsum(size)[:-1]))
    rank = np.arange(len(c)) - start[c]
    at_risk = size[c] - rank
    with np.errstate(divide="ignore"):
        log_factor = np.log1p(-e.astype(float) / at_risk)
    logs = pd.Series(log_factor).groupby(c).cumsum().to_numpy()
    surv = np.exp(logs)
    for j, q in enumerate(qs):
        hit = surv <= 1.0 - q + 1e-12
        if not hit.any():
            continue
        idx = np.flatnonzero(hit)
        first = pd.Series(d[idx]).groupby(c[idx]).first()
        out[first.index.to_numpy(), j] = first.to_numpy()
    return out


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
                    f"{int(r['open']):,} deals are in it now."
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


def _stays(
    data: SalesData, deals: pd.DataFrame, as_of: pd.Timestamp, analysis: str
) -> pd.DataFrame:
    """One row per stage stay of the cohort's deals: deal row, stage index, days, ended."""
    order = data.stage_order
    pos = {s: i for i, s in enumerate(order)}
    hist = data.stage_history
    require_columns(hist, "stage_history", ["deal_id", "entered_at", "stage"], analysis)
    row = pd.Index(deals["deal_id"]).get_indexer(hist["deal_id"])
    keep = row >= 0
    stage = hist["stage"].map(pos).to_numpy(dtype=float)
    if np.isnan(stage[keep]).any():
        bad = int(np.flatnonzero(keep & np.isnan(stage))[0])
        raise ValueError(
            f"{analysis}: table 'stage_history', column 'stage', row {bad} has stage "
            f"{hist['stage'].iloc[bad]!r}, which is not in the stage order {order}"
        )
    entered = hist["entered_at"].to_numpy(dtype="datetime64[ns]").astype(np.int64)
    row, stage, entered = row[keep], stage[keep].astype(np.int64), entered[keep]
    o = np.lexsort((stage, entered, row))
    row, stage, entered = row[o], stage[o], entered[o]
    same_next = np.zeros(len(row), dtype=bool)
    same_next[:-1] = row[1:] == row[:-1]
    nxt = np.empty_like(entered)
    nxt[:-1] = entered[1:]
    closed = deals["closed_at"].to_numpy(dtype="datetime64[ns]").astype(np.int64)[row]
    closed_ok = ~np.isnat(deals["closed_at"].to_numpy(dtype="datetime64[ns]"))[row]
    cut = pd.Timestamp(as_of).to_datetime64().astype("datetime64[ns]").astype(np.int64)
    end = np.where(same_next, nxt, np.where(closed_ok, closed, cut))
    ended = same_next | closed_ok
    days = (end - entered) / _DAY
    return pd.DataFrame({"row": row, "step": stage, "days": days, "ended": ended})


def _summarise(
    stays: pd.DataFrame, codes: np.ndarray, keys: pd.DataFrame, order: list[str]
) -> pd.DataFrame:
    n_stages = len(order)
    n_groups = len(keys) if len(keys.columns) else 1
    cell = codes[stays["row"].to_numpy()] * n_stages + stays["step"].to_numpy()
    n_cells = n_groups * n_stages
    ended = stays["ended"].to_numpy()
    days = stays["days"].to_numpy()
    n_stays = np.bincount(cell, minlength=n_cells)
    n_done = np.bincount(cell[ended], minlength=n_cells)
    done = pd.Series(days[ended]).groupby(cell[ended])
    q = done.quantile([0.5, 0.9]).unstack() if n_done.any() else pd.DataFrame()
    med = np.full(n_cells, np.nan)
    p90 = np.full(n_cells, np.nan)
    mean = np.full(n_cells, np.nan)
    if len(q):
        med[q.index.to_numpy()] = q[0.5].to_numpy()
        p90[q.index.to_numpy()] = q[0.9].to_numpy()
        m = done.mean()
        mean[m.index.to_numpy()] = m.to_numpy()
    km = km_quantiles(cell, days, ended, (0.5, 0.9), n_cells)
    if len(keys.columns):
        out = keys.loc[keys.index.repeat(n_stages)].reset_index(drop=True)
    else:
        out = pd.DataFrame(index=range(n_cells))
    out["stage"] = pd.array(np.tile(np.asarray(order, dtype=object), n_groups), dtype="str")
    out["step"] = np.tile(np.arange(n_stages), n_groups)
    out["stays"] = n_stays
    out["completed"] = n_done
    out["open"] = n_stays - n_done
    out["median_days"] = med
    out["p90_days"] = p90
    out["mean_days"] = mean
    out["km_median_days"] = km[:, 0]
    out["km_p90_days"] = km[:, 1]
    return out


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
        Cut-off for open stays; default the latest timestamp in the dataset.

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
    frame = deal_frame(data, dims=dims, period=period, filters=filters, analysis=analysis)
    require_columns(frame, "deals", ["closed_at"], analysis)
    if as_of is None:
        tr = data.time_range
        cut = tr[1] if tr is not None else pd.Timestamp.now()
    else:
        cut = pd.Timestamp(as_of)
    order = data.stage_order
    stays = _stays(data, frame, cut, analysis)
    zero = np.zeros(len(frame), dtype=np.int64)
    overall = _summarise(stays, zero, pd.DataFrame(index=range(1)), order)
    if dims:
        codes, keys = group_codes(frame, dims)
        table = _summarise(stays, codes, keys, order) if len(frame) else overall.iloc[:0]
    else:
        table = overall
    return DurationResult(
        table=table,
        overall=overall,
        by=dims,
        as_of=cut,
        stage_order=order,
        period_text=period_label(period),
    )
