"""Spouge's coefficients c_k, as fixed-point integers, and the choice of a.

Owns: picking the smallest a whose truncation bound meets a requested number
of bits, that bound itself, and the integers C_k = round(c_k * 2^F).

Formula (J. L. Spouge, SIAM J. Numer. Anal. 31(3), 1994):
    z! = (z+a)^(z+1/2) e^(-z-a) [c_0 + sum_{k=1}^{a-1} c_k/(z+k) + eps_a(z)]
    c_0 = sqrt(2 pi),  c_k = (-1)^(k-1)/(k-1)! (a-k)^(k-1/2) e^(a-k)
    |eps_a(z)| / |sum| <= a^(-1/2) (2 pi)^(-a-1/2)     for Re z >= 0, a >= 3.

Invariants:
- ``|c_k * 2^F - C_k| <= 1`` for every k, checked on Arb's ball of c_k, not
  assumed: if a ball is too wide, that coefficient is recomputed with more bits.
- Each c_k is computed at its own precision, F + log2|c_k| + guard, because the
  sum needs a fixed *absolute* accuracy 2^-F and |c_k| ranges from ~1 to
  ~10^(0.555 a); sharing one precision would waste up to half the work.
- A coefficient table is a tuple of gmpy2 ``mpz`` (the summation engine), cached
  per (a, F) in an LRU bounded by total bits; tables larger than the budget are
  streamed instead of stored, so 100000 digits needs memory O(digits), not O(a*digits).
  A miss may be served by ``CACHE.provider`` (the disk cache and the parallel
  generator of ``spouge.tablecache``, outside this pure layer).
- A whole table made here (a >= PROGRESS_MIN_A) reports ("coefficients", k, a)
  to ``progress`` a few hundred times; a reporter that raises stops it.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable, Iterator
from functools import lru_cache

import gmpy2
from flint import arb, ctx, fmpz

from . import progress

LOG2_2PI = math.log2(2 * math.pi)
LOG2_E = math.log2(math.e)

#: Extra bits carried when computing each c_k beyond what its rounding needs.
#: The ball check below makes this a speed knob, not a correctness one.
COEFF_GUARD_BITS = 30

#: Total size of cached coefficient tables.  One table at 10000 digits is about
#: 70 MB (12600 integers of ~50000 bits); two of them fit.
CACHE_BUDGET_BITS = 8 * 160 * 2**20

MIN_A = 3

#: Tables from this size up report their progress (numerics.progress); smaller ones take milliseconds.
PROGRESS_MIN_A = 1000

#: A coefficient table C_0..C_{a-1}: gmpy2 mpz, which act as ints (gmpy2 ships no types, so they are typed int).
Table = tuple[int, ...]
#: CACHE.provider: (a, frac_bits) -> the table, or None when it does not have it.
TableProvider = Callable[[int, int], Table | None]


def log2_truncation_bound(a: int) -> float:
    """log2 of Spouge's relative-error bound a^(-1/2) (2 pi)^(-a-1/2)."""
    return -0.5 * math.log2(a) - (a + 0.5) * LOG2_2PI


@lru_cache(maxsize=1024)
def choose_a(bits: int) -> int:
    """Smallest a >= 3 whose truncation bound is at most 2^-bits."""
    a = max(MIN_A, math.ceil(bits / LOG2_2PI) - 2)
    while log2_truncation_bound(a) > -bits:
        a += 1
    while a > MIN_A and log2_truncation_bound(a - 1) <= -bits:
        a -= 1
    return a


def log2_abs_coefficients(a: int) -> list[float]:
    """Float estimates of log2|c_k| for k = 0..a-1 (used only to size precisions)."""
    out = [0.5 * LOG2_2PI]
    log_fact = 0.0  # ln (k-1)!
    for k in range(1, a):
        j = a - k
        out.append(((k - 0.5) * math.log(j) + j - log_fact) * LOG2_E)
        log_fact += math.log(k)
    return out


def _to_fixed(value: arb, frac_bits: int) -> int | None:
    """round(value * 2^frac_bits) if the ball is narrow enough to be within 1 unit, else None."""
    mid_man, exp = value.mid().man_exp()
    rad_man, rad_exp = value.rad().man_exp()
    # radius in units of 2^-frac_bits must be <= 1/2 so that |value*2^F - C| <= 1.
    if rad_man and int(rad_man).bit_length() + int(rad_exp) + frac_bits > -1:
        return None
    shift = int(exp) + frac_bits
    man = int(mid_man)
    if shift >= 0:
        return man << shift
    # round to nearest: error <= 1/2 unit
    return (man + (1 << (-shift - 1))) >> -shift


def product_range(lo: int, hi: int) -> gmpy2.mpz:
    """lo * (lo+1) * ... * (hi-1) for integers, exactly, by binary splitting (1 when hi <= lo).

    Our own product (no library factorial): starts coefficient chunks here, and
    settles exact ties and rational values in ``functions`` and ``family``.
    """
    if hi - lo <= 16:
        acc = gmpy2.mpz(1)
        for i in range(lo, hi):
            acc *= i
        return acc
    mid = (lo + hi) // 2
    return product_range(lo, mid) * product_range(mid, hi)


def iter_coefficients(a: int, frac_bits: int, start: int = 0, stop: int | None = None) -> Iterator[int]:
    """Yield C_start, ..., C_{stop-1} (default: all of C_0..C_{a-1}) as mpz, with |c_k 2^F - C_k| <= 1.

    c_k = j^k sqrt(r_k^2 / j), j = a - k, from the square of the running factor,
    r_k^2 = e^(2(a-k))/(k-1)!^2 (one square root of a long number costs less than
    1/sqrt(j) and one more product).  A chunk that starts past k = 1 computes r_k^2
    directly (one exp, one exact factorial), so chunks can be made in parallel
    (``spouge.tablecache``); each C_k is checked on its own ball either way.
    The same Arb operations at the same precisions as the C core's generator.
    """
    stop = a if stop is None else stop
    # The whole table (not a chunk: spouge.tablecache reports those) reports to numerics.progress.
    reporter = progress.current() if start == 0 and stop == a and a >= PROGRESS_MIN_A else None
    step = max(1, a // 200)
    sizes = log2_abs_coefficients(a)
    # The running factor r_k^2 = e^(2(a-k))/(k-1)!^2 must be as accurate as the
    # largest coefficient still to come, plus the error that the remaining
    # multiplications accumulate; past the peak of |c_k| that shrinks.
    remaining_top = sizes[:]
    for k in range(a - 2, 0, -1):
        remaining_top[k] = max(remaining_top[k], remaining_top[k + 1])
    slack = COEFF_GUARD_BITS + a.bit_length() + 8
    first = max(start, 1)
    with ctx.workprec(frac_bits + int(max(sizes)) + slack):
        if start == 0:
            c0 = _to_fixed((2 * arb.pi()).sqrt(), frac_bits)
            if c0 is None:  # pragma: no cover - the precision above always suffices
                raise ArithmeticError("internal: sqrt(2 pi) ball too wide")
            yield gmpy2.mpz(c0)
        inv_e2 = arb(-2).exp()
    if first >= stop:
        return
    with ctx.workprec(max(64, frac_bits + math.ceil(remaining_top[first]) + slack)):
        running = arb(2 * (a - first)).exp()  # r_k^2 = e^(2(a-k)) / (k-1)!^2
        if first > 2:
            running = running / arb(fmpz(int(product_range(2, first)) ** 2))
    for k in range(first, stop):
        j = a - k
        extra = COEFF_GUARD_BITS
        while True:
            with ctx.workprec(max(64, frac_bits + math.ceil(sizes[k]) + extra)):
                base = arb(j)
                # +running: rounded to this precision first (Arb multiplies whole mantissas), as the C core does
                c = (base ** k) * ((+running) / j).sqrt()
                fixed = _to_fixed(c, frac_bits)
            if fixed is not None:
                break
            extra += 64  # pragma: no cover - only if the estimate was far off
        if reporter is not None and ((k + 1) % step == 0 or k + 1 == a):
            reporter("coefficients", k + 1, a)
        yield gmpy2.mpz(fixed if k % 2 == 1 else -fixed)
        if k + 1 < stop:
            with ctx.workprec(max(64, frac_bits + math.ceil(remaining_top[k + 1]) + slack)):
                running = running * (+inv_e2) / (k * k)


class _TableCache:
    """LRU of coefficient tables, bounded by the total bits they hold."""

    def __init__(self, budget_bits: int) -> None:
        self.budget_bits = budget_bits
        #: Where tables too slow to make on the spot may come from: a callable
        #: (a, frac_bits) -> tuple of mpz or None.  Set by ``spouge.tablecache``
        #: (disk cache, parallel generation); this module itself does no I/O.
        self.provider: TableProvider | None = None
        self._tables: OrderedDict[tuple[int, int], Table] = OrderedDict()
        self._bits: dict[tuple[int, int], int] = {}
        self.hits = 0
        self.misses = 0

    @staticmethod
    def estimated_bits(a: int, frac_bits: int) -> int:
        return a * (frac_bits + int(0.6 * a * math.log2(10)))

    def get(self, a: int, frac_bits: int) -> Table | Iterator[int]:
        """The table for (a, F): cached tuple, or a fresh iterator if too big to keep."""
        key = (a, frac_bits)
        table = self._tables.get(key)
        if table is not None:
            self.hits += 1
            self._tables.move_to_end(key)
            return table
        self.misses += 1
        if self.estimated_bits(a, frac_bits) > self.budget_bits:
            return iter_coefficients(a, frac_bits)
        table = self.provider(a, frac_bits) if self.provider is not None else None
        if table is None:
            table = tuple(iter_coefficients(a, frac_bits))
        size = sum(int(c).bit_length() for c in table)
        self._bits[key] = size  # first: an interruption (the server's watchdog) between the two must not
        self._tables[key] = table  # leave a table without its size, which eviction would trip over
        while sum(self._bits.values()) > self.budget_bits and len(self._tables) > 1:
            old, _ = self._tables.popitem(last=False)
            self._bits.pop(old, None)
        return table


CACHE = _TableCache(CACHE_BUDGET_BITS)
