"""One real browser test: ``salesml serve`` + headless Chromium on the funnel explorer."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]
VIEWPORT = {"width": 1280, "height": 1000}


@pytest.fixture(scope="module")
def server(tiny_app) -> str:
    return tiny_app("funnel_explorer")


def test_region_change_updates_chart_and_table(server: str, open_page, artifacts: Path) -> None:
    page, errors = open_page(server, viewport=VIEWPORT)
    page.wait_for_selector(".salesml-breakpoints table", timeout=90_000)
    page.wait_for_selector(".salesml-chart .js-plotly-plot .trace", timeout=90_000)
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
            "([s, b]) => { const e = document.querySelector(s); return e !== null && e.innerText !== b; }",
            arg=[selector, before],
            timeout=90_000,
        )
    page.wait_for_function(
        "() => document.querySelector('.salesml-busy').innerText.includes('Ready')",
        timeout=90_000,
    )
    new_table = page.inner_text(".salesml-breakpoints")
    assert options[1] in new_table  # the table now shows the chosen region's stages
    assert set(new_table.split()) & set(options[2:]) == set()  # and no other region
    assert page.inner_text(".salesml-error").strip() == ""
    page.screenshot(path=str(artifacts / "funnel_explorer.png"), full_page=True)
    assert errors == []
