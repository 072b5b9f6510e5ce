"""The Dask path against the in-process path, step by step, at one tier (issue 16).

Each step runs twice in a fresh process: ``local`` (in-process, ``client=None``) and
``dask`` (a 2-worker ``LocalCluster``, one thread per worker, started before the
timing; its workers import salesml before the timing too). Peak = the largest resident
set of the process plus its children (the workers), sampled every 0.1 s. What is
timed, on a month-partitioned folder:

- ``load``: ``load_dataset(path, tables=SIX, compact=True)``, streamed validation;
- ``alloc``: ``allocate_costs_by_month(path)`` (default rules);
- ``bootstrap``: ``cac(allocation, period=..., n_boot=1000)`` per channel, the
  allocation made in-process before the timing (what runs on the cluster is the
  bootstrap's seeded replicate blocks);
- ``deal_snapshots``: ``deal_snapshots(data, as_of=<12 month ends>)`` on
  ``load_health_data(path)`` (loaded before the timing);
- ``lead_snapshots``: ``lead_snapshots(data, as_of=<12 month ends>)`` on
  ``load_potential_data(path)`` (loaded before the timing);
- ``train``: ``DealHealthModel().fit(snapshots)`` on the 12 dates' deal snapshots
  (built before the timing): LightGBM here, ``lightgbm.dask`` on the cluster.

Every ``dask`` step except ``train`` is checked equal to its ``local`` result after
the timing (``train`` is not bit-identical by design: its AUC gap is printed).

Usage::

    python bench/bench_dask.py --path /work/data/M-parts-month --json /tmp/dask.jsonl
    python bench/bench_dask.py --path /work/data/M-parts-month --step alloc --step train
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import textwrap
from pathlib import Path

STEPS = ("load", "alloc", "bootstrap", "deal_snapshots", "lead_snapshots", "train")
ROOT = Path(__file__).resolve().parents[1]

#: One step in one mode, in a fresh process; prints one JSON line.
CHILD = textwrap.dedent(
    """
    import json, resource, sys, time
    from bench.treepeak import TreePeak
    path, step, mode = sys.argv[1], sys.argv[2], sys.argv[3]
    peak = TreePeak()
    import numpy as np
    import pandas as pd
    from salesml.data.io import load_dataset
    SIX = ["deals", "activities", "costs", "leads", "customers", "quotes"]
    DATES = pd.date_range("2025-10-31", periods=12, freq="ME")
    client = cluster = None
    if mode == "dask":
        from distributed import Client, LocalCluster
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                               host="127.0.0.1", dashboard_address=None, memory_limit="6GiB")
        client = Client(cluster, set_as_default=False)
        client.run(lambda: [__import__(m) for m in (
            "salesml.data.streamed", "salesml.attribution", "salesml.health",
            "salesml.potential", "lightgbm")])
    out = {"step": step, "mode": mode}

    def prepare():
        if step == "bootstrap":
            from salesml.attribution.allocation.by_month import allocate_dataset
            return allocate_dataset(path)
        if step in ("deal_snapshots", "train"):
            from salesml.health.snapshots import deal_snapshots, load_health_data
            data = load_health_data(path)
            if step == "train":
                return deal_snapshots(data, as_of=DATES)
            return data
        if step == "lead_snapshots":
            from salesml.potential.weekly import load_potential_data
            return load_potential_data(path)
        return None

    def run(ready, client):
        if step == "load":
            data = load_dataset(path, tables=SIX, compact=True, progress=False, client=client)
            return data, int(sum(len(df) for df in data.tables.values()))
        if step == "alloc":
            from salesml.attribution.allocation.by_month import allocate_costs_by_month
            alloc = allocate_costs_by_month(path, client=client)
            return alloc, int(len(alloc.table))
        if step == "bootstrap":
            from salesml.attribution import cac
            res = cac(ready, period="2026-09", n_boot=1000, client=client)
            return res, int(len(res.table))
        if step == "deal_snapshots":
            from salesml.health.snapshots import deal_snapshots
            snaps = deal_snapshots(ready, as_of=DATES, client=client)
            return snaps, len(snaps)
        if step == "lead_snapshots":
            from salesml.potential.snapshots import lead_snapshots
            snaps = lead_snapshots(ready, as_of=DATES, client=client)
            return snaps, len(snaps)
        from salesml.health import DealHealthModel
        model = DealHealthModel().fit(ready, client=client)
        return model, int(ready["label"].notna().sum())

    ready = prepare()
    base = peak.mib
    t0 = time.perf_counter()
    result, rows = run(ready, client)
    out["wall_s"] = round(time.perf_counter() - t0, 2)
    out["rows"] = rows
    out["peak_tree_mib"] = peak.mib
    out["peak_worker_mib"] = peak.child_mib if mode == "dask" else None
    out["before_step_mib"] = base
    if mode == "dask":
        here, _ = run(ready, None)
        if step == "load":
            for n in here.tables:
                pd.testing.assert_frame_equal(here.tables[n], result.tables[n])
            out["equal_to_local"] = True
        elif step == "alloc":
            pd.testing.assert_frame_equal(here.table, result.table)
            pd.testing.assert_frame_equal(here.monthly, result.monthly)
            out["equal_to_local"] = True
        elif step == "bootstrap":
            pd.testing.assert_frame_equal(here.table, result.table)
            out["equal_to_local"] = True
        elif step in ("deal_snapshots", "lead_snapshots"):
            pd.testing.assert_frame_equal(here, result)
            out["equal_to_local"] = True
        else:
            from sklearn.metrics import roc_auc_score
            known = ready.loc[ready["label"].notna()]
            late = known.loc[known["as_of"] >= DATES[-3]]
            y = late["label"].astype(int).to_numpy()
            a = here.predict_proba(late).to_numpy()
            b = result.predict_proba(late).to_numpy()
            out["auc_local"] = round(float(roc_auc_score(y, a)), 4)
            out["auc_dask"] = round(float(roc_auc_score(y, b)), 4)
            out["pred_corr"] = round(float(np.corrcoef(a, b)[0, 1]), 4)
    peak.stop()
    out["ru_maxrss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    if client is not None:
        client.close(); cluster.close()
    print(json.dumps(out))
    """
)


def _one(path: str, step: str, mode: str) -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, path, step, mode],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        return {"step": step, "mode": mode, "error": proc.stderr[-2000:]}
    return json.loads(lines[-1])


def _table(rows: list[dict]) -> str:
    out = [
        "| step | rows | in-process s | Dask 2 workers s | ratio Dask / in-process "
        "| in-process peak MiB | Dask peak MiB (client + workers) | one worker's peak MiB "
        "| same result |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    by = {(r["step"], r["mode"]): r for r in rows}
    for step in STEPS:
        lo, da = by.get((step, "local")), by.get((step, "dask"))
        if lo is None or da is None or "error" in lo or "error" in da:
            continue
        same = "yes" if da.get("equal_to_local") else ""
        if "auc_dask" in da:
            same = f"AUC {da['auc_dask']} vs {da['auc_local']}, prediction corr. {da['pred_corr']}"
        out.append(
            f"| {step} | {lo['rows']:,} | {lo['wall_s']:.1f} | {da['wall_s']:.1f} "
            f"| {da['wall_s'] / lo['wall_s']:.2f} | {lo['peak_tree_mib']:,} "
            f"| {da['peak_tree_mib']:,} | {da.get('peak_worker_mib') or 0:,} | {same} |"
        )
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    """Run the steps in both modes and print a Markdown table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--path", default="/work/data/M-parts-month")
    ap.add_argument("--step", action="append", choices=STEPS, help="repeatable (default: all)")
    ap.add_argument("--json", help="append the rows to this JSON-lines file")
    ap.add_argument("--from-json", help="only print the table of these JSON lines")
    args = ap.parse_args(argv)
    if args.from_json:
        rows = [json.loads(ln) for ln in Path(args.from_json).read_text().splitlines() if ln]
        print(_table(rows))
        return 0
    rows = []
    for step in args.step or STEPS:
        for mode in ("local", "dask"):
            row = _one(args.path, step, mode)
            rows.append(row)
            print(json.dumps(row), flush=True)
            if args.json:
                with open(args.json, "a") as f:
                    f.write(json.dumps(row) + "\n")
    print(_table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
