"""How a scenario's skill moves a deal outcome, estimated from history.

``skill_effect`` estimates how a deal outcome moves with the capability score of the
deal's rep in one scenario, in two stages: the outcome net of segment and deal size is
averaged per rep, then the rep means are regressed on the reps' three scenario scores
(ordinary least squares, a t interval with reps - 4 degrees of freedom: the reps, not
the deals, are the independent units)::

    mean_r(outcome - segment - size band) = a + β_s · score_rs + Σ_other β_o · score_ro + e_r

Regressing on the *shrunk* scores (posterior means) rather than on noisy raw means
keeps ``β`` free of the attenuation that measurement error would cause (regression
calibration). Outcomes:

- ``payment_days``: days from signing until the contract is fully paid, beyond its
  payment terms (contracts signed at least ``settle_days`` before the data's end, so
  every one had time to be paid; contracts never fully paid are left out and counted);
- ``cycle_days``: days from creation to close of won deals;
- ``won``: 1 for a won, 0 for a lost deal (closed deals; a linear probability).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from salesml.capability.evidence import SCENARIOS
from salesml.capability.scores import LEVEL, Z90, CapabilityResult
from salesml.data.bundle import SalesData

__all__ = ["DEFAULT_OUTCOME", "OUTCOMES", "SkillEffect", "deal_outcomes", "skill_effect"]

#: Outcomes an effect can be estimated on.
OUTCOMES: tuple[str, ...] = ("payment_days", "cycle_days", "won")
#: The outcome a group needing each scenario is judged by, unless its YAML says otherwise.
DEFAULT_OUTCOME = {
    "technical": "cycle_days",
    "commercial": "payment_days",
    "delivery": "payment_days",
}
#: Least deals and reps behind an estimate the module will state.
MIN_DEALS, MIN_REPS = 50, 8


@dataclass(frozen=True)
class SkillEffect:
    """Change of ``outcome`` per standard deviation of the ``scenario`` score.

    ``supported`` is ``False`` (and ``reason`` a catalog key) when the data cannot
    support an estimate; ``per_sd``, ``lower`` and ``upper`` are then ``nan``.
    """

    scenario: str
    outcome: str
    per_sd: float
    se: float
    lower: float
    upper: float
    n_deals: int
    n_reps: int
    left_out: int
    supported: bool
    reason: str = ""
    quantile: float = Z90


def deal_outcomes(data: SalesData, outcome: str, *, settle_days: int = 180) -> pd.DataFrame:
    """One row per deal with the outcome: ``deal_id, rep_id, y`` plus ``segment`` and
    ``size_band``; ``attrs["left_out"]`` counts deals that could not be measured."""
    if outcome not in OUTCOMES:
        raise ValueError(f"outcome must be one of {', '.join(OUTCOMES)}, got {outcome!r}")
    deals = data.deals
    if outcome == "won":
        closed = deals[deals["outcome"].isin(["won", "lost"])]
        out = pd.DataFrame(
            {"deal_id": closed["deal_id"], "y": (closed["outcome"] == "won").to_numpy(float)}
        )
        left = int((deals["outcome"] == "open").sum())
    elif outcome == "cycle_days":
        won = deals[(deals["outcome"] == "won") & deals["closed_at"].notna()]
        y = (won["closed_at"] - won["created_at"]) / pd.Timedelta(days=1)
        out = pd.DataFrame({"deal_id": won["deal_id"], "y": y.to_numpy(float)})
        left = int(((deals["outcome"] == "won") & deals["closed_at"].isna()).sum())
    else:
        if not data.has("contracts") or not data.has("payments"):
            raise ValueError("payment_days needs the contracts and payments tables")
        k = data.contracts
        end = data.payments["paid_at"].max() if len(data.payments) else k["signed_at"].max()
        k = k[k["signed_at"] <= end - pd.Timedelta(days=settle_days)]
        p = data.payments.groupby("contract_id").agg(
            paid=("amount", "sum"), last=("paid_at", "max")
        )
        k = k.join(p, on="contract_id")
        full = (k["paid"] >= 0.99 * k["amount"]).to_numpy()
        kk = k[full]
        y = (kk["last"] - kk["signed_at"]) / pd.Timedelta(days=1) - kk["payment_terms_days"]
        out = pd.DataFrame({"deal_id": kk["deal_id"], "y": y.to_numpy(float)})
        left = int((~full).sum())
    info = deals.set_index("deal_id")
    out["rep_id"] = out["deal_id"].map(info["rep_id"]).astype("str")
    amount = out["deal_id"].map(info["amount"]).to_numpy(float)
    edges = np.nanquantile(deals["amount"].to_numpy(float), [0.25, 0.5, 0.75])
    out["size_band"] = np.searchsorted(edges, amount)
    seg = (
        out["deal_id"]
        .map(info["customer_id"])
        .map(data.customers.drop_duplicates("customer_id").set_index("customer_id")["segment"])
        if data.has("customers")
        else pd.Series("unknown", index=out.index)
    )
    out["segment"] = seg.astype(object).fillna("unknown").to_numpy()
    out = out[np.isfinite(out["y"].to_numpy())].reset_index(drop=True)
    out.attrs["left_out"] = left
    return out


def skill_effect(
    data: SalesData,
    scores: CapabilityResult,
    *,
    scenario: str,
    outcome: str | None = None,
) -> SkillEffect:
    """Estimate how ``outcome`` moves per SD of the ``scenario`` score (see module doc)."""
    import statsmodels.api as sm

    outcome = outcome or DEFAULT_OUTCOME[scenario]
    d = deal_outcomes(data, outcome)
    sc = scores.table[scores.table["scenario"] == scenario].set_index("rep_id")["score"]
    d = d[d["rep_id"].isin(sc.index)]
    n_deals, n_reps = len(d), int(d["rep_id"].nunique())
    left = int(d.attrs.get("left_out", 0))
    if n_deals < MIN_DEALS or n_reps < MIN_REPS:
        return SkillEffect(
            scenario,
            outcome,
            np.nan,
            np.nan,
            np.nan,
            np.nan,
            n_deals,
            n_reps,
            left,
            False,
            "capability.effect.too_few",
            Z90,
        )
    # two stages, so a handful of reps does not pass for many independent deals:
    # (1) the outcome net of segment and deal size, averaged per rep;
    seg = pd.get_dummies(d["segment"].astype(str), prefix="seg", drop_first=True, dtype=float)
    bands = pd.get_dummies(d["size_band"].astype(str), prefix="band", drop_first=True, dtype=float)
    z = sm.add_constant(pd.concat([seg, bands], axis=1).to_numpy(float), has_constant="add")
    resid = d["y"].to_numpy(float) - z @ np.linalg.lstsq(z, d["y"].to_numpy(float), rcond=None)[0]
    per_rep = pd.Series(resid).groupby(d["rep_id"].to_numpy()).mean()
    # (2) those rep means on every scenario's score at once (skills correlate, and a
    # group is judged by the effect of its own scenario net of the others)
    wide = scores.table.pivot(index="rep_id", columns="scenario", values="score")
    cols = [c for c in SCENARIOS if c in wide.columns]
    x = wide[cols].reindex(per_rep.index)
    if n_reps <= len(cols) + 2 or float(x[scenario].std()) < 1e-6:
        return SkillEffect(
            scenario,
            outcome,
            np.nan,
            np.nan,
            np.nan,
            np.nan,
            n_deals,
            n_reps,
            left,
            False,
            "capability.effect.no_spread",
            Z90,
        )
    fit = sm.OLS(per_rep.to_numpy(float), sm.add_constant(x.to_numpy(float))).fit()
    j = 1 + cols.index(scenario)
    b, se = float(fit.params[j]), float(fit.bse[j])
    q = float(stats.t.ppf(0.5 + LEVEL / 2, fit.df_resid))
    return SkillEffect(
        scenario, outcome, b, se, b - q * se, b + q * se, n_deals, n_reps, left, True, "", q
    )


def group_effect(
    effect: SkillEffect, scores: pd.Series, sds: pd.Series
) -> tuple[float, float, float]:
    """Expected change of the outcome for deals led by a group with these scores (against
    reps of average skill), with its 90% interval: ``β · mean score``, the variance of
    ``β`` and of the members' scores both carried."""
    if not effect.supported or not len(scores):
        return np.nan, np.nan, np.nan
    m = float(scores.mean())
    var_m = float((sds**2).sum()) / len(sds) ** 2
    est = effect.per_sd * m
    var = m**2 * effect.se**2 + effect.per_sd**2 * var_m + effect.se**2 * var_m
    half = effect.quantile * float(np.sqrt(var))
    return est, est - half, est + half
