"""The Redis dialect end to end: redis-py (plain and pipelined), raw RESP and inline commands, malformed input."""

from __future__ import annotations

import pytest
import redis

import spouge
from server_harness import resp_command, spouge_server

F100 = b"9.3326215443944152681699238856266700490715968264382e+157"


@pytest.fixture(scope="module")
def server():
    with spouge_server("--jobs", "2", "--max-digits", "20000") as s:
        yield s


@pytest.fixture
def client(server):
    c = redis.Redis(port=server.port, socket_timeout=30)
    yield c
    c.close()


def test_redis_py_commands(client):
    assert client.execute_command("FACTORIAL", 100, 50) == F100
    assert client.execute_command("factorial", "5", "3") == b"1.20e+2"
    assert client.execute_command("GAMMA", "0.5", 30) == b"1.77245385090551602729816748334e+0"
    assert client.execute_command("LGAMMA", "1e100") == b"2.292585092994046e+102"
    assert client.execute_command("GAMMA", "3+4j", 10) == str(spouge.gamma("3+4j", digits=10)).encode()
    assert client.ping() is True
    assert client.echo("héllo") == "héllo".encode()
    info = client.info()
    assert info["connected_clients"] >= 1 and "cache_hits" in info and "pool_workers" in info


def test_resp2_and_resp3_clients(server):
    for protocol in (2, 3):
        c = redis.Redis(port=server.port, protocol=protocol)
        assert c.execute_command("FACTORIAL", 100, 50) == F100
        assert c.execute_command("CLIENT", "GETNAME") is None
        c.close()
    reply = server.request(b"HELLO 4\r\nHELLO 2\r\n")
    assert reply.startswith(b"-NOPROTO unsupported protocol version\r\n*14\r\n$6\r\nserver\r\n$6\r\nspouge\r\n")


def test_errors_keep_the_connection_usable(client):
    for args, message in [
        (("GAMMA", -3), "pole"),
        (("FACTORIAL", -1), "pole"),
        (("GAMMA", "nan"), "not a finite number"),
        (("GAMMA", "abc"), "not a decimal number"),
        (("GAMMA", 2, 0), "at least 1"),
        (("GAMMA", 2, 20001), "at most 20000"),
        (("GAMMA", 2, "x"), "digits must be an integer"),
        (("LGAMMA", "3+4j"), "x ="),
        (("GAMMA",), "wrong number of arguments"),
        (("GAMMA", 1, 2, 3), "syntax error: unknown option .3."),
        (("GAMMA", 1, 2, 3, 4, 5, 6, 7, 8, 9, 10), "wrong number of arguments"),
        (("NOSUCH", "a"), "unknown command 'NOSUCH'"),
    ]:
        with pytest.raises(redis.ResponseError, match=message):
            client.execute_command(*args)
    assert client.execute_command("FACTORIAL", 100, 50) == F100


def test_pipeline_keeps_order_with_pooled_and_cheap_requests(client):
    pipe = client.pipeline(transaction=False)
    expected = []
    for i in range(30):
        if i % 7 == 3:  # heavy: goes to the pool and finishes after later cheap ones
            pipe.execute_command("GAMMA", f"{i}.5", 3000 + i)
            expected.append(str(spouge.gamma(f"{i}.5", digits=3000 + i)).encode())
        else:
            pipe.execute_command("FACTORIAL", i, 20)
            expected.append(str(spouge.factorial(i, digits=20)).encode())
    assert pipe.execute() == expected


def test_pipeline_with_errors_in_the_middle(client):
    pipe = client.pipeline(transaction=False)
    pipe.execute_command("FACTORIAL", 3)
    pipe.execute_command("GAMMA", 0)
    pipe.execute_command("FACTORIAL", 4)
    results = pipe.execute(raise_on_error=False)
    assert (
        results[0] == b"6.000000000000000e+0"
        and isinstance(results[1], redis.ResponseError)
        and results[2] == b"2.400000000000000e+1"
    )


def test_command_for_redis_cli(server):
    from spouge.server.commands import REDIS_COMMANDS

    n = len(REDIS_COMMANDS)
    reply = server.request(b"COMMAND COUNT\r\nCOMMAND DOCS\r\nCOMMAND\r\n")
    assert n >= 10 and reply.startswith(b":%d\r\n*%d\r\n" % (n, 2 * n))  # DOCS: name and docs for each (RESP2: flat)
    assert b"\r\n*%d\r\n*10\r\n" % n in reply  # COMMAND: Redis 7's ten-field entries
    assert b"factorial" in reply


def test_inline_commands(server):
    reply = server.request(
        b"PING\r\nfactorial 100 50\r\n\r\nECHO \"two words\"\nGAMMA '0.5' 5\r\nQUIT\r\n", until_close=True
    )
    assert reply == b"+PONG\r\n$56\r\n" + F100 + b"\r\n$9\r\ntwo words\r\n$9\r\n1.7725e+0\r\n+OK\r\n"


def test_raw_resp_split_at_every_byte(server):
    request = resp_command("FACTORIAL", "100", "50") + resp_command("PING")
    with server.connect() as s:
        for i in range(len(request)):
            s.sendall(request[i : i + 1])
        from server_harness import read_reply

        assert read_reply(s, 10, expect=len(F100) + 7 + 7) == b"$56\r\n" + F100 + b"\r\n+PONG\r\n"


@pytest.mark.parametrize(
    "payload, message",
    [
        (b"*99999999999\r\n", b"-Protocol error: invalid multibulk length"),
        (b"*2\r\n$-5\r\n", b"-Protocol error: invalid bulk length"),
        (b"*2\r\n$1000000000\r\n", b"-Protocol error: invalid bulk length"),
        (b"*1\r\n+PING\r\n", b"-Protocol error: expected '$', got '+'"),
        (b"*1\r\n$4\r\nPINGxx", b"-Protocol error: bulk string not terminated by CRLF"),
        (b"*abc\r\n", b"-Protocol error: invalid multibulk length"),
        (b'ECHO "unbalanced\r\n', b"-Protocol error: unbalanced quotes"),
        (b"x" * 70000, b"-Protocol error: too big inline request"),
    ],
)
def test_protocol_errors_answer_then_close(server, payload, message):
    reply = server.request(payload, until_close=True)
    assert reply.startswith(message) and reply.endswith(b"\r\n")


def test_replies_before_a_protocol_error_are_kept(server):
    reply = server.request(b"PING\r\n*1\r\n$4\r\nPING\r\n*-5x\r\n", until_close=True)
    assert reply == b"+PONG\r\n+PONG\r\n-Protocol error: invalid multibulk length\r\n"


def test_non_utf8_and_nul_bytes(server):
    reply = server.request(
        resp_command(b"GAMMA", b"\xff\xfe") + resp_command(b"GAMMA", b"1\x002") + resp_command("PING")
    )
    assert reply.startswith(b"-ERR x is not valid UTF-8\r\n-ERR x = ") and reply.endswith(b"+PONG\r\n")
