"""The sales funnel: how many deals reach each stage and how many get past it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import pandas as pd

from salesml.data.bundle import SalesData
from salesml.filters import FilterLike, FilterSpec
from salesml.i18n import money
from salesml.periods import PeriodLike, as_period
from salesml.pipeline.findings import Finding, PipelineResult, Term, note, part, plural
from salesml.pipeline.index import (
    GroupBy,
    cut_as_of,
    normalise_by,
    region_source,
    select_deals,
)
from salesml.results import Note

__all__ = ["WON", "FunnelResult", "funnel", "funnel_counts", "scope_notes"]

#: Name of the final step of the funnel (deals won).
WON = "won"


def scope_notes(data: SalesData, names: list[str]) -> list[Note]:
    """The note that ``region`` means the owner's region, when ``names`` use it so."""
    if "region" in names and region_source(data) == "rep":
        return [note("pipeline.note.region_rep")]
    return []


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


@dataclass(kw_only=True)
class FunnelResult(PipelineResult):
    """Stage-by-stage funnel of a deal cohort.

    Attributes
    ----------
    table
        One row per group and step (``stage_order`` then ``"won"``); columns:

        - the ``by`` dimensions (none for the whole organisation), named as given;
        - ``stage``: stage name, or ``"won"`` for the final step;
        - ``step``: 0-based position of the stage (``len(stage_order)`` for won);
        - ``reached``: deals that entered the stage (non-increasing along the steps);
        - ``open_here``: deals still open whose furthest stage is this one;
        - ``lost_here``: deals lost at this stage;
        - ``decided``: ``reached - open_here``, deals whose fate at this stage is known;
        - ``advanced``: deals that got past the stage (= ``reached`` of the next step);
        - ``conversion``: ``advanced / decided``, the stage-to-next conversion among
          decided deals (NaN for ``won``, when nothing is decided, or when the stage's
          conversion is not ``measurable``);
        - ``measurable``: whether the data can measure the stage's conversion. Without
          stage history every deal counts as having entered the first stage; when, in
          addition, no deal of the dataset is recorded as closed there, nobody can be
          seen dropping out of it and its 100% is an artefact: ``False`` (and
          :attr:`notes` explains). ``False`` for ``won`` (no conversion);
        - ``cum_conversion``: product of the measurable conversions up to and
          including this stage, the estimated share of new deals (of deals past the
          first stage, when that one is not measurable) that get past it (the last
          stage's row is the win rate);
        - ``share_of_first``: ``reached`` over the first stage's ``reached`` (the naive
          cumulative rate, pulled down by deals still open in recent cohorts);
        - ``open_amount``: total ``amount`` of the open deals parked here (the open
          pipeline; deals without an amount left out);
        - ``open_no_amount``: open deals parked here without an amount.
    by
        The grouping dimensions.
    stage_order
        The stages, first to last.
    source
        ``"stage_history"`` or ``"deals.stage"`` (fallback when the dataset has no
        stage history: each deal counts as having reached its current stage and every
        earlier one).
    n_deals
        Deals in the cohort.
    currency
        The dataset's currency (``dataset.yaml``), for ``open_amount``.
    first_measurable
        Whether the first stage's conversion is measurable (see ``measurable``).
    """

    title_key: ClassVar[str] = "pipeline.title.funnel"

    by: list[str] = field(default_factory=list)
    stage_order: list[str] = field(default_factory=list)
    source: str = "stage_history"
    n_deals: int = 0
    currency: str = "CNY"
    first_measurable: bool = True

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
        cols = ["reached", "open_here", "lost_here", "open_amount", "open_no_amount"]
        g = self.table.groupby("step", sort=True)[cols].sum(min_count=0)
        g = g.reindex(range(len(self.stage_order) + 1), fill_value=0)
        return _table_from_counts(
            pd.DataFrame(index=range(1)),
            *(g[c].to_numpy()[None, :] for c in cols),
            steps=[*self.stage_order, WON],
            first_measurable=self.first_measurable,
        )

    @property
    def open_without_amount(self) -> int:
        """Open deals of the cohort without an amount (left out of ``open_amount``)."""
        return int(self.table["open_no_amount"].sum())

    def findings(self) -> list[Finding]:
        """Findings: the stage that loses the most decided deals, the win rate, the pipeline."""
        t = self.overall()
        stages = t[t["stage"] != WON]
        out: list[Finding] = []
        if not len(stages) or stages["decided"].sum() == 0:
            return out + self._pipeline_findings(t)
        measured = stages[stages["measurable"]]
        lost = measured["decided"] - measured["advanced"]
        if len(measured) and (measured["decided"] > 0).any():
            i = int(lost.to_numpy().argmax())
            row = measured.iloc[i]
            if row["decided"] > 0:
                out.append(
                    Finding(
                        (
                            part(
                                "pipeline.finding.leak",
                                stage=Term.of(row["stage"]),
                                lost=int(lost.iloc[i]),
                                decided=int(row["decided"]),
                                conversion=float(row["conversion"]),
                            ),
                        ),
                        weight=300.0,
                        kind="leak",
                    )
                )
        win = stages.iloc[-1]["cum_conversion"]
        if pd.notna(win):
            key = (
                "pipeline.finding.win_rate"
                if self.first_measurable
                else "pipeline.finding.win_rate_past_first"
            )
            out.append(
                Finding(
                    (
                        part(
                            key,
                            n=self.n_deals,
                            win=float(win),
                            stage=Term.of(self.stage_order[0]),
                        ),
                    ),
                    weight=100.0,
                    kind="win_rate",
                )
            )
        return out + self._pipeline_findings(t)

    def _pipeline_findings(self, t: pd.DataFrame) -> list[Finding]:
        n_open = int(t["open_here"].sum())
        missing = int(t["open_no_amount"].sum())
        if n_open == 0 or missing == n_open:
            return []
        amount = money(float(t["open_amount"].sum()), self.currency)
        n = n_open - missing
        parts = [part(plural("pipeline.finding.pipeline_value", n), amount=amount, n=n)]
        if missing:
            key = plural("pipeline.finding.pipeline_value_missing", missing)
            parts.append(part(key, missing=missing))
        parts.append(part("pipeline.finding.end"))
        return [Finding(tuple(parts), weight=80.0, kind="pipeline_value")]


def _table_from_counts(
    keys: pd.DataFrame,
    reached: np.ndarray,
    open_at: np.ndarray,
    lost_at: np.ndarray,
    open_amount: np.ndarray,
    open_no_amount: np.ndarray,
    *,
    steps: list[str],
    first_measurable: bool,
) -> pd.DataFrame:
    """The long funnel table from ``(n_groups, n_steps)`` count matrices."""
    n_groups, width = reached.shape
    advanced = np.zeros_like(reached)
    advanced[:, :-1] = reached[:, 1:]
    decided = reached - open_at
    measurable = np.ones(width, dtype=bool)
    measurable[-1] = False
    if not first_measurable:
        measurable[0] = False
    with np.errstate(divide="ignore", invalid="ignore"):
        conv = np.where(decided > 0, advanced / np.maximum(decided, 1), np.nan)
        share = np.where(reached[:, :1] > 0, reached / np.maximum(reached[:, :1], 1), np.nan)
    conv[:, -1] = np.nan
    factor = np.where(measurable[None, :], conv, 1.0)
    conv = np.where(measurable[None, :], conv, np.nan)
    # an undecided stage makes the product unknown, unless an earlier stage already
    # converted nobody (then nobody gets further either); an unmeasurable first stage
    # counts as passed (the rates are then of deals past it)
    undecided = np.cumsum(np.isnan(factor), axis=1) > 0
    cum = np.cumprod(np.where(np.isnan(factor), 1.0, factor), axis=1)
    cum = np.where(undecided & (cum > 0), np.nan, cum)
    cum[:, -1] = np.nan
    columns = {
        "stage": pd.array(np.tile(np.asarray(steps, dtype=object), n_groups), dtype="str"),
        "step": np.tile(np.arange(width), n_groups),
        "reached": reached.ravel(),
        "open_here": open_at.ravel(),
        "lost_here": lost_at.ravel(),
        "decided": decided.ravel(),
        "advanced": advanced.ravel(),
        "conversion": conv.ravel(),
        "measurable": np.tile(measurable, n_groups),
        "cum_conversion": cum.ravel(),
        "share_of_first": share.ravel(),
        "open_amount": np.asarray(open_amount, dtype=np.float64).ravel(),
        "open_no_amount": np.asarray(open_no_amount, dtype=np.int64).ravel(),
    }
    if len(keys.columns):
        rep = keys.loc[keys.index.repeat(width)].reset_index(drop=True)
        out = pd.concat([rep, pd.DataFrame(columns, index=rep.index)], axis=1)
    else:
        out = pd.DataFrame(columns, index=pd.RangeIndex(n_groups * width))
    return out


def funnel(
    data: SalesData,
    *,
    period: PeriodLike = None,
    as_of: str | pd.Timestamp | None = None,
    filters: FilterLike = None,
    by: GroupBy = None,
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
    period
        Cohort period, applied to ``deals.created_at``: a
        :class:`~salesml.periods.Period` or its text (``2026-01``, ``2026-W05``,
        ``2026-Q1``, ``2026``, ``2026-01-01..2026-03-31``), or ``None`` for every deal.
    as_of
        Take the data as known at this instant (:meth:`SalesData.as_of`: later deals,
        stage changes and closes hidden); ``None``: everything known.
    filters
        A :class:`~salesml.filters.FilterSpec` or what it parses: ``{column: value or
        list}`` on deal columns and dimensions (``{"region": "华东"}``), with an
        optional ``"where"`` expression on deal columns; values are compared, never
        evaluated.
    by
        Dimension(s) to split by: any deals column (``rep_id``, ``product_line``, ...),
        or ``region`` (the customer's, or the owning rep's when ``dataset.yaml`` says
        ``region_source: rep``), ``customer_region``, ``rep_region``, ``segment``,
        ``channel`` (the customer's source channel), ``store_id``, ``team``,
        ``manager_id``.

    Returns
    -------
    FunnelResult
        ``.table`` holds one row per group and step; see :class:`FunnelResult` for
        the columns. ``.summary()`` gives one row per group; ``.notes`` says what
        could not be measured and what was left out.

    Raises
    ------
    MissingTableError
        When ``deals`` (or a table a dimension comes from) is absent.
    ValueError
        On an unknown dimension or filter column, a bad period, or a stage missing
        from the stage order (naming the table, column and row).
    """
    p = as_period(period)
    spec = FilterSpec.parse(filters)
    dims = normalise_by(by)
    view, cut = cut_as_of(data, as_of)
    sel = select_deals(view, dims=dims, period=p, filters=spec, analysis="the funnel")
    idx = sel.idx
    order = idx.stage_order
    reached = idx.reached[sel.rows]
    outcome = idx.outcome[sel.rows]
    amount = idx.amount[sel.rows]
    codes, keys = sel.codes, sel.keys
    n_groups = sel.n_groups if (len(sel.rows) or not dims) else 0
    if dims and not len(sel.rows):
        keys = keys.iloc[:0]
    width = len(order) + 1
    is_open = outcome == 0
    reached_counts, open_at = funnel_counts(reached, is_open, codes, n_groups, len(order))
    flat = codes * width + reached
    size = n_groups * width
    lost_at = np.bincount(flat[outcome == 2], minlength=size).reshape(n_groups, width)
    has_amount = is_open & ~np.isnan(amount)
    open_amount = np.bincount(flat[has_amount], weights=amount[has_amount], minlength=size)
    no_amount = np.bincount(flat[is_open & np.isnan(amount)], minlength=size)
    first_measurable = idx.source == "stage_history" or idx.first_stage_closes
    table = _table_from_counts(
        keys,
        reached_counts,
        open_at,
        lost_at,
        open_amount.reshape(n_groups, width),
        no_amount.reshape(n_groups, width),
        steps=[*order, WON],
        first_measurable=first_measurable,
    )
    notes = scope_notes(view, [*dims, *spec.names])
    if idx.source != "stage_history":
        notes.append(note("pipeline.note.no_stage_history"))
    if not first_measurable and len(order) > 1:
        notes.append(
            note(
                "pipeline.note.first_stage_unmeasurable",
                stage=Term.of(order[0]),
                next=Term.of(order[1]),
            )
        )
    missing = int(no_amount.sum())
    if missing:
        notes.append(note(plural("pipeline.note.amount_missing", missing), n=missing))
    return FunnelResult(
        table=table,
        period=p,
        as_of=cut,
        filters=spec,
        notes=notes,
        by=dims,
        stage_order=order,
        source=idx.source,
        n_deals=len(sel.rows),
        currency=str(getattr(data.config, "currency", "CNY") or "CNY"),
        first_measurable=first_measurable,
    )
