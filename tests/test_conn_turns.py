"""Fair turns: deep pipelines from many connections do not keep a light client waiting."""

from __future__ import annotations

import socket
import threading
import time

from server_harness import spouge_server


def _flood(port: int, count: int, request: bytes, seconds: float, cap: int, stop: threading.Event) -> None:
    socks = [socket.create_connection(("127.0.0.1", port)) for _ in range(count)]
    for s in socks:
        s.setblocking(False)
    sent = [0] * count
    end = time.monotonic() + seconds
    while time.monotonic() < end and not stop.is_set():
        for i, s in enumerate(socks):
            if sent[i] < cap:
                try:
                    sent[i] += s.send(request)
                except (BlockingIOError, ConnectionError):
                    pass
        time.sleep(0.005)
    for s in socks:
        s.close()


def test_a_ping_is_answered_promptly_while_100_connections_pipeline_pages_and_never_read():
    """Before: one readable event handled a whole read (thousands of page requests), a loop iteration
    with 100 such connections took ~1 s, and every other client waited that long."""
    with spouge_server("--jobs", "1") as server, server.connect() as probe:
        probe.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        stop = threading.Event()
        attacker = threading.Thread(target=_flood, args=(server.port, 100, b"GET / HTTP/1.1\r\nHost: t\r\n\r\n" * 200,
                                                         4.0, 1 << 20, stop))
        attacker.start()
        worst = 0.0
        answered = 0
        end = time.monotonic() + 4.0
        try:
            while time.monotonic() < end:
                start = time.monotonic()
                probe.sendall(b"PING\r\n")
                assert probe.recv(16) == b"+PONG\r\n"
                worst = max(worst, time.monotonic() - start)
                answered += 1
                time.sleep(0.005)
        finally:
            stop.set()
            attacker.join()
        assert answered > 100
        assert worst < 0.4, f"a ping waited {worst * 1000:.0f} ms"
