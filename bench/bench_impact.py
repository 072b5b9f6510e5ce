"""Benchmark of impact measurement: speed at a tier and recovery of the planted effects.

Run ``python bench/bench_impact.py --tier demo`` (or ``--tier M``). It generates the
tier twice (in memory, seed 0): once as it is (one go-live) and once with
``staggered_go_live=True, kpi_seasonality=True``. ``--tier L`` never generates: it loads
``--data`` (default ``/work/data/L``) with only the tables and columns the KPIs read
(:func:`load_columns`), takes the go-live and planted effects from its ``truth`` folder,
and runs the baseline and ``impact`` by ITS (which builds the series) (no staggered L exists,
so no DiD). It times

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
from salesml.impact.kpis import kpi_events, ratio_value
from salesml.simulator import simulate

#: The columns each table is read with at tier L: what the KPIs read, plus keys.
LOAD_COLUMNS: dict[str, list[str]] = {
    "leads": ["lead_id", "channel", "created_at", "first_response_at"],
    "customers": ["customer_id", "region", "created_at"],
    "deals": ["deal_id", "customer_id", "created_at", "outcome", "closed_at"],
    "stage_history": ["deal_id", "entered_at", "stage"],
    "activities": ["deal_id", "rep_id", "kind", "occurred_at"],
    "reps": ["rep_id", "region", "hired_at"],
    "collab_events": ["event_id", "deal_id", "kind", "occurred_at", "request_id"],
    "costs": ["cost_id", "category", "amount", "incurred_at", "channel"],
    "contracts": ["contract_id", "deal_id", "signed_at", "payment_terms_days"],
    "payments": ["payment_id", "contract_id", "paid_at"],
    "material_movements": ["movement_id", "store_id", "kind", "qty", "occurred_at"],
    "stores": ["store_id", "region"],
}


def load_columns() -> dict[str, list[str]]:
    """:data:`LOAD_COLUMNS`, checked against what :data:`KPIS` declares it reads."""
    for d in KPIS.values():
        for tc in d.columns:
            table, col = tc.split(".")
            assert col in LOAD_COLUMNS[table], f"{tc} is read by {d.key} but not loaded"
        assert all(tb in LOAD_COLUMNS for tb in d.tables), d.key
    return LOAD_COLUMNS


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
        mean = KPIS[kpi].mean
        b = ratio_value(ev.loc[~post, "num"].sum(), ev.loc[~post, "den"].sum(), mean)
        a = ratio_value(ev.loc[post, "num"].sum(), ev.loc[post, "den"].sum(), mean)
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
    ap.add_argument("--tier", default="demo", choices=["tiny", "demo", "S", "M", "L"])
    ap.add_argument("--data", default="/work/data/L", help="dataset folder for --tier L")
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    if args.tier == "L":
        main_loaded(args.data)
        return
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


def _checked_rows(method: str, table: pd.DataFrame, truth: Any, kpis: list[str]) -> list[dict]:
    tb = table.set_index("kpi")
    rows = []
    for kpi in kpis:
        planted = truth.kpi_effects[KPIS[kpi].planted]
        est = tb.loc[kpi, "rel_effect"]
        rows.append(
            {
                "method": method,
                "kpi": kpi,
                "planted": planted,
                "estimate": est,
                "low": tb.loc[kpi, "rel_low"],
                "high": tb.loc[kpi, "rel_high"],
                "naive": tb.loc[kpi, "naive_rel"],
                "within_10pct": abs(est - planted) <= 0.1 * abs(planted),
            }
        )
    return rows


#: The tier-L memory budget: the run stops itself beyond it (a shared machine).
BUDGET_GB = 8.0


def watchdog(budget_gb: float = BUDGET_GB, every: float = 0.25) -> None:
    """Stop the process (exit 3) as soon as its resident memory passes ``budget_gb``."""
    import os
    import threading

    proc = psutil.Process()

    def run() -> None:
        while True:
            rss = proc.memory_info().rss / 1e9
            if rss > budget_gb:
                print(f"RSS {rss:.2f} GB passed the {budget_gb} GB budget: stopped", flush=True)
                os._exit(3)
            time.sleep(every)

    threading.Thread(target=run, daemon=True).start()


def main_loaded(folder: str) -> None:
    """Tier L: load the needed columns of a stored dataset, then baseline, series, ITS."""
    from pathlib import Path

    watchdog()
    from salesml.data.io import load_dataset
    from salesml.simulator import Truth

    cols = load_columns()
    t_load, data = timed(
        lambda: load_dataset(
            folder, tables=list(cols), columns=cols, validate=False, progress=False, compact=True
        ),
        "load",
    )
    # give the Arrow pool's freed decoding buffers back (0.75 -> 0.63 GB at stored M)
    import pyarrow as pa

    gc.collect()
    pa.default_memory_pool().release_unused()
    if (Path(folder) / "truth" / "truth.json").exists():
        truth: Any = Truth.load(Path(folder) / "truth")
        go_live = pd.Timestamp(truth.go_live)
    else:  # a stored simulation without its truth: the simulator's constants
        from types import SimpleNamespace

        from salesml.simulator.params import KPI_EFFECTS

        truth = SimpleNamespace(kpi_effects=dict(KPI_EFFECTS))
        go_live = data.config.go_live_ts
        print("no truth folder: planted effects are the simulator's constants")
    print(
        f"tier L ({folder}): {len(data.deals):,} deals, {len(data.activities):,} activities, "
        f"{len(data.leads):,} leads; loaded in {t_load:.1f} s, RSS {peak_gb():.2f} GB"
    )
    t_base, _ = timed(lambda: naive_table(data, go_live), "base")
    print(f"baseline {t_base:.1f} s, peak {peak_gb():.2f} GB", flush=True)
    # (impact builds the weekly series itself: no separate kpi_series step at L)
    t_its, r = timed(lambda: impact(data, go_live=go_live), "its")
    rows = _checked_rows("its", r.table, truth, CHECKED)
    print()
    print("| step | wall s | CPU s | CPU vs naive before/after |")
    print("|---|---:|---:|---:|")
    for name, wall, key in [
        ("load (12 tables, needed columns only)", t_load, "load"),
        ("naive before/after table (baseline, pandas)", t_base, "base"),
        ("impact, all KPIs, its (series included)", t_its, "its"),
    ]:
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


if __name__ == "__main__":
    main()
