"""Complex Γ against mpmath and Arb (issue 11: "Complex at 16 and 100 digits: report").

    python3 bench/complex.py

Warm medians per call (the first calls fill every cache, then 200 timed calls each, alternating peers),
all peers in this one process: spouge.gamma(z, digits) (complex stays on the Python path: the C core
takes real arguments), mpmath.gamma at mp.dps = digits, python-flint acb.gamma at the matching bits.
"""

from __future__ import annotations

import math
import statistics
import time

import mpmath
from flint import acb, ctx

import spouge
from engine import fmt  # bench/engine.py: one way to print a duration
from spouge.numerics import corebridge

INPUTS = ["3+4j", "0.5+10j", "-2.5+0.5j", "100+100j"]


def median_time(fn, repeat: int = 200) -> float:
    for _ in range(3):
        fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    print(f"core: {corebridge.description}\n")
    print("| digits | z | spouge | mpmath | Arb | spouge/mpmath | spouge/Arb |")
    print("|---|---|---|---|---|---|---|")
    for digits in (16, 100):
        bits = math.ceil(digits * 3.3219280948873626) + 10
        for z in INPUTS:
            w = complex(z)
            mz = mpmath.mpc(w.real, w.imag)
            az = acb(w.real, w.imag)

            def ours(z=z, digits=digits):
                return spouge.gamma(z, digits=digits)

            def theirs(mz=mz, digits=digits):
                with mpmath.workdps(digits):
                    return mpmath.gamma(mz)

            def arb_(az=az, bits=bits):
                with ctx.workprec(bits):
                    return az.gamma()

            t_s, t_m, t_a = median_time(ours), median_time(theirs), median_time(arb_)
            print(f"| {digits} | {z} | {fmt(t_s)} | {fmt(t_m)} | {fmt(t_a)} | {t_s / t_m:.2f}× | {t_s / t_a:.1f}× |",
                  flush=True)


if __name__ == "__main__":
    main()
