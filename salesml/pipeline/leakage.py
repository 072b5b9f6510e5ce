"""Lead leakage: leads lost with and without a reason, and how fast leads get a response."""

from __future__ import annotations

import html
from dataclasses import dataclass

import numpy as np
import pandas as pd

from salesml.data.bundle import SalesData
from salesml.pipeline._common import Filters, apply_filters, require_columns
from salesml.pipeline._labels import label
from salesml.pipeline.findings import Finding
from salesml.pipeline.periods import PeriodLike, mask_period, period_label

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


@dataclass
class LeakageResult:
    """Where leads leak out of the top of the funnel.

    Attributes
    ----------
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
    table
        The ``overview`` columns per lead ``channel`` (one row each, most leads first).
    """

    overview: pd.DataFrame
    reasons: pd.DataFrame
    table: pd.DataFrame
    period_text: str = "all"

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
            top = self.reasons[self.reasons["recorded"]]
            top_en = top_zh = ""
            if len(top):
                r = top.iloc[0]
                top_en = f"; the top recorded reason is {r['reason']} ({r['share_of_lost']:.0%})"
                top_zh = f"；有记录的首要原因是「{label(r['reason'], 'zh')}」（{r['share_of_lost']:.0%}）"
            worst = self.table[self.table["lost"] >= 20].sort_values(
                "unexplained_share", ascending=False
            )
            ch_en = ch_zh = ""
            if len(worst) > 1:
                w = worst.iloc[0]
                ch_en = f"; worst channel {w['channel']} ({w['unexplained_share']:.0%})"
                ch_zh = f"；最差渠道为{label(w['channel'], 'zh')}（{w['unexplained_share']:.0%}）"
            out.append(
                Finding(
                    en=(
                        f"{int(o['lost']):,} leads were lost and {o['unexplained_share']:.0%} of "
                        f"them ({int(o['lost_unexplained']):,}) have no recorded reason"
                        f"{ch_en}{top_en}."
                    ),
                    zh=(
                        f"共流失 {int(o['lost']):,} 条线索，其中 {o['unexplained_share']:.0%}"
                        f"（{int(o['lost_unexplained']):,} 条）没有记录原因{ch_zh}{top_zh}。"
                    ),
                    weight=400.0 + 200.0 * float(o["unexplained_share"]),
                    kind="lead_loss",
                )
            )
        if o["responded"] > 0:
            out.append(
                Finding(
                    en=(
                        f"Leads wait {o['response_median_h']:.1f} h (median) for a first response;"
                        f" one in ten waits more than {o['response_p90_h']:.1f} h"
                        f" and {int(o['no_response']):,} never got one."
                    ),
                    zh=(
                        f"线索首次响应时间中位数为 {o['response_median_h']:.1f} 小时；"
                        f"十分之一的线索等待超过 {o['response_p90_h']:.1f} 小时，"
                        f"{int(o['no_response']):,} 条从未得到响应。"
                    ),
                    weight=150.0,
                    kind="response",
                )
            )
        return out

    def key_findings(self, lang: str = "en", n: int = 3) -> list[str]:
        """The ``n`` most important findings of this result as sentences in ``lang``."""
        from salesml.pipeline.findings import key_findings

        return key_findings(self, lang=lang, n=n)

    def _repr_html_(self) -> str:
        o = self.overview.iloc[0]
        head = (
            f"<b>Lead leakage</b> · period {html.escape(self.period_text)} · "
            f"{int(o['leads']):,} leads, {int(o['lost']):,} lost, "
            f"{o['unexplained_share']:.1%} without reason · first response median "
            f"{o['response_median_h']:.1f} h"
        )
        body = self.reasons.head(10).to_html(index=False, float_format=lambda x: f"{x:.3f}")
        return f"<div>{head}{body}</div>"


def _overview(
    status: np.ndarray,
    unexplained: np.ndarray,
    hours: np.ndarray,
    responded: np.ndarray,
) -> dict[str, float]:
    lost = status == "lost"
    n_lost = int(lost.sum())
    n_conv = int((status == "converted").sum())
    n_unexp = int((lost & unexplained).sum())
    decided = n_conv + n_lost
    row: dict[str, float] = {
        "leads": len(status),
        "open": int((status == "open").sum()),
        "converted": n_conv,
        "lost": n_lost,
        "lost_with_reason": n_lost - n_unexp,
        "lost_unexplained": n_unexp,
        "unexplained_share": n_unexp / n_lost if n_lost else np.nan,
        "conversion_rate": n_conv / decided if decided else np.nan,
        "responded": int(responded.sum()),
        "no_response": int((~responded).sum()),
    }
    row.update(_response_stats(hours[responded]))
    return row


def lead_leakage(
    data: SalesData,
    *,
    period: PeriodLike = None,
    filters: Filters = None,
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
        Applied to ``leads.created_at`` (a lead cohort); see
        :func:`salesml.pipeline.parse_period`.
    filters
        ``{column: value or list}`` on the leads' own columns (``channel``,
        ``campaign_id``, ``status``, and any extra column the leads carry). Leads have
        no region or segment until they convert, so customer dimensions are refused
        rather than silently dropping every unconverted lead.

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
    leads = data.leads
    require_columns(
        leads,
        "leads",
        ["lead_id", "channel", "created_at", "status", "first_response_at"],
        analysis,
    )
    if filters:
        missing = [k for k in filters if k not in leads.columns]
        if missing:
            raise ValueError(
                f"{analysis} cannot filter on {', '.join(map(repr, missing))}: the leads table "
                f"has no such column (leads carry no region or segment before they convert); "
                f"filter on one of: {', '.join(map(str, leads.columns))}"
            )
    keep = mask_period(leads["created_at"], period) & apply_filters(leads, filters, "leads")
    sel = leads if keep.all() else leads.loc[keep]
    status = sel["status"].to_numpy(dtype=object)
    if "lost_reason" in sel.columns:
        reason = sel["lost_reason"]
        blank = reason.isna().to_numpy() | (reason.astype("str").str.strip() == "").to_numpy()
    else:
        reason = pd.Series(pd.NA, index=sel.index, dtype="str")
        blank = np.ones(len(sel), dtype=bool)
    created = sel["created_at"].to_numpy(dtype="datetime64[ns]")
    first = sel["first_response_at"].to_numpy(dtype="datetime64[ns]")
    responded = ~np.isnat(first)
    hours = np.where(responded, (first.astype(np.int64) - created.astype(np.int64)) / _HOUR, np.nan)
    overview = pd.DataFrame([_overview(status, blank, hours, responded)])

    lost = status == "lost"
    counts = reason[lost & ~blank].astype("str").str.strip().value_counts()
    n_lost = int(lost.sum())
    reasons = pd.DataFrame(
        {"reason": counts.index.astype("str"), "lost": counts.to_numpy(), "recorded": True}
    )
    n_unexp = int((lost & blank).sum())
    if n_unexp:
        reasons = pd.concat(
            [
                reasons,
                pd.DataFrame({"reason": [UNEXPLAINED], "lost": [n_unexp], "recorded": [False]}),
            ],
            ignore_index=True,
        )
    reasons = reasons.sort_values("lost", ascending=False, kind="stable").reset_index(drop=True)
    reasons.insert(2, "share_of_lost", reasons["lost"] / n_lost if n_lost else np.nan)

    channel = sel["channel"].astype("str").fillna("(missing)").to_numpy(dtype=object)
    codes, uniq = pd.factorize(channel, sort=True)
    rows = []
    for k, ch in enumerate(uniq):
        m = codes == k
        rows.append({"channel": ch, **_overview(status[m], blank[m], hours[m], responded[m])})
    table = pd.DataFrame(rows, columns=["channel", *overview.columns])
    if len(table):
        table = table.sort_values("leads", ascending=False, kind="stable").reset_index(drop=True)
        table["channel"] = table["channel"].astype("str")
    return LeakageResult(
        overview=overview, reasons=reasons, table=table, period_text=period_label(period)
    )
