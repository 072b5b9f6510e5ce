"""One real browser test of the cac_whatif app: ``salesml serve`` + headless Chromium."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]
VIEWPORT = {"width": 1280, "height": 1200}


@pytest.fixture(scope="module")
def server(serve_apps) -> str:
    """The cac_whatif app served over a small simulated dataset."""
    from salesml.simulator import simulate

    data, _ = simulate(preset="demo", seed=3, n_customers=600, n_deals=900, n_reps=10)
    return serve_apps(data) + "/voila/render/cac_whatif.ipynb"


def test_slider_and_rule_editor(server: str, open_page, artifacts: Path) -> None:
    page, errors = open_page(server, viewport=VIEWPORT)
    page.wait_for_selector(".salesml-cac table", timeout=120_000)
    page.wait_for_selector(".salesml-chart .js-plotly-plot .trace", timeout=90_000)
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
        timeout=90_000,
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
        timeout=90_000,
    )
    assert "attribute" in page.inner_text(".salesml-rule-check")
    assert page.inner_text(".salesml-error").strip() == ""
    page.screenshot(path=str(artifacts / "cac_whatif.png"), full_page=True)
    assert errors == []
