"""First render of the dashboards against an empty notebook on the same server.

Usage::

    python bench/bench_apps.py [--data DATASET] [--repeat 2] [--browser]

Three measurements, each app against ``empty`` (a notebook showing one widget):

1. ``steps``: in a fresh interpreter per app, the time of each step of the app's
   notebook: the imports, the data load, the state (model fit, analyses), the view
   (widgets), and the size of the widget state sent to the browser.
2. ``cold``: ``salesml serve``'s server without pre-heated kernels; the seconds of a
   page request (kernel start + notebook execution + HTML), each request a new kernel.
3. ``--browser``: with one pre-heated kernel per notebook (the default of ``salesml
   serve``), the seconds from navigation to the app's headline in headless Chromium
   (the empty notebook: its one widget), each page on a spare kernel that has
   finished executing (``--settle`` seconds after its pool reports full).

Without ``--data`` the demo dataset (seed 1) is generated into a temporary folder.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

APPS = ("funnel_explorer", "deal_whatif", "cac_whatif")

STEPS = r"""
import json, sys, time
t0 = time.perf_counter()
import ipywidgets as w
t_kernel = time.perf_counter() - t0
app, data = sys.argv[1], sys.argv[2]
t0 = time.perf_counter()
if app == "funnel_explorer":
    from salesml.apps.funnel_explorer.state import FunnelExplorerState as S
    from salesml.apps.funnel_explorer.view import FunnelExplorerView as V
elif app == "deal_whatif":
    from salesml.apps.deal_whatif.state import DealWhatifState as S
    from salesml.apps.deal_whatif.view import DealWhatifView as V
else:
    from salesml.apps.cac_whatif.state import CacWhatIfState as S
    from salesml.apps.cac_whatif.view import CacWhatIfView as V
t_import = time.perf_counter() - t0
from salesml.data.io import load_dataset
t0 = time.perf_counter()
load_dataset(data, progress=False)
t_load = time.perf_counter() - t0
t0 = time.perf_counter()
state = S.from_dataset(data)
t_state_total = time.perf_counter() - t0
t_cached = None
if app == "deal_whatif":
    t0 = time.perf_counter()
    state = S.from_dataset(data)
    t_cached = time.perf_counter() - t0
t0 = time.perf_counter()
view = V(state)
t_view = time.perf_counter() - t0
size = len(json.dumps(w.Widget.get_manager_state(drop_defaults=True), default=str))
print(json.dumps({"ipywidgets import": t_kernel, "app imports": t_import,
                  "data load (all tables)": t_load, "state (load + fit + analyses)": t_state_total,
                  "state again (cached model)": t_cached if t_cached is not None else float("nan"),
                  "view": t_view, "widget state KB": size / 1024}))
"""

EMPTY_NB = {
    "cells": [
        {
            "cell_type": "code",
            "execution_count": None,
            "id": "empty",
            "metadata": {},
            "outputs": [],
            "source": "import ipywidgets as w\nw.HTML('empty')",
        }
    ],
    "metadata": {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "salesml"}
    },
    "nbformat": 4,
    "nbformat_minor": 5,
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def steps(data: Path) -> dict[str, dict[str, float]]:
    out = {}
    for app in APPS:
        r = subprocess.run(
            [sys.executable, "-c", STEPS, app, str(data)],
            capture_output=True,
            text=True,
            check=True,
        )
        out[app] = json.loads(r.stdout.strip().splitlines()[-1])
    return out


def _folder(root: Path) -> Path:
    from salesml.apps.server import apps_dir

    folder = root / "apps"
    folder.mkdir(parents=True)
    for app in APPS:
        shutil.copy(apps_dir() / f"{app}.ipynb", folder / f"{app}.ipynb")
    kernel = json.loads((apps_dir() / f"{APPS[0]}.ipynb").read_text())["metadata"]["kernelspec"]
    nb = dict(EMPTY_NB, metadata={"kernelspec": kernel})
    (folder / "empty.ipynb").write_text(json.dumps(nb))
    return folder


def _get(url: str) -> float:
    t0 = time.perf_counter()
    with urllib.request.urlopen(url, timeout=600) as r:
        r.read()
    return time.perf_counter() - t0


def server_times(data: Path, root: Path, *, preheat: bool, repeat: int) -> dict[str, list[float]]:
    from salesml.apps.base import DATASET_ENV
    from salesml.apps.server import jupyter_data_dir, voila_command
    from salesml.reports.kernel import kernel_env

    port = _free_port()
    cmd = voila_command(
        port=port,
        preheat=preheat,
        max_kernels=0,
        max_kernels_per_client=0,
        root=_folder(root / ("pre" if preheat else "cold")),
    )
    env = kernel_env()
    env[DATASET_ENV] = str(data)
    env["JUPYTER_PATH"] = os.pathsep.join([str(jupyter_data_dir()), env["JUPYTER_PATH"]])
    log = root / f"server-{'pre' if preheat else 'cold'}.log"
    with log.open("wb") as f:
        proc = subprocess.Popen(cmd, env=env, stdout=f, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    names = ("empty", *APPS)
    times: dict[str, list[float]] = {n: [] for n in names}
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                _get(base + "/")
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.5)

        def pools_full(k: int) -> None:
            deadline = time.monotonic() + 600
            while log.read_text(errors="replace").count("is filled with") < k:
                if time.monotonic() > deadline:
                    raise TimeoutError("the kernel pools did not fill")
                time.sleep(0.5)
            time.sleep(1.0)

        filled = len(names)
        for _ in range(repeat):
            for name in names:
                if preheat:
                    pools_full(filled)
                    filled += 1  # each request takes the spare; the pool starts another
                times[name].append(_get(f"{base}/voila/render/{name}.ipynb"))
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return times


def browser_times(data: Path, root: Path, *, repeat: int, settle: float) -> dict[str, list[float]]:
    """Seconds from navigation to the app's headline (``empty``: its text) in Chromium.

    Preheated server; before each page the pool is given ``settle`` seconds after it
    reports full, so the spare kernel has executed its notebook.
    """
    from playwright.sync_api import sync_playwright

    from salesml.apps.base import DATASET_ENV
    from salesml.apps.server import jupyter_data_dir, voila_command
    from salesml.reports.kernel import kernel_env

    port = _free_port()
    cmd = voila_command(
        port=port,
        preheat=True,
        max_kernels=0,
        max_kernels_per_client=0,
        root=_folder(root / "browser"),
    )
    env = kernel_env()
    env[DATASET_ENV] = str(data)
    env["JUPYTER_PATH"] = os.pathsep.join([str(jupyter_data_dir()), env["JUPYTER_PATH"]])
    log = root / "server-browser.log"
    with log.open("wb") as f:
        proc = subprocess.Popen(cmd, env=env, stdout=f, stderr=subprocess.STDOUT)
    names = ("empty", *APPS)
    times: dict[str, list[float]] = {n: [] for n in names}
    selector = {"empty": "text=empty"} | {a: ".salesml-headline" for a in APPS}
    try:
        filled = len(names)
        with sync_playwright() as pw:
            b = pw.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
            for _ in range(repeat):
                for name in names:
                    deadline = time.monotonic() + 900
                    while log.read_text(errors="replace").count("is filled with") < filled:
                        if time.monotonic() > deadline:
                            raise TimeoutError("the kernel pools did not fill")
                        time.sleep(0.5)
                    time.sleep(settle)
                    filled += 1
                    page = b.new_page()
                    t0 = time.perf_counter()
                    page.goto(f"http://127.0.0.1:{port}/voila/render/{name}.ipynb", timeout=600_000)
                    page.wait_for_selector(selector[name], timeout=600_000)
                    times[name].append(time.perf_counter() - t0)
                    page.close()
            b.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return times


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--browser", action="store_true", help="also time pages in Chromium")
    parser.add_argument("--settle", type=float, default=30.0)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench_apps_") as tmp:
        root = Path(tmp)
        data = args.data
        if data is None:
            from salesml.data.io import save_dataset
            from salesml.simulator import simulate

            data = root / "demo"
            save_dataset(simulate(preset="demo", seed=1)[0], data)
        print(f"dataset {data}")
        print("\n## steps (seconds, fresh interpreter per app)")
        for app, row in steps(data).items():
            print(app, "  ".join(f"{k}: {v:.2f}" for k, v in row.items()))
        runs = [("cold page request", server_times(data, root, preheat=False, repeat=args.repeat))]
        if args.browser:
            times = browser_times(data, root, repeat=args.repeat, settle=args.settle)
            runs.append(("preheated, in Chromium until the headline shows", times))
        for title, times in runs:
            base = min(times["empty"])
            print(f"\n## {title} (seconds, best of {args.repeat}; ratio to the empty notebook)")
            for name, ts in times.items():
                print(
                    f"{name:16s} {min(ts):6.2f}  x{min(ts) / base:4.1f}   all: "
                    + ", ".join(f"{x:.2f}" for x in ts)
                )


if __name__ == "__main__":
    main()
