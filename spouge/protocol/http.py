"""The HTTP/1.x dialect: httptools (llhttp) parses; we collect requests and encode responses.

Theory of operation:
- ``HttpRequestParser.feed(data)`` hands bytes to llhttp, whose callbacks build
  ``HttpRequest`` objects; ``next_request()`` pops the next complete one (so
  pipelined requests come out in order), or returns None.
- Errors raise ``ProtocolError`` carrying the status to answer with: 400 for
  malformed input, 413 for a body or request over the cap, 431 for headers
  over the cap, 414 for a too-long URL, 501 for Upgrade/CONNECT, 505 for
  any HTTP version but 1.0/1.1 -- including the HTTP/2 connection preface
  (``PRI * HTTP/2.0``, sent first by h2c "prior knowledge" clients), refused
  as soon as its request line is read, so such a client gets a plain
  ``HTTP/1.1 505`` and a close at once instead of waiting for a timeout.
  ``is_http_start`` counts any ``METHOD target HTTP/<digit>`` line as HTTP so
  that those peers get an HTTP answer.
- Caps (nginx defaults are similar: 8 KiB URL/header line buffers; node's
  --max-http-header-size is 16 KiB): URL <= 8 KiB, all headers <= 16 KiB,
  at most 100 headers, body <= 64 KiB (our API takes no body; the cap bounds
  what a client can make us buffer), whole request <= 64 KiB.

Invariant: after a ProtocolError the parser is dead; the server answers the
error and closes the connection.
"""

from __future__ import annotations

import json
import time
from collections import deque
from typing import Any
from urllib.parse import unquote, urlsplit

import httptools

from .errors import ProtocolError

MAX_URL = 8 * 1024
MAX_HEADER_BYTES = 16 * 1024
MAX_HEADERS = 100
MAX_BODY = 64 * 1024

REASONS = {
    200: "OK", 204: "No Content", 304: "Not Modified", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found",
    405: "Method Not Allowed", 408: "Request Timeout", 413: "Content Too Large", 414: "URI Too Long",
    415: "Unsupported Media Type", 422: "Unprocessable Content", 431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    501: "Not Implemented", 503: "Service Unavailable", 504: "Gateway Timeout", 505: "HTTP Version Not Supported",
}
SUPPORTED_VERSIONS = ("1.1", "1.0")
HTTP2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


def http2_refused() -> ProtocolError:
    """The error for an HTTP/2 connection preface: answered as HTTP/1.1 505, then the connection closes."""
    return ProtocolError("HTTP/2 is not supported (connection preface received): use HTTP/1.1", http_status=505)


class HttpRequest:
    """One parsed request.  The query string is split on first use (``query``): a request answered
    from the reply cache never needs it."""

    __slots__ = ("_duplicates", "_query", "body", "headers", "keep_alive", "method", "path", "query_text",
                 "raw_headers", "target", "version")

    def __init__(self, method: str, target: str, path: str, query_text: str, headers: dict[str, str],
                 version: str, keep_alive: bool, body: bytes = b"",
                 raw_headers: tuple[tuple[bytes, bytes], ...] = ()) -> None:
        self.method, self.target, self.path, self.query_text = method, target, path, query_text
        self.headers, self.version, self.keep_alive, self.body = headers, version, keep_alive, body
        self.raw_headers = raw_headers  # (name, value) as llhttp gave them, in order: for ``request_frame``
        self._query: dict[str, str] | None = None
        self._duplicates: tuple[str, ...] = ()

    def _parse_query(self) -> dict[str, str]:
        query: dict[str, str] = {}
        duplicates = []
        for key, value in parse_query(self.query_text):
            if key in query:
                duplicates.append(key)
            query[key] = value
        self._query, self._duplicates = query, tuple(duplicates)
        return query

    @property
    def label(self) -> str:
        """What the metrics call this request."""
        return self.path

    @property
    def query(self) -> dict[str, str]:
        query = self._query
        return query if query is not None else self._parse_query()

    @property
    def duplicate_params(self) -> tuple[str, ...]:
        if self._query is None:
            self._parse_query()
        return self._duplicates

    def __repr__(self) -> str:
        return f"HttpRequest({self.method} {self.target} HTTP/{self.version}, keep_alive={self.keep_alive})"

    def same_as(self, other: HttpRequest) -> bool:
        """Do both requests say exactly the same thing (method, target, version, headers, body, keep-alive)?"""
        return (self.method, self.target, self.version, self.keep_alive, self.body, self.raw_headers) == (
            other.method, other.target, other.version, other.keep_alive, other.body, other.raw_headers)


def request_frame(request: HttpRequest) -> bytes | None:
    """The canonical bytes of this request, for a table of replies keyed by request bytes
    (server/fastreplies.py): ``METHOD target HTTP/v``, each header as ``Name: value``, CRLF line ends, an
    empty line.  None unless the request is a keep-alive GET or HEAD without a body.  Check a new frame
    with ``replays_as`` before trusting it."""
    headers = request.headers
    if (request.method not in ("GET", "HEAD") or not request.keep_alive or request.body
            or "content-length" in headers or "transfer-encoding" in headers):
        return None
    try:
        lines = [f"{request.method} {request.target} HTTP/{request.version}".encode("latin-1")]
    except UnicodeEncodeError:
        return None
    lines.extend(name + b": " + value for name, value in request.raw_headers)
    return b"\r\n".join(lines) + b"\r\n\r\n"


def replays_as(frame: bytes, request: HttpRequest) -> bool:
    """Proven, not assumed: do these bytes, parsed by a fresh parser, give exactly this request and end
    exactly at their end?  Then a client whose request is byte for byte the frame sent this request; one
    that spells it otherwise (other spacing, bare LF) is simply not recognised and takes the full parser."""
    parser = HttpRequestParser()
    try:
        parser.feed(frame)
    except ProtocolError:
        return False
    again = parser.next_request()
    return (again is not None and parser.next_request() is None and not parser.pending_bytes
            and again.same_as(request))


class _Builder:
    """llhttp callbacks; kept apart so the parser object holds no reference cycle to the connection."""

    __slots__ = ("body", "done", "header_bytes", "headers", "owner", "raw_headers", "url")

    def __init__(self, owner: HttpRequestParser) -> None:
        self.owner = owner
        self._reset()

    def _reset(self) -> None:
        self.url = bytearray()
        self.headers: dict[str, str] = {}
        self.raw_headers: list[tuple[bytes, bytes]] = []
        self.header_bytes = 0
        self.body = bytearray()

    def on_message_begin(self) -> None:
        self._reset()
        self.owner._in_message = True

    def on_url(self, url: bytes) -> None:
        self.url += url
        if len(self.url) > MAX_URL:
            raise ProtocolError("URL too long", http_status=414)
        if self.url == b"*" and self.owner._parser.get_method() == b"PRI":  # the HTTP/2 preface: refuse now
            raise http2_refused()

    def on_header(self, name: bytes, value: bytes) -> None:
        self.header_bytes += len(name) + len(value) + 4
        if self.header_bytes > MAX_HEADER_BYTES or len(self.headers) >= MAX_HEADERS:
            raise ProtocolError("request headers too large", http_status=431)
        self.raw_headers.append((name, value))
        key = name.decode("latin-1").lower()
        text = value.decode("latin-1")
        self.headers[key] = f"{self.headers[key]}, {text}" if key in self.headers else text

    def on_body(self, body: bytes) -> None:
        self.body += body
        if len(self.body) > MAX_BODY:
            raise ProtocolError("request body too large", http_status=413)

    def on_message_complete(self) -> None:
        self.owner._complete(self)


class HttpRequestParser:
    __slots__ = ("_builder", "_dead", "_error", "_finished", "_in_message", "_parser", "_pending", "_ready")

    def __init__(self) -> None:
        self._builder = _Builder(self)
        self._parser = httptools.HttpRequestParser(self._builder)
        # bytes after a "Connection: close" request are ignored, not an error
        self._parser.set_dangerous_leniencies(lenient_data_after_close=True)
        self._ready: deque[HttpRequest] = deque()
        self._dead = False
        self._error: ProtocolError | None = None  # raised by next_request once the requests before it are taken
        self._finished = False  # a request without keep-alive was read: nothing after it counts
        self._pending = 0  # bytes fed since the last request completed
        # llhttp is inside a request (its first byte came, its end did not).  Not the same as _pending > 0: when
        # one feed holds a whole request and the start of the next, the start is not counted in _pending.
        self._in_message = False

    @property
    def pending_bytes(self) -> int:
        """Bytes of a request in progress: non-zero exactly while part of one is in (at least 1 then)."""
        return self._pending or int(self._in_message)

    @property
    def idle(self) -> bool:
        """Between requests, with none parsed and waiting: the next byte fed starts a new request."""
        return not self._in_message and not self._ready and not self._finished and not self._dead

    def feed(self, data: bytes) -> None:
        """Parse bytes; complete requests wait for ``next_request``.  A framing error is raised here, or, when
        requests completed before it in the same bytes, by ``next_request`` once they are taken (so a pipeline
        that ends in garbage gets its earlier answers, then the error)."""
        if self._dead:
            if self._error is not None:
                return  # the error waits behind requests not yet taken
            raise ProtocolError("connection is closing")
        if self._finished:
            return
        self._pending += len(data)
        try:
            self._parse(data)
        except ProtocolError as exc:
            self._fail(exc)
            return
        if not self._in_message:  # between requests (stray CRLFs are no request), or finished
            self._pending = 0
        # (a request that began inside this feed is counted from the feed's start: at most one slice, FEED_SIZE
        # in framing.py, too many; the per-part caps above are the exact ones)
        if self._pending > MAX_URL + MAX_HEADER_BYTES + MAX_BODY:
            self._fail(ProtocolError("request too large", http_status=413))

    def _fail(self, exc: ProtocolError) -> None:
        """The parser is dead: raise now, or after the requests completed before the error are taken."""
        self._dead = True
        if not self._ready:
            raise exc
        self._error = exc

    def _parse(self, data: bytes) -> None:
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            raise ProtocolError("protocol upgrade is not supported", http_status=501) from None
        except httptools.HttpParserError as exc:
            cause = exc.__context__
            if isinstance(cause, ProtocolError):  # raised inside one of our callbacks
                raise cause from None
            if self._parser.get_method() == b"PRI":  # llhttp stops at the HTTP/2 preface
                raise http2_refused() from None
            raise ProtocolError(f"malformed HTTP request: {exc}") from None

    def _complete(self, builder: _Builder) -> None:
        self._pending = 0
        self._in_message = False
        parser = self._parser
        if self._finished or parser.should_upgrade():  # an upgrade is refused (501) when llhttp stops after it
            return
        version = parser.get_http_version()
        if version not in SUPPORTED_VERSIONS:  # llhttp also accepts 0.9 and 2.0 request lines
            raise ProtocolError(f"HTTP/{version} is not supported: use HTTP/1.1", http_status=505)
        self._finished = not parser.should_keep_alive()
        target = builder.url.decode("latin-1")
        path, _, query_text = target.partition("?")
        path = path.partition("#")[0]
        if "://" in path:  # absolute-form target (a proxy-style request line)
            path = urlsplit(target).path
        self._ready.append(
            HttpRequest(
                method=parser.get_method().decode("latin-1"),
                target=target,
                path=path or "/",
                query_text=query_text.partition("#")[0],
                headers=builder.headers,
                version=version,
                keep_alive=parser.should_keep_alive(),
                body=bytes(builder.body),
                raw_headers=tuple(builder.raw_headers),
            )
        )

    def next_request(self) -> HttpRequest | None:
        if self._ready:
            return self._ready.popleft()
        error = self._error
        if error is not None:
            self._error = None
            raise error
        return None


def parse_query(query: str) -> list[tuple[str, str]]:
    """Percent-decode a query string.  '+' stays '+': "x=3+4j" means the complex number,
    and no parameter of ours has a meaningful space."""
    pairs = []
    for item in query.split("&"):
        if item:
            key, _, value = item.partition("=")
            pairs.append((unquote(key, errors="replace"), unquote(value, errors="replace")))
    return pairs


_date_cache: list[int | str] = [-1, ""]  # [whole second, its IMF-fixdate]
class _DateBytes:
    """refresh_date's cache: this second's Date value as bytes."""

    __slots__ = ("now", "second")

    def __init__(self) -> None:
        self.second = -1
        self.now = b""


_date_bytes = _DateBytes()
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
#: Length of an IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT"): always 29 characters.
DATE_LENGTH = 29


def http_date(now: float | None = None) -> str:
    """The `Date` value for this second (RFC 9110 IMF-fixdate), formatted once per second."""
    second = int(time.time() if now is None else now)
    cache = _date_cache
    if cache[0] != second:
        t = time.gmtime(second)
        cache[1] = (f"{_DAYS[t.tm_wday]}, {t.tm_mday:02d} {_MONTHS[t.tm_mon - 1]} {t.tm_year:04d} "
                    f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} GMT")
        cache[0] = second
    return str(cache[1])


def http_response(
    status: int,
    body: bytes | str | dict[str, Any],
    *,
    content_type: str = "application/json",
    keep_alive: bool = True,
    version: str = "1.1",
    extra_headers: tuple[tuple[str, str], ...] = (),
    head: bool = False,
) -> bytes:
    """Encode one response.  A dict body is sent as JSON.

    `Date` is always the first header, at a fixed place after the status line (``refresh_date`` relies on it).
    A 204 or 304 has no body and no Content-Type/Content-Length (RFC 9110, 15.3.5 and 15.4.5)."""
    if isinstance(body, dict):
        body = json.dumps(body, separators=(",", ":"), allow_nan=False).encode()  # NaN/Infinity are not JSON
    elif isinstance(body, str):
        body = body.encode()
    lines = [f"HTTP/{version} {status} {REASONS.get(status, 'Unknown')}", f"Date: {http_date()}"]
    if status in (204, 304):
        body = b""
    else:
        lines += (f"Content-Type: {content_type}", f"Content-Length: {len(body)}")
    if not keep_alive:
        lines.append("Connection: close")
    elif version == "1.0":
        lines.append("Connection: keep-alive")
    lines.extend(f"{k}: {v}" for k, v in extra_headers)
    head_bytes = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    return head_bytes if head else head_bytes + body


def date_bytes() -> bytes:
    """This second's `Date` value (IMF-fixdate) as bytes, formatted once per second."""
    cache = _date_bytes
    second = int(time.time())
    if second != cache.second:
        cache.now = http_date(second).encode("latin-1")
        cache.second = second
    return cache.now


def refresh_date(data: bytes) -> bytes:
    """An encoded response (from ``http_response``, e.g. kept in a reply cache) with this second's `Date`:
    the same object when it already carries it."""
    start = data.find(b"\r\nDate: ") + 8
    if start < 8:
        return data
    now = date_bytes()
    if data[start:start + DATE_LENGTH] == now:
        return data
    return data[:start] + now + data[start + DATE_LENGTH:]


def is_http_start(data: bytes) -> bool:
    """Do these first bytes of a connection start with an HTTP request line (any version, so that an
    HTTP/2 preface or an HTTP/0.9 line gets its 505 in HTTP, not a Redis error)?"""
    parts = data.split(b"\n", 1)[0].rstrip(b"\r").split(b" ")
    return (len(parts) == 3 and parts[2][:5] == b"HTTP/" and parts[2][5:6].isdigit()
            and parts[0].isalpha() and parts[0].isupper())
