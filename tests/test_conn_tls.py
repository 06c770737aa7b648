"""TLS writes: a send the TLS layer could not finish is retried with the same buffer (OpenSSL's SSL_write rule)."""

from __future__ import annotations

import socket
import ssl
import time

import pytest
import redis

import spouge
from server_harness import resp_command, self_signed_certificate, spouge_server


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    return self_signed_certificate(tmp_path_factory.mktemp("tls"))


def test_redis_py_tls_pipeline_of_big_replies(certificate):
    """The issue's case: 200 pipelined 10000-digit replies (the cache answers repeats) over TLS with redis-py."""
    cert, key = certificate
    expected = str(spouge.factorial(100, digits=10000)).encode()
    with spouge_server("--tls-cert", cert, "--tls-key", key, "--jobs", "1") as server:
        client = redis.Redis(host="localhost", port=server.port, ssl=True, ssl_ca_certs=cert, socket_timeout=60)
        assert client.execute_command("FACTORIAL", 100, 10000) == expected  # now cached
        for _ in range(3):
            pipe = client.pipeline(transaction=False)
            for _ in range(200):
                pipe.execute_command("FACTORIAL", 100, 10000)
            results = pipe.execute()
            assert len(results) == 200 and all(r == expected for r in results)
        client.close()
        assert b"BAD_LENGTH" not in server.log


def test_tls_reader_that_waits_gets_every_byte(certificate):
    """A TLS client that sends 2000 requests and reads only later: the server's first big send blocks after
    more than one write's worth, and its retry must offer OpenSSL the same buffer (the old code retried with
    a 256 KiB slice and the connection died of [SSL: BAD_LENGTH] after ~300 replies)."""
    cert, key = certificate
    context = ssl.create_default_context(cafile=cert)
    expected = str(spouge.factorial(100, digits=10000)).encode()
    reply = b"$%d\r\n%s\r\n" % (len(expected), expected)
    with spouge_server("--tls-cert", cert, "--tls-key", key, "--jobs", "1") as server:
        primer = redis.Redis(host="localhost", port=server.port, ssl=True, ssl_ca_certs=cert, socket_timeout=60)
        assert primer.execute_command("FACTORIAL", 100, 10000) == expected  # later ones come from the cache
        primer.close()
        for _ in range(2):
            raw = socket.create_connection(("127.0.0.1", server.port))
            with context.wrap_socket(raw, server_hostname="localhost") as s:
                s.settimeout(30)
                s.sendall(resp_command("FACTORIAL", 100, 10000) * 2000)
                time.sleep(0.5)  # the server fills the socket buffers meanwhile
                data = bytearray()
                while len(data) < 2000 * len(reply):
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                assert len(data) // len(reply) == 2000 and bytes(data) == reply * 2000
