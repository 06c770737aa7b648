"""The one error type of the protocol layer.

A ``ProtocolError`` means the peer broke the framing: the connection cannot be
trusted to be in sync any more.  The server answers it once (RESP error text or
HTTP status from the hint) and then closes the connection, as Redis and every
HTTP server do.
"""

from __future__ import annotations


class ProtocolError(Exception):
    """Malformed or oversized input.  ``http_status`` is the status to answer an HTTP peer with."""

    def __init__(self, message: str, http_status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.http_status = http_status
