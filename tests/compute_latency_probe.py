"""A latency probe in its own process: PING a server every ~1 ms over one connection, report the worst.

    probe = LatencyProbe(port); probe.start(); ...attack...; stats = probe.stop()
    stats: {"max": seconds, "p99": seconds, "count": pings answered}

Run as a script (python3 tests/compute_latency_probe.py PORT) it pings until a line
arrives on stdin, then prints "max p99 count" and exits.  A process of its
own, not a thread: the test's own work must not hold the probe back (GIL).
"""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time


def _probe(port: int) -> None:
    sock = socket.create_connection(("127.0.0.1", port), timeout=60)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    stop = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.readline(), stop.set()), daemon=True).start()
    latencies = []
    while not stop.is_set():
        start = time.perf_counter()
        sock.sendall(b"PING\r\n")
        data = b""
        while not data.endswith(b"\r\n"):
            chunk = sock.recv(64)
            if not chunk:
                raise SystemExit("server closed the probe's connection")
            data += chunk
        latencies.append(time.perf_counter() - start)
        time.sleep(0.001)
    latencies.sort()
    p99 = latencies[int(0.99 * (len(latencies) - 1))] if latencies else float("nan")
    print(f"{max(latencies, default=float('nan'))} {p99} {len(latencies)}", flush=True)


class LatencyProbe:
    def __init__(self, port: int) -> None:
        self.port = port
        self.proc: subprocess.Popen | None = None

    def start(self) -> LatencyProbe:
        self.proc = subprocess.Popen([sys.executable, __file__, str(self.port)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        time.sleep(0.3)  # connected and pinging
        return self

    def stop(self) -> dict:
        out, _ = self.proc.communicate("stop\n", timeout=120)
        worst, p99, count = out.split()
        return {"max": float(worst), "p99": float(p99), "count": int(count)}

    def __enter__(self) -> LatencyProbe:
        return self.start()

    def __exit__(self, *exc) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


if __name__ == "__main__":
    _probe(int(sys.argv[1]))
