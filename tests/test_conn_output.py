"""Per-connection output in bytes: backpressure checked per reply, and Redis-style hard and soft limits."""

from __future__ import annotations

import socket
import threading
import time

import redis

import spouge
from server_harness import read_reply, resp_command, spouge_server, undated


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        return int(f.read().split("VmRSS:")[1].split()[0]) / 1024


def flood(socks: list[socket.socket], request: bytes, seconds: float) -> int:
    """Keep sending `request` on every socket without reading; the bytes the kernel took."""
    for s in socks:
        s.setblocking(False)
    sent = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        for s in socks:
            try:
                sent += s.send(request)
            except (BlockingIOError, ConnectionError):
                pass
        time.sleep(0.01)
    return sent


def connected_clients(port: int) -> int:
    return redis.Redis(port=port, socket_timeout=10).info()["connected_clients"] - 1  # not counting this one


def test_never_reading_page_pipelines_cost_about_the_high_water_mark():
    """Before: replies were checked once per 1024 requests, ~10 MB per connection (1 GB for 100)."""
    with spouge_server("--jobs", "1") as server:
        assert server.request(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n").startswith(b"HTTP/1.1 200")
        before = rss_mb(server.proc.pid)
        socks = [server.connect() for _ in range(20)]
        flood(socks, b"GET / HTTP/1.1\r\nHost: t\r\n\r\n" * 500, 3.0)
        grown = rss_mb(server.proc.pid) - before
        assert grown < 60, f"20 never-reading connections grew the server by {grown:.0f} MB"
        start = time.monotonic()  # everyone else is still served at once
        assert server.request(b"PING\r\n") == b"+PONG\r\n" and time.monotonic() - start < 1
        assert connected_clients(server.port) == 20  # held back, not dropped: the default limits are not reached
        for s in socks:
            s.close()


def test_never_reading_big_reply_pipelines_are_bounded():
    expected = str(spouge.factorial(100, digits=10000)).encode()
    with spouge_server("--jobs", "1") as server:
        assert expected in server.request(resp_command("FACTORIAL", 100, 10000))  # cached from now on
        before = rss_mb(server.proc.pid)
        socks = [server.connect() for _ in range(20)]
        flood(socks, resp_command("FACTORIAL", 100, 10000) * 200, 3.0)
        grown = rss_mb(server.proc.pid) - before
        assert grown < 60, f"20 never-reading connections grew the server by {grown:.0f} MB"
        for s in socks:
            s.close()


def test_a_slow_reader_of_a_long_pipeline_gets_every_reply():
    """Backpressure holds requests back; it never drops or reorders them."""
    with spouge_server("--jobs", "1") as server, server.connect(60) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
        request = b"".join(resp_command("ECHO", b"%05d" % i + b"x" * 3000) for i in range(3000))
        sender = threading.Thread(target=s.sendall, args=(request,))  # 9 MB: blocks until we read
        sender.start()
        time.sleep(1.0)  # far more than the high-water mark is due meanwhile
        data = bytearray()
        expected = b"".join(b"$3005\r\n%05d%s\r\n" % (i, b"x" * 3000) for i in range(3000))
        deadline = time.monotonic() + 60
        while len(data) < len(expected) and time.monotonic() < deadline:
            data += s.recv(4096)
            time.sleep(0.0001)
        sender.join()
        assert data == expected


def test_hard_output_limit_closes_at_once():
    with spouge_server("--jobs", "1", "--output-limit", "64k:0:10") as server:
        s = server.connect()
        flood([s], b"GET / HTTP/1.1\r\nHost: t\r\n\r\n" * 200, 1.0)
        deadline = time.monotonic() + 10
        while connected_clients(server.port) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert connected_clients(server.port) == 0
        s.close()
        assert server.stop() == 0
        assert b"over the hard limit" in server.log


def test_soft_output_limit_closes_after_its_seconds_even_with_nothing_new_to_send():
    with spouge_server("--jobs", "1", "--output-limit", "100M:64k:3") as server:
        s = server.connect()
        start = time.monotonic()
        flood([s], b"GET / HTTP/1.1\r\nHost: t\r\n\r\n" * 200, 0.5)  # paused well within a second
        time.sleep(0.5)
        assert connected_clients(server.port) == 1  # over the soft limit, not yet for 3 s
        while connected_clients(server.port) and time.monotonic() - start < 15:
            time.sleep(0.1)
        waited = time.monotonic() - start
        assert connected_clients(server.port) == 0 and waited >= 2.5, waited
        s.close()
        assert server.stop() == 0
        assert b"over the soft limit" in server.log


def test_soft_output_limit_resets_when_the_client_catches_up():
    """A client that reads in bursts dips under the soft limit between them: it is never closed."""
    with spouge_server("--jobs", "1", "--output-limit", "100M:64k:1") as server, server.connect(30) as s:
        page = server.request(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        for _ in range(5):
            s.sendall(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n" * 1000)
            time.sleep(0.7)  # over the soft limit for 0.7 s at most, then drained
            assert undated(read_reply(s, 30, expect=1000 * len(page))) == undated(page) * 1000
