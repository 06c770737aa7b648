"""Framing: one connection's received bytes in, whole requests out, in the dialect its first line chose.

Theory of operation:
- Until the first line is complete the bytes are only buffered (at most
  ``FIRST_LINE_MAX``); then an HTTP/1.x request line means HTTP, anything
  else the Redis dialect (RESP multibulk or inline, which may mix, as in Redis).
- Received bytes are kept raw and handed to the parser ``FEED_SIZE`` at a
  time, only when it has no complete request left.  A connection held back
  by backpressure therefore keeps one read of compact raw bytes, not
  thousands of parsed request objects (httptools parses all it is given).
- ``take_known`` (the frame cache, server/fastreplies.py): between requests,
  the table's values for the consecutive known frames at the front, consumed.
  RESP asks its parser; HTTP looks at the raw bytes not yet fed to llhttp
  (``keep`` holds an HTTP connection's reads raw for this, while the parser
  is idle), and only while the parser is between requests.
- ``next_request`` returns the next request or None (more bytes needed), or
  raises ``ProtocolError`` (the connection's hot loop asks the parser itself
  and calls ``refill`` when it runs dry); ``mid_request`` says whether part
  of a request is in (what the request deadline measures).
"""

from __future__ import annotations

from typing import Any

from ..protocol import Command, HttpRequest, HttpRequestParser, ProtocolError, RedisRequestParser, is_http_start
from ..protocol.fastpath import scan_http
from ..protocol.redis import RedisLimits

FIRST_LINE_MAX = 64 * 1024  # as Redis's PROTO_INLINE_MAX_SIZE
#: Bytes handed to the parser at a time: ~150 pipelined `GET /` or ~290 PINGs parsed ahead, no more.
FEED_SIZE = 4 * 1024


class RequestReader:
    __slots__ = ("_pos", "first", "http", "parser", "raw", "stashed")

    def __init__(self) -> None:
        self.parser: RedisRequestParser | HttpRequestParser | None = None
        self.http = False
        self.first = bytearray()
        self.raw = b""  # bytes not yet fed to the parser (from _pos on); b"" once all are fed
        self._pos = 0
        # a whole request taken from the parser and put back (a turn ended first)
        self.stashed: Command | HttpRequest | None = None

    def receive_first(self, data: bytes, redis_limits: RedisLimits) -> bool:
        """Buffer bytes until the first line chooses the dialect; True once it has.  Raises ProtocolError."""
        self.first += data
        newline = self.first.find(b"\n")
        if newline < 0:
            if len(self.first) > FIRST_LINE_MAX:
                raise ProtocolError("Protocol error: too big inline request", 431)
            return False
        if is_http_start(bytes(self.first[:newline])):
            self.http = True
            self.parser = HttpRequestParser()
        else:
            self.parser = RedisRequestParser(redis_limits)
        data, self.first = bytes(self.first), bytearray()
        self.raw, self._pos = data, 0
        return True

    def receive(self, data: bytes) -> None:
        """Keep received bytes (once the dialect is known) until the parser needs them.  Raises ProtocolError."""
        assert self.parser is not None, "receive() before receive_first() chose the dialect"
        if not self.raw and len(data) <= FEED_SIZE:  # one slice's worth: straight to the parser
            self.parser.feed(data)
        else:
            self.keep(data)

    def keep(self, data: bytes) -> None:
        """Keep received bytes raw (HTTP: so that ``take_known`` sees them before llhttp does)."""
        if self.raw:
            self.raw = self.raw[self._pos :] + data
        else:
            self.raw = data
        self._pos = 0

    def take_known(self, table: dict[bytes, Any], limit: int) -> list[Any]:
        """Between requests: the table's values for the consecutive known frames at the front (consumed), or []."""
        parser = self.parser
        if self.stashed is not None or parser is None:
            return []
        if not self.http:
            return parser.take_known(table, limit)  # type: ignore[union-attr]
        raw = self.raw
        if not raw or not parser.idle:  # type: ignore[union-attr]
            return []
        pos, values = scan_http(raw, self._pos, table, limit)
        if pos >= len(raw):
            self.raw, self._pos = b"", 0
        else:
            self._pos = pos
        return values

    def refill(self) -> bool:
        """Hand the parser its next slice of bytes; False when there are none.  Raises ProtocolError."""
        raw = self.raw
        if not raw:
            return False
        start = self._pos
        end = start + FEED_SIZE
        if end >= len(raw):
            piece = raw[start:] if start else raw
            self.raw, self._pos = b"", 0
        else:
            piece = raw[start:end]
            self._pos = end
        assert self.parser is not None, "raw bytes are kept only once the dialect is known"
        self.parser.feed(piece)
        return True

    def next_request(self) -> Command | HttpRequest | None:
        """The next whole request, or None.  Raises ProtocolError."""
        parser = self.parser
        if parser is None:
            return None
        stashed = self.stashed
        if stashed is not None:
            self.stashed = None
            return stashed
        while True:
            request = parser.next_request()
            if request is not None or not self.refill():
                return request

    def mid_request(self) -> bool:
        """Is part of a request in (after next_request() said None)?"""
        if self.parser is None:
            return bool(self.first)
        return bool(self.raw) or self.stashed is not None or self.parser.pending_bytes > 0

    def looks_http(self) -> bool:
        return self.http or (self.parser is None and is_http_start(bytes(self.first)))

    def discard(self) -> None:
        """After a protocol error: nothing more is parsed."""
        if self.parser is None:
            self.parser = RedisRequestParser()  # inert: it is never fed again
        self.raw, self._pos = b"", 0
        self.stashed = None
