"""The Redis dialect: RESP2 multibulk requests and inline commands in; RESP2 replies out.

Theory of operation (mirrors Redis's networking.c, processMultibulkBuffer and
processInlineBuffer):
- A request starting with ``*`` is an array of bulk strings:
  ``*<n>\\r\\n`` then n times ``$<len>\\r\\n<len bytes>\\r\\n``.  Anything else is
  an inline command: one line of space-separated words, as telnet/nc send.
- ``RedisRequestParser.feed(data)`` buffers bytes; ``next_request()`` returns
  the next ``Command``, or ``None`` when more bytes are needed, or raises
  ``ProtocolError``.  It never returns a partial request.
- Every length is checked *before* anything is buffered for it, so a peer
  declaring ``*99999999999`` or a 1 GB bulk costs nothing: that is why this is
  our own parser and not hiredis' Reader, which allocates the declared array
  (PyList_New(n)) and buffers a declared bulk whole before any caller-side
  check could run.  The requests we accept are tiny (a command and two
  arguments); parsing them is a few ``bytes.find`` calls.
- Limits are per parser and can be tightened (``limits``) until a client
  authenticates, as Redis does for unauthenticated clients.

Invariants: ``pending_bytes`` is what is buffered but not yet returned as a
request; it never exceeds the request-size cap without raising.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import ProtocolError


@dataclass(frozen=True, slots=True)
class RedisLimits:
    #: Longest inline line and longest whole request.  Redis: PROTO_INLINE_MAX_SIZE = 64 KiB.
    max_request: int = 64 * 1024
    #: Most arguments in one multibulk request.  Redis allows 1024*1024; our
    #: commands take at most 3, and COMMAND DOCS/INFO names a few more.
    max_args: int = 1024
    #: Longest single argument (bulk length).  Redis: proto-max-bulk-len (512 MB); ours fits the request cap.
    max_bulk: int = 64 * 1024


DEFAULT_LIMITS = RedisLimits()
#: Before AUTH, as Redis 7 does for unauthenticated clients: at most 10 arguments of at most 16 KiB.
UNAUTHENTICATED_LIMITS = RedisLimits(max_request=16 * 1024 + 256, max_args=10, max_bulk=16 * 1024)


class Command:
    """One request: the command name (upper-cased) and its arguments as bytes.

    A plain slotted class, not a frozen dataclass: one is built per request,
    and a frozen dataclass's __init__ costs three times as much.
    """

    __slots__ = ("name", "args")

    def __init__(self, name: str, args: tuple[bytes, ...]) -> None:
        self.name, self.args = name, args

    @property
    def label(self) -> str:
        """What the metrics call this request."""
        return self.name

    def __repr__(self) -> str:
        return f"Command({self.name!r}, {self.args!r})"

    def __eq__(self, other) -> bool:
        return isinstance(other, Command) and (self.name, self.args) == (other.name, other.args)


class RedisRequestParser:
    __slots__ = ("_buf", "_pos", "limits")

    def __init__(self, limits: RedisLimits = DEFAULT_LIMITS) -> None:
        self._buf = b""  # immutable: slicing it for arguments needs no copy of a bytearray first
        self._pos = 0
        self.limits = limits

    @property
    def pending_bytes(self) -> int:
        return len(self._buf) - self._pos

    def feed(self, data: bytes) -> None:
        self._buf = self._buf[self._pos :] + data if self._pos < len(self._buf) else bytes(data)
        self._pos = 0

    def next_request(self) -> Command | None:
        """The next complete request, None if more bytes are needed, or ProtocolError."""
        while self._pos < len(self._buf):
            if self._buf[self._pos] == 0x2A:  # '*'
                return self._multibulk()
            command = self._inline()
            if command is not False:
                return command
        return None

    def _multibulk(self) -> Command | None:
        buf, limits, start = self._buf, self.limits, self._pos
        end = buf.find(b"\r\n", start + 1, start + 32)
        if end < 0:
            if len(buf) - start >= 32:
                raise ProtocolError("Protocol error: invalid multibulk length")
            return None
        text = buf[start + 1 : end]
        if not text.isdigit():
            if text[:1] == b"-" and text[1:].isdigit():  # "*-1": a null request, skipped as Redis does
                self._pos = end + 2
                return self.next_request()
            raise ProtocolError("Protocol error: invalid multibulk length")
        count = int(text)
        if count > limits.max_args:
            raise ProtocolError("Protocol error: invalid multibulk length")
        pos = end + 2
        if count == 0:
            self._pos = pos
            return self.next_request()
        size_limit, args, n = limits.max_bulk, [], len(buf)
        for _ in range(count):
            if pos >= n:
                return self._need_more(pos)
            if buf[pos] != 0x24:  # '$'
                raise ProtocolError(f"Protocol error: expected '$', got '{chr(buf[pos])}'")
            end = buf.find(b"\r\n", pos + 1, pos + 32)
            if end < 0:
                if n - pos >= 32:
                    raise ProtocolError("Protocol error: invalid bulk length")
                return self._need_more(pos)
            text = buf[pos + 1 : end]
            if not text.isdigit():
                raise ProtocolError("Protocol error: invalid bulk length")
            size = int(text)
            if size > size_limit:
                raise ProtocolError("Protocol error: invalid bulk length")
            pos = end + 2 + size
            if n < pos + 2:
                return self._need_more(pos + 2)
            if buf[pos : pos + 2] != b"\r\n":
                raise ProtocolError("Protocol error: bulk string not terminated by CRLF")
            args.append(buf[end + 2 : pos])
            pos += 2
        self._pos = pos
        return Command(args[0].decode("latin-1").upper(), tuple(args[1:]))

    def _need_more(self, needed_end: int) -> None:
        if needed_end - self._pos > self.limits.max_request:
            raise ProtocolError("Protocol error: request too large", http_status=413)
        return None

    def _inline(self) -> Command | None | bool:
        newline = self._buf.find(b"\n", self._pos)
        if newline < 0:
            if self.pending_bytes > self.limits.max_request:
                raise ProtocolError("Protocol error: too big inline request", http_status=431)
            return None
        if newline - self._pos > self.limits.max_request:
            raise ProtocolError("Protocol error: too big inline request", http_status=431)
        line = self._buf[self._pos : newline].rstrip(b"\r")
        self._pos = newline + 1
        words = split_inline(line)
        if not words:
            return False  # an empty line: skip it, as Redis does
        if len(words) > self.limits.max_args + 1:
            raise ProtocolError("Protocol error: too many arguments")
        return Command(words[0].decode("latin-1").upper(), tuple(words[1:]))


def split_inline(line: bytes) -> list[bytes]:
    """Split an inline line into words; "double" and 'single' quotes group words (as redis-cli/sdssplitargs)."""
    if b'"' not in line and b"'" not in line:
        return line.split()
    words: list[bytes] = []
    i, n = 0, len(line)
    while i < n:
        while i < n and line[i] in b" \t":
            i += 1
        if i >= n:
            break
        quote = line[i] if line[i] in b"\"'" else None
        if quote is None:
            j = i
            while j < n and line[j] not in b" \t":
                j += 1
            words.append(line[i:j])
            i = j
            continue
        j = line.find(bytes([quote]), i + 1)
        if j < 0:
            raise ProtocolError("Protocol error: unbalanced quotes in request")
        if j + 1 < n and line[j + 1] not in b" \t":
            raise ProtocolError("Protocol error: unbalanced quotes in request")
        words.append(line[i + 1 : j])
        i = j + 1
    return words


class resp:
    """RESP2 reply encoders (namespace)."""

    OK = b"+OK\r\n"
    PONG = b"+PONG\r\n"
    NULL = b"$-1\r\n"

    @staticmethod
    def simple(text: str) -> bytes:
        return b"+" + text.encode() + b"\r\n"

    @staticmethod
    def error(text: str) -> bytes:
        # an error line may not contain CR/LF
        return b"-" + text.replace("\r", " ").replace("\n", " ").encode("utf-8", "replace") + b"\r\n"

    @staticmethod
    def integer(n: int) -> bytes:
        return b":%d\r\n" % n

    @staticmethod
    def bulk(data: bytes | str) -> bytes:
        if isinstance(data, str):
            data = data.encode()
        return b"$%d\r\n%s\r\n" % (len(data), data)

    @staticmethod
    def array(items: list[bytes]) -> bytes:
        """items are already-encoded replies."""
        return b"*%d\r\n" % len(items) + b"".join(items)

    @staticmethod
    def null(protocol: int) -> bytes:
        return b"_\r\n" if protocol == 3 else b"$-1\r\n"

    @staticmethod
    def map(pairs: list[tuple[bytes, bytes]], protocol: int) -> bytes:
        """A RESP3 map, or for RESP2 the flat array of keys and values Redis sends instead."""
        flat = b"".join(k + v for k, v in pairs)
        return (b"%%%d\r\n" % len(pairs) if protocol == 3 else b"*%d\r\n" % (2 * len(pairs))) + flat
