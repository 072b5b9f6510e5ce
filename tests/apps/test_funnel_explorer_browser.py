"""One real browser test: ``salesml serve`` + headless Chromium on the funnel explorer."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(),
        reason=f"{CHROMIUM} is missing (CI installs Debian's chromium; `apt-get install chromium`)",
    ),
]


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


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``salesml serve`` on a free port over a tiny dataset; yields the app URL."""
    from salesml.data.io import save_dataset
    from salesml.data.simulate import simulate

    data, _ = simulate(preset="tiny", seed=7)
    folder = tmp_path_factory.mktemp("serve") / "tiny"
    save_dataset(data, folder)
    port = _free_port()
    log = tmp_path_factory.mktemp("serve_log") / "serve.log"
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
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: Voila and its kernels
        )
    try:
        _wait_http(f"http://127.0.0.1:{port}/", proc)
        yield f"http://127.0.0.1:{port}/voila/render/funnel_explorer.ipynb"
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


def test_region_change_updates_chart_and_table(server: str) -> None:
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(server)
            page.wait_for_selector(".salesml-breakpoints table", timeout=90_000)
            page.wait_for_selector(".salesml-chart .js-plotly-plot .trace", timeout=30_000)
            chart = page.inner_text(".salesml-chart .js-plotly-plot")
            table = page.inner_text(".salesml-breakpoints")
            headline = page.inner_text(".salesml-headline")
            assert "deals" in headline
            options = page.eval_on_selector_all(
                ".salesml-region select option", "els => els.map(e => e.value)"
            )
            assert len(options) >= 3  # "All" and the regions
            page.select_option(".salesml-region select", options[1])
            # each widget update is its own message: wait for all of them to land
            for selector, before in (
                (".salesml-headline", headline),
                (".salesml-chart .js-plotly-plot", chart),
                (".salesml-breakpoints", table),
            ):
                page.wait_for_function(
                    "([s, b]) => document.querySelector(s).innerText !== b",
                    arg=[selector, before],
                    timeout=30_000,
                )
            page.wait_for_function(
                "() => document.querySelector('.salesml-busy').innerText.includes('Ready')",
                timeout=30_000,
            )
            new_table = page.inner_text(".salesml-breakpoints")
            assert options[1] in new_table  # the table now shows the chosen region's stages
            assert set(new_table.split()) & set(options[2:]) == set()  # and no other region
            assert page.inner_text(".salesml-error").strip() == ""
            page.screenshot(path=str(ARTIFACTS / "funnel_explorer.png"), full_page=True)
            assert errors == []
        finally:
            browser.close()
