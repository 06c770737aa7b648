"""HTTP habits (issue 13) with real HTTP clients against a real server: Date, Cache-Control, ETag and
If-None-Match, CORS only when asked, POST /v1/batch, the Common Log Format access log."""

from __future__ import annotations

import email.utils
import http.client
import json
import re
import socket
import time

import pytest
import urllib3

import spouge
from server_harness import read_reply, spouge_server

IMF_FIXDATE = re.compile(r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
                         r"\d{4} \d\d:\d\d:\d\d GMT")
IMMUTABLE = "public, max-age=31536000, immutable"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    log = tmp_path_factory.mktemp("log") / "access.log"
    with spouge_server("--jobs", "1", "--max-digits", "5000", "--access-log", str(log)) as s:
        s.access_path = log
        yield s


def call(server, path: str, method: str = "GET", headers: dict | None = None, body=None, port: int | None = None):
    conn = http.client.HTTPConnection("127.0.0.1", port or server.port, timeout=30)
    conn.request(method, path, body=body, headers=headers or {})
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response, data


def _date(response) -> float:
    value = response.getheader("Date")
    assert value is not None and IMF_FIXDATE.fullmatch(value), value
    return email.utils.parsedate_to_datetime(value).timestamp()


# --- Date ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("path, method", [("/v1/gamma?x=2.5", "GET"), ("/v1/gamma?x=abc", "GET"), ("/health", "GET"),
                                          ("/metrics", "GET"), ("/nosuch", "GET"), ("/v1/gamma?x=2", "DELETE"),
                                          ("/", "HEAD"), ("/openapi.json", "GET")])
def test_every_response_has_a_date(server, path, method):
    response, _ = call(server, path, method)
    assert abs(_date(response) - time.time()) < 5


def test_a_cached_reply_gets_this_seconds_date(server):
    first, body = call(server, "/v1/factorial?x=33")
    again, body_again = call(server, "/v1/factorial?x=33")  # the same bytes from the reply cache
    assert body_again == body and again.getheader("ETag") == first.getheader("ETag")
    time.sleep(2.1)
    later, body_later = call(server, "/v1/factorial?x=33")
    assert body_later == body
    assert _date(later) >= _date(first) + 2, (first.getheader("Date"), later.getheader("Date"))
    assert abs(_date(later) - time.time()) < 2


def test_protocol_errors_have_a_date_too(server):
    data = server.request(b"GET /v1/gamma?x=2 HTTP/1.1\r\nHost: t\r\nContent-Length: zz\r\n\r\n", until_close=True)
    assert data.startswith(b"HTTP/1.1 400") and re.search(rb"\r\nDate: [^\r]+ GMT\r\n", data)


# --- Cache-Control and ETag ------------------------------------------------------------------------------
def test_results_are_immutable_and_tagged_but_not_health_metrics_or_errors(server):
    response, _ = call(server, "/v1/gamma?x=0.5&digits=30")
    assert response.status == 200 and response.getheader("Cache-Control") == IMMUTABLE
    etag = response.getheader("ETag")
    assert re.fullmatch(r'"[0-9a-f]{32}"', etag)
    head, empty = call(server, "/v1/gamma?x=0.5&digits=30", "HEAD")
    assert empty == b"" and head.getheader("ETag") == etag  # the tag of the body GET sends
    other, _ = call(server, "/v1/gamma?x=0.5&digits=31")
    assert other.getheader("ETag") != etag
    for path in ("/health", "/metrics", "/v1/gamma?x=-3", "/v1/gamma?x=zz", "/nosuch"):
        response, _ = call(server, path)
        assert response.getheader("Cache-Control") is None and response.getheader("ETag") is None, path


@pytest.mark.parametrize("condition, status", [
    ("{etag}", 304), ("W/{etag}", 304), ('"nope", {etag}', 304), ("*", 304),
    ('"nope"', 200), ('W/"nope", "other"', 200), ("", 200),
])
def test_if_none_match(server, condition, status):
    first, data = call(server, "/v1/lgamma?x=1e100&digits=20")
    etag = first.getheader("ETag")
    response, body = call(server, "/v1/lgamma?x=1e100&digits=20",
                          headers={"If-None-Match": condition.format(etag=etag)})
    assert response.status == status
    if status == 304:
        assert body == b"" and response.getheader("ETag") == etag and response.getheader("Content-Length") is None
        assert response.getheader("Cache-Control") == IMMUTABLE
    else:
        assert body == data


def test_if_none_match_does_not_apply_to_errors(server):
    response, body = call(server, "/v1/gamma?x=-3", headers={"If-None-Match": "*"})
    assert response.status == 422 and json.loads(body)["status"] == 422


def test_a_304_does_not_poison_the_reply_cache(server):
    first, data = call(server, "/v1/rgamma?x=7.25")
    call(server, "/v1/rgamma?x=7.25", headers={"If-None-Match": first.getheader("ETag")})
    again, body = call(server, "/v1/rgamma?x=7.25")
    assert again.status == 200 and body == data


def test_urllib3_revalidates(server):
    pool = urllib3.PoolManager()
    url = f"http://127.0.0.1:{server.port}/v1/beta?a=0.5&b=0.5&digits=25"
    first = pool.request("GET", url)
    second = pool.request("GET", url, headers={"If-None-Match": first.headers["ETag"]})
    assert first.status == 200 and second.status == 304 and second.data == b""


# --- CORS --------------------------------------------------------------------------------------------
def test_no_cors_unless_asked(server):
    response, _ = call(server, "/v1/gamma?x=2", headers={"Origin": "https://a.example"})
    assert all(not name.lower().startswith("access-control") for name, _ in response.getheaders())
    assert response.getheader("Vary") is None
    response, _ = call(server, "/v1/gamma", "OPTIONS", headers={"Origin": "https://a.example",
                                                                "Access-Control-Request-Method": "GET"})
    assert response.status == 405 and response.getheader("Allow") == "GET, HEAD"


def test_cors_for_listed_origins():
    with spouge_server("--jobs", "1", "--cors-origin", "https://a.example", "--cors-origin", "http://b.example:8080",
                       "--requirepass", "pw") as s:
        auth = {"Authorization": "Bearer pw"}
        for origin in ("https://a.example", "http://b.example:8080"):
            response, _ = call(s, "/v1/gamma?x=2", headers={"Origin": origin, **auth})
            assert response.status == 200
            assert response.getheader("Access-Control-Allow-Origin") == origin
            assert response.getheader("Vary") == "Origin"
            assert "ETag" in response.getheader("Access-Control-Expose-Headers")
        # the answer without Origin (cached) and for an unlisted origin carries no allowance, but says it varies
        for headers in ({}, {"Origin": "https://evil.example"}, {}):
            response, _ = call(s, "/v1/gamma?x=2", headers={**headers, **auth})
            assert response.status == 200 and response.getheader("Access-Control-Allow-Origin") is None
            assert response.getheader("Vary") == "Origin"
        # a listed origin after the plain answer was cached still gets its own header
        response, _ = call(s, "/v1/gamma?x=2", headers={"Origin": "https://a.example", **auth})
        assert response.getheader("Access-Control-Allow-Origin") == "https://a.example"
        # the preflight needs no password (browsers send none) and names Authorization
        response, body = call(s, "/v1/gamma", "OPTIONS", headers={"Origin": "https://a.example",
                                                                  "Access-Control-Request-Method": "GET",
                                                                  "Access-Control-Request-Headers": "authorization"})
        assert response.status == 204 and body == b""
        assert response.getheader("Access-Control-Allow-Origin") == "https://a.example"
        assert "Authorization" in response.getheader("Access-Control-Allow-Headers")
        assert "GET" in response.getheader("Access-Control-Allow-Methods")
        assert int(response.getheader("Access-Control-Max-Age")) > 0
        response, _ = call(s, "/v1/batch", "OPTIONS", headers={"Origin": "https://a.example",
                                                              "Access-Control-Request-Method": "POST"})
        assert response.status == 204 and "POST" in response.getheader("Access-Control-Allow-Methods")
        response, _ = call(s, "/v1/gamma", "OPTIONS", headers={"Origin": "https://evil.example",
                                                              "Access-Control-Request-Method": "GET"})
        assert response.getheader("Access-Control-Allow-Origin") is None
        # everything but the preflight still needs the password
        response, _ = call(s, "/v1/gamma?x=2", headers={"Origin": "https://a.example"})
        assert response.status == 401 and response.getheader("Access-Control-Allow-Origin") == "https://a.example"
        response, _ = call(s, "/nosuch", "OPTIONS", headers={"Origin": "https://a.example"})
        assert response.status == 404


def test_cors_any_origin():
    with spouge_server("--jobs", "1", "--cors-origin", "*") as s:
        response, _ = call(s, "/v1/gamma?x=2", headers={"Origin": "https://anything.example"})
        assert response.getheader("Access-Control-Allow-Origin") == "*"
        response, _ = call(s, "/v1/gamma?x=2")
        assert response.getheader("Access-Control-Allow-Origin") == "*"


@pytest.mark.parametrize("origin", ["https://a.example/", "a.example", "https://a.example/path", ""])
def test_bad_cors_origins_are_refused_at_start(origin):
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "spouge", "serve", "--port", "0", "--cors-origin", origin],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "--cors-origin" in result.stderr and "Traceback" not in result.stderr


# --- POST /v1/batch -----------------------------------------------------------------------------------
def batch(server, items, headers=None, port=None):
    body = items if isinstance(items, bytes) else json.dumps(items).encode()
    response, data = call(server, "/v1/batch", "POST", headers={"Content-Type": "application/json", **(headers or {})},
                          body=body, port=port)
    return response, data


def test_batch_answers_each_item_as_the_get_route(server):
    items = [{"function": "gamma", "x": "0.5", "digits": 30}, {"function": "beta", "a": "1", "b": "2"},
             {"function": "gamma", "x": -3}, {"function": "gamma", "x": 0.1, "digits": "20"},
             {"function": "binomial", "n": "10", "k": "3", "rounding": "down"},
             {"function": "gamma", "x": "abc"}, {"function": "gamma"}, {"function": "gamma", "x": "2", "y": "3"},
             {"function": "nosuch", "x": "1"}, {"x": "1"}, {"function": "gamma", "x": True},
             {"function": "gamma", "x": "0.5", "digits": 3000}]
    response, data = batch(server, items)
    assert response.status == 200 and response.getheader("Content-Type") == "application/json"
    results = json.loads(data)
    assert len(results) == len(items)
    for item, result in zip(items, results, strict=True):
        if not isinstance(item, dict) or not isinstance(item.get("function"), str) or item["function"] == "nosuch" \
                or set(item) - {"function", "x", "digits", "a", "b", "n", "k", "rounding"} or ("x" not in item and \
                item["function"] == "gamma") or isinstance(item.get("x"), bool):
            assert set(result) == {"error", "status"} and result["status"] in (400, 404, 422), (item, result)
            continue
        params = "&".join(f"{k}={v}" for k, v in item.items() if k != "function")
        expected_status = 200
        get, body = call(server, f"/v1/{item['function']}?{params}")
        if get.status != 200:
            expected_status = get.status
            assert result == json.loads(body), item
        else:
            assert result == json.loads(body), item
        assert get.status == expected_status
    assert results[0]["value"] == str(spouge.gamma("0.5", digits=30))
    assert results[2]["status"] == 422 and "pole" in results[2]["error"]
    assert results[3]["x"] == "0.1" and results[3]["value"] == str(spouge.gamma("0.1", digits=20))  # 0.1 as written
    assert results[-1]["value"] == str(spouge.gamma("0.5", digits=3000))  # pooled
    assert results[8]["status"] == 404 and results[9]["status"] == 400 and results[10]["status"] == 400


@pytest.mark.parametrize("body, status, message", [
    (b"[{", 400, "not JSON"), (b"\xff\xfe", 400, "not JSON"), (b'{"function": "gamma", "x": "1"}', 400, "JSON array"),
    (b'"x"', 400, "JSON array"), (b"[" * 100000, 413, "too large"),
    (b'[{"function": "gamma", "x": "1"}, 7]', 400, "request 1 must be a JSON object"),
    (b"[[]]", 400, "request 0 must be a JSON object"),
])
def test_batch_whole_errors(server, body, status, message):
    response, data = batch(server, body)
    assert response.status == status and message in json.loads(data)["error"]


def test_batch_limits(server):
    response, data = batch(server, [{"function": "factorial", "x": str(i)} for i in range(1001)])
    assert response.status == 422 and "1000" in json.loads(data)["error"]
    response, data = batch(server, [])
    assert response.status == 200 and json.loads(data) == []
    response, data = call(server, "/v1/batch", "POST", headers={"Content-Type": "text/plain"}, body=b"[]")
    assert response.status == 415
    response, data = call(server, "/v1/batch")
    assert response.status == 405 and response.getheader("Allow") == "POST"
    items = [{"function": "factorial", "x": str(i), "digits": 20} for i in range(1000)]
    response, data = batch(server, items)
    results = json.loads(data)
    assert response.status == 200 and [r["x"] for r in results] == [str(i) for i in range(1000)]
    assert results[100]["value"] == str(spouge.factorial(100, digits=20))


def test_batch_does_not_hold_the_loop(server):
    """A batch of 1000 inline items (cheap, distinct, not cached) is dispatched a slice of loop time at a time:
    a request sent on another connection while it runs is answered before the batch is done."""
    import select

    def body(tag: str) -> bytes:
        items = [{"function": "gamma", "x": f"{i}.{i}{tag}", "digits": 40} for i in range(1000)]
        return json.dumps(items).encode()

    def post(data: bytes) -> bytes:
        return (b"POST /v1/batch HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
                % len(data) + data)

    assert batch(server, body("3"))[0].status == 200  # warm: this process's coefficient tables for 40 digits
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as s, \
            socket.create_connection(("127.0.0.1", server.port), timeout=30) as probe:
        started = time.monotonic()
        s.sendall(post(body("7")))
        time.sleep(0.005)
        probe.sendall(b"GET /health HTTP/1.1\r\nHost: t\r\n\r\n")
        first: dict[str, float] = {}
        while len(first) < 2 and time.monotonic() - started < 30:
            ready, _, _ = select.select([s, probe], [], [], 30)
            for sock in ready:
                name = "batch" if sock is s else "probe"
                if name not in first:
                    first[name] = time.monotonic() - started
        data = read_reply(s, 60, quiet=2.0)
    assert data.startswith(b"HTTP/1.1 200")
    assert first["probe"] < first["batch"], first


def test_batch_client_gone_cancels_its_items():
    with spouge_server("--jobs", "1") as s:
        # each ~0.6 s in the pool (a new coefficient table per digits): 18 s for all of them
        items = [{"function": "gamma", "x": f"0.{i}1", "digits": 6000 + 37 * i} for i in range(30)]
        body = json.dumps(items).encode()
        with socket.create_connection(("127.0.0.1", s.port), timeout=30) as sock:
            sock.sendall(b"POST /v1/batch HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                         b"Content-Length: %d\r\n\r\n" % len(body) + body)
            time.sleep(0.3)
        time.sleep(0.5)
        # the queue is empty again soon: a fresh costly request is not behind 30 abandoned ones
        started = time.monotonic()
        response, _ = call(s, "/v1/gamma?x=0.77&digits=6000")  # a table its worker has
        assert response.status == 200 and time.monotonic() - started < 3
        _, metrics = call(s, "/metrics")
        queued = re.search(rb"^spouge_pool_queue_length (\S+)", metrics, re.M)
        assert queued is not None and float(queued.group(1)) == 0


def test_batch_with_a_password():
    with spouge_server("--jobs", "1", "--requirepass", "pw") as s:
        response, _ = batch(s, [{"function": "gamma", "x": "2"}])
        assert response.status == 401
        response, data = batch(s, [{"function": "gamma", "x": "2"}], headers={"Authorization": "Bearer pw"})
        assert response.status == 200 and json.loads(data)[0]["value"] == "1.000000000000000e+0"


# --- the access log -------------------------------------------------------------------------------
CLF = re.compile(r'(\S+) - - \[(\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4})\] "([^"]*)" (\d{3}) (\d+|-)')


def test_access_log_lines_in_common_log_format(server):
    marker = f"/v1/factorial?x={time.time_ns() % 10**9}"
    call(server, marker)
    call(server, marker)  # from the reply cache: logged too
    call(server, "/v1/gamma?x=-3")
    call(server, marker, "HEAD")
    # hostile targets: quotes and a backslash (llhttp lets them through) would forge fields; control and
    # Latin-1 bytes are refused by llhttp (400, not a parsed request: no line) and must not reach the log either
    server.request(b'GET /v1/gamma?x=1"\\"- HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n', until_close=True)
    server.request(b'GET /v1/gamma?x=1\x1b[31m\x7f\xe9 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n',
                   until_close=True)
    time.sleep(0.2)
    text = server.access_path.read_bytes()
    assert all(0x20 <= b < 0x7f for b in text.replace(b"\n", b""))  # nothing but printable ASCII
    lines = text.decode("ascii").splitlines()
    for line in lines:
        assert CLF.fullmatch(line), line
    mine = [CLF.fullmatch(line).groups() for line in lines if marker in line]
    expected = [(f"GET {marker} HTTP/1.1", "200")] * 2 + [(f"HEAD {marker} HTTP/1.1", "200")]
    assert [(m[2], m[3]) for m in mine] == expected
    assert int(mine[0][4]) > 100 and mine[2][4] == "-" and mine[0][0] == "127.0.0.1"
    assert any('"GET /v1/gamma?x=-3 HTTP/1.1" 422' in line for line in lines)
    hostile = [line for line in lines if "x=1\\x22" in line]
    assert len(hostile) == 1 and '"GET /v1/gamma?x=1\\x22\\x5C\\x22- HTTP/1.1" 400 ' in hostile[0], hostile


def test_access_log_escapes_every_unprintable_character():
    from spouge.server.accesslog import escape

    assert escape("/v1/gamma?x=2") == "/v1/gamma?x=2"
    assert escape('a"b\\c\x1b[31m\x00\x7f\xe9\u2212\n') == "a\\x22b\\x5Cc\\x1B[31m\\x00\\x7F\\xE9\\xE2\\x88\\x92\\x0A"


def test_access_log_to_stderr_and_off_by_default():
    with spouge_server("--jobs", "1", "--access-log", "-") as s:
        call(s, "/v1/gamma?x=2")
        s.stop()
        assert b'"GET /v1/gamma?x=2 HTTP/1.1" 200' in s.log
    with spouge_server("--jobs", "1") as s:
        call(s, "/v1/gamma?x=2")
        s.stop()
        assert b'"GET /v1/gamma?x=2' not in s.log


def test_access_log_unwritable_path_is_a_clear_error(tmp_path):
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "spouge", "serve", "--port", "0", "--access-log",
                             str(tmp_path / "no" / "such" / "dir.log")], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "--access-log" in result.stderr and "Traceback" not in result.stderr
