"""The result caches are bounded by the bytes they hold (issue 10, item 2; --cache-memory)."""

from __future__ import annotations

import gc
import http.client
import json
import random
import socket
import tracemalloc

from server_harness import read_reply, resp_command, spouge_server
from spouge.numerics import parse_real
from spouge.server.cache import ENTRY_OVERHEAD, LRUCache, entry_size


def _outcome(x: str, value: str = "1.000000000000000e+0") -> dict:
    return {"function": "gamma", "x": x, "digits": 16, "value": value, "a": 19, "error_bound": "1e-17"}


def test_two_caches_share_one_byte_budget_and_evict_the_least_recently_used_of_either():
    values = LRUCache(1000, max_bytes=60_000)
    replies = LRUCache(1000, counters=values)
    rng = random.Random(3)
    for i in range(500):
        x = "1." + "0" * rng.randint(0, 3000)
        if i % 2:
            values.put(("gamma", x, None), _outcome(x))
        else:
            replies.put(("GAMMA", (x.encode(),), 2), b"$20\r\n1.000000000000000e+0\r\n")
        assert values.budget.used == values.bytes + replies.bytes <= 60_000
    assert len(values) and len(replies)
    # Least recently used across both: touch every value entry, then add replies until one value must go.
    for key in list(values._data):
        assert values.get(key) is not None
    oldest_reply = next(iter(replies._data))
    replies.put(("GAMMA", (b"x" * 5000,), 2), b"+big\r\n")
    assert oldest_reply not in replies._data  # the replies were older: they went first
    assert values.budget.used <= 60_000


def test_an_entry_larger_than_the_budget_is_not_kept_and_the_count_limit_holds():
    cache = LRUCache(3, max_bytes=10_000)
    cache.put("small", "v")
    cache.put("huge", "x" * 20_000)
    assert cache.get("huge") is None and cache.get("small") == "v"
    for i in range(10):
        cache.put(i, str(i))
    assert len(cache) == 3 and cache.budget.used == cache.bytes
    cache.put(8, "eight")  # replacing an entry counts its new size only
    assert cache.budget.used == sum(entry_size(k, v[0]) for k, v in cache._data.items())


def test_entry_sizes_are_honest():
    """entry_size is within 25% of what tracemalloc sees an entry's objects allocate."""
    for x in ["1." + "0" * n for n in (10, 1000, 15000)] + ["0." + "7" * 3000]:
        gc.collect()
        tracemalloc.start()
        key = ("gamma", parse_real(x), 16, x + " ")
        value = _outcome(key[3], "9" * len(x))
        size, _ = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        counted = entry_size(key, value)  # ENTRY_OVERHEAD included: the container slots tracemalloc does not see here
        assert 0.75 * size <= counted <= 1.25 * size + ENTRY_OVERHEAD, (len(x), size, counted)


def test_12000_spellings_of_one_stay_within_the_cache_memory_setting():
    spellings = []
    for k in range(4000):  # "1.000…", "10…0e-k", "0.0…01e(k+1)", zero tails up to 16000 long
        zeros = "0" * (4 * k)
        spellings += ["1." + zeros, "1" + zeros + "e-" + str(len(zeros)), "0." + zeros + "1e" + str(len(zeros) + 1)]
    assert len(set(spellings)) == 12000
    random.Random(4).shuffle(spellings)
    limit = 4 * 2**20
    with spouge_server("--jobs", "1", "--cache-memory", str(limit)) as server:
        def rss_kb() -> int:
            return int(open(f"/proc/{server.proc.pid}/status").read().split("VmRSS:")[1].split()[0])

        with socket.create_connection(("127.0.0.1", server.port), timeout=60) as s:
            s.sendall(resp_command("GAMMA", "1"))
            one = read_reply(s, 10)
            assert one.startswith(b"$") and b"\r\n1.000000000000000" in one
            before = rss_kb()
            for start in range(0, len(spellings), 100):  # pipelined, 100 at a time, RESP and HTTP
                batch = spellings[start : start + 100]
                s.sendall(b"".join(resp_command("GAMMA", x) for x in batch))
                got = read_reply(s, 60, expect=len(one) * len(batch))
                assert got == one * len(batch)
        web = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        for x in [x for x in spellings if len(x) < 7000][::20]:  # URLs are capped at 8 KB
            web.request("GET", f"/v1/gamma?x={x}")
            response = web.getresponse()
            assert response.status == 200 and json.loads(response.read())["value"].startswith("1.000000000000000")
        web.close()
        grown_mb = (rss_kb() - before) / 1024
    # Unbounded (by count only), these spellings held ~200 MB (the issue measured 431 MB); the caches may
    # hold 4 MB, and the rest is the allocator's slack.
    assert grown_mb < 40, grown_mb


def test_reply_cache_hits_count_on_the_value_cache_even_while_it_is_empty():
    """An empty LRUCache is falsy (len 0): it must still be the counter holder it was given (issue 13)."""
    values = LRUCache(10, max_bytes=10_000)
    replies = LRUCache(10, counters=values)
    assert len(values) == 0
    replies.put("k", b"+v\r\n")
    assert replies.get("k") == b"+v\r\n" and replies.get("k") == b"+v\r\n"
    assert values.hits == 2 and replies.hits == 0
    assert replies.get("missing") is None
    assert values.misses == 0  # the cache asked next counts misses
