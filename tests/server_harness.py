"""Start a real `spouge serve` process on a free loopback port, for the server tests."""

from __future__ import annotations

import contextlib
import os
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

    def request(self, data: bytes, timeout: float = 15.0, until_close: bool = False, expect: int | None = None) -> bytes:
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


def read_reply(s: socket.socket, timeout: float, until_close: bool = False, expect: int | None = None, quiet: float = 0.3) -> bytes:
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
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env={**os.environ, **(env or {})}, preexec_fn=preexec)
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
