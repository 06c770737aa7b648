"""The server: its configuration, its connections, authentication, compute dispatch, introspection.

Theory of operation:
- One ``EventLoop`` per process.  ``Admission`` (admission.py) owns the
  listening socket, accepting, and refusing over ``--max-clients`` or out of
  file descriptors; each accepted socket becomes a ``Connection``
  (connection.py), which owns its bytes, requests, replies and limits;
  connections with more work than one turn share the loop through
  ``TurnQueue`` (turns.py).
- ``compute`` is the one road to a number: ``compute.Computer`` validates, asks
  the caches, and runs the work inline (predicted by ``numerics.estimate`` to fit
  --inline-budget, cut by a watchdog if it overruns) or in the process pool.
- ``Shutdown`` (drain.py) owns signals: SIGTERM/SIGINT drain within
  ``drain_timeout`` then exit 0, a second signal exits at once (status 1),
  SIGHUP is ignored with a log line.
- ``serve_forever`` freezes what start-up allocated (``gc.freeze``), so the
  cyclic collector's full passes scan only what serving allocates.
"""

from __future__ import annotations

import gc
import hmac
import logging
import os
import socket
import time
from dataclasses import dataclass

from ..loop import EventLoop
from ..protocol.redis import DEFAULT_LIMITS, UNAUTHENTICATED_LIMITS
from . import compute as compute_mod
from .accesslog import AccessLog
from .admission import Admission, listen, raise_fd_limit
from .compute import LRUCache
from .connection import Connection
from .drain import Shutdown
from .fastreplies import FastReplies
from .metrics import Metrics
from .pool import ComputePool
from .rediscache import RedisCache
from .turns import TurnQueue

log = logging.getLogger("spouge.server")


@dataclass
class Config:
    host: str = "127.0.0.1"
    port: int = 7342
    idle_timeout: float = 300.0
    request_timeout: float = 10.0
    compute_timeout: float = 30.0
    drain_timeout: float = 10.0
    max_clients: int = 10000
    max_digits: int = 10000
    cache_size: int = 10000
    jobs: int = os.cpu_count() or 1
    max_queue: int = 10000  # computations waiting for a worker; past it: overloaded (503 / -ERR)
    reuse_port: bool = False
    backlog: int = 4096
    password: str | None = None  # --requirepass / SPOUGE_PASSWORD
    tls_cert: str | None = None
    tls_key: str | None = None
    # --- byte and time bounds (issue 10) ---
    cache_memory: int = 64 * 2**20  # bytes held by the value and reply caches together (--cache-memory)
    max_queue_bytes: int = 16 * 2**20  # bytes of queued pool jobs (arguments) before refusing as overloaded
    inline_budget: float = 0.001  # seconds: only work predicted below this runs on the loop (--inline-budget)
    output_hard_limit: int = 32 * 2**20  # pending output bytes that close a connection at once
    output_soft_limit: int = 8 * 2**20  # pending output bytes that close a connection if held ...
    output_soft_seconds: float = 10.0  # ... for this long (Redis's client-output-buffer-limit)
    output_high_water: int = 256 * 2**10  # pending output bytes above which the connection stops reading
    # --- the shared cache in Redis (issue 14) ---
    cache_redis: str | None = None  # redis[s]://[[user]:password@]host[:port][/db]
    cache_redis_min_seconds: float = 0.001  # only results predicted to cost at least this are shared
    cache_redis_ttl: int = 7 * 86400
    cache_redis_timeout: float = 0.05  # a GET not answered by then is a miss (and the connection is renewed)
    cache_redis_secret: str | None = None  # HMAC key shared by the replicas (SPOUGE_CACHE_SECRET)
    # --- HTTP habits (issue 13) ---
    cors_origins: tuple[str, ...] = ()  # --cors-origin: origins allowed by CORS ("*": any); empty: no CORS
    access_log: str | None = None  # --access-log: Common Log Format lines to this file ("-": stderr)


class Server:
    def __init__(self, config: Config, loop: EventLoop | None = None, listener: socket.socket | None = None) -> None:
        self.config = config
        self.loop = loop or EventLoop()
        self.metrics = Metrics()
        self.cache = LRUCache(config.cache_size, max_bytes=config.cache_memory)  # values
        self.replies = LRUCache(config.cache_size, counters=self.cache)  # encoded replies
        self.fast = FastReplies()  # exact request frames -> replies: the pipelined fast path
        self.connections: set[Connection] = set()
        self.turns = TurnQueue(self.loop)  # connections with more work than one turn
        self.exit_code = 0
        self.started = time.monotonic()
        self.password = config.password.encode() if config.password else None
        self.unauthenticated_limits = UNAUTHENTICATED_LIMITS if self.password else DEFAULT_LIMITS
        self.tls = self._tls_context() if config.tls_cert else None
        self.access_log = AccessLog.open(config.access_log) if config.access_log else None
        raise_fd_limit(config)
        # The pool starts before the port opens: a client that can connect meets a server
        # whose start-up (and signal handlers, installed right after) is done.
        self.pool = (ComputePool(self.loop, config.jobs, config.compute_timeout, config.max_queue,
                                 config.max_queue_bytes)
                     if config.jobs > 0 else None)
        # results shared by the replicas
        self.shared = self._shared_cache(config.cache_redis) if config.cache_redis else None
        self.computer = compute_mod.Computer(self)  # inline or pool, caches, the watchdog: compute.Computer
        try:
            self.listener = listener or listen(config)
        except OSError:
            if self.pool is not None:
                self.pool.close()
            raise
        self.address = self.listener.getsockname()
        self.shutdown = Shutdown(self)
        self.admission = Admission(self, self.listener)

    def _shared_cache(self, url: str) -> RedisCache:
        from .. import __version__

        cache = RedisCache(self.loop, url, namespace=__version__,
                           timeout=self.config.cache_redis_timeout, ttl=self.config.cache_redis_ttl,
                           secret=(self.config.cache_redis_secret or "").encode())
        cache.start()  # resolves the host now (before the loop runs), then connects in the loop
        return cache

    def _tls_context(self):
        import ssl

        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(self.config.tls_cert, self.config.tls_key or None)
        context.set_alpn_protocols(["http/1.1"])
        return context

    # --- connections -----------------------------------------------------------
    @property
    def draining(self) -> bool:
        return self.shutdown.draining

    def add_connection(self, sock: socket.socket, addr) -> None:
        self.metrics.connections_total += 1
        self.connections.add(Connection(self, sock, addr))

    def connection_closed(self, conn: Connection) -> None:
        self.connections.discard(conn)
        self.shutdown.connection_closed()

    def authenticated(self, conn: Connection) -> bool:
        return self.password is None or conn.authenticated

    def check_auth(self, conn: Connection, user: bytes | None, password: bytes) -> str | None:
        """None if the credentials are accepted (and the connection is now authenticated), else the error text.

        Compared in constant time (hmac.compare_digest), as Redis's ACLCheckPasswordHash does.
        """
        if self.password is None:
            return ("ERR AUTH <password> called without any password configured for the default user. "
                    "Are you sure your configuration is correct?")
        user_ok = user is None or hmac.compare_digest(user, b"default")
        if hmac.compare_digest(password, self.password) and user_ok:
            conn.authenticated = True
            conn.on_authenticated()
            return None
        return "WRONGPASS invalid username-password pair or user is disabled."

    def check_bearer(self, header: str | None) -> bool:
        """HTTP: is `Authorization: Bearer <password>` present and right?  (constant time)"""
        if self.password is None:
            return True
        scheme, _, credentials = (header or "").strip().partition(" ")
        if scheme.lower() != "bearer":  # auth schemes are case-insensitive (RFC 9110, section 11.1)
            return False
        return hmac.compare_digest(credentials.strip().encode("utf-8", "replace"), self.password)

    # --- computing ---------------------------------------------------------------
    def compute(self, slot, function: str, x, digits: str | None, reply, rounding: str | None = None,
                bits: str | None = None) -> None:
        """The one road from a request to a number: compute.Computer (caches, inline or pool, the watchdog)."""
        self.computer.compute(slot, function, x, digits, reply, rounding, bits)

    def compute_method(self, slot, function: str, x: str, max_a: int, a: int, reply) -> None:
        """The method pictures' data: in the pool (up to ~0.3 s of work), or inline without one."""
        self.computer.compute_method(slot, function, x, max_a, a, reply)

    # --- introspection -------------------------------------------------------------
    def uptime(self) -> float:
        return time.monotonic() - self.started

    def _gauges(self) -> dict[str, tuple[str, float]]:
        pool = self.pool
        return {
            "spouge_connections_open": ("Open client connections.", len(self.connections)),
            "spouge_cache_hits_total": ("Result cache hits.", self.cache.hits),
            "spouge_cache_misses_total": ("Result cache misses.", self.cache.misses),
            "spouge_cache_entries": ("Results held in the cache.", len(self.cache)),
            "spouge_pool_queue_length": ("Computations waiting for a worker.", len(pool.queue) if pool else 0),
            "spouge_pool_busy_workers": ("Workers computing now.", pool.busy if pool else 0),
            "spouge_pool_workers": ("Worker processes.", len(pool.workers) if pool else 0),
            "spouge_pool_timeouts_total": ("Computations killed at --compute-timeout.",
                                           pool.stats["timeouts"] if pool else 0),
            "spouge_pool_crashes_total": ("Worker processes that died.", pool.stats["crashes"] if pool else 0),
            "spouge_uptime_seconds": ("Seconds since start.", round(self.uptime(), 3)),
            **self._shared_gauges(),
        }

    def _shared_gauges(self) -> dict[str, tuple[str, float]]:
        shared = self.shared
        if shared is None:
            return {}
        out = {f"spouge_shared_cache_{name}_total": (f"Shared cache (Redis): {name}.", float(value))
               for name, value in shared.stats.items()}
        out["spouge_shared_cache_up"] = ("1 while the shared cache (Redis) is connected.", float(shared.ready))
        return out

    def metrics_text(self) -> str:
        return self.metrics.render(self._gauges())

    def info_text(self, sections: list[str] | None = None) -> str:
        """INFO's text (commands.admin.info_text: Redis's sections and fields, and spouge's own)."""
        from .commands.admin import info_text

        return info_text(self, sections)

    # --- running and stopping --------------------------------------------------------
    def install_signal_handlers(self) -> None:
        self.shutdown.install()

    def begin_drain(self) -> None:
        self.shutdown.begin()

    def serve_forever(self) -> int:
        log.info("spouge listening on %s:%d (pid %d)", self.address[0], self.address[1], os.getpid())
        # What start-up made (modules, tables: ~60000 objects) lives as long as the process: out of the
        # collector's sight, a full collection scans only what serving made (it stalled the loop 30-130 ms
        # in bench/abuse.py's queued-jobs attack; CPython's gc.freeze() docs suggest just this).
        gc.collect()
        gc.freeze()
        try:
            self.loop.run()
        finally:
            self.close()
        return self.exit_code

    def close(self) -> None:
        for conn in list(self.connections):
            conn.close()
        self.admission.close()
        if self.shared is not None:
            self.shared.close()
        if self.pool is not None:
            self.pool.close()
        self.loop.close()
