"""One real browser test: ``salesml serve`` + headless Chromium on the deal what-if app."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]
VIEWPORT = {"width": 1280, "height": 1000}
#: Option texts of the deal picker (the widget renders spaces as no-break spaces).
OPTION_TEXTS = "els => els.map(e => e.textContent.replace(/\\u00a0/g, ' '))"


@pytest.fixture(scope="module")
def server(tiny_app) -> str:
    return tiny_app("deal_whatif")


def test_slider_moves_score_and_reasons(server: str, open_page, artifacts: Path) -> None:
    page, errors = open_page(server, viewport=VIEWPORT, timeout=300_000)
    page.wait_for_selector(".salesml-reasons li", timeout=240_000)
    page.wait_for_selector(".salesml-chart .js-plotly-plot", timeout=90_000)
    headline = page.inner_text(".salesml-headline")
    assert "Health score" in headline
    # reasons are marked: what hurts (▼) first, what helps (▲)
    reasons = page.inner_text(".salesml-reasons")
    assert "▼" in reasons or "▲" in reasons
    options = page.eval_on_selector_all(".salesml-deal select option", OPTION_TEXTS)
    assert len(options) >= 2
    # each option names the deal, its owner, amount and score
    assert all(" · " in o and "score" in o for o in options)
    page.select_option(".salesml-deal select", index=1)
    page.wait_for_function(
        "r => document.querySelector('.salesml-reasons').innerText !== r",
        arg=reasons,
        timeout=60_000,
    )
    headline = page.inner_text(".salesml-headline")
    chosen = options[1].split(" · ")[0]  # the deal id the option starts with
    # the waterfall is redrawn for the chosen deal
    page.wait_for_function(
        "d => document.querySelector('.salesml-chart .gtitle')?.textContent.includes(d)",
        arg=chosen,
        timeout=60_000,
    )
    # every slider offered is a feature that moves this model: drag the first to its end
    sliders = page.locator(".salesml-driver")
    assert sliders.count() >= 1
    handle = page.locator(".salesml-driver .ui-slider-handle, .salesml-driver .noUi-handle").first
    handle.focus()
    page.keyboard.press("End")
    page.wait_for_function(
        "h => document.querySelector('.salesml-headline').innerText !== h",
        arg=headline,
        timeout=60_000,
    )
    assert "as it is" in page.inner_text(".salesml-headline")
    assert page.inner_text(".salesml-error").strip() == ""
    # the search narrows the picker (an owner's name from the first option)
    owner = options[0].split(" · ")[1]
    box = page.locator(".salesml-search input")
    box.fill(owner)
    box.press("Enter")
    page.wait_for_function(
        "n => document.querySelectorAll('.salesml-deal select option').length < n",
        arg=len(options),
        timeout=60_000,
    )
    narrowed = page.eval_on_selector_all(".salesml-deal select option", OPTION_TEXTS)
    assert narrowed and all(owner in o for o in narrowed[1:])
    # the picker and the match count are two widgets: their updates land one by one
    page.wait_for_function(
        "([a, b]) => { const t = document.querySelector('.salesml-matches').innerText;"
        " return t.includes(a) || t.includes(b); }",
        arg=[f"{len(narrowed) - 1} of", f"{len(narrowed)} of"],
        timeout=60_000,
    )
    page.screenshot(path=str(artifacts / "deal_whatif.png"), full_page=True)
    assert errors == []
