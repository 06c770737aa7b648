"""Operating the server: many connections, timeouts, caps, max-clients, shutdown, --workers."""

from __future__ import annotations

import json
import resource
import selectors
import signal
import socket
import subprocess
import sys
import time

import pytest
import redis

import spouge
from server_harness import read_reply, resp_command, spouge_server


def _raise_nofile(n: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < n:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(n, hard), hard))


def test_1000_concurrent_connections():
    _raise_nofile(4096)
    with spouge_server("--jobs", "1") as server:
        socks = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(1000)]
        sel = selectors.DefaultSelector()
        expected = {}
        for i, s in enumerate(socks):
            n = i % 50
            if i % 3 == 0:
                s.sendall(b"GET /v1/factorial?x=%d&digits=20 HTTP/1.1\r\nHost: t\r\n\r\n" % n)
            else:
                s.sendall(resp_command("FACTORIAL", n, 20))
            expected[s] = str(spouge.factorial(n, digits=20)).encode()
            s.setblocking(False)
            sel.register(s, selectors.EVENT_READ, bytearray())
        done = 0
        deadline = time.monotonic() + 60
        while done < len(socks) and time.monotonic() < deadline:
            for key, _ in sel.select(1):
                data = key.data
                data += key.fileobj.recv(65536)
                if expected[key.fileobj] in data and data.endswith((b"\r\n", b"}")):
                    sel.unregister(key.fileobj)
                    done += 1
        assert done == 1000
        info = redis.Redis(port=server.port).info()
        assert info["connected_clients"] >= 1000
        for s in socks:
            s.close()


def test_idle_timeout_and_request_deadline():
    with spouge_server("--idle-timeout", "0.5", "--request-timeout", "0.6", "--jobs", "0") as server:
        with server.connect() as idle:
            assert read_reply(idle, 5, until_close=True) == b""  # closed by the server, silently
        with server.connect() as slow:
            start = time.monotonic()
            slow.sendall(b"*2\r\n$9\r\nFACT")  # and never finishes
            reply = read_reply(slow, 5, until_close=True)
            assert reply.startswith(b"-ERR request timeout") and time.monotonic() - start < 3
        with server.connect() as slow_http:
            slow_http.sendall(b"GET /health HTTP/1.1\r\nHo")
            assert read_reply(slow_http, 5, until_close=True).startswith(b"HTTP/1.1 408 ")
        with server.connect() as trickle:  # a byte at a time still must finish within the deadline
            for byte in b"PING\r":
                trickle.sendall(bytes([byte]))
                time.sleep(0.15)
            assert b"request timeout" in read_reply(trickle, 5, until_close=True)


def test_compute_timeout_replies_and_reclaims_the_worker():
    with spouge_server("--jobs", "1", "--compute-timeout", "0.5", "--max-digits", "60000") as server:
        client = redis.Redis(port=server.port, socket_timeout=30)
        start = time.monotonic()
        with pytest.raises(redis.ResponseError, match=r"computation took longer than 0\.5 s"):
            client.execute_command("GAMMA", "0.3", 50000)
        assert time.monotonic() - start < 5
        assert client.execute_command("FACTORIAL", 10, 5) == b"3.6288e+6"  # the loop never waited
        assert (
            client.execute_command("GAMMA", "0.5", 1500) == str(spouge.gamma("0.5", digits=1500)).encode()
        )  # the new worker works
        assert client.info()["pool_timeouts"] == 1


def test_overloaded_pool_and_http_timeout():
    import http.client

    with spouge_server("--jobs", "1", "--max-queue", "1", "--compute-timeout", "1", "--max-digits", "60000") as server:
        socks = []
        for i in range(3):  # one computing, one queued, the third refused
            s = server.connect(30)
            s.sendall(resp_command("GAMMA", f"0.{i + 3}", 50000))
            socks.append(s)
            time.sleep(0.2)
        assert read_reply(socks[2], 10).startswith(b"-BUSY server overloaded: compute queue is full")
        c = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        c.request("GET", "/v1/gamma?x=0.9&digits=50000")
        r = c.getresponse()
        assert r.status == 503 and "overloaded" in json.loads(r.read())["error"]
        assert read_reply(socks[0], 10).startswith(b"-TIMEOUT computation took longer than 1 s")
        for s in socks:
            s.close()
        time.sleep(1.5)  # the queued job times out too
        c = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        c.request("GET", "/v1/gamma?x=0.8&digits=50000")
        r = c.getresponse()
        assert r.status == 504 and "longer than 1 s" in json.loads(r.read())["error"]


def test_worker_killed_mid_computation():
    with spouge_server("--jobs", "1", "--max-digits", "60000") as server:
        client = redis.Redis(port=server.port, socket_timeout=60)
        pids = subprocess.run(
            ["pgrep", "-f", "spouge.server.worker", "-P", str(server.proc.pid)], capture_output=True, text=True
        ).stdout.split()
        assert len(pids) == 1
        with server.connect() as s:
            s.sendall(resp_command("GAMMA", "0.3", 40000))
            time.sleep(1.0)
            subprocess.run(["kill", "-9", pids[0]])
            assert read_reply(s, 20).startswith(b"-ERR the computation's worker process died")
        assert client.execute_command("GAMMA", "0.5", 2000) == str(spouge.gamma("0.5", digits=2000)).encode()
        assert client.info()["pool_crashes"] == 1


def test_max_clients():
    with spouge_server("--max-clients", "3", "--jobs", "0") as server:
        time.sleep(0.3)  # let the server see the harness's start-up probe close
        held = [server.connect() for _ in range(3)]
        for s in held:
            s.sendall(b"PING\r\n")
            assert read_reply(s, 5) == b"+PONG\r\n"
        assert server.request(b"PING\r\n", until_close=True) == b"-ERR max number of clients reached\r\n"
        reply = server.request(b"GET /health HTTP/1.1\r\nHost: a\r\n\r\n", until_close=True)
        assert reply.startswith(b"HTTP/1.1 503 ") and b"max number of clients" in reply
        with server.connect() as silent:  # says nothing: gets the RESP error after a short wait
            assert read_reply(silent, 5, until_close=True) == b"-ERR max number of clients reached\r\n"
        held.pop().close()
        time.sleep(0.2)
        assert server.request(b"PING\r\n") == b"+PONG\r\n"
        for s in held:
            s.close()


def test_client_that_never_reads_is_paused_not_buffered():
    with spouge_server("--jobs", "0") as server:
        hog = server.connect()
        hog.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        request = resp_command("ECHO", "x" * 1000) * 2000
        hog.setblocking(False)
        sent = 0
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:  # push until the server stops reading from us
            try:
                sent += hog.send(request[sent % len(request) :])
            except BlockingIOError:
                time.sleep(0.05)
                continue
        # the server is still fine for everyone else
        assert server.request(resp_command("FACTORIAL", 20)) == b"$21\r\n2.432902008176640e+18\r\n"
        with open(f"/proc/{server.proc.pid}/status") as f:
            rss_kb = int(f.read().split("VmRSS:")[1].split()[0])
        assert rss_kb < 400_000
        hog.close()


def test_sigterm_drains_in_flight_requests():
    with spouge_server("--jobs", "2", "--drain-timeout", "20") as server:
        socks = []
        for i in range(40):
            s = server.connect(30)
            digits = 2500 + i if i % 4 == 0 else 16
            s.sendall(resp_command("GAMMA", f"{i}.25", digits))
            socks.append((s, str(spouge.gamma(f"{i}.25", digits=digits)).encode()))
        time.sleep(0.3)
        server.proc.send_signal(signal.SIGTERM)
        for s, value in socks:
            assert read_reply(s, 30, until_close=True) == b"$%d\r\n%s\r\n" % (len(value), value)
        assert server.proc.wait(30) == 0
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", server.port), timeout=2)


def test_second_signal_exits_at_once():
    with spouge_server("--jobs", "1", "--drain-timeout", "60", "--max-digits", "60000") as server:
        s = server.connect()
        s.sendall(resp_command("GAMMA", "0.3", 50000))
        time.sleep(0.3)
        server.proc.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        start = time.monotonic()
        server.proc.send_signal(signal.SIGINT)
        assert server.proc.wait(10) == 1 and time.monotonic() - start < 5
        s.close()
        assert _workers_of(server.proc.pid) == []


def _workers_of(pid: int) -> list[str]:
    time.sleep(0.5)
    found = subprocess.run(
        ["pgrep", "-f", f"spouge.server.worker [0-9]+ {pid}$"], capture_output=True, text=True
    ).stdout.split()
    return found


def test_no_computation_outlives_a_killed_server():
    with spouge_server("--jobs", "2", "--max-digits", "60000") as server:
        s = server.connect()
        s.sendall(resp_command("GAMMA", "0.3", 50000))
        time.sleep(1.0)
        assert len(_workers_of(server.proc.pid)) == 2
        server.proc.kill()
        server.proc.wait()
        assert _workers_of(server.proc.pid) == []
        s.close()


def test_multiple_worker_processes():
    with spouge_server("--workers", "2", "--jobs", "1") as server:
        pids = set()
        for _ in range(40):
            c = redis.Redis(port=server.port)
            assert c.execute_command("FACTORIAL", 100, 50).startswith(b"9.33262154")
            pids.add(c.info()["process_id"])
            c.close()
        assert len(pids) == 2
        assert server.stop() == 0


@pytest.mark.parametrize(
    "args, message",
    [(["--port", "70000"], "--port"), (["--max-digits", "0"], "--max-digits"), (["--jobs", "-1"], "--jobs")],
)
def test_bad_serve_options_exit_2(args, message):
    proc = subprocess.run([sys.executable, "-m", "spouge", "serve", *args], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 2 and message in proc.stderr


def test_port_in_use_exits_2():
    with spouge_server("--jobs", "0") as server:
        proc = subprocess.run(
            [sys.executable, "-m", "spouge", "serve", "--port", str(server.port), "--jobs", "0"],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert proc.returncode == 2 and "cannot listen" in proc.stderr
