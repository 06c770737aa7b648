"""Counters, gauges and a latency histogram, rendered in Prometheus text format (version 0.0.4).

Owns only numbers; the server updates them and supplies the gauges it knows
(open connections, cache size, pool queue) at render time.
"""

from __future__ import annotations

import bisect
import time
from collections import Counter

#: Latency buckets in seconds: from a cached answer (~50 µs) to a 10000-digit computation.
BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


class Metrics:
    def __init__(self) -> None:
        self.started = time.time()
        self.requests: Counter[tuple[str, str]] = Counter()  # (command, status) -> count
        self.bucket_counts = [0] * (len(BUCKETS) + 1)
        self.latency_sum = 0.0
        self.latency_count = 0
        self.connections_total = 0
        self.rejected_connections = 0
        self.protocol_errors = 0

    def observe(self, command: str, status: str, seconds: float) -> None:
        self.requests[(command, status)] += 1
        self.bucket_counts[bisect.bisect_left(BUCKETS, seconds)] += 1
        self.latency_sum += seconds
        self.latency_count += 1

    @property
    def total_requests(self) -> int:
        return self.latency_count

    def render(self, gauges: dict[str, tuple[str, float]]) -> str:
        out = [
            "# HELP spouge_requests_total Requests answered, by command and status.",
            "# TYPE spouge_requests_total counter",
        ]
        for (command, status), count in sorted(self.requests.items()):
            out.append(f'spouge_requests_total{{command="{command}",status="{status}"}} {count}')
        out += [
            "# HELP spouge_request_duration_seconds Time from a request's parse to its reply.",
            "# TYPE spouge_request_duration_seconds histogram",
        ]
        cumulative = 0
        for bound, count in zip(BUCKETS, self.bucket_counts):
            cumulative += count
            out.append(f'spouge_request_duration_seconds_bucket{{le="{bound}"}} {cumulative}')
        out.append(f'spouge_request_duration_seconds_bucket{{le="+Inf"}} {self.latency_count}')
        out.append(f"spouge_request_duration_seconds_sum {self.latency_sum:.6f}")
        out.append(f"spouge_request_duration_seconds_count {self.latency_count}")
        counters = {
            "spouge_connections_total": ("Connections accepted.", self.connections_total),
            "spouge_connections_rejected_total": ("Connections refused at --max-clients.", self.rejected_connections),
            "spouge_protocol_errors_total": ("Connections closed for malformed input.", self.protocol_errors),
        }
        for name, (help_text, value) in counters.items():
            out += [f"# HELP {name} {help_text}", f"# TYPE {name} counter", f"{name} {value}"]
        for name, (help_text, value) in gauges.items():
            kind = "counter" if name.endswith("_total") else "gauge"
            out += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}", f"{name} {value}"]
        return "\n".join(out) + "\n"
