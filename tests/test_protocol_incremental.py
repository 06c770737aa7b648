"""The Redis-dialect parser is incremental: a partial request is parsed once, and its caps hold however it is split.

The timing test compares the cost per byte of the first and the last quarter of a
trickled request (a ratio, not a time, with a wide margin: a parser that re-parses
or re-copies the partial request on every read gives 6 and more here, see
bench/parse_trickle.py).  To see it fail on another parser, point
SPOUGE_COMPARE_PARSER at a copy of it:
    git show <commit>:spouge/protocol/redis.py > /tmp/old_redis.py
    SPOUGE_COMPARE_PARSER=/tmp/old_redis.py python3 -m pytest tests/test_protocol_incremental.py -k linear
"""

from __future__ import annotations

import os
import re
import sys

import pytest

from spouge.protocol import ProtocolError
from spouge.protocol.redis import UNAUTHENTICATED_LIMITS, split_inline

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bench"))

from parse_trickle import limits_for, load_parser_module, quarter_costs, requests, resp

PARSER = load_parser_module(os.environ.get("SPOUGE_COMPARE_PARSER"))

def parse_all(data: bytes, chunk: int, limits=None) -> list:
    parser = PARSER.RedisRequestParser(limits) if limits else PARSER.RedisRequestParser()
    out = []
    for i in range(0, len(data), chunk):
        parser.feed(data[i : i + chunk])
        while (command := parser.next_request()) is not None:
            out.append((command.name, command.args))
    assert parser.pending_bytes == 0
    return out


def _ratio(size: int, kind: str, chunk: int) -> float:
    """Last-quarter over first-quarter cost per byte; the best of three runs (noise only raises it)."""
    data, limits = requests(size)[kind], limits_for(PARSER, size)
    best = float("inf")
    for _ in range(3):
        first, last, parsed = quarter_costs(lambda: PARSER.RedisRequestParser(limits), data, chunk)
        assert parsed == 1
        best = min(best, last / first)
        if best < 2:
            break
    return best


KINDS = ["one big argument", "many small arguments", "inline line", "inline quoted words"]


@pytest.mark.parametrize("kind", KINDS)
def test_trickled_request_costs_linear_time_byte_by_byte(kind):
    assert _ratio(60_000, kind, 1) < 3  # under the default 64 KiB cap


@pytest.mark.parametrize("kind", KINDS)
def test_trickled_request_costs_linear_time_in_small_chunks(kind):
    assert _ratio(2_000_000, kind,
                  16) < 3  # 2 MB (limits raised) in 16-byte reads: a re-parsing parser copies ~10^11 bytes


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 16, 1000])
def test_any_split_gives_the_same_requests(chunk):
    data = (resp(b"GAMMA", b"0.5", b"30") + b"PING\r\n" + b"*0\r\n*-1\r\n" + resp(b"ECHO", b"a\r\nb" * 500)
            + b'ECHO "a b" \'c d\' e\r\n' + b"\r\n" + resp(b"FACTORIAL", b"100"))
    expected = [("GAMMA", (b"0.5", b"30")), ("PING", ()), ("ECHO", (b"a\r\nb" * 500,)),
                ("ECHO", (b"a b", b"c d", b"e")), ("FACTORIAL", (b"100",))]
    assert parse_all(data, len(data)) == expected
    assert parse_all(data, chunk) == expected


def test_pending_bytes_count_the_partial_request():
    parser = PARSER.RedisRequestParser()
    data = resp(b"ECHO", b"x" * 1000)
    for i, byte in enumerate(data[:-1]):
        parser.feed(bytes([byte]))
        assert parser.next_request() is None
        assert parser.pending_bytes == i + 1  # the connection arms its request deadline on this
    parser.feed(data[-1:])
    assert parser.next_request().args == (b"x" * 1000,)
    assert parser.pending_bytes == 0


@pytest.mark.parametrize("chunk", [1, 100, 10**6])
def test_request_size_cap_holds_however_the_bytes_are_split(chunk):
    """A multibulk request over max_request is refused when its sizes are declared, before its body is held."""
    limits = UNAUTHENTICATED_LIMITS
    over = resp(b"ECHO", b"a" * 10_000, b"b" * 10_000)  # each argument fits max_bulk; together they exceed max_request
    parser = PARSER.RedisRequestParser(limits)
    with pytest.raises(ProtocolError, match="request too large") as info:
        for i in range(0, len(over), chunk):
            parser.feed(over[i : i + chunk])
            while parser.next_request() is not None:
                pass
            assert parser.pending_bytes <= limits.max_request
    assert info.value.http_status == 413
    assert parse_all(resp(b"ECHO", b"a" * 10_000, b"b" * 6000), chunk, limits)  # under the cap: fine


@pytest.mark.parametrize("chunk", [1, 1000, 10**6])
def test_inline_line_cap_is_raised_as_soon_as_it_is_passed(chunk):
    limits = UNAUTHENTICATED_LIMITS
    parser = PARSER.RedisRequestParser(limits)
    line = b"PING " + b"x" * (2 * limits.max_request)
    fed = 0
    with pytest.raises(ProtocolError, match="too big inline request") as info:
        for i in range(0, len(line), chunk):
            parser.feed(line[i : i + chunk])
            fed += len(line[i : i + chunk])
            assert parser.next_request() is None
    assert info.value.http_status == 431
    assert fed <= limits.max_request + chunk  # refused at the cap, not at the end of the line


def test_argument_and_length_caps_are_unchanged():
    for data, message in [(b"*1025\r\n", "invalid multibulk length"), (b"*1\r\n$70000\r\n", "invalid bulk length"),
                          (b"*2\r\n$-1\r\n", "invalid bulk length"), (b"*1\r\n$3\r\nabcXY", "not terminated by CRLF"),
                          (b"*1\r\n:3\r\n", "expected '$'"), (b"*" + b"9" * 40, "invalid multibulk length")]:
        with pytest.raises(ProtocolError, match=re.escape(message)):
            parse_all(data, 1)
    with pytest.raises(ProtocolError, match="too many arguments"):
        parse_all(b"PING" + b" a" * 1100 + b"\r\n", 50)
    with pytest.raises(ProtocolError, match="too many arguments"):
        parse_all(b"PING" + b' "a"' * 1100 + b"\r\n", 50)


def test_split_inline_is_linear_and_stops_at_the_word_cap():
    assert split_inline(b'SET "a b" \'c\' d') == [b"SET", b"a b", b"c", b"d"]
    assert split_inline(b'a"b "c"') == [b'a"b', b"c"]
    for bad in (b'ECHO "abc', b'ECHO "a"b'):
        with pytest.raises(ProtocolError, match="unbalanced quotes"):
            split_inline(bad)
    with pytest.raises(ProtocolError, match="too many arguments"):
        split_inline(b'"x" ' + b"y " * 10**6, max_words=11)
