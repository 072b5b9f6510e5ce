"""Benchmark of reports and dashboards: papermill overhead, Voila first render, control change.

Run ``python bench/bench_reports.py --tier demo`` (or ``--tier M``; add ``--voila`` for
the browser measurements, which need ``/usr/bin/chromium``). Measures:

1. ``pipeline_weekly`` end to end through :func:`salesml.reports.run_report`
   (papermill execution + HTML export + lineage), for the last complete month;
2. the same analytics calls in-process (load the dataset, funnel, breakpoints,
   durations, leakage, key findings, the four figures) -- the baseline of the
   overhead ratio ``(papermill run + HTML export) / in-process``;
3. the server-side time of one control change of the funnel explorer (the state's
   recomputation when the region changes), median over the regions;
4. with ``--voila``: time from ``page.goto`` to the first rendered funnel explorer
   (breakpoint table and chart visible) against an empty notebook served by the
   same Voila, with and without a pre-heated kernel.

The dataset is ``bench/out/data-<tier>`` (generated with seed 0 if missing);
results go to ``bench/out/reports-<tier>.json`` and a Markdown table is printed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import nbformat

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
CHROMIUM = "/usr/bin/chromium"


def dataset_for(tier: str) -> Path:
    """``bench/out/data-<tier>``, generated (seed 0) and saved if missing."""
    from salesml.data.io import save_dataset
    from salesml.simulator import simulate

    folder = OUT / f"data-{tier}"
    if not (folder / "dataset.yaml").exists():
        t0 = time.perf_counter()
        data, _ = simulate(preset=tier, seed=0)
        save_dataset(data, folder)
        print(f"generated {folder} in {time.perf_counter() - t0:.0f}s", flush=True)
    return folder


def in_process(folder: Path, period: str) -> dict[str, float]:
    """The report's analytics and figures, called directly (what the notebook runs).

    Loads the same tables as the report (``REPORT.loads``).
    """
    from salesml.data.io import load_dataset
    from salesml.pipeline import (
        clear_cache,
        funnel,
        funnel_breakpoints,
        key_findings,
        lead_leakage,
        stage_durations,
    )
    from salesml.plotting.pipeline import (
        breakpoint_heatmap,
        funnel_chart,
        lead_loss_bars,
        stage_duration_bars,
    )
    from salesml.reports.catalog.pipeline_weekly import REPORT

    clear_cache()
    t0 = time.perf_counter()
    data = load_dataset(folder, progress=False, tables=list(REPORT.loads) or None)
    t1 = time.perf_counter()
    f = funnel(data, period=period)
    b = funnel_breakpoints(data, by="region", period=period)
    d = stage_durations(data, period=period)
    leak = lead_leakage(data, period=period)
    key_findings(f, b, d, leak, n=3)
    t2 = time.perf_counter()
    for fig in (
        funnel_chart(f),
        breakpoint_heatmap(b),
        stage_duration_bars(d),
        lead_loss_bars(leak),
    ):
        fig.to_html(full_html=False, include_plotlyjs=False)
    t3 = time.perf_counter()
    return {"load": t1 - t0, "analytics": t2 - t1, "figures": t3 - t2, "total": t3 - t0}


def in_fresh_interpreter(folder: Path, period: str) -> float:
    """Wall time of :func:`in_process` in a new Python process, imports included."""
    code = (
        "import sys, time; t0 = time.perf_counter(); "
        "sys.path.insert(0, sys.argv[1]); import bench_reports as b; from pathlib import Path; "
        "b.in_process(Path(sys.argv[2]), sys.argv[3]); print(time.perf_counter() - t0)"
    )
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", code, str(ROOT / "bench"), str(folder), period],
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - t0


def report_run(folder: Path, period: str, tier: str) -> dict[str, float]:
    """One ``run_report('pipeline_weekly')`` into ``bench/out/reports-<tier>``."""
    from salesml.reports import run_report

    t0 = time.perf_counter()
    r = run_report(
        "pipeline_weekly", {"dataset": str(folder), "period": period}, OUT / f"reports-{tier}"
    )
    total = time.perf_counter() - t0
    return {
        "total": total,
        "execute": r.timings["execute"],
        "export": r.timings["export"],
        "html_mb": r.html.stat().st_size / 1e6,
        "notebook_mb": r.notebook.stat().st_size / 1e6,
    }


def control_change(folder: Path) -> dict[str, float]:
    """Funnel explorer: initial computation and one region change (median over regions)."""
    from salesml.apps.funnel_explorer.state import FunnelExplorerState
    from salesml.data.io import load_dataset

    data = load_dataset(folder, progress=False)
    t0 = time.perf_counter()
    state = FunnelExplorerState(data)
    first = time.perf_counter() - t0
    times = []
    for region in state.regions:
        state.region = region
        assert not state.error, state.error
        times.append(state.last_seconds)
    state.region = ""
    state.segment = state.segments[0]
    seg = state.last_seconds
    return {
        "state_init": first,
        "region_change_median": statistics.median(times),
        "region_change_max": max(times),
        "segment_change": seg,
    }


# ---------------------------------------------------------------------- Voila
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(url: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5):
                return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(url)


def voila_first_render(folder: Path, *, preheat: bool, visits: int = 3) -> dict[str, Any]:
    """Seconds from ``goto`` to first render: funnel explorer vs an empty notebook."""
    from playwright.sync_api import sync_playwright

    from salesml.apps.base import DATASET_ENV
    from salesml.apps.server import apps_dir, voila_command
    from salesml.reports.kernel import kernel_env

    root = Path(tempfile.mkdtemp(prefix="bench-voila-"))
    shutil.copy(apps_dir() / "funnel_explorer.ipynb", root / "funnel_explorer.ipynb")
    empty = nbformat.v4.new_notebook()
    empty.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    empty.cells = [nbformat.v4.new_markdown_cell("# empty")]
    nbformat.write(empty, root / "empty.ipynb")
    port = _free_port()
    env = kernel_env()
    env[DATASET_ENV] = str(folder)
    cmd = voila_command(port=port, preheat=preheat, root=root)
    log = (root / "voila.log").open("wb")
    proc = subprocess.Popen(
        cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    out: dict[str, Any] = {"preheat": preheat}
    try:
        _wait(f"http://127.0.0.1:{port}/")
        if preheat:  # let the pools fill (the app loads its data while pre-heating)
            time.sleep(8 if "demo" in folder.name else 45)
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=CHROMIUM,
                args=[
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                ],
            )
            for name, selector in (
                ("empty", "h1"),
                ("funnel_explorer", ".salesml-chart .js-plotly-plot .trace"),
            ):
                times = []
                for _ in range(visits):
                    page = browser.new_page()
                    t0 = time.perf_counter()
                    page.goto(f"http://127.0.0.1:{port}/voila/render/{name}.ipynb", timeout=300_000)
                    page.wait_for_selector(selector, timeout=300_000)
                    if name == "funnel_explorer":
                        page.wait_for_selector(".salesml-breakpoints table", timeout=300_000)
                    times.append(time.perf_counter() - t0)
                    page.close()
                    if preheat:  # wait for the pool to refill before the next visit
                        time.sleep(8 if "demo" in folder.name else 45)
                out[name] = times
            browser.close()
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()
        shutil.rmtree(root, ignore_errors=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tier", default="demo", choices=["demo", "M"])
    ap.add_argument("--repeat", type=int, default=None, help="report runs (default 3 demo, 1 M)")
    ap.add_argument("--voila", action="store_true", help="also measure Voila in Chromium")
    ap.add_argument(
        "--voila-only",
        action="store_true",
        help="only the Voila measurement (merged into the JSON)",
    )
    args = ap.parse_args()
    repeat = args.repeat or (3 if args.tier == "demo" else 1)

    from salesml.data.io import load_dataset
    from salesml.demo import latest_complete_month

    folder = dataset_for(args.tier)
    period = latest_complete_month(load_dataset(folder, progress=False, tables=["deals", "leads"]))
    res: dict[str, Any] = {"tier": args.tier, "period": period, "python": platform.python_version()}
    out_json = OUT / f"reports-{args.tier}.json"
    if args.voila_only:
        res = json.loads(out_json.read_text(encoding="utf-8")) if out_json.exists() else res
        res["voila"] = [voila_first_render(folder, preheat=p) for p in (True, False)]
        out_json.write_text(json.dumps(res, indent=2), encoding="utf-8")
        _print_voila(res)
        return
    runs = [report_run(folder, period, args.tier) for _ in range(repeat)]
    base = [in_process(folder, period) for _ in range(repeat)]
    best_run = min(runs, key=lambda r: r["total"])
    best_base = min(base, key=lambda r: r["total"])
    res["report"] = best_run
    res["in_process"] = best_base
    res["overhead_ratio"] = best_run["total"] / best_base["total"]
    res["fresh_interpreter"] = min(in_fresh_interpreter(folder, period) for _ in range(repeat))
    res["overhead_ratio_fresh"] = best_run["total"] / res["fresh_interpreter"]
    res["control"] = control_change(folder)
    if args.voila:
        if not Path(CHROMIUM).exists():
            raise SystemExit(f"--voila needs {CHROMIUM}")
        res["voila"] = [voila_first_render(folder, preheat=p) for p in (True, False)]
    elif out_json.exists():  # keep the last browser measurement
        previous = json.loads(out_json.read_text(encoding="utf-8"))
        if "voila" in previous:
            res["voila"] = previous["voila"]
    OUT.mkdir(parents=True, exist_ok=True)
    out_json.write_text(json.dumps(res, indent=2), encoding="utf-8")

    r, b, c = res["report"], res["in_process"], res["control"]
    print(f"\n### tier {args.tier} (period {period}, best of {repeat})\n")
    print("| measure | seconds |\n|---|---:|")
    print(f"| pipeline_weekly via run_report (papermill + HTML export) | {r['total']:.2f} |")
    print(f"| &nbsp; of which notebook execution | {r['execute']:.2f} |")
    print(f"| &nbsp; of which HTML export | {r['export']:.2f} |")
    print(f"| same analytics in-process (load + analyses + figures) | {b['total']:.2f} |")
    print(
        f"| &nbsp; load / analyses / figures | {b['load']:.2f} / {b['analytics']:.2f} / {b['figures']:.2f} |"
    )
    print(f"| **overhead ratio** (vs warm in-process) | **{res['overhead_ratio']:.1f}x** |")
    print(
        f"| same calls in a fresh interpreter (imports included) | {res['fresh_interpreter']:.2f} |"
    )
    print(f"| **overhead ratio** (vs fresh interpreter) | **{res['overhead_ratio_fresh']:.1f}x** |")
    print(f"| funnel explorer state init | {c['state_init']:.3f} |")
    print(
        f"| **one region change (server side), median / max** | **{c['region_change_median'] * 1000:.0f} / {c['region_change_max'] * 1000:.0f} ms** |"
    )
    print(f"| one segment change | {c['segment_change'] * 1000:.0f} ms |")
    print(f"\nHTML {r['html_mb']:.1f} MB, executed notebook {r['notebook_mb']:.2f} MB")
    _print_voila(res)


def _print_voila(res: dict[str, Any]) -> None:
    for v in res.get("voila", []):
        mode = "pre-heated kernel" if v["preheat"] else "no pre-heat"
        e, a = statistics.median(v["empty"]), statistics.median(v["funnel_explorer"])
        print(
            f"| Voila first render, {mode}: empty / funnel_explorer (median of {len(v['empty'])}) | {e:.2f} / {a:.2f} |"
        )


if __name__ == "__main__":
    main()
