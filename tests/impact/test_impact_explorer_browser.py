"""One real browser test: ``salesml serve`` + headless Chromium on the impact explorer."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]
VIEWPORT = {"width": 1280, "height": 1000}


@pytest.fixture(scope="module")
def server(tiny_app) -> str:
    return tiny_app("impact_explorer")


def test_kpi_change_updates_table_and_chart(server: str, open_page, artifacts: Path) -> None:
    page, errors = open_page(server, viewport=VIEWPORT)
    page.wait_for_selector(".salesml-impact-table table", timeout=120_000)
    page.wait_for_selector(".salesml-chart .js-plotly-plot .trace", timeout=90_000)
    table = page.inner_text(".salesml-impact-table")
    chart = page.inner_text(".salesml-chart .js-plotly-plot")
    assert "Days in a stage" in table and "Naive change" in table
    page.select_option(".salesml-kpi select", label="Cross-team response time (hours)")
    for selector, before in (
        (".salesml-impact-table", table),
        (".salesml-chart .js-plotly-plot", chart),
    ):
        page.wait_for_function(
            "([s, b]) => { const e = document.querySelector(s); return e !== null && e.innerText !== b; }",
            arg=[selector, before],
            timeout=180_000,
        )
    assert "Cross-team response time" in page.inner_text(".salesml-impact-table")
    # the chart is the new KPI's too, not the old one with other ticks (an in-place
    # FigureWidget update once left the old title while the table changed)
    page.wait_for_function(
        "() => { const e = document.querySelector('.salesml-chart .js-plotly-plot');"
        " return e !== null && e.innerText.includes('Cross-team response time')"
        " && !e.innerText.includes('Days in a stage'); }",
        timeout=180_000,
    )
    assert page.inner_text(".salesml-error").strip() == ""
    page.screenshot(path=str(artifacts / "impact_explorer.png"), full_page=True)
    assert errors == []
