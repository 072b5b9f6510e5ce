"""Lead leakage: leads lost with and without a reason, and how fast leads get a response."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import pandas as pd

from salesml.data.bundle import SalesData
from salesml.data.checks import require_columns
from salesml.filters import FilterLike, FilterSpec
from salesml.periods import PeriodLike, as_period
from salesml.pipeline.findings import Finding, PipelineResult, Term, part, plural
from salesml.pipeline.index import (
    MISSING,
    NAT,
    cut_as_of,
    datetimes_ns,
    linear_quantiles,
    to_ns,
)

__all__ = ["UNEXPLAINED", "LeakageResult", "lead_leakage"]

#: Label of lost leads without a recorded reason in the ``reasons`` table.
UNEXPLAINED = "(unexplained)"
_HOUR = np.timedelta64(1, "h").astype("timedelta64[ns]").astype(np.int64)


def _response_stats(hours: np.ndarray) -> dict[str, float]:
    """Mean, median and p90 (linear interpolation, as numpy's default) of response hours."""
    if not len(hours):
        return {"response_mean_h": np.nan, "response_median_h": np.nan, "response_p90_h": np.nan}
    return {
        "response_mean_h": float(np.mean(hours)),
        "response_median_h": float(np.median(hours)),
        "response_p90_h": float(np.percentile(hours, 90)),
    }


@dataclass(kw_only=True)
class LeakageResult(PipelineResult):
    """Where leads leak out of the top of the funnel.

    Attributes
    ----------
    table
        The ``overview`` columns per lead ``channel`` (one row each, most leads first).
    overview
        One-row frame for the whole selection: ``leads``, ``open``, ``converted``,
        ``lost``, ``lost_with_reason``, ``lost_unexplained``, ``unexplained_share``
        (lost without a recorded reason / lost), ``conversion_rate`` (converted /
        (converted + lost), leads still open left out), ``responded``, ``no_response``,
        ``response_mean_h``, ``response_median_h``, ``response_p90_h`` (hours from lead
        creation to first response, over leads that got one).
    reasons
        Lost-lead reasons ranked by count: ``reason``, ``lost``, ``share_of_lost``,
        ``recorded`` (``False`` for the ``"(unexplained)"`` row of leads lost without a reason).
    """

    title_key: ClassVar[str] = "pipeline.title.leakage"

    overview: pd.DataFrame = field(default_factory=pd.DataFrame)
    reasons: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def by_channel(self) -> pd.DataFrame:
        """Alias of ``table``: the overview per lead channel."""
        return self.table

    @property
    def unexplained_share(self) -> float:
        """Share of lost leads with no recorded reason."""
        return float(self.overview["unexplained_share"].iloc[0])

    def summary(self) -> pd.DataFrame:
        """The overview as a one-column frame (metric -> value)."""
        return self.overview.T.rename(columns={0: "value"})

    def findings(self) -> list[Finding]:
        """Findings: the unexplained share of lost leads, and response time."""
        o = self.overview.iloc[0]
        out: list[Finding] = []
        if o["lost"] > 0:
            parts = [
                part(
                    "pipeline.finding.lead_loss",
                    lost=int(o["lost"]),
                    share=float(o["unexplained_share"]),
                    unexplained=int(o["lost_unexplained"]),
                )
            ]
            worst = self.table[self.table["lost"] >= 20].sort_values(
                "unexplained_share", ascending=False, kind="stable"
            )
            if len(worst) > 1:
                w = worst.iloc[0]
                parts.append(
                    part(
                        "pipeline.finding.lead_loss_channel",
                        channel=Term.of(w["channel"]),
                        share=float(w["unexplained_share"]),
                    )
                )
            top = self.reasons[self.reasons["recorded"]]
            if len(top):
                r = top.iloc[0]
                parts.append(
                    part(
                        "pipeline.finding.lead_loss_reason",
                        reason=Term.of(r["reason"]),
                        share=float(r["share_of_lost"]),
                    )
                )
            parts.append(part("pipeline.finding.end"))
            out.append(
                Finding(
                    tuple(parts),
                    weight=400.0 + 200.0 * float(o["unexplained_share"]),
                    kind="lead_loss",
                )
            )
        if o["responded"] > 0:
            out.append(
                Finding(
                    (
                        part(
                            plural("pipeline.finding.response", int(o["no_response"])),
                            median=float(o["response_median_h"]),
                            p90=float(o["response_p90_h"]),
                            none=int(o["no_response"]),
                        ),
                    ),
                    weight=150.0,
                    kind="response",
                )
            )
        return out


_OVERVIEW_COLUMNS = [
    "leads",
    "open",
    "converted",
    "lost",
    "lost_with_reason",
    "lost_unexplained",
    "unexplained_share",
    "conversion_rate",
    "responded",
    "no_response",
    "response_mean_h",
    "response_median_h",
    "response_p90_h",
]


def _counts_frame(
    group: np.ndarray, n_groups: int, status: np.ndarray, blank: np.ndarray, responded: np.ndarray
) -> dict[str, np.ndarray]:
    """Lead counts per group (``status``: 0 open, 1 converted, 2 lost, 3 other)."""

    # one pass: counts per (group, status, blank reason, responded)
    key = ((group * 4 + status) * 2 + blank) * 2 + responded
    c = np.bincount(key, minlength=n_groups * 16).reshape(n_groups, 4, 2, 2)
    leads = c.sum(axis=(1, 2, 3))
    lost = c[:, 2].sum(axis=(1, 2))
    conv = c[:, 1].sum(axis=(1, 2))
    unexp = c[:, 2, 1].sum(axis=1)
    resp = c[:, :, :, 1].sum(axis=(1, 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(lost > 0, unexp / np.maximum(lost, 1), np.nan)
        rate = np.where(conv + lost > 0, conv / np.maximum(conv + lost, 1), np.nan)
    return {
        "leads": leads,
        "open": c[:, 0].sum(axis=(1, 2)),
        "converted": conv,
        "lost": lost,
        "lost_with_reason": lost - unexp,
        "lost_unexplained": unexp,
        "unexplained_share": share,
        "conversion_rate": rate,
        "responded": resp,
        "no_response": leads - resp,
    }


def lead_leakage(
    data: SalesData,
    *,
    period: PeriodLike = None,
    as_of: str | pd.Timestamp | None = None,
    filters: FilterLike = None,
) -> LeakageResult:
    """Leads lost with and without a recorded reason, and time to first response.

    A lost lead (``status == "lost"``) is *unexplained* when ``lost_reason`` is missing
    or blank. Response time is ``first_response_at - created_at`` in hours, over the
    leads that got a response (mean, median, and p90 with linear interpolation);
    leads never responded to are counted in ``no_response``.

    Parameters
    ----------
    data
        The dataset; needs ``leads``.
    period
        Applied to ``leads.created_at`` (a lead cohort): a
        :class:`~salesml.periods.Period` or its text.
    as_of
        Take the leads as known at this instant (:meth:`SalesData.as_of`: later leads,
        conversions, losses and responses hidden); ``None``: everything known.
    filters
        A :class:`~salesml.filters.FilterSpec` or what it parses, on the leads' own
        columns (``channel``, ``campaign_id``, ``status``, and any extra column the
        leads carry; a ``where`` expression too). Leads have no region or segment
        until they convert, so customer dimensions are refused rather than silently
        dropping every unconverted lead.

    Returns
    -------
    LeakageResult
        ``.overview`` (one row), ``.reasons`` (ranked), ``.table`` (per channel).

    Raises
    ------
    MissingTableError
        When the dataset has no ``leads`` table.
    """
    analysis = "lead leakage"
    data.require("leads", analysis=analysis)
    p = as_period(period)
    spec = FilterSpec.parse(filters)
    view, cut = cut_as_of(data, as_of, ("leads",))
    leads = view.leads
    require_columns(
        leads,
        "leads",
        ["lead_id", "channel", "created_at", "status", "first_response_at"],
        analysis,
    )
    missing = [k for k in spec.names if k not in leads.columns]
    if missing:
        raise ValueError(
            f"{analysis} cannot filter on {', '.join(map(repr, missing))}: the leads table "
            f"has no such column (leads carry no region or segment before they convert); "
            f"filter on one of: {', '.join(map(str, leads.columns))}"
        )
    created_all = datetimes_ns(leads["created_at"], "leads", "created_at", analysis)
    keep = np.ones(len(leads), dtype=bool)
    if p is not None:
        keep &= (created_all >= to_ns(p.start)) & (created_all < to_ns(p.end))
    if spec:
        keep &= spec.mask(leads, table="leads")
    sel = leads if keep.all() else leads.loc[keep]
    sc, su = pd.factorize(sel["status"])
    spos = pd.Index(["open", "converted", "lost"]).get_indexer(pd.Index(su))
    spos = np.where(spos < 0, 3, spos)
    status = np.where(sc >= 0, spos[np.maximum(sc, 0)], 3)
    if "lost_reason" in sel.columns:
        reason = sel["lost_reason"].astype("str")
        blank = reason.isna().to_numpy() | (reason.str.strip() == "").fillna(True).to_numpy(
            dtype=bool
        )
    else:
        reason = pd.Series(pd.NA, index=sel.index, dtype="str")
        blank = np.ones(len(sel), dtype=bool)
    created = datetimes_ns(sel["created_at"], "leads", "created_at", analysis)
    first = datetimes_ns(sel["first_response_at"], "leads", "first_response_at", analysis)
    responded = first != NAT
    hours = (first - created) / _HOUR
    rh = hours[responded]

    zero = np.zeros(len(sel), dtype=np.int64)
    over = _counts_frame(zero, 1, status, blank, responded)
    overview = pd.DataFrame({k: v for k, v in over.items()})
    for k, v in _response_stats(rh).items():
        overview[k] = v

    lost = status == 2
    counts = reason[lost & ~blank].str.strip().value_counts()
    n_lost = int(lost.sum())
    reasons = pd.DataFrame(
        {"reason": counts.index.astype("str"), "lost": counts.to_numpy(), "recorded": True}
    )
    n_unexp = int((lost & blank).sum())
    if n_unexp:
        extra = pd.DataFrame({"reason": [UNEXPLAINED], "lost": [n_unexp], "recorded": [False]})
        reasons = pd.concat([reasons, extra], ignore_index=True)
    reasons = reasons.sort_values("lost", ascending=False, kind="stable").reset_index(drop=True)
    reasons.insert(2, "share_of_lost", reasons["lost"] / n_lost if n_lost else np.nan)

    codes, uniq = pd.factorize(sel["channel"], sort=True)
    uniq = pd.Index(uniq).astype(object)
    if (codes < 0).any():
        uniq = pd.Index([*uniq, MISSING], dtype=object)
        codes = np.where(codes < 0, len(uniq) - 1, codes)
    n_ch = len(uniq)
    per = _counts_frame(codes, n_ch, status, blank, responded)
    table = pd.DataFrame({"channel": pd.array(np.asarray(uniq, dtype=object), dtype="str"), **per})
    rc = codes[responded]
    with np.errstate(divide="ignore", invalid="ignore"):
        table["response_mean_h"] = np.bincount(rc, weights=rh, minlength=n_ch) / per["responded"]
    qs = linear_quantiles(rc, rh, (0.5, 0.9), n_ch)
    table["response_median_h"] = qs[:, 0]
    table["response_p90_h"] = qs[:, 1]
    table = table[["channel", *_OVERVIEW_COLUMNS]]
    table = table.sort_values("leads", ascending=False, kind="stable").reset_index(drop=True)
    return LeakageResult(
        table=table, period=p, as_of=cut, filters=spec, overview=overview, reasons=reasons
    )
