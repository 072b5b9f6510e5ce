"""Benchmark of salesml.capability: recovery of the planted skills, time and memory.

Usage::

    python bench/bench_capability.py --tier demo --seeds 0 1 2 3 4
    python bench/bench_capability.py --tier M --seeds 0 1 2
    python bench/bench_capability.py --part effect --tier demo --seeds $(seq 0 29)
    python bench/bench_capability.py --part effect --tier M --seeds 0 1 --size 40
    python bench/bench_capability.py --part app --tier M --size 40

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


def run(tier: str, seeds: list[int], windows: list[int]) -> None:
    rows = []
    for seed in seeds:
        t0 = time.perf_counter()
        data, truth = salesml.simulate(preset=tier, seed=seed)
        t_sim = time.perf_counter() - t0
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


def run_effect(tier: str, seeds: list[int], size: int) -> None:
    """Coverage of the regrouping effect against the planted payment speed."""
    from salesml.capability.regroup import regroup
    from salesml.simulator.team_effects import plant_payment_speed

    groups = {"groups": [{**g, "size": size} for g in GROUPS["groups"]]}
    rows = []
    for seed in seeds:
        data, truth = salesml.simulate(preset=tier, seed=seed)
        data, planted = plant_payment_speed(data, truth)
        scores = capability_scores(data)
        t0 = time.perf_counter()
        r = regroup(scores, groups=groups, data=data)
        t_reg = time.perf_counter() - t0
        g = r.groups.set_index("group")
        members = r.table[r.table["group"] == "pricing"]["rep_id"]
        target = planted.effect_of(truth.rep_skills["commercial"].reindex(members))
        lo, hi = g.loc["pricing", "effect_lower"], g.loc["pricing", "effect_upper"]
        k_lo, k_hi = g.loc["key_accounts", "effect_lower"], g.loc["key_accounts", "effect_upper"]
        rows.append(
            {
                "seed": seed,
                "pricing_planted": target,
                "pricing_effect": g.loc["pricing", "effect"],
                "pricing_lower": lo,
                "pricing_upper": hi,
                "covered": lo <= target <= hi,
                "key_accounts_effect": g.loc["key_accounts", "effect"],
                "key_accounts_covers_0": k_lo <= 0 <= k_hi,
                "regroup_s": t_reg,
            }
        )
        del data, truth
    df = pd.DataFrame(rows)
    print(df.round(3).to_string(index=False))
    print(
        f"planted effect covered in {int(df['covered'].sum())} of {len(df)}; "
        f"no-effect group covers 0 in {int(df['key_accounts_covers_0'].sum())} of {len(df)}; "
        f"median regroup {df['regroup_s'].median():.2f} s; peak RSS {_peak_gb():.2f} GB"
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
    ap.add_argument("--tier", default="demo", choices=["tiny", "demo", "S", "M"])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--windows", type=int, nargs="+", default=[365, 30])
    ap.add_argument("--size", type=int, default=4, help="group size (--part effect)")
    a = ap.parse_args()
    if a.part == "app":
        run_app(a.tier, a.seeds[0], a.size)
    elif a.part == "effect":
        run_effect(a.tier, a.seeds, a.size)
    else:
        run(a.tier, a.seeds, a.windows)


if __name__ == "__main__":
    main()
