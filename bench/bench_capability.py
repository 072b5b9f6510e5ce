"""Benchmark of salesml.capability: recovery of the planted skills, time and memory.

Usage::

    python bench/bench_capability.py --tier demo --seeds 0 1 2 3 4
    python bench/bench_capability.py --tier M --seeds 0 1 2
    python bench/bench_capability.py --part effect --tier demo --seeds $(seq 0 29)
    python bench/bench_capability.py --part effect --tier M --seeds 0 1 --size 40
    python bench/bench_capability.py --part app --tier M --size 40
    python bench/bench_capability.py --tier M --seeds 0 1 2 --part-time
    python bench/bench_capability.py --tier M --data /work/data/M-capability --windows 365
    nice -n 5 /usr/bin/time -v python bench/bench_capability.py \
        --tier L --data /work/data/L-parts-month --truth /work/data/L/truth --recent

``--data`` reads a written dataset (``salesml generate`` folder with ``truth/``) instead
of simulating: only the tables and columns the scores read (:data:`COLUMNS`), no
validation; with ``--recent`` the event tables only for the longest window (from a
month-partitioned folder only those months are read). ``--part-time`` applies :func:`salesml.simulator.part_time.plant_part_time`
(a quarter of the sellers keep 4% of their deals and events) before scoring.

Each seed is simulated in process (tier M: about 20 s, 3 GB). Reported per scenario:
Spearman with the planted skill (region-centred, see
:func:`salesml.capability.validation.planted_skill`), 90% interval coverage, and in the
lowest evidence quartile the error of the shrunk and of the unshrunk estimate.
Baseline (same run): the naive score a spreadsheet gives, each rep's mean response
quality per role (pandas ``groupby().mean()``), timed and checked the same way.
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np
import pandas as pd
from scipy import stats

import salesml
from salesml.capability import capability_scores
from salesml.capability.validation import planted_skill, recovery


def _peak_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def naive_scores(data: salesml.SalesData, window: int) -> pd.DataFrame:
    """Each rep's mean response quality per role in the window (the baseline)."""
    ce = data.collab_events
    end = max(ce["occurred_at"].max(), data.activities["occurred_at"].max())
    r = ce[(ce["kind"] == "response") & (ce["occurred_at"] > end - pd.Timedelta(days=window))]
    return r.groupby(["actor_id", "role"])["quality"].mean().unstack()


#: Tables and columns capability_scores reads (what ``--data`` loads).
COLUMNS = {
    "collab_events": [
        "event_id",
        "deal_id",
        "role",
        "actor_id",
        "kind",
        "occurred_at",
        "request_id",
        "quality",
    ],
    "activities": ["deal_id", "rep_id", "kind", "occurred_at", "responded_at", "quality"],
    "deals": [
        "deal_id",
        "rep_id",
        "customer_id",
        "amount",
        "product_line",
        "stage",
        "outcome",
        "created_at",
    ],
    "customers": ["customer_id", "segment", "region", "source_channel"],
    "reps": ["rep_id", "name", "team", "region", "role", "manager_id"],
}


#: Tables read only for the recent window with ``--recent`` (the rest are read whole).
EVENT_TABLES = ("collab_events", "activities")


def load(
    path: str, truth_path: str | None = None, recent_days: int | None = None
) -> tuple[salesml.SalesData, object]:
    """The tables and columns of :data:`COLUMNS` from a written dataset, and its truth.

    With ``recent_days``, the event tables are read only for the last ``recent_days``
    days (plus 31, so that a response's request is found) before the simulation's end; deals, customers and reps are read whole (events of a window belong to
    deals created long before it).
    """
    from salesml.simulator.truth import Truth

    truth = Truth.load(truth_path or f"{path}/truth")
    if recent_days is None:
        data = salesml.load_dataset(
            path, tables=list(COLUMNS), columns=COLUMNS, validate=False, progress=False
        )
        return data, truth
    start = pd.Timestamp(truth.end) - pd.Timedelta(days=recent_days + 31)
    last = pd.Timestamp(truth.end) - pd.Timedelta(days=1)
    period = f"{start:%Y-%m-%d}..{last:%Y-%m-%d}"
    whole = [t for t in COLUMNS if t not in EVENT_TABLES]
    base = salesml.load_dataset(path, tables=whole, columns=COLUMNS, validate=False, progress=False)
    ev = salesml.load_dataset(
        path,
        tables=list(EVENT_TABLES),
        columns=COLUMNS,
        validate=False,
        progress=False,
        period=period,
    )
    tables = {n: base[n] for n in whole} | {n: ev[n] for n in EVENT_TABLES}
    return salesml.SalesData(tables, base.config, source=base.source), truth


def run(
    tier: str,
    seeds: list[int],
    windows: list[int],
    path: str | None = None,
    part_time: bool = False,
    truth_path: str | None = None,
    recent: bool = False,
) -> None:
    rows = []
    for seed in seeds:
        t0 = time.perf_counter()
        if path:
            data, truth = load(path, truth_path, max(windows) if recent else None)
        else:
            data, truth = salesml.simulate(preset=tier, seed=seed)
        if part_time:
            from salesml.simulator.part_time import plant_part_time

            data, _ = plant_part_time(data, truth)
        t_sim = time.perf_counter() - t0
        print(f"seed {seed}: data ready in {t_sim:.1f} s, RSS peak {_peak_gb():.2f} GB", flush=True)
        for window in windows:
            rows.extend(_one(data, truth, seed, window, t_sim))
        del data, truth
    _report(pd.DataFrame(rows))


def _one(data, truth, seed: int, window: int, t_sim: float) -> list[dict]:
    """Scores of one dataset and window, checked against the planted skills."""
    rows = []
    t0 = time.perf_counter()
    res = capability_scores(data, window=window)
    t_cap = time.perf_counter() - t0
    t0 = time.perf_counter()
    naive = naive_scores(data, window)
    t_naive = time.perf_counter() - t0
    rec = recovery(res, truth.rep_skills)
    for _, r in rec.iterrows():
        rows_s = res.table[res.table["scenario"] == r["scenario"]]
        z = planted_skill(res, truth.rep_skills, r["scenario"])
        nv = naive[r["scenario"]].reindex(rows_s["rep_id"].to_numpy()).to_numpy()
        ok = np.isfinite(nv) & z.notna().to_numpy()
        rho_naive = float(stats.spearmanr(nv[ok], z.to_numpy()[ok])[0])
        rows.append(
            {
                "seed": seed,
                "window": window,
                **r.to_dict(),
                "spearman_naive": rho_naive,
                "sim_s": t_sim,
                "scores_s": t_cap,
                "naive_s": t_naive,
            }
        )
    return rows


def _report(df: pd.DataFrame) -> None:
    pd.set_option("display.width", 250)
    print(df.round(4).to_string(index=False))
    print(f"\npeak RSS {_peak_gb():.2f} GB")
    for w, g in df.groupby("window"):
        print(f"window {w} days:")
        print(
            g.groupby("scenario")[["spearman", "spearman_naive", "coverage"]]
            .min()
            .round(3)
            .to_string()
        )
        print(
            "  lowest-quartile shrunk < raw in",
            int((g["low_q_rmse_shrunk"] < g["low_q_rmse_raw"]).sum()),
            "of",
            len(g),
            f"(mean error {g['low_q_rmse_shrunk'].mean():.4f} vs {g['low_q_rmse_raw'].mean():.4f})",
        )
        print(
            f"  median capability_scores {g['scores_s'].median():.2f} s, "
            f"naive {g['naive_s'].median():.3f} s"
        )


GROUPS = {
    "groups": [
        {"name": "key_accounts", "scenario": "technical", "size": 4},
        {"name": "pricing", "scenario": "commercial", "size": 4},
    ]
}


def _tradeoffs_by_resolve(scores, groups) -> float:
    """The baseline: one more exact MILP solve per placed rep (the earlier method)."""
    from salesml.capability.regroup import _solve, load_groups

    specs = load_groups(groups)
    wide = scores.table.pivot(index="rep_id", columns="scenario", values="score")
    pool = sorted(wide.index)
    value = np.column_stack([wide.loc[pool, s.scenario].to_numpy(float) for s in specs])
    t0 = time.perf_counter()
    x = _solve(value, specs, [])
    for r_i, g_i in zip(*np.nonzero(x), strict=True):
        alt = max((g for g in range(len(specs)) if g != g_i), key=lambda g: value[r_i, g])
        _solve(value, specs, [(r_i, alt)])
    return time.perf_counter() - t0


def run_effect(tier: str, seeds: list[int], size: int, baseline: bool) -> None:
    """Coverage of the regrouping effects against the planted payment speed (pricing
    group, commercial) and cycle time (key-account group, technical)."""
    from salesml.capability.regroup import regroup
    from salesml.simulator.team_effects import plant_cycle_time, plant_payment_speed

    groups = {"groups": [{**g, "size": size} for g in GROUPS["groups"]]}
    rows = []
    for seed in seeds:
        data, truth = salesml.simulate(preset=tier, seed=seed)
        data, planted = plant_payment_speed(data, truth)
        data, cycle = plant_cycle_time(data, truth)
        scores = capability_scores(data)
        t0 = time.perf_counter()
        r = regroup(scores, groups=groups, data=data)
        t_reg = time.perf_counter() - t0
        t0 = time.perf_counter()
        regroup(scores, groups=groups, tradeoffs=False)
        t_place = time.perf_counter() - t0
        t0 = time.perf_counter()
        regroup(scores, groups=groups)  # trade-offs, no effects
        t_trade = time.perf_counter() - t0
        t_base = _tradeoffs_by_resolve(scores, groups) if baseline else np.nan
        g = r.groups.set_index("group")
        row = {"seed": seed}
        for name, plant, scen in (
            ("pricing", planted, "commercial"),
            ("key_accounts", cycle, "technical"),
        ):
            members = r.table[r.table["group"] == name]["rep_id"]
            target = plant.effect_of(truth.rep_skills[scen].reindex(members))
            lo, hi = g.loc[name, "effect_lower"], g.loc[name, "effect_upper"]
            row.update(
                {
                    f"{name}_planted": target,
                    f"{name}_effect": g.loc[name, "effect"],
                    f"{name}_lower": lo,
                    f"{name}_upper": hi,
                    f"{name}_covered": bool(lo <= target <= hi),
                }
            )
        row.update(
            {
                "regroup_s": t_reg,
                "placement_only_s": t_place,
                "with_tradeoffs_s": t_trade,
                "resolve_tradeoffs_s": t_base,
            }
        )
        rows.append(row)
        del data, truth
    df = pd.DataFrame(rows)
    pd.set_option("display.width", 250)
    print(df.round(3).to_string(index=False))
    print(
        f"pricing (payment) covered in {int(df['pricing_covered'].sum())} of {len(df)}; "
        f"key accounts (cycle) covered in {int(df['key_accounts_covered'].sum())} of {len(df)}; "
        f"median regroup with trade-offs and effects {df['regroup_s'].median():.2f} s "
        f"(placement only {df['placement_only_s'].median():.2f} s, with trade-offs "
        f"{df['with_tradeoffs_s'].median():.2f} s; baseline trade-offs by "
        f"one MILP per rep {df['resolve_tradeoffs_s'].median():.2f} s); "
        f"peak RSS {_peak_gb():.2f} GB"
    )


def run_app(tier: str, seed: int, size: int, changes: int = 20) -> None:
    """Team builder at ``tier``: time to open, then server-side time per control change."""
    from salesml.apps.team_builder.state import TeamBuilderState, default_groups

    data, _ = salesml.simulate(preset=tier, seed=seed)
    t0 = time.perf_counter()
    state = TeamBuilderState(data, groups=default_groups(size))
    t_open = time.perf_counter() - t0
    free = [r for r in state.reps if r not in state.assignment][:changes]
    pick, move = [], []
    for i, rep in enumerate(free):
        t0 = time.perf_counter()
        state.rep = rep
        pick.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        state.move(rep, state.group_names[i % len(state.group_names)])
        move.append(time.perf_counter() - t0)
    print(
        f"{tier}: {len(state.reps)} reps, groups of {size}; open {t_open:.1f} s; "
        f"select rep median {1000 * np.median(pick):.1f} ms (max {1000 * max(pick):.1f}); "
        f"move rep median {1000 * np.median(move):.1f} ms (max {1000 * max(move):.1f}); "
        f"peak RSS {_peak_gb():.2f} GB"
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--part", default="scores", choices=["scores", "effect", "app"])
    ap.add_argument("--tier", default="demo", choices=["tiny", "demo", "S", "M", "L"])
    ap.add_argument("--data", default=None, help="read this written dataset instead")
    ap.add_argument("--part-time", action="store_true", help="plant part-time reps first")
    ap.add_argument("--truth", default=None, help="with --data: its truth folder")
    ap.add_argument(
        "--recent",
        action="store_true",
        help="with --data: read the event tables only for the longest window",
    )
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--windows", type=int, nargs="+", default=[365, 30])
    ap.add_argument("--size", type=int, default=4, help="group size (--part effect)")
    ap.add_argument(
        "--baseline", action="store_true", help="also time trade-offs by one MILP per rep"
    )
    a = ap.parse_args()
    if a.part == "app":
        run_app(a.tier, a.seeds[0], a.size)
    elif a.part == "effect":
        run_effect(a.tier, a.seeds, a.size, a.baseline)
    else:
        if a.tier == "L" and not a.data:
            ap.error("tier L is never simulated here: pass --data /work/data/L")
        seeds = a.seeds if not a.data else a.seeds[:1]
        run(a.tier, seeds, a.windows, a.data, a.part_time, a.truth, a.recent)


if __name__ == "__main__":
    main()
