"""U+2212 MINUS SIGN ("−2.5", as the page's hint and any typeset text write it) is a minus sign everywhere
a number is read from text: the library, the CLI, RESP and HTTP.  Other look-alikes stay refused."""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
from urllib.parse import quote

import pytest
import redis

import spouge
from server_harness import spouge_server

MINUS = "\u2212"

# (function, x with U+2212, the same x with "-")
CASES = [
    ("gamma", f"{MINUS}2.5", "-2.5"),
    ("factorial", f"{MINUS}0.5", "-0.5"),
    ("lgamma", f"{MINUS}7.25", "-7.25"),
    ("gamma", f"1e{MINUS}3", "1e-3"),
    ("gamma", f"3{MINUS}4j", "3-4j"),
    ("gamma", f"{MINUS}0.5{MINUS}2j", "-0.5-2j"),
    ("gamma", f"{MINUS}4j", "-4j"),
    ("factorial", f"  {MINUS}1.5 ", "-1.5"),
]


@pytest.mark.parametrize("function, typeset, ascii_", CASES)
def test_library_reads_unicode_minus(function, typeset, ascii_):
    fn = getattr(spouge, function)
    assert str(fn(typeset, digits=20)) == str(fn(ascii_, digits=20))


def test_parser_values_are_exact():
    from fractions import Fraction

    from spouge.numerics import parse_number, parse_real

    assert parse_real(f"{MINUS}2.5") == Fraction(-5, 2)
    assert parse_real(f"1e{MINUS}2") == Fraction(1, 100)
    assert parse_number(f"3{MINUS}4j") == (Fraction(3), Fraction(-4))
    assert parse_number(f"{MINUS}j") == (Fraction(0), Fraction(-1))


@pytest.mark.parametrize("bad", [f"{MINUS}{MINUS}2", MINUS, f"2{MINUS}", f"{MINUS} 2", f"{MINUS}-2", f"-{MINUS}2",
                                 "\u20132.5", "\ufe632.5", "\uff0d2.5", "\u20122.5", f"{MINUS}inf", f"{MINUS}nan",
                                 f"3{MINUS}{MINUS}4j", f"1e{MINUS}{MINUS}2"])
def test_only_one_real_minus_sign_at_a_time(bad):
    """En dash, small/full-width hyphen-minus, figure dash stay refused; doubled signs too;
    no inf/nan by the back door."""
    with pytest.raises(ValueError, match=r"not a (decimal|complex|finite) number"):
        spouge.gamma(bad, digits=10)


def test_pole_through_unicode_minus_is_still_a_pole():
    with pytest.raises(ValueError, match="pole"):
        spouge.gamma(f"{MINUS}3")


def test_cli_reads_unicode_minus():
    for args in (["gamma", f"{MINUS}2.5", "--digits", "12"], ["gamma", f"3{MINUS}4j", "--digits", "12"]):
        proc = subprocess.run([sys.executable, "-m", "spouge", *args], check=False, capture_output=True, text=True,
                              timeout=120,
                              encoding="utf-8")
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.strip() == str(spouge.gamma(args[1].replace(MINUS, "-"), digits=12))
    proc = subprocess.run([sys.executable, "-m", "spouge", "gamma", f"{MINUS}3"], check=False, capture_output=True,
                          text=True,
                          timeout=120, encoding="utf-8")
    assert proc.returncode != 0 and "pole" in proc.stderr and "Traceback" not in proc.stderr


@pytest.fixture(scope="module")
def server():
    with spouge_server("--jobs", "1", "--max-digits", "5000") as s:
        yield s


def test_resp_reads_unicode_minus(server):
    client = redis.Redis(port=server.port, socket_timeout=30)
    try:
        for _, typeset, ascii_ in CASES:
            if "j" in typeset:
                expected = str(spouge.gamma(ascii_, digits=16))
                assert client.execute_command("GAMMA", typeset, 16).decode() == expected
        assert client.execute_command("GAMMA", f"{MINUS}2.5", 30).decode() == str(spouge.gamma("-2.5", digits=30))
        assert client.execute_command("LGAMMA", f"{MINUS}7.25").decode() == str(spouge.lgamma("-7.25"))
        with pytest.raises(redis.ResponseError, match="pole"):
            client.execute_command("GAMMA", f"{MINUS}3")
        with pytest.raises(redis.ResponseError, match="not a decimal number"):
            client.execute_command("GAMMA", "\u20132.5")
    finally:
        client.close()


def test_http_reads_unicode_minus(server):
    def get(path):
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        conn.request("GET", path)
        response = conn.getresponse()
        body = json.loads(response.read())
        conn.close()
        return response.status, body

    status, body = get(f"/v1/gamma?x={quote(MINUS + '2.5')}&digits=25")
    assert status == 200 and body["value"] == str(spouge.gamma("-2.5", digits=25))
    status, body = get(f"/v1/factorial?x={quote('3' + MINUS + '4j')}&digits=10")
    assert status == 200 and body["value"] == str(spouge.factorial("3-4j", digits=10))
    status, body = get(f"/v1/method?function=gamma&x={quote(MINUS + '2.5')}")
    assert status in (400, 422) and "reflection" in body["error"]  # read as -2.5: the pictures' own refusal
    status, body = get(f"/v1/gamma?x={quote(MINUS + '3')}")
    assert 400 <= status < 500 and "pole" in body["error"]
    status, body = get(f"/v1/gamma?x={quote(chr(0x2013) + '2.5')}")
    assert status == 400 and "not a decimal number" in body["error"]
