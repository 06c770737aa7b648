"""The method pictures' numbers (numerics.method) and their HTTP route."""

from __future__ import annotations

import json
from fractions import Fraction

import pytest

from spouge.numerics.method import error_curve, factorial_argument, terms


@pytest.mark.parametrize("x", ["0", "0.5", "4.5", "100", "12345.678"])
def test_measured_error_never_exceeds_spouges_bound(x):
    curve = error_curve(factorial_argument("factorial", x), 80)
    assert [p["a"] for p in curve] == list(range(3, 81))
    measured = [p for p in curve if p["log10_error"] is not None]
    assert len(measured) >= 70
    assert all(p["log10_error"] <= p["log10_bound"] for p in measured)
    assert curve[-1]["log10_bound"] < curve[0]["log10_bound"] - 60


def test_terms_show_the_cancellation():
    ts = terms(Fraction(9, 2), 30)
    assert [t["k"] for t in ts] == [*range(30), "sum"]
    signs = [t["sign"] for t in ts[1:30]]
    assert signs == [1 if k % 2 else -1 for k in range(1, 30)]
    largest = max(t["log10_abs"] for t in ts[:30] if t["log10_abs"] is not None)
    assert largest > ts[-1]["log10_abs"] + 5  # terms ~10^5 times the sum: the cancellation


def test_tiny_terms_are_null_not_minus_infinity():
    ts = terms(Fraction(100), 68)
    assert any(t["log10_abs"] is None for t in ts)
    json.dumps(ts, allow_nan=False)


def test_arguments():
    assert factorial_argument("gamma", "4.5") == Fraction(7, 2)
    assert factorial_argument("gamma", "0.25") == Fraction(1, 4)
    assert factorial_argument("factorial", "3") == 3
    with pytest.raises(ValueError, match="need x >= 0"):
        factorial_argument("gamma", "-2.5")
    with pytest.raises(ValueError):
        factorial_argument("gamma", "1e7")
    with pytest.raises(ValueError, match="between 3"):
        error_curve(Fraction(1), 500)


def test_http_route():
    import http.client

    from server_harness import spouge_server

    with spouge_server("--jobs", "1") as server:
        def get(path):
            c = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
            c.request("GET", path)
            r = c.getresponse()
            return r.status, json.loads(r.read())

        status, body = get("/v1/method?function=factorial&x=100&max_a=40&a=68")
        assert status == 200 and body["z"] == "100" and len(body["curve"]) == 38 and len(body["terms"]) == 69
        assert get("/v1/method?x=-3")[0] == 422
        assert get("/v1/method?x=1&max_a=999")[0] == 422
        assert get("/v1/method?x=1&max_a=abc")[0] == 400
        assert get("/v1/method?x=1&function=sin")[0] == 400
        assert get("/v1/method")[0] == 400
        c = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        c.request("GET", "/")
        r = c.getresponse()
        page = r.read()
        assert r.status == 200 and r.getheader("Content-Type") == "text/html; charset=utf-8"
        assert b"<svg" in page and b"http://" not in page.replace(b'xmlns="http://www.w3.org/2000/svg"', b"").replace(
            b'"http://www.w3.org/2000/svg"', b""
        )
