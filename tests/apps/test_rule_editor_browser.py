"""One real browser test: ``salesml serve`` + headless Chromium on the rule editor."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]
VIEWPORT = {"width": 1280, "height": 1000}


@pytest.fixture(scope="module")
def server(tiny_app) -> str:
    return tiny_app("rule_editor")


def test_editing_a_condition_updates_counts_and_shows_the_caret(
    server: str, open_page, artifacts: Path
) -> None:
    page, errors = open_page(server, viewport=VIEWPORT)
    page.wait_for_selector(".salesml-counts", timeout=120_000)
    page.wait_for_function(
        "() => document.querySelector('.salesml-counts').innerText.includes('before')",
        timeout=60_000,
    )
    counts = page.inner_text(".salesml-counts")
    box = ".salesml-condition textarea"
    assert "月采购额 > 50000" in page.input_value(box)
    page.fill(box, "月采购额 > 1000")
    page.wait_for_function(
        "([b]) => document.querySelector('.salesml-counts').innerText !== b",
        arg=[counts],
        timeout=60_000,
    )
    assert "after" in page.inner_text(".salesml-counts")
    page.fill(box, "月采购 > 1000")
    page.wait_for_selector(".salesml-parse-error pre", timeout=60_000)
    shown = page.inner_text(".salesml-parse-error")
    assert "^" in shown and "月采购额" in shown  # the caret and the suggestion
    page.screenshot(path=str(artifacts / "rule_editor.png"), full_page=True)
    assert errors == []
