"""Admission: the listening socket, accepting connections, and refusing them politely.

Theory of operation:
- ``listen(config)`` binds the one listening socket (SO_REUSEPORT only with
  ``--workers``); ``raise_fd_limit`` lifts RLIMIT_NOFILE to what
  ``--max-clients`` needs.
- ``Admission`` registers the listener with the loop.  Each readable event
  accepts up to ``ACCEPT_BATCH`` connections and hands each to
  ``server.add_connection``.
- Out of file descriptors (EMFILE), it gives up one descriptor it keeps in
  reserve, accepts the waiting connection, answers it "max number of clients
  reached", closes it and takes the reserve back (libev's and nginx's trick):
  refused clients get an answer instead of hanging in the backlog, and the
  listener does not stay readable to spin the loop.  If even that fails
  (ENFILE, no reserve), accepting pauses for ``EMFILE_BACKOFF`` seconds.
- At ``max_clients`` a new connection is still accepted, answered with
  ``-ERR max number of clients reached`` (or 503 if its first bytes are HTTP),
  and closed.  At most ``MAX_REJECTING`` such sockets wait for their first
  bytes; past that they are closed at once.
- ``stop()`` (shutdown) closes the listener: new connections are refused by
  the kernel while the old ones are answered.
- With ``--workers`` all processes accept on one socket, and the one that
  wakes first would take a whole burst of connections (50 clients arriving
  together all landed on one worker: ``--workers 2`` gave 0.75x of one).  So
  the workers share their connection counts (``AcceptBalance``, a page of
  shared memory made by the supervisor before it forks) and one that holds
  more than ``BALANCE_SLACK`` over the least-loaded live worker stops accepting
  for ``BALANCE_DEFER`` seconds, leaving the backlog to the others.  A worker
  whose heartbeat is older than ``BALANCE_STALE`` (dead, or stuck) is not
  counted, so nobody defers to it.
"""

from __future__ import annotations

import errno
import logging
import mmap
import os
import resource
import socket
import struct
import time

from ..protocol import closing_error, is_http_start

log = logging.getLogger("spouge.server")

# as Redis (MAX_ACCEPTS_PER_CALL): under load, a backlog of thousands must drain in a few iterations
ACCEPT_BATCH = 1000
EMFILE_BACKOFF = 0.1
MAX_REJECTING = 64
REJECT_WAIT = 1.0
BALANCE_SLACK = 1
BALANCE_DEFER = 0.002
BALANCE_STALE = 0.5
BALANCE_PUBLISH = 0.05


class AcceptBalance:
    """Connection counts of the --workers processes, in shared memory: (connections, heartbeat) per worker."""

    _SLOT = struct.Struct("qd")

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.memory = mmap.mmap(-1, self._SLOT.size * workers)  # anonymous and shared: inherited by fork
        self.index: int | None = None

    def attach(self, index: int) -> AcceptBalance:
        """In a worker (after fork): this process is worker `index`."""
        self.index = index
        self.publish(0)
        return self

    def publish(self, connections: int) -> None:
        assert self.index is not None, "attach() first"
        self._SLOT.pack_into(self.memory, self.index * self._SLOT.size, connections, time.monotonic())

    def should_defer(self, mine: int) -> bool:
        """Does another live worker hold fewer connections than mine - BALANCE_SLACK?"""
        now = time.monotonic()
        for i in range(self.workers):
            if i != self.index:
                count, beat = self._SLOT.unpack_from(self.memory, i * self._SLOT.size)
                if now - beat < BALANCE_STALE and count < mine - BALANCE_SLACK:
                    return True
        return False


#: Set in a --workers process before its Server starts (server/cli.py); None in a single process.
balance: AcceptBalance | None = None


def raise_fd_limit(config) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = config.max_clients + MAX_REJECTING + 2 * config.jobs + 64
    if soft != resource.RLIM_INFINITY and soft < wanted:
        new = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
        except (ValueError, OSError):
            new = soft
        if new < wanted:
            log.warning("open-file limit %d is below what --max-clients %d needs (%d)", new, config.max_clients, wanted)


def listen(config) -> socket.socket:
    family = socket.AF_INET6 if ":" in config.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if config.reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((config.host, config.port))
    sock.listen(config.backlog)
    return sock


class Admission:
    def __init__(self, server, listener: socket.socket) -> None:
        self.server = server
        self.loop = server.loop
        self.listener = listener
        self.rejecting = 0
        self.stopped = False
        self._reserve_fd: int | None = os.open(os.devnull, os.O_RDONLY)
        self._fd_warning_due = 0.0
        self.balance = balance
        listener.setblocking(False)
        self.loop.add_reader(listener, self._on_acceptable)
        if self.balance is not None:
            self._publish()

    def _publish(self) -> None:
        """The heartbeat: this worker's connection count, every BALANCE_PUBLISH seconds while it accepts."""
        if self.stopped or self.balance is None:
            return
        self.balance.publish(len(self.server.connections))
        self.loop.call_later(BALANCE_PUBLISH, self._publish)

    def _on_acceptable(self, listener: socket.socket) -> None:
        server = self.server
        balance = self.balance
        for _ in range(ACCEPT_BATCH):
            if balance is not None and balance.should_defer(len(server.connections)):
                self.loop.remove_reader(listener)  # the others take the backlog; look again shortly
                self.loop.call_later(BALANCE_DEFER, self._resume_accepting)
                return
            try:
                sock, addr = listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                if exc.errno == errno.EMFILE and self._refuse_with_reserve(listener):
                    continue
                if exc.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                    log.warning("accept: %s; pausing accepts for %.1f s", os.strerror(exc.errno), EMFILE_BACKOFF)
                    self.loop.remove_reader(listener)
                    self.loop.call_later(EMFILE_BACKOFF, self._resume_accepting)
                    return
                if exc.errno in (errno.ECONNABORTED, errno.EPROTO):
                    continue
                raise
            sock.setblocking(False)
            if len(server.connections) >= server.config.max_clients:
                self._reject(sock)
                continue
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass
            if server.tls is not None:
                try:
                    sock = server.tls.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
                except OSError:
                    sock.close()
                    continue
            server.add_connection(sock, addr)
            if balance is not None:
                balance.publish(len(server.connections))

    def _refuse_with_reserve(self, listener: socket.socket) -> bool:
        """EMFILE: spend the reserve descriptor to accept, refuse and close one connection."""
        if self._reserve_fd is None:
            return False
        os.close(self._reserve_fd)
        self._reserve_fd = None
        try:
            sock, _ = listener.accept()
        except OSError:
            sock = None
        if sock is not None:
            self.server.metrics.rejected_connections += 1
            try:
                sock.setblocking(False)
                sock.send(closing_error(False, 503, "max number of clients reached"))  # no bytes read: RESP
            except OSError:
                pass
            sock.close()
        try:
            self._reserve_fd = os.open(os.devnull, os.O_RDONLY)
        except OSError:
            self._reserve_fd = None
        if self._fd_warning_due <= time.monotonic():
            log.warning("out of file descriptors: refusing new connections (%d open)", len(self.server.connections))
            self._fd_warning_due = time.monotonic() + 10
        return sock is not None

    def _resume_accepting(self) -> None:
        if not self.stopped:
            self.loop.add_reader(self.listener, self._on_acceptable)

    def _reject(self, sock: socket.socket) -> None:
        """Over --max-clients: answer in the client's dialect if it speaks soon, then close."""
        self.server.metrics.rejected_connections += 1
        if self.rejecting >= MAX_REJECTING:
            sock.close()
            return
        self.rejecting += 1
        state = {"done": False}

        def finish(_sock=None, timed_out: bool = False) -> None:
            if state["done"]:
                return
            state["done"] = True
            self.rejecting -= 1
            self.loop.forget(sock)
            self.loop.cancel(timer)
            first = b""
            if not timed_out:
                try:
                    first = sock.recv(4096)
                except OSError:
                    pass
            try:
                sock.send(closing_error(is_http_start(first), 503, "max number of clients reached"))
            except OSError:
                pass
            sock.close()

        timer = self.loop.call_later(REJECT_WAIT, finish, None, True)
        self.loop.add_reader(sock, finish)

    def stop(self) -> None:
        """Stop accepting: close the listener, so the kernel refuses new connections."""
        if self.stopped:
            return
        self.stopped = True
        if self.balance is not None:  # draining: nobody should wait for this worker to take connections
            self.balance.publish(2**62)
        self.loop.forget(self.listener)
        try:
            self.listener.close()
        except OSError:
            pass

    def close(self) -> None:
        self.stop()
        if self._reserve_fd is not None:
            os.close(self._reserve_fd)
            self._reserve_fd = None
