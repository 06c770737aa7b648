"""Digit-for-digit accuracy against independent references (Arb's gamma, mpmath, exact integers)."""

from __future__ import annotations

import random
from decimal import Decimal
from fractions import Fraction

import mpmath
import pytest
from flint import arb, ctx, fmpq

import spouge
from reference import reference_complex, reference_log10_abs_gamma, reference_text
from spouge.numerics.rounding import round_integer

RNG_SEED = 20261124


def _exact_text(n: int, digits: int) -> str:
    """n rounded half-even to `digits` digits, by decimal (independent of the library's rounding)."""
    import decimal

    with decimal.localcontext() as c:
        c.prec, c.rounding = digits, decimal.ROUND_HALF_EVEN
        c.Emax = decimal.MAX_EMAX
        value = +Decimal(n)
    _sign, digit_tuple, exponent = value.as_tuple()
    mantissa = "".join(map(str, digit_tuple)).ljust(digits, "0")
    exp10 = exponent + len(digit_tuple) - 1
    return mantissa[0] + ("." + mantissa[1:] if digits > 1 else "") + f"e+{exp10}"


def test_issue_examples():
    assert str(spouge.factorial(100, digits=50)) == "9.3326215443944152681699238856266700490715968264382e+157"
    assert str(spouge.factorial(5, digits=3)) == "1.20e+2"
    assert str(spouge.factorial("1e100", digits=3)) == (
        "1.63e+995657055180967481723488710810833949177056029941963334338855462168341353507911292252707750506615682567"
    )


def test_exact_integer_factorials_to_50_digits():
    import sys

    sys.set_int_max_str_digits(0)
    exact = 1
    for n in range(3001):
        if n:
            exact *= n
        assert str(spouge.factorial(n, digits=50)) == _exact_text(exact, 50), n


@pytest.mark.parametrize("n", [0, 1, 2, 3, 10, 25, 170, 171, 1000])
def test_gamma_of_integers_is_factorial(n):
    assert str(spouge.gamma(n + 1, digits=30)) == str(spouge.factorial(n, digits=30))


def _random_cases(count: int):
    rng = random.Random(RNG_SEED)
    cases = []
    for i in range(count):
        digits = rng.choice([1, 2, 3, 5, 10, 16, 17, 20, 30, 50, 100, rng.randint(1, 300), rng.randint(300, 1000)])
        kind = i % 6
        if kind == 0:
            x = str(rng.randint(0, 10**4))
        elif kind == 1:  # decimal with up to 20 significant digits in [-200, 1000]
            sig = rng.randint(1, 20)
            value = Fraction(rng.randint(-200 * 10**sig, 1000 * 10**sig), 10**sig)
            x = str(Decimal(value.numerator) / Decimal(value.denominator)) if value.denominator != 1 else str(value)
        elif kind == 2:  # near a pole
            x = f"-{rng.randint(1, 60)}.{'0' * rng.randint(1, 25)}{rng.randint(1, 9)}"
        elif kind == 3:  # half-integers
            x = f"{rng.randint(-100, 500)}.5"
        elif kind == 4:  # small positive
            x = f"0.{rng.randint(0, 10**12):012d}1"
        else:
            x = rng.choice(["1e20", "1e15", "123456.789", "0.5", "1.5", "2.5", "3.14159", "1e-10", "-0.5"])
        fn = rng.choice(["gamma", "factorial", "lgamma"])
        cases.append((fn, x, digits))
    return cases


def _check(fn: str, x: str, digits: int) -> bool:
    value = spouge.numerics.parse_real(x)
    if fn == "factorial" and value.denominator == 1 and value < 0:
        return False
    if fn != "factorial" and value.denominator == 1 and value <= 0:
        return False
    expected = reference_text(fn, value, digits)
    if expected is None:
        return False
    got = str(getattr(spouge, fn)(x, digits=digits))
    assert got == expected, (fn, x, digits)
    return True


def test_random_cases_against_arb():
    checked = sum(_check(fn, x, digits) for fn, x, digits in _random_cases(2400))
    assert checked > 2000


@pytest.mark.slow
def test_random_cases_against_arb_long():
    assert sum(_check(fn, x, d) for fn, x, d in _random_cases(30000)) > 25000


@pytest.mark.parametrize("digits", [1, 5, 16, 100, 1000])
@pytest.mark.parametrize("x", ["1e20", "1e100", "1e1000", "123456789.123456789"])
def test_huge_arguments(x, digits):
    value = spouge.numerics.parse_real(x)
    for fn in ("gamma", "lgamma"):
        result = getattr(spouge, fn)(x, digits=digits)
        if fn == "lgamma":
            expected = reference_text("lgamma", value, digits)
            if value < 10**200:
                assert str(result) == expected
            else:  # Arb's own decimal printing is the limit here; compare the number
                with ctx.workprec(int(digits * 3.33) + 3500):
                    ref = arb(fmpq(value.numerator, value.denominator)).lgamma()
                    ours = arb(str(result.to_decimal()))
                    assert abs(ours - ref) <= abs(ref) * arb(10) ** (1 - digits)
        else:
            # log10 Γ(x) is ~10^1003: check exponent and mantissa from Arb's lgamma
            log10 = reference_log10_abs_gamma(value, int(digits * 3.33) + 3500 + 64)
            with ctx.workprec(int(digits * 3.33) + 3500 + 64):
                exponent = log10.floor().unique_fmpz()
                assert result.exponent == int(exponent)
                mantissa = arb(10) ** (log10 - exponent + digits - 1)
                assert abs(mantissa - result.mantissa) < 1


def test_near_pole_offset_is_exact():
    assert str(spouge.gamma("-25.00000000000000000000001", digits=16)) == reference_text(
        "gamma", Fraction(-25 * 10**23 - 1, 10**23), 16
    )
    # just right of 0: Γ(1e-300) ≈ 1e300 - γ
    assert str(spouge.gamma("1e-300", digits=20)) == "1.0000000000000000000e+300"


@pytest.mark.parametrize(
    "x", ["3+4j", "-2.5+1j", "0.5-0.001j", "1e3+1e3j", "-100.5-3j", "4j", "0.25+30j", "12.5"]
)
@pytest.mark.parametrize("digits", [1, 16, 60, 300])
@pytest.mark.parametrize("fn", ["gamma", "factorial"])
def test_complex_relative_error(fn, x, digits):
    z = complex(x) if x != "12.5" else complex(12.5)
    arg = x if x != "12.5" else z
    result = getattr(spouge, fn)(arg, digits=digits)
    re, im = spouge.numerics.parse_number(x if x != "12.5" else "12.5+0j")
    ref = reference_complex(fn, re, im, digits)
    with ctx.workprec(int(digits * 3.33) + 80):
        from flint import acb

        scale = Fraction(10) ** result.quantum
        ours = acb(
            arb(fmpq((result.real_units * scale).numerator, (result.real_units * scale).denominator)),
            arb(fmpq((result.imag_units * scale).numerator, (result.imag_units * scale).denominator)),
        )
        assert abs(ours - ref) < abs(ref) * arb(10) ** (-digits)


def test_mpmath_second_opinion():
    rng = random.Random(RNG_SEED + 1)
    for _ in range(150):
        digits = rng.choice([5, 15, 30, 60])
        x = f"{rng.uniform(-50, 300):.6f}"
        value = spouge.numerics.parse_real(x)
        mpmath.mp.dps = digits + 30
        expected_g = mpmath.gamma(mpmath.mpf(value.numerator) / value.denominator)
        got = spouge.gamma(x, digits=digits).to_decimal()
        assert abs(Decimal(str(expected_g)) - got) <= abs(got) * Decimal(10) ** (1 - digits) / 2 * Decimal("1.0001")
        got_l = spouge.lgamma(x, digits=digits).to_decimal()
        expected_l = mpmath.log(abs(expected_g))
        assert abs(Decimal(str(expected_l)) - got_l) <= abs(got_l) * Decimal(10) ** (1 - digits) / 2 * Decimal("1.0001")


@pytest.mark.parametrize("digits", [1, 2, 3, 7, 16, 50, 200, 1000])
def test_many_digit_counts_known_constant(digits):
    # Γ(1/2) = sqrt(pi): Arb's sqrt(pi), rounded independently
    with ctx.workprec(int(digits * 3.33) + 64):
        text = arb.pi().sqrt().str(digits + 20, radius=False)
    from reference import _round_text

    assert str(spouge.gamma("0.5", digits=digits)) == _round_text(text, digits)


def test_lgamma_near_its_zeros():
    # lgamma(1 + 1e-40) ≈ -γ 1e-40: relative accuracy must survive the cancellation
    for x in ["1.0000000000000000000000000000000000000001", "2.0000000000000000000000000000001", "0.99999999999"]:
        assert str(spouge.lgamma(x, digits=25)) == reference_text("lgamma", spouge.numerics.parse_real(x), 25)
    assert spouge.lgamma(1).mantissa == 0 and spouge.lgamma(2).mantissa == 0


def test_round_integer_half_even():
    assert round_integer(125, 2) == (12, 2)
    assert round_integer(135, 2) == (14, 2)
    assert round_integer(1251, 2) == (13, 3)
    assert round_integer(999, 2) == (10, 3)
    assert round_integer(7, 3) == (700, 0)


@pytest.mark.slow
@pytest.mark.timeout(3600)  # Spouge at 100000 digits: a = 125400 coefficients of ~330000 bits, minutes
def test_100000_digits():
    result = spouge.gamma("0.5", digits=100000)
    with ctx.workprec(int(100000 * 3.33) + 64):
        text = arb.pi().sqrt().str(100020, radius=False)
    from reference import _round_text

    assert str(result) == _round_text(text, 100000)
