"""20000 distinct made-up command names against /metrics: its size, one scrape's time, the server's RSS.

    python3 bench/metrics_names.py [--names 20000] [--name-bytes 16000] [--requirepass SECRET]

Starts `spouge serve --jobs 0` on a free port, scrapes /metrics, sends the names
(RESP, one connection, replies read as they come), then 5000 made-up HTTP paths,
and scrapes again.  With --requirepass every name is refused with NOAUTH/401,
as an anonymous attacker's would be.
"""

from __future__ import annotations

import argparse
import http.client
import os
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests"))

from server_harness import resp_command, spouge_server


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:")) / 1024


def scrape(port: int, secret: str | None) -> tuple[int, float]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    start = time.perf_counter()
    conn.request("GET", "/metrics", headers={"Authorization": f"Bearer {secret}"} if secret else {})
    body = conn.getresponse().read()
    took = time.perf_counter() - start
    conn.close()
    return len(body), took


def pipeline(server, requests, batch: int = 200) -> None:
    with server.connect(timeout=120) as s:
        done = threading.Event()

        def drain() -> None:
            while not done.is_set():
                try:
                    if not s.recv(1 << 20):
                        return
                except OSError:
                    return

        reader = threading.Thread(target=drain, daemon=True)
        reader.start()
        for i in range(0, len(requests), batch):
            s.sendall(b"".join(requests[i : i + batch]))
        last = b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        s.sendall(resp_command("QUIT") if not requests[0].startswith(b"GET") else last)
        reader.join(120)
        done.set()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--names", type=int, default=20000)
    ap.add_argument("--name-bytes", type=int, default=16000,
                    help="bytes per name (default 16000, under the 16 KiB pre-AUTH cap)")
    ap.add_argument("--requirepass", default=None)
    args = ap.parse_args()
    extra = ("--requirepass", args.requirepass) if args.requirepass else ()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    with spouge_server("--jobs", "0", *extra) as server:
        pid = server.proc.pid
        size0, took0 = scrape(server.port, args.requirepass)
        rss0 = rss_mb(pid)
        names = [resp_command(f"N{i}:".encode() + b"n" * (args.name_bytes - 8)) for i in range(args.names)]
        start = time.perf_counter()
        pipeline(server, names)
        sent = time.perf_counter() - start
        del names
        auth = f"Authorization: Bearer {args.requirepass}\r\n" if args.requirepass else ""
        paths = [f"GET /made/up/{i}/{'p' * 200} HTTP/1.1\r\nHost: x\r\n{auth}\r\n".encode() for i in range(5000)]
        pipeline(server, paths)
        time.sleep(0.5)
        rss1 = rss_mb(pid)
        size1, took1 = scrape(server.port, args.requirepass)
    print(f"commit {commit}; {args.names} names of {args.name_bytes} B "
          f"({args.names * args.name_bytes / 2**20:.0f} MiB sent in {sent:.1f} s) "
          f"+ 5000 made-up HTTP paths; {'refused with NOAUTH/401' if args.requirepass else 'no password'}")
    print("| | /metrics bytes | scrape time | server RSS |")
    print("|---|---|---|---|")
    print(f"| before | {size0:,} | {took0 * 1e3:.1f} ms | {rss0:.1f} MB |")
    print(f"| after | {size1:,} | {took1 * 1e3:.1f} ms | {rss1:.1f} MB (+{rss1 - rss0:.1f} MB) |")


if __name__ == "__main__":
    main()
