"""One client connection: bytes in, requests out, replies back in request order.

Theory of operation:
- Input (framing.py): the dialect is chosen from the first line; received
  bytes stay raw and are parsed a slice at a time, only as requests are
  needed, so a paused connection holds one read of bytes, not a backlog of
  parsed requests.
- Requests get slots in a ``ReplyOrder`` (ordering.py): replies leave in
  request order (replies.py).  Replies go to an ``OutputBuffer`` (output.py);
  inside a batch of requests they are only queued, and sent once at the end.
- Requests whose exact bytes were answered before are answered from the frame
  cache without being parsed (fastreplies.py), under the same limits.
- Turns: one readable event handles at most ``TURN_SECONDS`` of requests or
  ``TURN_BYTES`` of replies; the rest waits in the server's ``TurnQueue``
  (turns.py), served a few milliseconds per loop iteration.  A connection
  that needed more than a turn is handled only there for ``GREEDY_SECONDS``;
  so a hundred deep pipelines cannot keep a light client waiting.
- Backpressure, checked per reply: "pending" is the output not yet sent plus
  replies held behind an unfinished one.  Above ``output_high_water`` (or
  with ``MAX_IN_FLIGHT`` requests unanswered) we stop parsing and reading,
  and resume below a quarter of it.  Past the hard output limit, or the soft
  one for ``output_soft_seconds``, the connection is closed (Redis's
  client-output-buffer-limit).  So a client that pipelines forever and never
  reads costs about the high-water mark, not its whole backlog.
- Timers (deadlines.py): an idle timeout from the last byte received, and a
  request deadline (``--request-timeout``) from the first byte of a request
  to its last.  A completed request resets it: the partial request left at
  the end of a read starts its own clock then.  While we hold a client back,
  its clock stops.
- Shutdown (drain.py): read only what had arrived when the signal came (and
  the rest of a request in progress), answer it all with the usual
  backpressure, then close.  ``abort`` (the drain deadline) answers whatever
  is left with an error reply, never a silent close.
- ``close()`` is idempotent: it unregisters, closes, cancels timers and drops
  pending pool work (whose results are then discarded).
"""

from __future__ import annotations

import logging
import socket
import ssl
from collections.abc import Callable
from itertools import count
from typing import Any, cast

from ..protocol import ProtocolError, RedisRequestParser, closing_error
from ..protocol.redis import DEFAULT_LIMITS

# Imported now, not on first use: once file descriptors run out, a lazy import cannot open its file.
from .commands import handle_http, handle_redis, internal_error_reply
from .deadlines import ConnectionDeadlines
from .drain import ConnectionDrain
from .fastreplies import FAST_BATCH, ConnectionFastReplies
from .framing import FEED_SIZE, RequestReader
from .ordering import ReplyOrder, Slot
from .output import RETRY, OutputBuffer, OutputLimits
from .replies import ConnectionReplies
from .turns import GREEDY_SECONDS, TURN_BYTES, TURN_SECONDS

log = logging.getLogger("spouge.connection")

#: Bytes per recv().  Redis reads 16 KiB (PROTO_IOBUF_LEN); 64 KiB keeps a pipelining client's syscalls few
#: while a paused connection's raw backlog stays small.
READ_SIZE = 64 * 1024
MAX_IN_FLIGHT = 1024  # unanswered pipelined requests before we stop reading

_ids = count(1)


class Connection(ConnectionReplies, ConnectionDeadlines, ConnectionDrain, ConnectionFastReplies):
    """A client connection: reading, framing and the request loop here; its replies' way out in replies.py,
    its clocks in deadlines.py, its shutdown in drain.py, its answers from the frame cache in fastreplies.py."""

    def __init__(self, server, sock: socket.socket, addr) -> None:
        self.server = server
        self.loop = server.loop
        self.sock = sock
        self.addr = addr
        self.id = next(_ids)
        self.name: bytes | None = None
        self.protocol = 2  # RESP version; HELLO 3 switches to RESP3
        self.transaction = None  # inside MULTI: the queued commands (commands/transactions.py)
        self.authenticated = server.password is None
        self.tls = isinstance(sock, ssl.SSLSocket)
        self.handshaking = self.tls
        self.reader = RequestReader()
        self.handler: Callable[[Any, Connection, Slot, Any], None] | None = None  # by dialect, once known
        config = server.config
        self.order = ReplyOrder()
        self.output = OutputBuffer(sock)
        self.limits = OutputLimits(config.output_hard_limit, config.output_soft_limit, config.output_soft_seconds)
        self.limit_floor = self.limits.floor  # below it no limit can be broken: one comparison per reply
        self.high_water = config.output_high_water
        self.low_water = config.output_high_water // 4
        self.reading = False
        self.writing = False
        self.paused = False  # held back by backpressure: neither parsing nor reading
        self.yielding = False  # turn over, more to do: nothing is parsed or read until its next turn
        self.greedy_until = 0.0  # until then, what it sends is handled in the turn queue, not when read
        self.closed = False
        self.closing = False  # no more requests: close once replies are flushed
        self.input_done = False  # no more reading (EOF, or drained): answer what is buffered, then close
        self.drain_budget: int | None = None  # while the server drains: bytes still to read
        self.batching = False  # inside process(): replies are queued, and sent once at the end
        now = self.loop.time()
        self.last_activity = now
        self.request_started: float | None = None
        self.idle_timer = self.loop.call_later(config.idle_timeout, self._check_idle)
        self.deadline_timer = None
        self.soft_timer = None
        if self.handshaking:  # a stalled handshake is bound by the request deadline
            self._arm_deadline()
        self._resume_reading()

    # --- reading -------------------------------------------------------------
    def _resume_reading(self) -> None:
        if not self.reading and not self.closed and not self.closing and not self.input_done:
            self.reading = True
            self.loop.add_reader(self.sock, self.on_readable)
            if self.tls and not self.handshaking and cast(ssl.SSLSocket, self.sock).pending():
                self.loop.call_soon(self.on_readable)  # decrypted bytes select() cannot see

    def _pause_reading(self) -> None:
        if self.reading:
            self.reading = False
            self.loop.remove_reader(self.sock)

    def _handshake(self) -> None:
        """Drive a non-blocking TLS handshake: the SSL layer says which readiness it waits for."""
        try:
            cast(ssl.SSLSocket, self.sock).do_handshake()
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
        if self.drain_budget is not None:  # the server began draining mid-handshake: nothing was asked
            self.close()
            return
        if cast(ssl.SSLSocket, self.sock).pending():
            self.loop.call_soon(self.on_readable)

    @property
    def http(self) -> bool:
        return self.reader.http

    def on_authenticated(self) -> None:
        if isinstance(self.reader.parser, RedisRequestParser):
            self.reader.parser.limits = DEFAULT_LIMITS

    def on_readable(self, _sock=None) -> None:
        if self.closed or not self.reading or self.yielding:
            return
        if self.handshaking:
            self._handshake()
            return
        budget = self.drain_budget
        try:
            data = self.sock.recv(READ_SIZE if budget is None or budget <= 0 else min(READ_SIZE, budget))
        except RETRY:
            if budget is not None:  # draining, and nothing more has arrived
                self._end_drain_input()
            return
        except OSError:
            self.close()
            return
        if not data and self.http and self.order:
            # An HTTP client gone with a request unanswered (nginx's 499): stop its work, not answer into the void.
            # (RESP keeps answering after a FIN: `printf 'FACTORIAL 20\r\n' | nc -q1` reads its reply.)
            self.close()
            return
        if not data:  # the peer is done sending: answer what we have, then close
            self._stop_input()
            self._maybe_finish()
            return
        self.last_activity = self.loop.time()
        if self.reader.http and self.server.fast.http and self._answer_known_read(data):
            return
        if budget is not None:
            self.drain_budget = budget - len(data)
        try:
            self.feed(data)
        except Exception:  # a bug costs this connection, not a client left hanging
            log.exception("connection %d failed; closing it", self.id)
            self.close()
            return
        if self.tls and not self.closed and self.reading and cast(ssl.SSLSocket, self.sock).pending():
            self.loop.call_soon(self.on_readable)  # decrypted bytes select() cannot see

    def feed(self, data: bytes) -> None:
        reader = self.reader
        if reader.parser is not None:
            try:
                if reader.http and self.server.fast.http:
                    reader.keep(data)  # raw, for the frame cache (fastreplies.py) to look at first
                elif reader.raw or len(data) > FEED_SIZE:
                    reader.receive(data)
                else:  # RequestReader.receive's common case, inline
                    reader.parser.feed(data)
            except ProtocolError as exc:
                self.protocol_error(exc)
                return
        else:
            limits = DEFAULT_LIMITS if self.server.authenticated(self) else self.server.unauthenticated_limits
            try:
                known = reader.receive_first(data, limits)
            except ProtocolError as exc:
                self.protocol_error(exc)
                return
            if not known:
                self._arm_deadline()
                return
            self.handler = handle_http if reader.http else handle_redis
        if self.greedy_until > self.last_activity:  # it had more than a turn's work lately: the turn queue serves it
            self._end_turn()
        else:
            self.process()

    def _stop_input(self) -> None:
        self.input_done = True
        self._pause_reading()

    # --- requests ------------------------------------------------------------
    def pending_output(self) -> int:
        return self.output.bytes + self.order.held

    def _may_resume(self) -> bool:
        return self.output.bytes + self.order.held < self.low_water and len(self.order.slots) < MAX_IN_FLIGHT // 2

    def process(self) -> None:
        """One turn: handle the complete requests buffered, as far as backpressure and the turn allow;
        send the replies."""
        self.batching = True
        try:
            completed = self._process_requests()
        finally:
            self.batching = False
        if self.closed:
            return
        slots = self.order.slots
        if slots and slots[0].data is not None and not (self.yielding and self.order.held < TURN_BYTES):
            self._take_ready()  # sent at once if the socket has room (a short turn's replies wait for the next)
        if self.output.bytes or self.writing:
            self._send()
        if self.closed:
            return
        if self.paused and self._may_resume():  # the socket took it all: go on, in the next turn
            self.paused = False
            self._end_turn()
        held = self.paused or self.yielding  # the server, not the client, is the holdup
        # the request deadline runs from a request's first byte to its last, and only while the client is the holdup
        reader = self.reader
        parser = reader.parser
        if held or self.closing or not (reader.raw or (parser is not None and parser.pending_bytes)):  # (mid_request)
            self.request_started = None
        elif completed or self.request_started is None:
            # a request completed in this read, so the partial one after it began in this read
            self.request_started = None
            self._arm_deadline()
        if self.drain_budget is not None and self.drain_budget <= 0 and not held:
            self._end_drain_input()
        if not held:
            if not self.reading:
                self._resume_reading()
            elif self.tls and cast(ssl.SSLSocket, self.sock).pending():
                self.loop.call_soon(self.on_readable)  # decrypted bytes select() cannot see
        if self.closing or self.input_done:
            self._maybe_finish()

    def _end_turn(self) -> None:
        """This connection has had its share of the loop: carry on in the turn queue (turns.py);
        reads wait till then."""
        self.greedy_until = self.loop.time() + GREEDY_SECONDS
        if not self.yielding:  # reading stays registered (a turn is short), but on_readable waits for it
            self.yielding = True
            self.server.turns.add(self)

    def take_turn(self) -> None:
        self.yielding = False
        if not self.closed and not self.paused:
            self.process()

    def _process_requests(self) -> bool:
        """Parse and dispatch until the input runs out, backpressure says stop, or the turn is over;
        True if any request completed.

        The hot loop of the server: per request, one look at the backpressure
        bounds (so they hold per reply) and at the turn's time and bytes, the
        parser, a slot, the handler."""
        reader, handler, server, order, output = self.reader, self.handler, self.server, self.order, self.output
        parser, slots, now, high_water = reader.parser, order.slots, self.loop.time, self.high_water
        if parser is None or handler is None:  # the dialect is not known yet: there is no request
            return False
        turn_end = now() + TURN_SECONDS
        turn_bytes = output.bytes + order.held + TURN_BYTES
        completed = False
        request, reader.stashed = reader.stashed, None  # the request a turn ended before
        # Frames answered before, byte for byte (fastreplies.py): only where the full path would answer
        # them the same way at once - an authenticated RESP connection outside a transaction, in the table of
        # its protocol (looked at per scan: AUTH, HELLO or MULTI earlier in the same read change the answer);
        # HTTP heads carry all the answer depends on (Authorization among them), so HTTP has one table.
        fast = server.fast
        http = reader.http
        while not self.closing:
            pending = output.bytes + order.held
            if len(slots) >= MAX_IN_FLIGHT or pending > high_water:
                reader.stashed = request
                self.paused = True
                self._pause_reading()
                break
            known = fast.http if http else (fast.tables.get(self.protocol)
                                            if self.authenticated and self.transaction is None else None)
            if request is None and known and slots and slots[0].data is not None:
                self._take_ready()  # what the full path answered goes out first, in order
                if self.closed:
                    break
            if request is None and known and not slots:
                values = reader.take_known(known, FAST_BATCH)
                if values:
                    completed = True
                    if not self._write_known(values, http):
                        break
                    if output.bytes > self.limit_floor and self._over_limit():
                        break
                    if (output.bytes > turn_bytes or now() > turn_end) and (parser.pending_bytes or reader.raw):
                        self._end_turn()  # the turn is over, and there is more
                        break
                    continue
            if request is None:
                try:
                    request = parser.next_request()
                    if request is None:
                        if reader.raw and reader.refill():
                            continue
                        break
                except ProtocolError as exc:
                    self.protocol_error(exc)
                    break
            started = now()
            if completed and (pending > turn_bytes or started > turn_end):  # the turn is over, and there is more
                reader.stashed = request
                self._end_turn()
                break
            completed = True
            slot = Slot(request.label, started)
            slots.append(slot)
            try:
                handler(server, self, slot, request)
            except Exception:  # a bug must cost one error reply, not a silent connection
                log.exception("request %r on connection %d failed", slot.command, self.id)
                self.complete(slot, internal_error_reply(self.http, request), "500")
            request = None
            if self.closed:
                break
        return completed

    # --- errors and closing ------------------------------------------------------
    def protocol_error(self, exc: ProtocolError) -> None:
        """Answer a framing error once, then close (after earlier replies are flushed)."""
        self.server.metrics.protocol_errors += 1
        data = closing_error(self.reader.looks_http(), exc.http_status, exc.message)
        self.reader.discard()
        self.request_started = None
        slot = self.order.add("protocol_error", self.loop.time())
        slot.close_after = True
        self.closing = True
        self._pause_reading()
        self.complete(slot, data, "protocol_error")

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.reading = self.writing = False
        self.loop.forget(self.sock)
        self.loop.cancel(self.idle_timer)
        self.loop.cancel(self.deadline_timer)
        self.loop.cancel(self.soft_timer)
        self.order.cancel_all()
        self.output.clear()
        try:
            self.sock.close()
        except OSError:
            pass
        self.server.connection_closed(self)
