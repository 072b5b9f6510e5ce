"""Activity-based cost allocation: every cost line bound to the sales actions that used it.

:func:`allocate_costs` reads the cost ledger and a rule set (YAML shipped with the
package, see ``default_rules.yaml``; users pass their own path or dict) and binds
each cost line to *driver rows* — leads, activities, deals or redemptions of
store materials — in the line's scope, by weight. The result, an
:class:`Allocation`, keeps one row per (cost line, driver row) pair, the cost
lines left unallocated with the reason, and the views a controller asks for
(cost per activity, deal, customer, store; the cost path of one deal).

Modules: :mod:`~salesml.attribution.allocation.rules` (reading and checking rules),
:mod:`~salesml.attribution.allocation.drivers` (the action tables rules bind to),
:mod:`~salesml.attribution.allocation.allocate` (the algorithm),
:mod:`~salesml.attribution.allocation.result` (the result object).
"""

from __future__ import annotations

from salesml.attribution.allocation.allocate import allocate_costs
from salesml.attribution.allocation.by_month import MonthlyAllocation, allocate_costs_by_month
from salesml.attribution.allocation.drivers import DRIVERS, driver_frame
from salesml.attribution.allocation.result import REASONS, Allocation
from salesml.attribution.allocation.rules import RuleError, RulesLike, default_rules, load_rules

__all__ = [
    "DRIVERS",
    "REASONS",
    "Allocation",
    "MonthlyAllocation",
    "RuleError",
    "RulesLike",
    "allocate_costs",
    "allocate_costs_by_month",
    "default_rules",
    "driver_frame",
    "load_rules",
]
