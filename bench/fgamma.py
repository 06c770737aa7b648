"""spouge.fgamma (correctly rounded Γ for doubles) against math.gamma and scipy.special.gamma.

    python3 bench/fgamma.py [--count 100000] [--seed 1]

Throughput: calls per second on the same random doubles (uniform in (-185, 171.6), plus a quarter
of tiny |x| from 1e-300 to 1).  Misrounding: against mpmath at 350 bits, rounded once to a double
through an exact rational (Python's int/int division rounds subnormals correctly; mpmath's own
float() does not).  A result counts as misrounded when it is not that double.
"""

from __future__ import annotations

import argparse
import math
import random
import time
from fractions import Fraction

import mpmath

import spouge


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    xs = []
    while len(xs) < args.count:
        x = rng.uniform(-185, 171.6) if len(xs) % 4 else rng.uniform(-1, 1) * 10 ** rng.uniform(-300, 0)
        if x != int(x):
            xs.append(x)
    peers = {"spouge.fgamma": spouge.fgamma, "math.gamma": math.gamma}
    try:
        import scipy.special

        peers["scipy.special.gamma"] = lambda x: float(scipy.special.gamma(x))
    except ImportError:  # pragma: no cover
        print("scipy not installed: pip install scipy")
    results: dict[str, list] = {}
    for name, fn in peers.items():
        out = []
        t = time.perf_counter()
        for x in xs:
            try:
                out.append(fn(x))
            except (OverflowError, ValueError):
                out.append(math.inf)
        elapsed = time.perf_counter() - t
        results[name] = out
        print(f"{name:<22} {args.count / elapsed:>12,.0f} calls/s  ({elapsed / args.count * 1e6:.2f} µs/call)")
    wrong = dict.fromkeys(peers, 0)
    for i, x in enumerate(xs):
        with mpmath.workprec(350):
            ref = mpmath.gamma(mpmath.mpf(x))
            try:
                expected = float(Fraction(*mpmath.libmp.to_rational(ref._mpf_)))
            except OverflowError:
                expected = math.inf
        for name in peers:
            got = results[name][i]
            if got != expected and not (math.isinf(got) and math.isinf(expected)):
                wrong[name] += 1
    for name, count in wrong.items():
        print(f"{name:<22} misrounded {count} of {args.count} ({count / args.count:.2%})")


if __name__ == "__main__":
    main()
