"""The shared result cache in a real Redis (``--cache-redis redis://host:port/db``), inside our own loop.

Owns: one non-blocking connection to Redis registered in the server's
selectors loop (no thread, no blocking call after start-up), its handshake
(AUTH, SELECT, TLS for ``rediss://``), pipelined GET/SET with our own RESP
codecs (protocol.resp_client), timeouts, reconnection with backoff, and the
integrity of what is stored.

Invariants:
- Redis is an optimisation, never a dependency: when it is down, slow, full or
  wrong, ``get`` answers "miss" (within ``timeout``) and ``set`` is dropped; the
  server goes on computing.  Every such event is counted (``stats``).
- Nothing read from Redis is served unless it verifies: the stored form is
  ``s1 <mac> <json>`` where mac = HMAC-SHA256(secret, key + json); a value
  under another key, truncated, edited or not ours fails and is counted as
  ``corrupt`` (and deleted).  Without ``--cache-redis-secret`` the MAC is a
  checksum (it catches corruption and mix-ups); with a secret shared by the
  replicas it also refuses entries written by anyone else.
- Keys carry spouge's version, so a new release never reads an old one's values.
- Bounded: at most ``max_pending`` requests in flight and ``MAX_OUTPUT`` bytes
  buffered; past either, requests bypass the cache.  A reply over the parser's
  cap, or a broken stream, drops the connection.
- Replies come in request order (RESP), so the pending requests are a FIFO; a
  timed-out request drops the whole connection (its reply would arrive late
  and shift every later one) and fails every pending request as a miss.
- Host names are resolved once, at start-up (a resolver call blocks); a
  reconnect reuses those addresses.
"""

from __future__ import annotations

import errno
import hashlib
import hmac
import json
import logging
import random
import socket
import ssl
import time
from collections import deque
from collections.abc import Callable
from urllib.parse import parse_qs, unquote, urlsplit

from ..protocol.errors import ProtocolError
from ..protocol.resp_client import NEED_MORE, ReplyError, ReplyParser, encode_command

log = logging.getLogger("spouge.rediscache")

MAX_OUTPUT = 8 * 2**20
BACKOFF_FIRST = 0.1
BACKOFF_MAX = 5.0
PREFIX = b"s1 "
#: What a pending request's callback gets when its connection is dropped before the reply.
LOST = object()


class CacheURLError(ValueError):
    """A --cache-redis URL spouge cannot use (its message says why)."""


def parse_url(url: str) -> dict:
    """redis://[[user]:password@]host[:port][/db][?timeout=SECONDS] or rediss:// (TLS), as redis-py reads them."""
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss"):
        raise CacheURLError(f"--cache-redis needs a redis:// or rediss:// URL, not {url!r}")
    try:
        port = parts.port or 6379
    except ValueError:
        raise CacheURLError(f"bad port in {url!r}") from None
    path = parts.path.strip("/")
    query = parse_qs(parts.query)
    db = query.get("db", [path or "0"])[0]
    if not db.isdigit() or int(db) > 10**6:
        raise CacheURLError(f"the database in {url!r} must be a number")
    if not parts.hostname:
        raise CacheURLError(f"no host in {url!r}")
    options = {
        "host": parts.hostname, "port": port, "db": int(db), "tls": parts.scheme == "rediss",
        "username": unquote(parts.username) if parts.username else None,
        "password": unquote(parts.password) if parts.password is not None else None,
        "verify": query.get("ssl_cert_reqs", ["required"])[0] != "none",
        "ca_certs": query.get("ssl_ca_certs", [None])[0],
    }
    if "timeout" in query:
        try:
            options["timeout"] = float(query["timeout"][0])
        except ValueError:
            raise CacheURLError(f"bad timeout in {url!r}") from None
    return options


def encode_entry(key: bytes, value: dict, secret: bytes) -> bytes:
    payload = json.dumps(value, sort_keys=True, separators=(",", ":")).encode()
    mac = hmac.new(secret, key + b"\n" + payload, hashlib.sha256).hexdigest().encode()
    return PREFIX + mac + b" " + payload


def decode_entry(key: bytes, data: bytes, secret: bytes) -> dict | None:
    """The value stored under key, or None if it does not verify."""
    if not data.startswith(PREFIX):
        return None
    mac, _, payload = data[len(PREFIX):].partition(b" ")
    expected = hmac.new(secret, key + b"\n" + payload, hashlib.sha256).hexdigest().encode()
    if not hmac.compare_digest(mac, expected):
        return None
    try:
        value = json.loads(payload)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


class RedisCache:
    """GET/SET of verified results in a Redis, driven by the server's loop."""

    def __init__(self, loop, url: str, *, namespace: str, timeout: float = 0.05, ttl: int = 86400,
                 secret: bytes = b"", max_pending: int = 10000) -> None:
        options = parse_url(url)
        self.loop = loop
        self.options = options
        self.timeout = options.get("timeout", timeout)
        self.ttl = ttl
        self.secret = secret or b"spouge-cache-checksum"
        self.namespace = namespace
        self.max_pending = max_pending
        self.addresses: list = []
        self.sock: socket.socket | None = None
        self.state = "down"  # down -> connecting -> (tls) -> ready
        self.parser = ReplyParser()
        self.out = bytearray()
        self.pending: deque = deque()  # (deadline, callback or None)
        self.backoff = BACKOFF_FIRST
        self._reconnect_timer = None
        self._watch_timer = None
        self._closed = False
        self.stats = dict.fromkeys(
            ("hits", "misses", "stores", "corrupt", "bypassed", "errors", "timeouts", "reconnects"), 0)

    # --- public -------------------------------------------------------------------------------------------

    def start(self) -> None:
        """Resolve the host (once: this may block, so only at start-up) and connect."""
        host, port = self.options["host"], self.options["port"]
        try:
            self.addresses = [info[4] for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)]
        except OSError as exc:
            raise CacheURLError(f"cannot resolve the cache host {host!r}: {exc.strerror or exc}") from None
        self._connect()

    def key(self, request: str) -> bytes:
        digest = hashlib.sha256(request.encode()).hexdigest()
        return f"spouge:{self.namespace}:{digest}".encode()

    def get(self, request: str, callback: Callable[[dict | None], None]) -> None:
        """callback(value) with the verified value for `request`, or None (miss, Redis away, bad entry)."""
        key = self.key(request)
        if not self._send(encode_command(b"GET", key), lambda reply: self._on_get(key, reply, callback)):
            self.stats["bypassed"] += 1
            self.loop.call_soon(callback, None)

    def set(self, request: str, value: dict) -> None:
        key = self.key(request)
        try:
            entry = encode_entry(key, value, self.secret)
        except (TypeError, ValueError):  # not JSON: nothing to share (never the case for an outcome)
            self.stats["errors"] += 1
            return
        if self._send(encode_command(b"SET", key, entry, b"EX", self.ttl), self._on_set):
            return
        self.stats["bypassed"] += 1

    @property
    def ready(self) -> bool:
        return self.state == "ready"

    def close(self) -> None:
        self._closed = True
        self._drop("closing", reconnect=False)

    # --- replies ------------------------------------------------------------------------------------------

    def _on_get(self, key: bytes, reply, callback) -> None:
        if reply is LOST:  # already counted as bypassed
            callback(None)
            return
        if reply is None:
            self.stats["misses"] += 1
            callback(None)
            return
        if isinstance(reply, ReplyError) or not isinstance(reply, bytes):
            self.stats["errors"] += 1
            callback(None)
            return
        value = decode_entry(key, reply, self.secret)
        if value is None:
            self.stats["corrupt"] += 1
            log.warning("cache: an entry that does not verify was ignored and deleted (%s)", key.decode())
            self._send(encode_command(b"DEL", key), None)
            callback(None)
            return
        self.stats["hits"] += 1
        callback(value)

    def _on_set(self, reply) -> None:
        if reply is LOST:
            return
        if isinstance(reply, ReplyError):
            self.stats["errors"] += 1
        elif reply is not None:
            self.stats["stores"] += 1

    # --- the connection -----------------------------------------------------------------------------------

    def _send(self, data: bytes, callback) -> bool:
        if self.state != "ready" or len(self.pending) >= self.max_pending or len(self.out) > MAX_OUTPUT:
            return False
        self.pending.append((time.monotonic() + self.timeout, callback))
        was_empty = not self.out
        self.out += data
        if was_empty:
            self._flush()
        return True

    def _connect(self) -> None:
        self._reconnect_timer = None
        if self._closed:
            return
        address = self.addresses[0]
        family = socket.AF_INET6 if len(address) == 4 else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = sock
        self.state = "connecting"
        self.parser = ReplyParser()
        err = sock.connect_ex(address)
        if err not in (0, errno.EINPROGRESS, errno.EWOULDBLOCK):
            self._drop(f"connect: {errno.errorcode.get(err, err)}")
            return
        self.loop.add_writer(sock, self._on_connected)
        self._watch_timer = self.loop.call_later(max(self.timeout * 20, 1.0), self._connect_timeout, sock)

    def _connect_timeout(self, sock) -> None:
        if self.sock is sock and self.state in ("connecting", "tls"):
            self._drop("connect timed out")

    def _on_connected(self, sock) -> None:
        err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        self.loop.remove_writer(sock)
        if err:
            self._drop(f"connect: {errno.errorcode.get(err, err)}")
            return
        if self.options["tls"]:
            context = ssl.create_default_context(cafile=self.options["ca_certs"])
            if not self.options["verify"]:
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
            self.sock = context.wrap_socket(sock, server_hostname=self.options["host"],
                                            do_handshake_on_connect=False)
            self.state = "tls"
            self._handshake_tls(self.sock)
            return
        self._ready()

    def _handshake_tls(self, sock: ssl.SSLSocket) -> None:
        if sock is not self.sock:
            return
        try:
            sock.do_handshake()
        except ssl.SSLWantReadError:
            self.loop.remove_writer(sock)
            self.loop.add_reader(sock, self._handshake_tls)
            return
        except ssl.SSLWantWriteError:
            self.loop.remove_reader(sock)
            self.loop.add_writer(sock, self._handshake_tls)
            return
        except (ssl.SSLError, OSError) as exc:
            self._drop(f"TLS: {exc}")
            return
        self.loop.remove_reader(sock)
        self.loop.remove_writer(sock)
        self._ready()

    def _ready(self) -> None:
        if self._watch_timer is not None:
            self.loop.cancel(self._watch_timer)
        self.state = "ready"
        self.loop.add_reader(self.sock, self._on_readable)
        # The handshake is pipelined ahead of any request; a refusal drops the connection.
        if self.options["password"] is not None:
            auth = [b"AUTH", self.options["password"]]
            if self.options["username"]:
                auth.insert(1, self.options["username"])
            self._send(encode_command(*auth), self._on_handshake)
        if self.options["db"]:
            self._send(encode_command(b"SELECT", self.options["db"]), self._on_handshake)
        self._watch_timer = self.loop.call_later(self.timeout, self._watch)
        if self.stats["reconnects"] or self.backoff > BACKOFF_FIRST:
            log.info("cache: connected to Redis again")
        self.backoff = BACKOFF_FIRST

    def _on_handshake(self, reply) -> None:
        if reply is not LOST and isinstance(reply, ReplyError):
            self.stats["errors"] += 1
            log.warning("cache: Redis refused the handshake: %s", reply)
            self.backoff = BACKOFF_MAX
            self._drop(f"handshake: {reply}")

    def _watch(self) -> None:
        """Every `timeout`: the oldest request must have been answered by its deadline."""
        self._watch_timer = None
        if self.state != "ready":
            return
        if self.pending and self.pending[0][0] < time.monotonic():
            self.stats["timeouts"] += 1
            self._drop(f"no reply within {self.timeout * 1000:.0f} ms")
            return
        self._watch_timer = self.loop.call_later(self.timeout / 2, self._watch)

    def _flush(self) -> None:
        sock = self.sock
        if sock is None or not self.out:
            return
        try:
            sent = sock.send(self.out)
        except (BlockingIOError, ssl.SSLWantWriteError, ssl.SSLWantReadError):
            sent = 0
        except OSError as exc:
            self._drop(f"send: {exc.strerror or exc}")
            return
        del self.out[:sent]
        if self.out:
            self.loop.add_writer(sock, self._on_writable)
        else:
            self.loop.remove_writer(sock)

    def _on_writable(self, sock) -> None:
        if sock is self.sock:
            self._flush()

    def _on_readable(self, sock: socket.socket) -> None:
        if sock is not self.sock:
            return
        try:
            data = sock.recv(262144)
        except (BlockingIOError, ssl.SSLWantReadError, ssl.SSLWantWriteError):
            return
        except OSError as exc:
            self._drop(f"recv: {exc.strerror or exc}")
            return
        if not data:
            self._drop("Redis closed the connection")
            return
        try:
            self.parser.feed(data)
            while True:
                reply = self.parser.next_reply()
                if reply is NEED_MORE:
                    break
                if not self.pending:
                    raise ProtocolError("a reply nobody asked for")
                _, callback = self.pending.popleft()
                if callback is not None:
                    callback(reply)
                if self.sock is not sock:  # a callback dropped the connection
                    return
        except ProtocolError as exc:
            self._drop(f"bad reply: {exc}")

    def _drop(self, why: str, reconnect: bool = True) -> None:
        sock, self.sock = self.sock, None
        was = self.state
        self.state = "down"
        if sock is not None:
            self.loop.remove_reader(sock)
            self.loop.remove_writer(sock)
            try:
                sock.close()
            except OSError:
                pass
        if self._watch_timer is not None:
            self.loop.cancel(self._watch_timer)
            self._watch_timer = None
        self.out.clear()
        pending, self.pending = self.pending, deque()
        for _, callback in pending:  # every request still waiting is a miss now
            if callback is not None:
                self.stats["bypassed"] += 1
                callback(LOST)
        if not reconnect or self._closed:
            return
        if was == "ready":
            log.warning("cache: Redis connection lost (%s); retrying in %.1f s", why, self.backoff)
        self.stats["reconnects"] += 1
        delay = self.backoff * (0.5 + random.random() / 2)
        self.backoff = min(BACKOFF_MAX, self.backoff * 2)
        if self._reconnect_timer is None:
            self._reconnect_timer = self.loop.call_later(delay, self._connect)
