"""Start a real `spouge serve` process on a free loopback port, for the server tests."""

from __future__ import annotations

import contextlib
import os
import re
import select
import signal
import socket
import subprocess
import sys
import time


class RunningServer:
    def __init__(self, proc: subprocess.Popen, port: int) -> None:
        self.proc, self.port = proc, port
        self.log = b""

    def connect(self, timeout: float = 10.0) -> socket.socket:
        s = socket.create_connection(("127.0.0.1", self.port), timeout=timeout)
        return s

    def request(self, data: bytes, timeout: float = 15.0, until_close: bool = False,
                expect: int | None = None) -> bytes:
        """Send data on a new connection and read the reply (until `expect` bytes, close, or quiet)."""
        with self.connect(timeout) as s:
            s.sendall(data)
            return read_reply(s, timeout, until_close=until_close, expect=expect)

    def stop(self, sig=signal.SIGTERM, timeout: float = 20.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            code = self.proc.wait(timeout)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
        self.log += self.proc.stderr.read() if self.proc.stderr else b""
        return code


def read_reply(s: socket.socket, timeout: float, until_close: bool = False, expect: int | None = None,
               quiet: float = 0.3) -> bytes:
    """Read until the peer closes, `expect` bytes arrive, or (neither given) nothing comes for `quiet` s."""
    data = b""
    end = time.monotonic() + timeout
    s.settimeout(None)
    s.setblocking(False)
    while time.monotonic() < end:
        if expect is not None and len(data) >= expect:
            break
        wait = end - time.monotonic() if (until_close or expect is not None or not data) else quiet
        ready, _, _ = select.select([s], [], [], max(0.0, wait))
        if not ready:
            if until_close or expect is not None:
                continue
            break
        try:
            chunk = s.recv(1 << 20)
        except ConnectionResetError:
            break
        if not chunk:
            break
        data += chunk
    return data


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def spouge_server(*args: str, env: dict | None = None, preexec=None):
    port = free_port()
    cmd = [sys.executable, "-m", "spouge", "serve", "--port", str(port), *args]
    proc = subprocess.Popen(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env={**os.environ, **(env or {})},
        preexec_fn=preexec,  # noqa: PLW1509 - only os.setsid or one setrlimit: safe between fork and exec
    )
    server = RunningServer(proc, port)
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"server did not start: {proc.stderr.read().decode()}") from None
            time.sleep(0.05)
    try:
        yield server
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def resp_command(*parts) -> bytes:
    out = [b"*%d\r\n" % len(parts)]
    for part in parts:
        part = part if isinstance(part, bytes) else str(part).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(part), part))
    return b"".join(out)


def self_signed_certificate(folder) -> tuple[str, str]:
    """A self-signed certificate for localhost and 127.0.0.1 (also its own CA), written to folder: (cert, key) paths."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return str(cert_path), str(key_path)


_DATE_HEADER = re.compile(rb"\r\nDate: [^\r]*")


def undated(data: bytes) -> bytes:
    """HTTP replies without their Date headers (each carries the second it was sent in)."""
    return _DATE_HEADER.sub(b"", data)
