"""Scale of cost allocation and the CAC tables built from it: demo, M and L.

Each (tier, implementation) runs in a fresh subprocess: load only the tables allocation
needs (``load_dataset(path, tables=ALLOC_TABLES)``, validated), then ``allocate_costs``,
acquisition units, CAC by channel, CAC over the three dimensions and a what-if; wall
time per step and peak RSS (``ru_maxrss``, and the RSS after loading).

Usage::

    python bench/bench_scale_alloc.py --tier demo --tier M --tier L
    python bench/bench_scale_alloc.py --tier M --reference   # also the pre-streaming code

``--reference`` runs the merge-based allocation kept in tests/attribution/alloc_reference.py
(the baseline; it needs 23.5 GB at L and is only run at demo and M). Data: ``demo`` is
simulated in memory; ``M`` and ``L`` are ``salesml generate --preset M|L --seed 0``
folders (``--m-path`` / ``--l-path``).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ALLOC_TABLES = ["costs", "leads", "activities", "deals", "material_movements", "customers"]
ROOT = Path(__file__).resolve().parents[1]


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _current_rss_mb() -> float:
    try:
        import psutil

        return psutil.Process().memory_info().rss / 2**20
    except ImportError:  # pragma: no cover
        return float("nan")


def run_one(
    tier: str,
    path: str | None,
    reference: bool,
    n_boot: int,
    validate: bool = True,
    alloc_only: bool = False,
) -> dict:
    """One tier in this process (called in a fresh subprocess)."""
    from salesml.attribution import acquisition_units, allocate_costs, cac, what_if

    t0 = time.perf_counter()
    if path is None:
        from salesml.simulator import simulate

        data, _ = simulate(preset=tier, seed=0)
    else:
        from salesml.data.io import load_dataset

        data = load_dataset(path, tables=ALLOC_TABLES, progress=False, validate=validate)
    out: dict = {"tier": tier, "impl": "reference" if reference else "streamed"}
    out["load_s"] = round(time.perf_counter() - t0, 1)
    out["rss_after_load_mb"] = round(_current_rss_mb())
    out["peak_load_mb"] = round(_rss_mb())
    print(json.dumps(out), file=sys.stderr, flush=True)
    out["activities"] = len(data.activities)
    out["cost_lines"] = len(data.costs)
    t0 = time.perf_counter()
    if reference:
        sys.path.insert(0, str(ROOT / "tests" / "attribution"))
        from alloc_reference import reference_allocation

        _, lines, _ = reference_allocation(data)
        out["allocate_s"] = round(time.perf_counter() - t0, 1)
        out["allocation_lines"] = len(lines)
        out["peak_rss_mb"] = round(_rss_mb())
        return out
    al = allocate_costs(data)
    out["allocate_s"] = round(time.perf_counter() - t0, 1)
    out["allocation_lines"] = len(al.compact)
    out["peak_alloc_mb"] = round(_rss_mb())
    out["validated"] = validate
    print(json.dumps(out), file=sys.stderr, flush=True)
    if alloc_only:
        return out
    t0 = time.perf_counter()
    acquisition_units(al)
    out["units_s"] = round(time.perf_counter() - t0, 1)
    t0 = time.perf_counter()
    cac(al, by="channel", n_boot=n_boot)
    out["cac_channel_s"] = round(time.perf_counter() - t0, 1)
    t0 = time.perf_counter()
    cac(al, by="all", n_boot=n_boot)
    out["cac_3dims_s"] = round(time.perf_counter() - t0, 1)
    t0 = time.perf_counter()
    what_if(al, budget_shift={"wechat": 1.2}, n_boot=n_boot)
    out["what_if_s"] = round(time.perf_counter() - t0, 2)
    out["cac_total_s"] = round(
        out["allocate_s"] + out["units_s"] + out["cac_channel_s"] + out["cac_3dims_s"], 1
    )
    out["peak_rss_mb"] = round(_rss_mb())
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tier", action="append", choices=["demo", "M", "L"])
    ap.add_argument("--m-path", default="/work/data/M-rules")
    ap.add_argument("--l-path", default="/work/data/L")
    ap.add_argument("--reference", action="store_true", help="also run the pre-streaming code")
    ap.add_argument("--n-boot", type=int, default=200)
    ap.add_argument("--no-validate", action="store_true", help="load_dataset(validate=False)")
    ap.add_argument("--alloc-only", action="store_true", help="stop after allocate_costs")
    ap.add_argument("--one", nargs=3, metavar=("TIER", "PATH", "IMPL"), help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.one:
        tier, path, impl = a.one
        res = run_one(
            tier,
            None if path == "-" else path,
            impl == "reference",
            a.n_boot,
            validate=not a.no_validate,
            alloc_only=a.alloc_only,
        )
        print(json.dumps(res))
        return
    paths = {"demo": "-", "M": a.m_path, "L": a.l_path}
    rows = []
    for tier in a.tier or ["demo", "M"]:
        impls = ["streamed", "reference"] if a.reference and tier != "L" else ["streamed"]
        for impl in impls:
            cmd = [sys.executable, __file__, "--one", tier, paths[tier], impl]
            cmd += ["--n-boot", str(a.n_boot)]
            cmd += ["--no-validate"] * a.no_validate + ["--alloc-only"] * a.alloc_only
            t0 = time.perf_counter()
            p = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=False)
            if p.returncode != 0:
                rows.append({"tier": tier, "impl": impl, "error": p.returncode})
                continue
            r = json.loads(p.stdout.strip().splitlines()[-1])
            r["process_s"] = round(time.perf_counter() - t0, 1)
            rows.append(r)
            print(json.dumps(r), flush=True)
    by = {(r["tier"], r["impl"]): r for r in rows if "error" not in r}
    for a_, b_ in (("L", "M"), ("M", "demo")):
        if a.alloc_only:
            break
        if (a_, "streamed") in by and (b_, "streamed") in by:
            x, y = by[(a_, "streamed")], by[(b_, "streamed")]
            print(
                f"ratio {a_}/{b_}: allocate {x['allocate_s'] / max(y['allocate_s'], 0.1):.1f}x, "
                f"allocation + CAC {x['cac_total_s'] / max(y['cac_total_s'], 0.1):.1f}x, "
                f"lines {x['allocation_lines'] / max(y['allocation_lines'], 1):.1f}x"
            )
    for t in ("demo", "M"):
        if (t, "reference") in by and (t, "streamed") in by:
            x, y = by[(t, "streamed")], by[(t, "reference")]
            print(
                f"{t}: streamed vs reference allocation: {x['allocate_s']} s vs {y['allocate_s']} s, "
                f"peak {x['peak_alloc_mb']} MB vs {y['peak_rss_mb']} MB"
            )


if __name__ == "__main__":
    main()
