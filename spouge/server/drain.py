"""Signals and shutdown: drain on SIGTERM/SIGINT, a deadline for it, SIGHUP ignored.

Theory of operation:
- SIGTERM or SIGINT begins a drain: the listener closes (the kernel refuses
  new connections), and every connection answers what it had received when
  the signal came, including requests held back by backpressure and pooled
  computations in flight (the pool keeps running until the loop stops).  Each
  connection closes once its replies are sent; the loop stops when none is
  left, and the process exits 0.
- At ``--drain-timeout`` whatever is still unanswered gets an error reply
  (``-ERR server shutting down ...`` / HTTP 503), never a silent close; the
  replies are offered to the socket once, the connections are closed, and
  the loop stops.
- A second SIGTERM/SIGINT exits at once with status 1 (workers killed).
- A connection (``ConnectionDrain``, a mixin of ``Connection``) measures
  what had arrived when the drain began (FIONREAD, plus TLS's decrypted
  bytes), reads only that (and the rest of a request in progress), answers
  it with the usual backpressure, then closes.  An idle connection is read
  for ``DRAIN_IDLE_GRACE`` more: a request already on its way to it (behind
  a load balancer, the usual case) is answered, and the connection closes
  after that reply.
- SIGHUP is logged and otherwise ignored: spouge has no configuration file to
  reload and logs to stderr, so there is nothing to reopen; it must not kill
  the server (its default action would).
"""

from __future__ import annotations

import fcntl
import logging
import os
import signal
import ssl
import termios
from typing import TYPE_CHECKING

from ..protocol import ProtocolError, closing_error

if TYPE_CHECKING:
    import socket

    from ..loop import EventLoop
    from .framing import RequestReader
    from .ordering import ReplyOrder, Slot
    from .output import OutputBuffer

log = logging.getLogger("spouge.server")

#: How long an idle connection is still read after a drain begins (a request in flight to it is answered).
DRAIN_IDLE_GRACE = 0.5

SHUTDOWN_MESSAGE = "server shutting down: the request could not be finished in time"


class Shutdown:
    def __init__(self, server) -> None:
        self.server = server
        self.loop = server.loop
        self.draining = False
        self._deadline = None

    def install(self) -> None:
        for signum in (signal.SIGTERM, signal.SIGINT):
            self.loop.add_signal_handler(signum, self.on_stop_signal)
        self.loop.add_signal_handler(signal.SIGHUP, self.on_hangup)

    def on_hangup(self) -> None:
        log.info("SIGHUP ignored: nothing to reload (spouge has no configuration file and logs to stderr)")

    def on_stop_signal(self) -> None:
        server = self.server
        if self.draining:
            log.warning("second stop signal: exiting now")
            if server.pool is not None:
                server.pool.kill_all()
            os._exit(1)
        log.info("stopping: answering what %d connections have sent (at most %g s)", len(server.connections),
                 server.config.drain_timeout)
        self.begin()

    def begin(self) -> None:
        server = self.server
        self.draining = True
        server.admission.stop()
        for conn in list(server.connections):
            conn.drain()
        if not server.connections:
            self.loop.stop()
            return
        self._deadline = self.loop.call_later(server.config.drain_timeout, self._expired)

    def connection_closed(self) -> None:
        if self.draining and not self.server.connections:
            self.loop.cancel(self._deadline)
            self.loop.stop()

    def _expired(self) -> None:
        connections = list(self.server.connections)
        log.warning("drain timeout: answering what is left on %d connections with an error, then closing them",
                    len(connections))
        for conn in connections:
            conn.abort()
        self.loop.stop()


class ConnectionDrain:
    """A connection's part of the drain (state and helpers are Connection's)."""

    if TYPE_CHECKING:  # what these methods use of the Connection they run on (set in its __init__)
        loop: EventLoop
        sock: socket.socket
        tls: bool
        reader: RequestReader
        order: ReplyOrder
        output: OutputBuffer
        closed: bool
        closing: bool
        handshaking: bool
        input_done: bool
        paused: bool
        yielding: bool
        batching: bool
        drain_budget: int | None

        @property
        def http(self) -> bool: ...
        def close(self) -> None: ...
        def complete(self, slot: Slot, data: bytes, status: str) -> None: ...
        def _stop_input(self) -> None: ...
        def _maybe_finish(self) -> None: ...
        def _take_ready(self) -> None: ...

    def _end_drain_input(self) -> None:
        """Draining and nothing more to read: stop, unless a request is half in (then its rest may follow)."""
        if not self.reader.mid_request() and not self.input_done:
            self._stop_input()
            self._maybe_finish()

    def drain(self) -> None:
        """Shutdown: answer what had arrived when it began (and the rest of a request in progress), then close."""
        if self.closed:
            return
        if self.handshaking:
            self.close()
            return
        arrived = 0
        try:
            arrived = int.from_bytes(fcntl.ioctl(self.sock.fileno(), termios.FIONREAD, b"\0\0\0\0"), "little")
        except OSError:
            pass
        if self.tls and isinstance(self.sock, ssl.SSLSocket):  # tls is exactly this test, made once
            arrived += self.sock.pending()
        self.drain_budget = arrived
        if arrived == 0 and not self.paused and not self.yielding:
            if not self.order and not self.reader.mid_request() and not self.input_done:
                # Idle: a request may already be on its way (a load balancer chose this server just before
                # it saw the drain).  Read a little longer; what comes in is answered, then the connection
                # closes (budget 0: the first read ends the input, see Connection.process).
                self.loop.call_later(DRAIN_IDLE_GRACE, self._end_idle_grace)
            else:
                self._end_drain_input()
        self._maybe_finish()

    def _end_idle_grace(self) -> None:
        if not self.closed and not self.input_done:
            self._end_drain_input()

    def abort(self, message: str = SHUTDOWN_MESSAGE) -> None:
        """Drain deadline: every request received and not answered gets an error reply; send what we can; close.

        HTTP gets one 503 with ``Connection: close`` (a client retries the requests after it);
        RESP one error per request."""
        if self.closed:
            return
        error = closing_error(self.http, 503, message)
        status = "503" if self.http else "error"
        self.batching = True  # queue the error replies; one send at the end
        answered = False
        for slot in self.order.unanswered():
            if slot.job is not None:
                slot.job.cancel()
            slot.close_after = self.http
            self.complete(slot, error, status)
            answered = True
            if self.http or self.closed:
                break
        if not self.closing and not (self.http and answered):
            try:  # whole requests held back by backpressure
                while not self.closed:
                    request = self.reader.next_request()
                    if request is None:
                        break
                    slot = self.order.add(request.label, self.loop.time())
                    slot.close_after = self.http
                    self.complete(slot, error, status)
                    if self.http:
                        break
            except ProtocolError:
                pass
        if not self.closed:
            self._take_ready()
        if not self.closed:
            self.output.send(self.output.bytes)
        self.close()
