"""ln(z!) by Spouge's formula, as a rigorous Arb ball, for exact rational z.

Owns: evaluating the partial-fraction sum S(z) = c_0 + sum c_k/(z+k) and
        ln z! = (z+1/2) ln(z+a) - (z+a) + ln S(z) + ln(1 + eps)
for a real z = p/q >= 0 or a complex z with Re z >= 0.

Why this form:
- The sum is done in exact integer arithmetic on the fixed-point C_k from
  ``coefficients``: term k is floor(C_k q / (p + k q)).  z stays an exact
  rational, so each term is one big-by-small division (O(n)), never a full
  multiplication, and the error is known exactly: < 1 unit from the floor
  plus <= 1 unit from C_k (|1/(z+k)| <= 1 when Re z >= 0), so
  |error| <= 2a units of 2^-F.  The alternating C_k cancel (up to
  0.555 a digits), which fixed point absorbs: F is an absolute accuracy.
- Large real z (log2 z well above log2 a): the same sum re-expanded in 1/z,
  S(z) = C_0 + sum_{j<=J} m_j / z^(j+1) + tail with exact integer moments
  m_j = sum_k C_k (-k)^j (cached per table, bounded like the tables) and a
  proven tail bound: J + 1 Horner steps instead of a - 1 divisions (see
  _large_sum; the C core does the very same integers, so both make one ball).
- The rest (two logs) is Arb ball arithmetic, so rounding errors are tracked.
- Spouge's truncation error enters as a ball: |ln(1+eps)| <= 2|eps| for |eps| <= 1/2.

Long arguments: cost follows the precision, not the spelling.  When z's
denominator is longer than the accuracy asked, z is first rounded to
z~ = P / 2^s (s = rel_bits + a few bits for the size of the derivative) and
the ball is widened by |z - z~| * sup |d/dz ln z!| on the segment between
them.  d/dz ln z! = psi(1+z), and for Re w >= 1
        |psi(w)| <= gamma + (pi^2/6) |w - 1|        (from psi(w) = -gamma + sum 1/(n+1) - 1/(n+w))
        -gamma <= psi(w) <= ln w                     (real w >= 1: psi increases and psi(w) < ln w)
so "1e-10000" or a 100000-digit x costs what a short x of the same size costs.

Who adds guard bits: the caller passes ``rel_bits`` (relative accuracy wanted
for the sum) and ``abs_bits`` (total working precision, which includes bits
for the size of ln z! itself); this module adds ``SUM_GUARD_BITS`` for the 2a
units of summation error.
"""

from __future__ import annotations

import math
import operator
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import repeat
from typing import Generic, TypeVar

from flint import acb, arb, ctx, fmpq, fmpz, fmpz_poly

from .coefficients import CACHE, choose_a, log2_truncation_bound

#: Bits above rel_bits in the fixed-point scale: covers the 2a-unit summation
#: error (log2(2a) <= 18 for a <= 126000) with room to spare.
SUM_GUARD_BITS = 24

#: Extra fraction bits in every coefficient table, so that for a denominator
#: q < 2^Q_HEADROOM_BITS the sum can be taken as q * sum floor(C_k / (p+kq)):
#: one operation per term instead of two, and the factor q of extra error
#: (a*q units) still stays below 2^-F.
Q_HEADROOM_BITS = 64


#: Bits beyond rel_bits kept when a long z is rounded (its error is then
#: <= 2^-(rel_bits + Z_GUARD_BITS - 1), well inside the sum's own guard).
Z_GUARD_BITS = 24

#: Round z only if its denominator is this many bits longer than the grid:
#: below that, rounding saves less than it costs.
Z_ROUND_SLACK_BITS = 64


def _psi_bits(p: int, q: int) -> int:
    """An integer >= log2 of the bound on |psi(1 + xi)| used in _round_real/_round_complex, for |z| ~ |p|/q."""
    magnitude = max(0, abs(p).bit_length() - q.bit_length() + 1)  # >= log2(|z| + 1) - 1
    return magnitude + 3


def _dyadic(p: int, q: int, s: int) -> int:
    """round(p * 2^s / q) (half up), exactly."""
    return ((p << (s + 1)) + q) // (2 * q)


def _round_real(p: int, q: int, rel_bits: int) -> tuple[int, int, arb | None]:
    """(P, 2^s, error ball) with |ln z! - ln (P/2^s)!| inside the ball, or (p, q, None) if z is short."""
    s = rel_bits + Z_GUARD_BITS + _psi_bits(p, q)
    if q.bit_length() <= s + Z_ROUND_SLACK_BITS:
        return p, q, None
    big_p = _dyadic(p, q, s)
    den = 1 << s
    delta = fmpq(p, q) - fmpq(big_p, den)  # exact
    with ctx.workprec(64):
        # xi between z and z~: 0 <= xi <= z~ + 2^-s, and |psi(1 + xi)| <= max(gamma, ln(2 + z~)) <= 1 + ln(2 + z~)
        bound = (arb(fmpq(big_p, den)) + 2).log() + 1
        err = arb(delta) * bound * arb(0, 1)
    return big_p, den, err


def _round_complex(pr: int, pi: int, q: int, rel_bits: int) -> tuple[int, int, int, arb | None]:
    """Like _round_real for z = (pr + i pi)/q with Re z >= 0; Re z~ >= 0 too, so the segment stays in Re >= 0."""
    s = rel_bits + Z_GUARD_BITS + _psi_bits(max(abs(pr), abs(pi)), q)
    if q.bit_length() <= s + Z_ROUND_SLACK_BITS:
        return pr, pi, q, None
    big_r, big_i = _dyadic(pr, q, s), _dyadic(pi, q, s)
    den = 1 << s
    dr, di = fmpq(pr, q) - fmpq(big_r, den), fmpq(pi, q) - fmpq(big_i, den)
    with ctx.workprec(64):
        # |psi(w)| <= gamma + (pi^2/6)|w - 1| with |w - 1| = |xi| <= |z~| + |delta| <= |Re z~| + |Im z~| + 1
        size = abs(arb(fmpq(big_r, den))) + abs(arb(fmpq(big_i, den))) + 1
        bound = 1 + size * 2  # pi^2/6 < 2, gamma < 1
        err = (abs(arb(dr)) + abs(arb(di))) * bound * arb(0, 1)
    return big_r, big_i, den, err


#: The ball type of a LogFactorial: arb for real z, acb for complex z.
Ball = TypeVar("Ball", arb, acb)


@dataclass(frozen=True, slots=True)
class LogFactorial(Generic[Ball]):
    """ln z! as a ball, with the Spouge parameters that produced it."""

    value: Ball
    a: int
    log2_bound: float  # log2 of Spouge's relative truncation bound for this a


@lru_cache(maxsize=256)
def _truncation_radius(a: int) -> arb:
    """An exact dyadic >= 2 * Spouge's bound (|ln(1+eps)| <= 2|eps| for |eps| <= 1/2)."""
    return arb((fmpz(1), fmpz(math.floor(log2_truncation_bound(a)) + 2)))


def _fixed_ball(total: int, err_units: int, frac_bits: int) -> arb:
    """The ball (total ± err_units) * 2^-frac_bits, exactly."""
    return arb((fmpz(int(total)), -frac_bits), (err_units, -frac_bits))


def _real_sum(coeffs: Iterable[int], a: int, p: int, q: int, frac_bits: int) -> arb:
    """S(p/q) for p/q >= 0 as a ball; coeffs is the C_0..C_{a-1} sequence (scale 2^frac_bits)."""
    it = iter(coeffs)
    c0 = next(it)
    denominators = range(p + q, p + a * q, q)  # p + k q for k = 1..a-1
    if q == 1:
        return _fixed_ball(c0 + sum(map(operator.floordiv, it, denominators)), 2 * a, frac_bits)
    if q.bit_length() <= Q_HEADROOM_BITS:
        # sum C_k q/(p+kq) = q * sum C_k/(p+kq): each floor errs < 1 unit, times q
        total = c0 + q * sum(map(operator.floordiv, it, denominators))
        return _fixed_ball(total, a * q + a, frac_bits)
    terms = map(operator.floordiv, map(operator.mul, it, repeat(q)), denominators)
    return _fixed_ball(c0 + sum(terms), 2 * a, frac_bits)


#: The 1/z expansion of the sum (issue 11) is used when its J + 1 Horner steps are at most
#: (a - 1) / LARGE_Z_RATIO: each step (one multiplication and one division by a short
#: number, on a number that shrinks as j grows) costs about what one term of the direct sum costs.
LARGE_Z_RATIO = 2

#: Moments for a table are made once it has seen LARGE_Z_WAIT * (J + 1) eligible calls
#: (making them costs roughly that many direct sums); the C core has the same rule.
LARGE_Z_WAIT = 2

#: Used only where (a - 1)(J + 1) <= LARGE_Z_MAX_WORK: making the moments is one uninterruptible
#: FLINT computation (~1.5 s in C at 3000 digits, (a-1)(J+1) ~ 1.7e6), which must stay short.
LARGE_Z_MAX_WORK = 2_000_000

#: Fraction bits of the integer log2 bounds that choose J and the Horner shifts.
LOG_FRAC = 16


def log2_lower(x: int) -> int:
    """An integer L <= 2^16 log2 x (x >= 1), with 2^16 log2 x < L + 2.

    Integer-only (the top 63 bits of x, 16 truncated squarings), so the C core
    computes the very same number (_core.c log2_lower)."""
    n = x.bit_length() - 1
    m = x << (62 - n) if n <= 62 else x >> (n - 62)  # in [2^62, 2^63): truncation only lowers it
    r = 0
    for _ in range(LOG_FRAC):
        m = (m * m) >> 62
        r <<= 1
        if m >> 63:
            m >>= 1
            r |= 1
    return (n << LOG_FRAC) + r


class _MomentCache:
    """Moments m_j = sum_{k=1}^{a-1} C_k (-k)^j (j = 0..J) and S = sum |C_k| per table (a, F).

    Exact integers (the generating function sum_k C_k / (1 + k t) = N(t)/D(t) built by a
    product tree truncated at t^(J+1), then a power-series division), so every core finds the
    same ones.  LRU bounded by the bits held, like coefficients.CACHE (a quarter of its budget)."""

    def __init__(self, budget_bits: int) -> None:
        self.budget_bits = budget_bits
        self._entries: OrderedDict[tuple[int, int], tuple[tuple[int, ...], int]] = OrderedDict()
        self._totals: OrderedDict[tuple[int, int], int] = OrderedDict()
        self._seen: dict[tuple[int, int], int] = {}
        #: Moments are made after wait * (J + 1) eligible calls on a table (0: at once).
        self.wait = LARGE_Z_WAIT

    def abs_total(self, table: Sequence[int], a: int, frac_bits: int) -> int:
        """S = sum_{k=1}^{a-1} |C_k| (kept for the 64 latest tables)."""
        key = (a, frac_bits)
        total = self._totals.get(key)
        if total is None:
            total = self._totals[key] = int(sum(map(abs, table[1:a])))
            if len(self._totals) > 64:
                self._totals.popitem(last=False)
        return total

    def get(self, table: Sequence[int], a: int, frac_bits: int, J: int) -> tuple[int, ...] | None:
        """m_0 .. m_J' (J' >= J) for the table (a, F), or None while this table has seen fewer than
        wait * (J + 1) eligible calls (the moments cost about that many direct sums: ski rental)."""
        key = (a, frac_bits)
        entry = self._entries.get(key)
        if entry is not None and len(entry[0]) > J:
            self._entries.move_to_end(key)
            return entry[0]
        seen = self._seen[key] = self._seen.get(key, 0) + 1
        if seen < self.wait * (J + 1):
            return None  # the direct sum serves until the moments would have paid for themselves
        if len(self._seen) > 64:
            self._seen.pop(next(iter(self._seen)))
        want = J + 1 if entry is None else max(J + 1, 2 * len(entry[0]))  # grow geometrically
        moments = _moments(table, a, min(want, a))
        self._entries[key] = (moments, sum(m.bit_length() for m in moments))
        while sum(e[1] for e in self._entries.values()) > self.budget_bits and len(self._entries) > 1:
            self._entries.popitem(last=False)
        return moments

    def clear(self) -> None:
        self._entries.clear()
        self._totals.clear()
        self._seen.clear()


def _moments(table: Sequence[int], a: int, n: int) -> tuple[int, ...]:
    """(m_0 .. m_{n-1}), m_j = sum_{k=1}^{a-1} C_k (-k)^j, exactly."""
    level = [(fmpz_poly([int(table[k])]), fmpz_poly([1, k])) for k in range(1, a)]
    while len(level) > 1:
        nxt = []
        for i in range(0, len(level) - 1, 2):
            (n1, d1), (n2, d2) = level[i], level[i + 1]
            nxt.append((n1.mul_low(d2, n) + n2.mul_low(d1, n), d1.mul_low(d2, n)))
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    num, den = level[0]
    inv, have = fmpz_poly([1]), 1  # 1/den mod t^n by Newton (den(0) = 1)
    while have < n:
        have = min(2 * have, n)
        inv = inv.mul_low(2 - den.mul_low(inv, have), have)
    out = num.mul_low(inv, n).coeffs()
    return tuple(int(c) for c in out) + (0,) * (n - len(out))


MOMENTS = _MomentCache(CACHE.budget_bits // 4)


def _large_sum(table: Sequence[int], a: int, p: int, q: int, frac_bits: int) -> arb | None:
    """S(p/q) by the expansion in 1/z (large z), or None where the direct sum is cheaper.

    1/(z+k) = sum_{j<=J} (-k)^j / z^(j+1) + (-k)^(J+1) / (z^(J+1) (z+k)), so
        S(z) = C_0 + sum_{j<=J} m_j / z^(j+1) + tail,   |tail| <= sum |C_k| k^(J+1) / z^(J+2)
    (units 2^-F), and sum |C_k| k^(J+1) <= S (a-1)^(J+1), S = sum |C_k|.  J is the least with
    that bound <= 2^E units, 2^E <= a (from integer log2 bounds: 2^16 log2 z >= LZ, 2^16 log2(a-1) < LA).
    Horner in fixed point with z = p/q, keeping term j at the scale 2^t_j, t_j = floor(j LZ / 2^16)
    (so 2^t_j <= z^j): H_J = floor(m_J / 2^t_J), H_j = floor(m_j / 2^t_j) + floor(H_{j+1} q 2^(t_{j+1}-t_j) / p),
    result floor(H_0 q / p): below the exact value by less than 1 + 2(J+1) units.  With the
    C_k error (<= 1 unit each, |1/(z+k)| <= 1) the radius is 2J + 3 + a + 2^E units."""
    if a < 3 or p.bit_length() - q.bit_length() < (a - 1).bit_length() + 2:
        return None
    lz = log2_lower(p) - log2_lower(q) - 2
    la = log2_lower(a - 1) + 2
    if lz <= la:
        return None
    e_bits = a.bit_length() - 1
    # (J+1)(lz - la) >= 2^16 (bitlen(S) - E) - lz  <=>  S (a-1)^(J+1) / z^(J+2) <= 2^E
    num = (MOMENTS.abs_total(table, a, frac_bits).bit_length() << LOG_FRAC) - lz - (e_bits << LOG_FRAC)
    J = max(1, -(-num // (lz - la))) - 1
    if a - 1 < (J + 1) * LARGE_Z_RATIO or (a - 1) * (J + 1) > LARGE_Z_MAX_WORK:
        return None
    moments = MOMENTS.get(table, a, frac_bits, J)
    if moments is None:
        return None
    shifts = [(j * lz) >> LOG_FRAC for j in range(J + 1)]
    h = moments[J] >> shifts[J]
    for j in range(J - 1, -1, -1):
        h = (moments[j] >> shifts[j]) + ((h * q) << (shifts[j + 1] - shifts[j])) // p
    value = int(table[0]) + (h * q) // p
    return _fixed_ball(value, 2 * J + 3 + a + (1 << e_bits), frac_bits)


def _complex_sum(coeffs: Iterable[int], a: int, pr: int, pi: int, q: int, frac_bits: int) -> acb:
    """S(z) for z = (pr + i pi)/q with pr >= 0, as an acb ball."""
    it = iter(coeffs)
    total_re = next(it)
    total_im = 0
    pi2 = pi * pi
    for k, c in enumerate(it, start=1):
        dr = pr + k * q
        den = dr * dr + pi2
        cq = c * q
        total_re += (cq * dr) // den
        total_im -= (cq * pi) // den
    return acb(_fixed_ball(total_re, 2 * a, frac_bits), _fixed_ball(total_im, 2 * a, frac_bits))


def _plan(rel_bits: int) -> tuple[int, int]:
    a = choose_a(rel_bits)
    return a, rel_bits + SUM_GUARD_BITS + Q_HEADROOM_BITS


def log_factorial(p: int, q: int, rel_bits: int, abs_bits: int) -> LogFactorial[arb]:
    """ln z! for real z = p/q >= 0 (q > 0) as a ball.

    rel_bits: wanted relative accuracy of z! (absolute accuracy of ln z!).
    abs_bits: working precision for the logs; >= rel_bits + log2|ln z!|.
    """
    if p < 0:
        raise ValueError("internal: log_factorial needs z >= 0")
    a, frac_bits = _plan(rel_bits)
    p, q, rounding_error = _round_real(p, q, rel_bits)
    coeffs = CACHE.get(a, frac_bits)
    with ctx.workprec(max(abs_bits, rel_bits) + 16):
        s = _large_sum(coeffs, a, p, q, frac_bits) if isinstance(coeffs, tuple | list) else None
        if s is None:
            s = _real_sum(coeffs, a, p, q, frac_bits)
        zb = arb(fmpq(p, q)) if q != 1 else arb(p)
        t = zb + a
        value = (zb + 0.5) * t.log() - t + s.log() + arb(0, _truncation_radius(a))
        if rounding_error is not None:
            value += rounding_error
    return LogFactorial(value, a, log2_truncation_bound(a))


def log_factorial_complex(pr: int, pi: int, q: int, rel_bits: int, abs_bits: int) -> LogFactorial[acb]:
    """ln z! for complex z = (pr + i pi)/q with Re z >= 0 as an acb ball (principal branch of ln S)."""
    if pr < 0:
        raise ValueError("internal: log_factorial needs Re z >= 0")
    a, frac_bits = _plan(rel_bits)
    pr, pi, q, rounding_error = _round_complex(pr, pi, q, rel_bits)
    coeffs = CACHE.get(a, frac_bits)
    with ctx.workprec(max(abs_bits, rel_bits) + 16):
        s = _complex_sum(coeffs, a, pr, pi, q, frac_bits)
        zb = acb(arb(fmpq(pr, q)), arb(fmpq(pi, q)))
        t = zb + a
        eps = _truncation_radius(a)
        value = (zb + 0.5) * t.log() - t + s.log() + acb(arb(0, eps), arb(0, eps))
        if rounding_error is not None:
            value += acb(rounding_error, rounding_error)
    return LogFactorial(value, a, log2_truncation_bound(a))
