"""The server: listening sockets, accepting, limits, compute dispatch, shutdown.

Theory of operation:
- One ``EventLoop`` per process.  Listening sockets are registered with
  ``_on_acceptable``, which accepts up to ``ACCEPT_BATCH`` connections per
  event.  Out of file descriptors (EMFILE), the server gives up one it keeps
  in reserve, accepts the waiting connection, answers it "max number of
  clients reached", closes it and takes the reserve back (libev's and nginx's
  trick): refused clients get an answer instead of hanging in the backlog, and
  the listener does not stay readable to spin the loop.  If even that fails
  (ENFILE, no reserve), accepting pauses for ``EMFILE_BACKOFF`` seconds.
- At ``max_clients`` a new connection is still accepted, answered with
  ``-ERR max number of clients reached`` (or 503 if its first bytes are HTTP),
  and closed.  At most ``MAX_REJECTING`` such sockets are kept waiting for
  their first bytes; past that they are closed at once.
- ``compute`` is the one road to a number: validate -> cache -> inline (cost
  below compute.INLINE_COST_LIMIT) or the process pool -> callback.
- SIGTERM/SIGINT: stop accepting, read and answer what each connection has
  already sent, close; exit 0 when all are closed or ``drain_timeout`` passes.
  A second signal exits at once (status 1).
"""

from __future__ import annotations

import errno
import hmac
import logging
import os
import resource
import signal
import socket
import time
from dataclasses import dataclass

from ..loop import EventLoop
from ..protocol import closing_error, is_http_start
from ..protocol.redis import UNAUTHENTICATED_LIMITS, DEFAULT_LIMITS
from . import compute as compute_mod
from .compute import ComputeError, LRUCache
from .connection import Connection
from .metrics import Metrics
from .pool import ComputePool, Overloaded

log = logging.getLogger("spouge.server")

ACCEPT_BATCH = 1000  # as Redis (MAX_ACCEPTS_PER_CALL): under load, a backlog of thousands must drain in a few iterations
EMFILE_BACKOFF = 0.1
MAX_REJECTING = 64
REJECT_WAIT = 1.0


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
    output_high_water: int = 1 * 2**20  # pending output bytes above which the connection stops reading


class Server:
    def __init__(self, config: Config, loop: EventLoop | None = None, listener: socket.socket | None = None) -> None:
        self.config = config
        self.loop = loop or EventLoop()
        self.metrics = Metrics()
        self.cache = LRUCache(config.cache_size)  # values
        self.replies = LRUCache(config.cache_size, counters=self.cache)  # encoded replies
        self.connections: set[Connection] = set()
        self.rejecting = 0
        self.draining = False
        self.exit_code = 0
        self.started = time.monotonic()
        self.password = config.password.encode() if config.password else None
        self.unauthenticated_limits = UNAUTHENTICATED_LIMITS if self.password else DEFAULT_LIMITS
        self.tls = self._tls_context() if config.tls_cert else None
        self._raise_fd_limit()
        self._reserve_fd: int | None = os.open(os.devnull, os.O_RDONLY)
        self._fd_warning_due = 0.0
        self.listener = listener or self._listen()
        self.listener.setblocking(False)
        self.address = self.listener.getsockname()
        self.pool = ComputePool(self.loop, config.jobs, config.compute_timeout, config.max_queue) if config.jobs > 0 else None
        self.loop.add_reader(self.listener, self._on_acceptable)

    # --- set-up --------------------------------------------------------------
    def _raise_fd_limit(self) -> None:
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        wanted = self.config.max_clients + MAX_REJECTING + 2 * self.config.jobs + 64
        if soft != resource.RLIM_INFINITY and soft < wanted:
            new = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
            try:
                resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
            except (ValueError, OSError):
                new = soft
            if new < wanted:
                log.warning("open-file limit %d is below what --max-clients %d needs (%d)", new, self.config.max_clients, wanted)

    def _tls_context(self):
        import ssl

        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(self.config.tls_cert, self.config.tls_key or None)
        context.set_alpn_protocols(["http/1.1"])
        return context

    def _listen(self) -> socket.socket:
        family = socket.AF_INET6 if ":" in self.config.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if self.config.reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((self.config.host, self.config.port))
        sock.listen(self.config.backlog)
        return sock

    # --- accepting -------------------------------------------------------------
    def _on_acceptable(self, listener: socket.socket) -> None:
        for _ in range(ACCEPT_BATCH):
            try:
                sock, addr = listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                if exc.errno == errno.EMFILE and self._refuse_with_reserve(listener):
                    continue
                if exc.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                    log.warning("accept: %s; pausing accepts for %.1f s", os.strerror(exc.errno), EMFILE_BACKOFF)
                    self.loop.remove_reader(listener)
                    self.loop.call_later(EMFILE_BACKOFF, self._resume_accepting)
                    return
                if exc.errno in (errno.ECONNABORTED, errno.EPROTO):
                    continue
                raise
            sock.setblocking(False)
            if len(self.connections) >= self.config.max_clients:
                self._reject(sock)
                continue
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass
            if self.tls is not None:
                try:
                    sock = self.tls.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
                except OSError:
                    sock.close()
                    continue
            self.metrics.connections_total += 1
            self.connections.add(Connection(self, sock, addr))

    def _refuse_with_reserve(self, listener: socket.socket) -> bool:
        """EMFILE: spend the reserve descriptor to accept, refuse and close one connection."""
        if self._reserve_fd is None:
            return False
        os.close(self._reserve_fd)
        self._reserve_fd = None
        try:
            sock, _ = listener.accept()
        except OSError:
            sock = None
        if sock is not None:
            self.metrics.rejected_connections += 1
            try:
                sock.setblocking(False)
                sock.send(closing_error(False, 503, "max number of clients reached"))  # no bytes read: RESP
            except OSError:
                pass
            sock.close()
        try:
            self._reserve_fd = os.open(os.devnull, os.O_RDONLY)
        except OSError:
            self._reserve_fd = None
        if self._fd_warning_due <= time.monotonic():
            log.warning("out of file descriptors: refusing new connections (%d open)", len(self.connections))
            self._fd_warning_due = time.monotonic() + 10
        return sock is not None

    def _resume_accepting(self) -> None:
        if not self.draining:
            self.loop.add_reader(self.listener, self._on_acceptable)

    def _reject(self, sock: socket.socket) -> None:
        """Over --max-clients: answer in the client's dialect if it speaks soon, then close."""
        self.metrics.rejected_connections += 1
        if self.rejecting >= MAX_REJECTING:
            sock.close()
            return
        self.rejecting += 1
        state = {"done": False}

        def finish(_sock=None, timed_out: bool = False) -> None:
            if state["done"]:
                return
            state["done"] = True
            self.rejecting -= 1
            self.loop.forget(sock)
            self.loop.cancel(timer)
            first = b""
            if not timed_out:
                try:
                    first = sock.recv(4096)
                except OSError:
                    pass
            try:
                sock.send(closing_error(is_http_start(first), 503, "max number of clients reached"))
            except OSError:
                pass
            sock.close()

        timer = self.loop.call_later(REJECT_WAIT, finish, None, True)
        self.loop.add_reader(sock, finish)

    def connection_closed(self, conn: Connection) -> None:
        self.connections.discard(conn)
        if self.draining and not self.connections:
            self.loop.stop()

    def authenticated(self, conn: Connection) -> bool:
        return self.password is None or conn.authenticated

    def check_auth(self, conn: Connection, user: bytes | None, password: bytes) -> str | None:
        """None if the credentials are accepted (and the connection is now authenticated), else the error text.

        Compared in constant time (hmac.compare_digest), as Redis's ACLCheckPasswordHash does.
        """
        if self.password is None:
            return "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?"
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
        if not header or not header.startswith("Bearer "):
            return False
        return hmac.compare_digest(header[7:].strip().encode("utf-8", "replace"), self.password)

    # --- computing ---------------------------------------------------------------
    def compute(self, slot, function: str, x: str, digits: str | None, reply) -> None:
        # The request exactly as received is a cache key of its own: a repeated
        # request is answered without parsing.  The exact value is the second
        # key, so "0.1" and "0.10" still share one computation.
        raw_key = (function, x, digits)
        cached = self.cache.get(raw_key)
        if cached is not None:
            reply(cached)
            return
        try:
            job = compute_mod.prepare(function, x, digits, self.config.max_digits)
        except ComputeError as exc:
            reply(exc)
            return
        cached = self.cache.get(job.key)
        if cached is not None:
            outcome = cached if cached["x"] == job.x else {**cached, "x": job.x}
            self.cache.put(raw_key, outcome)
            reply(outcome)
            return
        if job.cost <= compute_mod.INLINE_COST_LIMIT or self.pool is None:
            try:
                outcome = compute_mod.run(function, job.x, job.digits)
            except ComputeError as exc:
                reply(exc)
                return
            self.cache.put(job.key, outcome)
            self.cache.put(raw_key, outcome)
            reply(outcome)
            return

        def done(outcome) -> None:
            if not isinstance(outcome, ComputeError):
                self.cache.put(job.key, outcome)
                self.cache.put(raw_key, outcome)
            reply(outcome)

        try:
            slot.job = self.pool.submit((function, job.x, job.digits), done)
        except Overloaded as exc:
            reply(ComputeError("overloaded", f"server overloaded: {exc}"))

    def compute_method(self, slot, function: str, x: str, max_a: int, a: int, reply) -> None:
        """The method pictures' data: in the pool (up to ~0.3 s of work), or inline without one."""
        args = ("method", function, x, max_a, a)
        if self.pool is None:
            try:
                reply(compute_mod.execute(args))
            except ComputeError as exc:
                reply(exc)
            return
        try:
            slot.job = self.pool.submit(args, reply)
        except Overloaded as exc:
            reply(ComputeError("overloaded", f"server overloaded: {exc}"))

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
            "spouge_pool_timeouts_total": ("Computations killed at --compute-timeout.", pool.stats["timeouts"] if pool else 0),
            "spouge_pool_crashes_total": ("Worker processes that died.", pool.stats["crashes"] if pool else 0),
            "spouge_uptime_seconds": ("Seconds since start.", round(self.uptime(), 3)),
        }

    def metrics_text(self) -> str:
        return self.metrics.render(self._gauges())

    def info_text(self) -> str:
        g = self._gauges()
        pool = self.pool
        lines = [
            "# Server", f"spouge_version:{__import__('spouge').__version__}", f"process_id:{os.getpid()}",
            f"tcp_port:{self.address[1]}", f"uptime_in_seconds:{int(self.uptime())}", "",
            "# Clients", f"connected_clients:{len(self.connections)}", f"maxclients:{self.config.max_clients}",
            f"rejected_connections:{self.metrics.rejected_connections}", "",
            "# Stats", f"total_connections_received:{self.metrics.connections_total}",
            f"total_commands_processed:{self.metrics.total_requests}", f"protocol_errors:{self.metrics.protocol_errors}", "",
            "# Cache", f"cache_entries:{len(self.cache)}", f"cache_size:{self.config.cache_size}",
            f"cache_hits:{self.cache.hits}", f"cache_misses:{self.cache.misses}", "",
            "# Pool", f"pool_workers:{g['spouge_pool_workers'][1]}", f"pool_busy:{g['spouge_pool_busy_workers'][1]}",
            f"pool_queue:{g['spouge_pool_queue_length'][1]}",
            f"pool_completed:{pool.stats['completed'] if pool else 0}", f"pool_timeouts:{pool.stats['timeouts'] if pool else 0}",
            f"pool_crashes:{pool.stats['crashes'] if pool else 0}",
        ]
        return "\r\n".join(lines) + "\r\n"

    # --- running and stopping --------------------------------------------------------
    def install_signal_handlers(self) -> None:
        for signum in (signal.SIGTERM, signal.SIGINT):
            self.loop.add_signal_handler(signum, self.on_stop_signal)

    def on_stop_signal(self) -> None:
        if self.draining:
            log.warning("second stop signal: exiting now")
            if self.pool is not None:
                self.pool.kill_all()
            os._exit(1)
        log.info("stopping: answering what %d connections have sent", len(self.connections))
        self.begin_drain()

    def begin_drain(self) -> None:
        self.draining = True
        self.loop.forget(self.listener)
        self.listener.close()
        for conn in list(self.connections):
            conn.drain()
        if not self.connections:
            self.loop.stop()
            return
        self.loop.call_later(self.config.drain_timeout, self._drain_expired)

    def _drain_expired(self) -> None:
        log.warning("drain timeout: closing %d connections", len(self.connections))
        for conn in list(self.connections):
            conn.close()
        self.loop.stop()

    def serve_forever(self) -> int:
        log.info("spouge listening on %s:%d (pid %d)", self.address[0], self.address[1], os.getpid())
        try:
            self.loop.run()
        finally:
            self.close()
        return self.exit_code

    def close(self) -> None:
        for conn in list(self.connections):
            conn.close()
        if self._reserve_fd is not None:
            os.close(self._reserve_fd)
            self._reserve_fd = None
        if self.pool is not None:
            self.pool.close()
        try:
            self.listener.close()
        except OSError:
            pass
        self.loop.close()
