"""One real browser test: ``salesml serve`` + headless Chromium on the team builder."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]
VIEWPORT = {"width": 1280, "height": 1100}


@pytest.fixture(scope="module")
def server(tiny_app) -> str:
    return tiny_app("team_builder")


def test_pick_and_move_update_radar_evidence_and_groups(
    server: str, open_page, artifacts: Path
) -> None:
    page, errors = open_page(server, viewport=VIEWPORT)
    page.wait_for_selector(".salesml-groups table", timeout=120_000)
    page.wait_for_selector(".salesml-chart .js-plotly-plot .trace", timeout=90_000)
    evidence = page.inner_text(".salesml-evidence")
    groups = page.inner_text(".salesml-groups")
    reps = page.eval_on_selector_all(".salesml-rep select option", "els => els.map(e => e.value)")
    assert len(reps) >= 5
    target = reps[1]
    page.select_option(".salesml-rep select", target)
    page.wait_for_function(
        "([s, b]) => { const e = document.querySelector(s); return e !== null && e.innerText !== b; }",
        arg=[".salesml-evidence", evidence],
        timeout=180_000,
    )
    # the evidence and the headline are two widgets: their updates reach the page one by one
    page.wait_for_function(
        "([s, t]) => document.querySelector(s).innerText.includes(t)",
        arg=[".salesml-headline", target],
        timeout=180_000,
    )
    # move the rep out of its group, or into the first group when it is in none
    current = page.eval_on_selector(".salesml-move_to select", "e => e.selectedIndex")
    page.select_option(".salesml-move_to select", index=1 if current == 0 else 0)
    picked = page.eval_on_selector(
        ".salesml-move_to select", "e => e.options[e.selectedIndex].text"
    )
    expect = "no group" if current != 0 else f"is in {picked}"
    page.click(".salesml-move")
    page.wait_for_function(
        "([s, b]) => { const e = document.querySelector(s); return e !== null && e.innerText !== b; }",
        arg=[".salesml-groups", groups],
        timeout=180_000,
    )
    page.wait_for_function(
        "([t, e]) => { const h = document.querySelector('.salesml-headline').innerText;"
        " return h.includes(t) && h.includes(e); }",
        arg=[target, expect],
        timeout=180_000,
    )
    assert page.inner_text(".salesml-error").strip() == ""
    page.screenshot(path=str(artifacts / "team_builder.png"), full_page=True)
    assert errors == []
