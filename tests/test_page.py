"""The page in a real browser: headless Chromium (Debian's) driven by Playwright.

Set SPOUGE_SCREENSHOT=path to also save the screenshot used in the README.
Each state the page can be in is also checked with axe-core (injected from tests/page_node, installed by
``npm ci --prefix tests/page_node``): no serious or critical violation.
"""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import time
import urllib.request

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
        assert (page.evaluate("navigator.clipboard.readText()")
                == "9.3326215443944152681699238856266700490715968264382e+157")
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
            page.wait_for_function("m => !document.getElementById('error').classList.contains('hidden') "
                                   "&& document.getElementById('error').textContent.includes(m)", arg=message)
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


# --- issue 13: the page's own fixes, each in the real browser against a real server ----------------------


AXE = pathlib.Path(__file__).resolve().parent / "page_node" / "node_modules" / "axe-core" / "axe.min.js"
MINUS = "\u2212"


def _compute(page, fn, x, digits="16"):
    page.select_option("#fn", fn)
    page.fill("#x", x)
    page.fill("#digits", digits)
    page.click("#go")


def _wait_settled(page):
    """Until no computation and no picture request is pending (busy hidden, note not 'Drawing…')."""
    page.wait_for_function("document.getElementById('go').disabled === false "
                           "&& document.getElementById('method-note').textContent !== 'Drawing…'")


def _set_control(page, id_, value):
    """Change a picture control even while the pictures are hidden (as a keyboard user can before they hide)."""
    page.evaluate("([id, v]) => { const e = document.getElementById(id); e.value = v; "
                  "e.dispatchEvent(new Event('change')); }", [id_, value])


def _pictures(page) -> dict:
    return page.evaluate("""() => ({
        visible: !document.getElementById('charts').classList.contains('hidden'),
        error: document.querySelectorAll('#error-chart *').length,
        terms: document.querySelectorAll('#terms-chart *').length,
        note: document.getElementById('method-note').textContent })""")


def _chart_layout(page, chart: str) -> dict:
    """Every text's box in the chart's own units, and how many elements it holds."""
    return page.evaluate("""(id) => {
        const svg = document.getElementById(id);
        const texts = [...svg.querySelectorAll('text')].map((t) => {
            const b = t.getBBox();
            return {s: t.textContent, cls: t.getAttribute('class'), x: b.x, y: b.y, w: b.width, h: b.height};
        });
        return {texts, count: svg.querySelectorAll('*').length, rects: svg.querySelectorAll('rect').length,
                circles: svg.querySelectorAll('circle').length,
                points: (svg.querySelector('polyline')?.getAttribute('points') || '')
                    .split(' ').filter(Boolean).length};
    }""", chart)


def _assert_readable(layout: dict, most_elements: int):
    texts = layout["texts"]
    assert layout["count"] <= most_elements, layout["count"]
    for t in texts:  # inside the 460 x 300 view box
        assert t["x"] >= 0 and t["y"] >= 0 and t["x"] + t["w"] <= 460 and t["y"] + t["h"] <= 300, t
    for i, a in enumerate(texts):  # no two labels overlap
        for b in texts[i + 1:]:
            apart = (a["x"] + a["w"] <= b["x"] or b["x"] + b["w"] <= a["x"]
                     or a["y"] + a["h"] <= b["y"] or b["y"] + b["h"] <= a["y"])
            assert apart, (a, b)
    yticks = [t for t in texts if t["cls"] == "ytick"]
    xticks = [t for t in texts if t["cls"] == "xtick"]
    assert 3 <= len(yticks) <= 12 and 3 <= len(xticks) <= 12, (len(yticks), len(xticks))


@pytest.fixture
def page_on(browser):
    """page_on(server) -> a fresh page on it, with the responses it saw."""
    contexts = []

    def open_page(server, viewport=(1100, 1300)):
        context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]})
        contexts.append(context)
        page = context.new_page()
        page.responses, page.requests = [], []
        page.on("response", lambda r: page.responses.append((r.url, r.status)))
        page.on("request", lambda r: page.requests.append((r.url, r.headers.get("authorization"))))
        page.origin = f"http://127.0.0.1:{server.port}"
        page.goto(page.origin + "/")
        return page

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture(scope="module")
def plain_server():
    with spouge_server("--jobs", "1", "--max-digits", "5000") as server:
        yield server


def test_complex_x_shows_no_broken_pictures(page_on, plain_server):
    page = page_on(plain_server)
    page.wait_for_selector("#error-chart circle")
    _compute(page, "gamma", "4.5")
    page.wait_for_function("document.getElementById('method-note').textContent.includes('z = 7/2')")
    for fn, x in [("gamma", "3+4j"), ("factorial", f"{MINUS}0.5{MINUS}2j"), ("gamma", "4j")]:
        before = len(page.requests)
        _compute(page, fn, x, "12")
        page.wait_for_function("document.getElementById('method-note').textContent"
                               ".startsWith('No pictures for complex')")
        _wait_settled(page)
        assert page.text_content("#value") == str(getattr(spouge, fn)(x.replace(MINUS, "-"), digits=12))
        pictures = _pictures(page)
        assert not pictures["visible"] and pictures["error"] == 0 and pictures["terms"] == 0, pictures
        assert page.is_hidden("#error-chart") and page.is_hidden("#terms-chart")
        assert not [u for u, _ in page.requests[before:] if "/v1/method" in u]  # nothing asked that must fail
        # changing the picture controls does not bring pictures back for a complex value
        _set_control(page, "max-a", "30")
        page.wait_for_timeout(300)
        assert _pictures(page)["error"] == 0


def test_an_error_clears_the_pictures_of_the_last_good_input(page_on, plain_server):
    page = page_on(plain_server)
    page.wait_for_selector("#error-chart circle")
    for fn, x, digits, message in [("gamma", "-3", "16", "pole"), ("gamma", "abc", "16", "not a decimal number"),
                                   ("gamma", "2", "9999", "at most 5000"), ("lgamma", "3+4j", "10", "x =")]:
        _compute(page, "gamma", "4.5")
        page.wait_for_function("document.getElementById('method-note').textContent.includes('z = 7/2')")
        _compute(page, fn, x, digits)
        page.wait_for_function("m => document.getElementById('error').textContent.includes(m)", arg=message)
        _wait_settled(page)
        pictures = _pictures(page)
        assert not pictures["visible"] and pictures["error"] == 0 and pictures["terms"] == 0, pictures
        assert pictures["note"].startswith("No picture") and message in pictures["note"]
        assert page.is_hidden("#result")
        _set_control(page, "term-a", "25")  # no stale request redraws the old x
        page.wait_for_timeout(400)
        assert _pictures(page)["terms"] == 0
    # a real x the pictures cannot show (reflection): the value, and the reason instead of pictures
    _compute(page, "gamma", f"{MINUS}2.5", "20")
    page.wait_for_function("document.getElementById('method-note').textContent.includes('reflection')")
    assert page.text_content("#value") == str(spouge.gamma("-2.5", digits=20))
    assert not _pictures(page)["visible"] and page.is_hidden("#error")


def test_unicode_minus_in_the_hint_is_accepted(page_on, plain_server):
    page = page_on(plain_server)
    hint = page.text_content("label[for=x]")
    assert f"{MINUS}2.5" in hint
    _compute(page, "gamma", f"{MINUS}2.5", "30")
    page.wait_for_function("document.getElementById('value').textContent.startsWith('-9.45')")
    assert page.text_content("#value") == str(spouge.gamma("-2.5", digits=30))
    assert page.is_hidden("#error")
    _compute(page, "factorial", f"1e{MINUS}3", "10")
    page.wait_for_function("v => document.getElementById('value').textContent === v",
                           arg=str(spouge.factorial("0.001", digits=10)))


def test_password_field_appears_and_is_sent_as_bearer(page_on):
    with spouge_server("--jobs", "1", "--max-digits", "5000", "--requirepass", "pä55 word") as server:
        page = page_on(server)
        page.wait_for_selector("#auth-row:not(.hidden)")
        assert page.get_attribute("#password", "type") == "password"
        assert page.evaluate("document.activeElement.id") == "password"
        page.wait_for_function("document.getElementById('error').textContent.includes('needs a password')")
        assert _pictures(page)["error"] == 0 and page.is_hidden("#result")
        assert page.get_attribute("#digits", "max") == "5000"  # /health stays open

        page.fill("#password", "wrong")
        _compute(page, "factorial", "100", "20")
        page.wait_for_function("document.getElementById('error').textContent.includes('wrong password')")
        assert page.is_hidden("#result")

        page.fill("#password", "密码")  # cannot travel in an HTTP header: said so, nothing sent
        before = len(page.requests)
        _compute(page, "factorial", "100", "20")
        page.wait_for_function("document.getElementById('error').textContent.includes('Latin-1')")
        assert not [u for u, _ in page.requests[before:] if "/v1/" in u]
        assert page.is_enabled("#go")

        page.fill("#password", "pä55 word")
        before = len(page.requests)
        _compute(page, "factorial", "100", "20")
        page.wait_for_function("v => document.getElementById('value').textContent === v",
                               arg=str(spouge.factorial(100, digits=20)))
        page.wait_for_selector("#error-chart circle")
        page.wait_for_selector("#terms-chart rect")
        sent = [(u, auth) for u, auth in page.requests[before:] if "/v1/" in u]
        assert {u.split("?")[0].rsplit("/", 1)[1] for u, _ in sent} == {"factorial", "method"}
        assert all(auth == "Bearer pä55 word" for _, auth in sent), sent
        assert page.is_hidden("#error")


def test_favicon_and_method_link(page_on, plain_server):
    page = page_on(plain_server)
    page.wait_for_selector("#error-chart circle")
    assert not [r for r in page.responses if r[1] >= 400], page.responses  # no 404 for an icon
    icon = page.get_attribute("link[rel=icon]", "href")
    assert icon == "/favicon.svg"
    kind = page.evaluate("fetch('/favicon.svg').then(r => r.status + ' ' + r.headers.get('content-type'))")
    assert kind == "200 image/svg+xml"
    assert page.evaluate("fetch('/favicon.svg').then(r => r.text())").lstrip().startswith("<svg")
    page.click("#method-link")
    page.wait_for_url(page.origin + "/method")
    assert page.text_content("h1").startswith("The method")
    assert page.locator("h2").count() >= 5
    assert page.evaluate("[...document.images].every((i) => i.complete && i.naturalWidth > 300)")
    assert page.evaluate("document.images.length") == 2
    page.click("text=back to the calculator")
    page.wait_for_url(page.origin + "/")


def test_charts_stay_readable_at_large_a(page_on, plain_server):
    page = page_on(plain_server)
    page.wait_for_selector("#error-chart circle")
    # the server's largest pictures (a = 200), from a computation that used a in the thousands
    _compute(page, "gamma", "4.5", "4000")
    page.wait_for_function("Number(document.getElementById('a').textContent) > 1000")
    page.wait_for_function("document.getElementById('method-note').textContent.includes('pictures stop at a = 200')")
    page.fill("#max-a", "200")
    page.dispatch_event("#max-a", "change")
    page.wait_for_function("document.querySelectorAll('#error-chart circle').length > 60 "
                           "&& document.getElementById('method-note').textContent.startsWith('Spouge')")
    for chart in ("error-chart", "terms-chart"):
        _assert_readable(_chart_layout(page, chart), 600)
    # a in the thousands: the charts' own drawing, fed the shape /v1/method gives
    page.evaluate("""() => {
        const curve = [], terms = [];
        for (let a = 3; a <= 6000; a++)
            curve.push({a, log10_bound: -0.8 * a - 0.4, log10_error: a < 5000 ? -1.2 * a : null});
        for (let k = 0; k < 6000; k++)
            terms.push({k, sign: k % 2 ? 1 : -1, log10_abs: 0.555 * Math.min(k, 6000 - k) - 3});
        terms.push({k: 'sum', sign: 1, log10_abs: 2580});
        document.getElementById('charts').classList.remove('hidden');
        drawError(curve); drawTerms(terms);
    }""")
    error, terms = _chart_layout(page, "error-chart"), _chart_layout(page, "terms-chart")
    _assert_readable(error, 600)
    _assert_readable(terms, 600)
    assert 100 <= error["circles"] <= 250 and 100 <= error["points"] <= 250
    assert 100 <= terms["rects"] <= 250  # both signs for each of at most 120 columns
    assert "50 consecutive k" in page.text_content("#terms-grouping")
    labels = [t["s"] for t in error["texts"] if t["cls"] == "ytick"]
    assert any(s.startswith("1e−") for s in labels) and labels == sorted(set(labels), key=labels.index)


def _metric(port: int, name: str) -> float:
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
    return float(next(line.split()[-1] for line in text.splitlines() if line.startswith((name + " ", name + "{"))))


def _start_long_computation(page, server):
    _compute(page, "gamma", "0.5", "30000")  # tens of seconds of work
    page.wait_for_selector("#busy:not(.hidden)")
    deadline = time.monotonic() + 10
    while _metric(server.port, "spouge_pool_busy_workers") != 1:
        assert time.monotonic() < deadline, "the computation never reached the pool"
        time.sleep(0.1)


def test_long_computation_shows_busy_state_elapsed_time_and_cancels(page_on):
    with spouge_server("--jobs", "2", "--max-digits", "40000", "--compute-timeout", "120") as server:
        page = page_on(server)
        page.wait_for_selector("#error-chart circle")
        _start_long_computation(page, server)
        assert page.is_disabled("#go")
        assert page.get_attribute("#result", "aria-busy") == "true"
        assert "Γ(0.5) to 30000 digits" in page.text_content("#busy-text")
        assert page.get_attribute("#busy-text", "role") == "status"

        def elapsed() -> float:
            text = page.text_content("#elapsed")
            return float(text.split()[0]) / (1000 if text.endswith("ms") else 1)

        first = elapsed()
        page.wait_for_timeout(1200)
        assert elapsed() >= first + 1.0
        page.click("#cancel")
        page.wait_for_selector("#status:not(.hidden)")
        assert page.text_content("#status").startswith("Cancelled after")
        assert page.is_hidden("#busy") and page.is_enabled("#go")
        assert page.is_hidden("#result") and page.is_hidden("#error")
        assert page.get_attribute("#result", "aria-busy") == "false"
        assert _pictures(page)["error"] == 0 and page.text_content("#method-note").startswith("No picture")
        # the page is at once ready for the next request (the other worker takes it)
        _compute(page, "gamma", "0.5", "3000")
        page.wait_for_function("document.getElementById('value').textContent.length > 3000", timeout=60000)
        assert page.is_hidden("#status") and page.is_hidden("#busy")
        # one at a time: while busy, Compute (and Enter in a field) waits; Cancel is the way out
        _compute(page, "gamma", "0.5", "20000")
        page.wait_for_selector("#busy:not(.hidden)")
        assert page.is_disabled("#go")
        before = len(page.requests)
        page.press("#x", "Enter")
        page.wait_for_timeout(300)
        assert not [u for u, _ in page.requests[before:] if "/v1/" in u]
        page.click("#cancel")
        page.wait_for_selector("#status:not(.hidden)")
        # a quick computation never flashes the busy state
        page.evaluate("window.sawBusy = false; new MutationObserver(() => { "
                      "if (!document.getElementById('busy').classList.contains('hidden')) window.sawBusy = true; "
                      "}).observe(document.getElementById('busy'), {attributes: true})")
        _compute(page, "factorial", "10", "5")
        page.wait_for_function("document.getElementById('value').textContent === '3.6288e+6'")
        assert page.evaluate("window.sawBusy") is False


def test_cancel_on_the_page_stops_the_computation_on_the_server(page_on):
    with spouge_server("--jobs", "1", "--max-digits", "40000", "--compute-timeout", "120") as server:
        page = page_on(server)
        page.wait_for_selector("#error-chart circle")
        _start_long_computation(page, server)
        page.click("#cancel")
        page.wait_for_selector("#status:not(.hidden)")
        cancelled = time.monotonic()
        while _metric(server.port, "spouge_pool_busy_workers") != 0:
            assert time.monotonic() - cancelled < 5, "the worker kept computing after the cancel"
            time.sleep(0.1)


def _axe(page, where: str) -> None:
    assert AXE.exists(), "axe-core is not installed: npm ci --prefix tests/page_node"
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    bad = [(v["id"], v["impact"], v["help"], [n["target"] for n in v["nodes"]][:3])
           for v in result["violations"] if v["impact"] in ("serious", "critical")]
    assert not bad, f"{where}: {json.dumps(bad, ensure_ascii=False)}"


def test_accessibility_axe_core_finds_no_serious_violations(page_on, plain_server):
    page = page_on(plain_server)
    page.wait_for_selector("#error-chart circle")
    _axe(page, "result with pictures")
    _compute(page, "gamma", "-3")
    page.wait_for_selector("#error:not(.hidden)")
    _axe(page, "error")
    _compute(page, "gamma", "3+4j")
    page.wait_for_function("document.getElementById('method-note').textContent.startsWith('No pictures')")
    _axe(page, "complex value")
    page.goto(page.origin + "/method")
    _axe(page, "the method page")
    with spouge_server("--jobs", "1", "--max-digits", "40000", "--requirepass", "s3cret") as server:
        page = page_on(server, viewport=(420, 900))  # narrow screen, password asked
        page.wait_for_selector("#auth-row:not(.hidden)")
        _axe(page, "password asked")
        page.fill("#password", "s3cret")
        _compute(page, "gamma", "0.5", "30000")
        page.wait_for_selector("#busy:not(.hidden)")
        _axe(page, "busy")
        page.click("#cancel")
        page.wait_for_selector("#status:not(.hidden)")
        _axe(page, "cancelled")


def test_the_accessibility_check_can_fail(page_on, plain_server):
    """The check itself: a nameless button and unreadable text are caught."""
    page = page_on(plain_server)
    page.wait_for_selector("#error-chart circle")
    page.evaluate("""() => { const b = document.createElement('button'); document.querySelector('main').appendChild(b);
                             const p = document.createElement('p'); p.textContent = 'faint'; p.style.color = '#eee';
                             document.querySelector('main').appendChild(p); }""")
    with pytest.raises(AssertionError, match=r"button-name.*color-contrast|color-contrast.*button-name"):
        _axe(page, "broken on purpose")
