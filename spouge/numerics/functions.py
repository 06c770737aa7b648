"""factorial, gamma and lgamma: the domain logic around Spouge's formula.

Owns: poles, the reflection formula, the Ziv loop, and the exact settling of
integer arguments.  Everything transcendental goes through
``engine.log_factorial`` (Spouge's formula); no library gamma/lgamma/factorial
is called anywhere on this path.

How a real value is produced (x exact rational):
    x >= 1      ln|Γ(x)| = ln (x-1)!                       (Spouge at z = x-1)
    0 < x < 1   ln|Γ(x)| = ln x! - ln x                     (Spouge at z = x)
    x < 0       ln|Γ(x)| = ln π - ln|sin πf| - ln (-x)!     (reflection)
                with x = n + f, n = round(x), |f| <= 1/2 computed exactly, so
                the offset from the pole is never rounded away; sign (-1)^n sgn f.
Then the decimal is decided from the ball of ln|Γ| (``rounding``).  If the ball
does not decide the rounding, the precision rises and everything is redone
(Ziv).  Integer arguments are the only ones whose value can be an exact tie
or power of ten; when undecided they are settled by an exact product.

Precision: ``target`` = digits*log2(10) + GUARD_BITS is the relative accuracy
asked of Γ; the working precision adds log2|ln Γ| bits so that the exponent of
a huge result (10^(10^1003)) is still exact.
"""

from __future__ import annotations

import math
from fractions import Fraction
from functools import lru_cache

import gmpy2
from flint import acb, arb, ctx, fmpq, fmpz

from .arguments import check_digits, parse_number, parse_real
from .engine import log_factorial, log_factorial_complex
from .result import ComplexSpougeResult, SpougeResult, bound_text as _bound_text
from .rounding import round_ball, round_from_log, round_integer

#: Bits beyond the requested digits on the first pass.  A pass fails to decide
#: with probability about 2^-GUARD_BITS, and then costs one more pass.
GUARD_BITS = 16

#: Give up (ArithmeticError) once the working precision exceeds this multiple
#: of the first pass: only a value sitting exactly on a rounding boundary could
#: get there, and for non-integer rational x none is known to exist.
MAX_PRECISION_FACTOR = 64

LOG2_10 = math.log2(10)

bound_text = lru_cache(maxsize=1024)(_bound_text)


class PoleError(ValueError):
    """x is a pole of the function (gamma at 0, -1, -2, ...; factorial at -1, -2, ...)."""


def _exact_text(x: object) -> str:
    if isinstance(x, str):
        return x.strip()
    if isinstance(x, float | complex):
        return repr(x)
    return str(x)


def _log2_abs(x: Fraction) -> int:
    """An integer within 1 of log2|x| (x != 0)."""
    return abs(x.numerator).bit_length() - x.denominator.bit_length()


def _magnitude_bits(*parts: Fraction) -> int:
    """Bits for the size of ln|Γ(x)|: about log2(|x| ln|x| + ln(1/|x|) + ln(1/|f|)).

    Works in log2 space so that |x| = 10^10000 does not overflow a float.
    """
    top = 2.0
    for part in parts:
        p, q = part.numerator, part.denominator
        if not p:
            continue
        lg = abs(p).bit_length() - q.bit_length()  # within 1 of log2|x|
        # |x| log|x| for large x; log(1/|x|) for small x (the pole at 0)
        top = max(top, lg + math.log2(lg + 1) if lg > 0 else math.log2(1 - lg))
        if p < 0 and q != 1:  # log(1/|f|) near a negative pole, f = x - round(x)
            f_num = p - ((2 * p + q) // (2 * q)) * q
            top = max(top, math.log2(1 + q.bit_length() - abs(f_num).bit_length()))
    return math.ceil(top) + 3


def _is_integer(x: Fraction) -> bool:
    return x.denominator == 1


def _target_bits(digits: int) -> int:
    return math.ceil(digits * LOG2_10) + GUARD_BITS


def _raise_precision(bits: int, deficit: int | None) -> int:
    return bits + max(GUARD_BITS * 2, bits // 4, (deficit or 0) + GUARD_BITS)


def _ln_abs_gamma(x: Fraction, bits: int, extra: int):
    """(ln|Γ(x)| ball, sign of Γ(x), Spouge's a, log2 bound) for a real non-pole x."""
    work = bits + extra
    p, q = x.numerator, x.denominator
    if p >= q:  # x >= 1
        lf = log_factorial(p - q, q, bits, work)
        return lf.value, 1, lf.a, lf.log2_bound
    if p > 0:  # 0 < x < 1
        lf = log_factorial(p, q, bits, work)
        with ctx.workprec(work + 16):
            return lf.value - arb(fmpq(p, q)).log(), 1, lf.a, lf.log2_bound
    nearest = (2 * p + q) // (2 * q)  # x = nearest + f exactly, |f| <= 1/2, f != 0
    f_num = p - nearest * q
    lf = log_factorial(-p, q, bits, work)
    with ctx.workprec(work + 16):
        sine = arb(fmpq(abs(f_num), q)).sin_pi()
        value = arb.pi().log() - sine.log() - lf.value
    sign = (-1 if nearest % 2 else 1) * (1 if f_num > 0 else -1)
    return value, sign, lf.a, lf.log2_bound


def _exact_factorial(m: int) -> int:
    """m! by binary splitting of the product (exact integers; settles ties only)."""

    def product(lo: int, hi: int) -> gmpy2.mpz:  # lo * (lo+1) * ... * (hi-1)
        if hi - lo <= 16:
            acc = gmpy2.mpz(1)
            for i in range(lo, hi):
                acc *= i
            return acc
        mid = (lo + hi) // 2
        return product(lo, mid) * product(mid, hi)

    return int(product(2, m + 1)) if m >= 2 else 1


def _may_be_boundary(m: int, digits: int) -> bool:
    """Could m! be a power of ten or a tie at `digits` digits?

    A tie needs m! / 10^t (t = trailing zeros) to have at most digits+1 digits.
    m! >= (m/e)^m, so if m log10(m/e) - t > digits + 1 it cannot be one.
    """
    if m <= 1:
        return True
    if m > 10**7:  # at least 6e7 significant digits: more than any allowed digits+1
        return False
    trailing, power = 0, 5
    while power <= m:
        trailing += m // power
        power *= 5
    return m * math.log10(m / math.e) - trailing <= digits + 2


def _real_result(name: str, x: Fraction, text: str, digits: int, factorial_of: int | None) -> SpougeResult:
    """Γ(x) correctly rounded; factorial_of is m when Γ(x) = m! exactly (integer x)."""
    extra = _magnitude_bits(x)
    bits = first = _target_bits(digits)
    while True:
        value, sign, a, log2_bound = _ln_abs_gamma(x, bits, extra)
        with ctx.workprec(bits + extra + 16):
            decided = round_from_log(value, digits)
        if decided is None and factorial_of is not None and _may_be_boundary(factorial_of, digits):
            decided = round_integer(_exact_factorial(factorial_of), digits)
        if decided is not None:
            mantissa, exponent = decided
            return SpougeResult(name, text, digits, sign * mantissa, exponent, a, bound_text(log2_bound), bits + extra)
        bits = _raise_precision(bits, None)
        if bits > MAX_PRECISION_FACTOR * first:
            raise ArithmeticError(f"could not decide the rounding of {name}({text}) to {digits} digits")


def _complex_result(name: str, z: tuple[Fraction, Fraction], text: str, digits: int) -> ComplexSpougeResult:
    re, im = z
    if im == 0 and _is_integer(re) and re <= 0:
        raise PoleError(f"{name}({text}): Γ has a pole at {re}")
    extra = _magnitude_bits(re, im)
    bits = first = _target_bits(digits) + 4
    q = math.lcm(re.denominator, im.denominator)
    pr, pi = re.numerator * (q // re.denominator), im.numerator * (q // im.denominator)
    while True:
        work = bits + extra
        if pr >= q:  # Re x >= 1
            lf = log_factorial_complex(pr - q, pi, q, bits, work)
            log_v, flip = lf.value, False
        elif pr >= 0:
            lf = log_factorial_complex(pr, pi, q, bits, work)
            with ctx.workprec(work + 16):
                log_v, flip = lf.value - acb(arb(fmpq(pr, q)), arb(fmpq(pi, q))).log(), False
        else:  # reflection, with the real part reduced exactly
            nearest = (2 * pr + q) // (2 * q)
            lf = log_factorial_complex(-pr, -pi, q, bits, work)
            with ctx.workprec(work + 16):
                sine = acb(arb(fmpq(pr - nearest * q, q)), arb(fmpq(pi, q))).sin_pi()
                log_v, flip = arb.pi().log() - sine.log() - lf.value, nearest % 2 == 1
        with ctx.workprec(work + 16):
            ln10 = arb.const_log10()
            exp10 = (log_v.real / ln10).floor().unique_fmpz()
            if exp10 is not None:
                quantum = int(exp10) - digits
                scaled = (log_v - fmpz(quantum) * ln10).exp()
                if flip:
                    scaled = -scaled
                limit = arb(0.05)
                if scaled.real.rad() < limit and scaled.imag.rad() < limit:
                    units = [int((part.mid() + arb(0.5)).floor().unique_fmpz()) for part in (scaled.real, scaled.imag)]
                    return ComplexSpougeResult(name, text, digits, units[0], units[1], quantum, lf.a, bound_text(lf.log2_bound), work)
        bits = _raise_precision(bits, None)
        if bits > MAX_PRECISION_FACTOR * first:
            raise ArithmeticError(f"could not decide {name}({text}) to {digits} digits")


def gamma(x, digits: int = 16):
    """Γ(x) to `digits` significant digits, correctly rounded (half to even) for real x.

    x: int, exact decimal str ("0.1", "-2.5", "1e100"), Fraction, Decimal, float
    (its exact binary value), complex or complex str ("3+4j").
    Raises PoleError at 0, -1, -2, ...; ValueError/TypeError for bad input.
    """
    digits = check_digits(digits)
    value = parse_number(x)
    text = _exact_text(x)
    if isinstance(value, tuple):
        return _complex_result("gamma", value, text, digits)
    if _is_integer(value) and value <= 0:
        raise PoleError(f"gamma({text}): Γ has a pole at x = {value}")
    return _real_result("gamma", value, text, digits, int(value) - 1 if _is_integer(value) else None)


def factorial(x, digits: int = 16):
    """x! = Γ(x+1) to `digits` significant digits (see gamma).  Poles at -1, -2, ..."""
    digits = check_digits(digits)
    value = parse_number(x)
    text = _exact_text(x)
    if isinstance(value, tuple):
        if value[1] == 0 and _is_integer(value[0]) and value[0] < 0:
            raise PoleError(f"factorial({text}): x! = Γ(x+1) has a pole at x = {value[0]}")
        return _complex_result("factorial", (value[0] + 1, value[1]), text, digits)
    if _is_integer(value) and value < 0:
        raise PoleError(f"factorial({text}): x! = Γ(x+1) has a pole at x = {value}")
    return _real_result("factorial", value + 1, text, digits, int(value) if _is_integer(value) else None)


def lgamma(x, digits: int = 16) -> SpougeResult:
    """ln|Γ(x)| for real x, correctly rounded to `digits` significant digits.

    Raises PoleError at 0, -1, -2, ...; TypeError for complex x.
    """
    digits = check_digits(digits)
    value = parse_real(x)
    text = _exact_text(x)
    if _is_integer(value) and value <= 0:
        raise PoleError(f"lgamma({text}): Γ has a pole at x = {value}")
    extra = _magnitude_bits(value)
    bits = first = _target_bits(digits)
    while True:
        ln_abs, _, a, log2_bound = _ln_abs_gamma(value, bits, extra)
        if value in (1, 2):  # Γ = 1 exactly: ln|Γ| = 0 (the ball contains 0 and cannot decide)
            return SpougeResult("lgamma", text, digits, 0, 0, a, bound_text(log2_bound), bits + extra)
        with ctx.workprec(bits + extra + 16):
            decided = round_ball(ln_abs, digits)
            deficit = None
            if decided is None and not ln_abs.contains(0):
                deficit = _target_bits(digits) - ln_abs.rel_accuracy_bits()
        if decided is not None:
            sign, (mantissa, exponent) = decided
            return SpougeResult("lgamma", text, digits, sign * mantissa, exponent, a, bound_text(log2_bound), bits + extra)
        bits = _raise_precision(bits, deficit)
        if bits > MAX_PRECISION_FACTOR * first + 64 * extra:
            raise ArithmeticError(f"could not decide the rounding of lgamma({text}) to {digits} digits")
