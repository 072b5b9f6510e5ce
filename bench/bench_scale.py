"""Scale across tiers S, M, L: load + validate, allocation month by month, one report.

Each step of each tier runs in a fresh subprocess; wall time and peak RSS (the
subprocess's ``ru_maxrss``, and for the report its kernel's, from
``RUSAGE_CHILDREN``) are recorded:

- ``raw``: a plain ``pyarrow.parquet.read_table`` of the six allocation tables' files
  (the baseline a load is compared with);
- ``load``: ``load_dataset(path, tables=SIX, compact=True)`` validated;
- ``alloc``: ``allocate_costs_by_month(path)`` (the default rules);
- ``report``: ``run_report("pipeline_weekly", period=2026-Q3)`` end to end (kept for
  the figures of earlier runs; the same as ``report:pipeline_weekly``);
- ``report:NAME``: ``run_report(NAME, period=REPORT_PERIODS[NAME])`` end to end, the
  papermill kernel's peak included (it is a child of the step's process);
- ``app:NAME``: ``NAME``'s state class ``from_dataset(path)`` (load + first results),
  in a fresh process, as a dashboard kernel does on first render.

Then per step the ratios to the M run (time, peak, rows of activities: linearity) and
an estimate for tier XL (10M deals, 300M activities) from the M -> L slope.

Usage::

    python bench/bench_scale.py --tier S --tier M
    nice -n 5 python bench/bench_scale.py --tier L --json out.json

S and M folders are generated into /work/data/ when missing (``salesml generate``);
L is never generated (``--l-path``, default /work/data/L-parts-month).
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

SIX = ["deals", "activities", "costs", "leads", "customers", "quotes"]
ROOT = Path(__file__).resolve().parents[1]
PATHS = {
    "S": "/work/data/S-parts-month",
    "M": "/work/data/M-parts-month",
    "L": "/work/data/L-parts-month",
}
XL_ACTIVITIES = 300e6
#: The reports measured and the period each is run for (its cadence, a closed period).
REPORT_PERIODS = {
    "pipeline_weekly": "2026-Q3",
    "compliance_weekly": "2026-W40",
    "followups_daily": "2026-10-15",
    "impact_review": "2026-Q3",
    "rep_capability_monthly": "2026-09",
    "war_room_weekly": "2026-W40",
    "cac_monthly": "2026-09",
    "lead_potential_weekly": "2026-W40",
    "deal_health_weekly": "2026-W40",
}
#: The apps whose state initialisation is measured: module, state class.
APP_STATES = {
    "funnel_explorer": ("salesml.apps.funnel_explorer.state", "FunnelExplorerState"),
    "impact_explorer": ("salesml.apps.impact_explorer.state", "ImpactExplorerState"),
    "rule_editor": ("salesml.apps.rule_editor.state", "RuleEditorState"),
    "team_builder": ("salesml.apps.team_builder.state", "TeamBuilderState"),
    "cac_whatif": ("salesml.apps.cac_whatif.state", "CacWhatIfState"),
    "visit_planner": ("salesml.apps.visit_planner.state", "VisitPlannerState"),
}
BASE_STEPS = ("raw", "load", "alloc", "report")
STEPS = (
    *BASE_STEPS,
    *(f"report:{n}" for n in REPORT_PERIODS),
    *(f"app:{n}" for n in APP_STATES),
)


def _peak_mb() -> float:
    me = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(me, kids) / 1024


def step(name: str, path: str) -> dict:
    """One step on one folder, in this (fresh) process."""
    t0 = time.perf_counter()
    out: dict = {"step": name}
    if name == "raw":
        import pyarrow.parquet as pq

        rows = 0
        for t in SIX:
            p = Path(path) / t
            files = sorted(p.rglob("*.parquet")) if p.is_dir() else [Path(path) / f"{t}.parquet"]
            for f in files:
                rows += pq.read_table(f).num_rows
        out["rows"] = rows
    elif name == "load":
        from salesml.data.io import load_dataset

        data = load_dataset(path, tables=SIX, compact=True, progress=False)
        out["rows"] = int(sum(len(df) for df in data.tables.values()))
        out["activities"] = len(data.activities)
        out["quarantined"] = int(data.validation.counts["quarantined"].sum())
        out["data_mb"] = round(
            sum(df.memory_usage(deep=True).sum() for df in data.tables.values()) / 2**20
        )
    elif name == "alloc":
        from salesml.attribution.allocation import allocate_costs_by_month

        al = allocate_costs_by_month(path)
        out["cost_lines"] = len(al.table)
        out["lines"] = len(al)  # the count, without building a 692M-row table at L
        out["months"] = len(al.months)
        out["allocated_share"] = round(
            float(al.table["allocated"].sum() / al.table["amount"].sum()), 4
        )
    elif name == "report" or name.startswith("report:"):
        from salesml.reports.runner import run_report

        report = name.partition(":")[2] or "pipeline_weekly"
        with tempfile.TemporaryDirectory() as tmp:
            res = run_report(
                report, {"dataset": path, "period": REPORT_PERIODS[report]}, tmp, index=False
            )
            out["ok"] = bool(res.ok)
            out["execute_s"] = round(res.timings.get("execute", 0.0), 1)
            run = json.loads(Path(res.run_json).read_text())
            out["rows_loaded"] = int(sum(run["dataset"]["tables"].values()))
    elif name.startswith("app:"):
        import importlib

        module, cls = APP_STATES[name.partition(":")[2]]
        state = getattr(importlib.import_module(module), cls).from_dataset(path)
        out["rows_loaded"] = int(sum(len(df) for df in state.data.tables.values()))
        out["error"] = getattr(state, "error", "") or ""
        if out["error"]:
            raise RuntimeError(f"{name}: the state shows an error: {out['error']}")
    out["s"] = round(time.perf_counter() - t0, 1)
    out["peak_mb"] = round(_peak_mb())
    return out


def ensure(tier: str, path: str) -> None:
    """Generate tier S or M into ``path`` when it is missing (never L), month-partitioned."""
    from salesml.data.io import find_table_files, load_dataset, save_dataset
    from salesml.data.partitions import is_hive

    if not (Path(path) / "dataset.yaml").is_file():
        if tier == "L":
            raise SystemExit(f"{path} is missing: tier L is never generated by this benchmark")
        cli = "import sys; from salesml.cli import main; sys.exit(main())"
        cmd = [sys.executable, "-c", cli, "generate", "--preset", tier, "--seed", "0"]
        subprocess.run([*cmd, "--out", path], check=True, cwd=ROOT)
    if tier != "L" and not is_hive(find_table_files(path)["costs"]):
        save_dataset(load_dataset(path, validate=False), path, partition="month")


def run_tier(tier: str, path: str, steps: list[str]) -> list[dict]:
    rows = []
    for s in steps:
        t0 = time.perf_counter()
        got = subprocess.run(
            [sys.executable, __file__, "--one", s, path],
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
        if got.returncode != 0:
            sys.stderr.write(got.stderr[-3000:])
            row = {"step": s, "error": got.stderr.strip().splitlines()[-1:]}
        else:
            row = json.loads(got.stdout.strip().splitlines()[-1])
        row["tier"] = tier
        row["wall_s"] = round(time.perf_counter() - t0, 1)
        print(json.dumps(row), flush=True)
        rows.append(row)
    return rows


def summary(rows: list[dict]) -> str:
    """Markdown table: time, peak, ratios vs M, XL estimate from the M -> L slope."""
    by = {(r["tier"], r["step"]): r for r in rows if "error" not in r}
    acts = {t: by[(t, "load")]["activities"] for t in PATHS if (t, "load") in by}
    out = [
        "| tier | step | time s | peak MB | time / M | peak / M | activities / M |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for (tier, s), r in by.items():
        m = by.get(("M", s))
        ra = f"{acts[tier] / acts['M']:.1f}" if "M" in acts and tier in acts else ""
        rt = f"{r['s'] / m['s']:.1f}" if m and m["s"] else ""
        rp = f"{r['peak_mb'] / m['peak_mb']:.1f}" if m else ""
        out.append(f"| {tier} | {s} | {r['s']} | {r['peak_mb']} | {rt} | {rp} | {ra} |")
    if "M" in acts and "L" in acts:
        out.append("")
        out.append("XL estimate (300M activities), linear in activities from the M and L runs:")
        for s in STEPS:
            m, l_ = by.get(("M", s)), by.get(("L", s))
            if not (m and l_):
                continue
            k = (XL_ACTIVITIES - acts["L"]) / (acts["L"] - acts["M"])
            t = l_["s"] + k * (l_["s"] - m["s"])
            p = l_["peak_mb"] + k * (l_["peak_mb"] - m["peak_mb"])
            out.append(f"- {s}: {t / 60:.0f} min, {p / 1024:.1f} GB peak")
    return "\n".join(out)


def _steps(chosen: list[str] | None) -> list[str]:
    """The steps asked for (``reports``/``apps`` stand for all of them; default all)."""
    if not chosen:
        return list(STEPS)
    out: list[str] = []
    for c in chosen:
        if c == "reports":
            out += [f"report:{n}" for n in REPORT_PERIODS]
        elif c == "apps":
            out += [f"app:{n}" for n in APP_STATES]
        else:
            out.append(c)
    return list(dict.fromkeys(out))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tier", action="append", choices=list(PATHS))
    ap.add_argument(
        "--step", action="append", choices=[*STEPS, "reports", "apps"], help="repeatable"
    )
    ap.add_argument("--s-path", default=PATHS["S"])
    ap.add_argument("--m-path", default=PATHS["M"])
    ap.add_argument("--l-path", default=PATHS["L"])
    ap.add_argument("--json", help="append the rows to this JSON-lines file")
    ap.add_argument("--from-json", help="only print the summary of these JSON lines")
    ap.add_argument("--one", nargs=2, metavar=("STEP", "PATH"), help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.one:
        print(json.dumps(step(*a.one)))
        return
    if a.from_json:
        rows = [json.loads(x) for x in Path(a.from_json).read_text().splitlines() if x.strip()]
        print(summary(rows))
        return
    paths = {"S": a.s_path, "M": a.m_path, "L": a.l_path}
    rows = []
    for tier in a.tier or ["S", "M"]:
        ensure(tier, paths[tier])
        got = run_tier(tier, paths[tier], _steps(a.step))
        rows += got
        if a.json:
            with open(a.json, "a") as f:
                f.writelines(json.dumps(r) + "\n" for r in got)
    print(summary(rows))


if __name__ == "__main__":
    main()
