"""One client connection: bytes in, requests out, replies back in request order.

Theory of operation:
- The dialect is chosen from the first line: an HTTP/1.x request line means
  HTTP, anything else is the Redis dialect (RESP multibulk or inline, which
  may mix, as in Redis).  Until that line is complete we only buffer (<= 64 KiB).
- Every parsed request gets a ``Slot`` at the back of ``self.slots``; replies
  may complete out of order (a pooled computation finishes after a cheap
  one), but only the completed slots at the *front* are written, so replies
  leave in request order (pipelining).
- Writes: try to send at once; keep the rest; the loop watches for
  writability only while output is pending.  At most ``WRITE_CHUNK`` bytes
  per writable event, so one fat reply cannot starve other clients.
- Backpressure: while the unsent output exceeds ``HIGH_WATER`` or
  ``MAX_IN_FLIGHT`` requests are unanswered, we stop reading (the kernel's
  buffers and TCP flow control then hold the client back) and resume below
  ``LOW_WATER``.  So a client that pipelines a million requests and never
  reads costs bounded memory.
- Timers: an idle timeout from the last byte received, and a deadline for
  finishing a request once its first byte arrives (a byte-a-second client
  cannot hold a slot).  Both are checked lazily from one timer each.
- ``close()`` is idempotent: it unregisters, closes, cancels timers and drops
  pending pool work (whose results are then discarded).
"""

from __future__ import annotations

import logging
import socket
import ssl
from collections import deque
from itertools import count

from ..protocol import HttpRequestParser, ProtocolError, RedisRequestParser, closing_error, is_http_start
from ..protocol.redis import DEFAULT_LIMITS
# Imported now, not on first use: once file descriptors run out, a lazy import cannot open its file.
from .commands import handle_http, handle_redis, internal_error_reply

log = logging.getLogger("spouge.connection")

READ_SIZE = 256 * 1024
WRITE_CHUNK = 256 * 1024
HIGH_WATER = 1024 * 1024  # as Redis's client-output-buffer soft limits go, generous for our reply sizes
LOW_WATER = 256 * 1024
MAX_IN_FLIGHT = 1024  # unanswered pipelined requests before we stop reading
FIRST_LINE_MAX = 64 * 1024

_ids = count(1)


class Slot:
    __slots__ = ("data", "started", "command", "job", "close_after")

    def __init__(self, command: str, started: float) -> None:
        self.data: bytes | None = None
        self.started = started
        self.command = command
        self.job = None  # a pool job to cancel if the client goes away
        self.close_after = False


class Connection:
    def __init__(self, server, sock: socket.socket, addr) -> None:
        self.server = server
        self.loop = server.loop
        self.sock = sock
        self.addr = addr
        self.id = next(_ids)
        self.name: bytes | None = None
        self.protocol = 2  # RESP version; HELLO 3 switches to RESP3
        self.authenticated = server.password is None
        self.tls = isinstance(sock, ssl.SSLSocket)
        self.handshaking = self.tls
        self.parser: RedisRequestParser | HttpRequestParser | None = None
        self.handler = None
        self.first = bytearray()
        self.slots: deque[Slot] = deque()
        self.out: deque[memoryview] = deque()
        self.out_bytes = 0
        self.reading = False
        self.paused = False
        self.closed = False
        self.closing = False  # no more requests: close once replies are flushed
        self.batching = False  # inside process(): replies are flushed once at the end, one send()
        self.http = False
        now = self.loop.time()
        self.last_activity = now
        self.request_started: float | None = None
        self.idle_timer = self.loop.call_later(server.config.idle_timeout, self._check_idle)
        self.deadline_timer = None
        if self.handshaking:  # a stalled handshake is bound by the request deadline
            self._arm_deadline()
        self._resume_reading()

    # --- reading -------------------------------------------------------------
    def _resume_reading(self) -> None:
        if not self.reading and not self.closed and not self.closing:
            self.reading = True
            self.loop.add_reader(self.sock, self.on_readable)

    def _pause_reading(self) -> None:
        if self.reading:
            self.reading = False
            self.loop.remove_reader(self.sock)

    def _handshake(self) -> None:
        """Drive a non-blocking TLS handshake: the SSL layer says which readiness it waits for."""
        try:
            self.sock.do_handshake()
        except ssl.SSLWantReadError:
            self.loop.remove_writer(self.sock)
            return
        except ssl.SSLWantWriteError:
            self.loop.add_writer(self.sock, self.on_writable)
            return
        except (OSError, ValueError):
            self.close()
            return
        self.handshaking = False
        self.request_started = None
        self.loop.remove_writer(self.sock)
        if self.sock.pending():
            self.loop.call_soon(self.on_readable)

    def on_authenticated(self) -> None:
        if isinstance(self.parser, RedisRequestParser):
            self.parser.limits = DEFAULT_LIMITS

    def on_readable(self, _sock=None) -> None:
        if self.closed:
            return
        if self.handshaking:
            self._handshake()
            return
        try:
            data = self.sock.recv(READ_SIZE)
        except (BlockingIOError, InterruptedError, ssl.SSLWantReadError, ssl.SSLWantWriteError):
            return
        except OSError:
            self.close()
            return
        if not data:  # the peer is done sending: answer what we have, then close
            self._pause_reading()
            self.closing = True
            self._maybe_finish()
            return
        self.last_activity = self.loop.time()
        self.feed(data)
        if self.tls and not self.closed and self.reading and self.sock.pending():
            self.loop.call_soon(self.on_readable)  # decrypted bytes select() cannot see

    def feed(self, data: bytes) -> None:
        if self.parser is None:
            self.first += data
            newline = self.first.find(b"\n")
            if newline < 0:
                if len(self.first) > FIRST_LINE_MAX:
                    self.protocol_error(ProtocolError("Protocol error: too big inline request", 431))
                else:
                    self._arm_deadline()
                return
            self._choose_dialect(bytes(self.first[:newline]))
            data, self.first = bytes(self.first), bytearray()
        try:
            self.parser.feed(data)
        except ProtocolError as exc:
            self.protocol_error(exc)
            return
        self.process()

    def _choose_dialect(self, first_line: bytes) -> None:
        if is_http_start(first_line):
            self.http = True
            self.parser = HttpRequestParser()
            self.handler = handle_http
        else:
            limits = DEFAULT_LIMITS if self.server.authenticated(self) else self.server.unauthenticated_limits
            self.parser = RedisRequestParser(limits)
            self.handler = handle_redis

    def process(self) -> None:
        """Handle every complete request buffered, as far as backpressure allows."""
        parser, handler, server = self.parser, self.handler, self.server
        self.batching = True
        try:
            self._process_requests(parser, handler, server)
        finally:
            self.batching = False
        if self.closed:
            return
        if self.slots and self.slots[0].data is not None:
            self._flush_slots()
        if self.closed:
            return
        if parser.pending_bytes:
            self._arm_deadline()
        else:
            self.request_started = None

    def _process_requests(self, parser, handler, server) -> None:
        while not self.closing and not self.closed:
            if len(self.slots) >= MAX_IN_FLIGHT or self.out_bytes > HIGH_WATER:
                self._pause_reading()
                self.paused = True
                break
            try:
                request = parser.next_request()
            except ProtocolError as exc:
                self.protocol_error(exc)
                return
            if request is None:
                break
            slot = Slot(request.label, self.loop.time())
            self.slots.append(slot)
            try:
                handler(server, self, slot, request)
            except Exception:  # a bug must cost one error reply, not a silent connection
                log.exception("request %r on connection %d failed", slot.command, self.id)
                self.complete(slot, internal_error_reply(self.http, request), "500")

    # --- timers ----------------------------------------------------------------
    def _arm_deadline(self) -> None:
        if self.request_started is None:
            self.request_started = self.loop.time()
            if self.deadline_timer is None:
                self.deadline_timer = self.loop.call_later(self.server.config.request_timeout, self._check_deadline)

    def _check_deadline(self) -> None:
        self.deadline_timer = None
        if self.closed or self.request_started is None:
            return
        if self.handshaking:  # bound by the same deadline; nothing to answer over a half-made TLS session
            remaining = self.request_started + self.server.config.request_timeout - self.loop.time()
            if remaining > 0:
                self.deadline_timer = self.loop.call_later(remaining, self._check_deadline)
            else:
                self.close()
            return
        remaining = self.request_started + self.server.config.request_timeout - self.loop.time()
        if remaining > 0:
            self.deadline_timer = self.loop.call_later(remaining, self._check_deadline)
            return
        self.protocol_error(ProtocolError("request timeout: the request was not completed in time", http_status=408))

    def _check_idle(self) -> None:
        self.idle_timer = None
        if self.closed:
            return
        timeout = self.server.config.idle_timeout
        remaining = self.last_activity + timeout - self.loop.time()
        if remaining > 0 or self.slots or self.request_started is not None:  # mid-request: the deadline governs
            self.idle_timer = self.loop.call_later(max(remaining, 1.0), self._check_idle)
            return
        log.debug("closing idle connection %d", self.id)
        self.close()

    # --- replies -----------------------------------------------------------------
    def close_after_reply(self, slot: Slot) -> None:
        slot.close_after = True

    def complete(self, slot: Slot, data: bytes, status: str) -> None:
        """Fill a slot with its reply; write every completed slot at the front."""
        if self.closed or slot.data is not None:
            return
        slot.data = data
        slot.job = None
        self.server.metrics.observe(slot.command, status, self.loop.time() - slot.started)
        if not self.batching and self.slots and self.slots[0] is slot:
            self._flush_slots()

    def _flush_slots(self) -> None:
        slots = self.slots
        chunks = []
        while slots and slots[0].data is not None:
            slot = slots.popleft()
            chunks.append(slot.data)
            if slot.close_after:
                self.closing = True
                self._pause_reading()
                for rest in slots:  # requests after QUIT / Connection: close are not answered
                    if rest.job is not None:
                        rest.job.cancel()
                slots.clear()
                break
        if chunks:
            self.write(b"".join(chunks) if len(chunks) > 1 else chunks[0])
        if self.paused and len(slots) < MAX_IN_FLIGHT // 2 and self.out_bytes < LOW_WATER:
            self._unpause()
        self._maybe_finish()

    def write(self, data: bytes) -> None:
        if self.closed:
            return
        if not self.out:
            try:
                sent = self.sock.send(data)
            except (BlockingIOError, InterruptedError, ssl.SSLWantWriteError, ssl.SSLWantReadError):
                sent = 0
            except OSError:
                self.close()
                return
            if sent == len(data):
                return
            data = memoryview(data)[sent:]
            self.loop.add_writer(self.sock, self.on_writable)
        else:
            data = memoryview(data)
        self.out.append(data)
        self.out_bytes += len(data)
        if self.out_bytes > HIGH_WATER:
            self._pause_reading()
            self.paused = True

    def on_writable(self, _sock=None) -> None:
        if self.closed:
            return
        if self.handshaking:
            self._handshake()
            return
        budget = WRITE_CHUNK
        out = self.out
        while out and budget > 0:
            chunk = out[0]
            try:
                sent = self.sock.send(chunk[:budget])
            except (BlockingIOError, InterruptedError, ssl.SSLWantWriteError, ssl.SSLWantReadError):
                break
            except OSError:
                self.close()
                return
            budget -= sent
            self.out_bytes -= sent
            if sent == len(chunk):
                out.popleft()
            else:
                out[0] = chunk[sent:]
                break
        if not out:
            self.loop.remove_writer(self.sock)
            self._maybe_finish()
        if self.paused and not self.closed and self.out_bytes < LOW_WATER and len(self.slots) < MAX_IN_FLIGHT // 2:
            self._unpause()

    def _unpause(self) -> None:
        self.paused = False
        self.process()  # requests already buffered come first
        if not self.paused and not self.closed:
            self._resume_reading()

    def _maybe_finish(self) -> None:
        if self.closing and not self.slots and not self.out and not self.closed:
            self.close()

    # --- errors and closing ------------------------------------------------------
    def protocol_error(self, exc: ProtocolError) -> None:
        """Answer a framing error once, then close (after earlier replies are flushed)."""
        self.server.metrics.protocol_errors += 1
        http = self.http or (self.parser is None and is_http_start(bytes(self.first)))
        data = closing_error(http, exc.http_status, exc.message)
        if self.parser is None:
            self.parser = RedisRequestParser()  # so that process() has something inert to ask
        self.request_started = None
        slot = Slot("protocol_error", self.loop.time())
        slot.close_after = True
        self.slots.append(slot)
        self.closing = True
        self._pause_reading()
        self.complete(slot, data, "protocol_error")

    def drain(self) -> None:
        """Shutdown: read what has arrived, answer it, then close."""
        if self.closed:
            return
        for _ in range(64):
            if self.closed or not self.reading:
                break
            try:
                data = self.sock.recv(READ_SIZE)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                self.close()
                return
            if not data:
                break
            self.feed(data)
        self._pause_reading()
        self.closing = True
        self._maybe_finish()

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.loop.forget(self.sock)
        self.loop.cancel(self.idle_timer)
        self.loop.cancel(self.deadline_timer)
        for slot in self.slots:
            if slot.job is not None:
                slot.job.cancel()
        self.slots.clear()
        self.out.clear()
        try:
            self.sock.close()
        except OSError:
            pass
        self.server.connection_closed(self)
