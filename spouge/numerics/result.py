"""The result types: a correctly rounded decimal and what it took to get it.

Owns: how a result prints (scientific notation, exactly `digits` significant
digits, trailing zeros kept: "1.20e+2"), and how it converts (float, Decimal,
JSON-ready dict).  Values are immutable; the decimal exponent is an unbounded
int, so factorial(10^100) is representable although no float or Decimal is.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

import gmpy2

if TYPE_CHECKING:
    from fractions import Fraction  # imported where used at run time (start-up time)


def int_text(n: int) -> str:
    """Decimal text of any int (Python refuses > 4300 digits by default; GMP does not)."""
    text: str = gmpy2.mpz(n).digits(10)  # gmpy2 ships no types
    return text


def scientific(mantissa: int, exponent: int) -> str:
    """'-1.20e+2' from mantissa -120 and exponent 2 (the mantissa's digits are all kept)."""
    digits = int_text(abs(mantissa))
    sign = "-" if mantissa < 0 else ""
    body = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    return f"{sign}{body}e{'+' if exponent >= 0 else '-'}{int_text(abs(exponent))}"


def bound_text(log2_bound: float) -> str:
    """A decimal upper bound (2 significant digits, rounded up) of 2^log2_bound."""
    log10 = log2_bound * math.log10(2)
    exponent = math.floor(log10)
    lead = math.ceil(10 ** (log10 - exponent + 1) * (1 + 1e-12))
    if lead >= 100:
        lead, exponent = 10, exponent + 1
    return scientific(lead, exponent)


def summary(result: SpougeResult | ComplexSpougeResult) -> dict[str, str | int]:
    """What a result says to the outside world (CLI --json, the server's replies)."""
    return {
        "function": result.function,
        "x": result.x,
        "digits": result.digits,
        "value": str(result),
        "a": result.a,
        "error_bound": result.error_bound,
    }


class SpougeResult:
    """A real value correctly rounded to `digits` significant digits (radix 10) or bits (radix 2).

    value = mantissa * radix^(exponent - digits + 1); |mantissa| has exactly
    `digits` digits (or is 0 for an exact zero, or fewer for a subnormal
    double).  The value's own error is at most half a unit in the last place
    (rounding "nearest") or less than one unit in the direction of the mode.
    ``a`` is Spouge's parameter used on the final pass; ``truncation_bound``
    (also ``error_bound``, its old name) is Spouge's relative truncation bound
    a^(-1/2)(2 pi)^(-a-1/2) for that a, a detail of the method, as text since
    it can be below 1e-100000; ``precision`` the working precision in bits;
    ``exact`` whether the value is exactly the function's value.

    A ``__slots__`` class, not a frozen dataclass: building one is the last
    step of every call, and a frozen dataclass's __init__ costs ~6x as much.
    Treat it as immutable.
    """

    __slots__ = ("_argument", "a", "digits", "error_bound", "exact", "exponent", "function", "mantissa", "precision",
                 "radix", "rounding", "x")

    def __init__(self, function: str, x: str, digits: int, mantissa: int, exponent: int, a: int, error_bound: str,
                 precision: int, radix: int = 10, rounding: str = "nearest", exact: bool = False,
                 argument: object = None) -> None:
        self.function, self.x, self.digits, self.mantissa, self.exponent = function, x, digits, mantissa, exponent
        self.a, self.error_bound, self.precision = a, error_bound, precision
        self.radix, self.rounding, self.exact, self._argument = radix, rounding, exact, argument

    @property
    def truncation_bound(self) -> str:
        return self.error_bound

    def __eq__(self, other: object) -> bool:
        try:
            theirs = other if isinstance(other, SpougeResult) else _exact(other)
        except TypeError:
            return NotImplemented
        return _compare(self, theirs) == 0

    def __hash__(self) -> int:
        try:
            return hash(self.as_fraction())  # equal to the hash of an equal Fraction, int or float
        except OverflowError:
            return hash((self.mantissa, self.exponent, self.digits, self.radix))

    def __lt__(self, other: object) -> bool:
        theirs = _comparable(other)
        return NotImplemented if theirs is None else _compare(self, theirs) < 0

    def __le__(self, other: object) -> bool:
        theirs = _comparable(other)
        return NotImplemented if theirs is None else _compare(self, theirs) <= 0

    def __gt__(self, other: object) -> bool:
        theirs = _comparable(other)
        return NotImplemented if theirs is None else _compare(self, theirs) > 0

    def __ge__(self, other: object) -> bool:
        theirs = _comparable(other)
        return NotImplemented if theirs is None else _compare(self, theirs) >= 0

    def __str__(self) -> str:
        if self.radix == 2:
            return binary_text(self.mantissa, self.exponent - self.digits + 1)
        if self.mantissa == 0:
            return scientific(10 ** (self.digits - 1), 0).replace("1", "0", 1)
        return scientific(self.mantissa, self.exponent)

    def __repr__(self) -> str:
        return f"SpougeResult({self.function}({self.x}) = {self})"

    def as_fraction(self) -> Fraction:
        """The value exactly, as a Fraction (refused past 10^±100000: it would not fit in memory)."""
        from fractions import Fraction

        shift = self.exponent - self.digits + 1
        if abs(shift) > 400_000:
            raise OverflowError(f"{self} is too large or small for an exact fraction")
        return Fraction(self.mantissa) * Fraction(self.radix) ** shift

    def as_integer_ratio(self) -> tuple[int, int]:
        f = self.as_fraction()
        return f.numerator, f.denominator

    def __int__(self) -> int:
        """The value truncated toward zero (exact when the value is an integer)."""
        return int(self.as_fraction())

    def to_decimal(self) -> Decimal:
        """The exact decimal value.  Raises OverflowError if the exponent does not fit a Decimal."""
        if self.radix == 2:
            from decimal import localcontext

            p, q = self.as_integer_ratio()
            with localcontext() as c:
                c.prec = max(28, 2 * self.digits)
                return Decimal(p) / Decimal(q)
        if abs(self.exponent) > 999_999_999_999_999_999 - self.digits:
            raise OverflowError("exponent too large for decimal.Decimal")
        sign = 1 if self.mantissa < 0 else 0
        return Decimal((sign, tuple(int(c) for c in int_text(abs(self.mantissa))), self.exponent - self.digits + 1))

    def __format__(self, spec: str) -> str:
        if not spec:
            return str(self)
        return format(self.to_decimal(), spec)

    def __float__(self) -> float:
        """The double nearest to the function's true value (not to this rounded value: no double rounding).

        Raises OverflowError when it is beyond the largest double.
        """
        if self.radix == 2 and self.digits <= 53 and self.rounding == "nearest" and self.exponent >= -1022:
            return _float_of(self.mantissa, self.exponent - self.digits + 1)
        if self.mantissa == 0:
            return 0.0
        if self.exact and self.radix == 10:
            return _float_of_fraction(self.as_fraction())
        if _FLOAT_OF is None or self._argument is None:  # pragma: no cover - results are built by the functions
            return float(self.to_decimal())
        return _FLOAT_OF(self)

    @property
    def _mpf_(self) -> tuple[int, int, int, int]:
        """mpmath's hook: the value rounded to mpmath's working precision."""
        import mpmath

        p, q = self.as_integer_ratio()
        value: tuple[int, int, int, int] = mpmath.libmp.from_rational(p, q, mpmath.mp.prec, mpmath.libmp.round_nearest)
        return value  # mpmath's raw mpf: (sign, mantissa, exponent, bit count); mpmath ships no types

    def __mpfr__(self) -> gmpy2.mpfr:
        """gmpy2's hook: the value rounded to gmpy2's context precision."""
        p, q = self.as_integer_ratio()
        return gmpy2.mpfr(gmpy2.mpq(p, q))

    def as_dict(self) -> dict[str, str | int]:
        return summary(self)


def _sign(n: int | Fraction) -> int:
    return (n > 0) - (n < 0)


def _compare(ours: SpougeResult, theirs: SpougeResult | Fraction) -> int:
    """-1, 0 or 1 as ours <, ==, > theirs (a SpougeResult or a Fraction), exactly, whatever the exponents."""
    from fractions import Fraction

    if (isinstance(theirs, SpougeResult) and theirs.radix != ours.radix
            and max(abs(ours.exponent), abs(theirs.exponent)) > 400_000):
        theirs = theirs.as_fraction()  # mixed radix at huge exponents: rare; as_fraction refuses what does not fit
    sign = _sign(ours.mantissa)
    if isinstance(theirs, SpougeResult):
        if sign != _sign(theirs.mantissa) or sign == 0:
            return _sign(sign - _sign(theirs.mantissa))
        if ours.radix == theirs.radix:
            width = max(ours.digits, theirs.digits)
            a = (ours.exponent, abs(ours.mantissa) * ours.radix ** (width - ours.digits))
            b = (theirs.exponent, abs(theirs.mantissa) * theirs.radix ** (width - theirs.digits))
            return sign * ((a > b) - (a < b))
        theirs = theirs.as_fraction()
    if abs(ours.exponent) > 400_000 and sign != 0:  # far beyond any Fraction of sane size: decide by magnitude
        size = abs(theirs.numerator).bit_length() - theirs.denominator.bit_length()
        if abs(size) * 0.302 < abs(ours.exponent) - 10:
            big = ours.exponent > 0
            return sign if big else (_sign(Fraction(0) - theirs) or sign)
    mine = ours.as_fraction()
    return (mine > theirs) - (mine < theirs)


#: Set by ``functions``: how float() gets the double nearest to the true value (a 53-bit evaluation).
_FLOAT_OF: Callable[[SpougeResult], float] | None = None


def _comparable(other: object) -> SpougeResult | Fraction | None:
    """other as _compare takes it, or None when it is no number we compare with (NotImplemented)."""
    if isinstance(other, SpougeResult):
        return other
    try:
        return _exact(other)
    except TypeError:
        return None


def _exact(other: object) -> Fraction:
    """An exact Fraction for a number another library gave us, or TypeError."""
    from fractions import Fraction

    if isinstance(other, bool):
        raise TypeError
    if isinstance(other, int | Fraction):
        return Fraction(other)
    if isinstance(other, float):
        if not math.isfinite(other):
            raise TypeError
        return Fraction(other)
    if isinstance(other, Decimal):
        if not other.is_finite():
            raise TypeError
        return Fraction(other)
    ratio = getattr(other, "as_integer_ratio", None)
    if ratio is not None:
        p, q = ratio()
        return Fraction(int(p), int(q))
    raise TypeError


def _float_of(mantissa: int, exp2: int) -> float:
    import math

    try:
        return math.ldexp(float(mantissa), exp2)  # exact: |mantissa| < 2^53
    except OverflowError:
        raise OverflowError("the value does not fit in a float (beyond 1.8e308)") from None


def _float_of_fraction(value: Fraction) -> float:
    try:
        return float(value)  # Fraction -> float is correctly rounded
    except OverflowError:
        raise OverflowError("the value does not fit in a float (beyond 1.8e308)") from None


def binary_text(mantissa: int, exp2: int) -> str:
    """A binary value m * 2^e exactly, in C99 hexadecimal notation: '0x1.8p+1' for 3."""
    if mantissa == 0:
        return "0x0p+0"
    sign = "-" if mantissa < 0 else ""
    m = abs(mantissa)
    top = m.bit_length() - 1
    frac = m - (1 << top)
    nibbles = (top + 3) // 4
    frac <<= nibbles * 4 - top
    body = "1" if not frac else "1." + format(frac, f"0{nibbles}x").rstrip("0")
    e = exp2 + top
    return f"{sign}0x{body}p{'+' if e >= 0 else '-'}{int_text(abs(e))}"


@dataclass(frozen=True, slots=True)
class ComplexSpougeResult:
    """A complex value with relative error below 10^-digits of |value|.

    Both parts are integers on one decimal quantum: part = N * 10^quantum, with
    quantum = floor(log10|value|) - digits, so the printed value is within
    0.8 * 10^-digits * |value| of the true one (rounding of each part plus the
    computed error).  The larger part shows digits or digits+1 significant digits.
    """

    function: str
    x: str
    digits: int
    real_units: int
    imag_units: int
    quantum: int
    a: int
    error_bound: str
    precision: int

    @staticmethod
    def _part(units: int, quantum: int) -> str:
        if units == 0:
            return "0e+0"
        return scientific(units, quantum + len(int_text(abs(units))) - 1)

    @property
    def real(self) -> str:
        return self._part(self.real_units, self.quantum)

    @property
    def imag(self) -> str:
        return self._part(self.imag_units, self.quantum)

    def __str__(self) -> str:
        imag = self.imag
        sign = "" if imag.startswith("-") else "+"
        return f"{self.real}{sign}{imag}j"

    def __repr__(self) -> str:
        return f"ComplexSpougeResult({self.function}({self.x}) = {self})"

    def __complex__(self) -> complex:
        if self.quantum > 300:
            raise OverflowError(f"{self} does not fit in a complex")
        scale = Decimal(1).scaleb(self.quantum)
        return complex(float(self.real_units * scale), float(self.imag_units * scale))

    def as_dict(self) -> dict[str, str | int]:
        return summary(self)
