"""Measure the engine's pass times that spouge.numerics.cost interpolates (prints the tables to paste there).

    python3 bench/calibrate_cost.py

For each relative precision R (bits) on a grid: the warm time of one pass
(coefficient table cached) for a short real z, the same with a long
denominator (z rounded to 2^-s), a complex z, and the cold time of building
the coefficient table.  Medians of a few runs; the machine's noise is what it is.
"""

from __future__ import annotations

import statistics
import sys
import time
from fractions import Fraction

import gmpy2

sys.path.insert(0, ".")
from spouge.numerics import coefficients, engine

GRID = [32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536]


def median_time(fn, repeat):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    top = int(sys.argv[1]) if len(sys.argv) > 1 else 32768
    rows = []
    for bits in [g for g in GRID if g <= top]:
        repeat = 7 if bits <= 4096 else 3 if bits <= 16384 else 1
        a, frac = engine._plan(bits)
        coefficients.CACHE._tables.clear(), coefficients.CACHE._bits.clear()
        cold = median_time(lambda a=a, frac=frac: tuple(coefficients.iter_coefficients(a, frac)),
                           1 if bits > 4096 else 3)
        engine.log_factorial(1, 10, bits, bits + 20)  # fills the cache
        real = median_time(lambda b=bits: engine.log_factorial(31415926, 10**7, b, b + 20), repeat)
        long_q = Fraction(int(gmpy2.mpz("7" * (bits // 3 + 40))), 10 ** (bits // 3 + 40))
        long = median_time(lambda b=bits, z=long_q: engine.log_factorial(z.numerator, z.denominator, b, b + 20), repeat)
        cplx = median_time(lambda b=bits: engine.log_factorial_complex(31, 17, 10, b, b + 20), repeat)
        rows.append((bits, cold, real, long, cplx))
        print(f"    ({bits}, {cold:.3g}, {real:.3g}, {long:.3g}, {cplx:.3g}),", flush=True)


if __name__ == "__main__":
    main()
