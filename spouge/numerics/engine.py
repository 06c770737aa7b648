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
- The rest (two logs) is Arb ball arithmetic, so rounding errors are tracked.
- Spouge's truncation error enters as a ball: |ln(1+eps)| <= 2|eps| for |eps| <= 1/2.

Who adds guard bits: the caller passes ``rel_bits`` (relative accuracy wanted
for the sum) and ``abs_bits`` (total working precision, which includes bits
for the size of ln z! itself); this module adds ``SUM_GUARD_BITS`` for the 2a
units of summation error.
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass
from fractions import Fraction
from itertools import repeat

from flint import acb, arb, ctx, fmpq, fmpz

from .coefficients import CACHE, choose_a, log2_truncation_bound

#: Bits above rel_bits in the fixed-point scale: covers the 2a-unit summation
#: error (log2(2a) <= 18 for a <= 126000) with room to spare.
SUM_GUARD_BITS = 24


@dataclass(frozen=True, slots=True)
class LogFactorial:
    """ln z! as a ball, with the Spouge parameters that produced it."""

    value: arb | acb
    a: int
    log2_bound: float  # log2 of Spouge's relative truncation bound for this a


def _fixed_ball(total: int, err_units: int, frac_bits: int) -> arb:
    mid = arb((fmpz(int(total)), fmpz(-frac_bits)))
    return mid + arb(0, arb((fmpz(err_units), fmpz(-frac_bits))))


def _real_sum(coeffs, a: int, p: int, q: int, frac_bits: int) -> arb:
    """S(p/q) for p/q >= 0 as a ball; coeffs is the C_0..C_{a-1} sequence."""
    it = iter(coeffs)
    c0 = next(it)
    denominators = range(p + q, p + a * q, q)  # p + k q for k = 1..a-1
    if q == 1:
        terms = map(operator.floordiv, it, denominators)
    else:
        terms = map(operator.floordiv, map(operator.mul, it, repeat(q)), denominators)
    total = c0 + sum(terms)
    return _fixed_ball(total, 2 * a, frac_bits)


def _complex_sum(coeffs, a: int, pr: int, pi: int, q: int, frac_bits: int) -> acb:
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


def log_factorial(z: Fraction | tuple[Fraction, Fraction], rel_bits: int, abs_bits: int) -> LogFactorial:
    """ln z! for Re z >= 0 as a ball.  Call inside ``ctx.workprec(abs_bits)`` or not; we set it.

    rel_bits: wanted relative accuracy of z! (absolute accuracy of ln z!).
    abs_bits: working precision for the logs; >= rel_bits + log2|ln z!|.
    """
    a = choose_a(rel_bits)
    frac_bits = rel_bits + SUM_GUARD_BITS
    coeffs = CACHE.get(a, frac_bits)
    log2_bound = log2_truncation_bound(a)
    with ctx.workprec(max(abs_bits, frac_bits) + 16):
        eps = arb((fmpz(1), fmpz(math.floor(log2_bound) + 2)))  # >= 2 * bound
        if isinstance(z, tuple):
            re, im = z
            if re < 0:
                raise ValueError("internal: log_factorial needs Re z >= 0")
            q = math.lcm(re.denominator, im.denominator)
            pr, pi = re.numerator * (q // re.denominator), im.numerator * (q // im.denominator)
            s = _complex_sum(coeffs, a, pr, pi, q, frac_bits)
            zb = acb(arb(fmpq(pr, q)), arb(fmpq(pi, q)))
            t = zb + a
            value = (zb + fmpq(1, 2)) * t.log() - t + s.log()
            value += acb(arb(0, eps), arb(0, eps))
        else:
            if z < 0:
                raise ValueError("internal: log_factorial needs z >= 0")
            p, q = z.numerator, z.denominator
            s = _real_sum(coeffs, a, p, q, frac_bits)
            zb = arb(fmpq(p, q))
            t = zb + a
            value = (zb + fmpq(1, 2)) * t.log() - t + s.log()
            value += arb(0, eps)
    return LogFactorial(value, a, log2_bound)
