"""``salesml serve``: Voila on ``notebooks/apps`` with safe defaults.

Defaults: bound to 127.0.0.1; a fresh random token in every URL (``--no-token`` to
drop it); only this machine's host names accepted (``--allow-host`` adds one) and
websockets from the page's own origin only; at most 8 kernels serving viewers and 3
per client; kernels culled 120 s after their tab closed and 600 s after their last
use with the tab open; the v1 kernel websocket protocol only, rate- and
memory-bounded; notebook sources stripped, tracebacks and server paths hidden from
viewers; kernels on IPC sockets in a private folder; a clean exit within seconds on
SIGTERM; one pre-heated kernel per app so the first visitor does not wait. The rules
are in :mod:`salesml.apps.security`, the server in :mod:`salesml.apps.voila_app`.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from salesml.apps.base import DATASET_ENV, dataset_path
from salesml.apps.security import generate_token, is_loopback_bind
from salesml.i18n import t
from salesml.reports.kernel import kernel_env
from salesml.reports.registry import notebooks_dir

__all__ = ["apps_dir", "jupyter_data_dir", "list_apps", "serve", "voila_command"]

#: The Voila template of the apps (``salesml/apps/jupyter/voila/templates/salesml``).
TEMPLATE = "salesml"


def jupyter_data_dir() -> Path:
    """The folder holding salesml's Voila template (put first on ``$JUPYTER_PATH``)."""
    return Path(__file__).resolve().parent / "jupyter"


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
    preheat: bool = True,
    cull_idle: int = 120,
    cull_open: int = 600,
    max_kernels: int = 8,
    max_kernels_per_client: int = 3,
    allow_hosts: tuple[str, ...] | list[str] = (),
    root: str | os.PathLike[str] | None = None,
) -> list[str]:
    """The command line :func:`serve` runs (exposed for tests and benchmarks).

    The token is not on it (every local user can read a command line): :func:`serve`
    passes it in the server's environment.

    Parameters
    ----------
    port, host
        Where to listen (localhost by default: pass ``0.0.0.0`` deliberately).
    preheat
        Keep one kernel per app notebook started and executed ahead of the first visit.
    cull_idle
        Shut down a kernel whose page is closed (no websocket) after this many idle
        seconds (0 disables culling).
    cull_open
        Shut down a kernel whose tab is open but unused after this many seconds
        (0: keep it while the tab is open).
    max_kernels, max_kernels_per_client
        Kernels serving viewers at once, in all and per remote address (0: no limit).
    allow_hosts
        Extra names the ``Host`` header may carry (the machine's DNS name, a proxy's name).
    root
        Folder of notebooks to serve (default ``notebooks/apps``).
    """
    if not 0 <= int(port) < 65536:
        raise ValueError(f"port must be between 0 and 65535, got {port}")
    for name, value in (
        ("cull_idle", cull_idle),
        ("cull_open", cull_open),
        ("max_kernels", max_kernels),
        ("max_kernels_per_client", max_kernels_per_client),
    ):
        if int(value) < 0:
            raise ValueError(f"{name} must be >= 0, got {value}")
    folder = Path(root) if root is not None else apps_dir()
    cmd = [
        sys.executable,
        "-m",
        "salesml.apps.voila_app",
        str(folder),
        "--no-browser",
        f"--port={int(port)}",
        "--Voila.port_retries=0",
        f"--Voila.ip={host}",
        f"--template={TEMPLATE}",
        "--strip_sources=True",
        "--show_tracebacks=False",
        # a viewer may not pick another template or theme (?template=...): that
        # bypasses the pre-heated kernel, starts a new one and can fail half-way
        "--VoilaConfiguration.allow_template_override=NO",
        "--VoilaConfiguration.allow_theme_override=NO",
        "--VoilaConfiguration.multi_kernel_manager_class="
        "salesml.apps.voila_app.SalesmlKernelManager",
        # kernels on unix sockets in Voila's private connection folder, not on TCP ports
        "--KernelManager.transport=ipc",
        f"--SalesmlVoila.max_kernels={int(max_kernels)}",
        f"--SalesmlVoila.max_kernels_per_client={int(max_kernels_per_client)}",
    ]
    if allow_hosts:
        cmd.append("--SalesmlVoila.allow_hosts=" + repr([str(h) for h in allow_hosts]))
    if cull_idle and cull_idle > 0:
        interval = max(5, min(int(cull_idle) // 4, 60))
        cmd += [
            f"--MappingKernelManager.cull_idle_timeout={int(cull_idle)}",
            f"--MappingKernelManager.cull_interval={interval}",
            "--MappingKernelManager.cull_connected=True",
            f"--SalesmlKernelManager.cull_connected_timeout={int(cull_open)}",
        ]
    if preheat:
        cmd += ["--preheat_kernel=True", "--pool_size=1"]
    return cmd


def serve(
    *,
    port: int = 8866,
    host: str = "127.0.0.1",
    token: str | None = None,
    no_token: bool = False,
    dataset: str | os.PathLike[str] | None = None,
    preheat: bool = True,
    cull_idle: int = 120,
    cull_open: int = 600,
    max_kernels: int = 8,
    max_kernels_per_client: int = 3,
    allow_hosts: tuple[str, ...] | list[str] = (),
    lang: str = "en",
) -> int:
    """Start the dashboards server and block until it stops.

    Prints the URL of every app, with the token as Jupyter does. The apps open
    ``dataset`` (default ``datasets/demo``), passed to their kernels through
    ``$SALESML_DATASET``.

    Parameters
    ----------
    token
        The token the URLs must carry; a fresh random one when ``None``.
    no_token
        Serve without a token (anyone who can reach the address may open the apps).

    Returns
    -------
    int
        The server's exit code (when it does not replace this process).
    """
    if token is not None and no_token:
        raise ValueError("--token and --no-token contradict each other")
    if token is not None and (len(token) < 8 or not token.isprintable() or " " in token):
        raise ValueError("--token must be at least 8 printable characters without spaces")
    data = dataset_path(dataset)
    cmd = voila_command(
        port=port,
        host=host,
        preheat=preheat,
        cull_idle=cull_idle,
        cull_open=cull_open,
        max_kernels=max_kernels,
        max_kernels_per_client=max_kernels_per_client,
        allow_hosts=allow_hosts,
    )
    env = kernel_env()
    env[DATASET_ENV] = str(data)
    parts = [str(jupyter_data_dir())]
    parts += [p for p in env.get("JUPYTER_PATH", "").split(os.pathsep) if p]
    env["JUPYTER_PATH"] = os.pathsep.join(parts)
    env.pop("JUPYTER_TOKEN", None)
    if not no_token:
        token = token or generate_token()
        env["SALESML_SERVE_TOKEN"] = token
    shown_host = "localhost" if is_loopback_bind(host) else host
    suffix = f"?token={token}" if token and not no_token else ""
    print(t("server.start.dataset", lang, path=data), flush=True)
    for name in list_apps():
        print(f"  http://{shown_host}:{port}/voila/render/{name}.ipynb{suffix}", flush=True)
    if no_token:
        print(t("server.start.no_token", lang), flush=True)
    if not is_loopback_bind(host):
        print(t("server.start.remote", lang), flush=True)
    print(t("server.start.stop", lang), flush=True)
    if os.name == "posix":
        # become the server: signals (Ctrl-C, kill) reach it directly
        sys.stdout.flush()
        os.execve(cmd[0], cmd, env)
    try:
        return subprocess.call(cmd, env=env)
    except KeyboardInterrupt:  # pragma: no cover - interactive
        return 130
