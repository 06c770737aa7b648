"""A connection's replies on their way out: filled in request order, written, and the connection's end.

Theory of operation (a mixin of ``Connection``, which owns the state named here):
- ``complete(slot, data, status)`` fills a request's slot (ordering.py) and
  checks the output limits at once (output.py ``OutputLimits``); outside a
  batch of requests the ready replies at the front go to the ``OutputBuffer``
  and the socket is offered them (``_take_ready``, ``_send``).
- The writer callback is registered only while output is pending;
  ``on_writable`` sends, then lets a connection held back by backpressure go
  on below the low-water mark (in the turn queue, turns.py) or finishes it.
- A reply marked ``close_after`` (QUIT, ``Connection: close``, a framing
  error) is the last: requests after it are not answered, and the connection
  closes once its output is flushed (``_maybe_finish``).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import socket

    from ..loop import EventLoop
    from .app import Server
    from .ordering import ReplyOrder, Slot
    from .output import OutputBuffer, OutputLimits

log = logging.getLogger("spouge.connection")


class ConnectionReplies:
    """Replies in order, out to the socket (state and close() are Connection's)."""

    if TYPE_CHECKING:  # what these methods use of the Connection they run on (set in its __init__)
        server: Server
        loop: EventLoop
        sock: socket.socket
        id: int
        order: ReplyOrder
        output: OutputBuffer
        limits: OutputLimits
        limit_floor: int
        closed: bool
        closing: bool
        paused: bool
        yielding: bool
        writing: bool
        batching: bool
        handshaking: bool
        input_done: bool

        def close(self) -> None: ...
        def pending_output(self) -> int: ...
        def _over_limit(self) -> bool: ...
        def _pause_reading(self) -> None: ...
        def _handshake(self) -> None: ...
        def _may_resume(self) -> bool: ...
        def _end_turn(self) -> None: ...

    def close_after_reply(self, slot: Slot) -> None:
        slot.close_after = True

    def complete(self, slot: Slot, data: bytes, status: str) -> None:
        """Fill a slot with its reply and check the output limits; outside a batch, send what is ready."""
        if self.closed or slot.data is not None:
            return
        self.server.metrics.observe(slot.command, status, self.loop.time() - slot.started)
        slot.data = data  # ReplyOrder.fill, inline: this runs once per request
        slot.job = None
        order = self.order
        order.held += len(data)
        if self.output.bytes + order.held > self.limit_floor and self._over_limit():
            return
        if not self.batching and order.slots[0] is slot:
            self._take_ready()
            if not self.closed:
                self._send()
            if not self.closed:
                self._after_output()

    def _take_ready(self) -> None:
        """Move the completed replies at the front to the output, in order (sent at once if the socket has room)."""
        order = self.order
        slots = order.slots
        if len(slots) == 1 and not slots[0].close_after:  # the common case, one reply: ReplyOrder.pop_ready, inline
            data = slots.popleft().data
            assert data is not None, "only a completed slot is taken"
            order.held -= len(data)
            if not self.output.write(data):
                self.close()
            return
        replies, size, last = order.pop_ready()
        if not self.output.write_many(replies, size):
            self.close()
            return
        if last:  # requests after QUIT / Connection: close are not answered
            self.closing = True
            self._pause_reading()
            self.order.cancel_all()

    def _send(self) -> None:
        """Offer the socket up to one write's worth; watch for writability only while output is pending."""
        output = self.output
        if output.bytes and not self.handshaking:
            if not output.send():
                self.close()
                return
            limits = self.limits
            if limits.soft_since is not None and self.pending_output() <= limits.soft:
                limits.soft_since = None  # back under the soft limit: its clock starts again next time
        if output.bytes:
            if not self.writing:
                self.writing = True
                self.loop.add_writer(self.sock, self.on_writable)
        elif self.writing:
            self.writing = False
            self.loop.remove_writer(self.sock)

    def on_writable(self, _sock: Any = None) -> None:
        try:
            if self.closed:
                return
            if self.handshaking:
                self._handshake()
                return
            self._send()
            if not self.closed:
                self._after_output()
        except Exception:  # a bug costs this connection, not a client left hanging
            log.exception("connection %d failed; closing it", self.id)
            self.close()

    def _after_output(self) -> None:
        if self.paused and self._may_resume():
            self.paused = False
            self._end_turn()  # requests already buffered come first, in the turn queue
        else:
            self._maybe_finish()

    def _maybe_finish(self) -> None:
        if self.closed or self.order or self.output.bytes:
            return
        if self.closing or (self.input_done and not self.paused and not self.yielding):
            self.close()
