"""Opt-in planted effect: deals led by reps strong in a scenario get paid sooner.

``simulate()`` does not call this (its tables and every earlier planted figure stay
as they are); a test or benchmark that needs the effect applies it to a simulated
dataset::

    data, truth = simulate(preset="demo", seed=0)
    data, planted = plant_payment_speed(data, truth)

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

__all__ = ["PlantedPaymentSpeed", "plant_payment_speed"]


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
