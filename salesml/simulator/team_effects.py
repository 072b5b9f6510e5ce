"""Opt-in planted effects: deals led by reps strong in a scenario get paid sooner, or
close faster.

``simulate()`` does not call these (its tables and every earlier planted figure stay
as they are); a test or benchmark that needs an effect applies it to a simulated
dataset::

    data, truth = simulate(preset="demo", seed=0)
    data, planted = plant_payment_speed(data, truth)
    data, cycle = plant_cycle_time(data, truth)

Cycle time (:func:`plant_cycle_time`): see its docstring.

Payment speed (:func:`plant_payment_speed`):
Each contract's payments move by ``days_per_sd × skill`` days (the skill of the deal's
rep in ``scenario``, in standard deviations of the planted skills), never before the
signature; a payment moved past the end of the simulated window is not seen yet. No
random draw is made, so nothing else changes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from salesml.data.bundle import SalesData
from salesml.simulator.truth import Truth

__all__ = ["PlantedCycleTime", "PlantedPaymentSpeed", "plant_cycle_time", "plant_payment_speed"]


@dataclass(frozen=True)
class PlantedPaymentSpeed:
    """What :func:`plant_payment_speed` planted.

    Attributes
    ----------
    scenario
        The skill that drives the speed.
    days_per_sd
        Change of each contract's payment dates per standard deviation of that skill
        (negative: stronger reps are paid sooner).
    skill_sd
        Standard deviation of the planted skill over the reps (the unit of ``days_per_sd``).
    """

    scenario: str
    days_per_sd: float
    skill_sd: float

    def effect_of(self, rep_skills: pd.Series) -> float:
        """Planted change in days to payment for deals led by reps with these skills
        (their mean, against a rep of skill 0)."""
        return float(self.days_per_sd * np.mean(rep_skills.to_numpy(float)) / self.skill_sd)


def plant_payment_speed(
    data: SalesData, truth: Truth, *, scenario: str = "commercial", days_per_sd: float = -6.0
) -> tuple[SalesData, PlantedPaymentSpeed]:
    """Shift each contract's payments by the deal rep's skill (see the module docstring).

    Returns
    -------
    (SalesData, PlantedPaymentSpeed)
        A new bundle (``payments`` replaced) and what was planted.
    """
    skills = truth.rep_skills[scenario]
    sd = float(skills.std(ddof=1))
    k = data.contracts[["contract_id", "deal_id", "signed_at"]]
    rep = k["deal_id"].map(data.deals.set_index("deal_id")["rep_id"])
    shift_days = days_per_sd * rep.map(skills).to_numpy(float) / sd
    per_contract = pd.Series(shift_days, index=k["contract_id"].to_numpy())
    signed = pd.Series(k["signed_at"].to_numpy(), index=k["contract_id"].to_numpy())
    pay = data.payments.copy()
    shift = pd.to_timedelta(pay["contract_id"].map(per_contract).fillna(0.0), unit="D")
    moved = pay["paid_at"] + shift
    floor = pay["contract_id"].map(signed) + pd.Timedelta(hours=2)
    pay["paid_at"] = moved.where(moved > floor, floor).astype(pay["paid_at"].dtype)
    pay = pay[(pay["paid_at"] < truth.end).to_numpy()]  # moved past the end: not seen yet
    return data.replace(payments=pay), PlantedPaymentSpeed(scenario, float(days_per_sd), sd)


#: Tag of the random stream of :func:`plant_cycle_time` (its own: no other draw moves).
_CYCLE_STREAM = 0x5C1E


@dataclass(frozen=True)
class PlantedCycleTime:
    """What :func:`plant_cycle_time` planted.

    Attributes
    ----------
    scenario
        The skill that drives the speed.
    days_per_sd
        Change of each won deal's cycle (creation to close, days) per standard deviation
        of that skill (negative: stronger reps close sooner).
    skill_sd
        Standard deviation of the planted skill over the reps.
    noise_days
        Standard deviation of the per-deal jitter added to the change.
    deals
        Won deals whose cycle was changed.
    kept
        Won deals left as they were (their moved close would fall after the data's end).
    """

    scenario: str
    days_per_sd: float
    skill_sd: float
    noise_days: float
    deals: int
    kept: int

    def effect_of(self, rep_skills: pd.Series) -> float:
        """Planted change in cycle days for deals led by reps with these skills."""
        return float(self.days_per_sd * np.mean(rep_skills.to_numpy(float)) / self.skill_sd)


def _stretch(
    frame: pd.DataFrame, col: str, key: pd.Series, start: pd.Series, factor: pd.Series
) -> pd.Series:
    """``col`` moved to ``start + (t - start) * factor`` for the rows whose ``key`` has a
    factor (other rows unchanged)."""
    f = key.map(factor)
    s0 = key.map(start)
    t = frame[col]
    moved = s0 + (t - s0) * f.to_numpy(float)
    return t.where(f.isna().to_numpy(), moved).astype(t.dtype)


def plant_cycle_time(
    data: SalesData,
    truth: Truth,
    *,
    scenario: str = "technical",
    days_per_sd: float = -5.0,
    noise_days: float = 2.0,
    seed: int | None = None,
) -> tuple[SalesData, PlantedCycleTime]:
    """Make each won deal's cycle ``days_per_sd × skill`` days shorter or longer.

    The skill is the deal rep's in ``scenario``, in standard deviations of the planted
    skills, plus a jitter of ``noise_days`` drawn from the function's own random stream
    (``default_rng([seed, tag])``; ``seed`` defaults to the simulated dataset's). The
    deal's life is stretched in time, so its order of events is kept: stage entries,
    quotes, activities and collaboration events up to the close move to
    ``created + (t - created) × new cycle / old cycle``; the close, the contract's
    signature, its approvals and payments, and the delivery documents after the close
    move with the close, so the days to payment stay as they were. A cycle never falls
    below 30% of its old length; a deal whose close would fall after the data's end
    keeps its timeline (counted in ``kept``). Lost and open deals are not changed.

    Returns
    -------
    (SalesData, PlantedCycleTime)
        A new bundle (the tables above replaced) and what was planted.
    """
    if seed is None:
        seed = int((data.config.extra or {}).get("simulator", {}).get("seed", 0))
    skills = truth.rep_skills[scenario]
    sd = float(skills.std(ddof=1))
    deals = data.deals
    won = deals[(deals["outcome"] == "won").to_numpy() & deals["closed_at"].notna().to_numpy()]
    rng = np.random.default_rng([seed, _CYCLE_STREAM])
    jitter = noise_days * rng.standard_normal(len(won))
    old = (won["closed_at"] - won["created_at"]) / pd.Timedelta(days=1)
    change = days_per_sd * won["rep_id"].map(skills).to_numpy(float) / sd + jitter
    new = np.maximum(old.to_numpy(float) + np.nan_to_num(change), 0.3 * old.to_numpy(float))
    close = (won["created_at"] + pd.to_timedelta(new, unit="D")).astype(won["closed_at"].dtype)
    ok = (close < truth.end).to_numpy()
    won, new, old, close = won[ok], new[ok], old[ok], close[ok]
    ids = won["deal_id"].to_numpy()
    factor = pd.Series(new / old.to_numpy(float), index=ids)
    start = pd.Series(won["created_at"].to_numpy(), index=ids)
    delta = pd.Series((close - won["closed_at"]).to_numpy(), index=ids)
    end = truth.end
    out: dict[str, pd.DataFrame] = {}
    d = deals.copy()
    d["closed_at"] = (
        d["closed_at"]
        .where(
            ~d["deal_id"].isin(ids).to_numpy(),
            d["deal_id"].map(pd.Series(close.to_numpy(), index=ids)),
        )
        .astype(d["closed_at"].dtype)
    )
    out["deals"] = d
    for name, cols in (
        ("stage_history", ("entered_at",)),
        ("quotes", ("sent_at", "first_viewed_at", "replied_at")),
        ("activities", ("occurred_at", "responded_at")),
    ):
        if not data.has(name):
            continue
        f = data[name].copy()
        for c in cols:
            if c in f:
                f[c] = _stretch(f, c, f["deal_id"], start, factor)
        out[name] = f
    if data.has("collab_events"):
        ce = data.collab_events.copy()
        after = ce["deal_id"].map(won.set_index("deal_id")["closed_at"])
        post = (ce["occurred_at"] > after).to_numpy()
        stretched = _stretch(ce, "occurred_at", ce["deal_id"], start, factor)
        shifted = ce["occurred_at"] + ce["deal_id"].map(delta).fillna(pd.Timedelta(0))
        ce["occurred_at"] = stretched.where(~post, shifted).astype(ce["occurred_at"].dtype)
        out["collab_events"] = ce[(ce["occurred_at"] < end).to_numpy()]
    if data.has("contracts"):
        k = data.contracts.copy()
        k_shift = k["deal_id"].map(delta)
        k["signed_at"] = k["signed_at"] + k_shift.fillna(pd.Timedelta(0))
        out["contracts"] = k
        by_contract = pd.Series(k_shift.to_numpy(), index=k["contract_id"].to_numpy())
        for name, key, cols in (
            ("payments", "contract_id", ("paid_at",)),
            ("approvals", "subject_id", ("submitted_at", "decided_at")),
        ):
            if not data.has(name):
                continue
            f = data[name].copy()
            sh = f[key].map(by_contract).fillna(pd.Timedelta(0))
            for c in cols:
                f[c] = f[c] + sh
            first = cols[0]
            out[name] = f[~(f[first] >= end).to_numpy()]  # moved past the end: not seen yet
    planted = PlantedCycleTime(
        scenario, float(days_per_sd), sd, float(noise_days), int(ok.sum()), int((~ok).sum())
    )
    return data.replace(**out), planted
