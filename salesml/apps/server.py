"""``salesml serve``: Voila on ``notebooks/apps`` with safe defaults.

Defaults: bound to 127.0.0.1, notebook sources stripped from the page,
tracebacks hidden from viewers (errors are shown by the apps themselves), idle
kernels culled, an optional token, and one pre-heated kernel per app so the
first visitor does not wait for the imports and the data load.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from salesml.apps.base import DATASET_ENV, dataset_path
from salesml.reports.kernel import kernel_env
from salesml.reports.registry import notebooks_dir

__all__ = ["apps_dir", "list_apps", "serve", "voila_command"]


def apps_dir() -> Path:
    """The folder of app notebooks (``notebooks/apps``)."""
    return notebooks_dir() / "apps"


def list_apps() -> list[str]:
    """Names of the app notebooks (without ``.ipynb``), sorted."""
    folder = apps_dir()
    return sorted(p.stem for p in folder.glob("*.ipynb")) if folder.exists() else []


def voila_command(
    *,
    port: int = 8866,
    host: str = "127.0.0.1",
    token: str | None = None,
    preheat: bool = True,
    cull_idle: int = 900,
    root: str | os.PathLike[str] | None = None,
) -> list[str]:
    """The Voila command line :func:`serve` runs (exposed for tests and benchmarks).

    Parameters
    ----------
    port, host
        Where to listen (localhost by default: pass ``0.0.0.0`` deliberately).
    token
        If given, every URL must carry ``?token=...``.
    preheat
        Keep one kernel per app notebook started and executed ahead of the first visit.
    cull_idle
        Shut down kernels idle for this many seconds (0 disables culling).
    root
        Folder of notebooks to serve (default ``notebooks/apps``).
    """
    if not 0 <= int(port) < 65536:
        raise ValueError(f"port must be between 0 and 65535, got {port}")
    folder = Path(root) if root is not None else apps_dir()
    cmd = [
        sys.executable,
        "-m",
        "voila",
        str(folder),
        "--no-browser",
        f"--port={int(port)}",
        f"--Voila.ip={host}",
        "--strip_sources=True",
        "--show_tracebacks=False",
    ]
    if token:
        cmd.append(f"--token={token}")
    if cull_idle and cull_idle > 0:
        cmd += [
            f"--MappingKernelManager.cull_idle_timeout={int(cull_idle)}",
            f"--MappingKernelManager.cull_interval={max(10, min(int(cull_idle) // 2, 300))}",
            "--MappingKernelManager.cull_connected=False",
        ]
    if preheat:
        cmd += ["--preheat_kernel=True", "--pool_size=1"]
    return cmd


def serve(
    *,
    port: int = 8866,
    host: str = "127.0.0.1",
    token: str | None = None,
    dataset: str | os.PathLike[str] | None = None,
    preheat: bool = True,
    cull_idle: int = 900,
) -> int:
    """Start Voila on the app notebooks and block until it stops.

    Prints the URL of every app. The apps open ``dataset`` (default
    ``datasets/demo``), passed to their kernels through ``$SALESML_DATASET``.

    Returns
    -------
    int
        Voila's exit code (when it does not replace this process).
    """
    data = dataset_path(dataset)
    env = kernel_env()
    env[DATASET_ENV] = str(data)
    cmd = voila_command(port=port, host=host, token=token, preheat=preheat, cull_idle=cull_idle)
    shown_host = "localhost" if host in ("127.0.0.1", "localhost") else host
    suffix = f"?token={token}" if token else ""
    print(f"salesml serve: dataset {data}", flush=True)
    for name in list_apps():
        print(f"  http://{shown_host}:{port}/voila/render/{name}.ipynb{suffix}", flush=True)
    if host not in ("127.0.0.1", "localhost", "::1") and not token:
        print("  warning: listening beyond this machine without a token", flush=True)
    print("Press Ctrl-C to stop.", flush=True)
    if os.name == "posix":
        # become Voila: signals (Ctrl-C, kill) reach the server directly
        sys.stdout.flush()
        os.execve(cmd[0], cmd, env)
    try:
        return subprocess.call(cmd, env=env)
    except KeyboardInterrupt:  # pragma: no cover - interactive
        return 130
