"""Interrupted time series: segmented regression with a level and a slope change.

The KPI's period values (log scale when every value is positive, so the effect is
relative) are regressed by weighted least squares on a trend, a step at the go-live,
a change of slope after it, and the calendar (Chinese New Year holiday and rebound,
the yearly cycle) when the pre-period can identify it. Standard errors are
autocorrelation and heteroskedasticity robust (Newey-West, statsmodels ``HAC``) with
Student-t intervals; in short series, where HAC errors come out too small, the
classical error is used when it is larger. The effect is the average gap between the fitted series and its
counterfactual (the same fit without the step and slope change) over the post-period.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import statsmodels.api as sm
from statsmodels.stats.stattools import durbin_watson

from salesml.impact.calendar import calendar_features

__all__ = ["MIN_POST", "MIN_PRE", "Estimate", "ImpactInputError", "fit_its", "hac_lags"]

#: Fewest usable periods before and after the go-live an estimate is made from.
MIN_PRE = 8
MIN_POST = 2


class ImpactInputError(ValueError):
    """The data cannot support an estimate; ``key`` and ``values`` form the catalog message."""

    def __init__(self, key: str, message: str, **values: Any) -> None:
        super().__init__(message)
        self.key = key
        self.values = values


@dataclass
class Estimate:
    """What a method found for one KPI.

    Attributes
    ----------
    method
        ``its``, ``did`` or ``sts``.
    scale
        ``log`` (effect is ``log(observed / counterfactual)``) or ``linear``.
    effect, se, ci, p_value
        The average post-period effect on that scale, its standard error, interval and
        two-sided p-value (for ``sts``: the simulation interval and tail probability).
    counterfactual
        One row per period: ``period``, ``observed``, ``counterfactual``, ``lower``,
        ``upper`` (the counterfactual's interval), ``post``, on the KPI's own scale.
    diagnostics
        Method-specific checks (numbers and flags), see each method.
    """

    method: str
    scale: str
    effect: float
    se: float
    ci: tuple[float, float]
    p_value: float
    counterfactual: pd.DataFrame
    diagnostics: dict[str, Any] = field(default_factory=dict)


def hac_lags(n: int) -> int:
    """Newey-West's rule of thumb for the number of lags: ``floor(4 (n/100)^(2/9))``."""
    return max(1, int(np.floor(4 * (n / 100.0) ** (2.0 / 9.0))))


def prepare(series: pd.DataFrame, go_live: pd.Timestamp) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The usable periods of a KPI series around ``go_live``.

    Drops the period the go-live falls inside (half before, half after) and periods
    without data, and marks ``post``. ``series`` needs ``period``, ``period_end``,
    ``numerator``, ``denominator``, ``value``.

    Raises
    ------
    ImpactInputError
        Too few usable periods before or after the go-live.
    """
    s = series.sort_values("period").reset_index(drop=True).copy()
    s["step"] = np.arange(len(s))
    transition = (s["period"] < go_live) & (s["period_end"] > go_live)
    s["post"] = s["period"] >= go_live
    empty = ~(s["denominator"] > 0) | ~np.isfinite(s["value"])
    info = {
        "transition_period": bool(transition.any()),
        "periods_without_data": int((empty & ~transition).sum()),
        "empty_post_periods": [f"{p:%Y-%m-%d}" for p in s.loc[empty & s["post"], "period"]],
    }
    s = s[~transition & ~empty]
    n_pre, n_post = int((~s["post"]).sum()), int(s["post"].sum())
    if n_pre < MIN_PRE:
        raise ImpactInputError(
            "impact.error.short_pre",
            f"only {n_pre} period(s) with data before the go-live; at least {MIN_PRE} are needed",
            n=n_pre,
            need=MIN_PRE,
        )
    if n_post < MIN_POST:
        raise ImpactInputError(
            "impact.error.short_post",
            f"only {n_post} period(s) with data after the go-live; at least {MIN_POST} are needed",
            n=n_post,
            need=MIN_POST,
        )
    info.update(n_pre=n_pre, n_post=n_post)
    return s, info


def calendar_terms(s: pd.DataFrame, seasonality: str) -> pd.DataFrame:
    """The calendar regressors the pre-period can identify (possibly none)."""
    if seasonality == "none":
        return pd.DataFrame(index=s.index)
    cal = calendar_features(pd.DatetimeIndex(s["period"]), pd.DatetimeIndex(s["period_end"]))
    cal.index = s.index
    pre = ~s["post"].to_numpy()
    keep = []
    if cal.loc[pre, "cny"].std() > 0 and cal.loc[pre, "cny"].gt(0).sum() >= 1:
        keep += ["cny", "cny_rebound"] if cal.loc[pre, "cny_rebound"].std() > 0 else ["cny"]
    pre_days = (s.loc[pre, "period_end"].max() - s.loc[pre, "period"].min()).days
    if pre_days >= 365:
        keep += ["year_sin", "year_cos"]
    return cal[keep]


def fit_its(
    series: pd.DataFrame,
    go_live: pd.Timestamp,
    *,
    periods_per_year: float,
    seasonality: str = "auto",
    slope_change: bool = True,
    alpha: float = 0.05,
) -> Estimate:
    """Segmented regression of one KPI series around ``go_live`` (see the module doc).

    Parameters
    ----------
    series
        Columns ``period``, ``period_end``, ``numerator``, ``denominator``, ``value``
        on a regular grid of periods.
    go_live
        The change's date.
    periods_per_year
        52.18 for weeks, 12 for months (scales the trend).
    seasonality
        ``auto`` (the calendar terms the pre-period identifies) or ``none``.
    slope_change
        Also estimate a change of slope after the go-live.
    alpha
        1 - the interval's coverage.

    Returns
    -------
    Estimate
        Diagnostics: ``n_pre``, ``n_post``, ``hac_lags``, ``r2``, ``durbin_watson``,
        ``slope_change`` and its ``slope_change_p``, ``level_change``, ``calendar``
        (terms used), ``transition_period``, ``periods_without_data``.
    """
    s, info = prepare(series, go_live)
    value = s["value"].to_numpy(float)
    scale = "log" if (value > 0).all() else "linear"
    y = np.log(value) if scale == "log" else value
    g = s.loc[s["post"], "step"].min()
    tt = (s["step"].to_numpy(float) - g) / periods_per_year
    post = s["post"].to_numpy(float)
    cols = {"const": np.ones(len(s)), "trend": tt, "level_change": post}
    if slope_change:
        cols["slope_change"] = post * tt
    cal = calendar_terms(s, seasonality)
    X = pd.DataFrame(cols, index=s.index).join(cal)
    w = s["denominator"].to_numpy(float)
    w = w / w.mean()
    lags = hac_lags(len(s))
    c = np.zeros(X.shape[1])
    c[list(X.columns).index("level_change")] = 1.0
    if slope_change:
        c[list(X.columns).index("slope_change")] = tt[post > 0].mean()
    # HAC errors are too small in short series (a year and a half of months): the
    # interval uses the larger of the HAC and the classical standard error
    hac = sm.WLS(y, X, weights=w).fit(cov_type="HAC", cov_kwds={"maxlags": lags}, use_t=True)
    classic = sm.WLS(y, X, weights=w).fit(use_t=True)
    res = max(hac, classic, key=lambda r: float(np.squeeze(r.t_test(c).sd)))
    test = res.t_test(c)
    effect = float(np.squeeze(test.effect))
    se = float(np.squeeze(test.sd))
    lo, hi = np.squeeze(test.conf_int(alpha=alpha))
    p = float(np.squeeze(test.pvalue))
    # the counterfactual: the fit without the step and the slope change
    Xc = X.copy()
    Xc["level_change"] = 0.0
    if slope_change:
        Xc["slope_change"] = 0.0
    beta, cov = res.params.to_numpy(), res.cov_params().to_numpy()
    fit_cf = Xc.to_numpy() @ beta
    var_cf = np.einsum("ij,jk,ik->i", Xc.to_numpy(), cov, Xc.to_numpy())
    se_cf = np.sqrt(np.clip(var_cf, 0.0, None))  # rounding can leave -1e-18
    q = float(res.t_test(c).dist.ppf(1 - alpha / 2, *res.t_test(c).dist_args))
    back = np.exp if scale == "log" else (lambda v: v)
    cf = pd.DataFrame(
        {
            "period": s["period"].to_numpy(),
            "observed": value,
            "counterfactual": back(fit_cf),
            "lower": back(fit_cf - q * se_cf),
            "upper": back(fit_cf + q * se_cf),
            "post": s["post"].to_numpy(),
        }
    )
    names = list(X.columns)
    diag = {
        **info,
        "hac_lags": lags,
        "standard_error": "hac" if res is hac else "classical",
        "r2": float(res.rsquared),
        "durbin_watson": float(durbin_watson(res.resid)),
        "level_change": float(res.params["level_change"]),
        "calendar": [n for n in names if n in cal.columns],
    }
    if slope_change:
        diag["slope_change"] = float(res.params["slope_change"])
        diag["slope_change_p"] = float(res.pvalues["slope_change"])
    return Estimate(
        method="its",
        scale=scale,
        effect=effect,
        se=se,
        ci=(float(lo), float(hi)),
        p_value=p,
        counterfactual=cf,
        diagnostics=diag,
    )
