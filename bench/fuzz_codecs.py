"""Mutation fuzzer for the codecs: RESP/inline, HTTP, and the x/digits argument parsers.

    python3 bench/fuzz_codecs.py [--inputs 1000000] [--seed 1]

Invariant checked on every input: the codec returns requests, or asks for more
bytes while holding no more than its cap, or raises its own error
(ProtocolError; ValueError/TypeError/ComputeError for arguments) — nothing
else escapes, and no input takes more than MAX_SECONDS_PER_INPUT.
Prints inputs/second, the largest buffered amount and the slowest input.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from spouge.numerics import parse_number
from spouge.protocol import HttpRequestParser, ProtocolError, RedisRequestParser
from spouge.protocol.http import MAX_BODY, MAX_HEADER_BYTES, MAX_URL
from spouge.server.compute import ComputeError, prepare

MAX_SECONDS_PER_INPUT = 0.5

RESP_SEEDS = [
    b"*2\r\n$9\r\nFACTORIAL\r\n$3\r\n100\r\n", b"*3\r\n$5\r\nGAMMA\r\n$3\r\n0.5\r\n$2\r\n30\r\n", b"PING\r\n",
    b'ECHO "a b" \'c\'\r\n', b"*99999999999\r\n", b"*2\r\n$-5\r\n", b"*2\r\n$1000000000\r\n", b"*-1\r\n", b"*0\r\n",
    b"FACTORIAL 1e999999999 5\r\n", b"\x00\xff\r\n", b"*1\r\n$4\r\nPING\r\n" * 5,
]
HTTP_SEEDS = [
    b"GET /v1/factorial?x=100&digits=50 HTTP/1.1\r\nHost: a\r\n\r\n", b"GET /health HTTP/1.0\r\n\r\n",
    b"POST /v1/gamma HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello",
    b"GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    b"GET /v1/gamma?x=%ff%00&digits=-1 HTTP/1.1\r\nConnection: close\r\n\r\n",
    b"GET / HTTP/1.1\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n",
]
ARG_SEEDS = ["100", "-2.5", "0.1", "1e100", "1e999999999", "nan", "inf", "--5", "0x10", "3+4j", "-j", "1e-10001",
             "0e99999999999", "٣", "1_0", " 7 ", "1.", ".5e-3"]
TOKENS = [b"\r\n", b"*", b"$", b"-", b"0", b"9", b"99999999999", b" ", b'"', b"'", b"\x00", b"\xff", b"\n", b"HTTP/1.1",
          b"%", b"?", b"&", b"="]


def mutate(rng: random.Random, data: bytes) -> bytes:
    data = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        choice = rng.random()
        pos = rng.randint(0, len(data))
        if choice < 0.3 and data:
            del data[pos : pos + rng.randint(1, 8)]
        elif choice < 0.6:
            data[pos:pos] = rng.choice(TOKENS)
        elif choice < 0.8 and data:
            data[min(pos, len(data) - 1)] = rng.randrange(256)
        else:
            data[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
    if rng.random() < 0.05:
        data *= rng.randint(2, 50)
    return bytes(data)


def chunks(rng: random.Random, data: bytes):
    i = 0
    while i < len(data):
        j = i + rng.randint(1, 64)
        yield data[i:j]
        i = j


def parser_fuzzer(make_parser, cap):
    """A fuzz driver for one codec: feed random chunks, drain requests, check the buffer stays under cap."""

    def fuzz(rng, data, stats):
        parser = make_parser()
        try:
            for part in chunks(rng, data):
                parser.feed(part)
                while parser.next_request() is not None:
                    pass
                stats["max_pending"] = max(stats["max_pending"], parser.pending_bytes)
                assert parser.pending_bytes <= cap, "buffered past the cap"
        except ProtocolError:
            stats["errors"] += 1

    return fuzz


fuzz_redis = parser_fuzzer(RedisRequestParser, RedisRequestParser().limits.max_request + 64)
fuzz_http = parser_fuzzer(HttpRequestParser, MAX_URL + MAX_HEADER_BYTES + MAX_BODY)


def fuzz_args(rng, data, stats):
    text = data.decode("utf-8", "replace")
    try:
        parse_number(text)
    except (ValueError, TypeError):
        stats["errors"] += 1
    try:
        prepare(rng.choice(["gamma", "factorial", "lgamma"]), text,
                rng.choice([None, "16", text, "0", "-1", "99999999999999"]), 10000)
    except ComputeError:
        pass


CODECS = {"resp+inline": (fuzz_redis, RESP_SEEDS), "http": (fuzz_http, HTTP_SEEDS),
          "arguments": (fuzz_args, [s.encode() for s in ARG_SEEDS])}


def run(inputs: int, seed: int, out=print) -> dict:
    results = {}
    for name, (fn, seeds) in CODECS.items():
        rng = random.Random(seed)
        stats = {"errors": 0, "max_pending": 0, "slowest": 0.0}
        start = time.perf_counter()
        for i in range(inputs):
            if i % 10 == 0:
                data = bytes(rng.randrange(256) for _ in range(rng.randint(0, 200)))
            else:
                data = mutate(rng, rng.choice(seeds))
            t = time.perf_counter()
            fn(rng, data, stats)
            took = time.perf_counter() - t
            stats["slowest"] = max(stats["slowest"], took)
            assert took < MAX_SECONDS_PER_INPUT, f"{name}: {data[:100]!r} took {took:.2f} s"
        elapsed = time.perf_counter() - start
        stats.update(inputs=inputs, seconds=elapsed)
        results[name] = stats
        out(f"| {name} | {inputs:,} | {elapsed:.0f} s | {inputs / elapsed:,.0f}/s | {stats['errors']:,} "
            f"| {stats['max_pending']:,} B | {stats['slowest'] * 1e3:.1f} ms |")
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--inputs", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    print("| codec | inputs | time | rate | rejected (own error) | most buffered | slowest input |")
    print("|---|---|---|---|---|---|---|")
    run(args.inputs, args.seed)


if __name__ == "__main__":
    main()
