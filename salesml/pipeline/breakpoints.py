"""Funnel breakpoints: group-stage pairs that convert worse than the rest of the organisation."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import pandas as pd
from scipy.stats import norm
from statsmodels.stats.multitest import multipletests

from salesml.data.bundle import SalesData
from salesml.filters import FilterLike, FilterSpec
from salesml.periods import PeriodLike, as_period
from salesml.pipeline.findings import Finding, PipelineResult, Term, format_p, part
from salesml.pipeline.funnel import WON, FunnelResult, funnel
from salesml.pipeline.index import GroupBy, normalise_by

__all__ = ["BreakpointResult", "funnel_breakpoints", "stage_interaction_z", "two_proportion_ztest"]

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


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _main_effects_fit(
    group: np.ndarray,
    step: np.ndarray,
    advanced: np.ndarray,
    decided: np.ndarray,
    own: list[int],
    *,
    tol: float = 1e-10,
    max_iter: int = 500,
) -> tuple[np.ndarray, np.ndarray]:
    """Expected conversion and standardised residual of each cell under group + stage.

    Fits ``logit p = stage effect + group effect`` (no interaction) to the cells'
    counts by binomial maximum likelihood, leaving out the cells in ``own`` (the
    same fit as giving each of them its own parameter), so that those cells do not
    distort the others' expectation. The fit alternates exact-Newton updates of the
    stage effects and of the group effects (each a vectorised 1-D problem), which
    converges to the maximum-likelihood solution of this two-way layout in a few
    dozen sweeps even with thousands of groups.

    Cells in ``own`` are compared with the prediction made without them,
    ``(x - n p) / sqrt(n p (1 - p))``; the others get Haberman's adjusted residual
    ``(x - n p) / sqrt(n p (1 - p) (1 - h))`` with ``h`` the cell's leverage
    (computed from the block structure of the information matrix).
    """
    n = decided.astype(float)
    x = advanced.astype(float)
    fit = (n > 0).copy()
    if own:
        fit[np.asarray(own)] = False
    n_groups = int(group.max()) + 1
    n_steps = int(step.max()) + 1
    nf = np.where(fit, n, 0.0)
    xf = np.where(fit, x, 0.0)
    # start from the empirical logits of the margins
    eps = 0.5
    a = np.log((np.bincount(step, xf, n_steps) + eps) / (np.bincount(step, nf - xf, n_steps) + eps))
    b = np.zeros(n_groups)
    for _ in range(max_iter):
        eta = a[step] + b[group]
        p = _sigmoid(eta)
        w = nf * p * (1 - p)
        ga = np.bincount(step, xf - nf * p, n_steps)
        ha = np.bincount(step, w, n_steps)
        da = np.where(ha > 0, ga / np.maximum(ha, 1e-300), 0.0)
        a = a + da
        p = _sigmoid(a[step] + b[group])
        w = nf * p * (1 - p)
        gb = np.bincount(group, xf - nf * p, n_groups)
        hb = np.bincount(group, w, n_groups)
        db = np.where(hb > 0, gb / np.maximum(hb, 1e-300), 0.0)
        # a group that converts everyone (or no one) drifts off to +-infinity: cap it
        b = np.clip(b + db, -30, 30)
        if max(np.abs(da).max(initial=0), np.abs(db).max(initial=0)) < tol:
            break
    p = _sigmoid(a[step] + b[group])
    # groups without any fitted cell have no estimate
    has_group = np.bincount(group, nf, n_groups) > 0
    p = np.where(has_group[group], p, np.nan)
    w = np.where(fit, n * p * (1 - p), 0.0)
    # leverage of the fitted cells: x_i' (X'WX)^-1 x_i w_i, with x_i = e_stage + f_group;
    # the group block is diagonal, so invert through the (small) stage Schur complement
    d_s = np.bincount(step, w, n_steps)
    d_g = np.bincount(group, w, n_groups)
    bmat = np.zeros((n_steps, n_groups))
    np.add.at(bmat, (step, group), w)
    ref = int(np.argmax(d_g))  # drop one group for identifiability
    live = (d_g > 1e-12) & (np.arange(n_groups) != ref)
    u = np.zeros((n_steps, n_groups))
    u[:, live] = bmat[:, live] / d_g[live]
    schur = np.diag(d_s) - u[:, live] @ bmat[:, live].T
    s_inv = np.linalg.pinv(schur)
    v = s_inv @ u
    q = np.einsum("kg,kg->g", u, v)
    inv_dg = np.where(live, 1.0 / np.where(live, d_g, 1.0), 0.0)
    quad = s_inv[step, step] + np.where(
        live[group], -2.0 * v[step, group] + inv_dg[group] + q[group], 0.0
    )
    h = np.clip(w * quad, 0.0, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (x - n * p) / np.sqrt(
            n * p * (1 - p) * np.where(fit, np.clip(1.0 - h, 1e-12, None), 1.0)
        )
    ok = (n > 0) & np.isfinite(z)
    return np.where(n > 0, p, np.nan), np.where(ok, z, np.nan)


def stage_interaction_z(
    group: np.ndarray,
    step: np.ndarray,
    advanced: np.ndarray,
    decided: np.ndarray,
    *,
    also: np.ndarray | None = None,
    alpha: float = 0.05,
    method: str = "fdr_bh",
    max_iter: int = 10,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Does a group convert worse at one stage than its own level at the other stages predicts?

    A main-effects logit model (stage + group) gives each cell the conversion it would
    have if the group were uniformly better or worse than the organisation at every
    stage. A cell far below that expectation is a stage-specific break. Cells found
    to break are then given their own parameter and the model is refitted, so that
    one strong breakpoint does not pull the expectation of the group's other stages
    (and of the stage's other groups) off; this repeats until the set is stable.

    Parameters
    ----------
    group, step
        Integer codes of each cell's group and stage.
    advanced, decided
        Counts per cell (deals that got past the stage / deals decided at it).
    also
        Optional boolean mask a cell must also satisfy to count as a break during the
        refits (``funnel_breakpoints`` passes "significantly below the rest").
    alpha, method
        Level and correction (``multipletests``) of the interaction test.

    Returns
    -------
    expected, z, p_adjusted
        Per cell: the expected conversion, the standardised residual (negative = worse
        than expected) and its corrected two-sided p-value.
    """
    own: list[int] = []
    expected = z = p_adj = np.full(len(group), np.nan)
    if len(group) == 0 or len(np.unique(group[decided > 0])) < 2:
        return expected, z, p_adj
    extra = np.ones(len(group), dtype=bool) if also is None else also
    for _ in range(max_iter):
        expected, z = _main_effects_fit(group, step, advanced, decided, own)
        p = 2.0 * norm.sf(np.abs(z))
        p_adj = np.full(len(group), np.nan)
        valid = ~np.isnan(p)
        if valid.any():
            p_adj[valid] = multipletests(p[valid], alpha=alpha, method=method)[1]
        flagged = np.flatnonzero(extra & (np.nan_to_num(p_adj, nan=1.0) < alpha) & (z < 0))
        new = sorted(flagged.tolist())
        if new == own:
            break
        own = new
    return expected, z, p_adj


@dataclass(kw_only=True)
class BreakpointResult(PipelineResult):
    """Per group and stage: conversion against the rest of the organisation.

    Attributes
    ----------
    table
        One row per group and stage (the ``won`` step has no conversion and is left
        out), sorted so that breakpoints come first, worst (largest negative gap)
        first, then the other rows by adjusted p-value. Columns:

        - the ``by`` dimension(s), ``stage``, ``step``;
        - ``decided``, ``advanced``, ``conversion``: the group's decided deals at this
          stage, those that got past it, and their ratio (see :func:`funnel`; NaN and
          untested where the funnel marks the stage not measurable);
        - ``baseline_decided``, ``baseline_advanced``, ``baseline``: the same for all
          other groups together (the organisation without this group);
        - ``gap_pp``: ``conversion - baseline`` in percentage points (negative = worse);
        - ``excess_lost``: deals the group lost at this stage beyond what the baseline
          rate predicts, ``(baseline - conversion) * decided``;
        - ``z``, ``p_value``: two-sided two-proportion z-test (pooled variance);
        - ``p_adjusted``: ``p_value`` corrected for the number of tests (``method``);
        - ``significant``: ``p_adjusted < alpha`` (differs from the rest, either way);
        - ``expected``: the conversion the group would have at this stage if it were as
          much better or worse than the organisation here as it is over all stages
          (a stage + group logit model without interaction; see
          :func:`stage_interaction_z`);
        - ``stage_gap_pp``: ``conversion - expected`` in points;
        - ``z_stage``, ``p_stage_adjusted``, ``stage_significant``: the test of that
          stage-specific gap (standardised residual, corrected the same way);
        - ``breakpoint``: significantly below the rest of the organisation *and*
          significantly below the group's own level at the other stages. A group that
          is weak at every stage (say, one understaffed region) is ``significant`` at
          several stages but its funnel does not *break* at one of them.
    by, alpha, method
        The settings used.
    n_tests
        Tests in the correction (group-stage pairs where a test was possible).
    funnel
        The underlying per-group :class:`FunnelResult`.
    """

    title_key: ClassVar[str] = "pipeline.title.breakpoints"

    by: list[str] = field(default_factory=list)
    alpha: float = 0.05
    method: str = "fdr_bh"
    n_tests: int = 0
    funnel: FunnelResult | None = None

    @property
    def stage_order(self) -> list[str]:
        """The stages, first to last."""
        return self.funnel.stage_order if self.funnel is not None else []

    @property
    def breakpoints(self) -> pd.DataFrame:
        """Only the rows flagged as breakpoints, worst first."""
        return self.table[self.table["breakpoint"]]

    def summary(self) -> pd.DataFrame:
        """Gap in points as a group x stage matrix (stages in order)."""
        t = self.table
        idx = self.by[0] if len(self.by) == 1 else self.by
        m = t.pivot_table(index=idx, columns="stage", values="gap_pp", sort=True, dropna=False)
        m = m.reindex(columns=self.stage_order)
        m.columns.name = None
        return m

    def worst(self) -> pd.Series | None:
        """The worst breakpoint (first row of ``breakpoints``), or ``None`` if none."""
        b = self.breakpoints
        return b.iloc[0] if len(b) else None

    def findings(self) -> list[Finding]:
        """Findings: the worst breakpoint (or that there is none) and uniformly weak groups."""
        out = self._breakpoint_findings()
        out.extend(self._weak_group_findings())
        return out

    def _who(self, row: pd.Series) -> Term:
        return Term(tuple(row[d] for d in self.by))

    def _breakpoint_findings(self) -> list[Finding]:
        b = self.breakpoints
        if not len(b):
            return [
                Finding(
                    (part("pipeline.finding.no_breakpoint", dims=Term(tuple(self.by))),),
                    weight=50.0,
                    kind="breakpoint",
                )
            ]
        r = b.iloc[0]
        more = len(b) - 1
        parts = [
            part(
                "pipeline.finding.breakpoint",
                who=self._who(r),
                stage=Term.of(r["stage"]),
                conversion=float(r["conversion"]),
                baseline=float(r["baseline"]),
                gap=float(r["gap_pp"]),
                p=format_p(float(r["p_adjusted"])),
                excess=float(r["excess_lost"]),
            )
        ]
        if more == 1:
            parts.append(part("pipeline.finding.breakpoint_more_one"))
        elif more > 1:
            parts.append(part("pipeline.finding.breakpoint_more_many", n=more))
        parts.append(part("pipeline.finding.end"))
        return [Finding(tuple(parts), weight=1000.0 + float(r["excess_lost"]), kind="breakpoint")]

    def _weak_group_findings(self) -> list[Finding]:
        """Groups significantly below the rest at three or more stages (not one break)."""
        t = self.table
        below = t[t["significant"] & (t["gap_pp"] < 0)]
        if not len(below):
            return []
        counts = below.groupby(self.by, sort=False).size()
        weak = counts[counts >= 3]
        if not len(weak):
            return []
        key = weak.sort_values(ascending=False, kind="stable").index[0]
        key = key if isinstance(key, tuple) else (key,)
        n_measured = int(t.loc[t["conversion"].notna(), "step"].nunique())
        return [
            Finding(
                (
                    part(
                        "pipeline.finding.weak_group",
                        who=Term(tuple(key)),
                        k=int(weak.max()),
                        n=n_measured,
                    ),
                ),
                weight=250.0,
                kind="weak_group",
            )
        ]


def funnel_breakpoints(
    data: SalesData,
    *,
    period: PeriodLike = None,
    as_of: str | pd.Timestamp | None = None,
    filters: FilterLike = None,
    by: GroupBy = "region",
    alpha: float = 0.05,
    method: str = "fdr_bh",
) -> BreakpointResult:
    """Find the group-stage pairs where the funnel breaks.

    For every group (say, region) and stage, the group's stage conversion among
    decided deals (see :func:`salesml.pipeline.funnel`) is compared with the pooled
    conversion of all *other* groups at that stage by a two-sided two-proportion
    z-test (the statistic of statsmodels' ``proportions_ztest``). The p-values of all
    group-stage pairs are corrected together with statsmodels' ``multipletests``.

    A *breakpoint* must also be stage-specific: the group converts significantly
    worse at that stage than its own level at the other stages predicts (a
    group + stage logit model without interaction, refitted with flagged cells set
    apart; see :func:`stage_interaction_z`). This separates a funnel that breaks at
    one stage from a group that is uniformly weaker (whose gaps show up as
    ``significant`` at every stage, without ``breakpoint``). A stage whose conversion
    the data cannot measure (see :class:`FunnelResult` ``measurable``) is not tested.

    Parameters
    ----------
    data
        The dataset (``deals``; ``stage_history`` when present; ``customers`` /
        ``reps`` for their dimensions).
    period, as_of, filters
        Cohort period on ``deals.created_at``, the data cut and the filters, as in
        :func:`~salesml.pipeline.funnel`.
    by
        Dimension(s) to compare (default ``region``: the customer's or the owner's, as
        ``dataset.yaml`` declares); the same choices as ``funnel``.
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
    p_ = as_period(period)
    spec = FilterSpec.parse(filters)
    f = funnel(data, by=dims, period=p_, as_of=as_of, filters=spec)
    base_t = f.table[f.table["stage"] != WON].reset_index(drop=True)
    # stages the data cannot measure take no part in the tests
    live = base_t["measurable"].to_numpy(dtype=bool)
    step = base_t["step"].to_numpy()
    conv = base_t["conversion"].to_numpy(dtype=float)
    n1 = np.where(live, base_t["decided"].to_numpy(), 0)
    x1 = np.where(live, base_t["advanced"].to_numpy(), 0)
    n_steps = int(step.max()) + 1 if len(step) else 0
    n2 = np.bincount(step, n1, n_steps)[step].astype(np.int64) - n1
    x2 = np.bincount(step, x1, n_steps)[step].astype(np.int64) - x1
    with np.errstate(divide="ignore", invalid="ignore"):
        base = np.where(n2 > 0, x2 / np.maximum(n2, 1), np.nan)
    gap = 100.0 * (conv - base)
    z, p = two_proportion_ztest(x1, n1, x2, n2)
    adj = np.full(len(base_t), np.nan)
    valid = ~np.isnan(p)
    if valid.any():
        adj[valid] = multipletests(p[valid], alpha=alpha, method=method)[1]
    significant = np.nan_to_num(adj, nan=1.0) < alpha
    below = significant & (gap < 0)
    keys = base_t[dims]
    group = pd.factorize(
        pd.MultiIndex.from_frame(keys.astype(object)) if len(dims) > 1 else keys[dims[0]]
    )[0]
    expected, z_stage, p_stage = stage_interaction_z(
        group, step, x1, n1, also=below, alpha=alpha, method=method
    )
    stage_significant = np.nan_to_num(p_stage, nan=1.0) < alpha
    breakpoint = below & stage_significant & (np.nan_to_num(z_stage) < 0)
    stage_gap = 100.0 * (conv - expected)
    columns = {
        "decided": base_t["decided"].to_numpy(),
        "advanced": base_t["advanced"].to_numpy(),
        "conversion": conv,
        "baseline_decided": n2,
        "baseline_advanced": x2,
        "baseline": base,
        "gap_pp": gap,
        "excess_lost": (base - conv) * n1,
        "z": z,
        "p_value": p,
        "p_adjusted": adj,
        "significant": significant,
        "expected": expected,
        "stage_gap_pp": stage_gap,
        "z_stage": z_stage,
        "p_stage_adjusted": p_stage,
        "stage_significant": stage_significant,
        "breakpoint": breakpoint,
    }
    order = np.lexsort(
        (np.nan_to_num(adj, nan=2.0), np.where(breakpoint, stage_gap, 0.0), ~breakpoint)
    )
    head = base_t[[*dims, "stage", "step"]].iloc[order].reset_index(drop=True)
    rest = pd.DataFrame({k: v[order] for k, v in columns.items()}, index=head.index)
    t = pd.concat([head, rest], axis=1)
    return BreakpointResult(
        table=t,
        period=f.period,
        as_of=f.as_of,
        filters=spec,
        notes=[
            n for n in f.notes if not n.key.startswith("pipeline.note.amount_missing")
        ],  # no amounts
        by=dims,
        alpha=alpha,
        method=method,
        n_tests=int(valid.sum()),
        funnel=f,
    )
