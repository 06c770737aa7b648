"""Protocol layer: sans-I/O codecs.  Bytes in, request objects out; replies in, bytes out.  No sockets."""

from .errors import ProtocolError
from .http import HttpRequest, HttpRequestParser, http_response, is_http_start
from .redis import Command, RedisRequestParser, resp

__all__ = [
    "Command", "HttpRequest", "HttpRequestParser", "ProtocolError", "RedisRequestParser",
    "closing_error", "http_response", "is_http_start", "resp",
]


def closing_error(http: bool, status: int, message: str) -> bytes:
    """The last reply before the server closes a connection, in its dialect:
    a JSON error with ``Connection: close`` for HTTP, an error line for the Redis dialect
    ("Protocol error: ..." as Redis words it, anything else as "ERR ...")."""
    if http:
        return http_response(status, {"error": message, "status": status}, keep_alive=False)
    return resp.error(message if message.startswith("Protocol error") else f"ERR {message}")
