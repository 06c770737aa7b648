"""The pipelined fast path (issue 15): C and Python scanners agree, and nothing unknown is ever consumed."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from spouge.protocol import fastpath
from spouge.protocol.redis import RedisRequestParser
from spouge.protocol.resp_client import encode_command

F20 = encode_command(b"FACTORIAL", b"20")
G05 = encode_command(b"GAMMA", b"0.5", b"30")
TABLE = {F20: b"$20\r\n2.432902008176640e+18\r\n", G05: b"+g\r\n"}
SCANNERS = [fastpath.scan_python] + ([fastpath.scan] if fastpath.compiled else [])


def test_the_compiled_scanner_is_built():
    assert fastpath.compiled  # setup.py builds it wherever a C compiler is (the test command's machines)


def test_known_frames_are_answered_and_the_first_unknown_one_is_left_for_the_parser():
    buf = F20 * 3 + G05 + encode_command(b"PING") + F20
    for scan in SCANNERS:
        pos, values = scan(buf, 0, TABLE, 100)
        assert values == [TABLE[F20]] * 3 + [TABLE[G05]]
        assert buf[pos:].startswith(b"*1\r\n$4\r\nPING")
        assert scan(buf, 0, TABLE, 2) == (2 * len(F20), [TABLE[F20]] * 2)  # the limit
        assert scan(buf, len(buf), TABLE, 5) == (len(buf), [])


def test_partial_malformed_and_oversized_frames_are_never_consumed():
    hostile = [
        F20[:-1], F20[:5], b"*2\r\n$9\r\nFACTORIAL\r\n$2\r\n20\n\n", b"*99999999999999999999\r\n",
        b"*2\r\n$-1\r\n", b"*0\r\n", b"*9\r\n" + b"$1\r\na\r\n" * 9, b"*1\r\n$300\r\n" + b"a" * 300 + b"\r\n",
        b"FACTORIAL 20\r\n", b"*2\r\n$9\r\nFACTORIAL\r\n$02\r\n20\r\n", b"*2\r\n$ 9\r\nFACTORIAL\r\n$2\r\n20\r\n",
    ]
    table = {**TABLE, **{h: b"+nope\r\n" for h in hostile if h.endswith(b"\r\n")}}
    for scan in SCANNERS:
        for h in hostile:
            pos, values = scan(h + F20, 0, TABLE, 10)
            assert (pos, values) == (0, []), h
        # a malformed frame is not answered even if someone put it in the table: it is not well formed
        for h in (b"*0\r\n", b"*2\r\n$-1\r\n", b"FACTORIAL 20\r\n"):
            assert scan(h, 0, table, 10) == (0, [])


frames = st.sampled_from([F20, G05, encode_command(b"PING"), b"junk\r\n", b"*1\r\n$3\r\nab", b"*"])


@settings(max_examples=2000, deadline=None)
@given(st.lists(frames, max_size=12), st.integers(0, 40), st.integers(0, 20))
def test_c_and_python_agree_and_what_they_consume_is_what_the_full_parser_reads(parts, cut, limit):
    buf = b"".join(parts)
    buf = buf[: max(0, len(buf) - cut)]
    results = [scan(buf, 0, TABLE, limit) for scan in SCANNERS]
    assert all(r == results[0] for r in results)
    pos, values = results[0]
    parser = RedisRequestParser()
    parser.feed(buf[:pos])
    seen = []
    while (request := parser.next_request()) is not None:
        seen.append(encode_command(request.name.encode(), *request.args))
    assert [TABLE[f] for f in seen] == values
