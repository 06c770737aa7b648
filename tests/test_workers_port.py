"""--workers: the port is the server's own, one scrape shows every worker, a dead worker is replaced."""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
import sys
import time

import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families

from server_harness import read_reply, spouge_server


def _serve(port: int, *args: str) -> subprocess.CompletedProcess:
    """A second `spouge serve` on `port`: it must fail at once."""
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "spouge", "serve", "--port", str(port), "--jobs", "0", *args],
                          capture_output=True, text=True, timeout=30)
    proc.took = time.monotonic() - start
    return proc


def _assert_refused(proc) -> None:
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "address already in use" in lines[0].lower(), proc.stderr
    assert proc.took < 10


def _pid_of_answering_worker(port: int) -> int:
    c = redis.Redis(port=port, socket_timeout=10)
    try:
        return c.info()["process_id"]
    finally:
        c.close()


@pytest.mark.parametrize("second", [(), ("--workers", "2")])
def test_nobody_else_can_take_a_share_of_the_workers_port(second):
    with spouge_server("--workers", "2", "--jobs", "0") as server:
        _assert_refused(_serve(server.port, *second))
        pids = {_pid_of_answering_worker(server.port) for _ in range(30)}
        children = subprocess.run(["pgrep", "-P", str(server.proc.pid)], capture_output=True, text=True).stdout.split()
        assert pids <= {int(p) for p in children}  # every connection went to one of our own workers
        assert server.stop() == 0


def test_workers_cannot_start_on_a_plain_servers_port():
    with spouge_server("--jobs", "0") as server:
        proc = _serve(server.port, "--workers", "2")
        _assert_refused(proc)
        assert _pid_of_answering_worker(server.port) == server.proc.pid


def _scrape(port: int) -> dict:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", "/metrics")
    text = conn.getresponse().read().decode()
    conn.close()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def _factorial_count(port: int) -> float:
    return _scrape(port).get(("spouge_requests_total", (("command", "FACTORIAL"), ("status", "ok"))), 0)


def _wait_for(predicate, timeout: float = 10.0):
    end = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > end:
            return value
        time.sleep(0.2)


def test_one_scrape_counts_every_worker_and_a_dead_worker_is_replaced(tmp_path):
    with spouge_server("--workers", "2", "--jobs", "0", env={"TMPDIR": str(tmp_path)}) as server:
        assert [
            p.name for p in tmp_path.iterdir() if p.name.startswith("spouge-metrics-")
        ]  # the supervisor's private directory
        served_by: dict[int, int] = {}
        for _ in range(60):
            c = redis.Redis(port=server.port, socket_timeout=10)
            assert c.execute_command("FACTORIAL", 20).startswith(b"2.43290200817664")
            pid = c.info()["process_id"]
            served_by[pid] = served_by.get(pid, 0) + 1
            c.close()
        assert len(served_by) == 2, served_by
        # any worker's scrape shows all 60 (the others publish every second)
        assert _wait_for(lambda: _factorial_count(server.port) == 60 or None), _factorial_count(server.port)

        # hold connections open; kill a worker that holds some of them
        held = {}
        for _ in range(6):
            c = redis.Redis(port=server.port, socket_timeout=10)
            held[c] = c.info()["process_id"]
        assert _wait_for(lambda: _open_connections(server.port) == 6 + 1 or None)  # + the scrape's own
        victim = max(set(held.values()), key=list(held.values()).count)
        os.kill(victim, signal.SIGKILL)
        for c in [c for c, pid in held.items() if pid == victim]:
            c.close()
            del held[c]
        replacement = set()
        end = time.monotonic() + 15
        while len(replacement) < 2 and time.monotonic() < end:  # the survivor and a new worker answer
            replacement.add(_pid_of_answering_worker(server.port))
        assert victim not in replacement and len(replacement) == 2, (victim, replacement)
        children = {
            int(p)
            for p in subprocess.run(
                ["pgrep", "-P", str(server.proc.pid)], capture_output=True, text=True
            ).stdout.split()
        }
        assert replacement <= children and victim not in children
        assert _factorial_count(server.port) == 60  # the dead worker's counts stay in the totals
        # its live gauge left the sum: only the connections still held (and the scrape's own) are open
        assert _wait_for(lambda: _open_connections(server.port) == len(held) + 1 or None), (
            _open_connections(server.port),
            len(held),
        )
        for c in held:
            c.close()
        assert server.stop() == 0
        assert not [p for p in tmp_path.iterdir() if p.name.startswith("spouge-metrics-")]  # removed on exit


def _open_connections(port: int) -> float:
    return _scrape(port)[("spouge_connections_open", ())]


def test_ctrl_c_to_the_process_group_drains_once():
    """^C reaches the supervisor and every worker: the workers take their order from the supervisor only,
    so it is one stop (drain: the half-sent request is still answered, exit 0), not two (exit at once, status 1)."""
    with spouge_server("--workers", "2", "--jobs", "0", preexec=os.setsid) as server:
        with server.connect() as s:
            s.sendall(b"*2\r\n$4\r\nECHO\r\n$5\r\nhel")
            time.sleep(0.3)
            os.killpg(server.proc.pid, signal.SIGINT)
            time.sleep(0.5)
            s.sendall(b"lo\r\n")
            assert read_reply(s, 10, until_close=True) == b"$5\r\nhello\r\n"
        assert server.proc.wait(20) == 0
        assert (
            subprocess.run(["pgrep", "-g", str(server.proc.pid)], capture_output=True).returncode == 1
        )  # no worker left


def _connection_pids(port: int, count: int) -> list[int]:
    """Open `count` connections at once (a burst, as a benchmark's clients arrive), then ask each its worker."""
    import socket as _socket

    socks = [_socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(count)]
    try:
        time.sleep(0.3)  # every worker has had its chance to accept
        pids = []
        for s in socks:
            s.sendall(b"*2\r\n$4\r\nINFO\r\n$6\r\nserver\r\n")
            data = b""
            while b"process_id:" not in data or not data.endswith(b"\r\n"):
                chunk = s.recv(65536)
                assert chunk
                data += chunk
            pids.append(int(data.split(b"process_id:")[1].split(b"\r\n")[0]))
        return pids
    finally:
        for s in socks:
            s.close()


def test_a_burst_of_connections_is_shared_by_the_workers():
    """One socket for all workers: the first to wake must not take the whole burst (issue 15, --workers 2)."""
    with spouge_server("--workers", "2", "--jobs", "0") as server:
        deadline = time.monotonic() + 20
        while len({_pid_of_answering_worker(server.port) for _ in range(8)}) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)  # both workers up
        for burst in (40, 41):
            pids = _connection_pids(server.port, burst)
            counts = sorted(pids.count(p) for p in set(pids))
            assert len(counts) == 2 and counts[0] >= burst // 2 - 4, counts
