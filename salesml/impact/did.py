"""Difference-in-differences and event study for a staggered rollout across regions.

Regions go live at different dates. Each region's KPI is compared with the regions not
yet live at the same time (not-yet-treated controls): the sample stops when the last
region goes live, so every treated period has a control, and an already-treated
region never serves as one. On the log scale (when every value is positive)::

    y[r, t] = a[r] + g[t] + b * live[r, t] + e[r, t]

weighted by each cell's denominator, with region and period fixed effects (the period
effects absorb seasonality and shocks common to all regions, Chinese New Year
included). Standard errors are Newey-West within region (statsmodels ``hac-panel``).
The event study replaces ``b`` by one coefficient per period relative to the go-live
(references: the period before it and the pooled earliest leads); the joint F-test of
the other leads is the pre-trend test.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import statsmodels.api as sm

from salesml.impact.its import MIN_POST, MIN_PRE, Estimate, ImpactInputError, hac_lags

__all__ = ["EVENT_LAGS", "EVENT_LEADS", "fit_did", "stagger_panel"]

#: Event-study bins: leads -EVENT_LEADS..-2 (earlier ones pooled), lags 0..EVENT_LAGS.
EVENT_LEADS = 6
EVENT_LAGS = 6


def stagger_panel(
    s: pd.DataFrame,
    go_live: dict[str, pd.Timestamp],
    window: tuple[int | None, int | None] = (None, None),
) -> pd.DataFrame:
    """The region x period cells a staggered comparison can use.

    Adds ``step`` (period number), ``event`` (periods since the region's go-live),
    ``post`` (the region is live). Drops regions without a go-live, each region's
    go-live period (half before, half after), cells without data, and every period
    from the last region's go-live on (no not-yet-treated control is left).
    """
    s = s[s["region"].isin(list(go_live))].copy()
    periods = np.sort(s["period"].unique())
    s["step"] = np.searchsorted(periods, s["period"].to_numpy())
    gl = s["region"].map(go_live)
    g_step = s["region"].map(
        {
            r: int(np.searchsorted(periods, np.datetime64(d), side="left"))
            for r, d in go_live.items()
        }
    )
    s["event"] = s["step"] - g_step
    s["post"] = s["period"] >= gl
    transition = (s["period"] < gl) & (s["period_end"] > gl)
    last = max(go_live.values())
    keep = ~transition & (s["period_end"] <= last) & (s["denominator"] > 0)
    keep &= np.isfinite(s["value"])
    pre, post = window
    if pre is not None:
        keep &= (s["event"] >= -pre) & (s["event"] < post)
    return s[keep].sort_values(["region", "step"]).reset_index(drop=True)


def _check(p: pd.DataFrame) -> None:
    treated = p.loc[p["post"], "region"].unique()
    n_post = int(p["post"].sum())
    n_pre = int((~p["post"] & p["region"].isin(treated)).sum())
    if p["region"].nunique() < 2 or len(treated) == 0:
        raise ImpactInputError(
            "impact.error.no_controls",
            "fewer than two regions with data, or no region live before the last one",
        )
    if n_pre < MIN_PRE:
        raise ImpactInputError(
            "impact.error.short_pre",
            f"only {n_pre} region-period(s) with data before the go-live; "
            f"at least {MIN_PRE} are needed",
            n=n_pre,
            need=MIN_PRE,
        )
    if n_post < MIN_POST:
        raise ImpactInputError(
            "impact.error.short_post",
            f"only {n_post} region-period(s) with data after the go-live; "
            f"at least {MIN_POST} are needed",
            n=n_post,
            need=MIN_POST,
        )


def _fe_design(p: pd.DataFrame) -> pd.DataFrame:
    reg = pd.get_dummies(p["region"], prefix="r", drop_first=True, dtype=float)
    per = pd.get_dummies(p["step"], prefix="t", drop_first=True, dtype=float)
    return pd.concat([pd.Series(1.0, index=p.index, name="const"), reg, per], axis=1)


def _fit(y: np.ndarray, X: pd.DataFrame, w: np.ndarray, p: pd.DataFrame) -> Any:
    lags = hac_lags(int(p.groupby("region").size().median()))
    groups = pd.factorize(p["region"])[0]
    return sm.WLS(y, X, weights=w).fit(
        method="qr",  # the fixed-effect design is wide: QR is much faster than pinv
        cov_type="hac-panel",
        cov_kwds={"groups": groups, "maxlags": lags, "use_correction": "hac"},
        use_t=True,
    ), lags


def fit_did(
    s: pd.DataFrame,
    go_live: dict[str, pd.Timestamp],
    *,
    window: tuple[int | None, int | None] = (None, None),
    periods_per_year: float = 52.18,
    seasonality: str = "auto",
    alpha: float = 0.05,
) -> tuple[Estimate, pd.DataFrame]:
    """Staggered difference-in-differences of one KPI (see the module docstring).

    Parameters
    ----------
    s
        The KPI by ``region`` and period: ``period``, ``period_end``, ``region``,
        ``numerator``, ``denominator``, ``value``.
    go_live
        Region -> go-live.
    window
        Periods before and after each region's go-live to use.
    periods_per_year, seasonality
        Unused (the period effects absorb the calendar); accepted for a common signature.
    alpha
        1 - the interval's coverage.

    Returns
    -------
    Estimate, pandas.DataFrame
        The estimate (diagnostics: ``pretrend_p``, ``leads`` and ``lags`` of the event
        study, ``regions``, ``controls_until``, ``n_pre``, ``n_post``, ``hac_lags``)
        and the cells used (with ``post``).
    """
    p = stagger_panel(s, go_live, window)
    _check(p)
    value = p["value"].to_numpy(float)
    scale = "log" if (value > 0).all() else "linear"
    y = np.log(value) if scale == "log" else value
    w = p["denominator"].to_numpy(float)
    w = w / w.mean()
    X = _fe_design(p).assign(live=p["post"].astype(float))
    res, lags = _fit(y, X, w, p)
    test = res.t_test(np.eye(X.shape[1])[list(X.columns).index("live")])
    effect, se = float(np.squeeze(test.effect)), float(np.squeeze(test.sd))
    lo, hi = np.squeeze(test.conf_int(alpha=alpha))
    # event study: one coefficient per relative period (reference -1)
    ev = p["event"].clip(-EVENT_LEADS, EVENT_LAGS)
    ev_d = pd.get_dummies(ev, prefix="e", dtype=float)
    # two references: the period before the go-live and the pooled earliest leads
    # (with every region treated in the end, one reference leaves the design singular)
    ev_d = ev_d.drop(columns=[c for c in ("e_-1", f"e_{-EVENT_LEADS}") if c in ev_d])
    Xe = pd.concat([_fe_design(p), ev_d], axis=1)
    diag: dict[str, Any] = {}
    try:
        res_e, _ = _fit(y, Xe, w, p)
        leads = [c for c in ev_d.columns if int(c[2:]) < -1]
        diag["leads"] = {int(c[2:]): float(res_e.params[c]) for c in leads}
        diag["lags"] = {int(c[2:]): float(res_e.params[c]) for c in ev_d if int(c[2:]) >= 0}
        if leads:
            R = np.zeros((len(leads), Xe.shape[1]))
            for i, c in enumerate(leads):
                R[i, list(Xe.columns).index(c)] = 1.0
            diag["pretrend_p"] = float(np.squeeze(res_e.f_test(R).pvalue))
    except (np.linalg.LinAlgError, ValueError):
        diag["pretrend_p"] = float("nan")
    # the chart: treated cells by periods since go-live, observed and counterfactual
    tr = p[p["region"].isin(p.loc[p["post"], "region"].unique())].copy()

    def cf_of(b: float) -> np.ndarray:
        v = tr["value"].to_numpy(float)
        return np.where(tr["post"], v * np.exp(-b) if scale == "log" else v - b, v)

    tr["cf"], tr["lo"], tr["hi"] = cf_of(effect), cf_of(float(hi)), cf_of(float(lo))
    den = tr["denominator"]
    agg = (
        tr.assign(o=tr["value"] * den, c=tr["cf"] * den, l=tr["lo"] * den, h=tr["hi"] * den)
        .groupby("event")[["o", "c", "l", "h", "denominator"]]
        .sum()
    )
    cf = pd.DataFrame(
        {
            "period": agg.index.to_numpy(),
            "observed": (agg["o"] / agg["denominator"]).to_numpy(),
            "counterfactual": (agg["c"] / agg["denominator"]).to_numpy(),
            "lower": np.minimum(agg["l"], agg["h"]).to_numpy() / agg["denominator"].to_numpy(),
            "upper": np.maximum(agg["l"], agg["h"]).to_numpy() / agg["denominator"].to_numpy(),
            "post": agg.index.to_numpy() >= 0,
        }
    )
    treated = sorted(p.loc[p["post"], "region"].unique())
    diag.update(
        n_pre=int((~tr["post"]).sum()),
        n_post=int(tr["post"].sum()),
        hac_lags=lags,
        regions=sorted(p["region"].unique()),
        treated=treated,
        controls_until=f"{max(go_live.values()):%Y-%m-%d}",
        x_axis="event",
    )
    est = Estimate(
        method="did",
        scale=scale,
        effect=effect,
        se=se,
        ci=(float(lo), float(hi)),
        p_value=float(np.squeeze(test.pvalue)),
        counterfactual=cf,
        diagnostics=diag,
    )
    return est, tr.assign(post=tr["post"].astype(bool))
