"""Benchmark of salesml.ops: approvals SLA, audit pack, store materials, war room.

Usage::

    python bench/bench_ops.py --tier demo            # simulate(preset="demo", seed=0) in memory
    python bench/bench_ops.py --tier M --data DIR    # a tier-M dataset folder (salesml generate --preset M)
    nice -n 5 /usr/bin/time -v \
        python bench/bench_ops.py --tier L --data /work/data/L --customers 1000

A dataset folder is loaded with only the tables and columns the analyses read
(:data:`COLUMNS`, ``validate=False``); the audit pack covers a sample of ``--customers``
customers (the first to have an approval).

Each tier runs in a fresh subprocess (peak memory = ``ru_maxrss``). Baseline: reading
the tables the analysis needs from Parquet with pandas in the same process (the cost
of merely touching the data); ``ratio`` = analysis seconds / baseline seconds. Every
run also checks the planted truth: breach list == ``truth.sla_breaches``, the planted
store ranks first with its start month within one month, the planted response-time
effect inside its interval, and the audit pack verifies.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd


def _timed(fn):  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


#: The columns each analysis reads, per table (``None``: all of a small table).
COLUMNS: dict[str, list[str] | None] = {
    "approvals": None,
    "customers": ["customer_id", "store_id", "segment", "region"],
    "reps": None,
    "stores": None,
    "material_movements": None,
    "activities": ["customer_id", "occurred_at"],
    "collab_events": None,
    "deals": ["deal_id", "customer_id", "rep_id", "created_at", "closed_at"],
}


def _read(folder: Path | None, tables: list[str]) -> float:
    """Seconds to read the columns of ``tables`` the analyses use, with pandas."""
    if folder is None:
        return float("nan")
    t0 = time.perf_counter()
    for name in tables:
        p = folder / name
        pd.read_parquet(p if p.is_dir() else p.with_suffix(".parquet"), columns=COLUMNS[name])
    return time.perf_counter() - t0


def run(tier: str, data_dir: str | None, customers: int) -> dict[str, object]:
    from salesml.data.io import load_dataset, save_dataset
    from salesml.ops import (
        approval_sla,
        material_ledger,
        store_cost_anomalies,
        verify_audit_pack,
        war_room,
        war_room_impact,
        write_audit_pack,
    )
    from salesml.simulator import Truth, simulate

    tmp = Path(tempfile.mkdtemp(prefix="bench_ops_"))
    if data_dir is None:
        data, truth = simulate(preset="demo", seed=0)
        folder = tmp / "demo"
        save_dataset(data, folder)
    else:
        folder = Path(data_dir)
        truth = Truth.load(folder / "truth")
        data, load_s = _timed(
            lambda: load_dataset(
                folder,
                tables=list(COLUMNS),
                columns={k: v for k, v in COLUMNS.items() if v is not None},
                validate=False,
                progress=False,
            )
        )
    rows: list[dict[str, object]] = []
    if data_dir is not None:
        rows.append(
            {
                "stage": "load (projected columns)",
                "seconds": round(load_s, 2),
                "baseline_read_s": round(_read(folder, list(COLUMNS)), 2),
                "ratio": None,
                "check": ", ".join(f"{k} {len(data[k]):,}" for k in COLUMNS),
            }
        )

    def add(stage: str, seconds: float, tables: list[str], check: str) -> None:
        base = _read(folder, tables)
        rows.append(
            {
                "stage": stage,
                "seconds": round(seconds, 2),
                "baseline_read_s": round(base, 2),
                "ratio": round(seconds / base, 1) if base == base and base > 0 else None,
                "check": check,
            }
        )

    sla = {"initial": truth.sla_hours, "final": truth.sla_hours}
    r, s = _timed(lambda: approval_sla(data, as_of=truth.end, sla_hours=sla))
    ok = set(r.breach_ids) == set(truth.sla_breaches)
    add(
        "approval_sla",
        s,
        ["approvals", "customers"],
        f"breaches {len(r.breach_ids):,} == truth {len(truth.sla_breaches):,}: {ok}",
    )
    subjects = list(pd.unique(data["approvals"]["subject_id"]))[:customers]
    out = tmp / "pack"
    pack, s = _timed(lambda: write_audit_pack(data, out, customers=subjects))
    v, sv = _timed(lambda: verify_audit_pack(out, head=pack.head))
    add(
        f"audit_pack ({len(subjects):,} customers)",
        s,
        ["approvals", "customers", "reps"],
        f"{pack.records:,} records, {s / len(subjects) * 1000:.0f} ms per customer; verify {sv:.2f} s ok={v.ok}",
    )
    led, s = _timed(lambda: material_ledger(data))
    add(
        "material_ledger",
        s,
        ["material_movements", "stores", "customers", "activities"],
        f"{len(led.table):,} ledger rows, {len(led.alerts):,} alerts",
    )
    an, s = _timed(lambda: store_cost_anomalies(data))
    top = an.table.iloc[0]
    planted = truth.anomalous_stores.iloc[0]
    start_ok = (
        abs((pd.Period(top["since"], "M") - pd.Timestamp(planted["since"]).to_period("M")).n) <= 1
    )
    add(
        "store_cost_anomalies",
        s,
        ["material_movements", "stores", "customers", "activities"],
        f"first {top['store_id']} (planted {planted['store_id']}), since {top['since']} ok={start_ok}, "
        f"false alarms {int(an.table['flagged'].sum()) - 1}",
    )
    wr, s = _timed(lambda: war_room(data))
    add("war_room", s, ["collab_events", "deals"], f"{len(wr.table):,} deals")
    im, s = _timed(lambda: war_room_impact(data, go_live=truth.go_live))
    row = im.table.set_index("kpi").loc["response_hours"]
    eff = truth.kpi_effects["collab_response_hours"]
    add(
        "war_room_impact",
        s,
        ["collab_events", "deals"],
        f"response {row['change']:+.3f} [{row['low']:+.3f}, {row['high']:+.3f}] covers {eff:+.2f}: "
        f"{row['low'] <= eff <= row['high']}",
    )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6  # KiB on Linux -> GB
    return {"tier": tier, "peak_gb": round(peak, 2), "rows": rows}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--tier", nargs="+", default=["demo"])
    ap.add_argument("--data", default=None, help="dataset folder of a non-demo tier")
    ap.add_argument("--customers", type=int, default=1000, help="customers in the audit pack")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(run(args.tier[0], args.data, args.customers)))
        return 0
    for tier in args.tier:
        cmd = [
            sys.executable,
            __file__,
            "--child",
            "--tier",
            tier,
            "--customers",
            str(args.customers),
        ]
        if tier != "demo":
            if not args.data:
                raise SystemExit(f"--tier {tier} needs --data DIR")
            cmd += ["--data", args.data]
        res = json.loads(
            subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.splitlines()[-1]
        )
        print(f"\n## tier {res['tier']} (peak {res['peak_gb']} GB)\n")
        print("| stage | seconds | baseline read s | ratio | check |\n|---|---:|---:|---:|---|")
        for r in res["rows"]:
            print(
                f"| {r['stage']} | {r['seconds']} | {r['baseline_read_s']} | {r['ratio']} | {r['check']} |"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
