"""/openapi.json: built from the route table, valid OpenAPI 3.1, and the live server checked against it
with schemathesis (every check, bounded examples)."""

from __future__ import annotations

import http.client
import json
import subprocess
import sys

import pytest

from server_harness import spouge_server
from spouge.server.commands import http as routes
from spouge.server.compute import ARGUMENTS, DIGITS_ONLY

#: Statuses schemathesis' checks accept beyond their defaults, and why:
#: - positive data: a schema cannot say "digits or bits, not both", "no rounding with a complex argument" (400),
#:   nor where the poles are (422: well-formed, but the value is infinite), and /v1/method draws |x| <= 10^6 (400);
#: - negative data: a body over the parser's 64 KiB cap is refused before it is read as JSON (413).
SCHEMATHESIS_TOML = """
[checks.positive_data_acceptance]
expected-statuses = ["2xx", "3xx", "400", "401", "404", "422", "5xx"]
[checks.negative_data_rejection]
expected-statuses = ["400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429", "5xx"]
"""


def _document(server) -> dict:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    conn.request("GET", "/openapi.json")
    response = conn.getresponse()
    assert response.status == 200 and response.getheader("Content-Type") == "application/json"
    return json.loads(response.read())


def test_the_document_covers_the_route_table():
    with spouge_server("--jobs", "0", "--max-digits", "123") as s:
        doc = _document(s)
    assert doc["openapi"].startswith("3.1")
    assert set(doc["paths"]) == set(routes.ROUTES) | set(routes.OTHER_ROUTES)
    for path, function in routes.ROUTES.items():
        get = doc["paths"][path]["get"]
        names = {p["name"] for p in get["parameters"]}
        expected = set(ARGUMENTS[function]) | {"digits"} | (set() if function in DIGITS_ONLY else {"bits", "rounding"})
        assert names == expected, path
        digits = next(p for p in get["parameters"] if p["name"] == "digits")["schema"]["anyOf"][0]
        assert digits["maximum"] == 123  # this server's --max-digits
        assert {"200", "304", "400", "422"} <= set(get["responses"]) and "head" in doc["paths"][path]
        assert "401" not in get["responses"] and not get.get("security")
    assert set(doc["paths"][routes.BATCH_PATH]) == {"post"}


def test_the_document_describes_the_password():
    with spouge_server("--jobs", "0", "--requirepass", "pw") as s:
        doc = _document(s)  # open, like the page: it holds no secret
    assert doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    assert doc["paths"]["/v1/gamma"]["get"]["security"] == [{"bearer": []}]
    assert doc["paths"]["/health"]["get"]["security"] == []
    assert "401" in doc["paths"]["/v1/gamma"]["get"]["responses"]


def test_the_number_patterns_are_the_parser():
    """Text the pattern admits is a number to the server, and text it refuses is refused (U+2212, whitespace,
    complex forms); a space counts as '+' (what form-encoding clients send for it)."""
    import re

    from spouge import numerics
    from spouge.server.openapi import COMPLEX_PATTERN, REAL_PATTERN, ROUNDING_PATTERN

    samples = ["2", "-2.5", "\u22122.5", ".5", "5.", "1e5", "1E-5", "+3", "\t7\n", "\u20037", "3+4j", "j", "-j", "4J",
               "3-j", "abc", "", ".", "e5", "1e", "--2", "2 ", "2+", "nan", "inf", "3+4", "1_000", "0x10",
               "\u00a02\u2028", " 2", "3 4j", "- 2", " -2"]
    for text in samples:
        for pattern, parse in ((REAL_PATTERN, numerics.parse_real), (COMPLEX_PATTERN, numerics.parse_number)):
            try:
                parse(text.replace(" ", "+"))  # how a form-encoding client's space arrives
                accepted = True
            except (TypeError, ValueError):
                accepted = False
            assert bool(re.search(pattern, text)) == accepted, (text, pattern is REAL_PATTERN)
    cases = (("nearest", True), ("DOWN", True), ("\tup ", False), ("\tup\n", True), ("", True), ("sideways", False))
    for text, ok in cases:
        assert bool(re.search(ROUNDING_PATTERN, text)) == ok, text


@pytest.mark.parametrize("options, headers", [
    (("--cors-origin", "https://a.example"), ()),
    (("--requirepass", "pw"), ("-H", "Authorization: Bearer pw")),  # also checks that a missing password is 401
], ids=["open", "password"])
def test_schemathesis_finds_no_failures(tmp_path, options, headers):
    pytest.importorskip("schemathesis")
    config = tmp_path / "schemathesis.toml"
    config.write_text(SCHEMATHESIS_TOML)
    with spouge_server("--jobs", "1", "--max-digits", "60", *options) as s:
        result = subprocess.run(
            [sys.executable, "-m", "schemathesis.cli", "--config-file", str(config), "run",
             f"http://127.0.0.1:{s.port}/openapi.json", "--checks", "all", "--max-examples", "25",
             "--request-timeout", "20", "--no-color", *headers],
            capture_output=True, text=True, timeout=240, cwd=tmp_path,
        )
    summary = result.stdout[-3000:]
    assert result.returncode == 0, summary
    assert "failure" not in summary.lower().replace("no failures", ""), summary
    tested = [line for line in result.stdout.splitlines() if "Tested:" in line]
    assert tested and int(tested[0].split("Tested:")[1].split()[0]) >= 30, tested
