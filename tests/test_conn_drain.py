"""Shutdown and signals: SIGTERM answers everything received (or errors at the deadline); SIGHUP is harmless."""

from __future__ import annotations

import json
import re
import signal
import socket
import time

import redis

import spouge
from server_harness import read_reply, resp_command, spouge_server


def count_resp_replies(data: bytes, reply: bytes) -> int:
    assert data == reply * (len(data) // len(reply)), data[-200:]
    return len(data) // len(reply)


def test_sigterm_answers_3000_pipelined_requests_held_back_by_backpressure():
    """Before: requests the server had not read yet (backpressure) were dropped: 3000 sent, 1024 answered."""
    expected = str(spouge.factorial(100, digits=10000)).encode()
    reply = b"$%d\r\n%s\r\n" % (len(expected), expected)
    with spouge_server("--jobs", "1", "--drain-timeout", "30") as server:
        assert server.request(resp_command("FACTORIAL", 100, 10000)) == reply  # cached: 30 MB of replies come fast
        with server.connect(60) as s:
            s.sendall(resp_command("FACTORIAL", 100, 10000) * 3000)
            time.sleep(0.5)  # the server stops reading at its high-water mark
            server.proc.send_signal(signal.SIGTERM)
            time.sleep(0.3)
            data = read_reply(s, 60, until_close=True)
            assert count_resp_replies(data, reply) == 3000
        assert server.proc.wait(30) == 0


def test_sigterm_answers_3000_pipelined_http_requests():
    with spouge_server("--jobs", "1", "--drain-timeout", "30") as server:
        page = server.request(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        assert page.startswith(b"HTTP/1.1 200")
        with server.connect(60) as s:
            s.sendall(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n" * 3000)
            time.sleep(0.5)
            server.proc.send_signal(signal.SIGTERM)
            time.sleep(0.3)
            data = read_reply(s, 60, until_close=True)
            undated = re.compile(rb"\r\nDate: [^\r]*")  # each reply has the Date of its own second
            assert data.count(b"HTTP/1.1 200 OK") == 3000 and undated.sub(b"", data) == undated.sub(b"", page) * 3000
        assert server.proc.wait(30) == 0


def test_pooled_request_in_flight_is_answered_when_it_finishes():
    """The pool keeps running during the drain; replies after the pooled one wait for it, in order."""
    value = str(spouge.gamma("0.123", digits=6000)).encode()
    with spouge_server("--jobs", "1", "--drain-timeout", "30", "--max-digits", "8000") as server:
        with server.connect(60) as s:
            s.sendall(resp_command("GAMMA", "0.123", 6000) + b"PING\r\n" * 100)
            time.sleep(0.2)
            server.proc.send_signal(signal.SIGTERM)
            data = read_reply(s, 60, until_close=True)
            assert data == b"$%d\r\n%s\r\n" % (len(value), value) + b"+PONG\r\n" * 100
        assert server.proc.wait(30) == 0


def test_what_cannot_finish_by_the_drain_deadline_gets_an_error_reply():
    with spouge_server("--jobs", "1", "--drain-timeout", "1", "--max-digits", "60000", "--compute-timeout",
                       "120") as server:
        resp_client = server.connect(30)
        resp_client.sendall(resp_command("GAMMA", "0.3", 50000) + b"PING\r\n")
        http_client = server.connect(30)
        http_client.sendall(b"GET /v1/gamma?x=0.7&digits=50000 HTTP/1.1\r\nHost: t\r\n\r\n")
        time.sleep(0.3)
        start = time.monotonic()
        server.proc.send_signal(signal.SIGTERM)
        data = read_reply(resp_client, 30, until_close=True)
        assert data.startswith(b"-ERR server shutting down") and data.endswith(b"\r\n+PONG\r\n"), data
        head, _, body = read_reply(http_client, 30, until_close=True).partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 503") and b"connection: close" in head.lower()
        assert json.loads(body)["error"].startswith("server shutting down")
        assert server.proc.wait(30) == 0 and time.monotonic() - start < 10
        resp_client.close()
        http_client.close()


def test_a_request_half_sent_at_sigterm_is_completed_and_answered():
    with spouge_server("--jobs", "1", "--drain-timeout", "10") as server:
        with server.connect(30) as s:
            s.sendall(b"*1\r\n$4\r\nPING\r\n*2\r\n$4\r\nECHO\r\n$5\r\nhel")
            time.sleep(0.3)
            server.proc.send_signal(signal.SIGTERM)
            time.sleep(0.3)
            s.sendall(b"lo\r\n")
            assert read_reply(s, 30, until_close=True) == b"+PONG\r\n$5\r\nhello\r\n"
        assert server.proc.wait(30) == 0


def test_idle_and_never_reading_clients_do_not_hold_the_drain_past_its_deadline():
    with spouge_server("--jobs", "1", "--drain-timeout", "2") as server:
        idle = [server.connect() for _ in range(20)]
        hog = server.connect()
        hog.setblocking(False)
        end = time.monotonic() + 1.5
        while time.monotonic() < end:  # a client that never reads its pages
            try:
                hog.send(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n" * 100)
            except BlockingIOError:
                time.sleep(0.01)
        start = time.monotonic()
        server.proc.send_signal(signal.SIGTERM)
        assert server.proc.wait(30) == 0
        assert time.monotonic() - start < 5
        for s in idle:  # idle connections were closed at once, with nothing to say
            assert read_reply(s, 5, until_close=True) == b""
            s.close()
        hog.close()


def test_sighup_is_logged_and_harmless():
    with spouge_server("--jobs", "1") as server:
        client = redis.Redis(port=server.port, socket_timeout=10)
        assert client.ping()
        for _ in range(3):
            server.proc.send_signal(signal.SIGHUP)
            time.sleep(0.2)
        assert server.proc.poll() is None
        assert client.ping() and client.execute_command("FACTORIAL", 10, 5) == b"3.6288e+6"
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
            s.sendall(b"GET /health HTTP/1.1\r\nHost: t\r\n\r\n")
            assert read_reply(s, 10).startswith(b"HTTP/1.1 200")
        client.close()
        assert server.stop() == 0
        assert b"SIGHUP ignored" in server.log
