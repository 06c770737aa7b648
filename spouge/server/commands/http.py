"""The HTTP routes: /v1/<function> for every function, POST /v1/batch, /v1/method, /health, /metrics,
/openapi.json and the page at /.

Owns: routing, query parameters and JSON replies (errors are {"error", "status"}
with a 4xx/5xx status).  A function route takes its arguments by name
(``compute.ARGUMENTS``: x; a and b; n and k; x and n) plus digits=, bits=
(not both) and rounding=; its 200 body is ``compute.outcome``'s dict.

HTTP habits (issue 13): every response has ``Date`` (protocol/http.py puts it first; a reply kept in
``server.replies`` gets this second's date spliced in when served, ``refresh_date``).  Results never
change: a 200 result carries ``Cache-Control: public, max-age=31536000, immutable`` and a strong
``ETag`` (a hash of the body bytes), and ``If-None-Match`` (a list, W/ tags, ``*``) gets a 304 without
body; /health, /metrics and errors carry neither.  CORS only with ``--cors-origin``: then the allowed
origin is echoed (``Vary: Origin``), or ``*``, and OPTIONS is a preflight (204); without it no CORS header
is sent and OPTIONS is 405.  Requests with ``If-None-Match`` or (for listed origins) ``Origin`` are not
answered from, nor stored in, the reply cache: what it holds is the plain answer.
Every answered request is one line of the access log when there is one (accesslog.py).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from functools import lru_cache

from ...numerics import corebridge
from ...protocol import HttpRequest, http_response, resp
from ...protocol.http import refresh_date
from ..accesslog import response_body_size
from ..compute import ARGUMENTS, ComputeError
from .table import http_label

ROUTES = {f"/v1/{name}": name for name in ARGUMENTS}
BATCH_PATH = "/v1/batch"
OPENAPI_PATH = "/openapi.json"
#: Requests one POST /v1/batch may hold.  Its body must also fit the parser's 64 KiB body cap
#: (protocol/http.py MAX_BODY), which 1000 typical items (~45 bytes each) do.
MAX_BATCH = 1000
#: One slice of a batch's dispatch on the loop (inline items are computed as they are dispatched);
#: the rest of it waits for the next loop iteration, so other clients are served in between.
BATCH_SLICE_SECONDS = 0.002
RESULT_CACHE_CONTROL = "public, max-age=31536000, immutable"
#: Request headers a CORS preflight may announce (Access-Control-Allow-Headers) and its lifetime.
CORS_ALLOW_HEADERS = "Authorization, Content-Type, If-None-Match"
CORS_MAX_AGE = "86400"
#: Files of static/ served as they are, open like the page (browsers ask for the icon without credentials).
STATIC_FILES = {"/favicon.svg": ("favicon.svg", "image/svg+xml"), "/favicon.ico": ("favicon.svg", "image/svg+xml"),
                "/method": ("method.html", "text/html; charset=utf-8")}
OTHER_ROUTES = ("/", "/health", "/metrics", "/v1/method", OPENAPI_PATH, BATCH_PATH, *STATIC_FILES)
#: Paths answered without the bearer password (the page asks for them before it has one).
OPEN_PATHS = frozenset(("/", "/health", OPENAPI_PATH, *STATIC_FILES))
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


def _json_error(status: int, message: str, request: HttpRequest, keep_alive: bool | None = None,
                extra_headers: tuple[tuple[str, str], ...] = ()) -> bytes:
    return http_response(
        status, {"error": message, "status": status},
        keep_alive=request.keep_alive if keep_alive is None else keep_alive,
        version=request.version, head=request.method == "HEAD", extra_headers=extra_headers,
    )


def allowed_methods(path: str) -> str:
    return "POST" if path == BATCH_PATH else "GET, HEAD"


def etag_of(body: bytes) -> str:
    """A strong entity tag: the body bytes' hash (the same body always has the same tag, on every replica)."""
    return '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'


def none_match(header: str, etag: str) -> bool:
    """Does If-None-Match (``*``, or a list of tags, weak ones allowed: RFC 9110 13.1.2) match this tag?"""
    if header.strip() == "*":
        return True
    for tag in header.split(","):
        tag = tag.strip()
        if tag[:2] == "W/":
            tag = tag[2:]
        if tag == etag:
            return True
    return False


def cors_headers(server, request: HttpRequest) -> tuple[tuple[str, str], ...]:
    """CORS response headers for this request under --cors-origin (none without it)."""
    origins = server.config.cors_origins
    if not origins:
        return ()
    if "*" in origins:
        return (("Access-Control-Allow-Origin", "*"), ("Access-Control-Expose-Headers", "ETag"))
    origin = request.headers.get("origin")
    if origin is not None and origin in origins:
        return (("Access-Control-Allow-Origin", origin), ("Access-Control-Expose-Headers", "ETag"), ("Vary", "Origin"))
    return (("Vary", "Origin"),)


def _cacheable(server, request: HttpRequest) -> bool:
    """May this request be answered from (and its answer kept in) the reply cache?"""
    headers = request.headers
    if "if-none-match" in headers:
        return False
    origins = server.config.cors_origins
    return not (origins and "origin" in headers and "*" not in origins)


class _Answer:
    """Completes one HTTP request: CORS headers, the access log line, then ``conn.complete``."""

    __slots__ = ("conn", "cors", "request", "server", "slot")

    def __init__(self, server, conn, slot, request: HttpRequest) -> None:
        self.server, self.conn, self.slot, self.request = server, conn, slot, request
        self.cors = cors_headers(server, request)

    def raw(self, data: bytes, status: int) -> None:
        self.conn.complete(self.slot, data, http_label(status))
        log = self.server.access_log
        if log is not None:
            request = self.request
            log.write(self.conn.addr[0] if isinstance(self.conn.addr, tuple) else str(self.conn.addr),
                      request.method, request.target, request.version, status,
                      response_body_size(data, request.method == "HEAD"))

    def error(self, status: int, message: str, headers: tuple[tuple[str, str], ...] = ()) -> None:
        self.raw(_json_error(status, message, self.request, extra_headers=headers + self.cors), status)

    def send(self, status: int, body, *, content_type: str = "application/json",
             headers: tuple[tuple[str, str], ...] = ()) -> bytes:
        request = self.request
        data = http_response(status, body, content_type=content_type, keep_alive=request.keep_alive,
                             version=request.version, head=request.method == "HEAD",
                             extra_headers=headers + self.cors)
        self.raw(data, status)
        return data

    def result(self, body: bytes, *, content_type: str = "application/json",
               cache_control: str = RESULT_CACHE_CONTROL) -> bytes | None:
        """A representation with an ETag: 304 if If-None-Match matches it, else 200; the 200's bytes."""
        etag = etag_of(body)
        headers = (("Cache-Control", cache_control), ("ETag", etag))
        condition = self.request.headers.get("if-none-match")
        if condition is not None and none_match(condition, etag):
            self.send(304, b"", headers=headers)
            return None
        return self.send(200, body, content_type=content_type, headers=headers)


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


def _encode(outcome: dict) -> bytes:
    return json.dumps(outcome, separators=(",", ":"), allow_nan=False).encode()  # NaN/Infinity are not JSON


def _method_route(server, answer: _Answer, request: HttpRequest, key, cacheable: bool) -> None:
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
        answer.error(exc.http_status, exc.message)
        return

    def reply(outcome) -> None:
        if isinstance(outcome, ComputeError):
            answer.error(outcome.http_status, outcome.message)
            return
        data = answer.result(_encode(outcome))
        if data is not None and cacheable:
            server.replies.put(key, data)

    server.compute_method(answer.slot, function, query["x"], max_a, a, reply)


def handle_http(server, conn, slot, request: HttpRequest) -> None:
    if not request.keep_alive:
        conn.close_after_reply(slot)
    path = request.path
    method = request.method
    headers = request.headers
    # _cacheable, inline (this is the hot path of a repeated request)
    cacheable = "if-none-match" not in headers and not (server.config.cors_origins and "origin" in headers
                                                        and "*" not in server.config.cors_origins)
    key = (method, request.target, request.keep_alive, request.version)
    if cacheable:
        cached = server.replies.get(key)  # (a cached reply passed the password check when it was made)
        if cached is not None and (server.password is None or server.check_bearer(headers.get("authorization"))):
            data = refresh_date(cached)
            if data is not cached:  # the first hit of a new second: keep this second's bytes
                server.replies.put(key, data)
            size = response_body_size(data, method == "HEAD")
            server.fast.remember_http(request, data, path, size)  # the next time: fastreplies.py
            conn.complete(slot, data, "200")
            if server.access_log is not None:
                server.access_log.write(conn.addr[0] if isinstance(conn.addr, tuple) else str(conn.addr), method,
                                        request.target, request.version, 200, size)
            return
    answer = _Answer(server, conn, slot, request)
    preflight = method == "OPTIONS" and server.config.cors_origins
    if path not in OPEN_PATHS and not preflight and not server.check_bearer(request.headers.get("authorization")):
        answer.error(401, "authentication required: send Authorization: Bearer <password>",
                     (("WWW-Authenticate", 'Bearer realm="spouge"'),))
        return
    if path not in ROUTES and path not in OTHER_ROUTES:
        answer.error(404, f"no route {path[:200]}")
        return
    allow = allowed_methods(path)
    if preflight:
        _preflight(server, answer, request, allow)
        return
    if method not in allow.split(", "):
        answer.error(405, f"method {method[:20]} not allowed on {path}", (("Allow", allow),))
        return
    if path == BATCH_PATH:
        _batch(server, answer, request)
        return
    if path == "/":
        answer.result(page_bytes(), content_type="text/html; charset=utf-8", cache_control="no-cache")
        return
    if path in STATIC_FILES:
        name, content_type = STATIC_FILES[path]
        answer.result(static_bytes(name), content_type=content_type, cache_control="no-cache")
        return
    if path == OPENAPI_PATH:
        from ..openapi import document

        answer.result(document(server.config), cache_control="no-cache")
        return
    if path == "/v1/method":
        _method_route(server, answer, request, key, cacheable)
        return
    if path == "/health":
        pool = server.pool
        state = "draining" if server.draining else "overloaded" if pool is not None and pool.saturated else "ok"
        status = 200 if state == "ok" else 503
        body = {"status": state, "uptime_seconds": round(server.uptime(), 3),
                "max_digits": server.config.max_digits, "core": corebridge.description}
        answer.send(status, body)
        return
    if path == "/metrics":
        answer.send(200, server.metrics_text(), content_type="text/plain; version=0.0.4; charset=utf-8")
        return
    function = ROUTES[path]
    query = request.query
    names = ARGUMENTS[function]
    if request.duplicate_params:
        answer.error(400, f"parameter {request.duplicate_params[0][:50]!r} given twice")
        return
    problem = _param_problem(names, query)
    if problem is not None:
        answer.error(400, problem)
        return

    def reply(outcome) -> None:
        if isinstance(outcome, ComputeError):
            answer.error(outcome.http_status, outcome.message)
        else:
            data = answer.result(_encode(outcome))
            if data is not None and cacheable:
                server.replies.put(key, data)  # asked again, it is remembered by the frame cache too

    args = query[names[0]] if len(names) == 1 else tuple(query[name] for name in names)
    server.compute(slot, function, args, query.get("digits"), reply, rounding=query.get("rounding"),
                   bits=query.get("bits"))


def _param_problem(names: tuple[str, ...], params) -> str | None:
    """What is wrong with a function's parameters (unknown or missing ones), or None."""
    unknown = sorted(set(params) - set(names) - set(OPTION_PARAMS))
    if unknown:
        expected = ", ".join(names + OPTION_PARAMS)
        return f"unknown parameter {unknown[0][:50]!r} (expected {expected})"
    missing = [name for name in names if name not in params]
    if missing:
        return f"missing parameter {missing[0]}"
    return None


def _preflight(server, answer: _Answer, request: HttpRequest, allow: str) -> None:
    """OPTIONS under --cors-origin: 204 with what a browser's preflight asks (CORS headers only for an allowed
    origin, so a page elsewhere is refused by its browser)."""
    headers: tuple[tuple[str, str], ...] = (("Allow", f"{allow}, OPTIONS"),)
    if any(name == "Access-Control-Allow-Origin" for name, _ in answer.cors):
        headers += (("Access-Control-Allow-Methods", f"{allow}, OPTIONS"),
                    ("Access-Control-Allow-Headers", CORS_ALLOW_HEADERS),
                    ("Access-Control-Max-Age", CORS_MAX_AGE))
    answer.send(204, b"", headers=headers)


class _BatchJobs:
    """The pool jobs of one batch's items, cancelled together when the client goes away (``Slot.job``)."""

    __slots__ = ("cancelled", "items")

    def __init__(self) -> None:
        self.items: list[_BatchItem] = []
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True
        for item in self.items:
            if item.job is not None:
                item.job.cancel()
                item.job = None


class _BatchItem:
    """What ``compute`` sees as one item's slot: it records the item's pool job there."""

    __slots__ = ("job",)

    def __init__(self) -> None:
        self.job = None


def _item_error(status: int, message: str) -> dict:
    return {"error": message, "status": status}


def _batch(server, answer: _Answer, request: HttpRequest) -> None:
    """POST /v1/batch: a JSON array of {"function": ..., <arguments>, digits/bits/rounding} -> a JSON array of
    what GET /v1/<function> would answer for each (its 200 body, or its error object), in order.
    The whole is refused (400) if it is not a JSON array of objects, 422 past ``MAX_BATCH`` items.

    Items go through ``server.compute`` one by one (cached, inline when cheap, else pooled), dispatched
    ``BATCH_SLICE_SECONDS`` per loop iteration; the reply is sent when every item is done.  A client
    that goes away cancels the items not yet dispatched and the pooled ones."""
    content_type = request.headers.get("content-type", "application/json").partition(";")[0].strip().lower()
    if content_type != "application/json":
        answer.error(415, f"the body must be application/json, not {content_type[:60]!r}")
        return
    try:
        # Numbers stay as their text: 0.1 means the decimal 0.1, as in a query string.
        items = json.loads(request.body, parse_float=str, parse_int=str, parse_constant=str)
    except (ValueError, RecursionError) as exc:
        answer.error(400, f"the body is not JSON: {str(exc)[:100]}")
        return
    if not isinstance(items, list):
        answer.error(400, 'the body must be a JSON array of requests like {"function": "gamma", "x": "0.5"}')
        return
    if len(items) > MAX_BATCH:
        answer.error(422, f"at most {MAX_BATCH} requests in a batch, not {len(items)}")
        return
    shapeless = next((index for index, entry in enumerate(items) if not isinstance(entry, dict)), None)
    if shapeless is not None:  # the whole is malformed; what is in an object is each item's own business
        answer.error(400, f"request {shapeless} must be a JSON object, not {type(items[shapeless]).__name__}")
        return
    count = len(items)
    results: list = [None] * count
    left = [count]
    jobs = _BatchJobs()
    slot = answer.slot
    slot.job = jobs
    conn = answer.conn

    def finish() -> None:
        answer.send(200, b"[" + b",".join(_encode(result) for result in results) + b"]")

    def store(index: int, outcome) -> None:
        if isinstance(outcome, ComputeError):
            outcome = _item_error(outcome.http_status, outcome.message)
        results[index] = outcome
        jobs.items[index].job = None
        left[0] -= 1
        if left[0] == 0:
            finish()

    def start(index: int) -> None:
        item = _BatchItem()
        jobs.items.append(item)
        entry = items[index]
        function = entry.get("function")
        if not isinstance(function, str) or function not in ARGUMENTS:
            expected = ", ".join(ARGUMENTS)
            what = "missing" if function is None else f"unknown: {str(function)[:40]!r}"
            status = 404 if isinstance(function, str) else 400
            store(index, _item_error(status, f"function {what} (expected one of {expected})"))
            return
        names = ARGUMENTS[function]
        params = {name: value for name, value in entry.items() if name != "function"}
        problem = _param_problem(names, params)
        if problem is None:
            bad = next((name for name, value in params.items() if not isinstance(value, str)), None)
            if bad is not None:
                problem = f"{bad} must be a string or a number, not {type(params[bad]).__name__}"
        if problem is not None:
            store(index, _item_error(400, problem))
            return
        args = params[names[0]] if len(names) == 1 else tuple(params[name] for name in names)
        server.compute(item, function, args, params.get("digits"), lambda outcome: store(index, outcome),
                       rounding=params.get("rounding"), bits=params.get("bits"))

    def dispatch(first: int) -> None:
        if conn.closed or jobs.cancelled:
            return
        deadline = time.monotonic() + BATCH_SLICE_SECONDS
        for index in range(first, count):
            start(index)
            if conn.closed or jobs.cancelled:
                return
            if index + 1 < count and time.monotonic() > deadline:
                server.loop.call_soon(dispatch, index + 1)
                return

    if count == 0:
        finish()
        return
    dispatch(0)
