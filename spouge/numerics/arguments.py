"""Arguments of the public functions: x as an exact number, digits as a checked int.

Owns: turning every accepted spelling of x (int, exact decimal str, Fraction,
Decimal, float, complex, complex str) into an exact value, and checking digits.

Invariants:
- A real x becomes a ``Fraction`` holding exactly the value the caller meant:
  "0.1" is 1/10, a float is its exact binary value.  A complex x becomes a
  ``(Fraction, Fraction)`` pair.  Nothing here rounds.
- In strings, U+2212 MINUS SIGN (as typeset: "−2.5") is a minus sign like
  "-", wherever a sign may stand (x, and both parts of a complex x).
- Every rejection is a ``TypeError`` (wrong kind of object) or a ``ValueError``
  (right kind, bad value) whose message names the argument and says why.
- Decimal exponents are capped (``MAX_DECIMAL_EXPONENT``) so that no input can
  make us build a gigantic integer; that cap is far above what the engine can
  finish anyway (|x| up to 10^1000 is the documented range).
- An exact x carries at most ``MAX_INPUT_DIGITS`` significant decimal digits
  (numerator and denominator of a Fraction each at most that many).  Digit
  strings are converted by GMP, never by ``int(str)``, so Python's global
  4300-digit limit (``sys.set_int_max_str_digits``) is neither hit nor touched.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal
from fractions import Fraction
from numbers import Rational

import gmpy2

#: Largest number of significant digits a caller may ask for.  Spouge's sum
#: costs O(digits) terms at O(digits) precision; 100000 digits takes minutes.
MAX_DIGITS = 100_000

#: Largest |decimal exponent| accepted in a string like "1e5000".  10^10000 is
#: ten times past the documented range of 10^1000; beyond it the working
#: precision for the result's exponent alone would exceed 33000 bits.
MAX_DECIMAL_EXPONENT = 10_000

#: Most significant decimal digits an exact x may carry (a string's significand,
#: a Decimal's digits, an int's or a Fraction's numerator and denominator).
#: Longer inputs cost no more to evaluate (the engine rounds x to its working
#: precision with a proven bound), but parsing and exact reductions are O(n^2).
MAX_INPUT_DIGITS = 100_000

#: Longest string accepted for x: the digits, plus room for a sign, a point,
#: leading zeros and an exponent.  (The server caps a whole line at 64 KiB.)
MAX_ARGUMENT_LENGTH = MAX_INPUT_DIGITS + 10_000

#: U+2212 MINUS SIGN, what typesetting (and the page's hint) writes for "-".
UNICODE_MINUS = "\u2212"

_MAX_INPUT_BITS = math.ceil(MAX_INPUT_DIGITS * math.log2(10)) + 1
_MAX_MAGNITUDE_BITS = math.ceil((MAX_DECIMAL_EXPONENT + 1) * math.log2(10))

_DECIMAL = r"[0-9]+(?:\.[0-9]*)?(?:[eE][+-]?[0-9]+)?|\.[0-9]+(?:[eE][+-]?[0-9]+)?"
_REAL_RE = re.compile(rf"([+-]?)({_DECIMAL})")
_IMAG_ONLY_RE = re.compile(rf"([+-]?)({_DECIMAL})?[jJ]")
_REAL_IMAG_RE = re.compile(rf"([+-]?)({_DECIMAL})([+-])({_DECIMAL})?[jJ]")


def _quote(x: object, keep: int = 60) -> str:
    """repr(x) for an error message, at most ~`keep` characters (inputs may be 100000 digits long)."""
    text = repr(x) if not isinstance(x, int | Fraction) else type(x).__name__
    return text if len(text) <= keep else f"{text[:keep]}...({len(text)} characters)"


def _decimal_text_to_fraction(sign: str, text: str, original: str) -> Fraction:
    mantissa, _, exponent = text.lower().partition("e")
    whole, _, frac = mantissa.partition(".")
    significand = (whole + frac).lstrip("0")
    exp10 = (int(exponent) if exponent else 0) - len(frac)
    if significand:
        # floor(log10 |x|) exactly, from the digit count: no big powers built first
        magnitude = len(significand) - 1 + exp10
        if not -MAX_DECIMAL_EXPONENT <= magnitude <= MAX_DECIMAL_EXPONENT:
            raise ValueError(
                f"x = {_quote(original)} is out of range "
                f"(10^-{MAX_DECIMAL_EXPONENT} <= |x| < 10^{MAX_DECIMAL_EXPONENT + 1})"
            )
    if not significand:
        return Fraction(0)  # "0e999999999": never build 10^exponent for a zero
    if len(significand) > MAX_INPUT_DIGITS:
        raise ValueError(
            f"x has {len(significand)} significant digits; spouge accepts at most {MAX_INPUT_DIGITS} (MAX_INPUT_DIGITS)"
        )
    digits = int(gmpy2.mpz(significand))  # GMP: no 4300-digit str limit, O(n log n)
    if exp10 >= 0:
        value = Fraction(digits * 10**exp10)
    else:
        value = Fraction(digits, 10**-exp10)
    return -value if sign == "-" else value


def _check_str(x: str) -> str:
    if len(x) > MAX_ARGUMENT_LENGTH:
        raise ValueError(f"x is too long ({len(x)} characters; at most {MAX_ARGUMENT_LENGTH})")
    text = x.strip().replace(UNICODE_MINUS, "-")
    lowered = text.lower().lstrip("+-")
    if lowered in ("nan", "inf", "infinity", "snan"):
        raise ValueError(f"x = {_quote(x)} is not a finite number")
    return text


def _parse_real_text(text: str, original: str, name: str) -> Fraction:
    match = _REAL_RE.fullmatch(text)
    if not match:
        raise ValueError(f"{name} = {_quote(original)} is not a decimal number (expected e.g. 100, -2.5, 0.1, 1e100)")
    return _decimal_text_to_fraction(match.group(1), match.group(2), original)


def _check_exact(value: Fraction, name: str) -> Fraction:
    """The size limits for an exact rational given as a number (not text): digits and magnitude."""
    p, q = value.numerator, value.denominator
    if max(abs(p).bit_length(), q.bit_length()) > _MAX_INPUT_BITS:
        raise ValueError(
            f"{name} has more than {MAX_INPUT_DIGITS} significant digits (numerator or denominator); "
            f"spouge accepts at most {MAX_INPUT_DIGITS} (MAX_INPUT_DIGITS)"
        )
    log2 = abs(p).bit_length() - q.bit_length()  # within 1 of log2|x|
    if p and (
        not -_MAX_MAGNITUDE_BITS + 4 <= log2 <= _MAX_MAGNITUDE_BITS - 4  # near the edges: decide exactly
        and (abs(value) >= 10 ** (MAX_DECIMAL_EXPONENT + 1) or abs(value) < Fraction(1, 10**MAX_DECIMAL_EXPONENT))
    ):
        raise ValueError(
            f"{name} is out of range (10^-{MAX_DECIMAL_EXPONENT} <= |{name}| < 10^{MAX_DECIMAL_EXPONENT + 1})"
        )
    return value


def _rational_parts(x: object) -> tuple[int, int] | None:
    """(numerator, denominator) of an exact rational from any library, or None.

    Covers int subclasses and numpy integers (``__index__``), ``numbers.Rational``
    (Fraction, gmpy2 mpq/mpz, python-flint fmpq/fmpz register or quack alike).
    """
    if isinstance(x, Rational):
        return int(x.numerator), int(x.denominator)
    index = getattr(type(x), "__index__", None)
    if index is not None:
        return int(index(x)), 1
    mpf = getattr(x, "_mpf_", None)  # mpmath: (sign, mantissa, exponent, bits), exactly
    if isinstance(mpf, tuple) and len(mpf) == 4:
        sign, man, exp, _ = mpf
        if not man and exp:  # mpmath's nan and infinities have a zero mantissa and a nonzero exponent
            raise ValueError("x is not a finite number (an mpmath nan or infinity)")
        value = Fraction(-int(man) if sign else int(man)) * Fraction(2) ** int(exp)
        return value.numerator, value.denominator
    ratio = getattr(x, "as_integer_ratio", None)  # numpy floats, gmpy2 mpfr
    if callable(ratio):
        try:
            p, q = ratio()
        except (OverflowError, ValueError):
            raise ValueError(f"x = {_quote(x)} is not a finite number") from None
        return int(p), int(q)
    num, den = getattr(x, "numerator", None), getattr(x, "denominator", None)
    if num is not None and den is not None and not callable(num):
        try:
            return int(num), int(den)
        except (TypeError, ValueError):
            return None
    return None


def parse_real(x: object, name: str = "x") -> Fraction:
    """Return the exact value of a real argument, or raise TypeError/ValueError."""
    if isinstance(x, bool):
        raise TypeError(f"{name} must be a number or a numeric string, not bool")
    if isinstance(x, int):
        return _check_exact(Fraction(x), name)
    if isinstance(x, Fraction):
        if type(x.numerator) is not int or type(x.denominator) is not int:  # Fraction(mpz, mpz) keeps the mpz
            x = Fraction(int(x.numerator), int(x.denominator))
        return _check_exact(x, name)
    if isinstance(x, float):
        if not math.isfinite(x):
            raise ValueError(f"{name} = {_quote(x)} is not a finite number")
        return Fraction(x)
    if isinstance(x, Decimal):
        if not x.is_finite():
            raise ValueError(f"{name} = {_quote(x)} is not a finite number")
        if x and abs(x.adjusted()) > MAX_DECIMAL_EXPONENT:
            raise ValueError(f"{name} = {_quote(x)} is out of range (|exponent| <= {MAX_DECIMAL_EXPONENT})")
        sign, digit_tuple, exponent = x.as_tuple()
        if len(digit_tuple) > MAX_INPUT_DIGITS:
            raise ValueError(f"{name} has {len(digit_tuple)} significant digits; "
                             f"spouge accepts at most {MAX_INPUT_DIGITS}")
        return _decimal_text_to_fraction("-" if sign else "", "".join(map(str, digit_tuple)) + f"e{exponent}", name)
    if isinstance(x, str):
        return _parse_real_text(_check_str(x), x, name)
    if isinstance(x, complex):
        raise TypeError(f"{name} must be real here, not complex")
    parts = _rational_parts(x)
    if parts is not None and parts[1] > 0:
        return _check_exact(Fraction(*parts), name)
    raise TypeError(f"{name} must be an int, float, str, Fraction or Decimal, not {type(x).__name__}")


def parse_number(x: object) -> Fraction | tuple[Fraction, Fraction]:
    """Like parse_real, but also accepts complex values and strings like "3+4j".

    A complex value with a zero imaginary part stays complex (the caller asked
    for a complex result); its real part is checked like any real argument.
    """
    mpc = getattr(x, "_mpc_", None)  # mpmath complex: both parts exactly
    if isinstance(mpc, tuple) and len(mpc) == 2:
        import types

        parts = [parse_real(types.SimpleNamespace(_mpf_=part)) for part in mpc]
        return (parts[0], parts[1])
    if isinstance(x, complex):
        if not (math.isfinite(x.real) and math.isfinite(x.imag)):
            raise ValueError(f"x = {_quote(x)} is not a finite number")
        return (_check_exact(Fraction(x.real), "x"), _check_exact(Fraction(x.imag), "x"))
    if isinstance(x, str):
        text = _check_str(x)
        if text[-1:] not in ("j", "J"):
            return _parse_real_text(text, x, "x")
        match = _REAL_IMAG_RE.fullmatch(text)
        if match:
            re_part = _decimal_text_to_fraction(match.group(1), match.group(2), x)
            im_part = _decimal_text_to_fraction(match.group(3), match.group(4) or "1", x)
            return (re_part, im_part)
        match = _IMAG_ONLY_RE.fullmatch(text)
        if match:
            return (Fraction(0), _decimal_text_to_fraction(match.group(1), match.group(2) or "1", x))
        raise ValueError(f"x = {_quote(x)} is not a complex number (expected e.g. 3+4j, -0.5-2j, 4j)")
    return parse_real(x)


def check_digits(digits: object) -> int:
    """Return digits as an int in [1, MAX_DIGITS], or raise TypeError/ValueError."""
    if isinstance(digits, bool) or not isinstance(digits, int):
        if isinstance(digits, str) and digits.strip().isdigit():
            digits = int(digits)
        else:
            raise TypeError(f"digits must be an int, not {type(digits).__name__}")
    if digits < 1:
        raise ValueError(f"digits must be at least 1, not {digits}")
    if digits > MAX_DIGITS:
        raise ValueError(f"digits must be at most {MAX_DIGITS}, not {digits}")
    return digits
