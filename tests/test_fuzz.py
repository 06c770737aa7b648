"""Fuzzing the codecs (hypothesis): requests, "need more" within the caps, or the codec's own error — nothing else.

The long run (>= 10^6 inputs per codec) is bench/fuzz_codecs.py; SPOUGE_SLOW=1 runs it here too.
"""

from __future__ import annotations

import itertools
import os
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spouge.numerics import parse_number
from spouge.protocol import HttpRequestParser, ProtocolError, RedisRequestParser
from spouge.server.compute import ComputeError, prepare

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(__file__)), "bench"))

def _resp(*parts: bytes) -> bytes:
    return b"*%d\r\n" % len(parts) + b"".join(b"$%d\r\n%s\r\n" % (len(p), p) for p in parts)


words = st.binary(min_size=0, max_size=30)
valid_resp = st.lists(st.lists(words, min_size=1, max_size=4).map(lambda ws: _resp(*ws)), min_size=1, max_size=6).map(
    b"".join
)
valid_inline = st.lists(
    st.lists(st.from_regex(rb"[A-Za-z0-9.+-]{1,12}", fullmatch=True), min_size=1, max_size=4).map(
        lambda ws: b" ".join(ws) + b"\r\n"
    ),
    min_size=1,
    max_size=6,
).map(b"".join)


def drain_redis(parser: RedisRequestParser, data: bytes, splits: list[int]):
    out = []
    cuts = sorted({min(max(0, s), len(data)) for s in splits} | {0, len(data)})
    for a, b in itertools.pairwise(cuts):
        parser.feed(data[a:b])
        while (request := parser.next_request()) is not None:
            out.append((request.name, request.args))
        assert parser.pending_bytes <= parser.limits.max_request + 64
    return out


@given(valid_resp | valid_inline, st.lists(st.integers(0, 400), max_size=20))
def test_redis_codec_split_anywhere_gives_the_same_requests(data, splits):
    whole = drain_redis(RedisRequestParser(), data, [])
    assert drain_redis(RedisRequestParser(), data, splits) == whole
    assert drain_redis(RedisRequestParser(), data, list(range(len(data)))) == whole  # every byte boundary


@given(st.binary(max_size=300), st.lists(st.integers(0, 300), max_size=10))
def test_redis_codec_random_bytes(data, splits):
    try:
        drain_redis(RedisRequestParser(), data, splits)
    except ProtocolError:
        pass


@given(
    st.sampled_from(
        [
            b"*99999999999\r\n",
            b"*2\r\n$-5\r\n",
            b"*2\r\n$1073741824\r\n",
            b"*1025\r\n",
            b"x" * 70000,
            b"*1\r\n$70000\r\n",
        ]
    )
)
def test_redis_codec_absurd_lengths_fail_fast(data):
    with pytest.raises(ProtocolError):
        drain_redis(RedisRequestParser(), data, [])


http_requests = st.lists(
    st.tuples(
        st.sampled_from(["GET", "HEAD", "POST"]),
        st.from_regex(r"/[a-z0-9/]{0,20}(\?[a-z]=[0-9a-z.%+]{0,10}){0,2}", fullmatch=True),
    ).map(lambda mp: f"{mp[0]} {mp[1]} HTTP/1.1\r\nHost: x\r\n\r\n".encode()),
    min_size=1,
    max_size=5,
).map(b"".join)


def drain_http(data: bytes, splits: list[int]):
    parser = HttpRequestParser()
    out = []
    cuts = sorted({min(max(0, s), len(data)) for s in splits} | {0, len(data)})
    for a, b in itertools.pairwise(cuts):
        parser.feed(data[a:b])
        while (request := parser.next_request()) is not None:
            out.append((request.method, request.target, request.query))
    return out


@given(http_requests, st.lists(st.integers(0, 300), max_size=20))
def test_http_codec_split_anywhere_gives_the_same_requests(data, splits):
    whole = drain_http(data, [])
    assert len(whole) == data.count(b"HTTP/1.1\r\n")
    assert drain_http(data, splits) == whole
    assert drain_http(data, list(range(len(data)))) == whole


@given(st.binary(max_size=400), st.lists(st.integers(0, 400), max_size=10))
def test_http_codec_random_bytes(data, splits):
    try:
        drain_http(data, splits)
    except ProtocolError:
        pass


@settings(deadline=2000)
@given(
    st.text(max_size=60)
    | st.sampled_from(
        [
            "1e999999999",
            "-1e999999999",
            "0e99999999999",
            "nan",
            "inf",
            "--5",
            "0x10",
            "1e10001",
            "3+4j",
            "\x00",
            "\uff11\uff12",
        ]
    ),
    st.sampled_from(["gamma", "factorial", "lgamma"]),
    st.one_of(st.none(), st.text(max_size=12)),
)
def test_argument_parsers(text, function, digits):
    try:
        value = parse_number(text)
        assert value is not None
    except (ValueError, TypeError):
        pass
    try:
        job = prepare(function, text, digits, 10000)
        assert 1 <= job.digits <= 10000
    except ComputeError as exc:
        assert exc.kind in ("bad_request", "unprocessable")


def test_mutation_fuzzer_short_run():
    import fuzz_codecs

    results = fuzz_codecs.run(3000, seed=7, out=lambda line: None)
    assert all(r["inputs"] == 3000 for r in results.values())


@pytest.mark.slow
def test_mutation_fuzzer_long_run():
    import fuzz_codecs

    results = fuzz_codecs.run(1_000_000, seed=1, out=print)
    assert all(r["inputs"] == 1_000_000 for r in results.values())
