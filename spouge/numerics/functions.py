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
(Ziv); ``precision.plan`` predicts the first pass's bits from the input and
sets the ceiling, ``precision.next_bits`` the passes after it.  Integer
arguments are the only ones whose value can be an exact tie or power of ten;
when undecided they are settled by an exact product.  A complex x with a zero
imaginary part takes the real road.

Errors: ``PoleError`` (a ``ValueError``) at the poles, ``ValueError`` and
``TypeError`` from the arguments, ``UndecidedError`` (a ``ValueError``) past
the precision ceiling, which no input is known to reach.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from fractions import Fraction
from functools import lru_cache
from typing import Generic, NamedTuple, TypeVar, cast

from flint import acb, arb, ctx, fmpq, fmpz

from . import corebridge, progress
from . import result as _result_module
from .arguments import check_digits, parse_number, parse_real
from .coefficients import log2_truncation_bound, product_range
from .engine import log_factorial, log_factorial_complex
from .precision import UndecidedError, next_bits, plan
from .precision import target_bits as _target
from .result import ComplexSpougeResult, SpougeResult, int_text
from .result import bound_text as _bound_text
from .rounding import MODES, round_ball, round_from_log, round_rational

bound_text = lru_cache(maxsize=1024)(_bound_text)


@functools.cache
def _bound_for(a: int) -> str:
    """The truncation-bound text for Spouge's a (the C passes return a, not the bound)."""
    return bound_text(log2_truncation_bound(a))


#: rounding.MODES by name, as the C passes number them.
_MODE_INDEX = {name: i for i, name in enumerate(MODES)}

#: The whole first pass of a short real gamma/factorial in C (numerics.corebridge), or None.
_c_first = corebridge.gamma_first if corebridge.available else None


class PoleError(ValueError):
    """x is a pole of the function (gamma at 0, -1, -2, ...; factorial at -1, -2, ...)."""


def _exact_text(x: object) -> str:
    """The input as the caller wrote it (ints and Fractions of any length: GMP, not str())."""
    if isinstance(x, str):
        return x.strip()
    if isinstance(x, float | complex):
        return repr(x)
    if isinstance(x, int):
        return int_text(int(x))
    if isinstance(x, Fraction):
        return f"{int_text(x.numerator)}/{int_text(x.denominator)}" if x.denominator != 1 else int_text(x.numerator)
    return str(x)


def _short(text: str, keep: int = 60) -> str:
    """An input as quoted in an error message: at most `keep` characters."""
    return text if len(text) <= keep else f"{text[:keep]}...({len(text)} characters)"


def _is_integer(x: Fraction) -> bool:
    return x.denominator == 1


def _ln_abs_gamma(x: Fraction, bits: int, extra: int) -> tuple[arb, int, int, float]:
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
    """m! exactly (settles ties and exact values only)."""
    return int(product_range(2, m + 1))


def _may_be_boundary(m: int, digits: int, radix: int = 10) -> bool:
    """Could m! sit on a rounding boundary (a grid point, a tie or a power) at `digits` radix-R digits?

    That needs m! / R^t (t = the trailing zeros of m! in radix R) to have at
    most digits+1 digits.  m! >= (m/e)^m, so if m log_R(m/e) - t > digits + 1
    it cannot.  (Legendre: t = sum m // 5^i in radix 10, m - popcount(m) in radix 2.)
    """
    if m <= 1:
        return True
    if m > 10**7:  # at least 6e7 significant digits: more than any allowed digits+1
        return False
    if radix == 2:
        trailing = m - bin(m).count("1")
    else:
        trailing, power = 0, 5
        while power <= m:
            trailing += m // power
            power *= 5
    return m * math.log(m / math.e, radix) - trailing <= digits + 2


def _digits_for_plan(digits: int, radix: int) -> int:
    """Decimal digits that cover `digits` radix-R digits (the plan counts in decimal digits)."""
    return digits if radix == 10 else max(1, math.ceil(digits * math.log10(2)) + 1)


def _undecided(name: str, text: str, digits: int, bits: int) -> UndecidedError:
    return UndecidedError(
        f"{name}({_short(text)}) to {digits} digits: the value lies within 2^-{bits} "
        f"of a rounding boundary, past the precision spouge allows for this input"
    )


def _real_result(name: str, x: Fraction, text: str, digits: int, factorial_of: int | None,
                 mode: str = "nearest", radix: int = 10, min_exponent: int | None = None,
                 argument: object = None) -> SpougeResult:
    """Γ(x) correctly rounded; factorial_of is m when Γ(x) = m! exactly (integer x)."""
    p = plan("gamma", (x,), _digits_for_plan(digits, radix))
    bits, extra = p.bits, p.extra
    # m when Γ(x) = m! may sit on a rounding boundary: settled by the exact product
    settle = factorial_of if factorial_of is not None and _may_be_boundary(factorial_of, digits, radix) else None
    in_c = min_exponent is None and settle is None  # the C pass: no subnormal grid, no exact settling
    passes = 0
    while True:
        passes += 1
        progress.report("retry", passes, 0)  # pass n of the Ziv loop (numerics.progress)
        exact = False
        if in_c and corebridge.handles(x.denominator, bits):  # one pass in C: the same ball and rules
            passed = corebridge.gamma_pass(x.numerator, x.denominator, bits, extra, digits, _MODE_INDEX[mode], radix)
            decided = None
            if passed is not None:
                sign, mantissa, exponent, a = passed
                decided, bound = (mantissa, exponent), _bound_for(a)
        else:
            value, sign, a, log2_bound = _ln_abs_gamma(x, bits, extra)
            with ctx.workprec(bits + extra + 16):
                decided = round_from_log(value, digits, mode, sign, radix, min_exponent)
            bound = bound_text(log2_bound)
            if settle is not None:  # few digits: settle exactly
                exact_value = _exact_factorial(settle)
                _, decided = round_rational(Fraction(exact_value), digits, mode, radix, min_exponent)
                n, e = decided
                exact = Fraction(n) * Fraction(radix) ** (e - digits + 1) == exact_value
        if decided is not None:
            mantissa, exponent = decided
            return SpougeResult(name, text, digits, sign * mantissa, exponent, a, bound, bits + extra,
                                radix, mode, exact, argument if argument is not None else x)
        following = next_bits(bits, None, p.max_bits, p.likely_bits)
        if following is None:
            raise _undecided(name, text, digits, bits)
        bits = following


def _complex_from_real(result: SpougeResult, digits: int) -> ComplexSpougeResult:
    """A real result to digits+1 digits as a complex one: its units sit on the quantum floor(log10|v|) - digits."""
    return ComplexSpougeResult(
        result.function, result.x, digits, result.mantissa, 0, result.exponent - digits, result.a,
        result.error_bound, result.precision,
    )


def _complex_result(name: str, z: tuple[Fraction, Fraction], text: str, digits: int) -> ComplexSpougeResult:
    re, im = z
    if im == 0:
        if _is_integer(re) and re <= 0:
            raise PoleError(f"{name}({_short(text)}): Γ has a pole at x = {_short(int_text(int(re)))}")
        real = _real_result(name, re, text, digits + 1, int(re) - 1 if _is_integer(re) else None)
        return _complex_from_real(real, digits)
    p = plan("gamma", (re, im), digits)
    extra = p.extra
    bits = p.bits + 4
    q = math.lcm(re.denominator, im.denominator)
    pr, pi = re.numerator * (q // re.denominator), im.numerator * (q // im.denominator)
    passes = 0
    while True:
        passes += 1
        progress.report("retry", passes, 0)
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
            # Any decade within the ball serves: the quantum only has to be within
            # one decade of |v| for the documented accuracy.  Take the lower one.
            exp10 = (log_v.real / ln10).lower().floor().unique_fmpz() if log_v.real.is_finite() else None
            if exp10 is not None:
                quantum = int(exp10) - digits
                scaled = (log_v - fmpz(quantum) * ln10).exp()
                if flip:
                    scaled = -scaled
                limit = arb(0.05)
                if scaled.real.rad() < limit and scaled.imag.rad() < limit:
                    units = [(part.mid() + arb(0.5)).floor().unique_fmpz() for part in (scaled.real, scaled.imag)]
                    if units[0] is not None and units[1] is not None:  # else: a wider ball; the next pass
                        return ComplexSpougeResult(name, text, digits, int(units[0]), int(units[1]), quantum, lf.a,
                                                   bound_text(lf.log2_bound), work)
        following = next_bits(bits, None, p.max_bits, p.likely_bits)
        if following is None:
            raise _undecided(name, text, digits, bits)
        bits = following


#: What a real function returns: a SpougeResult (lgamma(with_sign=True): with the sign of Γ).
Value = TypeVar("Value")


class Enclosure(NamedTuple, Generic[Value]):
    """rounding="enclosure": the value rounded down and up, so lower <= value <= upper (equal when exact)."""

    lower: Value
    upper: Value


def enclosing(fn: Callable[..., Value]) -> Callable[..., Value | Enclosure[Value]]:
    """Give a real function the "enclosure" mode: both directed roundings, as an ``Enclosure``."""

    @functools.wraps(fn)
    def wrapper(*args: object, rounding: str = "nearest", **keywords: object) -> Value | Enclosure[Value]:
        if rounding == "enclosure":
            return Enclosure(fn(*args, rounding="down", **keywords), fn(*args, rounding="up", **keywords))
        return fn(*args, rounding=rounding, **keywords)

    return wrapper


#: gamma or factorial as _first_pass_in_c wraps it: (x, digits, *, rounding, bits) -> its outcome.
_Outcome = SpougeResult | ComplexSpougeResult | Enclosure[SpougeResult | ComplexSpougeResult]
_Full = Callable[..., _Outcome]


#: int_text, for an x the C first pass has decided: it decides only a str or an int, so past the str test x
#: is an int.  (Cast once here, not per call: this is the hot path.)
_int_text_of_c_input = cast("Callable[[object], str]", int_text)


def _first_pass_in_c(kind: int, name: str) -> Callable[[_Full], _Full]:
    """The outermost layer of gamma (kind 0) and factorial (kind 1): a short real x in nearest mode goes
    straight to the whole first pass in C (``_c_first``, read at call time) and its result; anything
    else, or an undecided pass, takes the full path.  No extra Python frame on the hot path."""

    def wrap(full: _Full) -> _Full:
        @functools.wraps(full)
        def first_in_c(x: object, digits: int = 16, *, rounding: str = "nearest",
                       bits: int | None = None) -> _Outcome:
            if _c_first is not None and rounding == "nearest" and bits is None:
                first = _c_first(x, digits, kind)
                if first is not None:
                    return SpougeResult(name, x if type(x) is str else _int_text_of_c_input(x), digits,
                                        first[0], first[1], first[2], _bound_for(first[2]), first[3], 10, "nearest",
                                        False, x)
            return full(x, digits, rounding=rounding, bits=bits)

        return first_in_c

    return wrap


def _precision_args(digits: object, rounding: str, bits: object) -> tuple[int, str, int]:
    """(digits in the result's radix, mode, radix) from the public keywords."""
    if rounding not in MODES:
        raise ValueError(f"rounding must be one of {', '.join(MODES)} or enclosure, not {rounding!r}")
    if bits is not None:
        if isinstance(bits, bool) or not isinstance(bits, int):
            raise TypeError(f"bits must be an int, not {type(bits).__name__}")
        if not 1 <= bits <= MAX_BITS:
            raise ValueError(f"bits must be 1..{MAX_BITS}, not {bits}")
        return bits, rounding, 2
    return check_digits(digits), rounding, 10


#: Largest bits= (as many as MAX_DIGITS decimal digits).
MAX_BITS = 332_193


@_first_pass_in_c(0, "gamma")
@enclosing
def gamma(x: object, digits: int = 16, *, rounding: str = "nearest",
          bits: int | None = None) -> SpougeResult | ComplexSpougeResult:
    """Γ(x) to `digits` significant digits, correctly rounded for real x.

    x: int, exact decimal str ("0.1", "-2.5", "1e100"), Fraction, Decimal, float
    (its exact binary value), complex or complex str ("3+4j"), and numbers of
    other libraries (numpy, gmpy2, python-flint, mpmath) by their exact value.
    rounding: "nearest" (ties to even), "down", "up", "zero" or "away" (real x).
    bits: round to that many bits in binary instead of `digits` decimal digits.
    Raises PoleError at 0, -1, -2, ...; ValueError/TypeError for bad input.
    """
    digits, mode, radix = _precision_args(digits, rounding, bits)
    value = parse_number(x)
    text = _exact_text(x)
    if isinstance(value, tuple):
        _complex_only_nearest(mode, radix)
        return _complex_result("gamma", value, text, digits)
    if _is_integer(value) and value <= 0:
        raise PoleError(f"gamma({_short(text)}): Γ has a pole at x = {_short(int_text(int(value)))}")
    return _real_result("gamma", value, text, digits, int(value) - 1 if _is_integer(value) else None, mode, radix)


@_first_pass_in_c(1, "factorial")
@enclosing
def factorial(x: object, digits: int = 16, *, rounding: str = "nearest",
              bits: int | None = None) -> SpougeResult | ComplexSpougeResult:
    """x! = Γ(x+1) to `digits` significant digits (see gamma).  Poles at -1, -2, ..."""
    digits, mode, radix = _precision_args(digits, rounding, bits)
    value = parse_number(x)
    text = _exact_text(x)
    if isinstance(value, tuple):
        _complex_only_nearest(mode, radix)
        if value[1] == 0 and _is_integer(value[0]) and value[0] < 0:
            pole = _short(int_text(int(value[0])))
            raise PoleError(f"factorial({_short(text)}): x! = Γ(x+1) has a pole at x = {pole}")
        return _complex_result("factorial", (value[0] + 1, value[1]), text, digits)
    if _is_integer(value) and value < 0:
        raise PoleError(f"factorial({_short(text)}): x! = Γ(x+1) has a pole at x = {_short(int_text(int(value)))}")
    return _real_result("factorial", value + 1, text, digits, int(value) if _is_integer(value) else None, mode, radix,
                        argument=value + 1)


def _complex_only_nearest(mode: str, radix: int) -> None:
    if mode != "nearest" or radix != 10:
        raise ValueError("rounding modes and bits= are for real x; complex results have a relative accuracy instead")


@enclosing
def lgamma(x: object, digits: int = 16, *, rounding: str = "nearest", bits: int | None = None,
           with_sign: bool = False) -> SpougeResult | tuple[SpougeResult, int]:
    """ln|Γ(x)| for real x, correctly rounded to `digits` significant digits.

    with_sign=True returns (result, sign of Γ(x)) as math.lgamma users need for negative x.
    Raises PoleError at 0, -1, -2, ...; TypeError for complex x.
    """
    digits, mode, radix = _precision_args(digits, rounding, bits)
    value = parse_real(x)
    text = _exact_text(x)
    if _is_integer(value) and value <= 0:
        raise PoleError(f"lgamma({_short(text)}): Γ has a pole at x = {_short(int_text(int(value)))}")
    result = _lgamma_result(value, text, digits, mode, radix)
    return (result, gamma_sign(value)) if with_sign else result


def gamma_sign(x: object) -> int:
    """The sign of Γ(x) for real x: +1 or -1 (exactly, from x alone; PoleError at the poles)."""
    value = parse_real(x)
    if value > 0:
        return 1
    if _is_integer(value):
        raise PoleError(f"gamma_sign({_short(_exact_text(x))}): Γ has a pole at x = {_short(int_text(int(value)))}")
    # Γ(x) < 0 exactly on (-1, 0), (-3, -2), ...: where floor(x) is odd
    return -1 if (value.numerator // value.denominator) % 2 else 1


def _lgamma_result(value: Fraction, text: str, digits: int, mode: str, radix: int) -> SpougeResult:
    p = plan("lgamma", (value,), _digits_for_plan(digits, radix))
    bits, extra = p.bits, p.extra
    target = _target(_digits_for_plan(digits, radix))  # relative accuracy wanted of ln|Γ| itself
    passes = 0
    while True:
        passes += 1
        progress.report("retry", passes, 0)
        if value not in (1, 2) and corebridge.handles(value.denominator, bits):  # one pass in C
            passed = corebridge.lgamma_pass(value.numerator, value.denominator, bits, extra, digits, _MODE_INDEX[mode],
                                            radix)
            if isinstance(passed, tuple):
                sign, mantissa, exponent, a = passed
                return SpougeResult("lgamma", text, digits, sign * mantissa, exponent, a, _bound_for(a), bits + extra,
                                    radix, mode, False, value)
            following = next_bits(bits, None if passed is None else max(0, target - passed), p.max_bits, p.likely_bits)
            if following is None:
                raise _undecided("lgamma", text, digits, bits)
            bits = following
            continue
        ln_abs, _, a, log2_bound = _ln_abs_gamma(value, bits, extra)
        if value in (1, 2):  # Γ = 1 exactly: ln|Γ| = 0 (the ball contains 0 and cannot decide)
            return SpougeResult("lgamma", text, digits, 0, 0, a, bound_text(log2_bound), bits + extra,
                                radix, mode, True, value)
        with ctx.workprec(bits + extra + 16):
            decided = round_ball(ln_abs, digits, mode, radix)
            deficit = None
            if decided is None and not ln_abs.contains(0):
                deficit = max(0, target - ln_abs.rel_accuracy_bits())
        if decided is not None:
            sign, (mantissa, exponent) = decided
            return SpougeResult("lgamma", text, digits, sign * mantissa, exponent, a, bound_text(log2_bound),
                                bits + extra, radix, mode, False, value)
        following = next_bits(bits, deficit, p.max_bits, p.likely_bits)
        if following is None:
            raise _undecided("lgamma", text, digits, bits)
        bits = following


def _float_of(result: SpougeResult) -> float:
    """The double nearest to the true value of result's function at its argument (result.__float__)."""
    x = result._argument
    if not isinstance(x, Fraction):  # built by the C first pass: the caller's str or int
        x = parse_real(x) + (1 if result.function == "factorial" else 0)
    if result.function == "lgamma":
        again = _lgamma_result(x, result.x, 53, "nearest", 2)
    else:
        m = int(x) - 1 if _is_integer(x) else None
        again = _real_result(result.function, x, result.x, 53, m, "nearest", 2, min_exponent=-1074)
        if again.mantissa == 0:  # below the smallest subnormal: a zero with Γ's sign
            return math.copysign(0.0, gamma_sign(x))
    return _float_from_binary(again)


def _float_from_binary(result: SpougeResult) -> float:
    exp2 = result.exponent - result.digits + 1
    if result.exponent > 1023:
        raise OverflowError(f"{result.function}({_short(result.x)}) does not fit in a float (beyond 1.8e308)")
    return math.ldexp(float(result.mantissa), exp2)


def fgamma(x: float) -> float:
    """Γ(x) for a float, correctly rounded to the nearest double (math.gamma's contract, every result exact).

    ValueError at the poles (0, -1, -2, ...) and for nan, OverflowError when Γ(x) exceeds the largest double;
    results below the smallest subnormal round to ±0.0.
    """
    if not isinstance(x, float):
        x = float(x)
    if not math.isfinite(x):
        if x == math.inf:
            return math.inf
        raise ValueError("math domain error: fgamma(nan or -inf)")
    if x == int(x) and x <= 0:
        raise ValueError(f"math domain error: fgamma({x!r}) is a pole")
    value = Fraction(x)
    m = int(value) - 1 if _is_integer(value) else None
    result = _real_result("gamma", value, repr(x), 53, m, "nearest", 2, min_exponent=-1074)
    if result.mantissa == 0:
        return math.copysign(0.0, gamma_sign(value))
    return _float_from_binary(result)


_result_module._FLOAT_OF = _float_of
