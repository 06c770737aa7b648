"""--cache-redis: two spouge servers share costly results through a real redis-server (issue 14, part 2)."""

from __future__ import annotations

import shutil
import time

import pytest
import redis

import spouge
from server_harness import spouge_server
from test_rediscache import RedisServer

pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server is not installed")

X = "0.123456789"
DIGITS = 1500  # ~1 ms or more of work: above the sharing threshold


def info(port: int) -> dict:
    return redis.Redis(port=port, socket_timeout=20).info("cache")


def ask(port: int, x: str = X, digits: int = DIGITS) -> bytes:
    return redis.Redis(port=port, socket_timeout=60).execute_command("GAMMA", x, digits)


def wait_for(predicate, seconds: float = 15) -> None:
    end = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < end, "condition not reached in time"
        time.sleep(0.05)


def expected(x: str = X, digits: int = DIGITS) -> bytes:
    return str(spouge.gamma(x, digits=digits)).encode()


@pytest.fixture()
def store():
    srv = RedisServer()
    yield srv
    srv.kill()


def _servers(store, *extra: str):
    url = f"redis://127.0.0.1:{store.port}/0"
    common = ("--jobs", "1", "--cache-redis", url, "--cache-redis-min-ms", "0.1", *extra)
    return spouge_server(*common), spouge_server(*common)


def _computed_by_a_and_stored(a, b) -> None:
    wait_for(lambda: info(a.port)["shared_cache"] == "up" and info(b.port)["shared_cache"] == "up")
    assert ask(a.port) == expected()
    wait_for(lambda: info(a.port)["shared_cache_stores"] >= 1)


def test_a_result_computed_by_one_replica_is_served_to_the_other(store):
    a_ctx, b_ctx = _servers(store)
    with a_ctx as a, b_ctx as b:
        _computed_by_a_and_stored(a, b)
        assert ask(b.port) == expected()
        assert info(b.port)["shared_cache_served"] == 1  # B did not compute it
        keys = store.client().keys("spouge:*")
        assert len(keys) == 1 and keys[0].startswith(f"spouge:{spouge.__version__}:".encode())
        # the same value spelled differently is the same key; the reply keeps the asker's spelling
        assert ask(b.port, X + "000") == expected()


def test_a_poisoned_entry_is_never_served(store):
    a_ctx, b_ctx = _servers(store)
    with a_ctx as a, b_ctx as b:
        _computed_by_a_and_stored(a, b)
        r = store.client()
        (key,) = r.keys("spouge:*")
        r.set(key, r.get(key).replace(expected()[:12], b"9" + expected()[1:12]))  # wrong digits, same shape
        assert ask(b.port) == expected()  # recomputed, not the poisoned digits
        assert info(b.port)["shared_cache_corrupt"] == 1 and info(b.port)["shared_cache_served"] == 0


def test_redis_killed_mid_load_then_restarted(store):
    a_ctx, b_ctx = _servers(store, "--cache-redis-timeout-ms", "100")
    with a_ctx as a, b_ctx as b:
        wait_for(lambda: info(a.port)["shared_cache"] == "up" and info(b.port)["shared_cache"] == "up")
        for i in range(5):
            assert ask(a.port, f"0.{i}7", 200) == expected(f"0.{i}7", 200)
        store.kill()
        started = time.monotonic()
        for i in range(5, 15):  # every request still answered, promptly, by computing
            port = a.port if i % 2 else b.port
            assert ask(port, f"0.{i}7", 200) == expected(f"0.{i}7", 200)
        assert time.monotonic() - started < 10
        wait_for(lambda: info(a.port)["shared_cache"] == "down")
        assert info(a.port)["shared_cache_reconnects"] >= 1
        store.start()
        wait_for(lambda: info(a.port)["shared_cache"] == "up" and info(b.port)["shared_cache"] == "up", 30)
        assert ask(a.port, "0.991", 300) == expected("0.991", 300)
        wait_for(lambda: info(a.port)["shared_cache_stores"] >= 1)
        assert ask(b.port, "0.991", 300) == expected("0.991", 300)
        assert info(b.port)["shared_cache_served"] >= 1


def test_bad_urls_are_refused_at_start():
    import subprocess
    import sys

    for url, message in (("http://x", "redis:// or rediss://"), ("redis://no-such-host.invalid", "cannot resolve")):
        done = subprocess.run([sys.executable, "-m", "spouge", "serve", "--port", "0", "--cache-redis", url],
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr
