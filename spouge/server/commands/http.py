"""The HTTP routes: /v1/<function> for every function, /v1/method, /health, /metrics and the page at /.

Owns: routing, query parameters and JSON replies (errors are {"error", "status"}
with a 4xx/5xx status).  A function route takes its arguments by name
(``compute.ARGUMENTS``: x; a and b; n and k; x and n) plus digits=, bits=
(not both) and rounding=; its 200 body is ``compute.outcome``'s dict.
"""

from __future__ import annotations

import os
from functools import lru_cache

from ...numerics import corebridge
from ...protocol import HttpRequest, http_response, resp
from ..compute import ARGUMENTS, ComputeError
from .table import http_label

ROUTES = {f"/v1/{name}": name for name in ARGUMENTS}
#: Files of static/ served as they are, open like the page (browsers ask for the icon without credentials).
STATIC_FILES = {"/favicon.svg": ("favicon.svg", "image/svg+xml"), "/favicon.ico": ("favicon.svg", "image/svg+xml"),
                "/method": ("method.html", "text/html; charset=utf-8")}
OTHER_ROUTES = ("/", "/health", "/metrics", "/v1/method", *STATIC_FILES)
#: Parameters every function route takes besides its arguments.
OPTION_PARAMS = ("digits", "bits", "rounding")
METHOD_PARAMS = {"function", "x", "max_a", "a"}
PAGE_PATH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "static", "index.html")


def internal_error_reply(http: bool, request) -> bytes:
    if http:
        return _json_error(500, "internal error (logged on the server)", request)
    return resp.error("ERR internal error (logged on the server)")


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
    from ...numerics.method import MAX_A

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
            conn.complete(slot, _json_error(outcome.http_status, outcome.message, request),
                          http_label(outcome.http_status))
            return
        data = http_response(200, outcome, keep_alive=request.keep_alive, version=request.version, head=head)
        server.replies.put(key, data)
        conn.complete(slot, data, "200")

    server.compute_method(slot, function, query["x"], max_a, a, reply)


def handle_http(server, conn, slot, request: HttpRequest) -> None:
    if not request.keep_alive:
        conn.close_after_reply(slot)
    if (request.path not in ("/health", "/") and request.path not in STATIC_FILES
            and not server.check_bearer(request.headers.get("authorization"))):
        body = http_response(401,
                             {"error": "authentication required: send Authorization: Bearer <password>", "status": 401},
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
                             keep_alive=request.keep_alive, version=request.version,
                             extra_headers=(("Allow", "GET, HEAD"),))
        conn.complete(slot, body, "405")
        return
    if path == "/":
        conn.complete(slot,
                      http_response(200, page_bytes(), content_type="text/html; charset=utf-8",
                                    keep_alive=request.keep_alive,
                                          version=request.version, head=head,
                                          extra_headers=(("Cache-Control", "no-cache"),)), "200")
        return
    if path in STATIC_FILES:
        name, content_type = STATIC_FILES[path]
        conn.complete(slot, http_response(200, static_bytes(name), content_type=content_type,
                                          keep_alive=request.keep_alive, version=request.version, head=head,
                                          extra_headers=(("Cache-Control", "no-cache"),)), "200")
        return
    if path == "/v1/method":
        _method_route(server, conn, slot, request, key, head)
        return
    if path == "/health":
        pool = server.pool
        state = "draining" if server.draining else "overloaded" if pool is not None and pool.saturated else "ok"
        status = 200 if state == "ok" else 503
        health = {"status": state, "uptime_seconds": round(server.uptime(), 3),
                  "max_digits": server.config.max_digits, "core": corebridge.description}
        conn.complete(slot,
                      http_response(status, health, keep_alive=request.keep_alive, version=request.version, head=head),
                      http_label(status))
        return
    if path == "/metrics":
        text = server.metrics_text()
        conn.complete(slot, http_response(200, text, content_type="text/plain; version=0.0.4; charset=utf-8",
                                          keep_alive=request.keep_alive, version=request.version, head=head), "200")
        return
    function = ROUTES[path]
    query = request.query
    names = ARGUMENTS[function]
    if request.duplicate_params:
        conn.complete(slot, _json_error(400, f"parameter {request.duplicate_params[0][:50]!r} given twice", request),
                      "400")
        return
    unknown = sorted(set(query) - set(names) - set(OPTION_PARAMS))
    if unknown:
        expected = ", ".join(names + OPTION_PARAMS)
        conn.complete(slot, _json_error(400, f"unknown parameter {unknown[0][:50]!r} (expected {expected})", request),
                      "400")
        return
    missing = [name for name in names if name not in query]
    if missing:
        conn.complete(slot, _json_error(400, f"missing parameter {missing[0]}", request), "400")
        return

    def reply(outcome) -> None:
        if isinstance(outcome, ComputeError):
            status = outcome.http_status
            conn.complete(slot, _json_error(status, outcome.message, request), http_label(status))
        else:
            data = http_response(200, outcome, keep_alive=request.keep_alive, version=request.version, head=head)
            server.replies.put(key, data)
            conn.complete(slot, data, "200")

    args = query[names[0]] if len(names) == 1 else tuple(query[name] for name in names)
    server.compute(slot, function, args, query.get("digits"), reply, rounding=query.get("rounding"),
                   bits=query.get("bits"))
