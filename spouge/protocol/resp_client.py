"""The client side of RESP: commands out, replies in (for the shared cache in a real Redis).

Owns: encoding a command as a RESP array of bulk strings (``encode_command``)
and decoding the replies a Redis server sends (``ReplyParser``), RESP2 and the
RESP3 types Redis 7 uses.  Sans-I/O like the server's codecs: ``feed(bytes)``
then ``next_reply()`` until it returns ``NEED_MORE``.

Invariants:
- A reply is returned whole or not at all; a partial one stays buffered.
- Every declared length and count is checked against ``max_reply`` before
  anything is buffered for it, and nesting is bounded (``MAX_DEPTH``): a broken
  or hostile server cannot make the client allocate more than the cap.  Breaking
  a limit or the framing raises ``ProtocolError``; the caller then drops the
  connection (the stream can no longer be trusted).
- Error replies are returned as ``ReplyError`` values, not raised: for the
  caller they are ordinary answers (a wrong password, a read-only replica).
- Re-parsing is bounded: an incomplete reply is re-scanned from its start on the
  next feed, which is fine for the small replies of a cache (a GET of one result)
  and is the reason for the cap.
"""

from __future__ import annotations

from typing import Any

from .errors import ProtocolError
from .redis import resp

#: Largest reply accepted (a cached result is at most a few hundred KB).
DEFAULT_MAX_REPLY = 64 * 2**20
MAX_DEPTH = 8


class ReplyError(str):
    """An error reply ("-ERR ...", "-WRONGPASS ..."): its text, without the dash."""

    @property
    def code(self) -> str:
        return self.split(" ", 1)[0]


class _NeedMore:
    def __repr__(self) -> str:
        return "NEED_MORE"


NEED_MORE = _NeedMore()


def encode_command(*args: bytes | str | int) -> bytes:
    """One command as a RESP array of bulk strings (the server's own reply encoders, redis.resp)."""
    return resp.array([resp.bulk(arg if isinstance(arg, (bytes, str)) else str(arg)) for arg in args])


class ReplyParser:
    """Incremental RESP2/RESP3 reply decoder.

    Values: bytes (bulk and simple strings), int, None (null), list (arrays,
    sets, pushes), dict (maps), float (doubles), bool, ReplyError.
    """

    def __init__(self, max_reply: int = DEFAULT_MAX_REPLY) -> None:
        self.max_reply = max_reply
        self._buf = bytearray()

    def feed(self, data: bytes) -> None:
        self._buf += data
        if len(self._buf) > self.max_reply + 64 and self._peek_incomplete():
            raise ProtocolError(f"reply over {self.max_reply} bytes")

    def _peek_incomplete(self) -> bool:
        try:
            end: int = self._parse(0, 0)[1]
            return end < 0
        except ProtocolError:
            return True

    def next_reply(self) -> Any:
        """The next whole reply, or NEED_MORE."""
        if not self._buf:
            return NEED_MORE
        value, end = self._parse(0, 0)
        if end < 0:
            return NEED_MORE
        del self._buf[:end]
        return value

    def _line(self, pos: int) -> tuple[bytes, int]:
        """The header line starting at pos (without its type byte) and the position after CRLF, or end -1."""
        eol = self._buf.find(b"\r\n", pos)
        if eol < 0:
            if len(self._buf) - pos > 64 * 1024:
                raise ProtocolError("reply header line too long")
            return b"", -1
        return bytes(self._buf[pos + 1:eol]), eol + 2

    def _int(self, text: bytes) -> int:
        if not text or len(text) > 20:
            raise ProtocolError(f"bad length or integer in reply: {text[:24]!r}")
        try:
            return int(text)
        except ValueError:
            raise ProtocolError(f"bad length or integer in reply: {text[:24]!r}") from None

    def _parse(self, pos: int, depth: int) -> tuple[Any, int]:
        if depth > MAX_DEPTH:
            raise ProtocolError("reply nested too deeply")
        if pos >= len(self._buf):
            return None, -1
        kind = bytes(self._buf[pos:pos + 1])
        line, after = self._line(pos)
        if after < 0:
            return None, -1
        if kind == b"+":
            return line, after
        if kind == b"-":
            return ReplyError(line.decode("utf-8", "replace")), after
        if kind == b":":
            return self._int(line), after
        if kind == b"_":
            return None, after
        if kind == b"#":
            return line == b"t", after
        if kind == b",":
            try:
                return float(line), after
            except ValueError:
                raise ProtocolError(f"bad double in reply: {line[:24]!r}") from None
        if kind in (b"$", b"=", b"!"):
            n = self._int(line)
            if n < 0:
                return None, after
            if n > self.max_reply:
                raise ProtocolError(f"bulk reply of {n} bytes is over the limit")
            end = after + n
            if len(self._buf) < end + 2:
                return None, -1
            if self._buf[end:end + 2] != b"\r\n":
                raise ProtocolError("bulk reply not terminated by CRLF")
            data = bytes(self._buf[after:end])
            if kind == b"!":
                return ReplyError(data.decode("utf-8", "replace")), end + 2
            return (data[4:] if kind == b"=" else data), end + 2
        if kind in (b"*", b"~", b">", b"%", b"|"):
            n = self._int(line)
            if n < 0:
                return None, after
            count = 2 * n if kind in (b"%", b"|") else n
            if count > self.max_reply // 3:  # each element takes at least 3 bytes
                raise ProtocolError(f"aggregate reply of {n} elements is over the limit")
            items: list[Any] = []
            for _ in range(count):
                item, after = self._parse(after, depth + 1)
                if after < 0:
                    return None, -1
                items.append(item)
            if kind == b"|":  # attributes precede the reply they describe: skip them
                return self._parse(after, depth)
            if kind == b"%":
                return {_hashable(items[i]): items[i + 1] for i in range(0, count, 2)}, after
            return items, after
        raise ProtocolError(f"unknown reply type byte {bytes(kind)!r}")


def _hashable(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value
