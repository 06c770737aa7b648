"""Smaller items of issue 10 in the command table: HELLO before AUTH, and metrics status labels."""

from __future__ import annotations

import re
import socket

from server_harness import read_reply, resp_command, spouge_server
from spouge.server.commands import STATUS_LABELS

SECRET = "s3cret-for-hello"


def _ask(s: socket.socket, data: bytes) -> bytes:
    s.sendall(data)
    return read_reply(s, 10)


def test_hello_before_auth_is_refused_and_changes_nothing():
    with spouge_server("--requirepass", SECRET, "--jobs", "0") as server:
        with server.connect() as s:
            reply = _ask(s, resp_command("HELLO", "3", "SETNAME", "intruder"))
            assert reply.startswith(b"-NOAUTH HELLO must be called with the client already authenticated")
            assert _ask(s, resp_command("AUTH", SECRET)) == b"+OK\r\n"
            # Still RESP2 (RESP3 would answer a missing name with "_\r\n"), and no name was set.
            assert _ask(s, resp_command("CLIENT", "GETNAME")) == b"$-1\r\n"
            # A wrong password inside HELLO changes nothing either.
            assert _ask(s, resp_command("HELLO", "3", "AUTH", "default", "wrong", "SETNAME", "x")).startswith(
                b"-WRONGPASS"
            )
            assert _ask(s, resp_command("CLIENT", "GETNAME")) == b"$-1\r\n"
            # Authenticated, HELLO 3 SETNAME takes effect as a whole.
            assert _ask(s, resp_command("HELLO", "3", "SETNAME", "friend")).startswith(b"%7\r\n")
            assert _ask(s, resp_command("CLIENT", "GETNAME")) == b"$6\r\nfriend\r\n"
        with server.connect() as s:  # HELLO with AUTH: authenticates, switches and names at once
            assert _ask(s, resp_command("HELLO", "3", "AUTH", "default", SECRET, "SETNAME", "both")).startswith(
                b"%7\r\n"
            )
            assert _ask(s, resp_command("CLIENT", "GETNAME")) == b"$4\r\nboth\r\n"


def test_status_labels_come_from_a_fixed_set():
    with spouge_server("--jobs", "1", "--max-digits", "100") as server:
        requests = [
            resp_command("GAMMA", "0.5"),
            resp_command("GAMMA", "-1"),
            resp_command("GAMMA", "abc"),
            resp_command("GAMMA", "1", "1000"),
            resp_command('NOSUCH\x01"}', "x"),
            resp_command("PING"),
            b"GET /v1/gamma?x=0.5 HTTP/1.1\r\nHost: t\r\n\r\n",
            b"GET /v1/gamma?x=-2 HTTP/1.1\r\nHost: t\r\n\r\n",
            b"GET /v1/gamma?x=zz HTTP/1.1\r\nHost: t\r\n\r\n",
            b"GET /v1/gamma?x=1&digits=999 HTTP/1.1\r\nHost: t\r\n\r\n",
            b'GET /nowhere"} HTTP/1.1\r\nHost: t\r\n\r\n',
            b"POST /v1/gamma?x=1 HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n",
            b"GET /health HTTP/1.1\r\nHost: t\r\n\r\n",
            b"GET /v1/method?x=2.5&max_a=9999 HTTP/1.1\r\nHost: t\r\n\r\n",
        ]
        for data in requests:
            server.request(data, timeout=10)
        text = server.request(
            b"GET /metrics HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", until_close=True
        ).decode()
    statuses = set(re.findall(r'status="([^"]*)"', text))
    assert {"ok", "error", "200", "400", "404", "405", "422"} <= statuses
    assert statuses <= STATUS_LABELS | {"protocol_error"}, statuses - STATUS_LABELS
