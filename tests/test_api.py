"""The public API: accepted inputs, the result type, and clear errors for bad input."""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction

import mpmath
import pytest

import spouge
from spouge import PoleError
from spouge.numerics import parse_number, parse_real


@pytest.mark.parametrize(
    "text, value",
    [
        ("0.1", Fraction(1, 10)),
        ("1e100", Fraction(10**100)),
        ("-2.5", Fraction(-5, 2)),
        (" 7 ", Fraction(7)),
        ("+3.", Fraction(3)),
        (".5", Fraction(1, 2)),
        ("1E-3", Fraction(1, 1000)),
        ("-0", Fraction(0)),
    ],
)
def test_decimal_strings_are_exact(text, value):
    assert parse_real(text) == value


def test_zero_with_huge_exponent_is_instant():
    # must not build 10^999999999999 on the way to zero
    assert parse_real("0e999999999999") == 0 and parse_real("-0.000e-99999999999") == 0
    assert parse_real("1e10000") == 10**10000


def test_other_real_types_are_exact():
    assert parse_real(0.1) == Fraction(0.1) != Fraction(1, 10)
    assert parse_real(Decimal("0.1")) == Fraction(1, 10)
    assert parse_real(Fraction(1, 3)) == Fraction(1, 3)
    assert parse_real(10**30) == 10**30


@pytest.mark.parametrize(
    "text, value",
    [("3+4j", (3, 4)), ("3-4j", (3, -4)), ("4j", (0, 4)), ("-j", (0, -1)), ("-2.5e1+1e-2J", (-25, Fraction(1, 100)))],
)
def test_complex_strings(text, value):
    assert parse_number(text) == (Fraction(value[0]), Fraction(value[1]))


@pytest.mark.parametrize(
    "bad",
    ["nan", "inf", "-inf", "Infinity", "", "  ", "abc", "--5", "0x10", "1e", "1.2.3", "3+4", "1e999999999", "1e10001",
     "0e", "1_000", "5!", "1e-999999999"],
)
def test_bad_strings_raise_value_error(bad):
    for fn in (spouge.gamma, spouge.factorial, spouge.lgamma):
        with pytest.raises(ValueError) as info:
            fn(bad)
        assert "x" in str(info.value)


@pytest.mark.parametrize("bad", [None, [1], b"5", object(), True])
def test_bad_types_raise_type_error(bad):
    with pytest.raises(TypeError, match="x must be"):
        spouge.gamma(bad)


def test_nonfinite_floats_and_decimals():
    for bad in (math.nan, math.inf, Decimal("nan"), Decimal("-inf"), complex(math.inf, 0)):
        with pytest.raises(ValueError, match="not a finite number"):
            spouge.gamma(bad)


def test_lgamma_rejects_complex():
    with pytest.raises(TypeError, match="real"):
        spouge.lgamma(3 + 4j)
    with pytest.raises(ValueError):
        spouge.lgamma("3+4j")


@pytest.mark.parametrize("digits, exc",
                         [(0, ValueError), (-3, ValueError), (10**6, ValueError), (2.5, TypeError), (True, TypeError),
                          ("x", TypeError)])
def test_bad_digits(digits, exc):
    with pytest.raises(exc, match="digits"):
        spouge.gamma(2, digits=digits)


@pytest.mark.parametrize("x", [0, -1, -2, "-30", "-0.0", Fraction(-7), -4 + 0j])
def test_gamma_poles(x):
    with pytest.raises(PoleError, match="pole"):
        spouge.gamma(x)
    assert issubclass(PoleError, ValueError)


def test_factorial_and_lgamma_poles_say_where():
    with pytest.raises(PoleError, match="-1"):
        spouge.factorial(-1)
    with pytest.raises(PoleError, match="-3"):
        spouge.factorial("-3")
    spouge.factorial(0)  # 0! = 1 is fine
    with pytest.raises(PoleError, match="-2"):
        spouge.lgamma(-2)


def test_result_fields_and_conversions():
    r = spouge.factorial(5, digits=3)
    assert (r.mantissa, r.exponent, r.digits, r.function, r.x) == (120, 2, 3, "factorial", "5")
    assert float(r) == 120.0 and r.to_decimal() == Decimal("120")
    assert r.a >= 3 and r.precision > 3 * 3.32
    assert r.error_bound.startswith(("1", "2", "3", "4", "5", "6", "7", "8", "9")) and "e-" in r.error_bound
    assert r.as_dict() == {"function": "factorial", "x": "5", "digits": 3, "value": "1.20e+2", "a": r.a,
                           "error_bound": r.error_bound}
    g = spouge.gamma("-0.5", digits=5)
    assert g.mantissa == -35449 and str(g) == "-3.5449e+0"
    # float() is the double nearest to the true Γ(-0.5) = -2√π, not to the 5-digit decimal: no double rounding
    with mpmath.workprec(300):
        assert float(g) == -3.544907701811032 == float(-2 * mpmath.sqrt(mpmath.pi))
    assert str(spouge.factorial(10, digits=1)) == "4e+6"


def test_huge_result_has_unbounded_exponent_and_refuses_float():
    r = spouge.factorial("1e100", digits=3)
    assert r.exponent > 10**100
    with pytest.raises(OverflowError):
        float(r)
    with pytest.raises(OverflowError):
        float(spouge.gamma("1e-500", digits=5))


def test_zero_result_prints_digits():
    assert str(spouge.lgamma(1, digits=4)) == "0.000e+0"
    assert float(spouge.lgamma(2)) == 0.0


def test_complex_result():
    r = spouge.gamma("3+4j", digits=10)
    z = complex(r)
    assert abs(z - complex(0.00522553847136921, -0.172547079294300)) < 0.1726 * 1e-10
    assert str(r).endswith("j") and r.as_dict()["value"] == str(r)
    # the printed value is exact to 10^-digits relative, on a common quantum
    assert r.quantum == -1 - 10


def test_float_input_uses_exact_binary_value():
    # 0.1 as a float is 0.1000000000000000055511151231257827...; at 30 digits that shows
    assert str(spouge.gamma(0.1, digits=30)) != str(spouge.gamma("0.1", digits=30))
