"""Misbehaving-client figures for BENCHMARKS.md (issue 4).

    python3 bench/faults.py [--loris 1000] [--pipeline 1000000]

loris:    N connections each sending one byte a second; the normal client's
          latency percentiles meanwhile, and when the lorises were closed.
pipeline: one client writes --pipeline FACTORIAL requests and never reads;
          the server's peak RSS, whether it stopped reading, and a normal
          client's latency meanwhile.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import socket
import statistics
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from server import cmd, p99, resp_roundtrip, spouge


def rss_kb(pid: int) -> int:
    return int(open(f"/proc/{pid}/status").read().split("VmRSS:")[1].split()[0])


def was_closed(sock: socket.socket) -> bool:
    """Did the server close this connection (EOF, reset, or its request-timeout error)?"""
    sock.setblocking(False)
    try:
        data = sock.recv(65536)
    except BlockingIOError:
        return False
    except OSError:
        return True
    return data == b"" or b"request timeout" in data


def loris(count: int) -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (20000, 20000))
    s = spouge("--request-timeout", "10", "--jobs", "0")
    socks = [socket.create_connection(("127.0.0.1", s.port)) for _ in range(count)]
    message = cmd("FACTORIAL", "20")
    samples = []
    stop = threading.Event()

    def drip() -> None:
        step = 0
        while not stop.is_set():
            for sock in socks:
                try:
                    sock.send(message[step % len(message) : step % len(message) + 1])
                except OSError:
                    pass
            step += 1
            stop.wait(1.0)

    thread = threading.Thread(target=drip, daemon=True)
    thread.start()
    start = time.monotonic()
    with socket.create_connection(("127.0.0.1", s.port)) as good:
        while time.monotonic() - start < 12:
            samples.append(resp_roundtrip(good, cmd("GAMMA", f"{random.randint(1, 10**6)}.5", "16")))
            time.sleep(0.002)
    stop.set()
    closed = sum(was_closed(sock) for sock in socks)
    print(f"### Slow loris: {count} connections sending one byte a second, `--request-timeout 10`\n")
    print("| normal client requests | p50 | p99 | max | lorises closed by the server after 12 s | target |")
    print("|---|---|---|---|---|---|")
    print(f"| {len(samples)} × GAMMA (new x) | {statistics.median(samples) * 1e3:.2f} ms | {p99(samples) * 1e3:.2f} ms "
          f"| {max(samples) * 1e3:.1f} ms | {closed}/{count} | p99 < 20 ms |\n", flush=True)
    for sock in socks:
        sock.close()
    s.stop()


def pipeline(count: int) -> None:
    s = spouge("--jobs", "0")
    base = rss_kb(s.proc.pid)
    hog = socket.create_connection(("127.0.0.1", s.port))
    hog.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    request = cmd("FACTORIAL", "20")
    batch = request * 1000
    peak, sent = base, 0
    hog.setblocking(False)
    samples = []
    good = socket.create_connection(("127.0.0.1", s.port))
    start = time.monotonic()
    stalled_since = None
    while sent < count * len(request) and time.monotonic() - start < 120:
        try:
            sent += hog.send(batch)
            stalled_since = None
        except BlockingIOError:
            stalled_since = stalled_since or time.monotonic()
            if time.monotonic() - stalled_since > 3:
                break  # the server stopped reading from us: TCP flow control holds us back
            time.sleep(0.01)
        peak = max(peak, rss_kb(s.proc.pid))
        samples.append(resp_roundtrip(good, cmd("FACTORIAL", str(random.randint(1, 10**6)))))
    written = sent // len(request)
    print(f"### A client that pipelines up to {count:,} requests and never reads\n")
    print("| requests the client got written | server RSS before | peak RSS | others' p99 meanwhile "
          "| stopped reading us |")
    print("|---|---|---|---|---|")
    print(f"| {written:,} | {base / 1024:.1f} MB | {peak / 1024:.1f} MB | {p99(samples) * 1e3:.2f} ms "
          f"| {'yes' if written < count else 'no'} |\n", flush=True)
    hog.close()
    good.close()
    s.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--loris", type=int, default=1000)
    parser.add_argument("--pipeline", type=int, default=1_000_000)
    args = parser.parse_args()
    loris(args.loris)
    pipeline(args.pipeline)


if __name__ == "__main__":
    main()
