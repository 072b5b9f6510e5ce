"""One real browser test of the cac_whatif app: ``salesml serve`` + headless Chromium."""

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
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is missing"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from salesml.data.io import save_dataset
    from salesml.data.simulate import simulate

    data, _ = simulate(preset="demo", seed=3, n_customers=600, n_deals=900, n_reps=10)
    folder = tmp_path_factory.mktemp("serve_cac") / "small"
    save_dataset(data, folder)
    port = _free_port()
    log = tmp_path_factory.mktemp("serve_cac_log") / "serve.log"
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
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"salesml serve exited: {log.read_text(errors='replace')}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        yield f"http://127.0.0.1:{port}/voila/render/cac_whatif.ipynb"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def test_slider_and_rule_editor(server: str) -> None:
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1200})
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(server)
            page.wait_for_selector(".salesml-cac table", timeout=120_000)
            page.wait_for_selector(".salesml-chart .js-plotly-plot .trace", timeout=30_000)
            headline = page.inner_text(".salesml-headline")
            table = page.inner_text(".salesml-cac")
            # move the wechat budget slider with the keyboard (continuous_update=False)
            handle = page.locator(
                ".salesml-budget-wechat .ui-slider-handle, .salesml-budget-wechat .noUi-handle"
            ).first
            handle.focus()
            for _ in range(5):
                page.keyboard.press("ArrowRight")
            page.wait_for_function(
                "h => document.querySelector('.salesml-headline').innerText !== h",
                arg=headline,
                timeout=30_000,
            )
            # each key press is one change; wait for the last one to reach the table
            page.wait_for_function(
                "() => /\\t1\\.5\\t/.test(document.querySelector('.salesml-cac').innerText)",
                timeout=60_000,
            )
            assert page.inner_text(".salesml-cac") != table
            # an unsafe filter is refused inline, with a caret
            box = page.locator(".salesml-rule-filter input")
            box.fill("kind.__class__")
            page.wait_for_function(
                "() => document.querySelector('.salesml-rule-check').innerText.includes('^')",
                timeout=30_000,
            )
            assert "attribute" in page.inner_text(".salesml-rule-check")
            assert page.inner_text(".salesml-error").strip() == ""
            page.screenshot(path=str(ARTIFACTS / "cac_whatif.png"), full_page=True)
            assert errors == []
        finally:
            browser.close()
