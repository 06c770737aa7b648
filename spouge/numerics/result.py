"""The result types: a correctly rounded decimal and what it took to get it.

Owns: how a result prints (scientific notation, exactly `digits` significant
digits, trailing zeros kept: "1.20e+2"), and how it converts (float, Decimal,
JSON-ready dict).  Values are immutable; the decimal exponent is an unbounded
int, so factorial(10^100) is representable although no float or Decimal is.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

import gmpy2


def int_text(n: int) -> str:
    """Decimal text of any int (Python refuses > 4300 digits by default; GMP does not)."""
    return gmpy2.mpz(n).digits(10)


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


def summary(result) -> dict:
    """What a result says to the outside world (CLI --json, the server's replies)."""
    return {
        "function": result.function,
        "x": result.x,
        "digits": result.digits,
        "value": str(result),
        "a": result.a,
        "error_bound": result.error_bound,
    }


@dataclass(frozen=True, slots=True)
class SpougeResult:
    """A real value correctly rounded to `digits` significant digits.

    value = mantissa * 10^(exponent - digits + 1); |mantissa| has exactly
    `digits` digits (or is 0 for an exact zero).  ``a`` is Spouge's parameter
    used on the final pass, ``error_bound`` the proven relative truncation
    bound a^(-1/2)(2 pi)^(-a-1/2) for that a (as text: it may be < 1e-100000),
    ``precision`` the working precision in bits.  The value itself is exact to
    half a unit in the last digit.
    """

    function: str
    x: str
    digits: int
    mantissa: int
    exponent: int
    a: int
    error_bound: str
    precision: int

    def __str__(self) -> str:
        if self.mantissa == 0:
            return scientific(10 ** (self.digits - 1), 0).replace("1", "0", 1)
        return scientific(self.mantissa, self.exponent)

    def __repr__(self) -> str:
        return f"SpougeResult({self.function}({self.x}) = {self})"

    def to_decimal(self) -> Decimal:
        """The exact decimal value.  Raises OverflowError if the exponent does not fit a Decimal."""
        if abs(self.exponent) > 999_999_999_999_999_999 - self.digits:
            raise OverflowError("exponent too large for decimal.Decimal")
        sign = 1 if self.mantissa < 0 else 0
        return Decimal((sign, tuple(int(c) for c in int_text(abs(self.mantissa))), self.exponent - self.digits + 1))

    def __float__(self) -> float:
        """Nearest float.  Raises OverflowError when |value| >= 2^1024."""
        if self.mantissa == 0:
            return 0.0
        if self.exponent > 400:
            raise OverflowError(f"{self} does not fit in a float")
        if self.exponent < -400:
            return 0.0 * self.mantissa
        return float(self.to_decimal())

    def as_dict(self) -> dict:
        return summary(self)


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

    def as_dict(self) -> dict:
        return summary(self)
