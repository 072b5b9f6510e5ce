"""The measurement model behind a capability score.

For each scenario and component, an additive model separates the rep from the
difficulty of the work (calendar month, customer segment, deal size band, product
line, and the kind of source)::

    value = rep effect + month + segment + size band + product line (+ source) + noise

fitted by backfitting (alternating group means; exact for the additive least-squares
fit, and cheap: a few ``bincount`` passes over the observations). Rep effects are then
compared within the rep's region (centred per region), so reps in a harder region are
not penalised.

The components of a scenario measure one latent skill ``θ`` (scaled to mean 0 and
standard deviation 1 across the reps) through a one-factor model::

    m_rc = b_c θ_r + u_rc + e_rc,   u_rc ~ N(0, ψ_c),   e_rc ~ N(0, s²_c / n_rc)

where ``m_rc`` is rep r's adjusted mean of component c, ``b_c`` the loading, ``ψ_c``
rep-level variation of the component that is not the skill, and ``e`` the sampling
error of a mean of ``n_rc`` events. Between-rep covariances are estimated by the method
of moments (sample covariance of the means minus their average sampling variance);
with three or more components the loadings follow from the off-diagonal covariances
(``b_c² = Σ_cd Σ_ce / Σ_de``, the median over the pairs d, e), with fewer they fall back to ``b_c² = Σ_cc`` (no
nuisance). Each component then gives an unbiased estimate of θ with a known variance;
their precision-weighted mean is the *raw* estimate, and the empirical-Bayes posterior
under the ``N(0, 1)`` population prior is the *shrunk* score with its interval.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["ComponentFit", "adjusted_rep_means", "combine_components"]

#: Backfitting passes (the fit changes by far less than the sampling error after these).
_PASSES = 6
#: Residual degrees of freedom needed to trust the fitted noise level.
_MIN_DOF = 5
#: Reps with events needed before a component's spread across reps is estimated.
MIN_REPS = 4


@dataclass
class ComponentFit:
    """Per-rep adjusted means of one component (arrays over the rep codes)."""

    mean: np.ndarray  # adjusted, centred within region (nan without events)
    n: np.ndarray  # events
    s2: float  # residual variance of one event


def _group_mean(values: np.ndarray, codes: np.ndarray, size: int) -> np.ndarray:
    cnt = np.bincount(codes, minlength=size)
    tot = np.bincount(codes, weights=values, minlength=size)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(cnt > 0, tot / np.maximum(cnt, 1), 0.0)


def adjusted_rep_means(
    value: np.ndarray,
    rep: np.ndarray,
    n_reps: int,
    factors: list[np.ndarray],
    rep_region: np.ndarray,
) -> ComponentFit:
    """Rep effects of one component net of the difficulty ``factors``.

    Parameters
    ----------
    value
        The observations (higher is better).
    rep
        Rep code of each observation (``0 .. n_reps - 1``).
    n_reps
        Number of rep codes.
    factors
        Integer codes of each difficulty factor, one array per factor.
    rep_region
        Region code of each rep (reps are compared within their region).

    Returns
    -------
    ComponentFit
    """
    n = np.bincount(rep, minlength=n_reps).astype(float)
    if not len(value):
        return ComponentFit(np.full(n_reps, np.nan), n, np.nan)
    r = value - value.mean()
    sizes = [int(f.max()) + 1 if len(f) else 1 for f in factors]
    eff = [np.zeros(s) for s in sizes]
    rep_eff = _group_mean(r, rep, n_reps)
    fitted_f = np.zeros(len(r))
    for _ in range(_PASSES):
        for k, f in enumerate(factors):
            partial = fitted_f - eff[k][f]
            eff[k] = _group_mean(r - rep_eff[rep] - partial, f, sizes[k])
            fitted_f = partial + eff[k][f]
        rep_eff = _group_mean(r - fitted_f, rep, n_reps)
    resid = r - rep_eff[rep] - fitted_f
    dof = len(r) - int((n > 0).sum()) - sum(len(np.unique(f)) for f in factors)
    if dof >= max(_MIN_DOF, 0.2 * len(r)):
        s2 = float(resid @ resid / dof)
    else:  # too few events beyond the fitted effects: the total spread, conservatively
        s2 = float(r @ r / max(len(r) - 1, 1))
    if not s2 > 0:
        s2 = np.nan  # all values equal: nothing to tell reps apart by
    has = n > 0
    mean = np.where(has, rep_eff, np.nan)
    # compare reps within their region
    for g in np.unique(rep_region[has]):
        m = has & (rep_region == g)
        mean[m] -= mean[m].mean()
    return ComponentFit(mean, n, s2)


def _between_cov(fits: list[ComponentFit]) -> np.ndarray:
    """Method-of-moments covariance of the true rep means (components × components)."""
    k = len(fits)
    cov = np.full((k, k), np.nan)
    for i in range(k):
        for j in range(i, k):
            a, b = fits[i], fits[j]
            m = (a.n > 0) & (b.n > 0)
            if m.sum() < MIN_REPS or not (np.isfinite(a.s2) and np.isfinite(b.s2)):
                continue
            x, y = a.mean[m], b.mean[m]
            c = float(np.mean((x - x.mean()) * (y - y.mean())) * m.sum() / (m.sum() - 1))
            if i == j:
                c -= float(np.mean(a.s2 / a.n[m]))
            cov[i, j] = cov[j, i] = c
    return cov


def loadings(fits: list[ComponentFit]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Loading ``b_c``, nuisance variance ``ψ_c`` and between-rep variance ``Σ_cc``.

    A component without detectable between-rep variation gets ``b_c = nan`` (it is
    left out of the score).
    """
    cov = _between_cov(fits)
    diag = np.diag(cov).copy()
    k = len(fits)
    b2 = np.where(diag > 0, diag, np.nan)
    usable = np.flatnonzero(np.isfinite(b2))
    if len(usable) >= 3:
        # one factor: cov_ab = b_a b_b, so b_a² = cov_ab cov_ac / cov_bc for every pair
        # (b, c) of other components; the median over the pairs (one pair with three)
        new = b2.copy()
        for a in usable:
            est = [
                cov[a, b] * cov[a, c] / cov[b, c]
                for b, c in itertools.combinations([u for u in usable if u != a], 2)
                if all(np.isfinite(o) and o > 0 for o in (cov[a, b], cov[a, c], cov[b, c]))
            ]
            if est:
                new[a] = min(float(np.median(est)), diag[a])
        b2 = new
    b2 = np.where(np.isfinite(b2), np.maximum(b2, 0.05 * np.where(diag > 0, diag, 0)), np.nan)
    psi = np.where(np.isfinite(b2), np.maximum(diag - b2, 0.0), np.nan)
    return np.sqrt(b2), psi, np.array([diag[c] for c in range(k)])


@dataclass
class Combined:
    """Per-rep estimates of one scenario's skill (arrays over the rep codes)."""

    raw: np.ndarray
    raw_sd: np.ndarray
    score: np.ndarray
    sd: np.ndarray
    component: np.ndarray  # (n_reps, k) shrunk single-component estimates
    b: np.ndarray
    psi: np.ndarray
    between: np.ndarray


def combine_components(fits: list[ComponentFit]) -> Combined:
    """Raw and empirical-Bayes skill estimates from the components of one scenario."""
    n_reps = len(fits[0].mean)
    b, psi, between = loadings(fits)
    prec = np.zeros(n_reps)
    wsum = np.zeros(n_reps)
    comp = np.full((n_reps, len(fits)), np.nan)
    for c, f in enumerate(fits):
        if not np.isfinite(b[c]):
            continue
        has = f.n > 0
        z = np.where(has, f.mean / b[c], 0.0)
        v = np.where(has, (f.s2 / np.maximum(f.n, 1) + psi[c]) / b[c] ** 2, np.inf)
        w = np.where(has, 1.0 / v, 0.0)
        prec += w
        wsum += w * z
        comp[:, c] = np.where(has, w * z / (1.0 + w), 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        raw = np.where(prec > 0, wsum / prec, np.nan)
        raw_sd = np.where(prec > 0, 1.0 / np.sqrt(prec), np.nan)
    post = 1.0 + prec
    score = wsum / post
    # the skill scale (the loadings) is itself estimated from the spread of the reps'
    # means: a relative error of about sqrt(1 / (2 (R - 1))) on every loading, which
    # moves a score in proportion to its distance from the average
    n_seen = int((prec > 0).sum())
    rel2 = 1.0 / (2.0 * max(n_seen - 1, 1))
    return Combined(
        raw=raw,
        raw_sd=np.sqrt(raw_sd**2 + raw**2 * rel2),
        score=score,
        sd=np.sqrt(1.0 / post + score**2 * rel2),
        component=comp,
        b=b,
        psi=psi,
        between=between,
    )


def codes(values: pd.Series | np.ndarray) -> np.ndarray:
    """Integer codes of a column (missing values get a code of their own)."""
    arr = np.asarray(values)
    if arr.dtype.kind in "iu":
        c, _ = pd.factorize(arr, sort=False)
    else:
        c, _ = pd.factorize(pd.Series(values).astype(object).fillna("unknown"), sort=False)
    return c.astype(np.int64)
