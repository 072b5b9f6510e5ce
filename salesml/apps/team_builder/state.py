"""State of the team builder app: pick a rep, move reps between groups; no widgets.

Scores, the proposed placement and the history-based effects are computed once when
the app opens; a control change (selecting a rep, moving one) only recomputes the
per-group summary from cached arrays (milliseconds, whatever the dataset's size).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pandas as pd
from traitlets import Dict, Instance, List, Unicode, observe

from salesml.apps.base import AppState, load_app_data
from salesml.capability import SCENARIOS, CapabilityResult, capability_scores
from salesml.capability.effects import SkillEffect, deal_outcomes, group_effect, skill_effect
from salesml.capability.regroup import GroupSpec, load_groups, regroup
from salesml.capability.scores import COLUMNS
from salesml.data.bundle import SalesData

__all__ = ["LOAD_COLUMNS", "TeamBuilderState", "default_groups"]

#: Outcomes predicted per group.
PREDICTED = ("cycle_days", "won", "payment_days")
#: The "no group" choice of the move control.
NO_GROUP = ""
#: The columns of the activities the app loads: the capability evidence's
#: (:data:`salesml.capability.scores.COLUMNS`) without the customer, which the scores
#: and effects read from the deal (31M activities at tier L).
LOAD_COLUMNS: dict[str, tuple[str, ...]] = {
    "activities": tuple(c for c in COLUMNS["activities"] if c != "customer_id"),
}


def default_groups(size: int = 4) -> dict[str, Any]:
    """A technical key-account group and a commercial pricing group of ``size`` reps."""
    return {
        "groups": [
            {"name": "key_accounts", "scenario": "technical", "size": size},
            {"name": "pricing", "scenario": "commercial", "size": size},
        ]
    }


class TeamBuilderState(AppState):
    """Team builder: the radar and evidence of one rep; groups that can be edited.

    Parameters
    ----------
    data
        The dataset (see :func:`~salesml.capability.capability_scores`).
    groups
        A group declaration (YAML path, text or mapping; default :func:`default_groups`).
    lang
        ``en`` or ``zh``.

    Attributes
    ----------
    rep
        The selected rep (its radar and evidence are shown).
    reps
        Rep ids offered.
    group_names
        Declared group names.
    assignment
        ``{rep_id: group name}`` of the reps in a group (starts at the exact placement);
        change it with :meth:`move`.
    move_to
        The group the selected rep is moved to by :meth:`move_selected` (``""``: none).
    summary
        Per group: ``group, scenario, size, capacity, coverage, mean_capability,
        predicted_cycle_days, predicted_win_rate, predicted_payment_days,
        effect, effect_lower, effect_upper`` (``coverage``: members whose 90% interval
        lies above the average, over the group's size).
    evidence
        The selected rep's rows of the scores (scenario, score, interval, components,
        event counts).
    """

    rep = Unicode("")
    reps = List(Unicode())
    group_names = List(Unicode())
    assignment = Dict()
    move_to = Unicode(NO_GROUP)
    summary = Instance(pd.DataFrame, allow_none=True)
    evidence = Instance(pd.DataFrame, allow_none=True)

    TABLES = (
        "reps",
        "customers",
        "deals",
        "stage_history",
        "collab_events",
        "activities",
        "contracts",
        "payments",
    )

    def __init__(
        self,
        data: SalesData,
        *,
        groups: str | os.PathLike[str] | list | dict | None = None,
        lang: str = "en",
        **kwargs: Any,
    ) -> None:
        super().__init__(lang=lang, **kwargs)
        self.data = data
        self.specs: list[GroupSpec] = load_groups(groups or default_groups())
        self.scores: CapabilityResult = capability_scores(data)
        tab = self.scores.table
        self._wide = tab.pivot(index="rep_id", columns="scenario", values="score")
        self._sd = tab.pivot(index="rep_id", columns="scenario", values="score_sd")
        self._lower = tab.pivot(index="rep_id", columns="scenario", values="lower")
        self.effects: dict[tuple[str, str], SkillEffect] = {
            (s, o): skill_effect(data, self.scores, scenario=s, outcome=o)
            for s in SCENARIOS
            for o in {*PREDICTED, *(g.outcome for g in self.specs)}
        }
        self._base = {o: float(deal_outcomes(data, o)["y"].mean()) for o in PREDICTED}
        proposal = regroup(self.scores, groups=groups or default_groups(), tradeoffs=False)
        self.proposal = proposal
        self.group_names = [g.name for g in self.specs]
        self.reps = list(self._wide.index)
        self.assignment = dict(zip(proposal.table["rep_id"], proposal.table["group"], strict=True))
        self.rep = self.reps[0] if self.reps else ""

    @classmethod
    def from_dataset(
        cls, dataset: str | os.PathLike[str] | None = None, *, lang: str = "en"
    ) -> TeamBuilderState:
        """Open a dataset folder (default: ``$SALESML_DATASET`` or ``datasets/demo``)."""
        data = load_app_data(dataset, cls.TABLES, compact=True, columns=LOAD_COLUMNS)
        return cls(data, lang=lang)

    # ------------------------------------------------------------------ controls
    def move(self, rep: str, group: str) -> None:
        """Put ``rep`` in ``group`` (``""``: in no group)."""
        if rep not in self._wide.index:
            raise ValueError(f"unknown rep {rep!r}")
        if group and group not in self.group_names:
            raise ValueError(f"unknown group {group!r}; groups: {', '.join(self.group_names)}")
        new = dict(self.assignment)
        if group:
            new[rep] = group
        else:
            new.pop(rep, None)
        self.assignment = new

    def move_selected(self) -> None:
        """Move the selected rep to :attr:`move_to`."""
        self.move(self.rep, self.move_to)

    @observe("rep")
    def _on_rep(self, change: dict[str, Any]) -> None:
        with self.computing():
            tab = self.scores.table
            cols = [
                "scenario",
                "score",
                "lower",
                "upper",
                "timeliness",
                "quality",
                "outcome",
                "field",
                "n_timeliness",
                "n_quality",
                "n_outcome",
                "n_field",
                "evidence",
                "low_evidence",
            ]
            self.evidence = tab.loc[tab["rep_id"] == self.rep, cols].reset_index(drop=True)
            self.move_to = self.assignment.get(self.rep, NO_GROUP)

    @observe("assignment")
    def _on_assignment(self, change: dict[str, Any]) -> None:
        self.recompute()

    def recompute(self) -> None:
        """The per-group summary of the current :attr:`assignment`."""
        with self.computing():
            rows = []
            for g in self.specs:
                members = [r for r, name in self.assignment.items() if name == g.name]
                s = g.scenario
                mean = self._wide.loc[members].mean() if members else None
                row: dict[str, Any] = {
                    "group": g.name,
                    "scenario": s,
                    "size": len(members),
                    "capacity": g.max_size,
                    "coverage": float((self._lower.loc[members, s] > 0).sum() / max(g.max_size, 1)),
                    "mean_capability": float(mean[s]) if mean is not None else np.nan,
                }
                for o in PREDICTED:
                    row[f"predicted_{o}"] = (
                        self._base[o]
                        + sum(
                            self.effects[(sc, o)].per_sd * float(mean[sc])
                            for sc in SCENARIOS
                            if self.effects[(sc, o)].supported
                        )
                        if mean is not None
                        else np.nan
                    )
                eff = self.effects[(s, g.outcome)]
                est, lo, hi = (
                    group_effect(eff, self._wide.loc[members, s], self._sd.loc[members, s])
                    if members
                    else (np.nan, np.nan, np.nan)
                )
                row.update(
                    {"outcome": g.outcome, "effect": est, "effect_lower": lo, "effect_upper": hi}
                )
                rows.append(row)
            self.summary = pd.DataFrame(rows).rename(
                columns={"predicted_won": "predicted_win_rate"}
            )
