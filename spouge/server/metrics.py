"""Counters, gauges and a latency histogram, exposed by prometheus_client in Prometheus text format 0.0.4.

Owns only numbers; the server updates them and supplies the gauges it knows
(open connections, cache size, pool queue) at render time.

Theory of operation:
- Clients cannot write metrics.  A request's label (its RESP command name or
  HTTP path, both client bytes) is kept only if it is a known command
  (``commands.REDIS_COMMANDS``, read live) or a known route; anything else is
  counted as ``unknown``.  Statuses likewise come from a fixed set.  So the
  label sets are bounded (about 40 commands and routes × the statuses)
  whatever clients send, 20000 made-up command names cost nothing, and no
  value a client chose reaches the exposition.  prometheus_client writes the
  text (and would escape any label value), from a ``CollectorRegistry`` of this
  server's own, never the library's global one.
- The per-request path is plain Python counting; prometheus_client reads it
  at scrape time through a collector (``_Snapshot``).  Measured reason (this
  machine, Python 3.11): the library's ``Counter.labels(..).inc()`` plus
  ``Histogram.observe()`` cost 1.0 + 0.6 µs per request, against 0.2 µs for
  a dict increment and a bisect, and a pipelined RESP request costs ~5 µs in
  all, so the library on the hot path would cost ~15 % of RESP throughput.
- With ``--workers`` (``enable_multiprocess``) every worker also publishes its
  numbers into prometheus_client's multiprocess files (``flush``: the
  deltas since the last flush, as the library's own mmap-backed values, so the
  library's ``MultiProcessCollector`` merges them: counters and the histogram
  summed over all workers that ever ran, gauges summed over live ones, their
  ``multiprocess_mode`` below).  A worker flushes every second (the server
  start-up in cli.py schedules it) and before it renders, so one scrape on
  any worker shows every worker's numbers, at most a second old.  The
  supervisor owns the directory and marks dead workers
  (``mark_worker_dead``), whose live gauges then drop out.
"""

from __future__ import annotations

import bisect
import os
import time

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from prometheus_client.utils import floatToGoString
from prometheus_client.values import MultiProcessValue

#: Latency buckets in seconds: from a cached answer (~50 µs) to a 10000-digit computation.
BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)

UNKNOWN = "unknown"
#: Routes, if commands.py does not list them (it is read first: ROUTES and OTHER_ROUTES).
DEFAULT_ROUTES = ("/", "/health", "/metrics", "/v1/factorial", "/v1/gamma", "/v1/lgamma", "/v1/method")
#: Labels the server itself gives to things that are not requests (connection.py's framing errors).
SERVER_LABELS = ("protocol_error",)
#: Statuses the server reports: words for RESP outcomes, and every HTTP status code.
STATUSES = frozenset(
    {"ok", "error", "noauth", "protocol_error", "overloaded", "timeout", "cancelled", "busy", "closed", "dropped"}
    | {str(code) for code in range(100, 600)}
)
#: How a gauge is merged across --workers (prometheus_client multiprocess modes); default livesum.
GAUGE_MODES = {"spouge_uptime_seconds": "livemax"}

REQUESTS = ("spouge_requests", "Requests answered, by command and status.")
DURATION = ("spouge_request_duration_seconds", "Time from a request's parse to its reply.")
COUNTERS = {
    "connections_total": ("spouge_connections", "Connections accepted."),
    "rejected_connections": ("spouge_connections_rejected", "Connections refused at --max-clients."),
    "protocol_errors": ("spouge_protocol_errors", "Connections closed for malformed input."),
}

_multiprocess_dir: str | None = None


def enable_multiprocess(path: str) -> None:
    """In a --workers process, before its Server is made: publish into prometheus_client's
    multiprocess files in ``path`` (a directory the supervisor made for this run)."""
    global _multiprocess_dir  # noqa: PLW0603 - one per process, set once before the Server exists
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = path  # where the library's mmap-backed values open their files
    _multiprocess_dir = path


def mark_worker_dead(path: str, pid: int) -> None:
    """Supervisor: a worker is gone; its live gauges leave the sums (its counters stay in the totals)."""
    mark_process_dead(pid, path)


def _known_labels() -> tuple[dict, frozenset[str]]:
    """The RESP command table (the live dict: commands registered later count too) and the route labels."""
    from . import commands  # here, not at import: commands may import the server modules that import us

    routes = set(DEFAULT_ROUTES) | set(getattr(commands, "ROUTES", ())) | set(getattr(commands, "OTHER_ROUTES", ()))
    return commands.REDIS_COMMANDS, frozenset(routes) | frozenset(SERVER_LABELS)


class Metrics:
    def __init__(self) -> None:
        self.started = time.time()
        self._commands, self._routes = _known_labels()
        self.requests: dict[tuple[str, str], int] = {}  # (command label, status label) -> count; bounded
        self.bucket_counts = [0] * (len(BUCKETS) + 1)  # per bucket, not cumulative; the last is +Inf
        self.latency_sum = 0.0
        self.latency_count = 0
        self.connections_total = 0  # the server increments these three itself
        self.rejected_connections = 0
        self.protocol_errors = 0
        self.registry = CollectorRegistry(auto_describe=False)
        self._snapshot = _Snapshot(self)
        self.registry.register(self._snapshot)
        self.multiprocess_dir = _multiprocess_dir
        self._published: dict = {}  # multiprocess: what flush() has written so far, per value
        self._values: dict = {}  # multiprocess: the library's mmap-backed value objects, per sample
        self._value_class = MultiProcessValue() if self.multiprocess_dir else None

    # --- the per-request path ----------------------------------------------------
    def observe(self, command: str, status: str, seconds: float) -> None:
        key = (
            command if command in self._commands or command in self._routes else UNKNOWN,
            status if status in STATUSES else UNKNOWN,
        )
        requests = self.requests
        requests[key] = requests.get(key, 0) + 1
        self.bucket_counts[bisect.bisect_left(BUCKETS, seconds)] += 1
        self.latency_sum += seconds
        self.latency_count += 1

    def observe_batch(self, values: list) -> None:
        """Requests answered by the frame cache (fastreplies.py): (reply, command label, status label, ...) each,
        in the lowest latency bucket (they are answered within microseconds of being read)."""
        requests = self.requests
        commands, routes = self._commands, self._routes
        for value in values:
            command = value[1]
            key = (command if command in commands or command in routes else UNKNOWN, value[2])
            requests[key] = requests.get(key, 0) + 1
        n = len(values)
        self.bucket_counts[0] += n
        self.latency_sum += n * 1e-6
        self.latency_count += n

    @property
    def total_requests(self) -> int:
        return self.latency_count

    # --- exposition ----------------------------------------------------------------
    @property
    def multiprocess(self) -> bool:
        return self.multiprocess_dir is not None

    def render(self, gauges: dict[str, tuple[str, float]]) -> str:
        """The exposition text: this process's numbers, or with --workers every worker's."""
        if self.multiprocess_dir is None:
            self._snapshot.gauges = gauges
            try:
                return generate_latest(self.registry).decode("utf-8")
            finally:
                self._snapshot.gauges = {}
        self.flush(gauges)
        registry = CollectorRegistry(auto_describe=False)
        MultiProcessCollector(registry, path=self.multiprocess_dir)
        return generate_latest(registry).decode("utf-8")

    def flush(self, gauges: dict[str, tuple[str, float]] | None = None) -> None:
        """--workers: write what changed since the last flush into this worker's multiprocess files."""
        if self.multiprocess_dir is None:
            return
        name, doc = REQUESTS
        for (command, status), count in list(self.requests.items()):
            self._add("counter", name, name + "_total", ("command", "status"), (command, status), doc, count)
        name, doc = DURATION
        for bound, count in zip((*BUCKETS, float("inf")), self.bucket_counts, strict=True):
            self._add("histogram", name, name + "_bucket", ("le",), (floatToGoString(bound),), doc, count)
        self._add("histogram", name, name + "_sum", (), (), doc, self.latency_sum)
        for attribute, (name, doc) in COUNTERS.items():
            self._add("counter", name, name + "_total", (), (), doc, getattr(self, attribute))
        for name, (doc, value) in (gauges or {}).items():
            if name.endswith("_total"):
                self._add("counter", name[:-6], name, (), (), doc, value)
            else:
                self._set_gauge(name, doc, value)

    def _value(self, kind: str, metric: str, sample: str, labelnames, labelvalues, doc: str, mode: str = ""):
        key = (sample, labelvalues)
        value = self._values.get(key)
        if value is None:
            assert self._value_class is not None, "values are kept only in multiprocess mode"
            value = self._values[key] = self._value_class(kind, metric, sample, labelnames, labelvalues, doc,
                                                          multiprocess_mode=mode)
        return value

    def _add(self, kind: str, metric: str, sample: str, labelnames, labelvalues, doc: str, total: float) -> None:
        """Publish a running total as its increase since the last flush (counters may not go down)."""
        key = (sample, labelvalues)
        value = self._value(kind, metric, sample, labelnames, labelvalues,
                            doc)  # made at 0 on first sight, as the library does
        delta = total - self._published.get(key, 0)
        if delta > 0:
            value.inc(delta)
            self._published[key] = total

    def _set_gauge(self, name: str, doc: str, value: float) -> None:
        key = (name, ())
        if self._published.get(key) != value:
            self._value("gauge", name, name, (), (), doc, GAUGE_MODES.get(name, "livesum")).set(value)
            self._published[key] = value


class _Snapshot:
    """The collector prometheus_client asks at scrape time (one process)."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics
        self.gauges: dict[str, tuple[str, float]] = {}

    def collect(self):
        m = self.metrics
        name, doc = REQUESTS
        requests = CounterMetricFamily(name, doc, labels=("command", "status"))
        for labels, count in sorted(m.requests.items()):
            requests.add_metric(labels, count)
        yield requests
        cumulative, buckets = 0, []
        for bound, count in zip((*BUCKETS, float("inf")), m.bucket_counts, strict=True):
            cumulative += count
            buckets.append((floatToGoString(bound), cumulative))
        name, doc = DURATION
        yield HistogramMetricFamily(name, doc, buckets=buckets, sum_value=m.latency_sum)
        for attribute, (name, doc) in COUNTERS.items():
            yield CounterMetricFamily(name, doc, value=getattr(m, attribute))
        for name, (doc, value) in self.gauges.items():
            if name.endswith("_total"):
                yield CounterMetricFamily(name[:-6], doc, value=value)
            else:
                yield GaugeMetricFamily(name, doc, value=value)
