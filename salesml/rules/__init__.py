"""salesml.rules: safe rule expressions and phrase templates, customer tiering and follow-ups.

- :mod:`salesml.rules.expr` / :mod:`salesml.rules.template`: the bounded grammar and phrases;
- :func:`customer_metrics`: customer figures as of any date (the words tier rules use);
- :func:`tier_customers`: ordered, first-match tier rules with a default tier and history;
- :func:`due_followups`: follow-up rules as data (condition + action + cooldown) -> tasks;
- :func:`followup_leads` / :func:`save_followup_leads`: the ``create_lead`` tasks as rows of
  the leads table, added to a dataset folder (``create_followup_leads`` does both).

The grammar is imported eagerly (the filter spec and the data layer use it); tiering and
follow-ups, which read :class:`~salesml.data.SalesData` and return result objects, are
imported on first use, so ``salesml.filters -> salesml.rules.expr`` stays free of cycles.
"""

from __future__ import annotations

import importlib
from typing import Any

from salesml.rules.expr import (
    FUNCTIONS,
    Expr,
    ExpressionError,
    compile_expr,
    evaluate_mask,
    mask,
)

_LAZY = {
    "FollowupResult": "salesml.rules.followups",
    "FollowupRules": "salesml.rules.followups",
    "default_followup_rules": "salesml.rules.followups",
    "due_followups": "salesml.rules.followups",
    "create_followup_leads": "salesml.rules.leads",
    "followup_leads": "salesml.rules.leads",
    "save_followup_leads": "salesml.rules.leads",
    "customer_metrics": "salesml.rules.metrics",
    "RuleError": "salesml.rules.rulefile",
    "TierResult": "salesml.rules.tiering",
    "TierRules": "salesml.rules.tiering",
    "default_tier_rules": "salesml.rules.tiering",
    "tier_customers": "salesml.rules.tiering",
}

__all__ = [
    "FUNCTIONS",
    "Expr",
    "ExpressionError",
    "compile_expr",
    "evaluate_mask",
    "mask",
    *sorted(_LAZY),
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'salesml.rules' has no attribute {name!r}")
