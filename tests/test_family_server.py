"""Issue 12 item 5: the Gamma family over RESP (redis-py and inline), HTTP, the cost model and the loop's liveness.

Values are compared with the library called in-process (the server must say
exactly what ``spouge.<function>`` says); errors must be one clear line or a
4xx JSON; heavy inputs must neither stall other clients nor crash anything.
"""

from __future__ import annotations

import http.client
import json
import math
import time

import pytest
import redis

import spouge
from compute_latency_probe import LatencyProbe
from server_harness import read_reply, resp_command, spouge_server
from spouge.server import compute

HUGE = "1" + "0" * 1000  # 10^1000: exact binomial(HUGE, 600) takes seconds (its product has 2e6 bits)


@pytest.fixture(scope="module")
def server():
    with spouge_server("--jobs", "2", "--max-digits", "5000", "--compute-timeout", "20") as s:
        yield s


@pytest.fixture()
def client(server):
    c = redis.Redis(port=server.port, decode_responses=True, protocol=2, socket_timeout=30)
    yield c
    c.close()


def get(server, target: str) -> tuple[int, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    conn.request("GET", target)
    response = conn.getresponse()
    body = json.loads(response.read())
    conn.close()
    return response.status, body


# --- RESP ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("command, args, kwargs", [
    ("RGAMMA", ("2.5",), {}), ("RGAMMA", ("-2.5",), {"digits": 30}), ("RGAMMA", ("7",), {}),
    ("BETA", ("0.5", "0.5"), {}), ("BETA", ("-0.5", "2.25"), {"digits": 40}), ("BETA", ("3", "4"), {}),
    ("BINOMIAL", ("10", "3"), {}), ("BINOMIAL", ("1e100", "3"), {"digits": 50}), ("BINOMIAL", ("-7.5", "2.25"), {}),
    ("RISING", ("0.5", "10"), {}), ("RISING", ("-3.25", "2.5"), {"digits": 25}),
    ("FALLING", ("10", "3"), {}), ("FALLING", ("2.5", "-1.5"), {}),
    ("LOGGAMMA", ("3+4j",), {"digits": 20}), ("LOGGAMMA", ("-2.5",), {}), ("LOGGAMMA", ("2.5",), {}),
    ("LGAMMA", ("-2.5",), {"digits": 30}), ("GAMMA", ("0.1",), {}), ("FACTORIAL", ("100",), {"digits": 50}),
])
def test_values_are_the_librarys(client, command, args, kwargs):
    expected = str(getattr(spouge, command.lower())(*args, **kwargs))
    extra = [kwargs["digits"]] if "digits" in kwargs else []
    assert client.execute_command(command, *args, *extra) == expected
    if extra:  # the DIGITS option says the same
        assert client.execute_command(command, *args, "DIGITS", *extra) == expected


@pytest.mark.parametrize("command, args", [
    ("GAMMA", ("0.1",)), ("FACTORIAL", ("2.5",)), ("LGAMMA", ("-2.5",)), ("RGAMMA", ("-2.5",)),
    ("BETA", ("0.5", "1.25")),
    ("BINOMIAL", ("7.5", "2.25")), ("RISING", ("0.5", "2.5")), ("FALLING", ("10.5", "3")),
])
@pytest.mark.parametrize("mode", ["down", "up", "zero", "away", "nearest"])
def test_rounding_modes_and_bits(client, command, args, mode):
    fn = getattr(spouge, command.lower())
    assert client.execute_command(command, *args, 20, "ROUNDING", mode) == str(fn(*args, digits=20, rounding=mode))
    # case-insensitive options, bits instead of digits
    assert (client.execute_command(command, *args, "bits", 53, "rounding", mode.upper())
            == str(fn(*args, bits=53, rounding=mode)))


def test_enclosure_gives_both_bounds(client):
    lower, upper = client.execute_command("BETA", "0.5", "0.5", 30, "ROUNDING", "enclosure")
    enclosure = spouge.beta("0.5", "0.5", digits=30, rounding="enclosure")
    assert (lower, upper) == (str(enclosure.lower), str(enclosure.upper)) and lower != upper
    assert spouge.gamma("0.5", digits=30, rounding="down") <= spouge.gamma("0.5", digits=30, rounding="up")
    # exact: both bounds are the value
    assert client.execute_command("BINOMIAL", 10, 3, "ROUNDING", "ENCLOSURE") == ["1.200000000000000e+2"] * 2


def test_lgamma_sign(client):
    assert client.execute_command("LGAMMA", "-2.5", "WITHSIGN") == [str(spouge.lgamma("-2.5")), -1]
    assert client.execute_command("LGAMMA", "-3.5", 20, "WITHSIGN")[1] == 1
    reply = client.execute_command("LGAMMA", "-0.5", "ROUNDING", "enclosure", "WITHSIGN")
    assert (len(reply) == 3 and reply[2] == -1 and reply[0] <= reply[1]) or reply[0].startswith("1.2")
    with pytest.raises(redis.ResponseError, match="unknown option 'WITHSIGN'"):
        client.execute_command("GAMMA", "2.5", "WITHSIGN")


def test_rgamma_at_the_poles_is_exactly_zero(client):
    for x in ("0", "-1", "-3", "-1" + "0" * 50):
        assert client.execute_command("RGAMMA", x) == str(spouge.rgamma(x))
        assert float(client.execute_command("RGAMMA", x)) == 0.0


@pytest.mark.parametrize("args, message", [
    (("BETA", 0, 1), "pole"), (("BETA", -2, "0.5"), "pole"), (("BINOMIAL", -3, "0.5"), "infinite"),
    (("RISING", -2.5, "1.5", "ROUNDING", "sideways"),
     "rounding must be one of nearest, down, up, zero, away, enclosure"),
    (("GAMMA", "0.5", 20, "BITS", 60), "digits or bits, not both"),
    (("GAMMA", "0.5", "DIGITS", 20, "BITS", 60), "digits or bits, not both"),
    (("GAMMA", "0.5", -5), "digits must be at least 1"), (("GAMMA", "0.5", "BITS", 0), "bits must be between 1 and"),
    (("GAMMA", "0.5", "BITS", "ten"), "bits must be an integer"),
    (("GAMMA", "0.5", "DIGITS", 9, "DIGITS", 9), "given twice"),
    (("GAMMA", "0.5", "ROUNDING"), "ROUNDING needs a value"), (("BETA", "0.5"), "wrong number of arguments"),
    (("LOGGAMMA", "3+4j", "ROUNDING", "up"), "loggamma takes digits only"),
    (("LOGGAMMA", "2", "BITS", 53), "digits only"),
    (("GAMMA", "3+4j", "ROUNDING", "down"), "real arguments"), (("BETA", "1+1j", "2"), "a = "),
    (("BINOMIAL", "10", "abc"), "k = 'abc' is not a decimal number"),
    (("BINOMIAL", "1" + "0" * 20000, "3"), "out of range"), (("GAMMA", "0.5", "DIGITS", 5001), "at most 5000"),
    (("FALLING", "3", "5", "10", "EXTRA"), "unknown option 'EXTRA'"),
    (("FALLING", "3", "5", "EXTRA"), "digits must be an integer"), (("RGAMMA", "nan"), "not a finite number"),
])
def test_bad_inputs_are_one_clear_error(client, args, message):
    with pytest.raises(redis.ResponseError, match=message):
        client.execute_command(*args)
    assert client.ping()  # and the connection stays usable


def test_inline_dialect(server):
    reply = server.request(b"beta 0.5 0.5 20 rounding UP\r\nbinomial 10 3 rounding enclosure\r\n"
                           b"lgamma -2.5 withsign\r\nrgamma -2\r\nbeta 0 1\r\n")
    expected = (resp_command(str(spouge.beta("0.5", "0.5", digits=20, rounding="up")))[4:]  # a bulk string
                + b"*2\r\n$20\r\n1.200000000000000e+2\r\n$20\r\n1.200000000000000e+2\r\n"
                + b"*2\r\n" + resp_command(str(spouge.lgamma("-2.5")))[4:] + b":-1\r\n"
                + resp_command(str(spouge.rgamma("-2")))[4:])
    assert reply.startswith(expected), reply
    assert reply[len(expected):].startswith(b"-DOMAIN beta(0, 1): B has a pole")


def test_resp3_enclosure_and_sign(server):
    c = redis.Redis(port=server.port, decode_responses=True, protocol=3, socket_timeout=30)
    try:
        assert c.execute_command("LGAMMA", "-2.5", "ROUNDING", "enclosure", "WITHSIGN")[2] == -1
        assert c.execute_command("RISING", "0.5", "10", "BITS", "24") == str(spouge.rising("0.5", "10", bits=24))
    finally:
        c.close()


# --- HTTP ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("route, args, names", [
    ("rgamma", ("-2.5",), ("x",)), ("beta", ("0.5", "1.5"), ("a", "b")), ("binomial", ("1e100", "3"), ("n", "k")),
    ("rising", ("0.5", "10"), ("x", "n")), ("falling", ("10", "3"), ("x", "n")), ("loggamma", ("3+4j",), ("x",)),
    ("lgamma", ("-2.5",), ("x",)), ("gamma", ("0.5",), ("x",)),
])
def test_http_routes(server, route, args, names):
    query = "&".join(f"{n}={a.replace('+', '%2B')}" for n, a in zip(names, args, strict=True))
    status, body = get(server, f"/v1/{route}?{query}&digits=30")
    assert status == 200, body
    assert body["value"] == str(getattr(spouge, route)(*args, digits=30))
    assert body["function"] == route and body["digits"] == 30
    assert all(body[n] == a for n, a in zip(names, args, strict=True))
    assert body["method"]["truncation_bound"] == body["truncation_bound"] == body["error_bound"]
    if route == "loggamma":
        assert "relative error below 10^-30" in body["error"]
    elif not body["exact"]:
        assert body["error"].startswith("at most half a unit in the last place") and body["rounding"] == "nearest"
        assert body["max_error"] == f"5e{int(body['ulp'][2:]) - 1:+d}"
    if route == "lgamma":
        assert body["sign"] == -1


def test_http_rounding_bits_and_enclosure(server):
    status, body = get(server, "/v1/gamma?x=0.5&bits=53&rounding=up")
    assert status == 200 and body["bits"] == 53 and "digits" not in body and body["rounding"] == "up"
    assert body["value"] == str(spouge.gamma("0.5", bits=53, rounding="up"))
    assert body["max_error"] == body["ulp"] == "0x1p-52"
    assert "above the true value" in body["error"]
    status, body = get(server, "/v1/beta?a=0.5&b=0.5&digits=25&rounding=enclosure")
    enclosure = spouge.beta("0.5", "0.5", digits=25, rounding="enclosure")
    assert status == 200 and (body["lower"], body["upper"]) == (str(enclosure.lower), str(enclosure.upper))
    assert "value" not in body and body["rounding"] == "enclosure" and "lies between" in body["error"]
    status, body = get(server, "/v1/rgamma?x=-4")
    assert status == 200 and body["exact"] is True and body["max_error"] == "0" and float(body["value"]) == 0
    status, body = get(server, "/v1/factorial?x=10&rounding=down")  # exact: no error at all
    assert status == 200 and body["exact"] is True and body["value"] == "3.628800000000000e+6"


@pytest.mark.parametrize("target, status, message", [
    ("/v1/beta?a=0&b=1", 422, "pole"), ("/v1/beta?a=0.5", 400, "missing parameter b"),
    ("/v1/beta?a=1&b=2&x=3", 400, "expected a, b, digits, bits, rounding"),
    ("/v1/gamma?x=1&rounding=sideways", 400, "rounding must be"),
    ("/v1/gamma?x=1&digits=10&bits=10", 400, "digits or bits, not both"),
    ("/v1/gamma?x=1&digits=-3", 422, "at least 1"),
    ("/v1/gamma?x=1&bits=99999999", 422, "bits must be between"), ("/v1/loggamma?x=2&rounding=up", 400, "digits only"),
    ("/v1/binomial?n=1e20000&k=2", 422, "out of range"), ("/v1/rising?x=1&n=2&n=3", 400, "given twice"),
    ("/v1/falling?x=a&n=2", 400, "not a decimal number"),
])
def test_http_errors(server, target, status, message):
    got, body = get(server, target)
    assert got == status and body["status"] == status and message in body["error"], body


# --- the cost model and the compute path ---------------------------------------------------------------
@pytest.mark.parametrize("function, x, slow", [
    ("binomial", (HUGE, "600"), True), ("beta", ("3.5", "60000"), True), ("rising", ("0.7", "1000000"), False),
    ("binomial", ("1e100", "3"), False), ("rgamma", "-2.5", False), ("loggamma", "3+4j", False),
    ("falling", ("10", "3"), False),
])
def test_every_function_is_priced(function, x, slow):
    e = spouge.estimate(function, x, 50)
    assert math.isfinite(e.seconds) and 0 < e.seconds <= e.worst_seconds
    job = compute.prepare(function, x, "50", 10000)
    assert job.seconds == e.seconds
    if slow:  # the exact products of ~2e6 bits: seconds, never inline
        assert e.seconds > 0.5 and not job.fits_inline(0.001, 0.02)
    enclosure = spouge.estimate(function, x, 50, rounding="enclosure")
    assert enclosure.warm_seconds == pytest.approx(2 * spouge.estimate(function, x, 50, rounding="down").warm_seconds)


def test_cache_keys_hold_every_option():
    keys = {compute.prepare("beta", ("0.5", "0.5"), d, 1000, r, b).key
            for d, r,
            b in [("16", None, None), ("17", None, None), (None, "up", None), (None, "down", None), (None, None, "53"),
                            (None, "up", "53"), (None, "enclosure", None)]}
    assert len(keys) == 7
    def key(function: str, args: tuple[str, str]) -> object:
        return compute.prepare(function, args, None, 1000).key
    assert key("beta", ("0.5", "0.50")) == key("beta", ("0.5", "0.5"))
    assert key("beta", ("0.5", "1.5")) != key("beta", ("1.5", "0.5"))
    assert key("rising", ("0.5", "2")) != key("falling", ("0.5", "2"))


def test_cached_outcomes_keep_the_spelling(client, server):
    status, first = get(server, "/v1/binomial?n=10&k=3&digits=12")
    status, second = get(server, "/v1/binomial?n=10.0&k=3&digits=12")  # the same value: the cached computation
    assert status == 200 and second["n"] == "10.0" and first["n"] == "10" and first["value"] == second["value"]


def test_huge_exponents_print_in_full(server):
    status, body = get(server, "/v1/binomial?n=1e9000&k=5e8999&digits=20")
    assert status == 200, body
    exponent = int(body["value"].split("e+")[1]) if len(body["value"]) < 4300 else None
    assert body["ulp"].startswith("1e+") and len(body["ulp"]) > 9000 and body["max_error"].startswith("5e+")
    assert exponent is None or exponent > 10**8000
    status, body = get(server, f"/v1/http_huge_argument?x=1{'0' * 90000}")  # far past the request line's limit
    assert status in (404, 414, 431, 400)


HEAVY = [
    ("BINOMIAL 10^1000 600 at 50 digits (exact product)", resp_command("BINOMIAL", HUGE, "600", "50")),
    ("BETA 3.5 60000 at 50 digits", resp_command("BETA", "3.5", "60000", "50")),
    ("RISING 0.7 10^6 at 1000 digits", resp_command("RISING", "0.7", "1000000", "1000")),
    ("BINOMIAL 10^10000 5*10^9999 at 50 digits", resp_command("BINOMIAL", "1" + "0" * 10000, "5" + "0" * 9999, "50")),
    ("BINOMIAL 10^90000 5*10^89999 at 50 digits", resp_command("BINOMIAL", "1" + "0" * 90000, "5" + "0" * 89999, "50")),
    ("BETA huge huge enclosure", resp_command("BETA", "1e9000", "2.5e8999", "ROUNDING", "enclosure")),
    ("LOGGAMMA -1e9999+1j", resp_command("LOGGAMMA", "-1e9999+1j", "50")),
]


@pytest.mark.parametrize("name, request_bytes", HEAVY, ids=[h[0] for h in HEAVY])
def test_heavy_arguments_do_not_stall_the_loop(name, request_bytes):
    with spouge_server("--jobs", "1", "--compute-timeout", "20") as server:
        with LatencyProbe(server.port) as probe:
            start = time.monotonic()
            with server.connect() as s:
                s.sendall(request_bytes)
                reply = read_reply(s, 30)
            elapsed = time.monotonic() - start
            time.sleep(0.2)
            stats = probe.stop()
        assert b"internal" not in reply[:200]
        if "10^90000" in name:  # 90001 digits: past the server's argument limit, refused at once, clearly
            assert reply.startswith(b"-Protocol error: invalid bulk length"), reply[:200]
        else:
            assert reply.startswith((b"$", b"*2\r\n")), reply[:200]
        assert elapsed < 25, elapsed
        assert stats["count"] > 50 and stats["max"] < 1.0, (name, stats)
        assert server.proc.poll() is None  # still serving
