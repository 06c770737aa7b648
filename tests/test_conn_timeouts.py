"""--request-timeout runs from a request's first byte to its last; a completed request resets it."""

from __future__ import annotations

import time

import spouge
from server_harness import read_reply, resp_command, spouge_server


def test_pipeline_always_ending_in_half_a_request_gets_no_false_timeout():
    """Before: the clock started at the first partial and never reset while some partial stayed buffered."""
    with spouge_server("--jobs", "0", "--request-timeout", "1") as server, server.connect(30) as s:
        s.sendall(b"*1\r\n$4\r\nPI")
        replies = b""
        for _ in range(16):  # 4 s, four times the timeout; each request takes 0.25 s to arrive
            time.sleep(0.25)
            s.sendall(b"NG\r\n*1\r\n$4\r\nPI")
            replies += read_reply(s, 5, quiet=0.05)
        s.sendall(b"NG\r\n")
        replies += read_reply(s, 5, expect=17 * 7 - len(replies))
        assert replies == b"+PONG\r\n" * 17


def test_a_stalled_half_request_after_answered_ones_still_times_out():
    with spouge_server("--jobs", "0", "--request-timeout", "1") as server, server.connect(30) as s:
        start = time.monotonic()
        s.sendall(b"PING\r\nPING\r\n*1\r\n$4\r\nPI")
        data = read_reply(s, 10, until_close=True)
        assert data.startswith(b"+PONG\r\n+PONG\r\n-ERR request timeout") and 0.9 < time.monotonic() - start < 5


def test_the_clock_starts_at_the_first_byte_of_the_request():
    with spouge_server("--jobs", "0", "--request-timeout", "1") as server, server.connect(30) as s:
        s.sendall(b"PING\r\n")
        assert read_reply(s, 5, expect=7) == b"+PONG\r\n"
        time.sleep(1.5)  # idle longer than the request timeout: no request is in progress
        s.sendall(b"*2\r\n$4\r\nECHO\r\n$2\r\nh")
        time.sleep(0.6)
        s.sendall(b"i\r\n")
        assert read_reply(s, 5, expect=8) == b"$2\r\nhi\r\n"


def test_time_held_back_by_backpressure_does_not_count_against_the_client():
    """A client that pipelines far past the high-water mark and reads late is the server's holdup, not its own."""
    expected = str(spouge.factorial(100, digits=10000)).encode()
    reply = b"$%d\r\n%s\r\n" % (len(expected), expected)
    with spouge_server("--jobs", "1", "--request-timeout", "1") as server:
        assert server.request(resp_command("FACTORIAL", 100, 10000)) == reply
        with server.connect(60) as s:
            request = resp_command("FACTORIAL", 100, 10000)
            s.sendall(request * 3000 + request[:10])
            time.sleep(2.5)  # reads nothing for longer than the request timeout
            data = read_reply(s, 60, expect=3000 * len(reply))
            assert data == reply * 3000
            s.sendall(request[10:])
            assert read_reply(s, 10, expect=len(reply)) == reply
