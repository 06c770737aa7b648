"""TLS writes: a send the TLS layer could not finish is retried with the same buffer (OpenSSL's SSL_write rule)."""

from __future__ import annotations

import datetime
import ipaddress
import socket
import ssl
import time

import pytest
import redis

import spouge
from server_harness import resp_command, spouge_server


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return str(cert_path), str(key_path)


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
