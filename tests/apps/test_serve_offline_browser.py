"""The app pages fetch nothing from outside this machine (issue 10, item 14).

Headless Chromium opens an app with every request leaving loopback blocked and
recorded: none may be attempted, and the page must still render its widgets (which
also shows the browser speaks the v1 kernel websocket protocol the server requires).
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]
LOCAL = {"127.0.0.1", "localhost", "[::1]", "::1"}


def test_app_page_loads_nothing_from_outside(tiny_app, browser) -> None:
    url = tiny_app("funnel_explorer")
    outside: list[str] = []

    def route(r) -> None:
        u = r.request.url
        if urlsplit(u).scheme in ("data", "blob") or urlsplit(u).hostname in LOCAL:
            r.continue_()
        else:
            outside.append(u)
            r.abort()

    context = browser.new_context()
    try:
        context.route("**/*", route)
        page = context.new_page()
        failed: list[str] = []
        page.on("requestfailed", lambda req: failed.append(req.url))
        page.goto(url, timeout=180_000)
        page.wait_for_selector(".salesml-breakpoints table", timeout=90_000)
        page.wait_for_selector(".salesml-chart .js-plotly-plot .trace", timeout=90_000)
        assert "deals" in page.inner_text(".salesml-headline")
        # FontAwesome comes from Voila's own bundle, not the CDN the lab template names
        assert page.evaluate(
            "() => [...document.styleSheets].some(s => { try { return [...s.cssRules]"
            ".some(r => r.cssText.includes('Font Awesome 5 Free')); } catch (e) { return false; } })"
        )
        assert outside == [], f"requests to outside this machine: {outside}"
        assert [u for u in failed if urlsplit(u).hostname not in LOCAL] == []
    finally:
        context.close()
