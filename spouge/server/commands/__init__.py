"""The command table: what each request means, for both dialects.

The request path: bytes -> codec (protocol/) -> request (Command or HttpRequest)
-> a handler here -> compute.Computer (cache, inline or pool) -> outcome -> reply
bytes in the request's dialect -> conn.complete.

Modules, one per family of commands:
- ``table``: registration, COMMAND's metadata (``SPECS``), status labels, RESP dispatch;
- ``functions``: GAMMA, FACTORIAL, LGAMMA, RGAMMA, LOGGAMMA, BETA, BINOMIAL, RISING, FALLING;
- ``admin``: PING, ECHO, INFO, QUIT, COMMAND, CONFIG, AUTH, HELLO, CLIENT;
- ``transactions``: MULTI, EXEC, DISCARD, WATCH, UNWATCH;
- ``http``: the HTTP routes.
Importing this package registers every command.
"""

from __future__ import annotations

from . import admin, functions, transactions  # noqa: F401 - registers the commands
from .http import (
    OTHER_ROUTES,
    PAGE_PATH,
    ROUTES,
    handle_http,
    internal_error_reply,
    page_bytes,
)
from .table import (
    NO_AUTH_COMMANDS,
    REDIS_COMMANDS,
    SPECS,
    STATUS_LABELS,
    handle_redis,
    http_label,
    redis_command,
)

__all__ = [
    "NO_AUTH_COMMANDS", "OTHER_ROUTES", "PAGE_PATH", "REDIS_COMMANDS", "ROUTES", "SPECS", "STATUS_LABELS",
    "handle_http", "handle_redis", "http_label", "internal_error_reply", "page_bytes", "redis_command",
]
