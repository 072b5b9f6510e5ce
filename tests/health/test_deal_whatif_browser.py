"""One real browser test: ``salesml serve`` + headless Chromium on the deal what-if app."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]
VIEWPORT = {"width": 1280, "height": 1000}


@pytest.fixture(scope="module")
def server(serve_apps) -> str:
    """The deal_whatif app served over a small simulated dataset."""
    from salesml.simulator import simulate

    data, _ = simulate(preset="tiny", seed=7)
    return serve_apps(data) + "/voila/render/deal_whatif.ipynb"


def test_slider_moves_score_and_reasons(server: str, browser, artifacts: Path) -> None:
    page = browser.new_page(viewport=VIEWPORT)
    try:
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(server, timeout=180_000)  # a cold kernel on a busy machine is slow
        page.wait_for_selector(".salesml-reasons li", timeout=120_000)
        page.wait_for_selector(".salesml-chart .js-plotly-plot", timeout=30_000)
        headline = page.inner_text(".salesml-headline")
        assert "Health score" in headline
        reasons = page.inner_text(".salesml-reasons")
        options = page.eval_on_selector_all(
            ".salesml-deal select option", "els => els.map(e => e.value)"
        )
        assert len(options) >= 2
        page.select_option(".salesml-deal select", options[1])
        page.wait_for_function(
            "r => document.querySelector('.salesml-reasons').innerText !== r",
            arg=reasons,
            timeout=30_000,
        )
        headline = page.inner_text(".salesml-headline")
        # drag the days-since-activity slider to its far end (keyboard: End)
        handle = page.locator(
            ".salesml-days-since-activity .ui-slider-handle, "
            ".salesml-days-since-activity .noUi-handle"
        ).first
        handle.focus()
        page.keyboard.press("End")
        page.wait_for_function(
            "h => document.querySelector('.salesml-headline').innerText !== h",
            arg=headline,
            timeout=30_000,
        )
        assert "as it is" in page.inner_text(".salesml-headline")
        assert page.inner_text(".salesml-error").strip() == ""
        page.screenshot(path=str(artifacts / "deal_whatif.png"), full_page=True)
        assert errors == []
    finally:
        page.close()
