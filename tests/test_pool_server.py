"""The pool through a real server: clients that leave, identical requests, the queue gauge (issue 10, item 2)."""

from __future__ import annotations

import re
import socket
import struct
import subprocess
import time

import redis

import spouge
from server_harness import read_reply, resp_command, spouge_server

HEAVY = 50000  # digits: minutes of work with a cold table


def _info(port: int) -> dict:
    return redis.Redis(port=port, socket_timeout=10).info()


def _queue_gauge(port: int) -> float:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(b"GET /metrics HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        text = read_reply(s, 10, until_close=True).decode()
    return float(re.search(r"^spouge_pool_queue_length(?:\{[^}]*\})? (\S+)$", text, re.M).group(1))


def _abort(s: socket.socket) -> None:
    """Close with a reset (SO_LINGER 0): the client is gone, not merely done sending (a half-close is
    still answered, see connection.py)."""
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()


def _workers(server_pid: int) -> list[str]:
    return subprocess.run(
        ["pgrep", "-f", f"spouge.server.worker [0-9]+ {server_pid}$"], capture_output=True, text=True
    ).stdout.split()


def test_clients_that_leave_free_the_queue_and_the_worker():
    with spouge_server("--jobs", "1", "--max-queue", "2", "--max-digits", "60000") as server:
        workers = _workers(server.proc.pid)
        assert len(workers) == 1
        socks = []
        for i in range(3):  # one running, two queued
            s = server.connect(30)
            s.sendall(resp_command("GAMMA", f"0.{i + 3}", HEAVY))
            socks.append(s)
            time.sleep(0.2)
        assert _info(server.port)["pool_queue"] == 2 and _queue_gauge(server.port) == 2
        with server.connect() as s:  # the queue is full
            s.sendall(resp_command("GAMMA", "0.9", HEAVY))
            assert read_reply(s, 10).startswith(b"-BUSY server overloaded")
        for s in socks:
            _abort(s)
        time.sleep(0.5)
        # Cancelled jobs left the queue at once and no longer count toward --max-queue or the gauge ...
        assert _info(server.port)["pool_queue"] == 0 and _queue_gauge(server.port) == 0
        # ... and the running one was stopped: the worker (the same process) is free for the next request.
        start = time.monotonic()
        reply = redis.Redis(port=server.port, socket_timeout=30).execute_command("GAMMA", "0.7", 2000)
        assert reply == str(spouge.gamma("0.7", digits=2000)).encode()
        assert time.monotonic() - start < 5  # behind a 50000-digit computation it would take minutes
        assert _workers(server.proc.pid) == workers


def test_identical_requests_in_flight_share_one_computation():
    spellings = ["0.3", "0.30", ".3", "3e-1", "0.300"]
    with spouge_server("--jobs", "1") as server:
        before = int(_info(server.port)["pool_completed"])
        socks = []
        for x in spellings:
            s = server.connect(60)
            s.sendall(resp_command("GAMMA", x, 6000))
            socks.append(s)
        with server.connect(60) as s:  # and one over HTTP
            s.sendall(b"GET /v1/gamma?x=0.3000&digits=6000 HTTP/1.1\r\nHost: t\r\n\r\n")
            http_reply = read_reply(s, 60)
        replies = [read_reply(s, 60) for s in socks]
        for s in socks:
            s.close()
        value = str(spouge.gamma("0.3", digits=6000)).encode()
        assert all(reply == b"$%d\r\n%s\r\n" % (len(value), value) for reply in replies)
        assert value in http_reply and b'"x": "0.3000"' in http_reply.replace(b'":"', b'": "')
        assert int(_info(server.port)["pool_completed"]) == before + 1
