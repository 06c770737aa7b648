"""Letting in only who belongs: --requirepass (RESP AUTH, HTTP Bearer) and TLS on the same loop."""

from __future__ import annotations

import http.client
import json
import ssl
import time

import pytest
import redis

from server_harness import read_reply, resp_command, self_signed_certificate, spouge_server

SECRET = "s3cr3t-pass"


def test_resp_requires_auth():
    with spouge_server("--requirepass", SECRET, "--jobs", "0") as server:
        reply = server.request(
            b"PING\r\nFACTORIAL 5 3\r\nAUTH wrong\r\nAUTH default wrong\r\nAUTH "
            + SECRET.encode()
            + b"\r\nFACTORIAL 5 3\r\n"
        )
        assert reply == (
            b"-NOAUTH Authentication required.\r\n-NOAUTH Authentication required.\r\n"
            b"-WRONGPASS invalid username-password pair or user is disabled.\r\n"
            b"-WRONGPASS invalid username-password pair or user is disabled.\r\n+OK\r\n$7\r\n1.20e+2\r\n"
        )
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        no_retry = Retry(NoBackoff(), 0)  # redis-py retries connection errors (AuthenticationError is one) with backoff
        with pytest.raises(redis.AuthenticationError):
            redis.Redis(port=server.port, retry=no_retry).ping()
        with pytest.raises(redis.AuthenticationError, match="invalid username-password"):
            redis.Redis(port=server.port, password="nope", retry=no_retry).ping()
        for protocol in (2, 3):  # redis-py authenticates with AUTH (RESP2) or HELLO 3 AUTH (RESP3)
            client = redis.Redis(port=server.port, password=SECRET, protocol=protocol)
            assert client.execute_command("FACTORIAL", 100, 50).startswith(b"9.33262154")
            client.close()


def test_unauthenticated_caps_are_small():
    with spouge_server("--requirepass", SECRET, "--jobs", "0") as server:
        # Redis's unauthenticated limits: at most 10 arguments, bulks of at most 16 KiB
        assert server.request(b"*11\r\n", until_close=True).startswith(b"-Protocol error: invalid multibulk length")
        assert server.request(b"*2\r\n$20000\r\n", until_close=True).startswith(b"-Protocol error: invalid bulk length")
        # after AUTH the normal caps apply on the same connection
        with server.connect() as s:
            s.sendall(resp_command("AUTH", SECRET))
            assert read_reply(s, 5) == b"+OK\r\n"
            s.sendall(resp_command("ECHO", "y" * 20000))
            assert read_reply(s, 5, expect=20009).startswith(b"$20000\r\nyyy")


def test_http_bearer():
    with spouge_server("--requirepass", SECRET, "--jobs", "0") as server:

        def get(path, headers=None):
            c = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
            c.request("GET", path, headers=headers or {})
            r = c.getresponse()
            return r, r.read()

        r, body = get("/v1/factorial?x=5&digits=3")
        assert (
            r.status == 401
            and r.getheader("WWW-Authenticate").startswith("Bearer")
            and json.loads(body)["status"] == 401
        )
        assert get("/v1/factorial?x=5&digits=3", {"Authorization": "Bearer wrong"})[0].status == 401
        assert get("/metrics")[0].status == 401
        r, body = get("/v1/factorial?x=5&digits=3", {"Authorization": f"Bearer {SECRET}"})
        assert r.status == 200 and json.loads(body)["value"] == "1.20e+2"
        # a cached reply is not served to an unauthenticated request
        assert get("/v1/factorial?x=5&digits=3")[0].status == 401
        assert get("/health")[0].status == 200  # stays open for probes


def test_password_from_environment():
    with spouge_server("--jobs", "0", env={"SPOUGE_PASSWORD": SECRET}) as server:
        assert server.request(b"PING\r\n") == b"-NOAUTH Authentication required.\r\n"


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    return self_signed_certificate(tmp_path_factory.mktemp("tls"))


def test_tls_with_redis_py_and_https(certificate):
    cert, key = certificate
    with spouge_server("--tls-cert", cert, "--tls-key", key, "--jobs", "1", "--request-timeout", "1") as server:
        client = redis.Redis(host="localhost", port=server.port, ssl=True, ssl_ca_certs=cert)
        assert client.execute_command("FACTORIAL", 100, 50).startswith(b"9.33262154")
        pipe = client.pipeline(transaction=False)
        for n in range(50):
            pipe.execute_command("FACTORIAL", n, 10)
        pipe.execute_command("GAMMA", "0.5", 3000)  # pooled, with a long reply
        results = pipe.execute()
        assert len(results) == 51 and len(results[-1]) == 3004
        client.close()
        context = ssl.create_default_context(cafile=cert)
        c = http.client.HTTPSConnection("localhost", server.port, context=context, timeout=10)
        for _ in range(3):  # keep-alive over TLS
            c.request("GET", "/v1/gamma?x=0.5&digits=30")
            r = c.getresponse()
            assert r.status == 200 and json.loads(r.read())["value"] == "1.77245385090551602729816748334e+0"
        c.close()
        # a plaintext client on the TLS port gets nothing it can use, and the server carries on
        with server.connect() as plain:
            plain.sendall(b"PING\r\n")
            read_reply(plain, 3, until_close=True)
        # a stalled handshake is closed at the request deadline
        with server.connect() as stalled:
            start = time.monotonic()
            assert read_reply(stalled, 10, until_close=True) == b""
            assert time.monotonic() - start < 5
        assert redis.Redis(host="localhost", port=server.port, ssl=True, ssl_ca_certs=cert).ping()


def test_bad_tls_files_exit_2(tmp_path):
    import subprocess
    import sys

    bogus = tmp_path / "bogus.pem"
    bogus.write_text("not a certificate")
    proc = subprocess.run(
        [sys.executable, "-m", "spouge", "serve", "--port", "0", "--tls-cert", str(bogus)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 2 and "TLS" in proc.stderr
    proc = subprocess.run(
        [sys.executable, "-m", "spouge", "serve", "--tls-cert", "/nonexistent.pem"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 2 and "no such file" in proc.stderr
