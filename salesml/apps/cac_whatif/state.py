"""State of the CAC what-if app: budget factors, elasticity and a rule editor; no widgets.

Moving a channel's budget factor recomputes CAC and ROI with intervals from the
cached allocation (milliseconds). Editing a category's rule checks the expression
live (``rule_check``); applying it re-allocates the costs once (cached per rule set).
Opened on a month-partitioned folder (:meth:`CacWhatIfState.from_dataset`), the costs
are allocated month by month, and again so under an edited rule set, so a big dataset
is never held whole.
"""

from __future__ import annotations

import copy
import json
import os
from typing import Any

import pandas as pd
from traitlets import Dict, Float, Instance, Int, List, Unicode, observe

from salesml.apps.base import AppState, dataset_path
from salesml.attribution import (
    DRIVERS,
    Allocation,
    RuleError,
    WhatIfResult,
    allocate_costs,
    default_rules,
    driver_frame,
    load_rules,
    what_if,
)
from salesml.attribution.allocation.by_month import allocate_dataset
from salesml.attribution.allocation.rules import spanning_rule
from salesml.attribution.cac import as_allocation
from salesml.data.bundle import SalesData
from salesml.data.schema import COST_CATEGORIES
from salesml.i18n import t
from salesml.rules.expr import ExpressionError, compile_expr

__all__ = ["CacWhatIfState"]


class CacWhatIfState(AppState):
    """CAC what-if: budget factors per channel, an elasticity assumption, a rule editor.

    Parameters
    ----------
    data
        The dataset (needs ``costs``, ``customers``, ``deals``, ``leads``), or its
        allocation under the default rules (:func:`~salesml.attribution.allocation.
        by_month.allocate_dataset`, what :meth:`from_dataset` passes: month by month from
        a month-partitioned folder; an edited rule set is then allocated so too).
    lang
        ``en`` or ``zh``.
    n_boot
        Bootstrap replicates of the intervals.

    Attributes
    ----------
    budget
        ``{channel: factor}`` (1 = unchanged); assign a new dict to change it.
    elasticity
        Assumed response of acquisitions to budget (see :func:`~salesml.attribution.what_if`).
    channels
        Channels offered.
    edit_category, edit_driver, edit_filter, edit_scope, edit_weight
        The rule editor's fields for one category (scope as comma-separated keys).
    rule_check
        ``""`` when the edited rule is valid, else the error (with a caret line).
    rules
        The active rule set (defaults until a rule is applied).
    result
        The latest :class:`~salesml.attribution.WhatIfResult` (``table``: CAC by
        channel, ``roi``, ``total``, ``unallocated`` under the active rules).
    """

    budget = Dict()
    elasticity = Float(0.7)
    channels = List(Unicode())
    categories = List(Unicode())
    drivers = List(Unicode())
    edit_category = Unicode("tools")
    edit_driver = Unicode("activities")
    edit_filter = Unicode("")
    edit_scope = Unicode("")
    edit_weight = Unicode("")
    rule_check = Unicode("")
    rules = Dict()
    n_boot = Int(200)
    result = Instance(WhatIfResult, allow_none=True)

    def __init__(
        self,
        data: SalesData | Allocation,
        *,
        lang: str = "en",
        n_boot: int = 200,
        **kwargs: Any,
    ) -> None:
        super().__init__(lang=lang, n_boot=n_boot, **kwargs)
        base = data if isinstance(data, Allocation) else None
        data = base.data if base is not None else data
        data.require("costs", "customers", "deals", "leads", analysis="the CAC what-if app")
        self.data = data
        self._base = base if base is not None else allocate_costs(data)
        self._columns: dict[str, pd.Series] = {}
        self.rules = default_rules()
        self.channels = sorted(str(c) for c in data.customers["source_channel"].dropna().unique())
        self.categories = list(COST_CATEGORIES)
        self.drivers = list(DRIVERS)
        self.budget = {c: 1.0 for c in self.channels}
        self._load_editor()
        self.recompute()

    @classmethod
    def from_dataset(
        cls, dataset: str | os.PathLike[str] | None = None, *, lang: str = "en"
    ) -> CacWhatIfState:
        """Open a dataset folder (default: ``$SALESML_DATASET`` or ``datasets/demo``).

        Its costs are allocated month by month when the folder is month-partitioned
        (only the columns CAC reads are held), else its CAC tables are loaded
        (:func:`~salesml.attribution.allocation.by_month.allocate_dataset`).
        """
        return cls(allocate_dataset(dataset_path(dataset)), lang=lang)

    # ------------------------------------------------------------------ budget
    def set_factor(self, channel: str, factor: float) -> None:
        """Set one channel's budget factor (recomputes)."""
        if channel not in self.channels:
            raise ValueError(f"unknown channel {channel!r}; channels: {self.channels}")
        self.budget = {**self.budget, channel: float(factor)}

    @observe("budget", "elasticity")
    def _on_budget(self, change: dict[str, Any]) -> None:
        self.recompute()

    # ------------------------------------------------------------------ rule editor
    def _load_editor(self) -> None:
        rules = self.rules.get("categories", {}).get(self.edit_category) or []
        r = rules[0] if rules else {}
        self.edit_driver = str(r.get("driver", "activities"))
        self.edit_filter = str(r.get("filter") or "")
        self.edit_scope = ", ".join(r.get("scope", []))
        self.edit_weight = str(r.get("weight") or "")
        self._check_rule()

    @observe("edit_category")
    def _on_category(self, change: dict[str, Any]) -> None:
        self._load_editor()

    @observe("edit_driver", "edit_filter", "edit_scope", "edit_weight")
    def _on_edit(self, change: dict[str, Any]) -> None:
        self._check_rule()

    def _driver_columns(self, driver: str) -> pd.Series:
        """Column name -> dtype, so the editor refuses ``kind * 6000`` (text) as it is typed."""
        if driver not in self._columns:
            self._columns[driver] = driver_frame(self._editor_data(driver), driver).dtypes
        return self._columns[driver]

    def _editor_data(self, driver: str) -> SalesData:
        """The data a driver's columns are read from: the dataset; for an allocation made
        month by month (whose data holds only what CAC reads), the driver table's rows of
        the ledger's last month, with every column, next to the data."""
        folder = self._base.folder
        if folder is None:
            return self.data
        from salesml.data.io import load_dataset
        from salesml.periods import Period

        last = pd.Timestamp(self.data.costs["incurred_at"].max())
        table = DRIVERS[driver]
        month = load_dataset(
            folder,
            tables=[table],
            period=Period.parse(f"{last:%Y-%m}"),
            compact=True,
            progress=False,
        )
        return SalesData({**self.data.tables, **month.tables}, self.data.config)

    def _edited_rule(self) -> dict[str, Any]:
        scope = [s.strip() for s in self.edit_scope.split(",") if s.strip()]
        rule: dict[str, Any] = {
            "name": "edited in the app",
            "driver": self.edit_driver,
            "scope": scope,
        }
        if self.edit_filter.strip():
            rule["filter"] = self.edit_filter.strip()
        if self.edit_weight.strip():
            rule["weight"] = self.edit_weight.strip()
        return rule

    def _check_rule(self) -> bool:
        """Validate the edited rule; put the error (or "") in ``rule_check``."""
        try:
            if self.edit_driver not in DRIVERS:
                raise ValueError(f"driver must be one of {', '.join(DRIVERS)}")
            cols = self._driver_columns(self.edit_driver)
            for what, text in (("filter", self.edit_filter), ("weight", self.edit_weight)):
                if text.strip():
                    try:
                        compile_expr(text, columns=cols)
                    except ExpressionError as e:
                        raise ValueError(f"{what}: {e}") from None
            for key in self._edited_rule()["scope"]:
                if key not in cols:
                    raise ValueError(f"scope key {key!r} is not a column of {self.edit_driver}")
        except Exception as e:
            self.rule_check = str(e)
            return False
        self.rule_check = ""
        return True

    def apply_rule(self) -> bool:
        """Make the edited rule the only rule of ``edit_category`` and recompute.

        Returns ``False`` (and leaves the rules unchanged) when the rule is invalid.
        """
        if not self._check_rule():
            return False
        rules = copy.deepcopy(self.rules)
        rules.setdefault("categories", {})[self.edit_category] = [self._edited_rule()]
        try:
            load_rules(rules)
            spanning = spanning_rule(rules) if self._base.folder is not None else None
        except RuleError as e:
            self.rule_check = str(e)
            return False
        if spanning is not None:  # the folder is allocated month by month again
            self.rule_check = t(
                "cac_whatif.spans_months",
                self.lang,
                rule=spanning.label,
                scope=", ".join(spanning.scope),
            )
            return False
        self.rules = rules
        self.recompute()
        return True

    def reset_rules(self) -> None:
        """Back to the default rules."""
        self.rules = default_rules()
        self._load_editor()
        self.recompute()

    # ------------------------------------------------------------------ compute
    def _allocation(self) -> Allocation:
        key = json.dumps(self.rules, sort_keys=True, default=str)
        if key == json.dumps(default_rules(), sort_keys=True, default=str):
            return self._base
        return as_allocation(self._base, rules=self.rules, as_of=None)  # cached per rule set

    def recompute(self) -> None:
        """Recompute CAC and ROI for the current budget, elasticity and rules."""
        if not self.channels:
            return
        with self.computing():
            al = self._allocation()
            shift = {c: f for c, f in self.budget.items() if f != 1.0}
            self.result = what_if(
                al, budget_shift=shift, elasticity=self.elasticity, n_boot=self.n_boot
            )
