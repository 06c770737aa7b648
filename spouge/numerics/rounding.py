"""From a ball (or an exact integer) to a correctly rounded decimal.

Owns: deciding the `digits`-significant-digit decimal nearest to a value that
is only known as an Arb ball, or exactly as an integer.

Invariants:
- A rounding is returned only when every point of the ball rounds to it
  (round half to even).  Otherwise the answer is ``None`` and the caller must
  raise the precision (Ziv's strategy).  So every returned digit is right.
- A ball decides when every point in it rounds to the same decimal.  That
  needs no half-ulp point inside it; a power of ten 10^E inside it is fine
  when the points below it round up to 10^E (they are within half an ulp of
  the lower decade) and those above round down to it: such a ball straddles
  the decade boundary yet decides "1.000...e+E".  Exact ties are never
  decided from a ball; they can only occur for exact values, which
  ``round_integer`` settles.
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


def _decade_range(log10_value: arb) -> tuple[int, int] | None:
    """(floor of the lower end, floor of the upper end) of log10|V|, or None if not finite."""
    if not log10_value.is_finite():
        return None
    lo = log10_value.lower().floor().unique_fmpz()
    hi = log10_value.upper().floor().unique_fmpz()
    return None if lo is None or hi is None else (int(lo), int(hi))


def _round_across_power(m: arb, digits: int, exp10: int) -> Decimal | None:
    """m is V * 10^(digits-1-exp10) for a ball V around 10^exp10; decide 10^exp10 or None.

    Points of V below 10^exp10 round (on the lower decade's grid) to 10^exp10
    when m > 10^(digits-1) - 1/20; points above round down to it when
    m < 10^(digits-1) + 1/2.  Both ends strict, so no tie is ever decided here.
    """
    unit = fmpz(10) ** (digits - 1)
    twenty_m = m * 20
    if twenty_m > arb(20 * unit - 1) and twenty_m < arb(20 * unit + 10):
        return int(unit), exp10
    return None


def round_from_log(log_abs: arb, digits: int) -> Decimal | None:
    """Round |V| = exp(log_abs) to `digits` significant digits, or None if undecided.

    Works for any size of V (10^(10^1000) included): only ln|V| is ever stored,
    and the caller's precision must cover log2|ln V| bits beyond the target.
    """
    ln10 = arb.const_log10()
    decades = _decade_range(log_abs / ln10)
    if decades is None or decades[1] - decades[0] > 1:
        return None
    exp10 = decades[1]
    scaled = (log_abs - fmpz(exp10 - digits + 1) * ln10).exp()
    if decades[0] != exp10:
        return _round_across_power(scaled, digits, exp10)
    return _round_scaled(scaled, digits, exp10)


def round_ball(value: arb, digits: int) -> tuple[int, Decimal] | None:
    """Round a real ball to `digits` significant digits: (sign, (N, E)), or None."""
    if value.contains(0):
        return None
    sign = 1 if value > 0 else -1
    magnitude = abs(value)
    decades = _decade_range(magnitude.log() / arb.const_log10())
    if decades is None or decades[1] - decades[0] > 1:
        return None
    exp10 = decades[1]
    power = digits - 1 - exp10
    scale = arb(10) ** power if power >= 0 else 1 / (arb(10) ** -power)
    if decades[0] != exp10:
        decided = _round_across_power(magnitude * scale, digits, exp10)
    else:
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
