"""The sales funnel: how many deals reach each stage and how many get past it."""

from __future__ import annotations

import html
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from salesml.data.bundle import SalesData
from salesml.i18n import label
from salesml.periods import PeriodLike, parse_period, period_label
from salesml.pipeline._common import Filters, GroupBy, normalise_by, select_deals
from salesml.pipeline.findings import Finding

__all__ = ["FunnelResult", "funnel", "funnel_counts"]

WON = "won"


def funnel_counts(
    reached: np.ndarray, is_open: np.ndarray, codes: np.ndarray, n_groups: int, n_stages: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per group and step: deals that reached the step, and open deals parked there.

    Parameters
    ----------
    reached
        Furthest step of each deal (``0..n_stages``; ``n_stages`` = won).
    is_open
        Whether each deal is still open.
    codes
        Group code of each deal (``0..n_groups-1``).

    Returns
    -------
    reached_counts, open_counts
        Arrays of shape ``(n_groups, n_stages + 1)``.
    """
    width = n_stages + 1
    flat = codes * width + reached
    at = np.bincount(flat, minlength=n_groups * width).reshape(n_groups, width)
    open_at = np.bincount(flat[is_open], minlength=n_groups * width).reshape(n_groups, width)
    # a deal that reached step k reached every earlier step
    reached_counts = np.cumsum(at[:, ::-1], axis=1)[:, ::-1]
    return reached_counts, open_at


@dataclass
class FunnelResult:
    """Stage-by-stage funnel of a deal cohort.

    Attributes
    ----------
    table
        One row per group and step (``stage_order`` then ``"won"``); columns:

        - the ``by`` dimensions (none for the whole organisation);
        - ``stage``: stage name, or ``"won"`` for the final step;
        - ``step``: 0-based position of the stage (``len(stage_order)`` for won);
        - ``reached``: deals that entered the stage (non-increasing along the steps);
        - ``open_here``: deals still open whose furthest stage is this one;
        - ``lost_here``: deals lost at this stage;
        - ``decided``: ``reached - open_here``, deals whose fate at this stage is known;
        - ``advanced``: deals that got past the stage (= ``reached`` of the next step);
        - ``conversion``: ``advanced / decided``, the stage-to-next conversion among
          decided deals (NaN for ``won`` or when nothing is decided);
        - ``cum_conversion``: product of the conversions up to and including this stage,
          the estimated share of new deals that get past it (the ``contract`` row is the
          win rate);
        - ``share_of_first``: ``reached`` over the first stage's ``reached`` (the naive
          cumulative rate, pulled down by deals still open in recent cohorts).
    by
        The grouping dimensions.
    period
        ``(start, end)`` of the cohort (deals created in ``[start, end)``), or ``None``.
    filters
        The filters applied.
    stage_order
        The stages, first to last.
    source
        ``"stage_history"`` or ``"deals.stage"`` (fallback when the dataset has no
        stage history: each deal counts as having reached its current stage and every
        earlier one).
    n_deals
        Deals in the cohort.
    """

    table: pd.DataFrame
    by: list[str]
    period: tuple[pd.Timestamp, pd.Timestamp] | None
    filters: dict[str, object]
    stage_order: list[str]
    source: str
    n_deals: int
    period_text: str = field(default="all")

    def summary(self) -> pd.DataFrame:
        """One row per group: deals, win rate and the conversion of every stage.

        Columns: ``deals``, ``won``, ``open``, ``win_rate`` (the ``cum_conversion`` of the
        last stage) and one ``conversion`` column per stage (named after the stage).
        """
        t = self.table
        n = len(self.stage_order)
        width = n + 1
        groups = len(t) // width
        reached = t["reached"].to_numpy().reshape(groups, width)
        conv = t["conversion"].to_numpy().reshape(groups, width)
        cum = t["cum_conversion"].to_numpy().reshape(groups, width)
        open_ = t["open_here"].to_numpy().reshape(groups, width).sum(axis=1)
        if self.by:
            first = t.iloc[::width][self.by]
            index = (
                pd.Index(first[self.by[0]].to_numpy(), name=self.by[0])
                if len(self.by) == 1
                else pd.MultiIndex.from_frame(first)
            )
        else:
            index = pd.Index(["all"])
        out = pd.DataFrame(
            {
                "deals": reached[:, 0],
                "won": reached[:, n],
                "open": open_,
                "win_rate": cum[:, n - 1],
            },
            index=index,
        )
        for j, st in enumerate(self.stage_order):
            out[st] = conv[:, j]
        return out

    def overall(self) -> pd.DataFrame:
        """The funnel of the whole cohort (groups summed) in the ``table`` layout."""
        if not self.by:
            return self.table
        g = self.table.groupby("step", sort=True)[["reached", "open_here", "lost_here"]].sum()
        g = g.reindex(range(len(self.stage_order) + 1), fill_value=0)
        return _table_from_counts(
            pd.DataFrame(index=range(1)),
            g["reached"].to_numpy()[None, :],
            g["open_here"].to_numpy()[None, :],
            g["lost_here"].to_numpy()[None, :],
            [*self.stage_order, WON],
        )

    def findings(self) -> list[Finding]:
        """Findings: the stage that loses the most decided deals, and the win rate."""
        t = self.overall()
        stages = t[t["stage"] != WON]
        out: list[Finding] = []
        if not len(stages) or stages["decided"].sum() == 0:
            return out
        lost = stages["decided"] - stages["advanced"]
        i = int(lost.to_numpy().argmax())
        row = stages.iloc[i]
        if row["decided"] > 0:
            st = str(row["stage"])
            out.append(
                Finding(
                    en=(
                        f"The biggest leak is at {label(st)}: {int(lost.iloc[i]):,} of "
                        f"{int(row['decided']):,} decided deals did not get past it "
                        f"(conversion {row['conversion']:.0%})."
                    ),
                    zh=(
                        f"最大的流失环节是{label(st, 'zh')}：已有结果的 {int(row['decided']):,} 个商机中"
                        f" {int(lost.iloc[i]):,} 个未能通过（转化率 {row['conversion']:.0%}）。"
                    ),
                    weight=300.0,
                    kind="leak",
                )
            )
        win = stages.iloc[-1]["cum_conversion"]
        if pd.notna(win):
            out.append(
                Finding(
                    en=(
                        f"{self.n_deals:,} deals in the cohort; an estimated {win:.0%} of new "
                        f"deals are won once every stage is decided."
                    ),
                    zh=f"本期共 {self.n_deals:,} 个商机；按已有结果估算，新商机最终赢单率约 {win:.0%}。",
                    weight=100.0,
                    kind="win_rate",
                )
            )
        return out

    def key_findings(self, lang: str = "en", n: int = 3) -> list[str]:
        """The ``n`` most important findings of this result as sentences in ``lang``."""
        from salesml.pipeline.findings import key_findings

        return key_findings(self, lang=lang, n=n)

    def _repr_html_(self) -> str:
        head = (
            f"<b>Funnel</b> · {self.n_deals:,} deals · period {html.escape(self.period_text)}"
            f" · source {html.escape(self.source)}"
        )
        if self.by:
            head += f" · by {html.escape(', '.join(self.by))}"
        if self.filters:
            head += f" · filters {html.escape(str(self.filters))}"
        body = self.summary().to_html(float_format=lambda x: f"{x:.3f}", na_rep="")
        return f"<div>{head}{body}</div>"


def _table_from_counts(
    keys: pd.DataFrame,
    reached: np.ndarray,
    open_at: np.ndarray,
    lost_at: np.ndarray,
    steps: list[str],
) -> pd.DataFrame:
    """The long funnel table from ``(n_groups, n_steps)`` count matrices."""
    n_groups, width = reached.shape
    advanced = np.zeros_like(reached)
    advanced[:, :-1] = reached[:, 1:]
    decided = reached - open_at
    with np.errstate(divide="ignore", invalid="ignore"):
        conv = np.where(decided > 0, advanced / np.maximum(decided, 1), np.nan)
        share = np.where(reached[:, :1] > 0, reached / np.maximum(reached[:, :1], 1), np.nan)
    conv[:, -1] = np.nan
    # an undecided stage makes the product unknown, unless an earlier stage already
    # converted nobody (then nobody gets further either)
    undecided = np.cumsum(np.isnan(conv), axis=1) > 0
    cum = np.cumprod(np.where(np.isnan(conv), 1.0, conv), axis=1)
    cum = np.where(undecided & (cum > 0), np.nan, cum)
    cum[:, -1] = np.nan
    out = (
        keys.loc[keys.index.repeat(width)].reset_index(drop=True)
        if len(keys.columns)
        else (pd.DataFrame(index=range(n_groups * width)))
    )
    out["stage"] = np.tile(np.asarray(steps, dtype=object), n_groups)
    out["stage"] = out["stage"].astype("str")
    out["step"] = np.tile(np.arange(width), n_groups)
    out["reached"] = reached.ravel()
    out["open_here"] = open_at.ravel()
    out["lost_here"] = lost_at.ravel()
    out["decided"] = decided.ravel()
    out["advanced"] = advanced.ravel()
    out["conversion"] = conv.ravel()
    out["cum_conversion"] = cum.ravel()
    out["share_of_first"] = share.ravel()
    return out


def funnel(
    data: SalesData,
    *,
    by: GroupBy = None,
    period: PeriodLike = None,
    filters: Filters = None,
) -> FunnelResult:
    """Stage-by-stage funnel of the deals created in ``period``, optionally per group.

    A deal *reached* stage k if it ever entered it (from ``stage_history``; entering
    stage k implies having passed every earlier stage, so the furthest stage counts)
    and reached the final ``won`` step if its outcome is won. Without a
    ``stage_history`` table the deal's current ``deals.stage`` is taken as its furthest
    stage (exact when deals only move forward, as in most CRMs).

    The conversion of stage k counts only deals whose fate at stage k is decided:
    deals still open with k as their furthest stage are left out of the denominator,
    since they may yet advance. Counting them as failures would make every recent
    cohort look worse than it is.

    Parameters
    ----------
    data
        The dataset; needs ``deals`` (and ``customers`` / ``reps`` to group or filter
        by their columns); uses ``stage_history`` when present.
    by
        Dimension(s) to split by: any deals column (``rep_id``, ``product_line``, ...),
        or ``region``, ``segment``, ``channel`` (the customer's source channel),
        ``store_id`` (from customers), ``team``, ``rep_region``, ``manager_id`` (from reps).
    period
        Cohort period, applied to ``deals.created_at``: ``2026-01`` (month),
        ``2026-W05`` (ISO week), ``2026-Q1``, ``2026``, a range
        ``2026-01-01..2026-03-31`` or a ``(start, end)`` pair; see
        :func:`salesml.pipeline.parse_period`.
    filters
        ``{column: value or list of values}`` on the same columns and dimensions as
        ``by`` (for example ``{"region": "华东"}``); compared for equality, never evaluated.

    Returns
    -------
    FunnelResult
        ``.table`` holds one row per group and step; see :class:`FunnelResult` for
        the columns. ``.summary()`` gives one row per group.

    Raises
    ------
    MissingTableError
        When ``deals`` (or a table a dimension comes from) is absent.
    ValueError
        On an unknown dimension or filter column, a bad period, or a stage missing
        from the stage order (naming the table, column and row).
    """
    dims = normalise_by(by)
    sel = select_deals(data, dims=dims, period=period, filters=filters, analysis="the funnel")
    order = sel.idx.stage_order
    reached = sel.idx.reached[sel.rows]
    outcome = sel.idx.outcome[sel.rows]
    codes, keys = sel.codes, sel.keys
    n_groups = sel.n_groups if (len(sel.rows) or not dims) else 0
    if dims and not len(sel.rows):
        keys = keys.iloc[:0]
    width = len(order) + 1
    reached_counts, open_at = funnel_counts(reached, outcome == 0, codes, n_groups, len(order))
    lost_at = np.bincount(
        (codes * width + reached)[outcome == 2], minlength=n_groups * width
    ).reshape(n_groups, width)
    table = _table_from_counts(keys, reached_counts, open_at, lost_at, [*order, WON])
    return FunnelResult(
        table=table,
        by=dims,
        period=parse_period(period),
        filters=dict(filters or {}),
        stage_order=order,
        source=sel.idx.source,
        n_deals=len(sel.rows),
        period_text=period_label(period),
    )
