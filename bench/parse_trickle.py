"""Cost of a trickled request in the Redis-dialect parser: time per byte, first quarter against last.

    python3 bench/parse_trickle.py [--parser PATH] [--chunk 1] [--size 60000]

A linear parser spends the same time per byte in the last quarter of a request
as in the first (ratio ~1); one that re-parses or re-copies the partial request
on every read grows with the request (ratio >> 1).  --parser loads another copy
of spouge/protocol/redis.py (e.g. `git show HEAD~1:spouge/protocol/redis.py >
/tmp/old_redis.py`) to compare with.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import spouge.protocol.redis as current_module


def load_parser_module(path: str | None):
    """The parser module at `path` (loaded inside spouge.protocol, so its relative imports work), or ours."""
    if not path:
        return current_module
    spec = importlib.util.spec_from_file_location("spouge.protocol._compared_redis", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def resp(*parts: bytes) -> bytes:
    return b"*%d\r\n" % len(parts) + b"".join(b"$%d\r\n%s\r\n" % (len(p), p) for p in parts)


def requests(size: int) -> dict[str, bytes]:
    """Requests of about `size` bytes (within the default limits up to 60000 bytes; see limits_for)."""
    return {
        "one big argument": resp(b"ECHO", b"x" * (size - 40)),
        "many small arguments": resp(b"ECHO", *[b"y" * 50 for _ in range(size // 58 if size > 2**16 else 1000)]),
        "inline line": b"ECHO " + b"z" * (size - 10) + b"\r\n",
        "inline quoted words": b"ECHO " + b" ".join([b'"' + b"w " * 30 + b'"'] * (size // 63)) + b"\r\n",
    }


def limits_for(module, size: int):
    """The default limits, or for requests past the 64 KiB cap limits with room for them."""
    if size <= 60000:
        return module.DEFAULT_LIMITS
    return module.RedisLimits(max_request=2 * size, max_args=size, max_bulk=2 * size)


def quarter_costs(make_parser, data: bytes, chunk: int) -> tuple[float, float, int]:
    """Seconds per byte in the first and last quarter of `data` fed `chunk` bytes at a time; requests parsed."""
    parser = make_parser()
    pieces = [data[i : i + chunk] for i in range(0, len(data), chunk)]
    # The last read, which completes the request (and splits it), is left out of the
    # last quarter: what is measured is the cost of holding a partial request.
    last_end = len(pieces) - 1
    quarter = last_end // 4
    marks = {0: 0.0, quarter: 0.0, last_end - quarter: 0.0, last_end: 0.0}
    parsed = 0
    clock = time.perf_counter
    for i, piece in enumerate(pieces):
        if i in marks:
            marks[i] = clock()
        parser.feed(piece)
        while parser.next_request() is not None:
            parsed += 1
    first = (marks[quarter] - marks[0]) / (quarter * chunk)
    last = (marks[last_end] - marks[last_end - quarter]) / (quarter * chunk)
    return first, last, parsed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--parser", help="path of another redis.py to measure instead of ours")
    ap.add_argument("--chunk", type=int, default=1, help="bytes per read (default 1)")
    ap.add_argument("--size", type=int, default=60000,
                    help="request size in bytes (default 60000, under the 64 KiB cap; larger sizes raise the limits)")
    args = ap.parse_args()
    module = load_parser_module(args.parser)
    print(f"parser: {args.parser or module.__file__}; {args.chunk} byte(s) per read; requests of ~{args.size} bytes")
    print("| request | µs/byte, first quarter | µs/byte, last quarter | ratio | whole request |")
    print("|---|---|---|---|---|")
    limits = limits_for(module, args.size)
    for name, data in requests(args.size).items():
        start = time.perf_counter()
        first, last, parsed = quarter_costs(lambda: module.RedisRequestParser(limits), data, args.chunk)
        took = time.perf_counter() - start
        assert parsed == 1, f"{name}: parsed {parsed} requests"
        print(f"| {name} ({len(data)} B) | {first * 1e6:.3f} | {last * 1e6:.3f} | {last / first:.1f} "
              f"| {took * 1e3:.0f} ms |")


if __name__ == "__main__":
    main()
