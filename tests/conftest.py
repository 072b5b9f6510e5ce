"""Session fixtures shared by every test folder.

- ``demo_data``: ``(SalesData, Truth)`` of ``simulate(preset="demo", seed=0)``, built
  once per session. Treat it as read-only (every salesml transform is pure).
- ``demo_dataset_dir``: that dataset written once as a Parquet dataset folder, with
  its truth in ``<dir>/truth``.
- ``tmp_dataset``: a factory ``tmp_dataset(data, format="parquet", encoding="utf-8")``
  that writes a bundle into a fresh folder under ``tmp_path`` and returns the path.
- ``tiny_dataset``: ``simulate(preset="tiny", seed=3)`` (about 450 deals) saved once
  as a Parquet dataset folder: what report and notebook runs execute on. Read-only.
- ``demo_reports``: ``salesml demo`` run once on ``tiny_dataset`` (every registered
  report, the landing page), shared by the demo, notebook and index tests. Read-only.
- ``serve_apps``: a factory ``serve_apps(data) -> base URL`` that starts ``salesml serve``
  on a free port over ``data`` (one at a time: asking for the next stops the previous), and ``browser``:
  a headless Debian Chromium driven by Playwright (skips without it); ``artifacts``:
  the folder browser tests save their screenshots in.
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from salesml.data.bundle import SalesData


@pytest.fixture(scope="session")
def demo_data():
    """``simulate(preset="demo", seed=0)``: (data, truth), shared by the whole session."""
    from salesml.simulator import simulate

    return simulate(preset="demo", seed=0)


@pytest.fixture(scope="session")
def demo_dataset_dir(demo_data, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo dataset saved once as Parquet (truth in ``<dir>/truth``)."""
    from salesml.data.io import save_dataset

    data, truth = demo_data
    folder = tmp_path_factory.mktemp("demo_dataset")
    save_dataset(data, folder)
    truth.save(folder / "truth")
    return folder


@pytest.fixture
def tmp_dataset(tmp_path: Path) -> Callable[..., Path]:
    """Factory writing a bundle to a new folder under ``tmp_path``; returns the folder."""
    from salesml.data.io import save_dataset

    counter = iter(range(1_000_000))

    def write(data: SalesData, format: str = "parquet", encoding: str = "utf-8") -> Path:
        folder = tmp_path / f"dataset{next(counter)}"
        return save_dataset(data, folder, format=format, encoding=encoding)  # type: ignore[arg-type]

    return write


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The simulator's ``tiny`` preset (about 450 deals) saved once; treat it as read-only."""
    from salesml.data.io import save_dataset
    from salesml.simulator import simulate

    data, _ = simulate(preset="tiny", seed=3)
    folder = tmp_path_factory.mktemp("data") / "tiny"
    save_dataset(data, folder)
    return folder


@dataclass(frozen=True)
class DemoRun:
    """What one ``run_demo`` printed and wrote."""

    exit_code: int
    out: Path
    printed: str
    period: str


@pytest.fixture(scope="session")
def demo_reports(tiny_dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    """``run_demo(tiny_dataset, out)`` once per session: every report for the last full quarter.

    Executing each report notebook costs seconds (a kernel, the imports, the
    analyses), so the demo, notebook and landing-page tests share this one run.
    """
    from salesml.demo import latest_complete, run_demo

    out = tmp_path_factory.mktemp("demo_reports") / "reports"
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        code = run_demo(tiny_dataset, out)
    return DemoRun(code, out, buf.getvalue(), latest_complete(tiny_dataset, "quarter"))


# ---------------------------------------------------------------------- browser tests
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
#: Logs of the ``salesml serve`` processes this test process started, newest last.
SERVE_LOGS: list[Path] = []
#: Lines of the server log and browser console shown in a failed browser test's report.
REPORT_TAIL = 200


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Attach the app server's log and the pages' console to a failed browser test.

    A browser test that times out on a busy machine says only which wait expired; the
    server's log (kernels started, culled, websockets closed) and the browser console
    say why.
    """
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if not report.failed or call.when != "call":
        return
    # the most telling first (a CI summary may keep only the start): the console, whose
    # websocket frames say what the kernel sent; the charts' text; the page; the server
    console = [
        line
        for line in getattr(item, "_salesml_console", None) or ()
        if "shared singleton module" not in line and "shared module" not in line
    ]
    if console:
        report.sections.append(
            (f"browser console, last {REPORT_TAIL} lines", "\n".join(console[-REPORT_TAIL:]))
        )
    for n, page in enumerate(getattr(item, "_salesml_pages", ()), start=1):
        try:  # what the page shows when the wait gave up (pages close at teardown)
            charts = page.eval_on_selector_all(
                ".salesml-chart", "els => els.map(e => e.innerText.slice(0, 300))"
            )
            shown = page.inner_text("body")
            page.screenshot(path=str(ARTIFACTS / f"failed-{item.name}-{n}.png"), full_page=True)
        except Exception as e:  # a closed or crashed page says so instead
            charts, shown = [], f"(could not read the page: {e})"
        if charts:
            report.sections.append((f"page {n} charts", "\n---\n".join(charts)))
        report.sections.append((f"page {n} text when the test failed", shown[:6000]))
    names = set(getattr(item, "fixturenames", ()))
    if SERVE_LOGS and names & {"tiny_app", "serve_apps"}:
        lines = SERVE_LOGS[-1].read_text(errors="replace").splitlines()
        report.sections.append(
            (f"salesml serve log, last {REPORT_TAIL} lines", "\n".join(lines[-REPORT_TAIL:]))
        )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_http(url: str, proc: subprocess.Popen[bytes], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"salesml serve exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=5):
                return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"{url} did not answer within {timeout}s")


@contextlib.contextmanager
def _serving(folder: Path, log: Path) -> Iterator[str]:
    """``salesml serve`` over ``folder`` on a free port; yields the base URL."""
    port = _free_port()
    SERVE_LOGS.append(log)
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "salesml.cli",
                "serve",
                "--port",
                str(port),
                "--data",
                str(folder),
                # app tests drive the apps, not the protection (tests/apps/test_serve_security.py):
                # no token in their URLs, and room for one page per test of a module
                "--no-token",
                "--max-kernels-per-client",
                "16",
                "--max-kernels",
                "16",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: Voila and its kernels
        )
    try:
        _wait_http(f"http://127.0.0.1:{port}/", proc)
        yield f"http://127.0.0.1:{port}"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        printed = log.read_text(errors="replace")
        assert "Traceback" not in printed.split("Voil")[0], printed


@pytest.fixture(scope="session")
def serve_apps(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., str]]:
    """Factory ``serve_apps(data, key=None) -> base URL``: ``salesml serve`` over ``data``.

    With ``key``, a server already running for the same key is reused (the browser
    modules on the tiny dataset share one server: see :func:`tiny_app`).
    """
    from salesml.data.io import save_dataset

    with contextlib.ExitStack() as stack:
        current: list[tuple[str | None, str, contextlib.ExitStack]] = []

        def serve(data: SalesData, key: str | None = None) -> str:
            if key is not None and current and current[-1][0] == key:
                return current[-1][1]
            # One server at a time: each pre-heats a kernel per app notebook (about 0.3 GB
            # each), so a server per browser-test module kept to the session's end would hold
            # gigabytes. Modules run one after another; the previous server stops.
            while current:
                current.pop()[2].close()
            root = tmp_path_factory.mktemp("serve")
            save_dataset(data, root / "data")
            one = stack.enter_context(contextlib.ExitStack())
            url = one.enter_context(_serving(root / "data", root / "serve.log"))
            current.append((key, url, one))
            return url

        yield serve


@pytest.fixture(scope="session")
def tiny_app(serve_apps) -> Callable[[str], str]:
    """``tiny_app(name) -> URL`` of app ``name`` served over the tiny dataset (seed 7).

    The browser modules that drive the apps on the tiny data share one server, started
    once (a server start pre-heats a kernel per app: seconds each).
    """
    from salesml.simulator import simulate

    data, _ = simulate(preset="tiny", seed=7)
    return lambda name: serve_apps(data, key="tiny-7") + f"/voila/render/{name}.ipynb"


@pytest.fixture
def open_page(
    browser, request: pytest.FixtureRequest
) -> Iterator[Callable[..., tuple[Any, list[str]]]]:
    """``open_page(url, viewport=..., timeout=ms) -> (page, errors)``: a new page at ``url``.

    ``errors`` collects the page's uncaught script errors (a test asserts it stays
    empty); the pages are closed when the test ends.
    """
    pages: list[Any] = []
    console: list[str] = []
    request.node._salesml_console = console  # shown when the test fails
    request.node._salesml_pages = pages  # their text is shown when the test fails

    def open_(
        url: str, *, viewport: dict[str, int] | None = None, timeout: float = 180_000
    ) -> tuple[Any, list[str]]:
        page = browser.new_page(viewport=viewport or {"width": 1280, "height": 1000})
        pages.append(page)
        errors: list[str] = []
        n = len(pages)

        def page_error(e: Any) -> None:
            errors.append(str(e))
            console.append(f"{time.strftime('%H:%M:%S')} page {n} uncaught: {e}")

        page.on("pageerror", page_error)
        page.on(
            "console",
            lambda m: console.append(f"{time.strftime('%H:%M:%S')} page {n} {m.type}: {m.text}"),
        )
        page.on("websocket", lambda ws: _watch_socket(ws, n, console))
        page.goto(url, timeout=timeout)  # a cold kernel on a busy machine is slow
        return page, errors

    yield open_
    for page in pages:
        page.close()


def _frame_summary(payload: Any) -> str:
    """``channel msg_type`` of a kernel websocket frame (v1 protocol), with the status
    or comm method when there is one; the size for anything else."""
    import json

    from salesml.apps.voila_app import _v1_parts

    raw = payload if isinstance(payload, bytes) else str(payload).encode()
    parts = _v1_parts(raw) if isinstance(payload, bytes) else []
    if len(parts) < 5:
        return f"{len(raw)} bytes"
    try:
        kind = json.loads(parts[1]).get("msg_type")
        content = json.loads(parts[4]) if len(parts[4]) < 4096 else {}
    except ValueError:
        return f"{len(raw)} bytes"
    extra = content.get("execution_state") or (content.get("data") or {}).get("method") or ""
    return f"{parts[0].decode(errors='replace')} {kind} {extra} ({len(raw)} bytes)"


def _watch_socket(ws: Any, page: int, console: list[str]) -> None:
    """Note in ``console`` a page's websocket: opened, each frame (its message type),
    closed; what a timed-out wait needs to say whether the kernel answered."""

    def note(text: str) -> None:
        console.append(f"{time.strftime('%H:%M:%S')} page {page} {text}")

    note(f"websocket open {ws.url}")
    ws.on("framesent", lambda f: note(f"sent {_frame_summary(f)}"))
    ws.on("framereceived", lambda f: note(f"received {_frame_summary(f)}"))
    ws.on("close", lambda _: note("websocket closed"))


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Headless Debian Chromium through Playwright (never a downloaded browser).

    Skips, saying why, where Chromium is not installed (CI installs it).
    """
    if not Path(CHROMIUM).exists():
        pytest.skip(
            f"{CHROMIUM} is missing (CI installs Debian's chromium: apt-get install chromium)"
        )
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Folder for test artifacts such as screenshots (git-ignored)."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def dask_client() -> Iterator[Any]:
    """A ``distributed.Client`` on a LocalCluster of 2 worker processes (one thread each)."""
    distributed = pytest.importorskip("distributed", reason="dask.distributed is not installed")
    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        memory_limit="3GiB",
    )
    client = distributed.Client(cluster, set_as_default=False)
    try:
        yield client
    finally:
        client.close()
        cluster.close()
