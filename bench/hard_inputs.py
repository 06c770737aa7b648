"""Worst times over the hard-input categories, at <= 100 digits (issue 9's timing benchmark).

    python3 bench/hard_inputs.py [--size small|large] [--repo PATH]

For each case of bench/hard_cases.py with digits <= 100, the call is run
twice and the second (warm: coefficient table cached) is timed.  Prints per
category the worst warm time, the failures (any exception: the version before
issue 9 gave up with ArithmeticError), and checks the target: every call
<= 50 ms warm unless its predicted working precision is above 2000 digits
(6644 bits), and then within 3x of its prediction (``spouge.estimate``).
--repo runs another checkout's spouge (e.g. a worktree of the commit before)
on the same cases, for before/after figures in one run.
"""

from __future__ import annotations

import argparse
import collections
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", default="large")
    ap.add_argument("--repo", default=os.path.join(HERE, ".."))
    args = ap.parse_args()
    sys.path.insert(0, os.path.abspath(args.repo))
    sys.set_int_max_str_digits(0)  # the old version needs it to get as far as its own errors
    import hard_cases
    import spouge

    estimate = getattr(spouge, "estimate", None)
    worst = collections.defaultdict(lambda: (0.0, None))
    failures = collections.Counter()
    counts = collections.Counter()
    misses = []
    for category, fn, x, digits in hard_cases.cases(args.size):
        if digits > 100:
            continue
        counts[category] += 1
        call = getattr(spouge, fn)
        try:
            call(x, digits=digits)
        except Exception:
            pass
        t = time.perf_counter()
        try:
            call(x, digits=digits)
            ok = True
        except Exception as exc:
            ok = isinstance(exc, ValueError) and "pole" in str(exc)
        took = time.perf_counter() - t
        if not ok:
            failures[category] += 1
        label = f"{fn}({x if isinstance(x, str) else '<int>'}"[:70] + f"..., {digits})"
        if took > worst[category][0]:
            worst[category] = (took, label)
        if estimate is not None:
            e = estimate(fn, x, digits)
            if (e.likely_bits <= 6644 and took > 0.050) or (e.likely_bits > 6644 and took > 3 * e.warm_seconds):
                misses.append((took, e.likely_bits, e.warm_seconds, label))
    print(f"spouge from {os.path.abspath(args.repo)}")
    print(f"{'category':<20}{'cases':>6}{'failed':>8}{'worst warm s':>14}  worst case")
    for category in counts:
        took, label = worst[category]
        print(f"{category:<20}{counts[category]:>6}{failures[category]:>8}{took:>14.4f}  {label}")
    print(f"total: {sum(counts.values())} cases, {sum(failures.values())} failed")
    if estimate is not None:
        print(f"target misses (> 50 ms at <= 2000 predicted digits, or > 3x prediction above): {len(misses)}")
        for took, bits, predicted, label in sorted(misses, reverse=True)[:10]:
            print(f"  {took:.4f} s, predicted {predicted:.4f} s at {bits} bits: {label}")


if __name__ == "__main__":
    main()
