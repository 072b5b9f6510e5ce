"""Benchmarks of salesml.attribution: Markov attribution vs ChannelAttribution, CAC coverage, tier M.

Usage::

    python bench/bench_attribution.py --part markov              # 100k and 1M journeys
    python bench/bench_attribution.py --part solver              # dense/sparse crossover
    python bench/bench_attribution.py --part threads             # thread cap, on a busy machine
    python bench/bench_attribution.py --part coverage --seeds 50 # CAC interval coverage
    python bench/bench_attribution.py --part tier --tier demo    # allocation + CAC timings
    python bench/bench_attribution.py --part tier --tier M

``channelattribution`` is a bench-only extra (GPL-3): ``pip install channelattribution``.
"""

from __future__ import annotations

import argparse
import itertools
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


# ---------------------------------------------------------------------- independent exact solve
def exact_removal_effects(df: pd.DataFrame, order: int) -> pd.Series:
    """Removal effects of the order-``order`` absorbing chain, computed independently.

    Written apart from salesml (Python dicts for the states, a dense or SciPy-direct
    solve of the absorbing chain per removal) so that it checks salesml's solver rather
    than repeats it: a state is the tuple of the last ``order`` touches (fewer at the
    start of a path), ``(start)`` leads to the first state, the last state of a path
    is absorbed into conversion or null with the path's counts; removing a channel
    sends every state containing it to null.
    """
    import scipy.sparse as sp
    from scipy.sparse.linalg import spsolve

    index: dict[tuple, int] = {}
    rows: list[int] = []
    cols: list[int] = []
    w: list[float] = []
    conv: dict[int, float] = {}
    null: dict[int, float] = {}
    start: dict[int, float] = {}
    for path, c, n in zip(df["path"], df["total_conversions"], df["total_null"], strict=True):
        touches = [x.strip() for x in str(path).split(">")]
        states = [tuple(touches[max(0, i - order + 1) : i + 1]) for i in range(len(touches))]
        ids = [index.setdefault(s, len(index)) for s in states]
        start[ids[0]] = start.get(ids[0], 0.0) + c + n
        for a, b in itertools.pairwise(ids):
            rows.append(a)
            cols.append(b)
            w.append(c + n)
        conv[ids[-1]] = conv.get(ids[-1], 0.0) + c
        null[ids[-1]] = null.get(ids[-1], 0.0) + n
    S = len(index)
    T = sp.coo_matrix((w, (rows, cols)), shape=(S, S)).tocsr()
    cv = np.zeros(S)
    nv = np.zeros(S)
    st = np.zeros(S)
    for d, arr in ((conv, cv), (null, nv), (start, st)):
        for k, v in d.items():
            arr[k] = v
    out = np.asarray(T.sum(axis=1)).ravel() + cv + nv
    Q = sp.diags(1.0 / out) @ T
    r = cv / out
    pi0 = st / st.sum()
    A = (sp.identity(S) - Q).tocsc()

    def p_conv(keep: np.ndarray) -> float:
        k = np.flatnonzero(keep)
        if not len(k):
            return 0.0
        x = spsolve(A[k][:, k], r[k])
        return float(pi0[k] @ np.atleast_1d(x))

    base = p_conv(np.ones(S, dtype=bool))
    channels = sorted({ch for s in index for ch in s})
    states = list(index)
    res = {}
    for ch in channels:
        keep = np.array([ch not in s for s in states])
        res[ch] = 1 - p_conv(keep) / base
    return pd.Series(res, name="removal_effect")


def _shares(re: pd.Series) -> pd.Series:
    return re / re.sum()


def _ca_markov(
    CA, df: pd.DataFrame, order: int, nsim: float, seed: int, max_step: int | None = None
) -> tuple[pd.Series, float]:
    import contextlib
    import io

    t0 = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
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
            nsim_start=nsim,
            seed=seed,
            max_step=max_step,
        )
    t = time.perf_counter() - t0
    return ca["removal_effects"].set_index("channel_name")["removal_effect"], t


def bench_markov(
    sizes: list[int],
    channels: list[int],
    orders: list[int],
    repeat: int = 3,
    nsims: tuple[float, ...] = (1e5, 1e6, 1e7),
    seeds: int = 3,
    long_max_step: int = 100,
) -> list[dict]:
    """Accuracy against an independent exact solve, and speed at equal accuracy.

    For each data set: salesml's exact solve (best of ``repeat``), the independent exact
    solve above, and ChannelAttribution's simulation at each ``nsim`` (``seeds`` seeds at
    the lower ones, one at the highest) with its default ``max_step`` (the longest path
    of the data: simulated journeys are cut there, a bias of its own), and once more at
    the highest ``nsim`` with ``max_step=long_max_step``; errors are the largest
    difference of the normalised removal-effect shares, in percentage points.
    """
    import contextlib
    import io

    try:
        with contextlib.redirect_stdout(io.StringIO()):
            import ChannelAttribution as CA
    except ImportError:
        sys.exit("pip install channelattribution (bench-only extra) to run this part")
    rows = []
    for n in sizes:
        for c in channels:
            df = synthetic_journeys(n, c, seed=n + c)
            for order in orders:
                t_ours = float("inf")
                for _ in range(repeat):
                    t0 = time.perf_counter()
                    ours = touch_attribution(df, model="markov", order=order)
                    t_ours = min(t_ours, time.perf_counter() - t0)
                o = _shares(ours.table.set_index("channel")["removal_effect"])
                t0 = time.perf_counter()
                exact = _shares(exact_removal_effects(df, order))
                t_exact = time.perf_counter() - t0
                row = {
                    "journeys": n,
                    "distinct_paths": len(df),
                    "channels": c,
                    "order": order,
                    "states": ours.markov["n_states"],
                    "salesml_s": round(t_ours, 4),
                    "salesml_vs_exact_pp": float(
                        f"{(o - exact.reindex(o.index)).abs().max() * 100:.1e}"
                    ),
                    "independent_exact_s": round(t_exact, 2),
                }
                for nsim in nsims:
                    errs, times = [], []
                    for seed in range(seeds if nsim < max(nsims) else 1):
                        re, t = _ca_markov(CA, df, order, nsim, seed)
                        ca = _shares(re).reindex(exact.index)
                        errs.append(float((ca - exact).abs().max() * 100))
                        times.append(t)
                    tag = f"ca_{nsim:.0e}".replace("+0", "")
                    row[f"{tag}_s"] = round(float(np.median(times)), 3)
                    row[f"{tag}_err_pp"] = round(float(np.max(errs)), 3)
                re, t = _ca_markov(CA, df, order, max(nsims), 0, max_step=long_max_step)
                ca = _shares(re).reindex(exact.index)
                tag = f"ca_{max(nsims):.0e}_step{long_max_step}".replace("+0", "")
                row[f"{tag}_s"] = round(t, 3)
                row[f"{tag}_err_pp"] = round(float((ca - exact).abs().max() * 100), 3)
                print(json.dumps(row), flush=True)
                rows.append(row)
    return rows


# ---------------------------------------------------------------------- solver crossover
def bench_solver(grid: list[tuple[int, int]], n: int = 100_000, repeat: int = 3) -> dict:
    """Dense against sparse Markov solve over chains of growing size, one BLAS thread.

    Fits the two cost models ``t_dense = a S^3`` and ``t_sparse = b (C+1)(E+S)`` (S
    states, C channels, E distinct transitions) by the median ratio over the grid; the
    crossover salesml uses is ``S^3 <= (b/a) (C+1)(E+S)``.
    """
    from threadpoolctl import threadpool_limits

    from salesml.attribution.touch import path_table
    from salesml.attribution.touch.markov import _removals_dense, _removals_sparse, build_chain

    rows = []
    for c, k in grid:
        df = synthetic_journeys(n, c, seed=n + c)
        chain = build_chain(path_table(df), k)
        S, E = chain.n_states, len(chain.edge_from)

        def best(f, times: int, chain=chain) -> float:
            t = float("inf")
            for _ in range(times):
                t0 = time.perf_counter()
                f(chain)
                t = min(t, time.perf_counter() - t0)
            return t

        with threadpool_limits(1):
            ts = best(_removals_sparse, repeat)
            td = best(_removals_dense, 1 if S > 1500 else repeat) if S <= 3500 else float("nan")
        row = {
            "channels": c,
            "order": k,
            "states": S,
            "transitions": E,
            "dense_s": round(td, 4),
            "sparse_s": round(ts, 4),
            "faster": "dense" if td < ts else "sparse",
        }
        print(json.dumps(row), flush=True)
        rows.append(row)
    t = pd.DataFrame(rows)
    work = (t["channels"] + 1) * (t["transitions"] + t["states"])
    ok = t["dense_s"].notna() & (t["states"] >= 100)
    a = float(np.median(t.loc[ok, "dense_s"] / t.loc[ok, "states"] ** 3))
    b = float(np.median(t["sparse_s"] / work))
    out = {"rows": rows, "dense_s_per_state3": a, "sparse_s_per_unit": b, "ratio": b / a}
    print(json.dumps({k: v for k, v in out.items() if k != "rows"}), flush=True)
    return out


def bench_threads(channels: int = 200, order: int = 2, n: int = 100_000) -> dict:
    """The sparse solve with its thread cap (salesml's default) and without it.

    Run it while the machine is busy: oversubscribed OpenBLAS threads spin in the
    sparse solver's vector products.
    """
    from threadpoolctl import threadpool_limits

    from salesml.attribution.touch import path_table
    from salesml.attribution.touch.markov import _removals_sparse, build_chain

    df = synthetic_journeys(n, channels, seed=n + channels)
    chain = build_chain(path_table(df), order)
    t0 = time.perf_counter()
    with threadpool_limits(1):
        _removals_sparse(chain)
    capped = time.perf_counter() - t0
    t0 = time.perf_counter()
    _removals_sparse(chain)
    uncapped = time.perf_counter() - t0
    load = Path("/proc/loadavg").read_text().split()[0] if Path("/proc/loadavg").exists() else ""
    out = {
        "channels": channels,
        "order": order,
        "states": chain.n_states,
        "capped_1_thread_s": round(capped, 2),
        "uncapped_s": round(uncapped, 2),
        "load_average": load,
    }
    print(json.dumps(out), flush=True)
    return out


# ---------------------------------------------------------------------- CAC coverage
def bench_coverage(seeds: int, n_boot: int, overrides: dict) -> dict:
    """Coverage of the channels' expected (long-run) CAC, the target of the bootstrap interval.

    Coverage of the CAC one run realised is reported beside it: that figure is nearly exact
    (allocation error well under the interval's width), so it is covered trivially.
    """
    from salesml.simulator import simulate

    hits = hits_realised = total = 0
    rel_err = []
    t0 = time.perf_counter()
    for s in range(1, seeds + 1):
        data, truth = simulate(preset="demo", seed=s, **overrides)
        al = allocate_costs(data)
        c = cac(al, n_boot=n_boot, seed=s).table.set_index("channel")
        expected = truth.channel_expected_cac["cac"]
        t = truth.channel_cac.reindex(expected.index)
        est = c.reindex(expected.index)
        hits += int(((est["cac_low"] <= expected) & (expected <= est["cac_high"])).sum())
        inside = (est["cac_low"] <= t["cac"]) & (t["cac"] <= est["cac_high"])
        hits_realised += int(inside.sum())
        total += len(expected)
        rel_err.extend((est["cac"] / t["cac"] - 1).abs().tolist())
    out = {
        "seeds": seeds,
        "intervals": total,
        "coverage_expected_cac": round(hits / total, 4),
        "coverage_realised_cac": round(hits_realised / total, 4),
        "median_abs_rel_error_vs_realised": round(float(np.median(rel_err)), 4),
        "max_abs_rel_error_vs_realised": round(float(np.max(rel_err)), 4),
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
    c = cac(al, n_boot=n_boot).table.set_index("channel")
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


#: (channels, order) of the solver crossover grid: 10 to 6,000 states.
SOLVER_GRID = [
    (10, 1),
    (50, 1),
    (200, 1),
    (500, 1),
    (10, 2),
    (15, 2),
    (20, 2),
    (25, 2),
    (30, 2),
    (40, 2),
    (60, 2),
    (8, 3),
    (10, 3),
    (12, 3),
    (15, 3),
    (20, 3),
    (6, 4),
    (8, 4),
    (10, 4),
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument(
        "--part", choices=["markov", "solver", "threads", "coverage", "tier", "all"], default="all"
    )
    ap.add_argument("--tier", default="demo")
    ap.add_argument("--sizes", default="100000,1000000")
    ap.add_argument("--channels", default="10,20")
    ap.add_argument("--orders", default="1,2")
    ap.add_argument("--seeds", type=int, default=50)
    ap.add_argument("--n-boot", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=3, help="best of N timings (markov part)")
    ap.add_argument("--nsims", default="1e5,1e6,1e7", help="ChannelAttribution nsim_start values")
    ap.add_argument("--ca-seeds", type=int, default=3, help="ChannelAttribution seeds per nsim")
    ap.add_argument("--out", default=None, help="write results as JSON here")
    a = ap.parse_args()
    res: dict = {}
    if a.part in ("markov", "all"):
        res["markov"] = bench_markov(
            [int(x) for x in a.sizes.split(",")],
            [int(x) for x in a.channels.split(",")],
            [int(x) for x in a.orders.split(",")],
            a.repeat,
            tuple(float(x) for x in a.nsims.split(",")),
            a.ca_seeds,
        )
    if a.part in ("solver", "all"):
        res["solver"] = bench_solver(SOLVER_GRID)
    if a.part in ("threads", "all"):
        res["threads"] = bench_threads()
    if a.part in ("coverage", "all"):
        res["coverage"] = bench_coverage(a.seeds, a.n_boot, {})
    if a.part in ("tier", "all"):
        res["tier"] = bench_tier(a.tier, a.n_boot)
    if a.out:
        Path(a.out).write_text(json.dumps(res, indent=1, default=str), "utf-8")


if __name__ == "__main__":
    main()
