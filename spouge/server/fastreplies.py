"""The reply cache keyed by exact request frames: pipelined cached requests without per-request objects.

Owns: for each RESP version, a dict from the exact bytes of a request frame
(as the client sent it, re-encoded canonically) to (encoded reply, command
label), filled by the command handlers with the replies of deterministic
commands only (a computed value: the same request always gets the same
bytes), and bounded in bytes (oldest entries go first).

How it is used (connection.py): between requests, when nothing is waiting to
be answered on the connection and it is authenticated, outside a transaction,
``RedisRequestParser.take_known`` hands over the values of the consecutive
frames found here (protocol/fastpath.py: a C scan, ~0.05 us a frame); their
replies are written with one send and counted in the metrics as one batch.
The first frame not found goes through the full path as before.

Invariants: only frames the full parser accepted and the full path answered
are keys; replies differ by RESP version, so the tables do too; a key's value
never changes (deterministic), so no invalidation exists or is needed.
"""

from __future__ import annotations

from ..protocol.resp_client import encode_command

#: Default bound on the bytes held (keys + replies); the result caches have their own.
DEFAULT_MAX_BYTES = 16 * 2**20
#: Entry overhead estimate (dict slot, tuple, two bytes headers).
ENTRY_OVERHEAD = 200


class FastReplies:
    __slots__ = ("bytes", "hits", "max_bytes", "tables")

    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.tables: dict[int, dict[bytes, tuple[bytes, str]]] = {2: {}, 3: {}}
        self.bytes = 0
        self.max_bytes = max_bytes
        self.hits = 0

    def remember(self, protocol: int, name: str, args: tuple[bytes, ...], reply: bytes) -> None:
        """Keep `reply` for the frame of command `name` with `args` (a deterministic command's success)."""
        table = self.tables.get(protocol)
        if table is None or self.max_bytes <= 0:
            return
        frame = encode_command(name.encode(), *args)
        if frame in table:
            return
        size = len(frame) + len(reply) + ENTRY_OVERHEAD
        if size > self.max_bytes // 16:
            return
        table[frame] = (reply, name)
        self.bytes += size
        while self.bytes > self.max_bytes:
            victim = max(self.tables.values(), key=len)
            old_frame, (old_reply, _) = next(iter(victim.items()))  # insertion order: the oldest
            del victim[old_frame]
            self.bytes -= len(old_frame) + len(old_reply) + ENTRY_OVERHEAD
