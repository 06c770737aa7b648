"""MULTI, EXEC, DISCARD, WATCH, UNWATCH: Redis transactions, for clients that wrap pipelines in them.

Owns: the per-connection queue (``conn.transaction``: None, or a ``Queued``)
and running it.  There is no keyspace, so the semantics are simple:
- After MULTI every command but EXEC, DISCARD, MULTI, WATCH and QUIT is
  checked (known, right number of arguments, authenticated) and queued:
  +QUEUED.  A command refused at queue time replies its error and marks the
  transaction, and EXEC then replies -EXECABORT and runs nothing (as Redis).
- EXEC starts every queued command in order through its usual handler, so a
  costly computation goes to the pool as it would outside a transaction and
  the loop never waits; EXEC's reply, the array of their replies in order,
  is sent once the last one is in.  Errors of single commands are elements
  of that array.  If the client goes away, pooled work is cancelled.
- WATCH is refused with a clear error (nothing can change under a client:
  there are no keys); UNWATCH is a no-op (+OK).
"""

from __future__ import annotations

import logging

from ...protocol import resp
from ..ordering import Slot
from . import table
from .table import REDIS_COMMANDS, redis_command

log = logging.getLogger("spouge.connection")

#: Most commands one transaction may queue (each is already bounded in bytes by the parser).
MAX_QUEUED = 10_000

#: Commands that act at once even inside MULTI.
NOT_QUEUED = frozenset({"EXEC", "DISCARD", "MULTI", "WATCH", "QUIT", "UNWATCH"})


class Queued:
    __slots__ = ("commands", "failed")

    def __init__(self) -> None:
        self.commands: list[tuple[str, tuple[bytes, ...]]] = []
        self.failed = False


def queue(server, conn, slot, name: str, args: tuple[bytes, ...]) -> bool:
    """Inside MULTI: queue the command (True), or let the caller dispatch it now (False)."""
    transaction = getattr(conn, "transaction", None)
    if transaction is None or name in NOT_QUEUED:
        return False
    entry = REDIS_COMMANDS.get(name)
    if entry is None:
        transaction.failed = True
        preview = " ".join(f"'{a[:40].decode('utf-8', 'replace')}'" for a in args[:3])
        conn.complete(slot, resp.error(f"ERR unknown command '{name[:64]}', with args beginning with: {preview}"),
                      "error")
    elif not entry[1] <= len(args) <= entry[2]:
        transaction.failed = True
        conn.complete(slot, resp.error(f"ERR wrong number of arguments for '{name.lower()}' command"), "error")
    elif len(transaction.commands) >= MAX_QUEUED:
        transaction.failed = True
        conn.complete(slot, resp.error(f"ERR a transaction may queue at most {MAX_QUEUED} commands"), "error")
    else:
        transaction.commands.append((name, args))
        conn.complete(slot, b"+QUEUED\r\n", "ok")
    return True


table.queue_hook = queue

_FLAGS = ("noscript", "loading", "stale", "fast")


@redis_command("MULTI", 0, 0, summary="Starts a transaction (commands are queued until EXEC)", group="transactions",
               flags=_FLAGS)
def _multi(server, conn, slot, args) -> None:
    if getattr(conn, "transaction", None) is not None:
        conn.complete(slot, resp.error("ERR MULTI calls can not be nested"), "error")
        return
    conn.transaction = Queued()
    conn.complete(slot, resp.OK, "ok")


@redis_command("DISCARD", 0, 0, summary="Discards a transaction", group="transactions", flags=_FLAGS)
def _discard(server, conn, slot, args) -> None:
    if getattr(conn, "transaction", None) is None:
        conn.complete(slot, resp.error("ERR DISCARD without MULTI"), "error")
        return
    conn.transaction = None
    conn.complete(slot, resp.OK, "ok")


@redis_command("WATCH", 1, 1024, summary="Refused: spouge has no keys to watch", arguments=(
    {"name": "key", "type": "key", "flags": ("multiple",)},), group="transactions", flags=_FLAGS)
def _watch(server, conn, slot, args) -> None:
    if getattr(conn, "transaction", None) is not None:
        conn.complete(slot, resp.error("ERR WATCH inside MULTI is not allowed"), "error")
        return
    conn.complete(slot, resp.error("ERR WATCH is not supported: spouge has no keys, so nothing can change under a "
                                   "transaction (use MULTI/EXEC without WATCH)"), "error")


@redis_command("UNWATCH", 0, 0, summary="Does nothing (nothing is ever watched)", group="transactions", flags=_FLAGS)
def _unwatch(server, conn, slot, args) -> None:
    conn.complete(slot, resp.OK, "ok")


class _Collector:
    """The connection as the queued commands' handlers see it: their replies land in EXEC's array.

    Everything else (protocol, authentication, name, id) is the real connection's.
    """

    def __init__(self, conn, exec_slot: Slot, count: int) -> None:
        object.__setattr__(self, "_conn", conn)
        object.__setattr__(self, "_slot", exec_slot)
        object.__setattr__(self, "replies", [None] * count)
        object.__setattr__(self, "slots", [])
        object.__setattr__(self, "left", count)

    def __getattr__(self, name):
        return getattr(self._conn, name)

    def __setattr__(self, name, value) -> None:
        setattr(self._conn, name, value)

    def close_after_reply(self, slot) -> None:
        pass  # QUIT is never queued

    def complete(self, slot, data: bytes, status: str) -> None:
        if slot.data is not None:
            return
        conn = self._conn
        conn.server.metrics.observe(slot.command, status, conn.loop.time() - slot.started)
        slot.data = data
        slot.job = None
        self.replies[slot.index] = data
        object.__setattr__(self, "left", self.left - 1)
        if self.left == 0:
            conn.complete(self._slot, resp.array(self.replies), "ok")

    def cancel(self) -> None:
        """The client went away: cancel the pooled commands (EXEC's slot.job)."""
        for slot in self.slots:
            if slot.job is not None:
                slot.job.cancel()


class _SubSlot(Slot):
    __slots__ = ("index",)
    index: int


@redis_command("EXEC", 0, 0, summary="Runs the queued commands; replies with their replies in order",
               group="transactions", flags=_FLAGS)
def _exec(server, conn, slot, args) -> None:
    transaction = getattr(conn, "transaction", None)
    if transaction is None:
        conn.complete(slot, resp.error("ERR EXEC without MULTI"), "error")
        return
    conn.transaction = None
    if transaction.failed:
        conn.complete(slot, resp.error("EXECABORT Transaction discarded because of previous errors."), "error")
        return
    if not transaction.commands:
        conn.complete(slot, resp.array([]), "ok")
        return
    collector = _Collector(conn, slot, len(transaction.commands))
    for index, (name, queued_args) in enumerate(transaction.commands):
        sub = _SubSlot(name, conn.loop.time())
        sub.index = index
        collector.slots.append(sub)
        handler = REDIS_COMMANDS[name][0]
        try:
            handler(server, collector, sub, queued_args)
        except Exception:  # a bug costs that command's reply, not the transaction
            log.exception("queued %s on connection %d failed", name, conn.id)
            collector.complete(sub, resp.error("ERR internal error (logged on the server)"), "error")
    if slot.data is None:  # some are pooled: let a disconnect cancel them
        slot.job = collector
