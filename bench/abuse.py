"""Attacks on one server, as issue 10 tried them: the loop must never stall and memory must never balloon.

    python3 bench/abuse.py [--only NAME,...] [--quick] [--list]

For each attack: a fresh `spouge serve` (default options, --jobs 2: no password,
loopback), a second process that sends a RESP PING every 1 ms on its own
connection and times each answer, and the attack itself from this process.
Prints, per attack, the probe's p99 and max latency while the attack runs, the
server's RSS before, at its peak during, and 1.5 s after the attack (its
sockets closed), the server's CPU use during the attack, and what the
attacker saw.  RSS is the server process's own (compute workers are separate
processes, bounded by --jobs).  Targets (issue 10, 2 cores): probe max
<= 50 ms and p99 <= 5 ms during every attack; 100 never-reading connections
<= 100 MB in all; 20000 unknown command names <= 5 MB.

Every attack is bounded in count and time (see ATTACKS); everything stays on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import select
import socket
import statistics
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from server import cmd, spouge

SETTLE = 1.5  # seconds after an attack before "after" is measured


# --- the probe: a second process pinging every millisecond ---------------------------------------
def _probe(port: int, pipe, stop) -> None:
    samples: list[tuple[float, float]] = []
    sock = None
    next_at = time.monotonic()
    while not stop.is_set():
        if sock is None:
            try:
                sock = socket.create_connection(("127.0.0.1", port), timeout=60)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                time.sleep(0.01)
                continue
        start = time.monotonic()
        try:
            sock.sendall(b"*1\r\n$4\r\nPING\r\n")
            reply = b""
            while not reply.endswith(b"\r\n"):
                chunk = sock.recv(64)
                if not chunk:
                    raise ConnectionError("closed")
                reply += chunk
        except OSError:
            sock.close()
            sock = None
            continue
        end = time.monotonic()
        samples.append((start, end - start))
        next_at = max(next_at + 0.001, end)
        pause = next_at - time.monotonic()
        if pause > 0:
            time.sleep(pause)
    pipe.send(samples)


class Probe:
    def __init__(self, port: int) -> None:
        ctx = multiprocessing.get_context("fork")
        self._recv, send = ctx.Pipe(duplex=False)
        self._stop = ctx.Event()
        self.proc = ctx.Process(target=_probe, args=(port, send, self._stop), daemon=True)
        self.proc.start()

    def finish(self) -> list[tuple[float, float]]:
        self._stop.set()
        samples = self._recv.recv() if self._recv.poll(120) else []
        self.proc.join(10)
        return samples


# --- measuring the server -------------------------------------------------------------------------
def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        return int(f.read().split("VmRSS:")[1].split()[0]) / 1024


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class PeakRss(threading.Thread):
    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak, self._halt = pid, 0.0, threading.Event()
        self.start()

    def run(self) -> None:
        while not self._halt.is_set():
            try:
                self.peak = max(self.peak, rss_mb(self.pid))
            except OSError:
                return
            time.sleep(0.02)

    def finish(self) -> float:
        self._halt.set()
        self.join()
        return self.peak


# --- helpers for attackers ------------------------------------------------------------------------
def connect(port: int, timeout: float = 30) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def read_until(s: socket.socket, done, timeout: float) -> bytes:
    """Read until done(data) or timeout; what arrived."""
    data = b""
    end = time.monotonic() + timeout
    while not done(data) and time.monotonic() < end:
        ready, _, _ = select.select([s], [], [], max(0.0, end - time.monotonic()))
        if not ready:
            break
        try:
            chunk = s.recv(1 << 20)
        except OSError:
            break
        if not chunk:
            break
        data += chunk
    return data


def http_get(port: int, target: str, timeout: float) -> tuple[str, float]:
    start = time.monotonic()
    with connect(port, timeout) as s:
        s.sendall(f"GET {target} HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n".encode())
        data = read_until(s, lambda d: False, timeout)
    return (data.split(b"\r\n", 1)[0].decode(errors="replace") or "no reply"), time.monotonic() - start


def flood_without_reading(
    port: int, count: int, request: bytes, seconds: float, cap: int = int(os.environ.get("CAP", str(2 * 2**20)))
) -> str:
    """`count` connections each send `request` over and over (at most `cap` bytes) for `seconds`, never reading.

    The cap keeps the attacker from spending a core of its own on loopback copies (on 2 cores it would
    starve the probe and the server alike); 2 MB of requests is far more than the server lets in."""
    socks = [connect(port) for _ in range(count)]
    for s in socks:
        s.setblocking(False)
    sent = [0] * count
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        for i, s in enumerate(socks):
            if sent[i] >= cap:
                continue
            try:
                sent[i] += s.send(request)
            except (BlockingIOError, ConnectionError):
                pass
        time.sleep(0.005)
    open_ = 0
    for s in socks:
        try:
            open_ += s.recv(1, socket.MSG_PEEK) != b""  # the server's replies are still waiting for us
        except BlockingIOError:
            open_ += 1
        except OSError:
            pass
        s.close()
    return f"{count} connections sent {sum(sent) / 2**20:.1f} MB in {seconds:g} s, {open_} still open"


# --- the attacks ------------------------------------------------------------------------------------
def attack_gamma_http_tiny_x(port: int, quick: bool) -> str:
    status, took = http_get(port, "/v1/gamma?x=1e-10000&digits=200", 60)
    return f"GET /v1/gamma?x=1e-10000&digits=200: {status!r} after {took:.2f} s"


def attack_gamma_resp_complex(port: int, quick: bool) -> str:
    start = time.monotonic()
    with connect(port, 60) as s:
        s.sendall(cmd("GAMMA", "1+1e-10000j", "425"))
        reply = read_until(s, lambda d: d.endswith(b"\r\n") and (d[:1] == b"-" or d.count(b"\r\n") >= 2), 60)
    return f"GAMMA 1+1e-10000j 425: {reply[:60]!r} after {time.monotonic() - start:.2f} s"


def attack_unknown_commands(port: int, quick: bool) -> str:
    count = 2000 if quick else 20000
    rng = random.Random(10)
    conns = [connect(port, 60) for _ in range(4)]
    errors = 0
    for i in range(0, count, 100):
        s = conns[(i // 100) % 4]
        batch = b"".join(cmd(f"X{i + k:05d}" + "".join(rng.choices("ABCDEFGHIJ", k=16 * 1024 - 6))) for k in range(100))
        s.sendall(batch)
        data = read_until(s, lambda d: d.count(b"\r\n") >= 100, 30)
        errors += data.count(b"-ERR unknown command")
    for s in conns:
        s.close()
    scrape_status, scrape_took = http_get(port, "/metrics", 60)
    return (f"{count} distinct 16 KB names: {errors} answered -ERR unknown command; "
            f"/metrics scrape {scrape_status!r} in {scrape_took * 1000:.0f} ms")


def attack_never_reading_pages(port: int, quick: bool) -> str:
    return flood_without_reading(port, 100, b"GET / HTTP/1.1\r\nHost: bench\r\n\r\n" * 200, 3 if quick else 8)


def attack_never_reading_big_replies(port: int, quick: bool) -> str:
    with connect(port, 60) as s:  # the reply is cached before the attack's clock matters
        s.sendall(cmd("FACTORIAL", "1e9", "10000"))
        read_until(s, lambda d: d.count(b"\r\n") >= 2, 60)
    return flood_without_reading(port, 100, cmd("FACTORIAL", "1e9", "10000") * 200, 3 if quick else 8)


def attack_spellings_of_one(port: int, quick: bool) -> str:
    count = 1200 if quick else 12000
    answered = 0
    with connect(port, 60) as s:
        for start in range(0, count, 200):
            batch = b"".join(cmd("GAMMA", "1." + "0" * k, "20") for k in range(start, min(count, start + 200)))
            s.sendall(batch)
            want = 2 * min(200, count - start)
            data = read_until(s, lambda d, want=want: d.count(b"\r\n") >= want, 60)
            answered += data.count(b"1.0000000000000000000e+0\r\n")
    return f"{count} spellings of x = 1 (up to {count} zeros): {answered} answered 1.0000000000000000000e+0"


def attack_queued_jobs(port: int, quick: bool) -> str:
    count = 1000 if quick else 10000
    rng = random.Random(12)
    conns = [connect(port, 60) for _ in range(10)]
    for s in conns:
        batch = b"".join(cmd("GAMMA", "0." + "".join(rng.choices("0123456789", k=2000)), "10000")
                         for _ in range(count // 10))
        s.sendall(batch)
    time.sleep(3)
    replies = 0
    for s in conns:
        s.setblocking(False)
        try:
            replies += s.recv(1 << 22).count(b"\r\n")
        except BlockingIOError:
            pass
        s.close()  # the clients go away: their queued jobs are no use to anyone
    start = time.monotonic()
    with connect(port, 120) as s:
        s.sendall(cmd("GAMMA", "0.123", "3000"))
        reply = read_until(s, lambda d: d.count(b"\r\n") >= 2 or d[:1] == b"-", 120)
    fresh = time.monotonic() - start
    return (f"{count} distinct 10000-digit jobs over 10 connections, closed after 3 s; "
            f"a new pooled request then took {fresh:.2f} s ({reply[:24]!r})")


def attack_slow_senders(port: int, quick: bool) -> str:
    seconds = 3 if quick else 8
    socks = [connect(port) for _ in range(8)]
    size = 60000
    head = b"*2\r\n$4\r\nECHO\r\n$%d\r\n" % size + b"x" * 30000
    for s in socks:
        s.sendall(head)
    sent = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end and sent < size - 30001:
        for s in socks:
            try:
                s.send(b"x")
            except OSError:
                pass
        sent += 1
        time.sleep(0.001)
    for s in socks:
        s.close()
    return f"8 connections, each a 60 KB argument: 30 KB at once, then {sent} bytes one at a time (1 ms apart)"


def attack_never_reading_resp_pipelines(port: int, quick: bool) -> str:
    return flood_without_reading(port, 100, cmd("ECHO", "x" * 1000) * 100, 3 if quick else 8)


ATTACKS = {
    # name: (attacker, what it is)
    "gamma-tiny-x-http": (attack_gamma_http_tiny_x, "one GET /v1/gamma?x=1e-10000&digits=200"),
    "gamma-complex-resp": (attack_gamma_resp_complex, "one GAMMA 1+1e-10000j 425"),
    "unknown-commands": (attack_unknown_commands, "20000 distinct 16 KB unknown command names, then a /metrics scrape"),
    "never-reading-pages": (attack_never_reading_pages, "100 connections pipelining GET / for 8 s, never reading"),
    "never-reading-big-replies": (attack_never_reading_big_replies,
                                  "100 connections pipelining FACTORIAL 1e9 10000 for 8 s, never reading"),
    "never-reading-echo": (attack_never_reading_resp_pipelines,
                           "100 connections pipelining ECHO <1000 B> for 8 s, never reading"),
    "spellings-of-1": (attack_spellings_of_one, "12000 spellings of x = 1 (GAMMA 1.000... 20)"),
    "queued-jobs": (attack_queued_jobs, "10000 queued 10000-digit jobs, their clients gone after 3 s"),
    "slow-senders": (attack_slow_senders, "8 connections trickling a 60 KB request byte by byte for 8 s"),
}


def p99(values: list[float]) -> float:
    if len(values) >= 2:
        return statistics.quantiles(values, n=100, method="inclusive")[98]
    return values[0] if values else float("nan")


def run(name: str, quick: bool, server_args: list[str]) -> dict:
    attacker, _ = ATTACKS[name]
    server = spouge("--jobs", "2", *server_args)
    pid = server.proc.pid
    probe = Probe(server.port)
    time.sleep(1.0)
    before = rss_mb(pid)
    peak = PeakRss(pid)
    cpu0, start = cpu_seconds(pid), time.monotonic()
    try:
        outcome = attacker(server.port, quick)
    except Exception as exc:  # an attack that fails is a figure too
        outcome = f"attacker failed: {exc!r}"
    end = time.monotonic()
    cpu = (cpu_seconds(pid) - cpu0) / max(end - start, 1e-9)
    during = peak.finish()
    time.sleep(SETTLE)
    after = rss_mb(pid)
    samples = probe.finish()
    server.stop()
    window = [latency * 1000 for t, latency in samples if t <= end and t + latency >= start]  # overlapping the attack
    return {
        "name": name, "seconds": end - start, "pings": len(window), "p99": p99(window),
        "max": max(window, default=float("nan")),
        "before": before, "during": during, "after": after, "cpu": cpu, "outcome": outcome,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default="", help="comma-separated attack names (default: all)")
    parser.add_argument("--quick", action="store_true", help="a tenth of the counts and shorter floods")
    parser.add_argument("--list", action="store_true", help="list the attacks and exit")
    parser.add_argument("--server-args", default="",
                        help="extra `spouge serve` options, e.g. '--output-limit 32M:8M:10'")
    args = parser.parse_args()
    if args.list:
        for name, (_, what) in ATTACKS.items():
            print(f"{name:28} {what}")
        return
    names = [n for n in args.only.split(",") if n] or list(ATTACKS)
    unknown = [n for n in names if n not in ATTACKS]
    if unknown:
        parser.error(f"unknown attack(s) {', '.join(unknown)}; see --list")
    print(f"### Attacks: `python3 bench/abuse.py{' --quick' if args.quick else ''}` ({os.cpu_count()} cores)\n")
    print("| attack | s | pings | probe p99 | probe max | RSS before | RSS peak | RSS after | server CPU "
          "| attacker saw |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name in names:
        r = run(name, args.quick, args.server_args.split())
        print(f"| {r['name']} | {r['seconds']:.1f} | {r['pings']} | {r['p99']:.1f} ms | {r['max']:.1f} ms | "
              f"{r['before']:.0f} MB | {r['during']:.0f} MB | {r['after']:.0f} MB | {r['cpu'] * 100:.0f}% "
              f"| {r['outcome']} |", flush=True)


if __name__ == "__main__":
    main()
