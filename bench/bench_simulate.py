"""Simulator generation time and peak memory per scale tier.

Each tier runs in a fresh subprocess so that peak resident memory (``ru_maxrss``)
belongs to that tier alone. Tiers demo and M generate in memory
(``salesml.simulate``); tier L writes Parquet parts chunk by chunk
(``salesml.simulator.write_simulated``), as its budget requires.

Usage::

    python bench/bench_simulate.py --tier demo M
    python bench/bench_simulate.py --tier L --out /tmp/tier-L
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile

_CHILD = r"""
import json, resource, sys, time
tier, out = sys.argv[1], sys.argv[2]
t = time.perf_counter()
if tier == "L":
    from salesml.simulator import write_simulated
    import pyarrow.dataset as ds
    write_simulated(out, preset="L", seed=0, progress=False)
    secs = time.perf_counter() - t
    rows = {n: ds.dataset(f"{out}/{n}").count_rows() for n in ("deals", "activities")}
else:
    from salesml.simulator import simulate
    data, truth = simulate(preset=tier, seed=0)
    secs = time.perf_counter() - t
    rows = {n: len(data[n]) for n in ("deals", "activities")}
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024
print(json.dumps({"tier": tier, "seconds": secs, "peak_gb": peak, **rows}))
"""

BUDGETS = {"demo": (5.0, None), "M": (120.0, 8.0), "L": (None, 16.0)}


def run(tier: str, out: str) -> dict[str, float]:
    """Generate one tier in a subprocess; returns its timing and memory."""
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD, tier, out], capture_output=True, text=True, check=True
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tier", nargs="+", default=["demo", "M"], choices=["demo", "S", "M", "L"])
    parser.add_argument("--out", default=None, help="folder for tier L parts (default: a temp dir)")
    args = parser.parse_args()
    print("| tier | deals | activities | seconds | budget s | peak GB | budget GB |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for tier in args.tier:
        with tempfile.TemporaryDirectory() as tmp:
            r = run(tier, args.out or tmp)
        bs, bm = BUDGETS.get(tier, (None, None))
        print(
            f"| {tier} | {r['deals']:,} | {r['activities']:,} | {r['seconds']:.1f} | "
            f"{bs or '-'} | {r['peak_gb']:.2f} | {bm or '-'} |"
        )


if __name__ == "__main__":
    main()
