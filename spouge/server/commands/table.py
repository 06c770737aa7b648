"""The RESP command table: registration, the metadata COMMAND reports, and dispatch.

Owns: ``REDIS_COMMANDS`` (name -> (handler, min args, max args), read live
by the metrics), ``SPECS`` (name -> ``Spec``: arity, flags, summary and
arguments as Redis 7's COMMAND INFO/DOCS describe them), the status labels,
and ``handle_redis`` (authentication gate, lookup, argument count).

A handler gets (server, conn, slot, args) and must eventually call
``conn.complete(slot, reply_bytes, status)`` exactly once: at once for cheap
answers, later for pooled computations.  ``status`` is a label for the
metrics and always one of ``STATUS_LABELS`` (a fixed set: nothing a client
sends becomes a label); HTTP statuses go through ``http_label``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ...protocol import Command, resp
from ..compute import ComputeError

#: Every status the command modules pass to conn.complete (connection.py adds
#: "protocol_error" and "500" of its own).
STATUS_LABELS = frozenset({"ok", "error", "noauth", "200", "400", "401", "404", "405", "422", "500", "503", "504"})


def http_label(status: int) -> str:
    label = str(status)
    return label if label in STATUS_LABELS else "error"


@dataclass(frozen=True)
class Spec:
    """What COMMAND says about a command (Redis 7 shapes)."""

    name: str
    arity: int  # Redis's: the argument count including the name; negative: at least that many
    flags: tuple[str, ...]
    summary: str
    group: str
    arguments: tuple[dict, ...] = field(default=())  # COMMAND DOCS argument entries (name, type, flags...)
    since: str = "0.1.0"


REDIS_COMMANDS: dict[str, tuple[Callable, int, int]] = {}  # name -> (handler, min args, max args)
SPECS: dict[str, Spec] = {}


def redis_command(name: str, min_args: int, max_args: int, *, summary: str = "", group: str = "server",
                  flags: tuple[str, ...] = ("fast",), arguments: tuple[dict, ...] = ()):
    """Register a handler; min/max count the arguments after the name."""
    def register(fn: Callable) -> Callable:
        REDIS_COMMANDS[name] = (fn, min_args, max_args)
        arity = min_args + 1 if min_args == max_args else -(min_args + 1)
        SPECS[name] = Spec(name, arity, flags, summary, group, arguments)
        return fn

    return register


def text(arg: bytes, what: str) -> str:
    try:
        return arg.decode("utf-8")
    except UnicodeDecodeError:
        raise ComputeError("bad_request", f"{what} is not valid UTF-8") from None


#: Commands a client may send before it authenticates (Redis's "no-auth" flag).
NO_AUTH_COMMANDS = frozenset({"AUTH", "HELLO", "QUIT"})


#: transactions.queue, set when that module loads (it imports this one): inside MULTI, queue instead of run.
queue_hook: Callable | None = None


def handle_redis(server, conn, slot, command: Command) -> None:
    if not conn.authenticated and command.name not in NO_AUTH_COMMANDS and server.password is not None:
        conn.complete(slot, resp.error("NOAUTH Authentication required."), "noauth")
        return
    if (conn.transaction is not None and queue_hook is not None
            and queue_hook(server, conn, slot, command.name, command.args)):
        return
    entry = REDIS_COMMANDS.get(command.name)
    if entry is None:
        preview = " ".join(f"'{a[:40].decode('utf-8', 'replace')}'" for a in command.args[:3])
        name = command.name[:64]
        conn.complete(slot, resp.error(f"ERR unknown command '{name}', with args beginning with: {preview}"), "error")
        return
    handler, low, high = entry
    if not low <= len(command.args) <= high:
        conn.complete(slot, resp.error(f"ERR wrong number of arguments for '{command.name.lower()}' command"), "error")
        return
    handler(server, conn, slot, command.args)
