"""Opt-in step: latent lead quality, what the team can see of it, and its effect on conversion.

``simulate(..., lead_quality=True)`` gives each lead a latent quality ``q ~ N(0, 1)``
drawn from a random stream of its own (``default_rng([seed, chunk, LEAD_QUALITY_TAG])``),
so the shared stream of every other step is untouched. Quality raises the lead's
conversion log-odds by :data:`QUALITY_EFFECT` per standard deviation (re-centred so
the overall conversion rate stays what it was); the team sees it only through noisy
signals added to the ``leads`` table:

- ``project_area_m2`` (the site's size from the enquiry form, at creation):
  ``150 * exp(0.45 q + 0.3 e)``;
- ``budget_band`` (the form's answer, at creation): ``low`` / ``mid`` / ``high`` by
  ``q + N(0, 0.9)`` cut at -0.6 and 0.6;
- ``inspected_at`` (a site inspection, one to six days after creation, for a share
  ``sigmoid(-0.4 + 0.9 q)`` of the leads) and ``findings_reported`` (defects found at
  the inspection, ``Poisson(exp(0.4 + 0.5 q))``; missing when not inspected).

Without the switch nothing of this is drawn and the tables are as before. The true
conversion probability and the quality of each lead go into ``Truth.lead_quality``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from salesml.simulator.helpers import days_to_timestamps

__all__ = [
    "BUDGET_BANDS",
    "LEAD_QUALITY_TAG",
    "QUALITY_EFFECT",
    "lead_signal_columns",
    "plant_lead_quality",
]

#: Third entropy word of the planted quality's own random stream.
LEAD_QUALITY_TAG = 0x1EAD
#: Log-odds of conversion per standard deviation of latent quality.
QUALITY_EFFECT = 1.3
#: Answers of the enquiry form's budget question, lowest first.
BUDGET_BANDS: tuple[str, str, str] = ("low", "mid", "high")


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _recentre(logit: np.ndarray, target: float) -> np.ndarray:
    """``logit - c`` with ``c`` such that the mean probability equals ``target``."""
    lo, hi = -10.0, 10.0
    for _ in range(60):
        mid = (lo + hi) / 2
        if _sigmoid(logit - mid).mean() > target:
            lo = mid
        else:
            hi = mid
    return logit - (lo + hi) / 2


def plant_lead_quality(
    rng: np.random.Generator, created: np.ndarray, p_conv: np.ndarray
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Latent quality, its signals and the conversion probability it implies.

    Parameters
    ----------
    rng
        The quality's own random stream.
    created
        Lead creation times (float days).
    p_conv
        Conversion probability of each lead without quality.

    Returns
    -------
    (numpy.ndarray, dict)
        The new conversion probabilities, and ``quality``, ``p_convert`` plus the raw
        signals (``project_area_m2``, ``budget_band`` codes, ``inspected`` flags,
        ``inspected_day``, ``findings``).
    """
    n = len(created)
    q = rng.standard_normal(n)
    p0 = np.clip(p_conv, 1e-4, 1 - 1e-4)
    logit = np.log(p0 / (1 - p0)) + QUALITY_EFFECT * q
    p = np.clip(_sigmoid(_recentre(logit, float(p_conv.mean()))), 0.005, 0.97)
    area = 150.0 * np.exp(0.45 * q + 0.3 * rng.standard_normal(n))
    band = np.digitize(q + 0.9 * rng.standard_normal(n), [-0.6, 0.6])
    inspected = rng.random(n) < _sigmoid(-0.4 + 0.9 * q)
    day = created + rng.uniform(1.0, 6.0, n)
    findings = rng.poisson(np.exp(0.4 + 0.5 * q)).astype("float64")
    return p, {
        "quality": q,
        "p_convert": p,
        "project_area_m2": np.round(area, 1),
        "budget_band": band,
        "inspected": inspected,
        "inspected_day": day,
        "findings": findings,
    }


def lead_signal_columns(
    planted: dict[str, np.ndarray], t0: np.datetime64, end: float
) -> dict[str, np.ndarray]:
    """The ``leads`` columns of the planted signals (inspections after ``end`` left out)."""
    done = planted["inspected"] & (planted["inspected_day"] < end)
    when = np.where(done, planted["inspected_day"], np.nan)
    return {
        "project_area_m2": planted["project_area_m2"],
        "budget_band": np.array(BUDGET_BANDS, dtype=object)[planted["budget_band"]],
        "inspected_at": days_to_timestamps(t0, when),
        "findings_reported": np.where(done, planted["findings"], np.nan),
    }


def quality_truth(lead_ids: np.ndarray, planted: dict[str, np.ndarray]) -> pd.DataFrame:
    """``Truth.lead_quality`` rows of one chunk (index ``lead_id``)."""
    return pd.DataFrame(
        {"quality": planted["quality"], "p_convert": planted["p_convert"]},
        index=pd.Index(lead_ids, name="lead_id", dtype="str"),
    )
