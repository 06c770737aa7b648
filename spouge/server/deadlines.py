"""A connection's clocks: the request deadline, the idle timeout, and the output soft limit's.

Theory of operation (a mixin of ``Connection``, which owns the state named here):
- ``--request-timeout`` runs from the first byte of a request to its last:
  ``request_started`` is set when part of a request is in and cleared when
  none is (or while the server holds the client back: ``Connection.process``
  decides).  One timer per connection, re-armed lazily for what remains.
  On expiry: a 408 / ``-ERR request timeout`` and close (a TLS handshake that
  stalls is just closed).
- ``--idle-timeout`` runs from the last byte received, and only while nothing
  is in progress (no unanswered request, no partial one).
- The output soft limit (``OutputLimits``, output.py) is checked wherever a
  reply is added; a timer checks it again when its seconds run out, since a
  client held back by backpressure may add nothing more.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from ..protocol import ProtocolError

if TYPE_CHECKING:
    from ..loop import EventLoop, Timer
    from .app import Server
    from .ordering import ReplyOrder
    from .output import OutputLimits

log = logging.getLogger("spouge.connection")


class ConnectionDeadlines:
    """The timers of a connection (state and close() are Connection's)."""

    if TYPE_CHECKING:  # what these methods use of the Connection they run on (set in its __init__)
        server: Server
        loop: EventLoop
        id: int
        closed: bool
        handshaking: bool
        order: ReplyOrder
        limits: OutputLimits
        last_activity: float
        request_started: float | None
        deadline_timer: Timer | None
        idle_timer: Timer | None
        soft_timer: Timer | None

        def close(self) -> None: ...
        def protocol_error(self, exc: ProtocolError) -> None: ...
        def pending_output(self) -> int: ...

    def _arm_deadline(self) -> None:
        if self.request_started is None:
            self.request_started = self.loop.time()
            if self.deadline_timer is None:
                self.deadline_timer = self.loop.call_later(self.server.config.request_timeout, self._check_deadline)

    def _check_deadline(self) -> None:
        self.deadline_timer = None
        if self.closed or self.request_started is None:
            return
        remaining = self.request_started + self.server.config.request_timeout - self.loop.time()
        if remaining > 0:
            self.deadline_timer = self.loop.call_later(remaining, self._check_deadline)
        elif self.handshaking:  # nothing to answer over a half-made TLS session
            self.close()
        else:
            self.protocol_error(ProtocolError("request timeout: the request was not completed in time",
                                              http_status=408))

    def _check_idle(self) -> None:
        self.idle_timer = None
        if self.closed:
            return
        timeout = self.server.config.idle_timeout
        remaining = self.last_activity + timeout - self.loop.time()
        if remaining > 0 or self.order or self.request_started is not None:  # mid-request: the deadline governs
            self.idle_timer = self.loop.call_later(max(remaining, 1.0), self._check_idle)
            return
        log.debug("closing idle connection %d", self.id)
        self.close()

    def _over_limit(self) -> bool:
        """Close the connection if its pending output broke a limit; True if it did."""
        pending = self.pending_output()
        broken = self.limits.exceeded(pending, self.loop.time())
        if broken:
            log.warning("connection %d: %d bytes of output pending, over the %s limit: closing it",
                        self.id, pending, broken)
            self.close()
            return True
        if self.limits.soft_since is not None and self.soft_timer is None:  # over the soft limit: look again at expiry
            remaining = self.limits.soft_since + self.limits.soft_seconds - self.loop.time()
            self.soft_timer = self.loop.call_later(max(remaining, 0.01), self._check_soft_limit)
        return False

    def _check_soft_limit(self) -> None:
        self.soft_timer = None
        if not self.closed:
            self._over_limit()
