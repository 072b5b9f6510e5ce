"""Lead and account potential: which leads and accounts to work next, and why.

The model engine (engines, calibration, bands, explanations, backtest, persistence)
is :mod:`salesml.scoring`, the same as deal health's; this package is its lead and
account configuration. Typical use::

    from salesml.potential import fit_as_of, lead_features
    fit = fit_as_of(data, kind="lead", period="2026-10")
    today = lead_features(data, as_of=fit.as_of)
    scored = fit.model.score(today)            # probability, interval, expected revenue
    reasons = fit.model.explain(today, top=3)
"""

from __future__ import annotations

from salesml.potential.accounts import account_features, account_snapshots
from salesml.potential.asof import fit_as_of
from salesml.potential.backtest import backtest
from salesml.potential.baselines import account_baselines, lead_baselines, potential_signals
from salesml.potential.cash import LeadToCash, lead_to_cash
from salesml.potential.flat import FlatPotential, flat_potential
from salesml.potential.journey import CustomerJourneys, customer_journeys
from salesml.potential.model import AccountPotentialModel, PotentialModel, RevenuePerWin
from salesml.potential.snapshots import (
    lead_features,
    lead_snapshots,
    unavailable_lead_features,
)
from salesml.potential.visits import VisitBacktest, VisitPlan, visit_backtest, visit_plan

__all__ = [
    "AccountPotentialModel",
    "CustomerJourneys",
    "FlatPotential",
    "LeadToCash",
    "PotentialModel",
    "RevenuePerWin",
    "VisitBacktest",
    "VisitPlan",
    "account_baselines",
    "account_features",
    "account_snapshots",
    "backtest",
    "customer_journeys",
    "fit_as_of",
    "flat_potential",
    "lead_baselines",
    "lead_features",
    "lead_snapshots",
    "lead_to_cash",
    "potential_signals",
    "unavailable_lead_features",
    "visit_backtest",
    "visit_plan",
]
