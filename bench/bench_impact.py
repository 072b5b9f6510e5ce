"""Benchmark of impact measurement: speed at a tier and recovery of the planted effects.

Run ``python bench/bench_impact.py --tier demo`` (or ``--tier M``). It generates the
tier twice (in memory, seed 0): once as it is (one go-live) and once with
``staggered_go_live=True, kpi_seasonality=True``. It times

- ``kpi_series`` of every KPI (weekly),
- ``impact`` of every KPI by interrupted time series (one go-live),
- ``impact`` of every KPI by staggered difference-in-differences,

against a named baseline in the same process: the naive before/after table (the
ratio of sums of each KPI's numerator and denominator before and after the go-live,
plain pandas on the same KPI events), the figure a spreadsheet would show. It checks
that each planted effect is recovered within 10% of its size (``|estimate - planted|
<= 0.1 |planted|``) and prints Markdown tables and the peak RSS (psutil).
"""

from __future__ import annotations

import argparse
import gc
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import psutil

from salesml.impact import KPIS, impact, kpi_series
from salesml.impact.kpis import kpi_events
from salesml.simulator import simulate

#: KPIs with an exact planted effect (touches per deal-day is diluted by deal mix).
CHECKED = ["first_response_hours", "stage_days", "collab_response_hours", "media_cost_per_lead"]
CHECKED_DID = ["stage_days", "collab_response_hours"]


CPU: dict[str, float] = {}


def timed(fn: Callable[[], Any], name: str = "") -> tuple[float, Any]:
    """Wall seconds of ``fn()`` and its result; CPU seconds go to :data:`CPU` under ``name``."""
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    CPU[name] = time.process_time() - c0
    return time.perf_counter() - t0, out


def naive_table(data: Any, go_live: pd.Timestamp) -> pd.DataFrame:
    """The baseline: each KPI's ratio of sums before and after the go-live."""
    rows = []
    for kpi in KPIS:
        try:
            ev, _, _ = kpi_events(data, kpi)
        except (LookupError, ValueError):
            continue
        post = ev["t"] >= go_live
        b = ev.loc[~post, "num"].sum() / ev.loc[~post, "den"].sum()
        a = ev.loc[post, "num"].sum() / ev.loc[post, "den"].sum()
        rows.append({"kpi": kpi, "before": b, "after": a, "naive_rel": a / b - 1})
    return pd.DataFrame(rows)


def peak_gb() -> float:
    """Peak resident memory of this process so far (GB)."""
    info = psutil.Process().memory_info()
    peak = getattr(info, "peak_wset", None)
    if peak is None:
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return peak / 1e9


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--tier", default="demo", choices=["tiny", "demo", "S", "M"])
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    t_sim, (data, truth) = timed(lambda: simulate(preset=args.tier, seed=0))
    print(
        f"tier {args.tier}: {len(data.deals):,} deals, {len(data.activities):,} activities, "
        f"{len(data.leads):,} leads; generated in {t_sim:.1f} s"
    )
    t_base, naive = timed(lambda: naive_table(data, truth.go_live), "base")
    t_series, _ = timed(lambda: kpi_series(data, freq="W"), "series")
    t_its, r = timed(lambda: impact(data, go_live=truth.go_live), "its")
    rows = []
    tb = r.table.set_index("kpi")
    for kpi in CHECKED:
        planted = truth.kpi_effects[KPIS[kpi].planted]
        est = tb.loc[kpi, "rel_effect"]
        rows.append(
            {
                "method": "its",
                "kpi": kpi,
                "planted": planted,
                "estimate": est,
                "low": tb.loc[kpi, "rel_low"],
                "high": tb.loc[kpi, "rel_high"],
                "naive": tb.loc[kpi, "naive_rel"],
                "within_10pct": abs(est - planted) <= 0.1 * abs(planted),
            }
        )
    del data, r
    gc.collect()
    data, truth = simulate(preset=args.tier, seed=0, staggered_go_live=True, kpi_seasonality=True)
    t_did, d = timed(lambda: impact(data, go_live=truth.region_go_live, method="did"), "did")
    tb = d.table.set_index("kpi")
    for kpi in CHECKED_DID:
        planted = truth.kpi_effects[KPIS[kpi].planted]
        est = tb.loc[kpi, "rel_effect"]
        rows.append(
            {
                "method": "did",
                "kpi": kpi,
                "planted": planted,
                "estimate": est,
                "low": tb.loc[kpi, "rel_low"],
                "high": tb.loc[kpi, "rel_high"],
                "naive": tb.loc[kpi, "naive_rel"],
                "within_10pct": abs(est - planted) <= 0.1 * abs(planted),
            }
        )
    n_kpi = int((r_ok := d.table["status"] == "ok").sum())
    del r_ok
    print()
    print("| step | wall s | CPU s | CPU vs naive before/after |")
    print("|---|---:|---:|---:|")
    steps = [
        ("naive before/after table (baseline, pandas)", t_base, "base"),
        ("kpi_series, all KPIs, weekly", t_series, "series"),
        ("impact, all KPIs, its", t_its, "its"),
        (f"impact, all KPIs, did (staggered; {n_kpi} with regions)", t_did, "did"),
    ]
    for name, wall, key in steps:
        print(f"| {name} | {wall:.2f} | {CPU[key]:.2f} | {CPU[key] / CPU['base']:.1f}x |")
    print()
    print("| method | KPI | planted | estimate (95% interval) | naive | within 10% |")
    print("|---|---|---:|---:|---:|---|")
    for x in rows:
        print(
            f"| {x['method']} | {x['kpi']} | {x['planted']:+.1%} | {x['estimate']:+.1%} "
            f"({x['low']:+.1%} to {x['high']:+.1%}) | {x['naive']:+.1%} | "
            f"{'yes' if x['within_10pct'] else 'NO'} |"
        )
    print()
    print(f"peak RSS {peak_gb():.2f} GB")
    del naive
    np.seterr(all="warn")


if __name__ == "__main__":
    main()
