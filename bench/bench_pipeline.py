"""Benchmark of the pipeline analytics against a naive pandas groupby baseline.

Run ``python bench/bench_pipeline.py --tier demo`` (or ``--tier M``). For each of
``funnel``, ``funnel_breakpoints``, ``stage_durations`` and ``lead_leakage`` it times
salesml (best of ``--repeat`` runs) and a straightforward pandas implementation of the
same numbers (merges, ``groupby`` per stage, one ``proportions_ztest`` call per cell,
``groupby(...).apply`` per channel), checks that both agree, and prints a Markdown
table. "Cold" clears the pipeline's per-dataset index cache before every call (what
a report pays once); "warm" reuses it (what a dashboard pays per control change). It also times one dashboard control change (region filter: funnel +
breakpoints + durations), the figure the funnel explorer needs below 300 ms, and a
deals-only copy of the data (no ``stage_history``, ``region_source: rep``): the funnel
by the reps' regions and the sales cycle (Kaplan-Meier, created to closed) against a
pandas ``groupby().median()`` of the completed cycles. ``--seeds N`` also checks the
planted breakpoint is ranked first on seeds ``0..N-1`` of the tier.
"""

from __future__ import annotations

import argparse
import platform
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportions_ztest

from salesml.data.bundle import SalesData
from salesml.data.config import DatasetConfig
from salesml.pipeline import clear_cache, funnel, funnel_breakpoints, lead_leakage, stage_durations
from salesml.simulator import simulate


def best_of(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """Best wall time (seconds) of ``repeat`` calls, and the last result."""
    best = float("inf")
    out = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


# ---------------------------------------------------------------- naive baselines
def naive_funnel(data: SalesData, by: str = "region") -> pd.DataFrame:
    """Reached / decided / advanced per region and stage, the way an analyst writes it."""
    order = data.stage_order
    deals = data.deals.merge(
        data.customers[["customer_id", "region"]], on="customer_id", how="left"
    )
    h = data.stage_history.merge(deals[["deal_id", by]], on="deal_id")
    h["k"] = h["stage"].map({s: i for i, s in enumerate(order)})
    furthest = h.groupby("deal_id")["k"].max().rename("furthest")
    deals = deals.join(furthest, on="deal_id")
    deals.loc[deals["outcome"] == "won", "furthest"] = len(order)
    rows = []
    for k, stage in enumerate(order):
        for g, d in deals.groupby(by):
            reached = (d["furthest"] >= k).sum()
            open_here = ((d["furthest"] == k) & (d["outcome"] == "open")).sum()
            advanced = (d["furthest"] >= k + 1).sum()
            rows.append(
                {
                    by: g,
                    "stage": stage,
                    "reached": reached,
                    "decided": reached - open_here,
                    "advanced": advanced,
                }
            )
    out = pd.DataFrame(rows)
    out["conversion"] = out["advanced"] / out["decided"]
    return out


def naive_breakpoints(data: SalesData, by: str = "region") -> pd.DataFrame:
    """Naive funnel, then one statsmodels ``proportions_ztest`` per group-stage cell."""
    f = naive_funnel(data, by)
    tot = f.groupby("stage")[["decided", "advanced"]].transform("sum")
    pvals = []
    for i in range(len(f)):
        n1, x1 = f["decided"].iloc[i], f["advanced"].iloc[i]
        n2, x2 = tot["decided"].iloc[i] - n1, tot["advanced"].iloc[i] - x1
        pvals.append(proportions_ztest([x1, x2], [n1, n2])[1])
    f["p_value"] = pvals
    f["p_adjusted"] = multipletests(f["p_value"], method="fdr_bh")[1]
    return f


def naive_durations(data: SalesData) -> pd.DataFrame:
    """Completed stays per stage with ``groupby().shift`` and ``groupby().quantile``."""
    h = data.stage_history.sort_values(["deal_id", "entered_at"])
    h["next"] = h.groupby("deal_id")["entered_at"].shift(-1)
    h = h.merge(data.deals[["deal_id", "closed_at"]], on="deal_id")
    h["end"] = h["next"].fillna(h["closed_at"])
    h["days"] = (h["end"] - h["entered_at"]).dt.total_seconds() / 86400
    done = h.dropna(subset=["days"])
    return done.groupby("stage")["days"].quantile([0.5, 0.9]).unstack()


def naive_leakage(data: SalesData) -> pd.DataFrame:
    """Per-channel leakage and response figures with ``groupby().apply``."""
    leads = data.leads.copy()
    leads["hours"] = (leads["first_response_at"] - leads["created_at"]).dt.total_seconds() / 3600

    def per_channel(g: pd.DataFrame) -> pd.Series:
        lost = g[g["status"] == "lost"]
        return pd.Series(
            {
                "leads": len(g),
                "lost": len(lost),
                "unexplained_share": lost["lost_reason"].isna().mean(),
                "response_median_h": g["hours"].median(),
                "response_p90_h": g["hours"].quantile(0.9),
            }
        )

    return leads.groupby("channel").apply(per_channel)


def deals_only(data: SalesData) -> SalesData:
    """The data as a deals-only CRM export: no stage history, regions from the reps."""
    config = DatasetConfig.from_dict(
        {"stage_order": data.stage_order, "region_source": "rep", "currency": "USD"}
    )
    return SalesData({t: data[t] for t in ("deals", "reps", "customers")}, config)


def naive_funnel_deals_only(data: SalesData) -> pd.Series:
    """Deals per rep region (what the deals-only funnel's first step counts)."""
    d = data.deals.merge(data.reps[["rep_id", "region"]], on="rep_id", how="left")
    return d.groupby("region").size()


def naive_cycle(data: SalesData) -> pd.Series:
    """Median created-to-closed days of the closed deals per rep region (no censoring)."""
    d = data.deals.merge(data.reps[["rep_id", "region"]], on="rep_id", how="left")
    d = d[d["outcome"] != "open"]
    days = (d["closed_at"] - d["created_at"]).dt.total_seconds() / 86400
    return days.groupby(d["region"]).median()


def seed_check(tier: str, seeds: int) -> None:
    """Rank of the planted breakpoint and false flags on seeds ``0..seeds-1``."""
    firsts, false = 0, []
    for seed in range(seeds):
        d, truth = simulate(preset=tier, seed=seed)
        b = funnel_breakpoints(d, by="region")
        planted = (truth.breakpoint["region"], truth.breakpoint["stage"])
        first = (b.table.iloc[0]["region"], b.table.iloc[0]["stage"])
        firsts += first == planted
        flagged = list(zip(b.breakpoints["region"], b.breakpoints["stage"], strict=True))
        false.append(sum(k != planted for k in flagged))
        clear_cache()
    print(
        f"planted breakpoint first in {firsts} of {seeds} seeds; false flags per seed: "
        + ",".join(map(str, false))
    )


# ---------------------------------------------------------------- run
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tier", default="demo", choices=["demo", "S", "M", "L"])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--seeds", type=int, default=0, help="also check seeds 0..N-1")
    args = ap.parse_args()

    t0 = time.perf_counter()
    data, truth = simulate(preset=args.tier, seed=args.seed)
    t_sim = time.perf_counter() - t0
    region = truth.breakpoint["region"]
    print(
        f"tier {args.tier} seed {args.seed}: {len(data.deals):,} deals, "
        f"{len(data.stage_history):,} stage rows, {len(data.leads):,} leads "
        f"(simulated in {t_sim:.1f} s) · {platform.processor() or platform.machine()}, "
        f"python {platform.python_version()}, pandas {pd.__version__}"
    )

    cases: list[tuple[str, Callable[[], Any], Callable[[], Any]]] = [
        ("funnel by region", lambda: funnel(data, by="region"), lambda: naive_funnel(data)),
        (
            "funnel_breakpoints by region",
            lambda: funnel_breakpoints(data, by="region"),
            lambda: naive_breakpoints(data),
        ),
        ("stage_durations", lambda: stage_durations(data), lambda: naive_durations(data)),
        ("lead_leakage", lambda: lead_leakage(data), lambda: naive_leakage(data)),
    ]
    only = deals_only(data)
    cases += [
        (
            "deals-only: funnel by region (reps' regions)",
            lambda: funnel(only, by="region"),
            lambda: naive_funnel_deals_only(only),
        ),
        (
            "deals-only: sales cycle by region (Kaplan-Meier)",
            lambda: stage_durations(only, by="region"),
            lambda: naive_cycle(only),
        ),
    ]
    rows = []
    results = {}
    for name, ours, naive in cases:

        def cold(fn: Callable[[], Any] = ours) -> Any:
            clear_cache()
            return fn()

        t_cold, _ = best_of(cold, args.repeat)
        t_warm, r_ours = best_of(ours, args.repeat)
        t_naive, r_naive = best_of(naive, max(1, args.repeat // 2))
        results[name] = (r_ours, r_naive)
        rows.append((name, t_cold, t_warm, t_naive))

    # agreement checks: the baseline must compute the same numbers
    f_ours = results["funnel by region"][0].table
    f_naive = results["funnel by region"][1]
    merged = f_ours.merge(f_naive, on=["region", "stage"], suffixes=("", "_naive"))
    assert (merged["reached"] == merged["reached_naive"]).all()
    assert np.allclose(merged["conversion"], merged["conversion_naive"], equal_nan=True)
    b_ours = results["funnel_breakpoints by region"][0].table
    b_naive = results["funnel_breakpoints by region"][1]
    bm = b_ours.merge(b_naive, on=["region", "stage"], suffixes=("", "_naive"))
    assert np.allclose(bm["p_value"], bm["p_value_naive"], rtol=1e-8, equal_nan=True)
    d_ours = results["stage_durations"][0].summary()["median_days"]
    d_naive = results["stage_durations"][1][0.5].reindex(d_ours.index)
    assert np.allclose(d_ours, d_naive)
    c_ours = results["deals-only: sales cycle by region (Kaplan-Meier)"][0].table
    c_naive = results["deals-only: sales cycle by region (Kaplan-Meier)"][1]
    assert np.allclose(
        c_ours.set_index("region")["median_days"], c_naive.reindex(c_ours["region"]).to_numpy()
    )
    fo = results["deals-only: funnel by region (reps' regions)"]
    assert (fo[0].summary()["deals"] == fo[1].reindex(fo[0].summary().index)).all()
    l_ours = results["lead_leakage"][0].table.set_index("channel")
    l_naive = results["lead_leakage"][1]
    assert np.allclose(
        l_ours["response_p90_h"], l_naive["response_p90_h"].reindex(l_ours.index), equal_nan=True
    )

    def control_change() -> None:
        flt = {"region": region}
        funnel(data, filters=flt)
        funnel_breakpoints(data, by="segment", filters=flt)
        stage_durations(data, filters=flt)

    t_ctrl, _ = best_of(control_change, args.repeat)
    bp = results["funnel_breakpoints by region"][0]
    first = bp.table.iloc[0]

    print()
    print(
        f"| analysis ({args.tier}) | salesml cold ms | salesml warm ms | naive pandas ms "
        f"| speed-up cold | speed-up warm |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for name, t_cold, t_warm, t_naive in rows:
        print(
            f"| {name} | {t_cold * 1e3:.1f} | {t_warm * 1e3:.1f} | {t_naive * 1e3:.1f} "
            f"| {t_naive / t_cold:.1f}x | {t_naive / t_warm:.1f}x |"
        )
    print(
        f"| dashboard control change (region filter: funnel + breakpoints by segment + "
        f"durations, warm) | | {t_ctrl * 1e3:.1f} | | | |"
    )
    print()
    print(
        f"planted breakpoint {truth.breakpoint}; ranked first: "
        f"({first['region']}, {first['stage']}), gap {first['gap_pp']:+.1f} pp; "
        f"{int(bp.table['breakpoint'].sum())} breakpoint(s) flagged"
    )
    if args.seeds:
        seed_check(args.tier, args.seeds)


if __name__ == "__main__":
    main()
