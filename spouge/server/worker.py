"""A compute worker process: read a job from the inherited socket, compute it, write the outcome.

Runs ``compute.execute``; protocol (see pool.py): 4-byte big-endian length +
pickle each way; in ``("job", id, args)`` and ``("cancel", id)``, out
``(id, outcome)``.  Exits when the parent closes the socket (EOF), and is
killed by the kernel if the parent dies (PR_SET_PDEATHSIG), so no computation
outlives its server.  Ignores SIGINT/SIGTERM: the parent owns shutdown and
kills workers it no longer wants.

Cancelling: the parent writes ``("cancel", id)`` and then sends SIGUSR1.  The
handler runs between two bytecodes of the computation; it reads the socket
without blocking and, if the cancel is for the job running now, raises
``Cancelled``, which unwinds the computation (``with`` blocks restore Arb's
precision on the way) and the worker answers ``(id, CANCELLED)``.  The parent
sends a job only to an idle worker, so while a job runs the only message that
can arrive is a cancel for it; a cancel that arrives after its job finished
is read and skipped by the main loop, and a late signal finds the socket
empty and does nothing.
"""

from __future__ import annotations

import os
import pickle
import signal
import socket
import struct
import sys

HEADER = struct.Struct(">I")

#: The outcome reported for a cancelled job (the parent has already forgotten it).
CANCELLED = "cancelled"


class Cancelled(BaseException):
    """Raised inside a computation by SIGUSR1; a BaseException, so no ``except Exception`` swallows it."""


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


class _Job:
    running: int | None = None  # the id of the job computing now


def _cancel_requested(sock: socket.socket, job_id: int) -> bool:
    """Is a complete ("cancel", job_id) message waiting?  Reads it if so; never blocks."""
    try:
        head = sock.recv(HEADER.size, socket.MSG_PEEK | socket.MSG_DONTWAIT)
        if len(head) < HEADER.size:
            return False
        (size,) = HEADER.unpack(head)
        data = sock.recv(HEADER.size + size, socket.MSG_PEEK | socket.MSG_DONTWAIT)
        if len(data) < HEADER.size + size:
            return False  # the parent writes the whole message before signalling: not ours yet
        message = pickle.loads(data[HEADER.size :])
        if message != ("cancel", job_id):
            return False
        sock.recv(HEADER.size + size, socket.MSG_DONTWAIT)
        return True
    except (BlockingIOError, InterruptedError):
        return False


def main(fd: int, parent: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    _die_with_parent()
    if os.getppid() != parent:  # the parent died before we could ask
        return
    from flint import ctx

    from .compute import ComputeError, execute

    base_prec = ctx.prec
    sock = socket.socket(fileno=fd)
    sock.setblocking(True)

    def on_cancel(signum, frame) -> None:
        job_id = _Job.running
        if job_id is not None and _cancel_requested(sock, job_id):
            _Job.running = None
            raise Cancelled

    signal.signal(signal.SIGUSR1, on_cancel)
    while True:
        header = _recv_exact(sock, HEADER.size)
        if header is None:
            return
        (size,) = HEADER.unpack(header)
        payload = _recv_exact(sock, size)
        if payload is None:
            return
        message = pickle.loads(payload)
        if message[0] != "job":
            continue  # a cancel for a job that had already finished
        _, job_id, args = message
        outcome: dict | ComputeError | str
        try:
            try:
                _Job.running = job_id
                try:
                    outcome = execute(args)
                finally:
                    _Job.running = None
            except ComputeError as exc:
                outcome = exc
            except Exception as exc:  # a bug must not kill the worker silently
                outcome = ComputeError("internal", f"{type(exc).__name__}: {exc}")
        except Cancelled:
            outcome = CANCELLED
            ctx.prec = base_prec  # belt and braces: every workprec block restores it as it unwinds
        data = pickle.dumps((job_id, outcome))
        sock.sendall(HEADER.pack(len(data)) + data)


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]))
