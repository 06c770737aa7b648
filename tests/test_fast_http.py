"""The HTTP frame cache (issue 15): a request head answered before is answered from its exact bytes, with
the same reply (but this second's Date), in order, under every rule the full path applies."""

from __future__ import annotations

import email.utils
import re
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server_harness import read_reply, spouge_server, undated
from spouge.protocol import fastpath
from spouge.protocol.http import HttpRequestParser, ProtocolError, replays_as, request_frame

HEAD = b"GET /v1/factorial?x=20 HTTP/1.1\r\nHost: t\r\n\r\n"
SCANNERS = [fastpath.scan_http_python] + ([fastpath.scan_http] if fastpath.compiled else [])


def responses(data: bytes, bodyless: bool = False) -> list[bytes]:
    """Split a stream of HTTP responses (each with Content-Length, or none for 204/304; `bodyless`: answers to
    HEAD).  ValueError if the last one is cut in the middle."""
    out = []
    while data:
        end = data.index(b"\r\n\r\n") + 4
        head = data[:end]
        length = re.search(rb"\r\nContent-Length: (\d+)", head)
        size = int(length.group(1)) if length and not head.startswith(b"HTTP/1.1 304") and not bodyless else 0
        if len(data) < end + size:
            raise ValueError("a response cut in the middle")
        out.append(data[:end + size])
        data = data[end + size:]
    return out


def ask(server, data: bytes, count: int, timeout: float = 30) -> list[bytes]:
    """Send `data` on a new connection; the first `count` responses (fewer if the server closes first)."""
    bodyless = data.startswith(b"HEAD ")
    s = server.connect()
    s.sendall(data)
    s.settimeout(timeout)
    got = b""
    try:
        while True:
            try:
                if len(responses(got, bodyless)) >= count:
                    break
            except ValueError:  # a response cut in the middle: read on
                pass
            chunk = s.recv(1 << 20)
            if not chunk:
                break
            got += chunk
    except (TimeoutError, ConnectionResetError):
        pass
    s.close()
    try:
        return responses(got, bodyless)
    except ValueError:  # the server closed in the middle of one: the whole ones
        return responses(got[:got.rfind(b"HTTP/1.")], bodyless)


def stats(server) -> dict[str, int]:
    s = server.connect()
    s.sendall(b"*1\r\n$4\r\nINFO\r\n")
    text = read_reply(s, 10).decode()
    s.close()
    return {k: int(v) for k, v in re.findall(r"(\w+):(\d+)\r\n", text)}


def _warm(server, head: bytes = HEAD) -> bytes:
    """Ask three times (computed; from the reply cache, the head seen; again, the head kept): the head is in
    the frame cache after that."""
    first = ask(server, head, 1)[0]
    for _ in range(2):
        assert ask(server, head, 1)[0].split(b"\r\n", 1)[0][9:] == b"200 OK"
    return first


# --- the scanner --------------------------------------------------------------------------------------
def test_the_scanners_stop_at_the_first_unknown_head_and_agree():
    table = {HEAD: "f20"}
    other = b"GET /health HTTP/1.1\r\nHost: t\r\n\r\n"
    for scan in SCANNERS:
        buf = HEAD * 3 + other + HEAD
        pos, values = scan(buf, 0, table, 100)
        assert values == ["f20"] * 3 and buf[pos:] == other + HEAD
        assert scan(buf, 0, table, 2) == (2 * len(HEAD), ["f20"] * 2)
        assert scan(HEAD[:-1], 0, table, 5) == (0, [])  # no blank line yet: nothing consumed
        assert scan(b"x" * 5000 + HEAD, 0, table, 5) == (0, [])  # no head within 4096 bytes
        with pytest.raises(ValueError):
            scan(buf, len(buf) + 1, table, 1)


@settings(max_examples=1500, deadline=None)
@given(st.lists(st.sampled_from([HEAD, b"GET /health HTTP/1.1\r\n\r\n", b"\r\n", b"GET", b"\r\n\r\n"]), max_size=10),
       st.integers(0, 30), st.integers(0, 12))
def test_c_and_python_scanners_agree(parts, cut, limit):
    buf = b"".join(parts)
    buf = buf[: max(0, len(buf) - cut)]
    results = [scan(buf, 0, {HEAD: 1}, limit) for scan in SCANNERS]
    assert all(r == results[0] for r in results)
    pos, values = results[0]
    assert buf[:pos] == HEAD * len(values)


# --- which requests may have a frame ----------------------------------------------------------------------
def parse_one(data: bytes):
    parser = HttpRequestParser()
    parser.feed(data)
    return parser.next_request()


@pytest.mark.parametrize("data, frame", [
    (HEAD, HEAD),
    (b"GET /v1/factorial?x=20 HTTP/1.1\r\nHost:   t\r\n\r\n", HEAD),  # spacing: recognised in its canonical form
    (b"HEAD /v1/gamma?x=2 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
     b"HEAD /v1/gamma?x=2 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"),
    (b"GET /v1/gamma?x=2 HTTP/1.1\r\nConnection: close\r\n\r\n", None),  # not keep-alive
    (b"GET /v1/gamma?x=2 HTTP/1.0\r\n\r\n", None),  # HTTP/1.0 without keep-alive
    (b"POST /v1/batch HTTP/1.1\r\nContent-Length: 2\r\n\r\n[]", None),
    (b"GET /v1/gamma?x=2 HTTP/1.1\r\nContent-Length: 0\r\n\r\n", None),  # a GET that announces a body
    (b"GET /v1/gamma?x=2 HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", None),
])
def test_request_frame(data, frame):
    request = parse_one(data)
    assert request_frame(request) == frame
    if frame is not None:
        assert replays_as(frame, request)


def test_a_frame_that_does_not_parse_back_to_the_same_request_is_refused():
    request = parse_one(HEAD)
    other = parse_one(b"GET /v1/factorial?x=21 HTTP/1.1\r\nHost: t\r\n\r\n")
    assert not replays_as(request_frame(other), request)
    assert not replays_as(HEAD + HEAD, request)  # two requests
    assert not replays_as(HEAD[:-2], request)  # no end
    assert not replays_as(b"GET /v1/factorial?x=20 HTTP/1.1\r\nHost: t\r\nX: \x01\r\n\r\n", request)


header_names = st.sampled_from(["Host", "X-A", "Accept", "Authorization", "If-None-Match", "User-Agent", "Origin"])
header_values = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xff), max_size=12)


@settings(max_examples=500, deadline=None)
@given(st.lists(st.tuples(header_names, header_values), max_size=5), st.sampled_from(["GET", "HEAD"]),
       st.sampled_from(["1.1", "1.0"]))
def test_a_frame_always_means_its_request(headers, method, version):
    """Whatever headers llhttp accepts: a frame, if there is one, parses back to exactly the same request."""
    data = (f"{method} /v1/gamma?x=2 HTTP/{version}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers)
            + "\r\n").encode("latin-1")
    try:
        request = parse_one(data)
    except ProtocolError:
        return
    if request is None:
        return
    frame = request_frame(request)
    if frame is not None and replays_as(frame, request):
        assert parse_one(frame).same_as(request)


# --- the server ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def server(tmp_path_factory):
    log = tmp_path_factory.mktemp("log") / "access.log"
    with spouge_server("--jobs", "1", "--access-log", str(log)) as s:
        s.access_path = log
        yield s


def test_known_heads_in_a_pipeline_with_others_keep_their_order_and_answers(server):
    f20 = _warm(server)
    slow = b"GET /v1/gamma?x=0.123456789&digits=3000 HTTP/1.1\r\nHost: t\r\n\r\n"  # pooled
    post = (b"POST /v1/batch HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: 28\r\n\r\n"
            b'[{"function":"gamma","x":3}]')
    bad = b"GET /v1/gamma?x=abc HTTP/1.1\r\nHost: t\r\n\r\n"
    health = b"GET /health HTTP/1.1\r\nHost: t\r\n\r\n"
    before = stats(server)["frame_cache_hits"]
    got = ask(server, HEAD * 3 + slow + HEAD * 2 + post + HEAD + bad + HEAD * 2 + health + HEAD, 13, timeout=60)
    assert len(got) == 13
    statuses = [r.split(b"\r\n", 1)[0] for r in got]
    assert statuses == [b"HTTP/1.1 200 OK"] * 8 + [b"HTTP/1.1 400 Bad Request"] + [b"HTTP/1.1 200 OK"] * 4
    for i in (0, 1, 2, 4, 5, 7, 9, 10, 12):
        assert undated(got[i]) == undated(f20), i
    assert len(got[3]) > 3000 and b'"function":"gamma"' in got[3]
    assert got[6].endswith(b"]") and b'"value"' in got[6]
    assert b'"uptime_seconds"' in got[11]
    assert stats(server)["frame_cache_hits"] - before >= 3  # the heads before the first unknown request


def test_requests_before_garbage_in_the_same_read_are_answered_before_the_400(server):
    _warm(server)
    other = b"GET /v1/factorial?x=7 HTTP/1.1\r\nHost: t\r\n\r\n"
    upgrade = b"GET /v1/factorial?x=20 HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
    for data, answered, error in ((HEAD * 2 + other + b"}]GET / HTTP/1.1\r\n\r\n", 3, b"400 Bad Request"),
                                  (other + HEAD + b"\x00\x01\r\n\r\n", 2, b"400 Bad Request"),
                                  (HEAD + upgrade + HEAD, 1, b"501 Not Implemented")):
        got = ask(server, data, answered + 1)
        assert [r.split(b"\r\n", 1)[0] for r in got] == [b"HTTP/1.1 200 OK"] * answered + [b"HTTP/1.1 " + error]
        assert b"Connection: close" in got[-1]


def _value(reply: bytes) -> bytes:
    return re.search(rb'"value":"([^"]*)"', reply).group(1)


def test_known_bytes_inside_an_unfinished_request_belong_to_it(server):
    """A read with a whole request and the start of the next leaves llhttp inside that one: bytes that spell a
    known head are then its header lines (or its body), never a request of their own."""
    known = b"GET /v1/gamma?x=2 HTTP/1.1\r\nHost: a\r\n\r\n"
    _warm(server, known)
    s = server.connect()
    s.sendall(b"GET /v1/gamma?x=3 HTTP/1.1\r\nHost: a\r\n\r\nGET /v1/gamma?x=4 HTTP/1.1\r\nX-Pad: ")
    assert _value(read_reply(s, 10)) == b"2.000000000000000e+0"  # Gamma(3)
    time.sleep(0.1)
    s.sendall(known)  # ends the x=4 request: "X-Pad: GET ...", "Host: a", blank line
    assert _value(read_reply(s, 10)) == b"6.000000000000000e+0"  # Gamma(4), not Gamma(2) from the frame cache
    s.sendall(known)
    assert _value(read_reply(s, 10)) == b"1.000000000000000e+0"  # and in step afterwards
    s.close()
    s = server.connect()
    s.sendall(b"GET /health HTTP/1.1\r\nHost: a\r\n\r\nPOST /v1/batch HTTP/1.1\r\nHost: a\r\n"
              b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(known))
    assert b"uptime_seconds" in read_reply(s, 10)
    time.sleep(0.1)
    s.sendall(known)  # the POST's body, not a GET
    reply = read_reply(s, 10)
    assert reply.startswith(b"HTTP/1.1 400 ") and b"not JSON" in reply
    s.close()


def test_a_partial_request_after_a_whole_one_has_a_deadline():
    with spouge_server("--jobs", "0", "--request-timeout", "1") as server:
        s = server.connect()
        s.sendall(b"GET /v1/gamma?x=3 HTTP/1.1\r\nHost: a\r\n\r\nGET /v1/gamma?x=4 HTTP/1.1\r\nX-Pad: ")
        data = read_reply(s, 10, until_close=True)
        assert data.count(b"HTTP/1.1 ") == 2 and b"HTTP/1.1 408 " in data
        s.close()


def test_heads_that_change_every_time_are_not_kept():
    with spouge_server("--jobs", "0") as server:
        for i in range(300):
            head = b"GET /v1/factorial?x=20 HTTP/1.1\r\nHost: t\r\nX-Request-Id: %d\r\n\r\n" % i
            assert ask(server, head, 1)[0].startswith(b"HTTP/1.1 200 OK")
        assert stats(server)["frame_cache_bytes"] == 0  # each head came once: nothing to remember
        _warm(server)
        assert 0 < stats(server)["frame_cache_bytes"] < 4000


def test_the_table_keeps_to_its_bytes_and_http_cannot_crowd_out_resp():
    from spouge.server.fastreplies import HTTP_SHARE, FastReplies

    fast = FastReplies(max_bytes=200_000)
    for i in range(2000):
        fast.remember(2, "FACTORIAL", (b"%d" % i,), b"$3\r\n%03d\r\n" % (i % 1000))
    resp_before = len(fast.tables[2])
    reply = b"HTTP/1.1 200 OK\r\nDate: Mon, 30 Nov 2026 20:41:21 GMT\r\nContent-Length: 2\r\n\r\n{}"
    for i in range(3000):
        request = parse_one(b"GET /v1/gamma?x=%d HTTP/1.1\r\nHost: t\r\n\r\n" % i)
        for _ in range(2):  # seen, then kept
            fast.remember_http(request, reply, "/v1/gamma", 2)
    assert fast.bytes <= fast.max_bytes
    assert fast.sizes["http"] <= fast.max_bytes * HTTP_SHARE
    assert len(fast.tables[2]) >= resp_before // 2 and fast.http
    assert fast.bytes == sum(fast.sizes.values())


def test_every_answer_carries_this_seconds_date(server):
    _warm(server)
    for _ in range(2):
        got = ask(server, HEAD * 4, 4)
        now = time.time()
        for reply in got:
            date = re.search(rb"\r\nDate: ([^\r]+)\r\n", reply).group(1).decode()
            assert abs(email.utils.parsedate_to_datetime(date).timestamp() - now) < 2
        time.sleep(1.2)


def test_head_http10_and_a_split_head(server):
    head = b"HEAD /v1/factorial?x=20 HTTP/1.1\r\nHost: t\r\n\r\n"
    _warm(server, head)
    s = server.connect()
    s.sendall(head * 3)
    data = read_reply(s, 10)
    assert data.count(b"HTTP/1.1 200 OK") == 3 and data.endswith(b"\r\n\r\n")  # no bodies
    s.sendall(HEAD[:20])
    time.sleep(0.2)
    s.sendall(HEAD[20:] + HEAD)
    assert len(responses(read_reply(s, 10))) == 2
    s.close()
    http10 = b"GET /v1/factorial?x=20 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
    _warm(server, http10)
    got = ask(server, http10 * 3, 3)
    assert all(r.startswith(b"HTTP/1.0 200 OK\r\n") and b"Connection: keep-alive" in r for r in got)


def test_connection_close_a_body_and_if_none_match_are_never_answered_from_the_frame_cache(server):
    f20 = _warm(server)
    etag = re.search(rb"ETag: (\S+)\r\n", f20).group(1)
    conditional = b"GET /v1/factorial?x=20 HTTP/1.1\r\nHost: t\r\nIf-None-Match: " + etag + b"\r\n\r\n"
    for _ in range(3):
        got = ask(server, conditional, 1)
        assert got[0].startswith(b"HTTP/1.1 304 ")
    with_body = b"GET /v1/factorial?x=20 HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n\r\nGET "
    got = ask(server, with_body * 3 + HEAD, 4)  # "GET " is a body, not the start of a request
    assert [r.split(b"\r\n", 1)[0] for r in got] == [b"HTTP/1.1 200 OK"] * 4
    close = b"GET /v1/factorial?x=20 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
    _warm(server, close)
    s = server.connect()
    s.sendall(close + HEAD + HEAD)
    data = read_reply(s, 10, until_close=True)
    assert data.count(b"HTTP/1.1 ") == 1 and b"Connection: close" in data  # nothing after the close is answered
    s.close()


def test_a_known_head_after_an_unanswered_request_waits_its_turn(server):
    f20 = _warm(server)
    slow = b"GET /v1/lgamma?x=0.987654321&digits=4000 HTTP/1.1\r\nHost: t\r\n\r\n"  # pooled: ~100 ms
    s = server.connect()
    s.sendall(slow)
    time.sleep(0.01)
    for _ in range(5):  # separate reads of known heads while the first answer is still being computed
        s.sendall(HEAD * 10)
        time.sleep(0.002)
    got = b""
    end = time.monotonic() + 60
    while len(responses(got)) < 51 and time.monotonic() < end:
        got += read_reply(s, 5, quiet=0.5)
    s.close()
    got = responses(got)
    assert len(got) == 51 and b'"function":"lgamma"' in got[0] and len(got[0]) > 4000
    assert all(undated(r) == undated(f20) for r in got[1:])


def test_every_fast_answer_is_in_the_access_log_and_the_metrics(server):
    _warm(server)
    marker_count = 40
    s = server.connect()
    s.sendall(b"GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n")
    before = read_reply(s, 10)
    s.close()
    lines_before = server.access_path.read_text().count('"GET /v1/factorial?x=20 HTTP/1.1" 200')
    ask(server, HEAD * marker_count, marker_count)
    time.sleep(0.2)
    lines_after = server.access_path.read_text().count('"GET /v1/factorial?x=20 HTTP/1.1" 200')
    assert lines_after - lines_before == marker_count
    s = server.connect()
    s.sendall(b"GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n")
    after = read_reply(s, 10)
    s.close()
    pattern = rb'spouge_requests_total\{command="/v1/factorial",status="200"\} ([\d.e+]+)'
    assert float(re.search(pattern, after).group(1)) - float(re.search(pattern, before).group(1)) >= marker_count


def test_a_never_reading_client_of_known_heads_is_bounded():
    with spouge_server("--jobs", "0", "--output-limit", "200000:200000:1") as server:
        _warm(server)
        s = server.connect()
        s.setblocking(False)
        end = time.monotonic() + 3
        while time.monotonic() < end:
            try:
                s.send(HEAD * 1000)
            except BlockingIOError:
                time.sleep(0.01)
            except ConnectionError:
                break
        got = ask(server, b"GET /health HTTP/1.1\r\nHost: t\r\n\r\n", 1, timeout=10)
        assert got and got[0].startswith(b"HTTP/1.1 200 OK")
        assert stats(server)["connected_clients"] <= 2  # the flooder was cut at its output limit (or held back)
        s.close()


def test_the_password_is_in_the_bytes():
    with spouge_server("--jobs", "0", "--requirepass", "pw") as server:
        good = b"GET /v1/factorial?x=20 HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer pw\r\n\r\n"
        wrong = b"GET /v1/factorial?x=20 HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer px\r\n\r\n"
        for _ in range(4):
            assert ask(server, good, 1)[0].startswith(b"HTTP/1.1 200 OK")
        got = ask(server, good * 2 + HEAD + wrong + good, 5)
        assert [r.split(b"\r\n", 1)[0][9:12] for r in got] == [b"200", b"200", b"401", b"401", b"200"]
        assert b"2.43290200817664" not in got[2] + got[3]


def test_listed_cors_origins_are_never_mixed_up():
    with spouge_server("--jobs", "0", "--cors-origin", "https://a.example") as server:
        a = b"GET /v1/factorial?x=20 HTTP/1.1\r\nHost: t\r\nOrigin: https://a.example\r\n\r\n"
        b = b"GET /v1/factorial?x=20 HTTP/1.1\r\nHost: t\r\nOrigin: https://b.example\r\n\r\n"
        for _ in range(4):
            got = ask(server, a + b + HEAD, 3)
            assert b"Access-Control-Allow-Origin: https://a.example" in got[0]
            assert b"Access-Control-Allow-Origin" not in got[1] and b"Access-Control-Allow-Origin" not in got[2]
