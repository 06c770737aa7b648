"""Hostile first bytes over real sockets: control bytes are never echoed raw, and HTTP/2 gets a 505 at once."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time

import pytest

from server_harness import read_reply, resp_command, spouge_server
from spouge.protocol import ProtocolError, closing_error, is_http_start, resp
from spouge.protocol.http import HTTP2_PREFACE, HttpRequestParser

CONTROL = b"\x00\x01\x1b[31m"
#: What a reply line may hold: printable ASCII and UTF-8 sequences, no C0/C1 control bytes, no DEL.
RAW_CONTROL = re.compile(rb"[\x00-\x1f\x7f]|\xc2[\x80-\x9f]")

#: The first frame an h2c "prior knowledge" client sends after the preface: an empty SETTINGS frame.
SETTINGS_FRAME = b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"


@pytest.fixture(scope="module")
def server():
    with spouge_server("--jobs", "0") as running:
        yield running


def _lines(reply: bytes) -> list[bytes]:
    assert reply.endswith(b"\r\n")
    return reply[:-2].split(b"\r\n")


@pytest.mark.parametrize("request_bytes", [
    resp_command(b"FOO" + CONTROL + b"\x7f\x9b", b"arg" + CONTROL),  # multibulk: name and argument
    b"FOO" + CONTROL + b" arg" + CONTROL + b"\r\n",  # inline (telnet style)
])
def test_control_bytes_in_an_unknown_command_come_back_escaped(server, request_bytes):
    reply = server.request(request_bytes + resp_command("PING"), expect=None)
    lines = _lines(reply)
    assert lines[-1] == b"+PONG"  # the framing held: exactly one error line, then the next reply
    assert len(lines) == 2 and lines[0].startswith(b"-ERR unknown command")
    assert not RAW_CONTROL.search(lines[0]), lines[0]
    assert b"\\x00\\x01\\x1b[31m" in lines[0]


def test_cr_and_lf_cannot_split_an_error_line():
    assert resp.error("ERR a\r\n+OK\r\nb") == b"-ERR a  +OK  b\r\n"
    assert resp.error("ERR \x00\x1b[2J\x7f\x85") == b"-ERR \\x00\\x1b[2J\\x7f\\x85\r\n"
    assert closing_error(False, 400, "bad \x00 byte") == b"-ERR bad \\x00 byte\r\n"
    assert resp.error("ERR plain text, é and ü") == "-ERR plain text, é and ü\r\n".encode()


@pytest.mark.parametrize("first",
                         [HTTP2_PREFACE + SETTINGS_FRAME, HTTP2_PREFACE, b"GET /health HTTP/2.0\r\nHost: x\r\n\r\n"])
def test_http2_gets_505_and_a_close_at_once(server, first):
    start = time.monotonic()
    with server.connect(timeout=5) as s:
        s.sendall(first)
        reply = read_reply(s, timeout=5, until_close=True)
    took = time.monotonic() - start
    assert took < 2, f"{took:.1f} s: waited for a timeout instead of answering"  # the request timeout is 10 s
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 505 HTTP Version Not Supported\r\n") and b"Connection: close" in head
    error = json.loads(body)
    assert error["status"] == 505 and "HTTP/1.1" in error["error"]


@pytest.mark.skipif(not shutil.which("curl"), reason="needs curl")
def test_curl_http2_prior_knowledge_fails_fast(server):
    start = time.monotonic()
    proc = subprocess.run(["curl", "-sS", "--http2-prior-knowledge", "--max-time", "8",
                           f"http://127.0.0.1:{server.port}/health"],
                          capture_output=True, timeout=30)
    took = time.monotonic() - start
    assert proc.returncode != 0 and took < 2, (proc.returncode, took, proc.stderr)
    assert proc.returncode != 28, proc.stderr  # 28: curl's own timeout


def test_http1_still_served_after_the_version_checks(server):
    with server.connect() as s:
        s.sendall(b"GET /health HTTP/1.0\r\n\r\nGET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        reply = read_reply(s, timeout=5, until_close=True)
    assert (
        reply.startswith(b"HTTP/1.0 200 OK\r\n") and reply.count(b" 200 OK\r\n") == 1
    )  # 1.0 without keep-alive closes


def test_version_detection_in_the_codec():
    assert is_http_start(b"PRI * HTTP/2.0") and is_http_start(b"GET / HTTP/1.1") and is_http_start(b"GET / HTTP/0.9")
    assert (
        not is_http_start(b"GET / HTTPS")
        and not is_http_start(b"FACTORIAL 10")
        and not is_http_start(b"get / HTTP/1.1")
    )
    for data in (HTTP2_PREFACE, b"GET / HTTP/2.0\r\n\r\n", b"GET / HTTP/0.9\r\n\r\n"):
        for step in (1, len(data)):
            parser = HttpRequestParser()
            with pytest.raises(ProtocolError) as info:
                for i in range(0, len(data), step):
                    parser.feed(data[i : i + step])
            assert info.value.http_status == 505
