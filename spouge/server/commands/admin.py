"""The administrative commands: PING, ECHO, INFO, QUIT, COMMAND, AUTH, HELLO, CLIENT.

Owns: the connection-level and introspection commands (nothing here computes).
Replies follow Redis's shapes so that redis-cli, redis-py and other clients
work unchanged; COMMAND reports what ``table.SPECS`` holds.
"""

from __future__ import annotations

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


@redis_command("INFO", 0, 1, summary="Returns information and statistics about the server", flags=("loading", "stale"),
               arguments=({"name": "section", "type": "string", "flags": ("optional", "multiple")},))
def _info(server, conn, slot, args) -> None:
    conn.complete(slot, resp.bulk(server.info_text()), "ok")


@redis_command("QUIT", 0, 0, summary="Closes the connection", group="connection", flags=("noscript", "loading", "stale", "fast", "no_auth"))
def _quit(server, conn, slot, args) -> None:
    conn.close_after_reply(slot)
    conn.complete(slot, resp.OK, "ok")


def _command_entry(name: str) -> bytes:
    """COMMAND's per-command entry, as Redis 2.8+ describes it: name, arity (negative: at least), flags, first key, last key, step."""
    spec = SPECS[name]
    flags = [resp.simple(flag) for flag in spec.flags]
    return resp.array([resp.bulk(name.lower()), resp.integer(spec.arity), resp.array(flags), resp.integer(0), resp.integer(0), resp.integer(0)])


@redis_command("COMMAND", 0, 1024, summary="Returns detailed information about all commands", flags=("loading", "stale"),
               arguments=({"name": "subcommand", "type": "string", "flags": ("optional",)},))
def _command(server, conn, slot, args) -> None:
    sub = args[0].decode("latin-1").upper() if args else ""
    names = sorted(REDIS_COMMANDS)
    if sub == "":
        reply = resp.array([_command_entry(n) for n in names])
    elif sub == "COUNT":
        reply = resp.integer(len(names))
    elif sub == "LIST":
        reply = resp.array([resp.bulk(n.lower()) for n in names])
    elif sub == "INFO":
        wanted = [a.decode("latin-1").upper() for a in args[1:]] or names
        reply = resp.array([_command_entry(n) if n in REDIS_COMMANDS else resp.null(conn.protocol) for n in wanted])
    elif sub == "DOCS":  # redis-cli asks for these to show hints; we have none to add
        reply = resp.array([])
    else:
        reply = resp.error(f"ERR unknown subcommand '{sub[:40]}'. Try COMMAND HELP.")
    conn.complete(slot, reply, "ok")


@redis_command("AUTH", 1, 2, summary="Authenticates the connection", group="connection", flags=("noscript", "loading", "stale", "fast", "no_auth"),
               arguments=({"name": "username", "type": "string", "flags": ("optional",)}, {"name": "password", "type": "string"}))
def _auth(server, conn, slot, args) -> None:
    user, password = (None, args[0]) if len(args) == 1 else (args[0], args[1])
    problem = server.check_auth(conn, user, password)
    conn.complete(slot, resp.error(problem) if problem else resp.OK, "error" if problem else "ok")


@redis_command("HELLO", 0, 6, summary="Handshakes with the server (protocol version, AUTH, SETNAME)", group="connection",
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
        conn.complete(slot, resp.error("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time"), "noauth")
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


@redis_command("CLIENT", 1, 8, summary="CLIENT SETNAME|GETNAME|ID|SETINFO", group="connection", flags=("loading", "stale"),
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
