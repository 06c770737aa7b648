"""Benchmark (issue 11): the C core against the Python core, mpmath, MPFR (gmpy2) and Arb (python-flint), one run.

    python3 bench/core_speed.py [--digits 16,100,1000,10000] [--warm-seconds 0.5] [--warmup-seconds 1.5] [--xs ...]

Like bench/engine.py: every (implementation, x, digits) runs in a fresh process,
so the first call is cold (import not timed).  Then a warm-up (--warmup-seconds,
and for spouge's two cores at least 2500 calls, capped at 30 s: they make the
large-x moments after 2(J+1) eligible calls, see engine.LARGE_Z_WAIT, J ~ 600 at
1000 digits for x = 10^6+1/4), then the warm figure:
the median over batches of calls (each batch ~2 ms) of the per-call CPU time of
the process (time.process_time), which a machine shared with other jobs
disturbs far less than wall time; the wall-clock median of the same batches is
printed too.  Implementations:
  c       spouge.gamma with the C core (as shipped)
  python  spouge.gamma with SPOUGE_PURE=1 (the current Python path)
  mpmath, mpfr (gmpy2.gamma), arb (python-flint arb.gamma): x given as a decimal
          string at their working precision (digits*log2(10) + 8 bits).
The inputs are the issue's five (31.4159..., 0.5, 100.5, 10^6+1/4, a 20-digit
fraction) and one long x with a large integer part.  The table ends with the
ratios the issue sets targets for: c/mpmath, c/Arb.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys

from engine import fmt  # bench/engine.py: one way to print a duration

HERE = os.path.dirname(os.path.abspath(__file__))

XS = ["31.41592653589793", "0.5", "100.5", "1000000.25", "0.12345678901234567891", "1234567890.1234567891"]

SETUP = {
    "c": "import spouge\nfrom spouge.numerics import corebridge\nassert corebridge.available, corebridge.description\n"
         "call = lambda: spouge.gamma(X, D)",
    "python": "import spouge\ncall = lambda: spouge.gamma(X, D)",
    "mpmath": "import mpmath\nmpmath.mp.dps = D\nxv = mpmath.mpf(X)\ncall = lambda: mpmath.gamma(xv)",
    "mpfr": "import gmpy2\ngmpy2.get_context().precision = int(D * 3.3219280948873626) + 8\nxv = gmpy2.mpfr(X)\n"
            "call = lambda: gmpy2.gamma(xv)",
    "arb": "from flint import arb, ctx\nctx.prec = int(D * 3.3219280948873626) + 8\nxv = arb(X)\n"
           "call = lambda: xv.gamma()",
}

TIMER = """
import time, statistics, json
{setup}
t = time.perf_counter(); first_value = call(); first = time.perf_counter() - t
start = time.perf_counter()
calls = 0
while time.perf_counter() - start < {warmup_seconds} or (calls < {warmup_calls} and time.perf_counter() - start < 30):
    call(); calls += 1
batch = 1
t = time.perf_counter(); call(); one = time.perf_counter() - t
batch = max(1, min(10000, int(0.002 / max(one, 1e-7))))
cpu, wall = [], []
budget = time.perf_counter() + {warm_seconds}
while len(cpu) < 5 or (time.perf_counter() < budget and len(cpu) < 2000):
    c0, w0 = time.process_time(), time.perf_counter()
    for _ in range(batch):
        call()
    cpu.append((time.process_time() - c0) / batch); wall.append((time.perf_counter() - w0) / batch)
    if wall[-1] > 2.0: break
print(json.dumps({{"first": first, "warm": statistics.median(cpu), "wall": statistics.median(wall),
                  "n": len(cpu) * batch, "value": str(first_value)[:40]}}))
"""


def measure(impl: str, x: str, digits: int, warm_seconds: float, warmup_seconds: float) -> dict:
    setup = SETUP[impl].replace("X", repr(x)).replace("D", str(digits))
    env = dict(os.environ)
    if impl == "python":
        env["SPOUGE_PURE"] = "1"
    out = subprocess.run(check=False,
                         args=[sys.executable, "-c",
                               TIMER.format(setup=setup, warm_seconds=warm_seconds, warmup_seconds=warmup_seconds,
                                                   warmup_calls=2500 if impl in ('c', 'python') else 0)],
                         capture_output=True, text=True, env=env)
    if out.returncode:
        raise RuntimeError(f"{impl} {x} {digits}: {out.stderr.strip().splitlines()[-1:]}")
    return json.loads(out.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--digits", default="16,100,1000,10000")
    parser.add_argument("--warm-seconds", type=float, default=0.5)
    parser.add_argument("--warmup-seconds", type=float, default=1.5)
    parser.add_argument("--xs", default=",".join(XS))
    args = parser.parse_args()
    import flint
    import gmpy2
    import mpmath

    from spouge.numerics import corebridge

    print(f"# {platform.node()} · {platform.machine()} · {platform.python_implementation()} "
          f"{platform.python_version()} · core {corebridge.description}")
    print(f"# mpmath {mpmath.__version__} (backend {mpmath.libmp.BACKEND}), gmpy2 {gmpy2.version()} / "
          f"MPFR {gmpy2.mpfr_version()}, python-flint {flint.__version__}")
    print(f"# {' '.join([os.path.basename(sys.executable), *sys.argv])}")
    print()
    print("| digits | x | C warm | Python warm | mpmath warm | MPFR warm | Arb warm | C/mpmath | C/Arb | C/Python "
          "| C wall | Arb wall | C first | Python first | Arb first |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for digits in [int(d) for d in args.digits.split(",")]:
        for x in args.xs.split(","):
            r = {impl: measure(impl, x, digits, args.warm_seconds, args.warmup_seconds) for impl in SETUP}
            if r["c"]["value"] != r["python"]["value"]:
                raise AssertionError(f"cores disagree at {x}, {digits}: {r['c']['value']} vs {r['python']['value']}")
            c = r["c"]["warm"]
            print(
                f"| {digits} | {x} | {fmt(c)} | {fmt(r['python']['warm'])} | {fmt(r['mpmath']['warm'])} "
                f"| {fmt(r['mpfr']['warm'])} | {fmt(r['arb']['warm'])} | {c / r['mpmath']['warm']:.2f}× "
                f"| {c / r['arb']['warm']:.2f}× | {c / r['python']['warm']:.2f}× "
                f"| {fmt(r['c']['wall'])} | {fmt(r['arb']['wall'])} | {fmt(r['c']['first'])} "
                f"| {fmt(r['python']['first'])} | {fmt(r['arb']['first'])} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
