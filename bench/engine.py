"""Benchmark: spouge.gamma against mpmath, MPFR (gmpy2) and Arb (python-flint) on the same inputs.

    python3 bench/engine.py [--digits 16,100,1000,10000] [--skip-cold-peers]

For each precision and x it prints the first-call time (a fresh process per
implementation, so no cache of any kind is warm; only the call is timed, not
the import) and the warm per-call median, then the ratios spouge/peer.
Peers get x as a decimal string rounded to their working precision.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys

XS = ["31.41592653589793", "1000000.25", "0.7071067811865476"]

SETUP = {
    "spouge": "import spouge\ncall = lambda: spouge.gamma(X, digits=D)",
    "mpmath": "import mpmath\nmpmath.mp.dps = D\nxv = mpmath.mpf(X)\ncall = lambda: mpmath.gamma(xv)",
    "mpfr": "import gmpy2\ngmpy2.get_context().precision = int(D * 3.3219280948873626) + 8\nxv = gmpy2.mpfr(X)\n"
            "call = lambda: gmpy2.gamma(xv)",
    "arb": "from flint import arb, ctx\nctx.prec = int(D * 3.3219280948873626) + 8\nxv = arb(X)\n"
           "call = lambda: xv.gamma()",
}

TIMER = """
import time, statistics, json
{setup}
t = time.perf_counter(); call(); first = time.perf_counter() - t
times = []
budget = time.perf_counter() + {warm_seconds}
while len(times) < 3 or (time.perf_counter() < budget and len(times) < 2000):
    t = time.perf_counter(); call(); times.append(time.perf_counter() - t)
    if times[-1] > 2.0 and len(times) >= 1: break
print(json.dumps({{"first": first, "warm": statistics.median(times), "n": len(times)}}))
"""


def measure(impl: str, x: str, digits: int, warm_seconds: float) -> dict:
    setup = SETUP[impl].replace("X", repr(x)).replace("D", str(digits))
    code = TIMER.format(setup=setup, warm_seconds=warm_seconds)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def fmt(seconds: float) -> str:
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds * 1e6:.1f} µs"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--digits", default="16,100,1000,10000")
    parser.add_argument("--warm-seconds", type=float, default=1.0)
    args = parser.parse_args()
    import flint
    import gmpy2
    import mpmath

    print(f"# {platform.node()} · {platform.machine()} · {platform.python_implementation()} "
          f"{platform.python_version()}")
    print(f"# mpmath {mpmath.__version__} (backend {mpmath.libmp.BACKEND}), gmpy2 {gmpy2.version()} / "
          f"MPFR {gmpy2.mpfr_version()}, python-flint {flint.__version__}")
    print()
    print("| digits | x | spouge warm | mpmath warm | MPFR warm | Arb warm | spouge/mpmath | spouge/Arb "
          "| spouge first | mpmath first | MPFR first | Arb first |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for digits in [int(d) for d in args.digits.split(",")]:
        for x in XS:
            r = {impl: measure(impl, x, digits, args.warm_seconds) for impl in SETUP}
            s = r["spouge"]
            print(
                f"| {digits} | {x} | {fmt(s['warm'])} | {fmt(r['mpmath']['warm'])} | {fmt(r['mpfr']['warm'])} "
                f"| {fmt(r['arb']['warm'])} | {s['warm'] / r['mpmath']['warm']:.2f}× "
                f"| {s['warm'] / r['arb']['warm']:.2f}× "
                f"| {fmt(s['first'])} | {fmt(r['mpmath']['first'])} | {fmt(r['mpfr']['first'])} "
                f"| {fmt(r['arb']['first'])} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
