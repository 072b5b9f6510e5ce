"""Funnel breakpoints: group-stage pairs that convert worse than the rest of the organisation."""

from __future__ import annotations

import html
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import norm
from statsmodels.stats.multitest import multipletests

from salesml.data.bundle import SalesData
from salesml.pipeline._common import Filters, GroupBy, normalise_by
from salesml.pipeline._labels import label
from salesml.pipeline.findings import Finding
from salesml.pipeline.funnel import WON, FunnelResult, funnel
from salesml.pipeline.periods import PeriodLike

__all__ = ["BreakpointResult", "funnel_breakpoints", "two_proportion_ztest"]

_METHODS = ("fdr_bh", "bonferroni", "holm", "fdr_by", "sidak", "holm-sidak", "hommel")


def two_proportion_ztest(
    count1: np.ndarray, nobs1: np.ndarray, count2: np.ndarray, nobs2: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised two-sided two-proportion z-test with pooled variance.

    The same statistic as ``statsmodels.stats.proportion.proportions_ztest`` with
    ``value=None, alternative="two-sided", prop_var=False`` applied pair by pair
    (checked in the tests), computed for many pairs at once.

    Returns
    -------
    z, p_value
        NaN where a sample is empty or the pooled proportion is 0 or 1 (no test possible).
    """
    c1, n1 = np.asarray(count1, float), np.asarray(nobs1, float)
    c2, n2 = np.asarray(count2, float), np.asarray(nobs2, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        pooled = (c1 + c2) / (n1 + n2)
        se = np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
        z = (c1 / n1 - c2 / n2) / se
    ok = (n1 > 0) & (n2 > 0) & (se > 0) & np.isfinite(se)
    z = np.where(ok, z, np.nan)
    p = np.where(ok, 2 * norm.sf(np.abs(z)), np.nan)
    return z, p


@dataclass
class BreakpointResult:
    """Per group and stage: conversion against the rest of the organisation.

    Attributes
    ----------
    table
        One row per group and stage (the ``won`` step has no conversion and is left
        out), sorted so that breakpoints come first, worst (largest negative gap)
        first, then the other rows by adjusted p-value. Columns:

        - the ``by`` dimension(s), ``stage``, ``step``;
        - ``decided``, ``advanced``, ``conversion``: the group's decided deals at this
          stage, those that got past it, and their ratio (see :func:`funnel`);
        - ``baseline_decided``, ``baseline_advanced``, ``baseline``: the same for all
          other groups together (the organisation without this group);
        - ``gap_pp``: ``conversion - baseline`` in percentage points (negative = worse);
        - ``excess_lost``: deals the group lost at this stage beyond what the baseline
          rate predicts, ``(baseline - conversion) * decided``;
        - ``z``, ``p_value``: two-sided two-proportion z-test (pooled variance);
        - ``p_adjusted``: ``p_value`` corrected for the number of tests (``method``);
        - ``significant``: ``p_adjusted < alpha``;
        - ``breakpoint``: significant and worse than baseline.
    by, alpha, method
        The settings used.
    n_tests
        Tests in the correction (group-stage pairs where a test was possible).
    funnel
        The underlying per-group :class:`FunnelResult`.
    """

    table: pd.DataFrame
    by: list[str]
    alpha: float
    method: str
    n_tests: int
    funnel: FunnelResult

    @property
    def breakpoints(self) -> pd.DataFrame:
        """Only the rows flagged as breakpoints, worst first."""
        return self.table[self.table["breakpoint"]]

    def summary(self) -> pd.DataFrame:
        """Gap in points as a group x stage matrix (stages in order)."""
        t = self.table
        idx = self.by[0] if len(self.by) == 1 else self.by
        m = t.pivot_table(index=idx, columns="stage", values="gap_pp", sort=True, dropna=False)
        m = m.reindex(columns=self.funnel.stage_order)
        m.columns.name = None
        return m

    def worst(self) -> pd.Series | None:
        """The worst breakpoint (first row of ``breakpoints``), or ``None`` if none."""
        b = self.breakpoints
        return b.iloc[0] if len(b) else None

    def findings(self) -> list[Finding]:
        """Findings: the worst breakpoint, or that no group differs significantly."""
        b = self.breakpoints
        dims = " / ".join(label(d) for d in self.by)
        dims_zh = " / ".join(label(d, "zh") for d in self.by)
        if not len(b):
            return [
                Finding(
                    en=f"No {dims} converts significantly worse than the rest at any stage.",
                    zh=f"各{dims_zh}在所有阶段的转化率均未显著低于其余组织。",
                    weight=1.0,
                    kind="breakpoint",
                )
            ]
        r = b.iloc[0]
        who = " / ".join(str(r[d]) for d in self.by)
        who_zh = " / ".join(label(r[d], "zh") for d in self.by)
        st = str(r["stage"])
        more = len(b) - 1
        en_more = f" ({more} more breakpoint{'s' if more != 1 else ''} flagged)" if more else ""
        zh_more = f"（另有 {more} 处断点）" if more else ""
        return [
            Finding(
                en=(
                    f"Breakpoint: {who} converts {r['conversion']:.0%} at {label(st)} against "
                    f"{r['baseline']:.0%} elsewhere ({r['gap_pp']:+.1f} points, adjusted "
                    f"p = {r['p_adjusted']:.2g}), about {r['excess_lost']:.0f} deals lost beyond "
                    f"the baseline{en_more}."
                ),
                zh=(
                    f"断点：{who_zh}在{label(st, 'zh')}阶段转化率 {r['conversion']:.0%}，其余组织为 "
                    f"{r['baseline']:.0%}（差 {r['gap_pp']:+.1f} 个百分点，校正后 p = "
                    f"{r['p_adjusted']:.2g}），比基准多流失约 {r['excess_lost']:.0f} 个商机{zh_more}。"
                ),
                weight=10.0 + float(r["excess_lost"]),
                kind="breakpoint",
            )
        ]

    def key_findings(self, lang: str = "en", n: int = 3) -> list[str]:
        """The ``n`` most important findings of this result as sentences in ``lang``."""
        from salesml.pipeline.findings import key_findings

        return key_findings(self, lang=lang, n=n)

    def _repr_html_(self) -> str:
        head = (
            f"<b>Funnel breakpoints</b> by {html.escape(', '.join(self.by))} · "
            f"{self.n_tests} tests · {html.escape(self.method)} at α = {self.alpha:g} · "
            f"{int(self.table['breakpoint'].sum())} breakpoint(s)"
        )
        cols = [*self.by, "stage", "conversion", "baseline", "gap_pp", "p_adjusted", "breakpoint"]
        body = self.table[cols].head(10).to_html(index=False, float_format=lambda x: f"{x:.3g}")
        return f"<div>{head}{body}</div>"


def funnel_breakpoints(
    data: SalesData,
    *,
    by: GroupBy = "region",
    period: PeriodLike = None,
    filters: Filters = None,
    alpha: float = 0.05,
    method: str = "fdr_bh",
) -> BreakpointResult:
    """Find the group-stage pairs whose conversion is significantly below the rest.

    For every group (say, region) and stage, the group's stage conversion among
    decided deals (see :func:`salesml.pipeline.funnel`) is compared with the pooled
    conversion of all *other* groups at that stage by a two-sided two-proportion
    z-test (the statistic of statsmodels' ``proportions_ztest``). The p-values of all
    group-stage pairs are corrected together with statsmodels' ``multipletests``.

    Parameters
    ----------
    data
        The dataset (``deals``; ``stage_history`` when present; ``customers`` /
        ``reps`` for their dimensions).
    by
        Dimension(s) to compare (default ``region``); the same choices as ``funnel``.
    period, filters
        Cohort period on ``deals.created_at`` and equality filters, as in ``funnel``.
    alpha
        Family-wise (or false-discovery) level for the ``significant`` flag.
    method
        Correction passed to ``multipletests``: ``fdr_bh`` (Benjamini-Hochberg,
        default), ``bonferroni``, ``holm``, ``fdr_by``, ``sidak``, ``holm-sidak``, ``hommel``.

    Returns
    -------
    BreakpointResult
        ``.table`` sorted so that the worst significant breakpoint comes first; see
        :class:`BreakpointResult` for the columns.
    """
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie strictly between 0 and 1, got {alpha!r}")
    if method not in _METHODS:
        raise ValueError(f"unknown correction method {method!r}; use one of {', '.join(_METHODS)}")
    dims = normalise_by(by)
    if not dims:
        raise ValueError("funnel_breakpoints compares groups: give `by` (for example 'region')")
    f = funnel(data, by=dims, period=period, filters=filters)
    t = f.table[f.table["stage"] != WON].reset_index(drop=True)
    t = t[[*dims, "stage", "step", "decided", "advanced", "conversion"]].copy()
    tot_n = t.groupby("step")["decided"].transform("sum").to_numpy()
    tot_x = t.groupby("step")["advanced"].transform("sum").to_numpy()
    n1 = t["decided"].to_numpy()
    x1 = t["advanced"].to_numpy()
    n2, x2 = tot_n - n1, tot_x - x1
    t["baseline_decided"] = n2
    t["baseline_advanced"] = x2
    with np.errstate(divide="ignore", invalid="ignore"):
        base = np.where(n2 > 0, x2 / np.maximum(n2, 1), np.nan)
    t["baseline"] = base
    t["gap_pp"] = 100.0 * (t["conversion"].to_numpy() - base)
    t["excess_lost"] = (base - t["conversion"].to_numpy()) * n1
    z, p = two_proportion_ztest(x1, n1, x2, n2)
    t["z"] = z
    t["p_value"] = p
    adj = np.full(len(t), np.nan)
    valid = ~np.isnan(p)
    if valid.any():
        adj[valid] = multipletests(p[valid], alpha=alpha, method=method)[1]
    t["p_adjusted"] = adj
    t["significant"] = np.nan_to_num(adj, nan=1.0) < alpha
    t["breakpoint"] = t["significant"] & (t["gap_pp"] < 0)
    order = np.lexsort(
        (
            np.nan_to_num(adj, nan=2.0),
            np.where(t["breakpoint"], t["gap_pp"].to_numpy(), 0.0),
            ~t["breakpoint"].to_numpy(),
        )
    )
    t = t.iloc[order].reset_index(drop=True)
    return BreakpointResult(
        table=t, by=dims, alpha=alpha, method=method, n_tests=int(valid.sum()), funnel=f
    )
