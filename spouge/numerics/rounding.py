"""From a ball (or an exact rational) to a correctly rounded number, in any mode, in base 10 or 2.

Owns: deciding the `digits`-significant-digit number nearest to (or below,
above, toward or away from zero of) a value that is only known as an Arb
ball, or exactly as a rational.

Invariants:
- A rounding is returned only when every point of the ball rounds to it.
  Otherwise the answer is ``None`` and the caller must raise the precision
  (Ziv's strategy).  So every returned digit is right.
- Nearest (ties to even): a ball decides when no half-ulp point is inside
  it; a power R^E inside it is fine when the points below it round up to
  R^E (they are within half an ulp of the lower decade) and those above
  round down to it.  Exact ties are never decided from a ball.
- Directed modes (down, up, zero, away): a ball decides when no grid point
  (a multiple of the ulp, powers of R included) is inside it.  A value on
  the grid is exact and can only be settled exactly (``round_rational``).
- The result is (N, E): N has exactly `digits` digits in radix R (10 or 2),
  value = N * R^(E-digits+1).  With ``min_exponent`` (binary: subnormal
  doubles) the ulp never goes below R^min_exponent, N may have fewer digits,
  and a value that rounds to zero gives N = 0.
"""

from __future__ import annotations

from fractions import Fraction

import gmpy2
from flint import arb, fmpz

Decimal = tuple[int, int]  # (N with exactly `digits` digits, exponent E)

#: The rounding modes, as in MPFR/IEEE 754: nearest (ties to even), toward -inf, +inf, zero, away from zero.
MODES = ("nearest", "down", "up", "zero", "away")


def magnitude_mode(mode: str, sign: int) -> str:
    """The rounding of |V| that gives `mode` for a value of this sign: "nearest", "floor" or "ceil"."""
    if mode == "nearest":
        return "nearest"
    if mode == "zero" or (mode == "down" and sign > 0) or (mode == "up" and sign < 0):
        return "floor"
    return "ceil"


def _log_radix(radix: int) -> arb:
    return arb.const_log10() if radix == 10 else arb.const_log2()


def _range_of_floors(log_value: arb) -> tuple[int, int] | None:
    """(floor of the lower end, floor of the upper end) of a ball, or None if not finite."""
    if not log_value.is_finite():
        return None
    lo = log_value.lower().floor().unique_fmpz()
    hi = log_value.upper().floor().unique_fmpz()
    return None if lo is None or hi is None else (int(lo), int(hi))


def _round_scaled(m: arb, digits: int, exp: int, how: str, radix: int, low: int) -> Decimal | None:
    """m is the value times R^(digits-1-exp): decide N on the integer grid (from `low` up to R^digits)."""
    top = radix**digits
    if how == "nearest":
        shifted = m + arb(0.5)
        if shifted.contains_integer():  # a half-ulp point may be inside: undecided
            return None
        floor = shifted.floor().unique_fmpz()
    else:
        if m.contains_integer():  # a grid point may be inside (or the value is on the grid)
            return None
        floor = m.floor().unique_fmpz()
    if floor is None:
        return None
    n = int(floor) + 1 if how == "ceil" else int(floor)
    if n == top:
        return (radix ** (digits - 1), exp + 1) if low == radix ** (digits - 1) else (n, exp)
    if not low <= n < top:
        return None
    return n, exp


def _round_across_power(m: arb, digits: int, exp: int, radix: int) -> Decimal | None:
    """Nearest only: m is V * R^(digits-1-exp) for a ball V around R^exp; decide R^exp or None.

    Points below R^exp round (on the lower decade's grid) to R^exp when
    m > R^(digits-1) - 1/(2R); points above round down to it when
    m < R^(digits-1) + 1/2.  Both ends strict, so no tie is ever decided here.
    """
    unit = fmpz(radix) ** (digits - 1)
    scaled = m * (2 * radix)
    if scaled > arb(2 * radix * unit - 1) and scaled < arb(2 * radix * unit + radix):
        return int(unit), exp
    return None


def _decide(log_abs: arb, magnitude: arb | None, digits: int, how: str, radix: int,
            min_exponent: int | None) -> Decimal | None:
    """The common part: from ln|V| (and |V| itself when the caller has it) to (N, E) or None."""
    ln_r = _log_radix(radix)
    exps = _range_of_floors(log_abs / ln_r)
    if exps is None or exps[1] - exps[0] > 1:
        return None
    exp = exps[1]
    low = radix ** (digits - 1)
    if min_exponent is not None and exp - digits + 1 < min_exponent:
        # below the normal range: a fixed quantum R^min_exponent, fewer digits
        shift = min_exponent
        low = 0
        digits_here = exp - min_exponent + 1
        if exps[0] != exp and how == "nearest":
            return None  # keep it simple at the subnormal boundary: escalate
        exp_out = exp
    else:
        shift = exp - digits + 1
        digits_here = digits
        exp_out = exp
    if magnitude is not None:
        scale = arb(radix) ** -shift if shift <= 0 else 1 / (arb(radix) ** shift)
        m = magnitude * scale
    else:
        m = (log_abs - fmpz(shift) * ln_r).exp()
    if exps[0] != exp:
        if how != "nearest" or low == 0:
            return None  # a directed rounding of a ball across R^E cannot be decided
        return _round_across_power(m, digits, exp, radix)
    if low == 0:
        assert min_exponent is not None  # low is 0 only below min_exponent
        decided = _round_scaled(m, max(digits_here, 1), exp_out, how, radix, 0)
        if decided is None:
            return None
        n, _ = decided
        # N is a count of R^min_exponent units; report it on that quantum: E = min_exponent + digits - 1
        return n, min_exponent + digits - 1
    return _round_scaled(m, digits, exp_out, how, radix, low)


def round_from_log(log_abs: arb, digits: int, mode: str = "nearest", sign: int = 1, radix: int = 10,
                   min_exponent: int | None = None) -> Decimal | None:
    """Round |V| = exp(log_abs) to `digits` significant digits, or None if undecided.

    Works for any size of V (10^(10^1000) included): only ln|V| is ever stored,
    and the caller's precision must cover log2|ln V| bits beyond the target.
    ``sign`` is the sign of V, needed for the directed modes.
    """
    return _decide(log_abs, None, digits, magnitude_mode(mode, sign), radix, min_exponent)


def round_ball(value: arb, digits: int, mode: str = "nearest", radix: int = 10,
               min_exponent: int | None = None) -> tuple[int, Decimal] | None:
    """Round a real ball to `digits` significant digits: (sign, (N, E)), or None."""
    if value.contains(0):
        return None
    sign = 1 if value > 0 else -1
    magnitude = abs(value)
    decided = _decide(magnitude.log(), magnitude, digits, magnitude_mode(mode, sign), radix, min_exponent)
    return None if decided is None else (sign, decided)


def decimal_exponent(n: int) -> int:
    """floor(log10 n) for an integer n >= 1, exactly."""
    big = gmpy2.mpz(n)
    e = int(big.num_digits(10)) - 1  # num_digits may be one too large
    if big < gmpy2.mpz(10) ** e:
        e -= 1
    return e


def _floor_log(value: Fraction, radix: int) -> int:
    """floor(log_R value) for a rational value > 0, exactly."""
    p, q = value.numerator, value.denominator
    if radix == 2:
        e = p.bit_length() - q.bit_length()
        return e if (p << max(0, -e)) >= (q << max(0, e)) else e - 1
    e = decimal_exponent(p) - decimal_exponent(q)
    return e if value >= Fraction(10) ** e else e - 1


def round_rational(value: Fraction, digits: int, mode: str = "nearest", radix: int = 10,
                   min_exponent: int | None = None) -> tuple[int, Decimal]:
    """Round an exact rational != 0: (sign, (N, E)), exactly (ties to even in "nearest")."""
    sign = 1 if value > 0 else -1
    magnitude = abs(value)
    how = magnitude_mode(mode, sign)
    exp = _floor_log(magnitude, radix)
    shift = exp - digits + 1
    low = radix ** (digits - 1)
    if min_exponent is not None and shift < min_exponent:
        shift, low = min_exponent, 0
    scaled = magnitude / Fraction(radix) ** shift
    n, r = divmod(scaled.numerator, scaled.denominator)
    den = scaled.denominator
    if (how == "ceil" and r) or (how == "nearest" and (2 * r > den or (2 * r == den and n % 2 == 1))):
        n += 1
    n = int(n)
    if low == 0:
        assert min_exponent is not None  # low is 0 only below min_exponent
        return sign, (n, min_exponent + digits - 1)
    if n == radix**digits:
        return sign, (radix ** (digits - 1), exp + 1)
    return sign, (n, exp)


def round_integer(n: int, digits: int, mode: str = "nearest", radix: int = 10) -> Decimal:
    """Round a positive integer to `digits` significant digits, exactly (default: half to even, decimal)."""
    return round_rational(Fraction(n), digits, mode, radix)[1]
