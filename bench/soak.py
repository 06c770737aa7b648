"""Soak: many connections, ~10^6 mixed requests, reconnecting clients and some garbage; every answer checked.

    python3 bench/soak.py [--requests 1000000] [--connections 64]

Reports RSS after warm-up and at the end (target: within 10%).  Warm-up is
the first 30% of requests: a tenth of the requests ask for a new x, and the
value and reply caches (10000 entries each) are full only after ~200000
requests; RSS measured before that grows with the caches, not with a leak.
Also reports throughput, and the count of wrong or missing answers (target 0).
Expected answers come from the library in this process.
"""

from __future__ import annotations

import argparse
import os
import random
import selectors
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import spouge
from server import cmd
from server import spouge as start_spouge

GARBAGE = [b"*99999999999\r\n", b"\x00\xff" * 100, b"GET / HTTP/7\r\n\r\n", b"*2\r\n$-5\r\n", b'ECHO "x\r\n']


def rss_kb(pid: int) -> int:
    return int(open(f"/proc/{pid}/status").read().split("VmRSS:")[1].split()[0])


def soak(requests: int, connections: int, out=print) -> dict:
    rng = random.Random(11)
    table = []
    for _ in range(3000):
        fn = rng.choice(["factorial", "gamma", "lgamma"])
        x = f"{rng.randint(1, 500)}.{rng.randint(0, 999)}"
        digits = rng.choice([5, 16, 30, 60])
        table.append((fn, x, digits, str(getattr(spouge, fn)(x, digits=digits)).encode()))
    server = start_spouge("--jobs", "1")
    sel = selectors.DefaultSelector()
    state = {"sent": 0, "done": 0, "wrong": 0, "reconnects": 0, "garbage": 0}

    def open_conn():
        sock = socket.create_connection(("127.0.0.1", server.port))
        sock.setblocking(False)
        conn = {"sock": sock, "buf": b"", "expect": [], "budget": rng.randint(200, 5000)}
        sel.register(sock, selectors.EVENT_READ, conn)
        return conn

    def send_batch(conn):
        batch = []
        for _ in range(rng.randint(1, 32)):
            if state["sent"] >= requests or conn["budget"] <= 0:
                break
            if rng.random() < 0.1:  # a value nobody asked before: computed, not cached
                fn, x, digits = "gamma", f"{rng.randint(1, 10**6)}.{rng.randint(1, 10**6)}", 16
                expected = str(spouge.gamma(x, digits=digits)).encode()
            else:
                fn, x, digits, expected = rng.choice(table)
            batch.append(cmd(fn.upper(), x, str(digits)))
            conn["expect"].append(expected)
            conn["budget"] -= 1
            state["sent"] += 1
        if batch:
            conn["sock"].sendall(b"".join(batch))

    conns = [open_conn() for _ in range(connections)]
    for conn in conns:
        send_batch(conn)
    warm_rss = None
    start = time.monotonic()
    while state["done"] < requests and time.monotonic() - start < 1800:
        for key, _ in sel.select(5):
            conn = key.data
            data = conn["sock"].recv(1 << 20)
            conn["buf"] += data
            buf = conn["buf"]
            while conn["expect"]:
                if not buf.startswith(b"$"):
                    if b"\r\n" in buf:
                        state["wrong"] += 1
                        conn["expect"].pop(0)
                        buf = buf.split(b"\r\n", 1)[1]
                        state["done"] += 1
                        continue
                    break
                head, _, rest = buf.partition(b"\r\n")
                size = int(head[1:])
                if len(rest) < size + 2:
                    break
                value, buf = rest[:size], rest[size + 2 :]
                state["wrong"] += value != conn["expect"].pop(0)
                state["done"] += 1
            conn["buf"] = buf
            if not conn["expect"]:
                if conn["budget"] <= 0 or not data:  # reconnect
                    sel.unregister(conn["sock"])
                    conn["sock"].close()
                    state["reconnects"] += 1
                    if rng.random() < 0.3:  # and sometimes a garbage sender passes by
                        with socket.create_connection(("127.0.0.1", server.port)) as g:
                            g.sendall(rng.choice(GARBAGE))
                        state["garbage"] += 1
                    conn = open_conn()
                send_batch(conn)
        if warm_rss is None and state["done"] >= requests * 3 // 10:
            warm_rss = rss_kb(server.proc.pid)
    elapsed = time.monotonic() - start
    end_rss = rss_kb(server.proc.pid)
    missing = state["sent"] - state["done"]
    server.stop()
    result = {**state, "missing": missing, "seconds": elapsed, "warm_rss_kb": warm_rss, "end_rss_kb": end_rss}
    out("| requests | connections | reconnects | garbage connections | wrong | missing | time | rate "
        "| RSS after warm-up | RSS at end | growth |")
    out("|---|---|---|---|---|---|---|---|---|---|---|")
    out(f"| {state['done']:,} | {connections} | {state['reconnects']:,} | {state['garbage']:,} | {state['wrong']} "
        f"| {missing} | {elapsed:.0f} s | {state['done'] / elapsed:,.0f}/s | {warm_rss / 1024:.1f} MB "
        f"| {end_rss / 1024:.1f} MB | {(end_rss / warm_rss - 1) * 100:+.1f}% |")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=1_000_000)
    parser.add_argument("--connections", type=int, default=64)
    args = parser.parse_args()
    soak(args.requests, args.connections)


if __name__ == "__main__":
    main()
