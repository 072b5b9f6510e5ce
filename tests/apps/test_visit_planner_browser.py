"""One real browser test: ``salesml serve`` + headless Chromium on the visit planner."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]
VIEWPORT = {"width": 1280, "height": 1000}


@pytest.fixture(scope="module")
def server(tiny_app) -> str:
    return tiny_app("visit_planner")


def test_region_capacity_changes_the_plan_and_the_captured_revenue(
    server: str, open_page, artifacts: Path
) -> None:
    page, errors = open_page(server, viewport=VIEWPORT, timeout=240_000)
    page.wait_for_selector(".salesml-plan table", timeout=180_000)
    headline = page.inner_text(".salesml-headline")
    plan = page.inner_text(".salesml-plan")
    assert "expected revenue" in headline and "+¥0" in headline
    options = page.eval_on_selector_all(
        ".salesml-region select option", "els => els.map(e => e.value)"
    )
    assert len(options) >= 2  # "No region" and the regions
    page.select_option(".salesml-region select", options[1])
    # raise the region's capacity: drag the slider's handle to the right end
    slider = page.locator(
        ".salesml-region-capacity .slider-container, .salesml-region-capacity .widget-slider"
    ).first
    box = slider.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + box["width"] - 2, box["y"] + box["height"] / 2)
    for selector, before in ((".salesml-headline", headline), (".salesml-plan", plan)):
        page.wait_for_function(
            "([s, b]) => { const e = document.querySelector(s); return e !== null && e.innerText !== b; }",
            arg=[selector, before],
            timeout=60_000,
        )
    new_headline = page.inner_text(".salesml-headline")
    assert "+¥" in new_headline and "+¥0 " not in new_headline + " "
    assert page.inner_text(".salesml-error").strip() == ""
    page.screenshot(path=str(artifacts / "visit_planner.png"), full_page=True)
    assert errors == []
