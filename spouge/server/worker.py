"""A compute worker process: read a job from the inherited socket, compute it, write the outcome.

Runs ``compute.run``; protocol: 4-byte big-endian length + pickle each way.
Exits when the parent closes the socket (EOF), and is killed by the kernel
if the parent dies (PR_SET_PDEATHSIG), so no computation outlives its server.  Ignores SIGINT/SIGTERM: the
parent owns shutdown and kills workers it no longer wants.
"""

from __future__ import annotations

import os
import pickle
import signal
import socket
import struct
import sys

HEADER = struct.Struct(">I")


def _recv_exact(sock: socket.socket, size: int) -> bytes | None:
    chunks, remaining = [], size
    while remaining:
        chunk = sock.recv(remaining)
        if not chunk:
            return None
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def _die_with_parent() -> None:
    """Linux: have the kernel SIGKILL us if the server dies (SIGKILL, os._exit), mid-computation or not."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        PR_SET_PDEATHSIG = 1
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: EOF on the socket still ends us between jobs
        pass


def main(fd: int, parent: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    _die_with_parent()
    if os.getppid() != parent:  # the parent died before we could ask
        return
    from .compute import ComputeError, execute

    sock = socket.socket(fileno=fd)
    sock.setblocking(True)
    while True:
        header = _recv_exact(sock, HEADER.size)
        if header is None:
            return
        (size,) = HEADER.unpack(header)
        payload = _recv_exact(sock, size)
        if payload is None:
            return
        args = pickle.loads(payload)
        try:
            outcome = execute(args)
        except ComputeError as exc:
            outcome = exc
        except Exception as exc:  # a bug must not kill the worker silently
            outcome = ComputeError("internal", f"{type(exc).__name__}: {exc}")
        data = pickle.dumps(outcome)
        sock.sendall(HEADER.pack(len(data)) + data)


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]))
