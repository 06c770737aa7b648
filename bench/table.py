"""`spouge table` throughput: local 1 process vs 2 processes vs Dask with 2 workers (issue 14, part 3).

    python3 bench/table.py                      # 100000 values at 100 digits, 1000 values at 10000 digits
    python3 bench/table.py --quick              # 10000 at 100, 100 at 10000

Each cell runs the CLI (`python -m spouge table gamma --range ...`) in a fresh process, so process start,
the coefficient table (cold: SPOUGE_CACHE_DIR=off, each worker makes its own) and writing the CSV are all
counted.  The Dask cluster (2 worker processes, 1 thread each) is started once before its runs, as a
cluster would be; its start-up is not counted.  Every backend's output is checked identical to the first.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(args: list[str], env: dict) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "spouge", "table", *args, "-q"], capture_output=True, text=True,
                          env=env, cwd=ROOT, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"failed: {args}: {done.stderr}")
    return elapsed, hashlib.sha256(done.stdout.encode()).hexdigest()[:12]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    opts = parser.parse_args()
    os.environ["SPOUGE_CACHE_DIR"] = "off"  # before the cluster starts: its workers inherit it (no disk tables)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cases = [(100, "0.001:100:0.001"), (10000, "0.1:100:0.1")]
    if opts.quick:
        cases = [(100, "0.01:100:0.01"), (10000, "1.5:100.5:1")]
    from distributed import LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    try:
        print("| values | digits | 1 process | 2 processes | Dask, 2 workers | 2 proc / 1 | Dask / 1 |")
        print("|---|---|---|---|---|---|---|")
        for digits, spec in cases:
            count = len(__import__("spouge.table", fromlist=["parse_range"]).parse_range(spec))
            base = ["gamma", "--range", spec, "-d", str(digits)]
            t1, h1 = run([*base, "-p", "1"], env)
            t2, h2 = run([*base, "-p", "2"], env)
            # the workers are warm from an earlier case only if it had the same digits: none here
            td, hd = run([*base, "--scheduler", cluster.scheduler_address], env)
            assert h1 == h2 == hd, (h1, h2, hd)
            print(f"| {count} | {digits} | {t1:.2f} s | {t2:.2f} s | {td:.2f} s | {t2 / t1:.2f}× | {td / t1:.2f}× |",
                  flush=True)
    finally:
        cluster.close()


if __name__ == "__main__":
    main()
