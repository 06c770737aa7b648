"""The command table: what each request means, for both dialects.

Owns: the RESP/inline commands (FACTORIAL, GAMMA, LGAMMA, PING, ECHO, INFO,
QUIT, COMMAND, CLIENT), the HTTP routes (/v1/<function>, /health, /metrics),
and how an outcome becomes a reply in each dialect.

A handler gets (server, conn, slot, request) and must eventually call
``conn.complete(slot, reply_bytes, status)`` exactly once: at once for cheap
answers, later for pooled computations.  ``status`` is a label for the
metrics and always one of ``STATUS_LABELS`` (a fixed set: nothing a client
sends becomes a label); HTTP statuses go through ``http_label``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import lru_cache

from ..protocol import Command, HttpRequest, http_response, resp
from ..numerics import corebridge
from .compute import ComputeError

#: Every status this module passes to conn.complete (connection.py adds
#: "protocol_error" and "500" of its own).
STATUS_LABELS = frozenset({"ok", "error", "noauth", "200", "400", "401", "404", "405", "422", "500", "503", "504"})


def http_label(status: int) -> str:
    label = str(status)
    return label if label in STATUS_LABELS else "error"


REDIS_COMMANDS: dict[str, tuple[Callable, int, int]] = {}  # name -> (handler, min args, max args)


def redis_command(name: str, min_args: int, max_args: int):
    def register(fn: Callable) -> Callable:
        REDIS_COMMANDS[name] = (fn, min_args, max_args)
        return fn

    return register


def _text(arg: bytes, what: str) -> str:
    try:
        return arg.decode("utf-8")
    except UnicodeDecodeError:
        raise ComputeError("bad_request", f"{what} is not valid UTF-8") from None


def _resp_outcome(outcome) -> tuple[bytes, str]:
    if isinstance(outcome, ComputeError):
        return resp.error(f"ERR {outcome.message}"), "error"
    return resp.bulk(outcome["value"]), "ok"


#: Commands a client may send before it authenticates (Redis's "no-auth" flag).
NO_AUTH_COMMANDS = frozenset({"AUTH", "HELLO", "QUIT"})


def handle_redis(server, conn, slot, command: Command) -> None:
    if not conn.authenticated and command.name not in NO_AUTH_COMMANDS and server.password is not None:
        conn.complete(slot, resp.error("NOAUTH Authentication required."), "noauth")
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


def _compute_command(function: str):
    def handler(server, conn, slot, args) -> None:
        key = (function, args, conn.protocol)
        cached = server.replies.get(key)
        if cached is not None:
            server.fast.remember(conn.protocol, slot.command, args, cached)
            conn.complete(slot, cached, "ok")
            return
        try:
            x = _text(args[0], "x")
            digits = _text(args[1], "digits") if len(args) > 1 else None
        except ComputeError as exc:
            conn.complete(slot, *_resp_outcome(exc))
            return

        def reply(outcome) -> None:
            data, status = _resp_outcome(outcome)
            if status == "ok":
                server.replies.put(key, data)
                server.fast.remember(conn.protocol, slot.command, args, data)
            conn.complete(slot, data, status)

        server.compute(slot, function, x, digits, reply)

    return handler


for _name in ("factorial", "gamma", "lgamma"):
    redis_command(_name.upper(), 1, 2)(_compute_command(_name))


@redis_command("PING", 0, 1)
def _ping(server, conn, slot, args) -> None:
    conn.complete(slot, resp.bulk(args[0]) if args else resp.PONG, "ok")


@redis_command("ECHO", 1, 1)
def _echo(server, conn, slot, args) -> None:
    conn.complete(slot, resp.bulk(args[0]), "ok")


@redis_command("INFO", 0, 1)
def _info(server, conn, slot, args) -> None:
    conn.complete(slot, resp.bulk(server.info_text()), "ok")


@redis_command("QUIT", 0, 0)
def _quit(server, conn, slot, args) -> None:
    conn.close_after_reply(slot)
    conn.complete(slot, resp.OK, "ok")


#: COMMAND's per-command entries, as Redis 2.8+ describes them: name, arity
#: (negative: at least), flags, first key, last key, step.
_ARITY = {"FACTORIAL": -2, "GAMMA": -2, "LGAMMA": -2, "PING": -1, "ECHO": 2, "INFO": -1, "QUIT": -1, "COMMAND": -1, "CLIENT": -2, "HELLO": -1, "AUTH": -2}


def _command_entry(name: str) -> bytes:
    flags = [resp.simple("readonly"), resp.simple("fast" if name in ("PING", "ECHO") else "loading")]
    return resp.array([resp.bulk(name.lower()), resp.integer(_ARITY.get(name, -1)), resp.array(flags), resp.integer(0), resp.integer(0), resp.integer(0)])


@redis_command("COMMAND", 0, 1024)
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


@redis_command("AUTH", 1, 2)
def _auth(server, conn, slot, args) -> None:
    user, password = (None, args[0]) if len(args) == 1 else (args[0], args[1])
    problem = server.check_auth(conn, user, password)
    conn.complete(slot, resp.error(problem) if problem else resp.OK, "error" if problem else "ok")


@redis_command("HELLO", 0, 6)
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


@redis_command("CLIENT", 1, 8)
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


def internal_error_reply(http: bool, request) -> bytes:
    if http:
        return _json_error(500, "internal error (logged on the server)", request)
    return resp.error("ERR internal error (logged on the server)")


# --- HTTP --------------------------------------------------------------------
ROUTES = {f"/v1/{name}": name for name in ("factorial", "gamma", "lgamma")}
#: Files of static/ served as they are, open like the page (browsers ask for the icon without credentials).
STATIC_FILES = {"/favicon.svg": ("favicon.svg", "image/svg+xml"), "/favicon.ico": ("favicon.svg", "image/svg+xml"),
                "/method": ("method.html", "text/html; charset=utf-8")}
OTHER_ROUTES = ("/", "/health", "/metrics", "/v1/method", *STATIC_FILES)
ALLOWED_PARAMS = {"x", "digits"}
METHOD_PARAMS = {"function", "x", "max_a", "a"}
PAGE_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "static", "index.html")


@lru_cache(maxsize=1)
def page_bytes() -> bytes:
    with open(PAGE_PATH, "rb") as f:
        return f.read()


@lru_cache(maxsize=len(STATIC_FILES))
def static_bytes(name: str) -> bytes:
    with open(os.path.join(os.path.dirname(PAGE_PATH), name), "rb") as f:
        return f.read()


def _json_error(status: int, message: str, request: HttpRequest, keep_alive: bool | None = None) -> bytes:
    return http_response(
        status, {"error": message, "status": status},
        keep_alive=request.keep_alive if keep_alive is None else keep_alive,
        version=request.version, head=request.method == "HEAD",
    )


def _int_param(query: dict, name: str, default: int, low: int, high: int) -> int:
    text = query.get(name, "")
    if text == "":
        return default
    if not text.isascii() or not text.isdigit() or len(text) > 6:
        raise ComputeError("bad_request", f"{name} must be an integer, not {text[:40]!r}")
    value = int(text)
    if not low <= value <= high:
        raise ComputeError("unprocessable", f"{name} must be between {low} and {high}, not {value}")
    return value


def _method_route(server, conn, slot, request: HttpRequest, key, head: bool) -> None:
    """GET /v1/method?function=gamma&x=4.5&max_a=40&a=20: Spouge's error against a, and each term."""
    from ..numerics.method import MAX_A

    query = request.query
    try:
        unknown = sorted(set(query) - METHOD_PARAMS)
        if unknown:
            raise ComputeError("bad_request", f"unknown parameter {unknown[0][:50]!r} (expected function, x, max_a, a)")
        if "x" not in query:
            raise ComputeError("bad_request", "missing parameter x")
        function = query.get("function", "gamma")
        if function not in ("factorial", "gamma", "lgamma"):
            raise ComputeError("bad_request", f"function must be factorial, gamma or lgamma, not {function[:40]!r}")
        max_a = _int_param(query, "max_a", 40, 3, MAX_A)
        a = _int_param(query, "a", 20, 3, MAX_A)
    except ComputeError as exc:
        conn.complete(slot, _json_error(exc.http_status, exc.message, request), http_label(exc.http_status))
        return

    def reply(outcome) -> None:
        if isinstance(outcome, ComputeError):
            conn.complete(slot, _json_error(outcome.http_status, outcome.message, request), http_label(outcome.http_status))
            return
        data = http_response(200, outcome, keep_alive=request.keep_alive, version=request.version, head=head)
        server.replies.put(key, data)
        conn.complete(slot, data, "200")

    server.compute_method(slot, function, query["x"], max_a, a, reply)


def handle_http(server, conn, slot, request: HttpRequest) -> None:
    if not request.keep_alive:
        conn.close_after_reply(slot)
    if request.path not in ("/health", "/") and request.path not in STATIC_FILES and not server.check_bearer(request.headers.get("authorization")):
        body = http_response(401, {"error": "authentication required: send Authorization: Bearer <password>", "status": 401},
                             keep_alive=request.keep_alive, version=request.version, head=request.method == "HEAD",
                             extra_headers=(("WWW-Authenticate", 'Bearer realm="spouge"'),))
        conn.complete(slot, body, "401")
        return
    key = (request.method, request.target, request.keep_alive, request.version)
    cached = server.replies.get(key)
    if cached is not None:
        conn.complete(slot, cached, "200")
        return
    path = request.path
    head = request.method == "HEAD"
    if path not in ROUTES and path not in OTHER_ROUTES:
        conn.complete(slot, _json_error(404, f"no route {path[:200]}", request), "404")
        return
    if request.method not in ("GET", "HEAD"):
        body = http_response(405, {"error": f"method {request.method} not allowed on {path}", "status": 405},
                             keep_alive=request.keep_alive, version=request.version, extra_headers=(("Allow", "GET, HEAD"),))
        conn.complete(slot, body, "405")
        return
    if path == "/":
        conn.complete(slot, http_response(200, page_bytes(), content_type="text/html; charset=utf-8", keep_alive=request.keep_alive,
                                          version=request.version, head=head, extra_headers=(("Cache-Control", "no-cache"),)), "200")
        return
    if path in STATIC_FILES:
        name, content_type = STATIC_FILES[path]
        conn.complete(slot, http_response(200, static_bytes(name), content_type=content_type, keep_alive=request.keep_alive,
                                          version=request.version, head=head, extra_headers=(("Cache-Control", "no-cache"),)), "200")
        return
    if path == "/v1/method":
        _method_route(server, conn, slot, request, key, head)
        return
    if path == "/health":
        status = 503 if server.draining else 200
        body = {"status": "draining" if server.draining else "ok", "uptime_seconds": round(server.uptime(), 3),
                "max_digits": server.config.max_digits, "core": corebridge.description}
        conn.complete(slot, http_response(status, body, keep_alive=request.keep_alive, version=request.version, head=head), http_label(status))
        return
    if path == "/metrics":
        text = server.metrics_text()
        conn.complete(slot, http_response(200, text, content_type="text/plain; version=0.0.4; charset=utf-8",
                                          keep_alive=request.keep_alive, version=request.version, head=head), "200")
        return
    function = ROUTES[path]
    query = request.query
    if request.duplicate_params:
        conn.complete(slot, _json_error(400, f"parameter {request.duplicate_params[0]!r} given twice", request), "400")
        return
    unknown = sorted(set(query) - ALLOWED_PARAMS)
    if unknown:
        conn.complete(slot, _json_error(400, f"unknown parameter {unknown[0][:50]!r} (expected x and digits)", request), "400")
        return
    if "x" not in query:
        conn.complete(slot, _json_error(400, "missing parameter x", request), "400")
        return

    def reply(outcome) -> None:
        if isinstance(outcome, ComputeError):
            status = outcome.http_status
            conn.complete(slot, _json_error(status, outcome.message, request), http_label(status))
        else:
            data = http_response(200, outcome, keep_alive=request.keep_alive, version=request.version, head=head)
            server.replies.put(key, data)
            conn.complete(slot, data, "200")

    server.compute(slot, function, query["x"], query.get("digits"), reply)
