"""From a ball (or an exact integer) to a correctly rounded decimal.

Owns: deciding the `digits`-significant-digit decimal nearest to a value that
is only known as an Arb ball, or exactly as an integer.

Invariants:
- A rounding is returned only when every point of the ball rounds to it
  (round half to even).  Otherwise the answer is ``None`` and the caller must
  raise the precision (Ziv's strategy).  So every returned digit is right.
- A ball can decide only if it excludes every rounding boundary: the decade
  boundaries 10^E (which change the exponent) and the half-ulp points.
  Exact ties and exact powers of ten are never decided from a ball; they
  can only occur for exact values, which ``round_integer`` settles.
- The decimal is (N, E): N has exactly `digits` digits, value = N * 10^(E-digits+1).
"""

from __future__ import annotations

import gmpy2
from flint import arb, fmpz

Decimal = tuple[int, int]  # (N with exactly `digits` digits, decimal exponent E)


def _round_scaled(m: arb, digits: int, exp10: int) -> Decimal | None:
    """m is the value times 10^(digits-1-E), so it lies in [10^(digits-1), 10^digits]."""
    shifted = m + arb(0.5)
    if shifted.contains_integer():  # m may hold a half-ulp point: undecided
        return None
    n = shifted.floor().unique_fmpz()
    if n is None:
        return None
    n = int(n)
    if n == 10**digits:
        return 10 ** (digits - 1), exp10 + 1
    if not 10 ** (digits - 1) <= n < 10**digits:
        return None
    return n, exp10


def round_from_log(log_abs: arb, digits: int) -> Decimal | None:
    """Round |V| = exp(log_abs) to `digits` significant digits, or None if undecided.

    Works for any size of V (10^(10^1000) included): only ln|V| is ever stored,
    and the caller's precision must cover log2|ln V| bits beyond the target.
    """
    ln10 = arb.const_log10()
    exp10 = (log_abs / ln10).floor().unique_fmpz()
    if exp10 is None:
        return None
    exp10 = int(exp10)
    scaled = (log_abs - fmpz(exp10 - digits + 1) * ln10).exp()
    return _round_scaled(scaled, digits, exp10)


def round_ball(value: arb, digits: int) -> tuple[int, Decimal] | None:
    """Round a real ball to `digits` significant digits: (sign, (N, E)), or None."""
    if value.contains(0):
        return None
    sign = 1 if value > 0 else -1
    magnitude = abs(value)
    exp10 = (magnitude.log() / arb.const_log10()).floor().unique_fmpz()
    if exp10 is None:
        return None
    exp10 = int(exp10)
    power = digits - 1 - exp10
    scale = arb(10) ** power if power >= 0 else 1 / (arb(10) ** -power)
    decided = _round_scaled(magnitude * scale, digits, exp10)
    return None if decided is None else (sign, decided)


def decimal_exponent(n: int) -> int:
    """floor(log10 n) for an integer n >= 1, exactly."""
    n = gmpy2.mpz(n)
    e = int(n.num_digits(10)) - 1  # num_digits may be one too large
    if n < gmpy2.mpz(10) ** e:
        e -= 1
    return e


def round_integer(n: int, digits: int) -> Decimal:
    """Round a positive integer to `digits` significant digits, half to even, exactly."""
    exp10 = decimal_exponent(n)
    drop = exp10 - digits + 1
    if drop <= 0:
        return int(n) * 10**-drop, exp10
    unit = gmpy2.mpz(10) ** drop
    q, r = gmpy2.f_divmod(gmpy2.mpz(n), unit)
    twice = 2 * r
    if twice > unit or (twice == unit and q % 2 == 1):
        q += 1
    q = int(q)
    if q == 10**digits:
        return 10 ** (digits - 1), exp10 + 1
    return q, exp10
