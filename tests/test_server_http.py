"""The HTTP dialect end to end with a real HTTP client (http.client) and raw sockets for framing cases."""

from __future__ import annotations

import http.client
import json

import pytest

import spouge
from server_harness import spouge_server


@pytest.fixture(scope="module")
def server():
    with spouge_server("--jobs", "1", "--max-digits", "5000") as s:
        yield s


def get(server, path: str, method: str = "GET", headers: dict | None = None, body=None):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    conn.request(method, path, body=body, headers=headers or {})
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response, data


def test_compute_routes(server):
    response, data = get(server, "/v1/factorial?x=100&digits=50")
    assert response.status == 200 and response.getheader("Content-Type") == "application/json"
    body = json.loads(data)
    assert body["value"] == "9.3326215443944152681699238856266700490715968264382e+157"
    assert {"function", "x", "digits", "value", "a", "error_bound", "truncation_bound", "rounding", "exact", "error",
            "method"} <= set(body)
    assert body["function"] == "factorial" and body["x"] == "100" and body["digits"] == 50 and body["a"] > 3
    assert json.loads(get(server, "/v1/gamma?x=0.5&digits=30")[1])["value"] == "1.77245385090551602729816748334e+0"
    assert json.loads(get(server, "/v1/lgamma?x=1e100")[1])["value"] == "2.292585092994046e+102"
    assert json.loads(get(server, "/v1/gamma?x=3+4j&digits=8")[1])["value"] == str(spouge.gamma("3+4j", digits=8))
    assert json.loads(get(server, "/v1/gamma?x=3%2B4j&digits=8")[1])["value"] == str(spouge.gamma("3+4j", digits=8))
    # pooled (expensive) request
    assert json.loads(get(server, "/v1/gamma?x=0.5&digits=3000")[1])["value"] == str(spouge.gamma("0.5", digits=3000))


@pytest.mark.parametrize(
    "path, status, message",
    [
        ("/v1/gamma", 400, "missing parameter x"),
        ("/v1/gamma?x=abc", 400, "not a decimal number"),
        ("/v1/gamma?x=nan", 400, "not a finite number"),
        ("/v1/gamma?x=2&digits=ten", 400, "digits must be an integer"),
        ("/v1/gamma?x=2&x=3", 400, "given twice"),
        ("/v1/gamma?x=2&precision=3", 400, "unknown parameter"),
        ("/v1/gamma?x=-3", 422, "pole"),
        ("/v1/factorial?x=-1", 422, "pole"),
        ("/v1/gamma?x=2&digits=0", 422, "at least 1"),
        ("/v1/gamma?x=2&digits=5001", 422, "at most 5000"),
        ("/v1/gamma?x=1e99999", 422, "out of range"),
        ("/v1/nosuch?x=1", 404, "no route"),
        ("/v2/gamma?x=1", 404, "no route"),
    ],
)
def test_errors_are_json(server, path, status, message):
    response, data = get(server, path)
    assert response.status == status
    body = json.loads(data)
    assert body["status"] == status and message in body["error"]


def test_wrong_method(server):
    response, data = get(server, "/v1/gamma?x=2", method="POST", body=b"")
    assert (
        response.status == 405
        and response.getheader("Allow") == "GET, HEAD"
        and "not allowed" in json.loads(data)["error"]
    )


def test_head(server):
    response, data = get(server, "/v1/gamma?x=2", method="HEAD")
    assert response.status == 200 and data == b"" and int(response.getheader("Content-Length")) > 10


def test_health_and_metrics(server):
    response, data = get(server, "/health")
    assert response.status == 200 and json.loads(data)["status"] == "ok"
    get(server, "/v1/factorial?x=7")
    get(server, "/v1/factorial?x=7")  # a cache hit
    response, data = get(server, "/metrics")
    text = data.decode()
    assert response.status == 200 and response.getheader("Content-Type").startswith("text/plain; version=0.0.4")
    for needle in [
        'spouge_requests_total{command="/v1/factorial",status="200"}',
        'spouge_request_duration_seconds_bucket{le="+Inf"}',
        "spouge_connections_open",
        "spouge_cache_hits_total",
        "spouge_pool_queue_length",
    ]:
        assert needle in text
    hits = [line for line in text.splitlines() if line.startswith("spouge_cache_hits_total ")]
    assert float(hits[0].split()[1]) >= 1


def test_keep_alive_pipelining_and_close(server):
    request = (
        b"GET /v1/factorial?x=10&digits=3 HTTP/1.1\r\nHost: x\r\n\r\n"
        b"GET /v1/gamma?x=0.5&digits=2500 HTTP/1.1\r\nHost: x\r\n\r\n"  # pooled: finishes last, sent second
        b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        b"GET /v1/factorial?x=11 HTTP/1.1\r\nHost: x\r\n\r\n"  # after Connection: close: not answered
    )
    reply = server.request(request, until_close=True)
    parts = reply.split(b"HTTP/1.1 ")[1:]
    assert [p[:3] for p in parts] == [b"200", b"200", b"200"]
    assert b'"value":"3.63e+6"' in parts[0] and str(spouge.gamma("0.5", digits=2500)).encode() in parts[1]
    assert b"Connection: close" in parts[2] and b'"status":"ok"' in parts[2]


def test_http_10(server):
    reply = server.request(b"GET /v1/factorial?x=5&digits=3 HTTP/1.0\r\n\r\n", until_close=True)
    assert reply.startswith(b"HTTP/1.0 200 OK\r\n") and b"Connection: close" in reply
    assert json.loads(reply.split(b"\r\n\r\n", 1)[1])["value"] == "1.20e+2"
    reply = server.request(
        b"GET /health HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /health HTTP/1.0\r\n\r\n", until_close=True
    )
    assert reply.count(b"HTTP/1.0 200 OK") == 2 and b"Connection: keep-alive" in reply


@pytest.mark.parametrize(
    "request_bytes, status",
    [
        (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\n\r\n", 414),
        (b"GET / HTTP/1.1\r\n" + b"".join(b"X-H%d: %s\r\n" % (i, b"v" * 100) for i in range(200)) + b"\r\n", 431),
        (b"POST /v1/gamma HTTP/1.1\r\nContent-Length: 100000\r\n\r\n" + b"x" * 70000, 413),
        (b"GET / HTTP/1.1\r\nContent-Length: abc\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nHost: a\r\nbad header line\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n", 501),
    ],
)
def test_framing_errors(server, request_bytes, status):
    reply = server.request(request_bytes, until_close=True)
    assert reply.startswith(b"HTTP/1.1 %d " % status), reply[:80]
    assert json.loads(reply.split(b"\r\n\r\n", 1)[1])["status"] == status
