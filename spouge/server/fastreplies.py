"""The reply cache keyed by exact request frames: cached requests answered without per-request objects.

Owns: for each RESP version, a dict from the exact bytes of a request frame
(as the client sent it, re-encoded canonically) to (encoded reply, command
label, status label), filled by the command handlers with the replies of
deterministic commands only (a computed value: the same request always gets
the same bytes) asked at least twice; and for HTTP a dict from the exact bytes of a request head
(``protocol.http.request_frame``: a keep-alive GET/HEAD without body, proved
by parsing it back, ``replays_as``) to the reply around its Date, the route
label, "200" and the access log's fields, filled with 200 answers of the
function routes asked at least twice.  The second answer, the reply cache's,
is remembered: one-off values would only churn the table (measured: with 10%
new values, remembering every computed answer doubled the p99).  All bounded
in bytes together (oldest entries go first).

How it is used (connection.py): between requests, when nothing is waiting to
be answered on the connection and it is authenticated, outside a transaction,
``RedisRequestParser.take_known`` hands over the values of the consecutive
frames found here (protocol/fastpath.py: a C scan, ~0.05 us a frame); their
replies are written with one send and counted in the metrics as one batch.
The first frame not found goes through the full path as before.  For HTTP
the same happens on the connection's raw bytes while its parser is between
requests (framing.py ``take_known``), and ``http_replies`` gives each reply
this second's ``Date`` (at its fixed place after the status line).  A read
that is nothing but known heads, on a connection with nothing in progress,
is answered as soon as it is read (``ConnectionFastReplies._answer_known_read``:
no request loop at all; the keep-alive client asking again).  Every answer
is still counted in the metrics and written to the access log.

Invariants: only frames the full parser accepted and the full path answered
are keys; replies differ by RESP version, so the tables do too; a key's value
never changes (deterministic; for HTTP but for the Date), so no invalidation
exists or is needed.  What an HTTP answer depends on besides the route is in
the head's bytes (Authorization, If-None-Match, Origin), and the handlers
remember only answers that the reply cache would also give.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..protocol import HttpRequest, HttpRequestParser
from ..protocol.fastpath import FAST_MAX_HEAD, scan_http
from ..protocol.http import date_bytes, replays_as, request_frame
from ..protocol.resp_client import encode_command
from .turns import GREEDY_SECONDS, TURN_BYTES

if TYPE_CHECKING:
    from .app import Server
    from .framing import RequestReader
    from .ordering import ReplyOrder
    from .output import OutputBuffer

#: Known frames answered per scan, then the connection's limits are looked at again.
FAST_BATCH = 256
#: Default bound on the bytes held (keys + replies); the result caches have their own.
DEFAULT_MAX_BYTES = 16 * 2**20
#: Entry overhead estimate beyond its parts (the dict slot, the tuple, the key's header).
ENTRY_OVERHEAD = 200
#: At most this share of the bytes goes to HTTP heads.
HTTP_SHARE = 0.5
#: HTTP heads remembered as seen once (see ``FastReplies.seen``).
SEEN_MAX = 4096
#: An HTTP reply kept here starts with one of these: its Date value is at DATE_AT (protocol/http.py puts it first).
HTTP_OK_HEADS = (b"HTTP/1.1 200 OK\r\nDate: ", b"HTTP/1.0 200 OK\r\nDate: ")
DATE_AT = 23
DATE_END = DATE_AT + 29


class FastReplies:
    __slots__ = ("bytes", "hits", "http", "max_bytes", "seen", "sizes", "tables")

    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.tables: dict[int, dict[bytes, tuple[bytes, str, str]]] = {2: {}, 3: {}}
        #: head -> (reply up to "Date: ", route label, "200", reply after the date, method, target, version, body size)
        self.http: dict[bytes, tuple[bytes, str, str, bytes, str, str, str, int]] = {}
        #: HTTP heads answered from the reply cache once: a head is kept only when it comes again (headers that
        #: change with every request, a request id or a trace header, would otherwise fill the table with
        #: entries never hit).  Bounded: the oldest are forgotten.
        self.seen: dict[int, None] = {}  # hash(head): a collision only keeps a head one visit early
        self.sizes: dict[int | str, int] = {2: 0, 3: 0, "http": 0}  # bytes held per table (estimated)
        self.bytes = 0
        self.max_bytes = max_bytes
        self.hits = 0

    def remember(self, protocol: int, name: str, args: tuple[bytes, ...], reply: bytes) -> None:
        """Keep `reply` for the frame of command `name` with `args` (a deterministic command's success)."""
        table = self.tables.get(protocol)
        if table is None or self.max_bytes <= 0:
            return
        frame = encode_command(name.encode(), *args)
        if frame not in table:
            self._keep(protocol, frame, (reply, name, "ok"))

    def remember_http(self, request: HttpRequest, reply: bytes, label: str, body_size: int) -> None:
        """Keep a function route's 200 `reply` (as the reply cache gives it) for the exact head of `request`,
        the second time that head is seen."""
        if self.max_bytes <= 0 or reply[:DATE_AT] not in HTTP_OK_HEADS:
            return
        frame = request_frame(request)  # None: not a request its bytes alone decide
        if frame is None or len(frame) > FAST_MAX_HEAD or frame in self.http:
            return
        seen, key = self.seen, hash(frame)
        if key not in seen:
            seen[key] = None
            if len(seen) > SEEN_MAX:
                del seen[next(iter(seen))]
            return
        del seen[key]
        if replays_as(frame, request):
            # a tuple of bytes, str and int: the garbage collector stops tracking it (a table of lists would
            # make every full collection walk it)
            self._keep("http", frame, (reply[:DATE_AT], label, "200", reply[DATE_END:], request.method,
                                       request.target, request.version, body_size))

    def _table(self, name: int | str) -> dict[bytes, Any]:
        return self.http if name == "http" else self.tables[name]  # type: ignore[index]

    def _keep(self, name: int | str, frame: bytes, value: tuple) -> None:
        size = _size(frame, value)
        if size > self.max_bytes // 16:
            return
        self._table(name)[frame] = value
        self.sizes[name] += size
        self.bytes += size
        sizes = self.sizes
        while sizes["http"] > self.max_bytes * HTTP_SHARE:  # HTTP heads vary more: they cannot crowd RESP out
            self._evict("http")
        while self.bytes > self.max_bytes:
            self._evict(max(sizes, key=sizes.__getitem__))

    def _evict(self, name: int | str) -> None:
        table = self._table(name)
        old_frame, old = next(iter(table.items()))  # insertion order: the oldest
        del table[old_frame]
        size = _size(old_frame, old)
        self.sizes[name] -= size
        self.bytes -= size


def _size(frame: bytes, value: tuple) -> int:
    """An entry's bytes: its frame, the bytes and text it holds, and the objects around them (measured with
    tracemalloc: ~60 bytes an object, ~100 the dict slot and the tuple)."""
    return len(frame) + sum(len(part) + 60 for part in value if isinstance(part, (bytes, str))) + ENTRY_OVERHEAD


def http_replies(values: list[tuple]) -> bytes:
    """The replies of HTTP table entries, each with this second's Date."""
    now = date_bytes()
    if len(values) == 1:
        value = values[0]
        return b"".join((value[0], now, value[3]))
    parts: list[bytes] = []
    for value in values:
        parts += (value[0], now, value[3])
    return b"".join(parts)


class ConnectionFastReplies:
    """How a connection answers from the frame cache (a mixin of ``Connection``, which owns the state)."""

    if TYPE_CHECKING:  # what these methods use of the Connection they run on (set in its __init__)
        server: Server
        addr: Any
        reader: RequestReader
        order: ReplyOrder
        output: OutputBuffer
        closed: bool
        closing: bool
        paused: bool
        tls: bool
        drain_budget: int | None
        greedy_until: float
        last_activity: float
        request_started: float | None
        limit_floor: int
        high_water: int

        def close(self) -> None: ...
        def pending_output(self) -> int: ...
        def _over_limit(self) -> bool: ...
        def _send(self) -> None: ...
        def _pause_reading(self) -> None: ...

    def _write_known(self, values: list, http: bool) -> bool:
        """Write the replies of known frames, then count and log them; False if the connection broke (it is
        closed, and nothing was counted: no answer reached the client)."""
        if http:
            data = http_replies(values)
        else:
            data = values[0][0] if len(values) == 1 else b"".join([v[0] for v in values])
        if not self.output.write(data):
            self.close()
            return False
        server = self.server
        server.fast.hits += len(values)
        server.metrics.observe_batch(values)
        log = server.access_log
        if http and log is not None:  # the fields are in the entries (FastReplies.http)
            addr = self.addr
            host = addr[0] if isinstance(addr, tuple) else str(addr)
            for _, _, status, _, method, target, version, size in values:
                log.write(host, method, target, version, int(status), size)
        if len(data) > TURN_BYTES:  # a turn's worth at once: its next reads wait in the turn queue (turns.py)
            self.greedy_until = self.last_activity + GREEDY_SECONDS
        return True

    def _answer_known_read(self, data: bytes) -> bool:
        """A read that is wholly HTTP heads answered before, on a plain connection with nothing else going on:
        answered here, without the request loop - the common case of a keep-alive client asking again.
        False: not that case, and nothing was done; the read takes the normal path (Connection.feed)."""
        reader = self.reader
        parser = reader.parser
        if (reader.raw or reader.stashed is not None or self.order.slots or self.output.bytes
                or self.drain_budget is not None or self.tls
                or self.closing or self.greedy_until > self.last_activity
                or not isinstance(parser, HttpRequestParser) or not parser.idle):
            return False
        pos, values = scan_http(data, 0, self.server.fast.http, FAST_BATCH)
        if pos != len(data) or not values:
            return False
        if not self._write_known(values, True):
            return True
        self.request_started = None  # no request is in progress
        output = self.output
        if output.bytes:  # the socket did not take it all: the same limits and backpressure as the request loop
            if output.bytes > self.limit_floor and self._over_limit():
                return True
            self._send()
            if not self.closed and self.pending_output() > self.high_water:
                self.paused = True
                self._pause_reading()
        return True
