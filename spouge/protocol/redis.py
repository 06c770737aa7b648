"""The Redis dialect: RESP2 multibulk requests and inline commands in; RESP2 replies out.

Theory of operation (mirrors Redis's networking.c, processMultibulkBuffer and
processInlineBuffer):
- A request starting with ``*`` is an array of bulk strings:
  ``*<n>\\r\\n`` then n times ``$<len>\\r\\n<len bytes>\\r\\n``.  Anything else is
  an inline command: one line of space-separated words, as telnet/nc send.
- ``RedisRequestParser.feed(data)`` buffers bytes; ``next_request()`` returns
  the next ``Command``, or ``None`` when more bytes are needed, or raises
  ``ProtocolError``.  It never returns a partial request.
- Incremental, as Redis's querybuf with its multibulklen/bulklen state: a
  partial request is parsed once and its progress kept (arguments read so far,
  the received part of a split argument or inline line); the next read resumes
  where the last one stopped.  Total work is linear in the bytes received
  however they are split (bench/parse_trickle.py; a trickled 57 KB request cost
  ~340 µs per byte by the end when every read re-parsed it from its start).
- The whole-request cap holds however the bytes are split: the declared size
  of each argument is added up as its header is read, so a request over
  ``max_request`` is refused before its body is buffered.
- Every length is checked *before* anything is buffered for it, so a peer
  declaring ``*99999999999`` or a 1 GB bulk costs nothing: that is why this is
  our own parser and not hiredis' Reader, which allocates the declared array
  (PyList_New(n)) and buffers a declared bulk whole before any caller-side
  check could run.  The requests we accept are tiny (a command and two
  arguments); parsing one that arrived whole is a few ``bytes.find`` calls.
- Error replies never carry raw control bytes: ``resp.error`` escapes them
  (``\\x00``) and turns CR/LF into spaces, since it echoes client input.
- Limits are per parser and can be tightened (``limits``) until a client
  authenticates, as Redis does for unauthenticated clients.

Invariants: ``pending_bytes`` is what is buffered but not yet returned as a
request; once ``next_request()`` has returned None it is the partial request
alone, which never exceeds the request-size cap (plus < 32 bytes of a header)
without raising.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from . import fastpath
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

    __slots__ = ("args", "name")

    def __init__(self, name: str, args: tuple[bytes, ...]) -> None:
        self.name, self.args = name, args

    @property
    def label(self) -> str:
        """What the metrics call this request."""
        return self.name

    def __repr__(self) -> str:
        return f"Command({self.name!r}, {self.args!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Command) and (self.name, self.args) == (other.name, other.args)

    def __hash__(self) -> int:  # equal commands hash alike (defining __eq__ alone made them unhashable)
        return hash((self.name, self.args))


class RedisRequestParser:
    """Incremental: each byte is looked at a bounded number of times, however it is split into reads.

    State between reads (all of it belongs to the one request being received):
    ``_buf[_pos:]`` holds bytes not yet parsed (after ``next_request`` returned
    None, at most a partial ``*``/``$`` header, < 32 bytes); ``_args`` the
    arguments of a multibulk request read so far and ``_remaining`` how many are
    still to come; ``_bulk``/``_bulk_size`` the part of an argument already
    received; ``_line`` the part of an inline line already received;
    ``_taken`` the bytes of the current request moved into that state.
    """

    __slots__ = ("_args", "_buf", "_bulk", "_bulk_size", "_line", "_pos", "_remaining", "_taken", "limits")

    def __init__(self, limits: RedisLimits = DEFAULT_LIMITS) -> None:
        self._buf = b""  # immutable: slicing it for arguments needs no copy of a bytearray first
        self._pos = 0
        self.limits = limits
        self._args: list[bytes] | None = None  # in a multibulk request
        self._remaining = 0
        self._bulk: bytearray | None = None  # an argument's bytes (and its CRLF) received so far
        self._bulk_size = 0
        self._line: bytearray | None = None  # in an inline line
        self._taken = 0

    @property
    def pending_bytes(self) -> int:
        """Bytes received but not yet returned as requests (including the partial request's parsed part)."""
        return len(self._buf) - self._pos + self._taken

    def feed(self, data: bytes) -> None:
        # Only the unparsed tail is copied; after next_request() returned None it is under 32 bytes.
        self._buf = self._buf[self._pos :] + data if self._pos < len(self._buf) else bytes(data)
        self._pos = 0

    def take_known(self, table: dict[bytes, Any], limit: int) -> list[Any]:
        """Between requests: the table's values for the consecutive complete frames found in it (consumed);
        [] otherwise.  The fast path of server/fastreplies.py; everything else stays for next_request."""
        if self._args is not None or self._line is not None or self._pos >= len(self._buf):
            return []
        pos, values = fastpath.scan(self._buf, self._pos, table, limit)
        self._pos = pos
        return values

    def next_request(self) -> Command | None:
        """The next complete request, None if more bytes are needed, or ProtocolError."""
        while True:
            if self._line is None:  # not inside an inline line
                if self._args is None:  # between requests: the first byte says which kind comes
                    if self._pos >= len(self._buf):
                        return None
                    if self._buf[self._pos] == 0x2A:  # '*'
                        command = self._multibulk()
                        if command is not False:
                            return command
                        continue
                else:  # resuming one: False (a skipped header) cannot come, but would mean "go on" too
                    command = self._multibulk()
                    if command is not False:
                        return command
                    continue
            command = self._inline()
            if command is not False:
                return command

    def _multibulk(self) -> Command | Literal[False] | None:
        """A multibulk request, begun now or resumed: a Command, None for more bytes, or False
        for a null/empty one (``*-1``, ``*0``: skipped, as Redis does).

        Complete arguments are parsed straight from the buffer; state is saved
        only when the bytes run out, so a request that arrives whole costs no more
        than in a one-shot parser.
        """
        buf, pos, n, limits = self._buf, self._pos, len(self._buf), self.limits
        args = self._args
        if args is None:  # the *<n> header
            end = buf.find(b"\r\n", pos + 1, pos + 32)
            if end < 0:
                if n - pos >= 32:
                    raise ProtocolError("Protocol error: invalid multibulk length")
                return None
            text = buf[pos + 1 : end]
            if not text.isdigit():
                if text[:1] == b"-" and text[1:].isdigit():  # "*-1": a null request
                    self._pos = end + 2
                    return False
                raise ProtocolError("Protocol error: invalid multibulk length")
            remaining = int(text)
            if remaining > limits.max_args:
                raise ProtocolError("Protocol error: invalid multibulk length")
            if remaining == 0:
                self._pos = end + 2
                return False
            taken = end + 2 - pos
            pos = end + 2
            args = []
        else:
            remaining, taken = self._remaining, self._taken
            bulk = self._bulk
            if bulk is not None:  # an argument split across reads: take what it still needs
                need = self._bulk_size + 2 - len(bulk)
                if n - pos < need:
                    bulk += buf[pos:]
                    self._taken = taken + n - pos
                    self._pos = n
                    return None
                bulk += buf[pos : pos + need]
                pos += need
                taken += need
                if bulk[-2:] != b"\r\n":
                    raise ProtocolError("Protocol error: bulk string not terminated by CRLF")
                del bulk[-2:]
                args.append(bytes(bulk))
                self._bulk = None
                remaining -= 1
        while remaining:
            if pos >= n:
                break
            if buf[pos] != 0x24:  # '$'
                raise ProtocolError(f"Protocol error: expected '$', got '{chr(buf[pos])}'")
            end = buf.find(b"\r\n", pos + 1, pos + 32)
            if end < 0:
                if n - pos >= 32:
                    raise ProtocolError("Protocol error: invalid bulk length")
                break
            text = buf[pos + 1 : end]
            if not text.isdigit():
                raise ProtocolError("Protocol error: invalid bulk length")
            size = int(text)
            if size > limits.max_bulk:
                raise ProtocolError("Protocol error: invalid bulk length")
            body = end + 2
            after = body + size + 2
            if taken + after - pos > limits.max_request:
                raise ProtocolError("Protocol error: request too large", http_status=413)
            if n < after:  # keep what has come of this argument; the rest is appended as it arrives
                self._bulk, self._bulk_size = bytearray(buf[body:n]), size
                taken += n - pos
                pos = n
                break
            if buf[after - 2 : after] != b"\r\n":
                raise ProtocolError("Protocol error: bulk string not terminated by CRLF")
            args.append(buf[body : after - 2])
            taken += after - pos
            pos = after
            remaining -= 1
        self._pos = pos
        if remaining:
            self._args, self._remaining, self._taken = args, remaining, taken
            return None
        self._args, self._taken = None, 0
        return Command(args[0].decode("latin-1").upper(), tuple(args[1:]))

    def _inline(self) -> Command | Literal[False] | None:
        """The rest of an inline line: a Command, None for more bytes, False for an empty line (skipped)."""
        buf, pos, line, limits = self._buf, self._pos, self._line, self.limits
        held = len(line) if line is not None else 0
        newline = buf.find(b"\n", pos)  # only bytes not searched before: the line's start is in self._line
        if newline < 0:
            if held + len(buf) - pos > limits.max_request:
                raise ProtocolError("Protocol error: too big inline request", http_status=431)
            if line is None:
                self._line = line = bytearray()
            line += buf[pos:]
            self._taken = len(line)
            self._pos = len(buf)
            return None
        if held + newline - pos > limits.max_request:
            raise ProtocolError("Protocol error: too big inline request", http_status=431)
        text = (bytes(line) + buf[pos:newline] if line else buf[pos:newline]).rstrip(b"\r")
        self._pos = newline + 1
        self._line, self._taken = None, 0
        words = split_inline(text, limits.max_args + 1)
        if not words:
            return False  # an empty line: skip it, as Redis does
        return Command(words[0].decode("latin-1").upper(), tuple(words[1:]))


_WORD_START = re.compile(rb"[^ \t]")
_WORD_END = re.compile(rb"[ \t]")


def split_inline(line: bytes, max_words: int | None = None) -> list[bytes]:
    """Split an inline line into words; "double" and 'single' quotes group words (as redis-cli/sdssplitargs).

    More than ``max_words`` words is a ProtocolError, raised as soon as it is seen.
    Linear in the line: the scans are regex/``find`` calls, one per word.
    """
    words: list[bytes]
    if b'"' not in line and b"'" not in line:
        words = line.split()
        if max_words is not None and len(words) > max_words:
            raise ProtocolError("Protocol error: too many arguments")
        return words
    words = []
    i, n = 0, len(line)
    while True:
        start = _WORD_START.search(line, i)
        if start is None:
            break
        i = start.start()
        if max_words is not None and len(words) >= max_words:
            raise ProtocolError("Protocol error: too many arguments")
        quote = line[i]
        if quote in (0x22, 0x27):  # " or '
            j = line.find(b'"' if quote == 0x22 else b"'", i + 1)
            if j < 0 or (j + 1 < n and line[j + 1] not in b" \t"):
                raise ProtocolError("Protocol error: unbalanced quotes in request")
            words.append(line[i + 1 : j])
            i = j + 1
        else:
            end = _WORD_END.search(line, i)
            j = n if end is None else end.start()
            words.append(line[i:j])
            i = j
    return words


#: C0 controls, DEL and C1 controls (latin-1-decoded bytes 0x80-0x9f; U+009B is a terminal's CSI).
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def _escape_control(match: re.Match[str]) -> str:
    char = match.group()
    return " " if char in "\r\n" else f"\\x{ord(char):02x}"


def _printable(text: str) -> str:
    """``text`` as one safe line: control characters escaped, CR/LF as spaces."""
    return _CONTROL.sub(_escape_control, text) if _CONTROL.search(text) else text


class resp:
    """RESP2 reply encoders (namespace)."""

    OK = b"+OK\r\n"
    PONG = b"+PONG\r\n"
    NULL = b"$-1\r\n"

    @staticmethod
    def simple(text: str) -> bytes:
        return b"+" + _printable(text).encode("utf-8", "replace") + b"\r\n"

    @staticmethod
    def error(text: str) -> bytes:
        """An error line.  It often quotes the client (a command name, an argument), so control
        characters are escaped (NUL -> ``\\x00``, ESC -> ``\\x1b``: nothing reaches a terminal raw)
        and CR/LF become spaces (they would end the line and break the framing)."""
        return b"-" + _printable(text).encode("utf-8", "replace") + b"\r\n"

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
