"""Benchmarks of salesml.attribution: Markov attribution vs ChannelAttribution, CAC coverage, tier M.

Usage::

    python bench/bench_attribution.py --part markov              # 100k and 1M journeys
    python bench/bench_attribution.py --part coverage --seeds 50 # CAC interval coverage
    python bench/bench_attribution.py --part tier --tier demo    # allocation + CAC timings
    python bench/bench_attribution.py --part tier --tier M

``channelattribution`` is a bench-only extra (GPL-3): ``pip install channelattribution``.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from salesml.attribution import (
    acquisition_units,
    allocate_costs,
    cac,
    touch_attribution,
    what_if,
)


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ---------------------------------------------------------------------- synthetic journeys
def synthetic_journeys(n: int, n_channels: int, seed: int = 0, max_len: int = 8) -> pd.DataFrame:
    """Aggregated journeys ``path, total_conversions, total_null`` from a known process.

    Touches follow a random first-order chain over ``n_channels`` channels; the
    journey converts with probability sigmoid(-2.2 + sum of the effects of its
    distinct channels). Paths of equal text are aggregated (both tools get the
    same table).
    """
    rng = np.random.default_rng(seed)
    names = np.array([f"ch{i:02d}" for i in range(n_channels)], dtype=object)
    trans = rng.dirichlet(np.full(n_channels, 0.6), size=n_channels)
    cum = np.cumsum(trans, axis=1)
    start = rng.dirichlet(np.full(n_channels, 1.0))
    lens = np.minimum(rng.geometric(0.35, n), max_len)
    cur = rng.choice(n_channels, n, p=start)
    mat = np.full((n, max_len), -1, dtype=np.int64)
    mat[:, 0] = cur
    for k in range(1, max_len):
        u = rng.random(n)
        nxt = (u[:, None] > cum[cur]).sum(axis=1).clip(0, n_channels - 1)
        alive = lens > k
        mat[alive, k] = nxt[alive]
        cur = np.where(alive, nxt, cur)
    effect = rng.normal(0.3, 0.4, n_channels)
    present = np.zeros((n, n_channels), dtype=bool)
    for k in range(max_len):
        ok = mat[:, k] >= 0
        present[np.flatnonzero(ok), mat[ok, k]] = True
    logit = -2.2 + present.astype(float) @ effect
    conv = rng.random(n) < 1 / (1 + np.exp(-logit))
    # path text per journey, built column by column
    path = names[mat[:, 0]].astype(object)
    for k in range(1, max_len):
        ok = mat[:, k] >= 0
        path[ok] = path[ok] + ">" + names[mat[ok, k]]
    df = pd.DataFrame({"path": path, "conv": conv.astype(int), "null": (~conv).astype(int)})
    agg = df.groupby("path", sort=False).sum().reset_index()
    return agg.rename(columns={"conv": "total_conversions", "null": "total_null"})


def bench_markov(
    sizes: list[int], channels: list[int], orders: list[int], repeat: int = 3
) -> list[dict]:
    try:
        import ChannelAttribution as CA
    except ImportError:
        sys.exit("pip install channelattribution (bench-only extra) to run this part")
    rows = []
    for n in sizes:
        for c in channels:
            df = synthetic_journeys(n, c, seed=n + c)
            for order in orders:
                t_ours = t_ca = float("inf")
                for _ in range(repeat):  # best of `repeat` for both tools
                    t0 = time.perf_counter()
                    ours = touch_attribution(df, "markov", order=order)
                    t_ours = min(t_ours, time.perf_counter() - t0)
                    t0 = time.perf_counter()
                    ca = CA.markov_model(
                        df,
                        "path",
                        "total_conversions",
                        var_null="total_null",
                        order=order,
                        sep=">",
                        verbose=0,
                        flg_pro=False,
                        out_more=True,
                    )
                    t_ca = min(t_ca, time.perf_counter() - t0)
                re = ca["removal_effects"].set_index("channel_name")["removal_effect"]
                ca_share = re / re.sum()
                o = ours.set_index("channel")["removal_effect"]
                our_share = o / o.sum()
                diff = (our_share - ca_share.reindex(our_share.index)).abs().max() * 100
                row = {
                    "journeys": n,
                    "distinct_paths": len(df),
                    "channels": c,
                    "order": order,
                    "salesml_s": round(t_ours, 3),
                    "channelattribution_s": round(t_ca, 3),
                    "speedup": round(t_ca / t_ours, 1),
                    "max_share_diff_pp": round(float(diff), 2),
                }
                print(json.dumps(row), flush=True)
                rows.append(row)
    return rows


# ---------------------------------------------------------------------- CAC coverage
def bench_coverage(seeds: int, n_boot: int, overrides: dict) -> dict:
    from salesml.simulator import simulate

    hits = total = 0
    rel_err = []
    t0 = time.perf_counter()
    for s in range(seeds):
        data, truth = simulate(preset="demo", seed=s, **overrides)
        al = allocate_costs(data)
        c = cac(al, n_boot=n_boot, seed=s).set_index("channel")
        t = truth.channel_cac
        t = t[t["acquired_customers"] > 0]
        est = c.reindex(t.index)
        inside = (est["cac_low"] <= t["cac"]) & (t["cac"] <= est["cac_high"])
        hits += int(inside.sum())
        total += len(t)
        rel_err.extend((est["cac"] / t["cac"] - 1).abs().tolist())
    out = {
        "seeds": seeds,
        "intervals": total,
        "coverage": round(hits / total, 4),
        "median_abs_rel_error": round(float(np.median(rel_err)), 4),
        "max_abs_rel_error": round(float(np.max(rel_err)), 4),
        "seconds": round(time.perf_counter() - t0, 1),
    }
    print(json.dumps(out), flush=True)
    return out


# ---------------------------------------------------------------------- tier timings
def bench_tier(tier: str, n_boot: int) -> dict:
    from salesml.simulator import simulate

    t0 = time.perf_counter()
    data, truth = simulate(preset=tier, seed=0)
    t_sim = time.perf_counter() - t0
    rss0 = _peak_rss_mb()
    t0 = time.perf_counter()
    al = allocate_costs(data)
    t_alloc = time.perf_counter() - t0
    t0 = time.perf_counter()
    acquisition_units(al)
    t_units = time.perf_counter() - t0
    t0 = time.perf_counter()
    c = cac(al, n_boot=n_boot).set_index("channel")
    t_cac = time.perf_counter() - t0
    t0 = time.perf_counter()
    cac(al, by="all", n_boot=n_boot)
    t_cac_all = time.perf_counter() - t0
    what_if(al, budget_shift={"wechat": 1.2}, n_boot=n_boot)  # warm (cached replicate sums)
    t0 = time.perf_counter()
    for f in (0.8, 1.1, 1.3, 1.5, 2.0):
        what_if(al, budget_shift={"wechat": f, "exhibition": 1 / f}, n_boot=n_boot)
    t_whatif = (time.perf_counter() - t0) / 5
    t = truth.channel_cac
    cmp = pd.DataFrame(
        {
            "acquired": t["acquired_customers"],
            "true_cac": t["cac"].round(1),
            "est_cac": c["cac"].reindex(t.index).round(1),
            "low": c["cac_low"].reindex(t.index).round(1),
            "high": c["cac_high"].reindex(t.index).round(1),
        }
    )
    cmp["rel_err_pct"] = ((cmp["est_cac"] / cmp["true_cac"] - 1) * 100).round(2)
    out = {
        "tier": tier,
        "deals": len(data.deals),
        "activities": len(data.activities),
        "cost_lines": len(data.costs),
        "allocation_lines": len(al.lines),
        "simulate_s": round(t_sim, 1),
        "allocate_s": round(t_alloc, 2),
        "units_s": round(t_units, 2),
        "cac_channel_s": round(t_cac, 2),
        "cac_all_dims_s": round(t_cac_all, 2),
        "what_if_ms": round(t_whatif * 1000, 1),
        "peak_rss_mb_before_alloc": round(rss0),
        "peak_rss_mb": round(_peak_rss_mb()),
        "allocated_share": round(al.total_allocated / al.total_incurred, 5),
        "n_boot": n_boot,
    }
    print(json.dumps(out), flush=True)
    print(cmp.to_string(), flush=True)
    out["channels"] = cmp.reset_index().to_dict(orient="records")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--part", choices=["markov", "coverage", "tier", "all"], default="all")
    ap.add_argument("--tier", default="demo")
    ap.add_argument("--sizes", default="100000,1000000")
    ap.add_argument("--channels", default="10,20")
    ap.add_argument("--orders", default="1,2")
    ap.add_argument("--seeds", type=int, default=50)
    ap.add_argument("--n-boot", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=3, help="best of N timings (markov part)")
    ap.add_argument("--out", default=None, help="write results as JSON here")
    a = ap.parse_args()
    res: dict = {}
    if a.part in ("markov", "all"):
        res["markov"] = bench_markov(
            [int(x) for x in a.sizes.split(",")],
            [int(x) for x in a.channels.split(",")],
            [int(x) for x in a.orders.split(",")],
            a.repeat,
        )
    if a.part in ("coverage", "all"):
        res["coverage"] = bench_coverage(a.seeds, a.n_boot, {})
    if a.part in ("tier", "all"):
        res["tier"] = bench_tier(a.tier, a.n_boot)
    if a.out:
        Path(a.out).write_text(json.dumps(res, indent=1, default=str), "utf-8")


if __name__ == "__main__":
    main()
