"""Issue 10, item 1: inline work is bounded even when the cost model is wrong.

The server runs in this process (its loop in the main thread, where the
SIGALRM watchdog lives) and a client thread talks to it over real sockets.
A wrong cost model is simulated by making ``compute.predict`` call every
computation free: the watchdog must then cut the inline attempt and the pool
(or, with --jobs 0, a timeout error) must answer.
"""

from __future__ import annotations

import signal
import socket
import threading
import time

import pytest

import spouge
from server_harness import read_reply, resp_command
from spouge.server import compute
from spouge.server.app import Config, Server

SQRT_PI_50 = "1.7724538509055160272981674833411451827975494561224e+0"


def serve_while(config: Config, client):
    """Run a real server's loop here (main thread) while client(server) runs in a thread; return its result."""
    server = Server(config)
    result = {}

    def body() -> None:
        try:
            result["value"] = client(server)
        except BaseException as exc:  # re-raised in the test's thread
            result["error"] = exc
        finally:
            server.loop.call_soon_threadsafe(server.loop.stop)

    thread = threading.Thread(target=body)
    thread.start()
    try:
        server.loop.run()
    finally:
        thread.join(60)
        server.close()
    if "error" in result:
        raise result["error"]
    return server, result["value"]


def ask(port: int, *command, timeout: float = 60) -> tuple[bytes, float]:
    start = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(resp_command(*command))
        reply = read_reply(s, timeout)
    return reply, time.monotonic() - start


@pytest.fixture
def free_model(monkeypatch):
    """A cost model that is badly wrong: every computation is predicted to cost nothing."""
    monkeypatch.setattr(compute, "predict", lambda function, x, value, digits: (0.0, 0.0))


def test_mispredicted_inline_work_is_cut_and_answered_by_the_pool(free_model):
    digits = 6000  # ~1 s here with a cold coefficient table: the stall a wrong model would cause

    def client(server):
        port = server.address[1]
        with (
            socket.create_connection(("127.0.0.1", port), timeout=60) as heavy,
            socket.create_connection(("127.0.0.1", port), timeout=60) as ping,
        ):
            start = time.monotonic()
            heavy.sendall(resp_command("GAMMA", "0.5", digits))
            time.sleep(0.002)  # the loop has the request (or is about to)
            t = time.monotonic()
            ping.sendall(b"PING\r\n")
            pong = read_reply(ping, 30, expect=7)
            ping_latency = time.monotonic() - t
            value = read_reply(heavy, 60)
            heavy_seconds = time.monotonic() - start
        return pong, ping_latency, value, heavy_seconds

    server, (pong, ping_latency, value, heavy_seconds) = serve_while(Config(port=0, jobs=1), client)
    assert pong == b"+PONG\r\n"
    assert server.computer.stats["overruns"] == 1 and server.computer.stats["pooled"] == 1
    assert ping_latency < 0.25, ping_latency  # the watchdog fires at 20 ms; a stall would be ~1 s
    assert heavy_seconds > 0.25, heavy_seconds  # the work was real: the test would have caught a stall
    expected = str(spouge.gamma("0.5", digits=digits)).encode()
    assert value == b"$%d\r\n%s\r\n" % (len(expected), expected)
    # The abort left this process's numerics sound:
    assert str(spouge.gamma("0.5", digits=50)) == SQRT_PI_50


def test_the_same_input_goes_straight_to_the_pool_after_an_overrun(free_model):
    def client(server):
        port = server.address[1]
        first, _ = ask(port, "GAMMA", "0.25", 7000)
        time.sleep(compute.OVERRUN_COOLDOWN + 0.1)  # past the cool-down: only the memory of the key remains
        second, _ = ask(port, "GAMMA", "0.250", 7000)  # same value, other spelling, not cached as such...
        return first, second

    config = Config(port=0, jobs=1, cache_size=0)  # ...and no cache at all: it must be computed again
    server, (first, second) = serve_while(config, client)
    assert first.startswith(b"$") and b"\r\n3.625609908221908311930685" in first[:40], first[:60]
    assert second == first
    assert server.computer.stats["overruns"] == 1 and server.computer.stats["pooled"] == 2


def test_without_a_pool_mispredicted_work_is_cut_at_the_compute_timeout(free_model):
    def client(server):
        port = server.address[1]
        slow = ask(port, "GAMMA", "0.5", 6500)
        after = ask(port, "GAMMA", "0.5", 50)
        return slow, after

    _server, ((slow, slow_seconds), (after, _)) = serve_while(Config(port=0, jobs=0, compute_timeout=0.3), client)
    assert slow.startswith(b"-TIMEOUT computation took longer than 0.3 s"), slow
    assert slow_seconds < 0.9, slow_seconds
    assert after == b"$%d\r\n%s\r\n" % (len(SQRT_PI_50), SQRT_PI_50.encode())  # nothing left broken
    assert str(spouge.gamma("0.5", digits=50)) == SQRT_PI_50


def test_without_a_pool_work_predicted_past_the_timeout_is_refused_at_once():
    def client(server):
        return ask(server.address[1], "GAMMA", "0.5", 10000)  # ~3.5 s with a cold table

    _server, (reply, seconds) = serve_while(Config(port=0, jobs=0, compute_timeout=1.0), client)
    assert reply.startswith(b"-TIMEOUT computation ") and b"longer than 1 s" in reply, reply
    assert seconds < 1.8, seconds


def test_watched_cuts_a_long_call_and_leaves_other_alarms_alone():
    def spin(seconds: float) -> str:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            pass
        return "done"

    before = signal.getitimer(signal.ITIMER_REAL)[0]  # pytest-timeout may have one running: it must survive
    start = time.monotonic()
    with pytest.raises(compute._Overrun):
        compute.watched(spin, (5.0,), 0.05)
    assert time.monotonic() - start < 1.0
    assert compute.watched(spin, (0.01,), 0.5) == "done"  # within its limit: the result
    left = signal.getitimer(signal.ITIMER_REAL)[0]  # and no timer of ours left behind
    assert left == 0.0 if before == 0.0 else before - 2 < left <= before

    # Someone else's alarm, set before: it still fires, into its own handler, after our watch.
    fired = []
    previous = signal.signal(signal.SIGALRM, lambda signum, frame: fired.append(signum))
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.2)
        assert compute.watched(spin, (0.01,), 0.05) == "done"
        assert 0 < signal.getitimer(signal.ITIMER_REAL)[0] <= 0.2
        spin(0.4)
        assert fired == [signal.SIGALRM]
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def test_a_cold_coefficient_table_is_built_inline_at_most_once_a_second():
    """Work cheap once this process holds its table may build it inline, rate-limited (COLD_INLINE_MAX)."""
    config = Config(port=0, jobs=1)
    watchdog = max(compute.WATCHDOG_MIN, compute.WATCHDOG_FACTOR * config.inline_budget)

    def cold_but_cheap_when_warm(digits: int) -> bool:
        job = compute.prepare("gamma", "0.5", str(digits), 10000)
        return (
            not job.fits_inline(config.inline_budget, watchdog)
            and job.fits_inline_warm(config.inline_budget, watchdog)
            and job.seconds <= compute.COLD_INLINE_MAX
        )

    first, second = [d for d in range(61, 400, 3) if cold_but_cheap_when_warm(d)][:2]

    def client(server):
        port = server.address[1]
        replies = [ask(port, "GAMMA", "0.5", first)[0]]  # builds `first`'s table inline
        stats_after_first = dict(server.computer.stats)
        replies.append(ask(port, "GAMMA", "0.25", first)[0])  # same table, now warm: inline
        replies.append(ask(port, "GAMMA", "0.5", second)[0])  # another cold table within the second: pool
        return replies, stats_after_first

    server, (replies, after_first) = serve_while(config, client)
    assert after_first["warm_ups"] == 1 and after_first["inline"] == 1 and after_first["pooled"] == 0
    stats = server.computer.stats
    assert stats["warm_ups"] == 1 and stats["inline"] == 2 and stats["pooled"] == 1
    for reply, (x, digits) in zip(replies, [("0.5", first), ("0.25", first), ("0.5", second)], strict=True):
        assert str(spouge.gamma(x, digits=digits)).encode() in reply
