"""How well spouge.estimate predicts the time of a call (issue 9's cost-model benchmark).

    python3 bench/cost_model.py [--count 1000] [--seed 1]

Runs `count` calls, random ones (decimal x of 1-40 digits, |x| from 1e-30 to
1e30, both signs, digits log-uniform in 1..1000, all three functions) mixed
with the targeted ones of bench/hard_cases.py, in a random order so that the
coefficient cache is sometimes warm and sometimes cold, exactly as a server
sees it.  For each: the estimate made just before the call (``seconds``: this
call with the cache as it is; ``worst_seconds``: the ceiling of the rounding
loop) against the measured wall time.  Prints the share within 3x, the worst
ratios and the worst cases.
"""

from __future__ import annotations

import argparse
import collections
import math
import os
import random
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.dirname(__file__))

import hard_cases
import spouge


def random_case(rng: random.Random):
    fn = rng.choice(["gamma", "factorial", "lgamma"])
    mantissa = str(rng.randint(1, 10 ** rng.randint(1, 40)))
    point = rng.randint(0, len(mantissa))
    text = mantissa[:point] + "." + mantissa[point:] + f"e{rng.randint(-30, 30)}"
    if rng.random() < 0.4:
        text = "-" + text
    digits = int(math.exp(rng.uniform(0, math.log(1000))))
    return ("random", fn, text, digits)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    targeted = hard_cases.cases("small")
    cases = targeted + [random_case(rng) for _ in range(max(0, args.count - len(targeted)))]
    rng.shuffle(cases)
    rows = []
    for category, fn, x, digits in cases:
        try:
            e = spouge.estimate(fn, x, digits)
        except ValueError:
            continue  # a pole or an out-of-range x: refused before any work
        # A warm call is timed as the best of three (this machine is shared: scheduling noise is
        # larger than a 20 µs call); a cold one once, since only its first run is cold.
        runs = 1 if e.seconds > e.warm_seconds else 3
        took = float("inf")
        for _ in range(runs):
            t = time.perf_counter()
            try:
                getattr(spouge, fn)(x, digits=digits)
            except ValueError:
                pass
            took = min(took, time.perf_counter() - t)
        rows.append((took / e.seconds, took / e.worst_seconds, took, e, category, fn,
                     x[:40] if isinstance(x, str) else f"<int of {x.bit_length()} bits>", digits))
    n = len(rows)
    within = sum(1 for r in rows if 1 / 3 <= r[0] <= 3)
    slower = sum(1 for r in rows if r[0] > 3)
    over_worst = [r for r in rows if r[1] > 10]
    print(f"calls: {n}  (targeted {len(targeted)}, random {n - len(targeted)})")
    print(f"measured within 3x of `seconds`: {within}/{n} = {within / n:.1%}; slower than 3x: {slower}; "
          f"faster than 3x: {n - within - slower}")
    print(f"max measured/seconds: {max(r[0] for r in rows):.2f}   "
          f"max measured/worst_seconds: {max(r[1] for r in rows):.3f}   "
          f"calls more than 10x slower than worst_seconds: {len(over_worst)}")
    by_category = collections.Counter(r[4] for r in rows if not 1 / 3 <= r[0] <= 3)
    print("outside 3x, by category:", dict(by_category), " of which under 1 ms measured:",
          sum(1 for r in rows if not 1 / 3 <= r[0] <= 3 and r[2] < 1e-3))
    print("worst under-predictions (measured/seconds, measured/worst, measured s, predicted s, worst s, case):")
    for r in sorted(rows, key=lambda r: -r[0])[:8]:
        print(f"  {r[0]:7.2f} {r[1]:7.3f} {r[2]:9.5f} {r[3].seconds:9.5f} {r[3].worst_seconds:9.4f}  "
              f"{r[4]} {r[5]}({r[6]!r}, {r[7]})")
    print("worst over-predictions:")
    for r in sorted(rows, key=lambda r: r[0])[:8]:
        state = "cold" if r[3].seconds > r[3].warm_seconds else "warm"
        print(f"  {r[0]:7.3f} {r[2]:9.5f} {r[3].seconds:9.5f} ({state})  {r[4]} {r[5]}({r[6]!r}, {r[7]})")


if __name__ == "__main__":
    main()
