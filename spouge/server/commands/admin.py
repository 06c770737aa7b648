"""The administrative commands: PING, ECHO, INFO, QUIT, COMMAND, CONFIG, AUTH, HELLO, CLIENT.

Owns: the connection-level and introspection commands (nothing here computes).
Replies follow Redis 7's shapes so that redis-cli (``help``, hints,
``--stat``), redis-py (``r.command()`` under RESP2 and RESP3, ``r.info()``,
``r.config_get()``), ioredis and node-redis work unchanged:
- COMMAND entries have Redis 7's ten fields (name, arity, flags, first key,
  last key, step, ACL categories, tips, key specs, subcommands); flags are
  sets under RESP3.  COMMAND DOCS gives summary, since, group and the
  arguments (``table.SPECS``), which redis-cli turns into ``help`` and hints.
- INFO [section ...] has Redis's section names and the fields tools read
  (used_memory, connected_clients, blocked_clients, total_commands_processed,
  instantaneous_ops_per_sec, loading, ...) plus spouge's own (cache, pool).
- CONFIG GET pattern [pattern ...]: glob patterns over the usual keys, read
  from the server's configuration; CONFIG SET is refused (set at start).
"""

from __future__ import annotations

import fnmatch
import os
import platform
import resource
import time
from typing import Any

from ...protocol import resp
from .table import REDIS_COMMANDS, SPECS, redis_command


@redis_command("PING", 0, 1, summary="Returns PONG, or the message given", group="connection",
               arguments=({"name": "message", "type": "string", "flags": ("optional",)},))
def _ping(server, conn, slot, args) -> None:
    conn.complete(slot, resp.bulk(args[0]) if args else resp.PONG, "ok")


@redis_command("ECHO", 1, 1, summary="Returns the given string", group="connection",
               arguments=({"name": "message", "type": "string"},))
def _echo(server, conn, slot, args) -> None:
    conn.complete(slot, resp.bulk(args[0]), "ok")


@redis_command("INFO", 0, 64, summary="Returns information and statistics about the server", flags=("loading", "stale"),
               arguments=({"name": "section", "type": "string", "flags": ("optional", "multiple")},))
def _info(server, conn, slot, args) -> None:
    sections = [a.decode("latin-1").lower() for a in args]
    conn.complete(slot, resp.bulk(info_text(server, sections)), "ok")


def _used_memory() -> tuple[int, int]:
    """(resident bytes now, peak resident bytes) of this process."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE"), peak
    except (OSError, ValueError, IndexError):
        return peak, peak


def _human(n: float) -> str:
    for unit in ("B", "K", "M", "G"):
        if n < 1024 or unit == "G":
            return f"{n:.2f}{unit}" if unit != "B" else f"{int(n)}B"
        n /= 1024
    return f"{n:.2f}G"


def _ops_per_second(server) -> int:
    """Commands per second over the last few seconds, from samples taken at each INFO (0 until there are two)."""
    samples = server.__dict__.setdefault("_info_ops_samples", [])
    now, total = time.monotonic(), server.metrics.total_requests
    samples.append((now, total))
    while len(samples) > 2 and now - samples[1][0] >= 1.0:
        samples.pop(0)  # keep the oldest sample at least 1 s back, drop older ones
    then, before = samples[0]
    return round((total - before) / (now - then)) if now - then >= 0.05 else 0


def _blocked_clients(server) -> int:
    """Connections waiting for a pooled computation (Redis: clients blocked on a command)."""
    return sum(1 for c in server.connections if any(s.job is not None for s in c.order.slots))


#: INFO's sections in order; "default", "all" and "everything" ask for all of them.
INFO_SECTIONS = ("server", "clients", "memory", "persistence", "stats", "cpu", "cache", "pool", "keyspace")


def info_text(server, sections: list[str] | None = None) -> str:
    """INFO's text for these sections (all when none); unknown section names give nothing, as in Redis."""
    wanted = set(sections or ()) - {"default", "all", "everything"}
    if not wanted:
        wanted = set(INFO_SECTIONS)
    pool, metrics, config = server.pool, server.metrics, server.config
    uptime = server.uptime()
    used, peak = _used_memory()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cache_bytes = getattr(getattr(server.cache, "budget", None), "used", 0)
    fields = {
        "server": [
            ("redis_version", "7.0.0"), ("spouge_version", __import__("spouge").__version__),
            ("redis_mode", "standalone"),
            ("os", f"{platform.system()} {platform.release()} {platform.machine()}"), ("arch_bits", 64),
            ("multiplexing_api", "selectors"), ("process_id", os.getpid()), ("tcp_port", server.address[1]),
            ("uptime_in_seconds", int(uptime)), ("uptime_in_days", int(uptime // 86400)), ("hz", 10),
            ("executable", "spouge"),
        ],
        "clients": [
            ("connected_clients", len(server.connections)), ("blocked_clients", _blocked_clients(server)),
            ("maxclients", config.max_clients), ("rejected_connections", metrics.rejected_connections),
        ],
        "memory": [
            ("used_memory", used), ("used_memory_human", _human(used)), ("used_memory_rss", used),
            ("used_memory_rss_human", _human(used)), ("used_memory_peak", peak),
            ("used_memory_peak_human", _human(peak)),
            ("maxmemory", config.cache_memory), ("maxmemory_human", _human(config.cache_memory)),
            ("maxmemory_policy", "allkeys-lru"), ("cache_used_memory", cache_bytes),
        ],
        "persistence": [("loading", 0), ("rdb_changes_since_last_save", 0), ("aof_enabled", 0)],
        "stats": [
            ("total_connections_received", metrics.connections_total),
            ("total_commands_processed", metrics.total_requests),
            ("instantaneous_ops_per_sec", _ops_per_second(server)),
            ("rejected_connections", metrics.rejected_connections),
            ("keyspace_hits", server.cache.hits), ("keyspace_misses", server.cache.misses),
            ("protocol_errors", metrics.protocol_errors),
        ],
        "cpu": [("used_cpu_sys", f"{usage.ru_stime:.6f}"), ("used_cpu_user", f"{usage.ru_utime:.6f}")],
        "cache": [
            ("cache_entries", len(server.cache)), ("cache_size", config.cache_size), ("cache_hits", server.cache.hits),
            ("cache_misses", server.cache.misses), ("frame_cache_hits", server.fast.hits),
            ("frame_cache_bytes", server.fast.bytes),
            *_shared_fields(server),
        ],
        "pool": [
            ("pool_workers", len(pool.workers) if pool else 0), ("pool_busy", pool.busy if pool else 0),
            ("pool_queue", len(pool.queue) if pool else 0), ("pool_completed", pool.stats["completed"] if pool else 0),
            ("pool_timeouts", pool.stats["timeouts"] if pool else 0),
            ("pool_crashes", pool.stats["crashes"] if pool else 0),
        ],
        "keyspace": [],  # no keys: spouge computes, it does not store
    }
    lines = []
    for name in INFO_SECTIONS:
        if name in wanted:
            lines.append(f"# {name.capitalize()}")
            lines.extend(f"{key}:{value}" for key, value in fields[name])
            lines.append("")
    return "\r\n".join(lines)


def _config_values(server) -> dict[str, str]:
    """CONFIG GET's keys (Redis's names where one fits; spouge's own prefixed "spouge-")."""
    c = server.config
    return {
        "bind": c.host, "port": str(server.address[1]), "maxclients": str(c.max_clients),
        "timeout": str(int(c.idle_timeout)), "databases": "1", "save": "", "appendonly": "no",
        "maxmemory": str(c.cache_memory), "maxmemory-policy": "allkeys-lru", "tcp-backlog": str(c.backlog),
        "tls-port": str(server.address[1]) if c.tls_cert else "0", "protected-mode": "no",
        "client-output-buffer-limit":
            f"normal {c.output_hard_limit} {c.output_soft_limit} {int(c.output_soft_seconds)}",
        "spouge-max-digits": str(c.max_digits), "spouge-jobs": str(c.jobs),
        "spouge-compute-timeout": f"{c.compute_timeout:g}",
        "spouge-inline-budget": f"{c.inline_budget:g}", "spouge-max-queue": str(c.max_queue),
        "spouge-cache-size": str(c.cache_size), "spouge-request-timeout": f"{c.request_timeout:g}",
    }


CONFIG_HELP = (
    "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "GET <pattern> [<pattern> ...]",
    "    Return parameters matching the glob-like <pattern> and their values.",
    "SET <directive> <value>",
    "    Refused: spouge is configured by its command line (spouge serve --help).",
    "HELP",
    "    Print this help.",
)


@redis_command("CONFIG", 1, 64, summary="CONFIG GET pattern [pattern ...]: the server's configuration",
               flags=("admin", "noscript", "loading", "stale"),
               arguments=({"name": "subcommand", "type": "string"},
                          {"name": "pattern", "type": "pattern", "flags": ("multiple",)}))
def _config(server, conn, slot, args) -> None:
    sub = args[0].decode("latin-1").upper()
    if sub == "GET":
        if len(args) < 2:
            conn.complete(slot, resp.error("ERR wrong number of arguments for 'config|get' command"), "error")
            return
        values = _config_values(server)
        found: dict[str, str] = {}
        for pattern in args[1:]:
            pattern = pattern.decode("latin-1").lower()
            found.update({key: value for key, value in values.items() if fnmatch.fnmatchcase(key, pattern)})
        reply = resp.map([(resp.bulk(k), resp.bulk(v)) for k, v in found.items()], conn.protocol)
        conn.complete(slot, reply, "ok")
    elif sub == "SET":
        conn.complete(slot, resp.error("ERR CONFIG SET is not supported: spouge is configured by its command line"),
                      "error")
    elif sub == "RESETSTAT":
        conn.complete(slot, resp.error("ERR CONFIG RESETSTAT is not supported: the counters are Prometheus counters"),
                      "error")
    elif sub == "HELP":
        conn.complete(slot, resp.array([resp.simple(line) for line in CONFIG_HELP]), "ok")
    else:
        conn.complete(slot, resp.error(f"ERR unknown subcommand '{sub[:40]}'. Try CONFIG HELP."), "error")


@redis_command("QUIT", 0, 0, summary="Closes the connection", group="connection",
               flags=("noscript", "loading", "stale", "fast", "no_auth"))
def _quit(server, conn, slot, args) -> None:
    conn.close_after_reply(slot)
    conn.complete(slot, resp.OK, "ok")


def _set(items: list[bytes], protocol: int) -> bytes:
    """A RESP3 set, or an array under RESP2 (as Redis sends flags)."""
    return (b"~%d\r\n" % len(items) if protocol == 3 else b"*%d\r\n" % len(items)) + b"".join(items)


#: ACL categories by group (COMMAND's seventh field).
_CATEGORIES = {"spouge": ("@read", "@slow"), "connection": ("@fast", "@connection"), "server": ("@slow", "@admin"),
               "transactions": ("@fast", "@transaction")}


def _command_entry(name: str, protocol: int) -> bytes:
    """COMMAND's entry for one command, as Redis 7 shapes it (ten fields; no keys, tips or subcommands)."""
    spec = SPECS[name]
    flags = _set([resp.simple(flag) for flag in spec.flags], protocol)
    categories = _set([resp.simple(c) for c in _CATEGORIES.get(spec.group, ("@slow",))], protocol)
    return resp.array([resp.bulk(name.lower()), resp.integer(spec.arity), flags, resp.integer(0), resp.integer(0),
                       resp.integer(0), categories, resp.array([]), resp.array([]), resp.array([])])


def _encode(value, protocol: int) -> bytes:
    """A docs value: dict -> map, tuple/list -> array, int -> integer, str -> bulk."""
    if isinstance(value, dict):
        pairs = []
        for key, item in value.items():
            encoded = _set([resp.simple(f) for f in item], protocol) if key == "flags" else _encode(item, protocol)
            pairs.append((resp.bulk(key), encoded))
        return resp.map(pairs, protocol)
    if isinstance(value, (list, tuple)):
        return resp.array([_encode(item, protocol) for item in value])
    if isinstance(value, int):
        return resp.integer(value)
    return resp.bulk(str(value))


def _argument_doc(argument: dict) -> dict:
    """One argument's COMMAND DOCS map: name, type, display_text, token, flags, nested arguments."""
    doc = {"name": argument["name"], "type": argument["type"]}
    if argument["type"] not in ("pure-token", "oneof", "block"):
        doc["display_text"] = argument["name"]
    if "token" in argument:
        doc["token"] = argument["token"]
    if argument.get("flags"):
        doc["flags"] = tuple(argument["flags"])
    if argument.get("arguments"):
        doc["arguments"] = [_argument_doc(a) for a in argument["arguments"]]
    return doc


def _command_docs(name: str, protocol: int) -> tuple[bytes, bytes]:
    spec = SPECS[name]
    docs: dict[str, Any] = {"summary": spec.summary or name.lower(), "since": spec.since, "group": spec.group,
            "complexity": "O(digits^2 log digits) per value" if spec.group == "spouge" else "O(1)"}
    if spec.arguments:
        docs["arguments"] = [_argument_doc(a) for a in spec.arguments]
    return resp.bulk(name.lower()), _encode(docs, protocol)


COMMAND_HELP = (
    "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "(no subcommand)",
    "    Return details about all commands.",
    "COUNT",
    "    Return the total number of commands in this server.",
    "LIST",
    "    Return a list of all commands in this server.",
    "INFO [<command-name> ...]",
    "    Return details about multiple commands.",
    "    If no command names are given, documentation details for all",
    "    commands are returned.",
    "DOCS [<command-name> ...]",
    "    Return documentation details about multiple commands.",
    "    If no command names are given, documentation details for all",
    "    commands are returned.",
    "GETKEYS <full-command>",
    "    Return the keys from a full command (spouge has none).",
    "HELP",
    "    Print this help.",
)


@redis_command("COMMAND", 0, 1024, summary="Returns detailed information about all commands",
               flags=("loading", "stale"),
               arguments=({"name": "subcommand", "type": "oneof", "flags": ("optional",), "arguments": tuple(
                   {"name": s.lower(), "type": "pure-token", "token": s}
                   for s in ("COUNT", "LIST", "INFO", "DOCS", "GETKEYS", "HELP"))},))
def _command(server, conn, slot, args) -> None:
    sub = args[0].decode("latin-1").upper() if args else ""
    names = sorted(REDIS_COMMANDS)
    protocol = conn.protocol
    status = "ok"
    if sub == "":
        reply = resp.array([_command_entry(n, protocol) for n in names])
    elif sub == "COUNT":
        reply = resp.integer(len(names))
    elif sub == "LIST":
        reply = resp.array([resp.bulk(n.lower()) for n in names])
    elif sub == "INFO":
        wanted = [a.decode("latin-1").upper() for a in args[1:]] or names
        reply = resp.array([_command_entry(n, protocol) if n in REDIS_COMMANDS else resp.null(protocol)
                            for n in wanted])
    elif sub == "DOCS":
        wanted = [a.decode("latin-1").upper() for a in args[1:]] or names
        reply = resp.map([_command_docs(n, protocol) for n in wanted if n in SPECS], protocol)
    elif sub == "HELP":
        reply = resp.array([resp.simple(line) for line in COMMAND_HELP])
    elif sub in {"GETKEYS", "GETKEYSANDFLAGS"}:
        reply, status = resp.error("ERR The command has no key arguments"), "error"
    else:
        reply, status = resp.error(f"ERR unknown subcommand '{sub[:40]}'. Try COMMAND HELP."), "error"
    conn.complete(slot, reply, status)


@redis_command("AUTH", 1, 2, summary="Authenticates the connection", group="connection",
               flags=("noscript", "loading", "stale", "fast", "no_auth"),
               arguments=({"name": "username", "type": "string", "flags": ("optional",)},
                          {"name": "password", "type": "string"}))
def _auth(server, conn, slot, args) -> None:
    user, password = (None, args[0]) if len(args) == 1 else (args[0], args[1])
    problem = server.check_auth(conn, user, password)
    conn.complete(slot, resp.error(problem) if problem else resp.OK, "error" if problem else "ok")


@redis_command("HELLO", 0, 6, summary="Handshakes with the server (protocol version, AUTH, SETNAME)",
               group="connection",
               flags=("noscript", "loading", "stale", "fast", "no_auth"),
               arguments=({"name": "protover", "type": "integer", "flags": ("optional",)},))
def _hello(server, conn, slot, args) -> None:
    """HELLO [protover [AUTH user pass] [SETNAME name]]: redis-py 8 opens every connection with HELLO 3.

    As Redis's helloCommand: options are checked and AUTH tried first; an
    unauthenticated client then gets NOAUTH and *nothing* takes effect (no
    protocol switch, no name).
    """
    version = name = credentials = None
    if args:
        text = args[0].decode("latin-1")
        if text not in ("2", "3"):
            conn.complete(slot, resp.error("NOPROTO unsupported protocol version"), "error")
            return
        version = int(text)
        rest = list(args[1:])
        while rest:
            option = rest.pop(0).decode("latin-1").upper()
            if option == "AUTH" and len(rest) >= 2:
                credentials = (rest.pop(0), rest.pop(0))
            elif option == "SETNAME" and rest:
                name = rest.pop(0)[:128]
            else:
                conn.complete(slot, resp.error(f"ERR Syntax error in HELLO option '{option[:40]}'"), "error")
                return
    if credentials is not None:
        problem = server.check_auth(conn, *credentials)
        if problem:
            conn.complete(slot, resp.error(problem), "error")
            return
    if not server.authenticated(conn):
        conn.complete(slot,
                      resp.error("NOAUTH HELLO must be called with the client already authenticated, otherwise the "
                                  "HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client "
                                  "and select the RESP protocol version at the same time"), "noauth")
        return
    if version is not None:
        conn.protocol = version
    if name is not None:
        conn.name = name
    protocol = conn.protocol
    info = [
        (resp.bulk("server"), resp.bulk("spouge")),
        (resp.bulk("version"), resp.bulk(__import__("spouge").__version__)),
        (resp.bulk("proto"), resp.integer(protocol)),
        (resp.bulk("id"), resp.integer(conn.id)),
        (resp.bulk("mode"), resp.bulk("standalone")),
        (resp.bulk("role"), resp.bulk("master")),
        (resp.bulk("modules"), resp.array([])),
    ]
    conn.complete(slot, resp.map(info, protocol), "ok")


@redis_command("CLIENT", 1, 8, summary="CLIENT SETNAME|GETNAME|ID|SETINFO", group="connection",
               flags=("loading", "stale"),
               arguments=({"name": "subcommand", "type": "string"},))
def _client(server, conn, slot, args) -> None:
    sub = args[0].decode("latin-1").upper()
    if sub in ("SETINFO", "SETNAME"):  # redis-py sends SETINFO on connect
        if sub == "SETNAME" and len(args) == 2:
            conn.name = args[1][:128]
        reply = resp.OK
    elif sub == "GETNAME":
        reply = resp.bulk(conn.name) if conn.name else resp.null(conn.protocol)
    elif sub == "ID":
        reply = resp.integer(conn.id)
    else:
        reply = resp.error(f"ERR unknown subcommand '{sub[:40]}'")
    conn.complete(slot, reply, "ok" if reply[:1] != b"-" else "error")


def _shared_fields(server) -> list[tuple[str, object]]:
    """The shared cache in Redis (--cache-redis): its state and counters, as INFO fields."""
    shared = server.shared
    if shared is None:
        return [("shared_cache", "off")]
    fields: list[tuple[str, object]] = [("shared_cache", "up" if shared.ready else "down")]
    fields += [(f"shared_cache_{name}", value) for name, value in shared.stats.items()]
    fields.append(("shared_cache_served", server.computer.stats["shared_hits"]))
    return fields
