"""The page in a real browser: headless Chromium (Debian's) driven by Playwright.

Set SPOUGE_SCREENSHOT=path to also save the screenshot used in the README.
"""

from __future__ import annotations

import os
import shutil

import pytest

import spouge
from server_harness import spouge_server

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.fail("chromium is not installed: scripts/test installs it (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield b
        b.close()


def test_page_computes_draws_and_reports_errors(browser, tmp_path):
    with spouge_server("--jobs", "1", "--max-digits", "5000") as server:
        origin = f"http://127.0.0.1:{server.port}"
        context = browser.new_context(viewport={"width": 1100, "height": 1300})
        context.grant_permissions(["clipboard-read", "clipboard-write"], origin=origin)
        page = context.new_page()
        requested = []
        page.on("request", lambda request: requested.append(request.url))
        page.goto(origin + "/")
        assert page.title().startswith("spouge")

        page.select_option("#fn", "factorial")
        page.fill("#x", "100")
        page.fill("#digits", "50")
        page.click("#go")
        page.wait_for_function("document.getElementById('value').textContent.startsWith('9.332621544394415268169923885626670049071596826438')")
        assert page.text_content("#value") == "9.3326215443944152681699238856266700490715968264382e+157"
        assert page.text_content("#a") == str(spouge.factorial(100, digits=50).a)
        assert page.text_content("#bound").startswith(("1", "2", "3", "4", "5", "6", "7", "8", "9"))
        assert page.get_attribute("#digits", "max") == "5000"
        page.wait_for_selector("#error-chart circle")
        page.wait_for_function("document.querySelectorAll('#terms-chart rect').length > 10")
        assert page.locator("#error-chart circle").count() > 30  # measured error for a = 3..40
        page.click("#copy")
        page.wait_for_selector("#copied:not(.hidden)")
        assert page.evaluate("navigator.clipboard.readText()") == "9.3326215443944152681699238856266700490715968264382e+157"
        shot = tmp_path / "page.png"
        page.screenshot(path=str(shot), full_page=True)
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10000
        if os.environ.get("SPOUGE_SCREENSHOT"):
            shutil.copy(shot, os.environ["SPOUGE_SCREENSHOT"])

        # long values wrap instead of widening the page
        page.fill("#digits", "3000")
        page.click("#go")
        page.wait_for_function("document.getElementById('value').textContent.length > 3000")
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

        for fn, x, digits, message in [("gamma", "-3", "16", "pole"), ("gamma", "abc", "16", "not a decimal number"),
                                       ("gamma", "2", "9999", "at most 5000"), ("lgamma", "3+4j", "10", "x =")]:
            page.select_option("#fn", fn)
            page.fill("#x", x)
            page.fill("#digits", digits)
            page.click("#go")
            page.wait_for_function("m => !document.getElementById('error').classList.contains('hidden') && document.getElementById('error').textContent.includes(m)", arg=message)
            assert page.is_hidden("#result")
        # a complex value works, and the pictures say why there are none for it
        page.select_option("#fn", "gamma")
        page.fill("#x", "3+4j")
        page.fill("#digits", "12")
        page.click("#go")
        page.wait_for_selector("#result:not(.hidden)")
        assert page.text_content("#value") == str(spouge.gamma("3+4j", digits=12))
        page.wait_for_function("document.getElementById('method-note').textContent.startsWith('No picture')")
        assert all(url.startswith(origin) for url in requested), [u for u in requested if not u.startswith(origin)]
        context.close()
