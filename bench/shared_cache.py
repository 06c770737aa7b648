"""The shared cache's effect (issue 14, part 2): a second replica asking what the first computed.

    python3 bench/shared_cache.py [--values 200] [--digits 1000]

Two spouge servers share a real redis-server (--cache-redis).  Server A computes N new values (GAMMA of
distinct x at the given digits); then server B is asked the same N values: from Redis (hits) and, for
comparison, a third server without the cache computes them.  Reported: per-request wall time seen by a
sequential redis-py client, medians, all in one run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))

import redis

from server_harness import spouge_server
from test_rediscache import RedisServer


def timed(port: int, xs: list[str], digits: int) -> list[float]:
    client = redis.Redis(port=port, socket_timeout=120)
    out = []
    for x in xs:
        start = time.perf_counter()
        client.execute_command("GAMMA", x, digits)
        out.append(time.perf_counter() - start)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--values", type=int, default=200)
    parser.add_argument("--digits", type=int, default=1000)
    opts = parser.parse_args()
    store = RedisServer()
    url = f"redis://127.0.0.1:{store.port}/0"
    xs = [f"0.{i:04d}3" for i in range(1, opts.values + 1)]
    try:
        with spouge_server("--cache-redis", url) as a, spouge_server("--cache-redis", url) as b, \
                spouge_server() as plain:
            timed(a.port, ["0.5"], opts.digits)  # coefficient tables built everywhere first: warm figures
            timed(b.port, ["0.5"], opts.digits)
            timed(plain.port, ["0.5"], opts.digits)
            first = timed(a.port, xs, opts.digits)
            time.sleep(0.5)
            before = redis.Redis(port=b.port).info("cache")["shared_cache_served"]
            shared = timed(b.port, xs, opts.digits)
            computed = timed(plain.port, xs, opts.digits)
            served = redis.Redis(port=b.port).info("cache")["shared_cache_served"] - before
    finally:
        store.kill()
    ms = lambda v: f"{statistics.median(v) * 1e3:.2f} ms"  # noqa: E731
    print(f"### Shared cache: GAMMA of {opts.values} new x at {opts.digits} digits, a sequential client\n")
    print("| server | median per request | served from Redis |")
    print("|---|---|---|")
    print(f"| A computes (and stores) | {ms(first)} | — |")
    print(f"| B asks the same values | {ms(shared)} | {served} of {opts.values} |")
    print(f"| a server without the cache computes them | {ms(computed)} | — |")


if __name__ == "__main__":
    main()
