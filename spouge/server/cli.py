"""`spouge serve`: the server's command-line options and process start-up (including --workers).

With ``--workers N`` this process is a supervisor: it binds and listens once, then forks N
server processes that accept on that one socket (no SO_REUSEPORT, so no other program can
share the port), gives them a private prometheus_client multiprocess directory (removed on
exit) so that one /metrics scrape shows them all, replaces any that dies, and passes stop
signals on.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import signal
import socket
import ssl
import sys
import tempfile
import time

from . import admission, metrics
from .admission import listen
from .app import Config, Server
from .rediscache import CacheURLError

log = logging.getLogger("spouge.server")


def add_parser(sub) -> None:
    p = sub.add_parser(
        "serve",
        help="run the network server (RESP, inline and HTTP on one port)",
        description="Answer FACTORIAL/GAMMA/LGAMMA over RESP (redis-cli, redis-py), inline commands "
        "(telnet, nc) and HTTP (curl, browsers) on one port, from one selectors loop per process.",
        epilog="examples: redis-cli -p 7342 FACTORIAL 100 50 | curl 'localhost:7342/v1/gamma?x=0.5&digits=30'",
    )
    d = Config()
    p.add_argument("--host", default=d.host, help="address to bind (default %(default)s: loopback only)")
    p.add_argument("--port", type=int, default=d.port, help="TCP port (default %(default)s)")
    p.add_argument("--workers", type=int, default=1,
                   help="server processes, each with its own loop, all accepting on one socket bound before they "
                        "start (default 1)")
    p.add_argument("--jobs", type=int, default=d.jobs,
                   help="compute worker processes per server process (default: cores = %(default)s; "
                        "0: compute everything inline)")
    p.add_argument("--max-queue", type=int, default=d.max_queue,
                   help="computations waiting for a worker before new ones are refused as overloaded "
                        "(default %(default)s)")
    p.add_argument("--max-clients", type=int, default=d.max_clients,
                   help="open connections per process (default %(default)s)")
    p.add_argument("--max-digits", type=int, default=d.max_digits,
                   help="largest digits a request may ask for (default %(default)s)")
    p.add_argument("--cache-size", type=int, default=d.cache_size,
                   help="results kept in the LRU cache (default %(default)s; 0 disables)")
    p.add_argument("--cache-memory", type=_size, default=d.cache_memory,
                   help="bytes the result caches may hold, e.g. 64M (default 64M)")
    p.add_argument("--max-queue-bytes", type=_size, default=d.max_queue_bytes,
                   help="bytes of computations waiting for a worker before new ones are refused (default 16M)")
    p.add_argument("--inline-budget", type=float, default=d.inline_budget,
                   help="seconds: work predicted to take less runs on the event loop, the rest in the pool "
                        "(default %(default)s)")
    p.add_argument("--output-limit", type=_output_limit,
                   default=(d.output_hard_limit, d.output_soft_limit, d.output_soft_seconds),
                   metavar="HARD:SOFT:SECONDS",
                   help="per-connection pending output: close at HARD bytes, or at SOFT bytes held for SECONDS "
                        "(default 32M:8M:10)")
    p.add_argument("--cache-redis", metavar="URL", default=None,
                   help="share costly results with other replicas through this Redis: redis[s]://[[user]:pass@]"
                        "host[:port][/db] (password and TLS as redis-py reads them; HMAC key: SPOUGE_CACHE_SECRET)")
    p.add_argument("--cache-redis-min-ms", type=float, default=d.cache_redis_min_seconds * 1000, metavar="MS",
                   help="share only results predicted to cost at least this many ms (default %(default)s)")
    p.add_argument("--cache-redis-ttl", type=int, default=d.cache_redis_ttl, metavar="SECONDS",
                   help="how long Redis keeps a shared result (default %(default)s)")
    p.add_argument("--cache-redis-timeout-ms", type=float, default=d.cache_redis_timeout * 1000, metavar="MS",
                   help="a lookup not answered by then is a miss (default %(default)s)")
    p.add_argument("--idle-timeout", type=float, default=d.idle_timeout,
                   help="seconds before an idle connection is closed (default %(default)s)")
    p.add_argument("--request-timeout", type=float, default=d.request_timeout,
                   help="seconds to finish sending one request once it starts (default %(default)s)")
    p.add_argument("--compute-timeout", type=float, default=d.compute_timeout,
                   help="seconds one computation may take (default %(default)s)")
    p.add_argument("--drain-timeout", type=float, default=d.drain_timeout,
                   help="seconds to finish in-flight requests on SIGTERM/SIGINT (default %(default)s)")
    p.add_argument("--requirepass", metavar="SECRET", default=None,
                   help="require AUTH SECRET (RESP) or Authorization: Bearer SECRET (HTTP); "
                        "default: $SPOUGE_PASSWORD if set")
    p.add_argument("--tls-cert", metavar="PEM", default=None, help="serve TLS with this certificate chain")
    p.add_argument("--tls-key", metavar="PEM", default=None,
                   help="private key for --tls-cert (if not in the same file)")
    p.add_argument("--cors-origin", metavar="ORIGIN", action="append", default=[],
                   help="allow browsers on this origin (scheme://host[:port]; repeatable; '*': any) to call the "
                        "HTTP API (CORS); default: no CORS headers, OPTIONS is 405")
    p.add_argument("--access-log", metavar="PATH", default=None,
                   help="append one Common Log Format line per HTTP request to PATH ('-': stderr); default: none")
    p.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"],
                   help="stderr log level (default %(default)s)")
    p.set_defaults(run=run)


_UNITS = {"": 1, "b": 1, "k": 2**10, "kb": 2**10, "m": 2**20, "mb": 2**20, "g": 2**30, "gb": 2**30}


def _size(text: str) -> int:
    """'64M', '512k', '1000000' -> bytes (binary units, as Redis's config)."""
    t = text.strip().lower()
    number = t.rstrip("kmgb")
    unit = t[len(number):]
    if not number.isdigit() or unit not in _UNITS:
        raise argparse.ArgumentTypeError(f"{text!r} is not a size (e.g. 1000000, 512k, 64M, 1G)")
    return int(number) * _UNITS[unit]


def _output_limit(text: str) -> tuple[int, int, float]:
    parts = text.split(":")
    if len(parts) != 3:
        raise argparse.ArgumentTypeError(f"{text!r} is not HARD:SOFT:SECONDS (e.g. 32M:8M:10)")
    try:
        seconds = float(parts[2])
    except ValueError:
        raise argparse.ArgumentTypeError(f"{parts[2]!r} is not a number of seconds") from None
    return _size(parts[0]), _size(parts[1]), seconds


def _redis_url_problem(url: str) -> str | None:
    from .rediscache import CacheURLError, parse_url

    try:
        parse_url(url)
    except CacheURLError as exc:
        return str(exc)
    return None


def _origin_problem(origins: list[str]) -> str | None:
    """An origin is '*' or scheme://host[:port] as a browser sends it in Origin (no path, no trailing slash)."""
    import re

    for origin in origins:
        if origin != "*" and not re.fullmatch(r"[a-z][a-z0-9+.-]*://[^/\s?#]+", origin):
            return f"--cors-origin {origin!r} is not '*' or scheme://host[:port] (e.g. https://example.com)"
    return None


def _log_problem(path: str | None) -> str | None:
    if path is None or path == "-":
        return None
    try:
        with open(path, "a"):
            pass
    except OSError as exc:
        return f"--access-log {path}: {exc.strerror}"
    return None


def _check(args) -> str | None:
    checks = [
        (1 <= args.port <= 65535 or args.port == 0, "--port must be 0..65535"),
        (args.workers >= 1, "--workers must be at least 1"),
        (args.jobs >= 0, "--jobs must be at least 0"),
        (args.max_queue >= 1, "--max-queue must be at least 1"),
        (args.max_clients >= 1, "--max-clients must be at least 1"),
        (1 <= args.max_digits <= 100000, "--max-digits must be 1..100000"),
        (args.cache_size >= 0, "--cache-size must be at least 0"),
        (args.max_queue_bytes >= 1, "--max-queue-bytes must be at least 1"),
        (args.inline_budget >= 0, "--inline-budget must be at least 0"),
        (args.output_limit[2] > 0 and args.output_limit[0] > 0, "--output-limit needs a positive HARD and SECONDS"),
        (min(args.idle_timeout, args.request_timeout, args.compute_timeout, args.drain_timeout) > 0,
         "timeouts must be positive"),
        (not args.tls_key or args.tls_cert, "--tls-key needs --tls-cert"),
        (args.cache_redis_ttl >= 1 and args.cache_redis_timeout_ms > 0 and args.cache_redis_min_ms >= 0,
         "--cache-redis-ttl, -timeout-ms must be positive and -min-ms at least 0"),
        (args.cache_redis is None or _redis_url_problem(args.cache_redis) is None,
         _redis_url_problem(args.cache_redis) if args.cache_redis else ""),
        (not args.tls_cert or os.path.exists(args.tls_cert), f"--tls-cert {args.tls_cert}: no such file"),
        (not args.tls_key or os.path.exists(args.tls_key), f"--tls-key {args.tls_key}: no such file"),
        (_origin_problem(args.cors_origin) is None, _origin_problem(args.cors_origin) or ""),
        (_log_problem(args.access_log) is None, _log_problem(args.access_log) or ""),
    ]
    return next((message for ok, message in checks if not ok), None)


def run(args) -> int:
    problem = _check(args)
    if problem:
        print(f"spouge: error: {problem}", file=sys.stderr)
        return 2
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s")
    config = Config(
        host=args.host, port=args.port, idle_timeout=args.idle_timeout, request_timeout=args.request_timeout,
        compute_timeout=args.compute_timeout, drain_timeout=args.drain_timeout, max_clients=args.max_clients,
        max_queue=args.max_queue, max_digits=args.max_digits, cache_size=args.cache_size, jobs=args.jobs,
        reuse_port=False,  # --workers share one socket
        password=args.requirepass if args.requirepass is not None else (os.environ.get("SPOUGE_PASSWORD") or None),
        tls_cert=args.tls_cert, tls_key=args.tls_key,
        cache_memory=args.cache_memory, max_queue_bytes=args.max_queue_bytes, inline_budget=args.inline_budget,
        output_hard_limit=args.output_limit[0], output_soft_limit=args.output_limit[1],
        output_soft_seconds=args.output_limit[2],
        cache_redis=args.cache_redis, cache_redis_min_seconds=args.cache_redis_min_ms / 1000,
        cache_redis_ttl=args.cache_redis_ttl, cache_redis_timeout=args.cache_redis_timeout_ms / 1000,
        cache_redis_secret=os.environ.get("SPOUGE_CACHE_SECRET") or None,
        cors_origins=tuple(args.cors_origin), access_log=args.access_log,
    )
    if args.workers == 1:
        return _serve(config)
    return _supervise(config, args.workers)


#: Seconds between a --workers process's metrics flushes (what another worker's scrape can lag by).
METRICS_FLUSH_INTERVAL = 1.0
#: A worker that dies sooner than this after its start is replaced only after this long (no fork loop).
RESTART_BACKOFF = 1.0


def _serve(config: Config, listener: socket.socket | None = None, supervisor: int | None = None) -> int:
    """Run one server process: on its own socket, or (a --workers process) on the supervisor's."""
    try:
        server = Server(config, listener=listener)
    except ssl.SSLError as exc:
        print(f"spouge: error: cannot use the TLS certificate/key: {exc}", file=sys.stderr)
        return 2
    except CacheURLError as exc:  # --cache-redis: a host that does not resolve
        print(f"spouge: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"spouge: error: cannot listen on {config.host}:{config.port}: {exc.strerror}", file=sys.stderr)
        return 2
    server.install_signal_handlers()
    if supervisor is not None:
        # Stop orders come from the supervisor (a terminal's ^C reaches the whole process group:
        # counted twice it would mean "exit at once").
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        _flush_metrics_every_second(server, supervisor)
    try:
        return server.serve_forever()
    finally:
        server.metrics.flush()


def _flush_metrics_every_second(server: Server, supervisor: int) -> None:
    """--workers: publish this worker's numbers for the others' scrapes; drain if the supervisor is gone."""

    def tick() -> None:
        if os.getppid() != supervisor and not server.draining:  # the supervisor died (SIGKILL): stop, do not linger
            log.warning("supervisor %d is gone: stopping", supervisor)
            os.kill(os.getpid(), signal.SIGTERM)
        server.metrics.flush(server._gauges())
        server.loop.call_later(METRICS_FLUSH_INTERVAL, tick)

    tick()


def _supervise(config: Config, workers: int) -> int:
    """Bind and listen once, then fork N server processes that all accept on that one socket.

    No SO_REUSEPORT: the port is this server's alone, so a second ``spouge serve`` on it fails
    with "address already in use" instead of silently taking a share of the connections.
    A worker that dies is replaced (its live gauges leave /metrics; its counts stay in the totals).
    SIGTERM/SIGINT are passed on to every worker as SIGTERM (drain; a second one: exit at once);
    SIGHUP is ignored, as by the workers.
    """
    try:
        listener = listen(config)
    except OSError as exc:
        print(f"spouge: error: cannot listen on {config.host}:{config.port}: {exc.strerror}", file=sys.stderr)
        return 2
    metrics_dir = tempfile.mkdtemp(prefix="spouge-metrics-")
    supervisor = os.getpid()
    children: dict[int, float] = {}  # pid -> start (monotonic)
    balance = admission.AcceptBalance(workers)  # shared connection counts, so accepts spread over the workers
    slots: dict[int, int] = {}  # pid -> its index in balance (a replacement takes the dead one's)
    state = {"stopping": False, "status": 0}
    stop_signals = {signal.SIGTERM, signal.SIGINT, signal.SIGHUP}

    def start_worker() -> None:
        # Signals wait while we fork and record the child, so a stop order cannot miss a new worker.
        signal.pthread_sigmask(signal.SIG_BLOCK, stop_signals)
        try:
            if state["stopping"]:
                return
            index = min(set(range(workers)) - set(slots.values()))
            pid = os.fork()
            if pid == 0:
                code = 1
                try:
                    for signum in stop_signals:
                        signal.signal(signum, signal.SIG_DFL)
                    signal.pthread_sigmask(signal.SIG_UNBLOCK, stop_signals)
                    metrics.enable_multiprocess(metrics_dir)
                    admission.balance = balance.attach(index)
                    code = _serve(config, listener, supervisor)
                except BaseException:
                    log.exception("worker failed")
                finally:
                    os._exit(code)
            children[pid] = time.monotonic()
            slots[pid] = index
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, stop_signals)

    def on_signal(signum, frame) -> None:
        if signum == signal.SIGHUP:
            log.info("SIGHUP ignored: nothing to reload")
            return
        if not state["stopping"]:
            state["stopping"] = True
            listener.close()  # the workers close theirs as they drain: from now on the port refuses
        for pid in list(children):
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    for signum in stop_signals:
        signal.signal(signum, on_signal)
    log.info("spouge supervisor %d: %d workers on %s:%d", supervisor, workers, *listener.getsockname()[:2])
    try:
        for _ in range(workers):
            start_worker()
        while children:
            pid, wait_status = os.waitpid(-1, 0)
            started = children.pop(pid, None)
            slots.pop(pid, None)
            if started is None:
                continue
            metrics.mark_worker_dead(metrics_dir, pid)
            code = os.waitstatus_to_exitcode(wait_status)
            if state["stopping"]:
                state["status"] = state["status"] or code
                continue
            if code == 2 and not state["status"]:  # a start-up failure (TLS key, ...): it would fail again
                state["status"] = 2
                on_signal(signal.SIGTERM, None)
                continue
            log.warning("worker %d exited (%s); starting another", pid,
                        f"status {code}" if code >= 0 else f"signal {-code}")
            if time.monotonic() - started < RESTART_BACKOFF:
                time.sleep(RESTART_BACKOFF)
            if not state["stopping"]:
                start_worker()
    finally:
        listener.close()
        shutil.rmtree(metrics_dir, ignore_errors=True)
    return state["status"]
