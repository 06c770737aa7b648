"""Benchmark (issue 13): `spouge gamma - < xs.txt`, many values through the command line, one run.

    python3 bench/cli_batch.py [--lines 10000] [--digits 16] [--repeat 5]

Every row is a whole process, timed from the outside (wall clock, median of
--repeat runs, interleaved so that the machine's load hits every row alike):
  startup       python -c pass                          (the interpreter alone)
  one value     spouge gamma 0.5                         (imports + one call)
  batch c       spouge gamma - < xs.txt                  (the C core, as shipped)
  batch --json  spouge gamma - --json < xs.txt
  batch beta    spouge beta - < pairs.txt                (two columns a line)
  batch python  SPOUGE_PURE=1 spouge gamma - < xs.txt    (the Python core)
  mpmath loop   a script reading xs.txt, printing mpmath.gamma at mp.dps = digits
                (a peer doing the same I/O; its results are not correctly rounded)
Columns: wall seconds (median, min) and the child's CPU seconds (user+sys,
median; less sensitive to a loaded machine).  The per-line figure is
(row's CPU - one value's CPU) / lines.  xs: uniform reals in
(-60, 170) with 6 decimals, fixed seed; pairs: two such in (0.1, 60).
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

MPMATH = """
import sys, mpmath
mpmath.mp.dps = int(sys.argv[1])
out = sys.stdout
for line in sys.stdin:
    line = line.strip()
    if line:
        out.write(mpmath.nstr(mpmath.gamma(mpmath.mpf(line)), mpmath.mp.dps) + "\\n")
"""


def rows(lines: int, digits: int, xs: str, pairs: str) -> list[tuple[str, list[str], str | None, dict]]:
    spouge = [sys.executable, "-m", "spouge"]
    return [
        ("startup", [sys.executable, "-c", "pass"], None, {}),
        ("one value", [*spouge, "gamma", "0.5", str(digits)], None, {}),
        ("batch c", [*spouge, "gamma", "-", str(digits)], xs, {}),
        ("batch --json", [*spouge, "gamma", "-", str(digits), "--json"], xs, {}),
        ("batch beta", [*spouge, "beta", "-", str(digits)], pairs, {}),
        ("batch python", [*spouge, "gamma", "-", str(digits)], xs, {"SPOUGE_PURE": "1"}),
        ("mpmath loop", [sys.executable, "-c", MPMATH, str(digits)], xs, {}),
    ]


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(command: list[str], stdin_path: str | None, env: dict) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds of the child, output lines) of one run."""
    environment = {**os.environ, "PYTHONPATH": ROOT, **env}
    with open(stdin_path or os.devnull, "rb") as stdin:
        cpu, started = _cpu(), time.perf_counter()
        proc = subprocess.run(command, stdin=stdin, capture_output=True, env=environment, check=False)
        elapsed, cpu = time.perf_counter() - started, _cpu() - cpu
    if proc.returncode != 0:
        raise SystemExit(f"{command} failed ({proc.returncode}): {proc.stderr.decode()[-500:]}")
    return elapsed, cpu, proc.stdout.count(b"\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=10000)
    parser.add_argument("--digits", type=int, default=16)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    rng = random.Random(13)
    with tempfile.TemporaryDirectory() as tmp:
        xs, pairs = os.path.join(tmp, "xs.txt"), os.path.join(tmp, "pairs.txt")
        with open(xs, "w") as f:
            f.writelines(f"{rng.uniform(-60, 170):.6f}\n" for _ in range(args.lines))
        with open(pairs, "w") as f:
            f.writelines(f"{rng.uniform(0.1, 60):.6f} {rng.uniform(0.1, 60):.6f}\n" for _ in range(args.lines))
        table = rows(args.lines, args.digits, xs, pairs)
        for _, command, source, env in table:  # warm the disk cache and the coefficient tables once
            timed(command, source, env)
        times: dict[str, list[float]] = {name: [] for name, *_ in table}
        cpus: dict[str, list[float]] = {name: [] for name, *_ in table}
        for _ in range(args.repeat):
            for name, command, source, env in table:
                elapsed, cpu, count = timed(command, source, env)
                if source is not None and count != args.lines:
                    raise SystemExit(f"{name}: {count} output lines for {args.lines} inputs")
                times[name].append(elapsed)
                cpus[name].append(cpu)
    from spouge.numerics import corebridge

    print(f"# {args.lines} lines at {args.digits} digits, median of {args.repeat} runs; "
          f"python {platform.python_version()}, core {corebridge.description}, {os.cpu_count()} cpus, "
          f"load {os.getloadavg()[0]:.1f}")
    one = statistics.median(times["one value"])
    one_cpu = statistics.median(cpus["one value"])
    print(f"{'row':14} {'median s':>9} {'min s':>7} {'cpu s':>7} {'per line us (cpu)':>18}")
    for name, values in times.items():
        median, cpu = statistics.median(values), statistics.median(cpus[name])
        per_line = f"{(cpu - one_cpu) / args.lines * 1e6:18.1f}" if name.startswith(("batch", "mpmath")) else ""
        print(f"{name:14} {median:9.3f} {min(values):7.3f} {cpu:7.3f} {per_line}")
    c, mp = statistics.median(times["batch c"]), statistics.median(times["mpmath loop"])
    print(f"wall: batch c / mpmath loop {c / mp:.2f}; batch c - one value {c - one:.3f} s")


if __name__ == "__main__":
    main()
