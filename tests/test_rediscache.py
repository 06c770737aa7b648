"""The shared cache's client (issue 14, part 2): our RESP reply codec, and a real redis-server behind our loop."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time

import pytest

from server_harness import free_port
from spouge.loop import EventLoop
from spouge.protocol.errors import ProtocolError
from spouge.protocol.resp_client import NEED_MORE, ReplyError, ReplyParser, encode_command
from spouge.server.rediscache import CacheURLError, RedisCache, decode_entry, encode_entry, parse_url

REDIS = shutil.which("redis-server")


# --- the codec ------------------------------------------------------------------------------------------------


def _all(data: bytes, step: int | None = None) -> list:
    parser = ReplyParser()
    out = []
    chunks = [data] if step is None else [data[i:i + step] for i in range(0, len(data), step)]
    for chunk in chunks:
        parser.feed(chunk)
        while (reply := parser.next_reply()) is not NEED_MORE:
            out.append(reply)
    return out


def test_every_reply_type_whole_and_byte_by_byte():
    data = (b"+OK\r\n-ERR wrong\r\n:42\r\n$5\r\nhe\r\no\r\n$-1\r\n*2\r\n$1\r\na\r\n:1\r\n*-1\r\n_\r\n#t\r\n"
            b",1.5\r\n%1\r\n+k\r\n$1\r\nv\r\n~1\r\n:7\r\n=7\r\ntxt:abc\r\n!3\r\nBAD\r\n|1\r\n+a\r\n+b\r\n:9\r\n")
    expected = [b"OK", ReplyError("ERR wrong"), 42, b"he\r\no", None, [b"a", 1], None, None, True, 1.5,
                {b"k": b"v"}, [7], b"abc", ReplyError("BAD"), 9]
    assert _all(data) == expected
    assert _all(data, step=1) == expected
    assert _all(data, step=7) == expected
    assert ReplyError("WRONGPASS invalid").code == "WRONGPASS"


@pytest.mark.parametrize("data", [
    b"$99999999999\r\n", b"*99999999999\r\n", b"$12345678901234567890123\r\n", b"?\r\n", b":abc\r\n",
    b"$3\r\nabcXY", b"*1\r\n" * 20 + b":1\r\n", b",nope\r\n",
])
def test_hostile_or_broken_replies_raise_before_allocating(data):
    parser = ReplyParser(max_reply=1 << 20)
    with pytest.raises(ProtocolError):
        parser.feed(data)
        parser.next_reply()


def test_a_reply_over_the_cap_is_refused_while_it_streams_in():
    parser = ReplyParser(max_reply=1000)
    with pytest.raises(ProtocolError):
        parser.feed(b"+" + b"x" * 70000)  # no CRLF, ever


def test_commands_are_arrays_of_bulk_strings():
    assert encode_command(b"SET", "k", b"v\r\n", "EX", 10) == (
        b"*5\r\n$3\r\nSET\r\n$1\r\nk\r\n$3\r\nv\r\n\r\n$2\r\nEX\r\n$2\r\n10\r\n")


def test_urls_as_redis_py_reads_them():
    o = parse_url("rediss://user:p%40ss@cache.example:6380/2?ssl_cert_reqs=none")
    assert (o["host"], o["port"], o["db"], o["tls"], o["username"], o["password"], o["verify"]) == (
        "cache.example", 6380, 2, True, "user", "p@ss", False)
    assert parse_url("redis://localhost")["port"] == 6379 and parse_url("redis://:pw@h/0")["password"] == "pw"
    for bad in ("http://x", "redis://h:99999", "redis://h/abc", "redis:///0"):
        with pytest.raises(CacheURLError):
            parse_url(bad)


def test_entries_verify_only_under_their_own_key_and_secret():
    value = {"function": "gamma", "x": "0.5", "value": "1.772453850905516e+0"}
    entry = encode_entry(b"k1", value, b"s")
    assert decode_entry(b"k1", entry, b"s") == value
    assert decode_entry(b"k2", entry, b"s") is None  # moved to another key
    assert decode_entry(b"k1", entry, b"t") is None  # written by someone without the secret
    assert decode_entry(b"k1", entry.replace(b"1.772", b"1.773"), b"s") is None  # edited digits
    assert decode_entry(b"k1", entry[:-3], b"s") is None  # truncated
    assert decode_entry(b"k1", b"garbage", b"s") is None


# --- a real redis-server ----------------------------------------------------------------------------------------


class RedisServer:
    def __init__(self, *args: str) -> None:
        self.port = free_port()
        self.args = args
        self.proc = None
        self.start()

    def start(self) -> None:
        self.proc = subprocess.Popen([REDIS, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                      "--appendonly", "no", *self.args], stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError("redis-server did not start")

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait()

    def client(self, **kw):
        import redis

        return redis.Redis(port=self.port, **kw)


def _spin(loop: EventLoop, until, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not until() and time.monotonic() < deadline:
        loop.run_once()
    assert until(), "condition not reached in time"


def _get(loop, cache, request: str):
    box = []
    cache.get(request, box.append)
    _spin(loop, lambda: box)
    return box[0]


@pytest.fixture()
def server():
    if REDIS is None:
        pytest.skip("redis-server is not installed (the test command installs it)")
    srv = RedisServer()
    yield srv
    srv.kill()


def test_set_then_get_through_a_real_redis_and_a_corrupt_entry_is_ignored_and_deleted(server):
    loop = EventLoop()
    cache = RedisCache(loop, f"redis://127.0.0.1:{server.port}/3", namespace="test-1", timeout=0.5)
    cache.start()
    _spin(loop, lambda: cache.ready)
    value = {"function": "gamma", "x": "0.5", "digits": 30, "value": "1.77245385090551602729816748334e+0"}
    assert _get(loop, cache, "gamma 0.5 30") is None and cache.stats["misses"] == 1
    cache.set("gamma 0.5 30", value)
    _spin(loop, lambda: cache.stats["stores"] == 1)
    assert _get(loop, cache, "gamma 0.5 30") == value and cache.stats["hits"] == 1
    r = server.client(db=3)
    key = cache.key("gamma 0.5 30")
    assert r.ttl(key) > 80000 and key.startswith(b"spouge:test-1:")
    r.set(key, r.get(key).replace(b"1.772", b"9.772"))  # poisoned digits
    assert _get(loop, cache, "gamma 0.5 30") is None and cache.stats["corrupt"] == 1
    _spin(loop, lambda: not r.exists(key))  # and removed
    cache.close()
    loop.close()


def test_redis_killed_then_restarted_misses_fast_then_reconnects(server):
    loop = EventLoop()
    cache = RedisCache(loop, f"redis://127.0.0.1:{server.port}", namespace="t2", timeout=0.2)
    cache.start()
    _spin(loop, lambda: cache.ready)
    cache.set("x", {"v": 1})
    _spin(loop, lambda: cache.stats["stores"] == 1)
    server.kill()
    started = time.monotonic()
    assert _get(loop, cache, "x") is None
    assert time.monotonic() - started < 1.0
    for _ in range(5):  # down: every get is a prompt miss
        assert _get(loop, cache, "x") is None
    assert cache.stats["bypassed"] >= 5 and cache.stats["reconnects"] >= 1
    server.start()
    _spin(loop, lambda: cache.ready, seconds=15)
    cache.set("x", {"v": 2})
    _spin(loop, lambda: cache.stats["stores"] == 2)
    assert _get(loop, cache, "x") == {"v": 2}
    cache.close()
    loop.close()


def test_a_slow_redis_times_out_as_a_miss_and_the_connection_is_renewed(server):
    loop = EventLoop()
    cache = RedisCache(loop, f"redis://127.0.0.1:{server.port}", namespace="t3", timeout=0.1)
    cache.start()
    _spin(loop, lambda: cache.ready)
    import os
    import signal

    os.kill(server.proc.pid, signal.SIGSTOP)  # alive, connected, and silent: the worst kind of slow
    try:
        started = time.monotonic()
        assert _get(loop, cache, "y") is None
        assert time.monotonic() - started < 0.45 and cache.stats["timeouts"] == 1
    finally:
        os.kill(server.proc.pid, signal.SIGCONT)
    _spin(loop, lambda: cache.ready, seconds=10)
    assert _get(loop, cache, "y") is None and cache.stats["misses"] >= 1
    cache.close()
    loop.close()


def test_passwords_from_the_url_and_a_wrong_one_only_bypasses():
    if REDIS is None:
        pytest.skip("redis-server is not installed")
    srv = RedisServer("--requirepass", "s3cret")
    try:
        loop = EventLoop()
        good = RedisCache(loop, f"redis://:s3cret@127.0.0.1:{srv.port}/1", namespace="t4", timeout=0.5)
        good.start()
        _spin(loop, lambda: good.ready)
        good.set("z", {"v": 3})
        _spin(loop, lambda: good.stats["stores"] == 1)
        assert _get(loop, good, "z") == {"v": 3}
        bad = RedisCache(loop, f"redis://:nope@127.0.0.1:{srv.port}/1", namespace="t4", timeout=0.5)
        bad.start()
        _spin(loop, lambda: bad.stats["errors"] >= 1)
        assert _get(loop, bad, "z") is None  # never a wrong answer, never an exception
        good.close()
        bad.close()
        loop.close()
    finally:
        srv.kill()


def test_nothing_listening_is_a_bypass_not_an_error():
    loop = EventLoop()
    cache = RedisCache(loop, f"redis://127.0.0.1:{free_port()}", namespace="t5", timeout=0.1)
    cache.start()
    for _ in range(3):
        assert _get(loop, cache, "q") is None
    assert cache.stats["bypassed"] >= 3
    cache.close()
    loop.close()
