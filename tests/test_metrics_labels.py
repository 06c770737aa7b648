"""/metrics cannot be written by clients: labels come from a fixed set, and made-up names cost nothing."""

from __future__ import annotations

import http.client
import threading
import tracemalloc

import pytest
from prometheus_client.parser import text_string_to_metric_families

from server_harness import resp_command, spouge_server
from spouge.server.commands import REDIS_COMMANDS
from spouge.server.metrics import DEFAULT_ROUTES, STATUSES, UNKNOWN, Metrics

SECRET = "metrics-test-secret"
INJECTION = 'X"} 1\nSPOUGE_INJECTED_TOTAL{BY="ANONYMOUS"} 1\n# {'
ALLOWED_COMMANDS = set(REDIS_COMMANDS) | set(DEFAULT_ROUTES) | {UNKNOWN, "protocol_error"}


def samples(text: str) -> list:
    """Every sample, through prometheus_client's own parser (it fails on a line that is not exposition)."""
    return [s for family in text_string_to_metric_families(text) for s in family.samples]


def test_unknown_names_add_nothing():
    metrics = Metrics()
    for name in ("GAMMA", "/v1/gamma", "PING"):
        metrics.observe(name, "ok", 0.001)
    baseline = metrics.render({})
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for i in range(20000):
        metrics.observe(f"NAME{i}" + "x" * 1000, "noauth", 0.0001)
        metrics.observe(f"/path/{i}", f"status {i}", 0.0001)
    grown = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    assert grown < 20_000, f"{grown} bytes kept for 40000 made-up labels"
    assert len(metrics.requests) == 3 + 2
    text = metrics.render({})
    assert len(text) < len(baseline) + 300
    counts = {tuple(s.labels.values()): s.value for s in samples(text) if s.name == "spouge_requests_total"}
    assert counts[(UNKNOWN, "noauth")] == 20000 and counts[(UNKNOWN, UNKNOWN)] == 20000


def test_labels_are_from_the_fixed_sets():
    metrics = Metrics()
    for name in [*REDIS_COMMANDS, *DEFAULT_ROUTES]:
        metrics.observe(name, "ok", 0.001)
    for name in [INJECTION, "gamma", "/V1/GAMMA", "/v1/gamma/", "", "\x00", "protocol_error"]:
        metrics.observe(name, INJECTION, 0.001)
    labels = {tuple(s.labels.values()) for s in samples(metrics.render({})) if s.name == "spouge_requests_total"}
    assert {command for command, _ in labels} == ALLOWED_COMMANDS
    assert {status for _, status in labels} <= STATUSES | {UNKNOWN}


def _pipeline(server, requests: list[bytes], marker: bytes) -> None:
    """Send many requests on one connection while reading the replies (so no reply waits in the server),
    until every request has its reply: one `marker` (the start of a reply) per request."""
    with server.connect(timeout=60) as s:
        seen = [0]

        def read() -> None:
            tail = b""
            while seen[0] < len(requests):
                chunk = s.recv(1 << 20)
                if not chunk:
                    break
                data = tail + chunk
                seen[0] += data.count(marker)
                tail = data[-(len(marker) - 1):]  # a marker split between two reads is counted once

        reader = threading.Thread(target=read)
        reader.start()
        for i in range(0, len(requests), 500):
            s.sendall(b"".join(requests[i : i + 500]))
        reader.join(70)
        assert seen[0] >= len(requests)


def _rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))


def _scrape(server, auth: bool = True) -> tuple[int, str]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    conn.request("GET", "/metrics", headers={"Authorization": f"Bearer {SECRET}"} if auth else {})
    response = conn.getresponse()
    body = response.read().decode()
    conn.close()
    return response.status, body


@pytest.fixture(scope="module")
def server():
    with spouge_server("--requirepass", SECRET, "--jobs", "0") as running:
        yield running


def test_refused_requests_cannot_inject_lines(server):
    # RESP, refused with NOAUTH: the name and an argument carry newlines, quotes and braces
    reply = server.request(resp_command(INJECTION, INJECTION) + resp_command("GAMMA", "1"))
    assert reply.count(b"-NOAUTH") == 2
    # inline: a name with quotes and braces (an inline line cannot hold a newline)
    reply = server.request(b'X"}{SPOUGE_INJECTED_TOTAL ' + b"\r\n")
    assert b"-NOAUTH" in reply
    # HTTP, refused with 401: percent-encoded and raw odd characters in the path
    reply = server.request(b"GET /x%22%7D%201%0ASPOUGE_INJECTED_TOTAL%7BBY=%22A%22%7D/\"}{ HTTP/1.1\r\nHost: x\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 401 ")
    status, text = _scrape(server)
    assert status == 200
    assert "INJECTED" not in text.upper()
    found = samples(text)
    assert {s.labels["command"] for s in found if s.name == "spouge_requests_total"} <= ALLOWED_COMMANDS
    counts = {tuple(s.labels.values()): s.value for s in found if s.name == "spouge_requests_total"}
    assert counts[(UNKNOWN, "noauth")] >= 2 and counts[("GAMMA", "noauth")] >= 1 and counts[(UNKNOWN, "401")] >= 1
    assert _scrape(server, auth=False)[0] == 401


def test_20000_unknown_names_leave_metrics_and_memory_flat(server):
    _pipeline(server, [resp_command(f"WARMUP{i}".encode() + b"n" * 1000) for i in range(2000)], b"-NOAUTH")
    size_before = len(_scrape(server)[1])
    rss_before = _rss_kb(server.proc.pid)
    names = [resp_command(f"UNKNOWN{i}:".encode() + b"n" * 1000) for i in range(20000)]
    _pipeline(server, names, b"-NOAUTH")
    paths = [
        f"GET /made/up/{i}?q={i} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {SECRET}\r\n\r\n".encode()
        for i in range(5000)
    ]
    _pipeline(server, paths, b"HTTP/1.1 404")
    status, text = _scrape(server)
    counts = {tuple(s.labels.values()): s.value for s in samples(text) if s.name == "spouge_requests_total"}
    grown_kb = _rss_kb(server.proc.pid) - rss_before
    assert status == 200
    assert len(text) < size_before + 500, (size_before, len(text))
    assert grown_kb < 5 * 1024, f"RSS grew {grown_kb} kB"
    assert counts[(UNKNOWN, "noauth")] >= 22000 and counts[(UNKNOWN, "404")] >= 5000
