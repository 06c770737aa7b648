"""A connection's unsent output: the bytes, how they reach the socket, and their limits.

Theory of operation:
- ``OutputBuffer.write`` (``write_many``) takes a reply (a batch of them,
  joined): sent at once if nothing is waiting, else queued (no copy).  ``send`` writes at most ``budget``
  bytes per call, so one fat reply cannot starve other
  clients (Redis's NET_MAX_WRITES_PER_EVENT); the caller watches for
  writability only while ``bytes`` is non-zero.
- Small replies are joined into one buffer of up to ``WRITE_CHUNK`` bytes
  before sending (one send() for a pipeline's worth of PONGs); a big reply
  is sent through a memoryview, not copied.
- The buffer being sent (``_head``) is kept as it is until the socket has
  taken it.  For TLS that is OpenSSL's rule: after SSL_write fails with
  WANT_WRITE/WANT_READ it must be called again with the *same* buffer and
  length, or it fails with ``[SSL: BAD_LENGTH]`` (a retry with a shorter or
  re-sliced buffer is what broke redis-py's TLS pipelines).  Only a send that
  succeeded (wholly or, for a plain socket, partly) moves on.
- ``OutputLimits`` is Redis's client-output-buffer-limit: past ``hard`` bytes
  pending the connection is closed at once; past ``soft`` bytes for
  ``soft_seconds`` without a break, it is closed too.  0 disables a limit.
  The caller checks it wherever bytes are added (every reply), and re-checks
  the soft limit by timer.

Invariant: ``bytes`` == len(_head) + sum of len(chunk) over ``_chunks``.
"""

from __future__ import annotations

import socket
import ssl
from collections import deque

#: Most bytes one send() call is offered, and one writable event may write.  Redis: NET_MAX_WRITES_PER_EVENT = 64 KiB;
#: ours is larger because a 100000-digit reply is ~100 KB and the loopback send buffer takes megabytes.
WRITE_CHUNK = 256 * 1024
#: Replies up to this size are joined with their neighbours before a send; bigger ones go out through a memoryview.
JOIN_MAX = 16 * 1024

#: "Try again later": the socket (or the TLS layer under it) cannot take bytes now.
RETRY = (BlockingIOError, InterruptedError, ssl.SSLWantWriteError, ssl.SSLWantReadError)


class OutputBuffer:
    __slots__ = ("_chunks", "_head", "bytes", "sock")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self._chunks: deque[bytes | memoryview] = deque()
        self._head: bytes | memoryview | None = None  # offered to the last send(), kept identical until taken
        self.bytes = 0

    def write(self, data: bytes) -> bool:
        """Queue one reply; if nothing was waiting, offer it to the socket at once.  False: the connection is broken."""
        if self.bytes:
            self._chunks.append(data)
            self.bytes += len(data)
            return True
        try:
            sent = self.sock.send(data)
        except RETRY:
            sent = 0
        except (OSError, ValueError):
            return False
        size = len(data)
        if sent == size:
            return True
        self.bytes = size - sent
        # after a failed TLS send, _head must stay this very buffer; after a partial plain send, the rest of it
        self._head = memoryview(data)[sent:] if sent else data
        return True

    def write_many(self, replies: list[bytes], size: int) -> bool:
        """Queue several replies (``size`` bytes in all), sent at once if nothing was waiting."""
        if self.bytes:
            self._chunks.extend(replies)
            self.bytes += size
            return True
        return self.write(b"".join(replies))

    def _next_head(self) -> bytes | memoryview:
        chunks = self._chunks
        first = chunks.popleft()
        if len(first) > JOIN_MAX or not chunks:
            if len(first) <= WRITE_CHUNK:
                return first
            view = memoryview(first)
            chunks.appendleft(view[WRITE_CHUNK:])
            return view[:WRITE_CHUNK]
        parts, size = [first], len(first)
        while chunks and size + len(chunks[0]) <= WRITE_CHUNK and len(chunks[0]) <= JOIN_MAX:
            part = chunks.popleft()
            parts.append(part)
            size += len(part)
        return b"".join(parts)

    def send(self, budget: int = WRITE_CHUNK) -> bool:
        """Write up to ``budget`` bytes (more if a retried buffer is longer).  False: the connection is broken."""
        sent_total = 0
        while self.bytes and sent_total < budget:
            head = self._head
            if head is None:
                head = self._head = self._next_head()
            try:
                sent = self.sock.send(head)
            except RETRY:
                return True  # keep _head exactly as it is for the retry
            except (OSError, ValueError):
                return False
            self.bytes -= sent
            sent_total += sent
            if sent == len(head):
                self._head = None
            elif sent <= 0:
                return True
            else:  # a plain socket took part of it: the rest is a new, shorter send
                self._head = memoryview(head)[sent:]
        return True

    def clear(self) -> None:
        self._chunks.clear()
        self._head = None
        self.bytes = 0


class OutputLimits:
    """Redis's client-output-buffer-limit <hard> <soft> <soft seconds> for one connection."""

    __slots__ = ("floor", "hard", "soft", "soft_seconds", "soft_since")

    def __init__(self, hard: int, soft: int, soft_seconds: float) -> None:
        self.hard, self.soft, self.soft_seconds = hard, soft, soft_seconds
        self.soft_since: float | None = None
        # below this, neither limit can be exceeded: the per-reply check is one comparison
        self.floor = min(x for x in (hard, soft, 1 << 62) if x > 0)

    def exceeded(self, pending: int, now: float) -> str | None:
        """'hard' or 'soft' if the connection must be closed now; None otherwise (starts the soft clock)."""
        if self.hard and pending > self.hard:
            return "hard"
        if self.soft and pending > self.soft:
            if self.soft_since is None:
                self.soft_since = now
            elif now - self.soft_since >= self.soft_seconds:
                return "soft"
            return None
        self.soft_since = None
        return None
