"""A structural time-series counterfactual with control series (after CausalImpact).

For each region that goes live while others are still waiting, a local-level model
with the not-yet-live regions' KPI as a regressor (statsmodels
``UnobservedComponents``, regression coefficient in the state so its uncertainty
counts) is fitted to the region's periods before its go-live. The model then
simulates the region's path after the go-live (until the first control goes live),
given what the controls did: the spread of those paths is the counterfactual's
uncertainty. The effect is the mean gap between the observed series and the simulated
paths, pooled over regions by their post-period weight; its interval and tail
probability come from the simulated draws (on the log scale when every value is
positive).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
from statsmodels.tsa.statespace.structural import UnobservedComponents

from salesml.impact.its import MIN_POST, MIN_PRE, Estimate, ImpactInputError

__all__ = ["REPETITIONS", "fit_sts"]

#: Simulated counterfactual paths per region.
REPETITIONS = 2000


def _ratio(frame: pd.DataFrame) -> pd.Series:
    g = frame.groupby("step")[["numerator", "denominator"]].sum()
    return (g["numerator"] / g["denominator"]).where(g["denominator"] > 0)


def fit_sts(
    s: pd.DataFrame,
    go_live: dict[str, pd.Timestamp],
    *,
    window: tuple[int | None, int | None] = (None, None),
    periods_per_year: float = 52.18,
    seasonality: str = "auto",
    alpha: float = 0.05,
    seed: int = 0,
) -> tuple[Estimate, pd.DataFrame]:
    """Structural time-series estimate of one KPI (see the module docstring).

    Parameters
    ----------
    s
        The KPI by ``region`` and period (``period``, ``period_end``, ``region``,
        ``numerator``, ``denominator``, ``value``).
    go_live
        Region -> go-live.
    window
        Periods before and after each region's go-live to use.
    periods_per_year, seasonality
        Unused (the controls carry the calendar); accepted for a common signature.
    alpha
        1 - the interval's coverage.
    seed
        Seed of the simulated paths (results are reproducible).

    Returns
    -------
    Estimate, pandas.DataFrame
        Diagnostics: ``regions`` (treated, with their controls and post periods),
        ``n_pre``, ``n_post``, ``repetitions``; and the cells used (with ``post``).
    """
    s = s[s["region"].isin(list(go_live))].copy()
    periods = np.sort(s["period"].unique())
    s["step"] = np.searchsorted(periods, s["period"].to_numpy())
    rng = np.random.default_rng(seed)
    pre_w, post_w = window
    draws, weights, parts, used, info = [], [], [], [], []
    scale = "log" if (s.loc[s["denominator"] > 0, "value"] > 0).all() else "linear"
    fwd = np.log if scale == "log" else (lambda v: v)
    for region, g in sorted(go_live.items(), key=lambda kv: kv[1]):
        later = [r for r, d in go_live.items() if d > g]
        if not later:
            continue
        stop = min(go_live[r] for r in later)
        own = s[s["region"] == region]
        ctrl = s[s["region"].isin(later)]
        y = _ratio(own)
        x = _ratio(ctrl)
        steps = pd.Series(periods, index=np.arange(len(periods)))
        start_p, end_p = steps, steps + (own["period_end"].iloc[0] - own["period"].iloc[0])
        pre = (end_p <= g) & y.reindex(steps.index).notna() & x.reindex(steps.index).notna()
        post = (start_p >= g) & (end_p <= stop)
        pre_idx, post_idx = steps.index[pre.to_numpy()], steps.index[post.to_numpy()]
        if pre_w is not None:
            pre_idx, post_idx = pre_idx[-pre_w:], post_idx[:post_w]
        post_idx = post_idx[np.isfinite(x.reindex(post_idx).to_numpy())]
        post_obs = y.reindex(post_idx)
        post_idx = post_idx[post_obs.notna().to_numpy()]
        if len(pre_idx) < MIN_PRE or len(post_idx) < MIN_POST:
            continue
        if scale == "log" and (
            (y.reindex(pre_idx) <= 0).any() or (x.reindex(pre_idx.union(post_idx)) <= 0).any()
        ):
            continue
        # the series must be contiguous for the state-space model: fill gaps as missing
        span = np.arange(pre_idx.min(), pre_idx.max() + 1)
        endog = fwd(y.reindex(span).to_numpy(float))
        exog = fwd(x.reindex(span).to_numpy(float))
        exog = np.where(np.isfinite(exog), exog, np.nanmean(exog))
        gap = np.arange(pre_idx.max() + 1, post_idx.max() + 1)
        ex_post = fwd(x.reindex(gap).to_numpy(float))
        ex_post = np.where(np.isfinite(ex_post), ex_post, np.nanmean(exog))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = UnobservedComponents(
                endog, level="llevel", exog=exog[:, None], mle_regression=False
            )
            res = model.fit(disp=False)
            sims = res.simulate(
                len(gap),
                repetitions=REPETITIONS,
                anchor="end",
                exog=ex_post[:, None],
                rng=rng,
            )
        sims = np.asarray(sims).reshape(len(gap), -1)
        pos = np.searchsorted(gap, post_idx)
        obs = fwd(post_obs.loc[post_idx].to_numpy(float))
        gaps = obs[:, None] - sims[pos]
        draws.append(gaps.mean(axis=0))
        den = own.set_index("step")["denominator"].reindex(post_idx).fillna(0).sum()
        weights.append(den)
        back = np.exp if scale == "log" else (lambda v: v)
        for k, i in enumerate(post_idx):
            col = sims[pos[k]]
            parts.append(
                {
                    "region": region,
                    "period": steps[i],
                    "observed": float(y[i]),
                    "counterfactual": float(back(np.median(col))),
                    "lower": float(back(np.quantile(col, alpha / 2))),
                    "upper": float(back(np.quantile(col, 1 - alpha / 2))),
                    "post": True,
                }
            )
        for i in pre_idx:
            parts.append(
                {
                    "region": region,
                    "period": steps[i],
                    "observed": float(y[i]),
                    "counterfactual": float("nan"),
                    "lower": float("nan"),
                    "upper": float("nan"),
                    "post": False,
                }
            )
        cells = own[own["step"].isin(pre_idx.union(post_idx))].copy()
        cells["post"] = cells["step"].isin(post_idx)
        used.append(cells)
        info.append(
            {
                "region": region,
                "controls": sorted(later),
                "n_pre": len(pre_idx),
                "n_post": len(post_idx),
            }
        )
    if not draws:
        raise ImpactInputError(
            "impact.error.no_controls",
            "no region has enough periods before its go-live with a region still waiting",
        )
    wts = np.asarray(weights, float)
    wts = wts / wts.sum() if wts.sum() > 0 else np.full(len(wts), 1.0 / len(wts))
    pooled = np.sum([w * d for w, d in zip(wts, draws, strict=True)], axis=0)
    effect = float(np.mean(pooled))
    lo, hi = np.quantile(pooled, [alpha / 2, 1 - alpha / 2])
    p = float(min(1.0, 2 * min((pooled > 0).mean(), (pooled < 0).mean())))
    cf = pd.DataFrame(parts)
    diag: dict[str, Any] = {
        "regions": info,
        "n_pre": int(sum(r["n_pre"] for r in info)),
        "n_post": int(sum(r["n_post"] for r in info)),
        "repetitions": REPETITIONS,
    }
    return (
        Estimate(
            method="sts",
            scale=scale,
            effect=effect,
            se=float(np.std(pooled)),
            ci=(float(lo), float(hi)),
            p_value=max(p, 1.0 / REPETITIONS),
            counterfactual=cf,
            diagnostics=diag,
        ),
        pd.concat(used, ignore_index=True),
    )
