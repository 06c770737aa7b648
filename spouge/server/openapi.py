"""``GET /openapi.json``: an OpenAPI 3.1 document of every HTTP route, built from the route table.

Owns: the document.  It is derived from what the routes use - ``commands.http.ROUTES``,
``OTHER_ROUTES``, ``STATIC_FILES``, ``OPTION_PARAMS``, ``METHOD_PARAMS``, ``compute.ARGUMENTS``,
``COMPLEX``, ``DIGITS_ONLY``, ``ROUNDINGS`` and this server's ``--max-digits`` and password - so a
route or parameter added there appears here (tests/test_openapi.py checks both ways and runs
schemathesis against a live server).

Invariants: a number's ``pattern`` is exactly the spelling the parser accepts (numerics.arguments:
a decimal with an optional exponent, U+2212 as a minus sign, complex forms for the complex functions,
surrounded by any whitespace ``str.strip`` removes), so text outside it is refused (400) and text
inside it is a number; what a schema cannot say (digits and bits together, rounding with a complex
argument, a pole) is answered 400/422 and documented as such.  The bytes are built once per
configuration.
"""

from __future__ import annotations

import json
import math
from functools import lru_cache
from typing import Any

from .. import __version__
from .commands import http as routes
from .compute import ARGUMENTS, COMPLEX, DIGITS_ONLY, MAX_BITS, ROUNDINGS

#: Every character ``str.strip()`` removes (Python's whitespace, which is not ECMA-262's ``\s``) but the
#: space itself: in a query string '+' is a literal plus (x=3+4j), and clients that encode a space as '+'
#: (HTML forms, URLSearchParams, requests) send it as one - so a space counts where a sign may stand.
_SPACE = "".join(f"\\u{c:04x}" for c in range(0x10000) if chr(c).isspace() and c != 0x20)
_SIGN = "[+\\-\\u2212 ]"
_DECIMAL = "(?:[0-9]+(?:\\.[0-9]*)?|\\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
REAL_PATTERN = f"^[{_SPACE}]*{_SIGN}?{_DECIMAL}[{_SPACE}]*$"
COMPLEX_PATTERN = (f"^[{_SPACE}]*(?:{_SIGN}?{_DECIMAL}|{_SIGN}?(?:{_DECIMAL})?[jJ]|"
                   f"{_SIGN}?{_DECIMAL}{_SIGN}(?:{_DECIMAL})?[jJ])[{_SPACE}]*$")

#: An empty parameter (digits=) means the parameter is absent.
_EMPTY = {"type": "string", "maxLength": 0}


def _caseless(word: str) -> str:
    return "".join(f"[{c.lower()}{c.upper()}]" for c in word)


#: A rounding mode as parse_rounding reads it: any case, whitespace around it; or empty (the default).
ROUNDING_PATTERN = f"^(?:[{_SPACE}]*(?:{'|'.join(_caseless(mode) for mode in ROUNDINGS)})[{_SPACE}]*)?$"


def _count_schema(low: int, high: int) -> dict:
    return {"anyOf": [{"type": "integer", "minimum": low, "maximum": high}, _EMPTY]}


_ERROR = {"$ref": "#/components/schemas/Error"}
_JSON_ERROR = {"description": "an error: {\"error\": message, \"status\": code}",
               "content": {"application/json": {"schema": _ERROR}}}
_ERRORS = {
    "400": "bad parameters: unknown, missing, given twice, not a number; digits and bits together; rounding or "
           "bits with a complex argument",
    "401": "the server has a password: send Authorization: Bearer <password>",
    "404": "no such route",
    "405": "method not allowed (the Allow header lists the methods)",
    "413": "request too large",
    "414": "URL too long",
    "422": "well-formed but not computable: a pole (the value is infinite), x or digits out of range",
    "431": "request headers too large",
    "500": "internal error",
    "503": "overloaded (the compute queue is full) or shutting down",
    "504": "the computation took (or would take) longer than --compute-timeout",
}
_CACHE_HEADERS = {
    "ETag": {"description": "strong tag: a hash of the body bytes", "schema": {"type": "string"}},
    "Cache-Control": {"description": "results never change: public, max-age=31536000, immutable",
                      "schema": {"type": "string"}},
}


def _errors(*codes: str) -> dict:
    return {code: {**_JSON_ERROR, "description": _ERRORS[code]} for code in codes}


def _with_head(path_item: dict, get: dict) -> dict:
    """GET, and HEAD answering the same statuses and headers with no body."""
    head = {"summary": f"{get['summary']} (headers only)", "operationId": get["operationId"] + "_head",
            "parameters": get.get("parameters", []), "security": get.get("security", []),
            "responses": {code: {"description": r["description"],
                                 **({"headers": r["headers"]} if "headers" in r else {})}
                          for code, r in get["responses"].items()}}
    if "security" not in get:
        head.pop("security")
    path_item["get"] = get
    path_item["head"] = head
    return path_item


def _number_param(name: str, pattern: str, required: bool, what: str) -> dict:
    return {"name": name, "in": "query", "required": required, "description": what,
            "schema": {"type": "string", "pattern": pattern}}


def _function_operation(function: str, max_digits: int, secured: bool) -> dict:
    pattern = COMPLEX_PATTERN if function in COMPLEX else REAL_PATTERN
    kind = ("a real or complex number (e.g. 2.5, -1e100, 3+4j)" if function in COMPLEX
            else "a real number (e.g. 2.5, -1e100)")
    params = [_number_param(name, pattern, True, f"{name}: {kind}, exactly as written") for name in ARGUMENTS[function]]
    params.append({"name": "digits", "in": "query", "required": False,
                   "description": "significant decimal digits (default 16; not with bits)",
                   "schema": _count_schema(1, max_digits)})
    if function not in DIGITS_ONLY:
        top = min(MAX_BITS, math.floor(max_digits * math.log2(10)))
        params.append({"name": "bits", "in": "query", "required": False,
                       "description": "significant bits instead of digits: the value in binary (not with digits)",
                       "schema": _count_schema(1, top)})
        params.append({"name": "rounding", "in": "query", "required": False,
                       "description": f"rounding mode, any case: {', '.join(ROUNDINGS)} (default nearest); "
                                      "enclosure gives lower and upper; real arguments only",
                       "schema": {"type": "string", "pattern": ROUNDING_PATTERN}})
    operation: dict[str, Any] = {
        "summary": f"{function}({', '.join(ARGUMENTS[function])}), correctly rounded",
        "operationId": function, "parameters": params,
        "responses": {
            "200": {"description": "the result", "headers": _CACHE_HEADERS,
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Result"}}}},
            "304": {"description": "If-None-Match matched the result's ETag", "headers": _CACHE_HEADERS},
            **_errors("400", "401", "405", "422", "500", "503", "504"),
            "default": {**_JSON_ERROR, "description": "a framing error (413, 414, 431, ...)"},
        },
    }
    if not secured:
        operation["responses"].pop("401")
    return operation


def _build(max_digits: int, secured: bool, cors: bool) -> dict:
    security: list[dict[str, list[str]]] = [{"bearer": []}] if secured else []
    paths: dict[str, dict] = {}
    for path, function in routes.ROUTES.items():
        paths[path] = _with_head({}, _function_operation(function, max_digits, secured))
    text = {"200": {"description": "OK", "content": {}}}

    def plain(op_id: str, summary: str, content_type: str, schema: dict | None = None,
              extra: dict | None = None) -> dict:
        return {"summary": summary, "operationId": op_id,
                "responses": {"200": {"description": "OK",
                                      "content": {content_type: {"schema": schema or {"type": "string"}}}},
                              **(extra or {}), "default": {**_JSON_ERROR, "description": "a framing error"}}}

    paths["/"] = _with_head({}, {**plain("page", "the calculator page", "text/html; charset=utf-8"),
                                 "security": []})
    paths["/"]["get"]["responses"]["304"] = {"description": "If-None-Match matched (ETag)"}
    for path, (_, content_type) in routes.STATIC_FILES.items():
        name = path.strip("/").replace(".", "_")
        get = {**plain(name, f"the file {path}", content_type), "security": []}
        get["responses"]["304"] = {"description": "If-None-Match matched (ETag)"}
        paths[path] = _with_head({}, get)
    health = plain("health", "liveness and readiness: 200 ok; 503 draining or overloaded", "application/json",
                   {"$ref": "#/components/schemas/Health"},
                   {"503": {"description": "draining or overloaded",
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Health"}}}}})
    paths["/health"] = _with_head({}, {**health, "security": []})
    metrics = plain("metrics", "Prometheus metrics (text format 0.0.4)", "text/plain; version=0.0.4; charset=utf-8",
                    extra=_errors("401") if secured else None)
    paths["/metrics"] = _with_head({}, metrics)
    openapi = plain("openapi", "this document", "application/json", {"type": "object"})
    openapi["responses"]["304"] = {"description": "If-None-Match matched (ETag)"}
    paths[routes.OPENAPI_PATH] = _with_head({}, {**openapi, "security": []})
    from ..numerics.method import MAX_A

    method_params = [
        {"name": "function", "in": "query", "required": False, "description": "default gamma",
         "schema": {"type": "string", "enum": ["factorial", "gamma", "lgamma"]}},
        _number_param("x", REAL_PATTERN, True, "the argument (a real number)"),
        {"name": "max_a", "in": "query", "required": False, "description": "largest a drawn (default 40)",
         "schema": _count_schema(3, MAX_A)},
        {"name": "a", "in": "query", "required": False, "description": "the a whose terms are listed (default 20)",
         "schema": _count_schema(3, MAX_A)},
    ]
    method: dict[str, Any] = {
              "summary": "Spouge's error against a, and each term (the page's pictures)", "operationId": "method",
              "parameters": method_params,
              "responses": {"200": {"description": "the pictures' numbers", "headers": _CACHE_HEADERS,
                                    "content": {"application/json": {"schema": {"type": "object"}}}},
                            "304": {"description": "If-None-Match matched the ETag", "headers": _CACHE_HEADERS},
                            **_errors("400", "401", "405", "422", "500", "503", "504"),
                            "default": {**_JSON_ERROR, "description": "a framing error"}}}
    if not secured:
        method["responses"].pop("401")
    paths["/v1/method"] = _with_head({}, method)
    batch_responses = {
        "200": {"description": "one entry per request, in order: its result or its error object",
                "content": {"application/json": {"schema": {"type": "array", "items": {
                    "oneOf": [{"$ref": "#/components/schemas/Result"}, _ERROR]}}}}},
        **_errors("400", "401", "405", "422", "500"),
        "415": {**_JSON_ERROR, "description": "the body is not application/json"},
        "default": {**_JSON_ERROR, "description": "a framing error"},
    }
    if not secured:
        batch_responses.pop("401")
    paths[routes.BATCH_PATH] = {"post": {
        "summary": f"many requests in one: at most {routes.MAX_BATCH} (else 422), body at most 64 KiB (else 413)",
        "operationId": "batch",
        "requestBody": {"required": True, "content": {"application/json": {"schema": {
            "type": "array", "maxItems": routes.MAX_BATCH, "items": {"$ref": "#/components/schemas/BatchItem"}}}}},
        "responses": batch_responses}}
    for item in paths.values():
        for operation in item.values():
            if "security" in operation and not operation["security"]:
                continue
            operation["security"] = security
    missing = (set(routes.ROUTES) | set(routes.OTHER_ROUTES)) - set(paths)
    if missing:  # a route added to the table without a description here
        raise RuntimeError(f"openapi: routes without a description: {sorted(missing)}")
    del text
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": "spouge", "version": __version__,
                 "description": "Γ, factorial and family by Spouge's formula, correctly rounded to any digits. "
                                "Results never change: 200 results carry an ETag and Cache-Control immutable."
                                + (" CORS is enabled (--cors-origin)." if cors else "")},
        "paths": paths,
        "components": {"schemas": _schemas()},
    }
    if secured:
        document["components"]["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer",
                                                                 "description": "--requirepass"}}
    return document


def _schemas() -> dict:
    function_items = []
    for function, names in ARGUMENTS.items():
        pattern = COMPLEX_PATTERN if function in COMPLEX else REAL_PATTERN
        props = {"function": {"const": function},
                 **{name: {"type": "string", "pattern": pattern} for name in names},
                 "digits": {"type": "integer", "minimum": 1}}
        if function not in DIGITS_ONLY:
            props["bits"] = {"type": "integer", "minimum": 1}
            props["rounding"] = {"type": "string", "enum": list(ROUNDINGS)}
        function_items.append({"type": "object", "properties": props, "required": ["function", *names],
                               "additionalProperties": False})
    return {
        "Error": {"type": "object", "required": ["error", "status"],
                  "properties": {"error": {"type": "string"}, "status": {"type": "integer"}}},
        "Result": {"type": "object", "required": ["function", "rounding", "exact"],
                   "properties": {"function": {"type": "string", "enum": list(ARGUMENTS)},
                                  "value": {"type": "string"}, "lower": {"type": "string"},
                                  "upper": {"type": "string"}, "digits": {"type": "integer"},
                                  "bits": {"type": "integer"}, "rounding": {"type": "string"},
                                  "exact": {"type": "boolean"}, "error": {"type": "string"},
                                  "method": {"type": "object"}}},
        # Any object: what is inside one is checked as GET would check it, and answered in its place in the
        # reply (an error object with its status) - so a schema here would promise refusals the server does
        # not make.  What each function takes is in FunctionRequest.
        "BatchItem": {"type": "object", "description": "one request: {\"function\": name, its arguments "
                      "by name, digits/bits/rounding}; numbers as strings (exact) or JSON numbers",
                      "examples": [{"function": "gamma", "x": "0.5", "digits": 30},
                                   {"function": "beta", "a": "1", "b": "2"}]},
        "FunctionRequest": {"oneOf": function_items},
        "Health": {"type": "object", "required": ["status"],
                   "properties": {"status": {"type": "string", "enum": ["ok", "draining", "overloaded"]},
                                  "uptime_seconds": {"type": "number"}, "max_digits": {"type": "integer"},
                                  "core": {"type": "string"}}},
    }


@lru_cache(maxsize=4)
def _document_bytes(max_digits: int, secured: bool, cors: bool) -> bytes:
    return json.dumps(_build(max_digits, secured, cors), ensure_ascii=False, indent=1).encode()


def document(config) -> bytes:
    """The OpenAPI document for a server with this configuration, as JSON bytes."""
    return _document_bytes(config.max_digits, bool(config.password), bool(config.cors_origins))
