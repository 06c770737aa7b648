"""Protocol layer: sans-I/O codecs.  Bytes in, request objects out; replies in, bytes out.  No sockets."""

from .errors import ProtocolError
from .http import HttpRequest, HttpRequestParser, http_response
from .redis import Command, RedisRequestParser, resp

__all__ = ["Command", "HttpRequest", "HttpRequestParser", "ProtocolError", "RedisRequestParser", "http_response", "resp"]
