"""``regroup``: place reps into new groups by the scenario each group needs, exactly.

Groups are declared in YAML (read by :func:`salesml.data.yamlsafe.load_yaml`)::

    groups:
      - name: key_accounts        # a plain name
        scenario: technical       # technical, commercial or delivery
        size: 4                   # or min_size / max_size
        must_keep: [R003]         # optional: members who stay whatever their score
        outcome: cycle_days       # optional: how its effect is judged (default by scenario)

Every rep goes to at most one group; a mixed-integer program (:func:`scipy.optimize.milp`)
maximises the sum of the members' scores in their group's scenario under the sizes and
must-keep members, so the result is the best possible placement, not a greedy one.
Each placement carries its reason (score, interval, rank) and its trade-off (the rep's
best other group and what the total would lose by moving them there, re-placing the rest
optimally: read off shortest paths in the placement's residual network, so one pass
serves every rep instead of one more solve per rep).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from salesml.capability.effects import (
    DEFAULT_OUTCOME,
    OUTCOMES,
    SkillEffect,
    group_effect,
    skill_effect,
)
from salesml.capability.evidence import SCENARIOS
from salesml.capability.scores import CapabilityResult, rep_label
from salesml.data.bundle import SalesData
from salesml.data.yamlsafe import load_yaml
from salesml.i18n import check_lang, label, t
from salesml.results import AnalysisResult

__all__ = ["GroupSpec", "RegroupResult", "load_groups", "regroup"]

#: Groups a declaration may hold, and reps a group may name as must-keep.
MAX_GROUPS, MAX_KEEP = 50, 500
_NAME = re.compile(r"^[^\W\d][\w\- ]{0,63}$")
_KEYS = {"name", "scenario", "size", "min_size", "max_size", "must_keep", "outcome"}


@dataclass(frozen=True)
class GroupSpec:
    """One declared group."""

    name: str
    scenario: str
    min_size: int
    max_size: int
    must_keep: tuple[str, ...] = ()
    outcome: str = ""


def _bad(where: str, msg: str) -> ValueError:
    return ValueError(f"{where}: {msg}")


def _size(v: Any, where: str, key: str) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= 100_000:
        raise _bad(where, f"{key} must be a whole number from 0 to 100000, got {v!r}")
    return v


def parse_groups(doc: Any, what: str = "groups") -> list[GroupSpec]:
    """Check a parsed declaration (``{"groups": [...]}`` or the list) and return the groups.

    Raises
    ------
    ValueError
        Naming the group (by position and name) and the key that is wrong.
    """
    items = doc.get("groups") if isinstance(doc, dict) else doc
    if not isinstance(items, list) or not items:
        raise _bad(what, "expected a non-empty list under 'groups'")
    if len(items) > MAX_GROUPS:
        raise _bad(what, f"{len(items)} groups declared; at most {MAX_GROUPS}")
    out, seen = [], set()
    for i, g in enumerate(items, 1):
        where = f"{what}, group {i}"
        if not isinstance(g, dict):
            raise _bad(where, "each group is a mapping with name, scenario and size")
        unknown = sorted(set(map(str, g)) - _KEYS)
        if unknown:
            raise _bad(where, f"unknown key(s) {unknown}; allowed: {sorted(_KEYS)}")
        name = g.get("name")
        if not isinstance(name, str) or not _NAME.match(name):
            raise _bad(where, f"name must be a plain name, got {name!r}")
        where = f"{what}, group {i} ({name})"
        if name in seen:
            raise _bad(where, "the name is used twice")
        seen.add(name)
        scen = g.get("scenario")
        if scen not in SCENARIOS:
            raise _bad(where, f"scenario must be one of {', '.join(SCENARIOS)}, got {scen!r}")
        if "size" in g:
            lo = hi = _size(g["size"], where, "size")
        else:
            if "max_size" not in g:
                raise _bad(where, "give size, or max_size (and optionally min_size)")
            lo = _size(g.get("min_size", 0), where, "min_size")
            hi = _size(g["max_size"], where, "max_size")
            if lo > hi:
                raise _bad(where, f"min_size {lo} is larger than max_size {hi}")
        keep = g.get("must_keep") or []
        if not isinstance(keep, list) or len(keep) > MAX_KEEP:
            raise _bad(where, f"must_keep must be a list of at most {MAX_KEEP} rep ids")
        keep = tuple(str(k) for k in keep)
        if len(keep) > hi:
            raise _bad(where, f"{len(keep)} must-keep members do not fit in size {hi}")
        outcome = g.get("outcome", DEFAULT_OUTCOME[scen])
        if outcome not in OUTCOMES:
            raise _bad(where, f"outcome must be one of {', '.join(OUTCOMES)}, got {outcome!r}")
        out.append(GroupSpec(name, scen, lo, hi, keep, outcome))
    kept = [k for g in out for k in g.must_keep]
    dup = sorted({k for k in kept if kept.count(k) > 1})
    if dup:
        raise _bad(what, f"rep(s) {dup} are must-keep in more than one group")
    return out


def load_groups(source: str | os.PathLike[str] | list | dict) -> list[GroupSpec]:
    """Groups from a YAML file (a path, or a string ending in ``.yaml``/``.yml``), YAML
    text, or an already parsed declaration."""
    if isinstance(source, (list, dict)):
        return parse_groups(source)
    if (
        isinstance(source, str)
        and "\n" not in source
        and source.strip().endswith((".yaml", ".yml"))
    ):
        source = Path(source.strip())  # a file name, not YAML text
    what = str(source) if not isinstance(source, str) else "YAML text"
    return parse_groups(load_yaml(source, what=what), what)


@dataclass(kw_only=True)
class RegroupResult(AnalysisResult):
    """A proposed grouping.

    ``table``: one row per rep placed: ``group, scenario, rep_id, name, team, score,
    lower, upper, evidence, rank, must_keep, alt_group, alt_score, loss_if_moved``
    (``rank``: the rep's rank in the scenario among all reps; ``loss_if_moved``: how much
    the objective would drop were this rep moved to ``alt_group`` and the rest re-solved).

    Attributes
    ----------
    groups
        Per group: ``group, scenario, size, mean_capability, outcome, effect, effect_lower,
        effect_upper, effect_supported``; the effect is the expected change in the outcome
        (days) for deals led by the group's members against average reps, from history.
    effects
        The :class:`~salesml.capability.effects.SkillEffect` behind each group.
    unplaced
        Reps in no group (``rep_id, name, best_group, best_score``).
    objective
        Sum of the members' scores.
    """

    title_key: ClassVar[str] = "capability.regroup.title"

    groups: pd.DataFrame = field(default_factory=pd.DataFrame)
    effects: dict[str, SkillEffect] = field(default_factory=dict)
    unplaced: pd.DataFrame = field(default_factory=pd.DataFrame)
    objective: float = 0.0

    def reasons(self, lang: str = "en") -> pd.Series:
        """One sentence per placed rep: why here, and the trade-off."""
        check_lang(lang)
        out = []
        for _, r in self.table.iterrows():
            key = (
                "capability.regroup.reason_keep" if r["must_keep"] else "capability.regroup.reason"
            )
            text = t(
                key,
                lang,
                rep=rep_label(r),
                group=label(r["group"], lang),
                scenario=label(r["scenario"], lang),
                score=r["score"],
                lower=r["lower"],
                upper=r["upper"],
                rank=int(r["rank"]),
            )
            if isinstance(r["alt_group"], str) and np.isfinite(r["loss_if_moved"]):
                text += t(
                    "capability.regroup.tradeoff",
                    lang,
                    alt=label(r["alt_group"], lang),
                    alt_score=r["alt_score"],
                    loss=r["loss_if_moved"],
                )
            out.append(text)
        return pd.Series(out, index=self.table.index, name="reason")

    def key_findings(self, lang: str = "en") -> list[str]:
        """One line per group: its members' mean score and the expected effect."""
        check_lang(lang)
        out = []
        for _, g in self.groups.iterrows():
            if g["effect_supported"]:
                out.append(
                    t(
                        "capability.regroup.group_effect",
                        lang,
                        group=label(g["group"], lang),
                        n=int(g["size"]),
                        scenario=label(g["scenario"], lang),
                        mean=g["mean_capability"],
                        outcome=label(g["outcome"], lang),
                        effect=g["effect"],
                        lower=g["effect_lower"],
                        upper=g["effect_upper"],
                    )
                )
            else:
                reason = self.effects[g["group"]].reason if g["group"] in self.effects else ""
                out.append(
                    t(
                        "capability.regroup.group_no_effect",
                        lang,
                        group=label(g["group"], lang),
                        n=int(g["size"]),
                        scenario=label(g["scenario"], lang),
                        mean=g["mean_capability"],
                        why=t(reason or "capability.effect.no_data", lang),
                    )
                )
        return out + [n.text(lang) for n in self.notes]


def _solve(
    value: np.ndarray,
    specs: list[GroupSpec],
    fixed: list[tuple[int, int]],
    banned: list[tuple[int, int]] = (),
) -> np.ndarray | None:
    """Binary placement ``x[r, g]`` maximising ``sum value * x`` (``None``: infeasible)."""
    from scipy import sparse
    from scipy.optimize import Bounds, LinearConstraint, milp

    n_r, n_g = value.shape
    c = -value.ravel()
    # variable r * n_g + g is "rep r in group g": one row per rep, one per group (sparse)
    cols = np.arange(n_r * n_g)
    a_rep = sparse.csr_array((np.ones(n_r * n_g), (cols // n_g, cols)), shape=(n_r, n_r * n_g))
    a_grp = sparse.csr_array((np.ones(n_r * n_g), (cols % n_g, cols)), shape=(n_g, n_r * n_g))
    lo = np.zeros(n_r * n_g)
    hi = np.ones(n_r * n_g)
    for r, g in fixed:
        lo[r * n_g + g] = 1
    for r, g in banned:
        hi[r * n_g + g] = 0
    cons = [
        LinearConstraint(a_rep, 0, 1),
        LinearConstraint(a_grp, [s.min_size for s in specs], [s.max_size for s in specs]),
    ]
    res = milp(c, integrality=np.ones_like(c), bounds=Bounds(lo, hi), constraints=cons)
    if not res.success:
        return None
    return np.round(res.x).reshape(n_r, n_g).astype(bool)


def _move_costs(
    value: np.ndarray, x: np.ndarray, specs: list[GroupSpec], fixed: set[int]
) -> np.ndarray:
    """Least loss of the objective to send one more member from group ``a`` ... to ``b``.

    The placement is a min-cost flow (reps → groups → sink, group sizes as bounds on the
    group → sink arcs), so an optimal placement's residual network has no negative
    cycle, and the best placement with rep ``r`` forced from its group ``g`` into group
    ``a`` costs ``v[r, g] - v[r, a] + dist(a → g)`` below the optimum, ``dist`` being
    the shortest path in that residual network (exactly the objective a re-solve with
    ``r`` fixed in ``a`` would give). Reps are collapsed into arcs between group nodes
    (plus one node for the unplaced reps and one for the sink), so one Floyd-Warshall
    pass over ``groups + 2`` nodes gives every rep's trade-off at once. Must-keep
    (``fixed``) reps never move.

    Returns
    -------
    numpy.ndarray
        ``(groups + 2) × (groups + 2)`` shortest-path costs (``inf``: no chain of moves
        meets the sizes).
    """
    n_r, n_g = value.shape
    u, tk = n_g, n_g + 1  # the unplaced reps' node and the sink
    cost = np.full((n_g + 2, n_g + 2), np.inf)
    movable = np.array([r not in fixed for r in range(n_r)], bool)
    placed = x.any(axis=1)
    size = x.sum(axis=0)
    for g in range(n_g):
        m = x[:, g] & movable
        if m.any():
            here = value[m, g]
            # a member of g moves to h (g -> h), or leaves every group (g -> unplaced)
            cost[g, :n_g] = np.min(here[:, None] - value[m], axis=0)
            cost[g, u] = float(here.min())
        if size[g] < specs[g].max_size:
            cost[g, tk] = 0.0  # g can take one more
        if size[g] > specs[g].min_size:
            cost[tk, g] = 0.0  # g can give one up
    free = ~placed
    if free.any():
        cost[u, :n_g] = np.min(-value[free], axis=0)  # an unplaced rep joins h
        cost[tk, u] = 0.0
    cost[u, tk] = 0.0
    np.fill_diagonal(cost, 0.0)
    for k in range(n_g + 2):
        cost = np.minimum(cost, cost[:, [k]] + cost[[k], :])
    return cost


def regroup(
    scores: CapabilityResult,
    *,
    groups: str | os.PathLike[str] | list | dict,
    data: SalesData | None = None,
    reps: list[str] | None = None,
    tradeoffs: bool = True,
) -> RegroupResult:
    """Place reps into the declared groups to maximise their scores in each group's scenario.

    Parameters
    ----------
    scores
        A :func:`~salesml.capability.capability_scores` result.
    groups
        The declaration: a YAML file, YAML text, or the parsed mapping (see module doc).
    data
        The dataset the scores came from: with it, each group's expected effect on its
        outcome is estimated from history (:func:`~salesml.capability.effects.skill_effect`).
    reps
        Only these reps may be placed (default: every scored rep).
    tradeoffs
        Compute ``loss_if_moved`` (exact: shortest paths in the placement's residual
        network, see :func:`_move_costs`, the same as re-solving with the rep moved);
        ``False`` leaves it ``nan``.

    Raises
    ------
    ValueError
        A declaration error (naming the group and key), a must-keep rep that is not
        scored, or sizes no placement can meet.
    """
    specs = load_groups(groups)
    tab = scores.table
    wide = tab.pivot(index="rep_id", columns="scenario", values="score")
    sds = tab.pivot(index="rep_id", columns="scenario", values="score_sd")
    pool = list(wide.index) if reps is None else [str(r) for r in reps]
    unknown = sorted(set(pool) - set(wide.index)) + sorted(
        {k for s in specs for k in s.must_keep} - set(wide.index)
    )
    if unknown:
        raise ValueError(f"rep(s) {unknown[:10]} have no capability score (check the ids)")
    pool = sorted(set(pool) | {k for s in specs for k in s.must_keep})
    value = np.column_stack([wide.loc[pool, s.scenario].to_numpy(float) for s in specs])
    pos = {r: i for i, r in enumerate(pool)}
    fixed = [(pos[k], g) for g, s in enumerate(specs) for k in s.must_keep]
    x = _solve(value, specs, fixed)
    if x is None:
        need = sum(s.min_size for s in specs)
        raise ValueError(
            f"no placement meets the sizes: the groups need at least {need} reps and "
            f"{len(pool)} are available (with the must-keep members fixed)"
        )
    objective = float((value * x).sum())
    rank = {s: wide[s].rank(ascending=False, method="min") for s in SCENARIOS if s in wide}
    dist = _move_costs(value, x, specs, {r for r, _ in fixed}) if tradeoffs else None
    rows = []
    for r_i, g_i in zip(*np.nonzero(x), strict=True):
        rep, spec = pool[r_i], specs[g_i]
        row = tab[(tab["rep_id"] == rep) & (tab["scenario"] == spec.scenario)].iloc[0]
        others = [g for g in range(len(specs)) if g != g_i]
        alt = max(others, key=lambda g: value[r_i, g]) if others else None
        loss = np.nan
        if dist is not None and alt is not None and rep not in spec.must_keep:
            # moving r to alt, then the cheapest chain of moves that restores the sizes
            d = dist[alt, g_i]
            loss = float(value[r_i, g_i] - value[r_i, alt] + d) if np.isfinite(d) else np.nan
        rows.append(
            {
                "group": spec.name,
                "scenario": spec.scenario,
                "rep_id": rep,
                "name": row["name"],
                "team": row["team"],
                "score": row["score"],
                "lower": row["lower"],
                "upper": row["upper"],
                "evidence": row["evidence"],
                "rank": int(rank[spec.scenario][rep]),
                "must_keep": rep in spec.must_keep,
                "alt_group": specs[alt].name if alt is not None else None,
                "alt_score": value[r_i, alt] if alt is not None else np.nan,
                "loss_if_moved": loss,
            }
        )
    table = pd.DataFrame(rows)
    effects, grows = {}, []
    cache: dict[tuple[str, str], SkillEffect] = {}
    for s in specs:
        members = table[table["group"] == s.name]
        eff = None
        if data is not None:
            key = (s.scenario, s.outcome)
            if key not in cache:
                cache[key] = skill_effect(data, scores, scenario=s.scenario, outcome=s.outcome)
            eff = cache[key]
            effects[s.name] = eff
        est, lo, hi = (
            group_effect(eff, members["score"], sds.loc[members["rep_id"], s.scenario])
            if eff is not None
            else (np.nan, np.nan, np.nan)
        )
        grows.append(
            {
                "group": s.name,
                "scenario": s.scenario,
                "size": len(members),
                "mean_capability": float(members["score"].mean()) if len(members) else np.nan,
                "outcome": s.outcome,
                "effect": est,
                "effect_lower": lo,
                "effect_upper": hi,
                "effect_supported": bool(eff is not None and eff.supported),
            }
        )
    placed = set(table["rep_id"]) if len(table) else set()
    rest = [r for r in pool if r not in placed]
    unplaced = pd.DataFrame(
        {
            "rep_id": rest,
            "best_group": [specs[int(np.argmax(value[pos[r]]))].name for r in rest],
            "best_score": [float(value[pos[r]].max()) for r in rest],
        }
    )
    return RegroupResult(
        table=table,
        as_of=scores.as_of,
        filters=scores.filters,
        groups=pd.DataFrame(grows),
        effects=effects,
        unplaced=unplaced,
        objective=objective,
    )
