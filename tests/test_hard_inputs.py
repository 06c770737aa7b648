"""Hostile-but-valid inputs (issue 9): every one correctly rounded, checked against Arb at a proven precision.

The cases come from bench/hard_cases.py (near the zeros of ln Γ, at rounding
boundaries, tiny, near poles, long, complex with a zero part).  The reference
is python-flint's Arb gamma/lgamma evaluated on the exact input with a
precision raised until both ends of its ball round to the same decimal (so
the reference digits are proven, given Arb's rigour), rounded by Python's
``decimal``; mpmath gives a second opinion on a sample.  Everything runs with
Python's default 4300-digit int/str limit in force, so a leak of that limit
fails here.
"""

from __future__ import annotations

import os
import sys
from fractions import Fraction

import mpmath
import pytest
from flint import acb, arb, ctx

import spouge
from reference import _round_text

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "bench"))
import hard_cases

SIZE = "large" if os.environ.get("SPOUGE_SLOW") else "small"
CASES = hard_cases.cases(SIZE)


@pytest.fixture(autouse=True)
def default_int_str_limit():
    old = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(4300)
    yield
    sys.set_int_max_str_digits(old)


def _reference(fn: str, x: Fraction, digits: int) -> str:
    """fn(x) correctly rounded, from Arb balls whose two ends round alike (else raise the precision)."""
    if fn == "factorial":
        fn, x = "gamma", x + 1
    size = max(abs(x.numerator).bit_length(), x.denominator.bit_length())
    prec = int(digits * 3.33) + size + 96
    max_prec = 64 * prec
    while prec <= max_prec:
        with ctx.workprec(prec):
            ball = hard_cases.as_arb(x)
            value = ball.gamma() if fn == "gamma" else (ball.lgamma() if x > 0 else abs(ball.gamma()).log())
            if value.is_finite() and not value.contains(0):
                texts = [
                    end.str(digits + prec // 3 + 10, radius=False, more=True) for end in (value.lower(), value.upper())
                ]
                rounded = {_round_text(t, digits) for t in texts}
                if len(rounded) == 1:
                    return rounded.pop()
        prec *= 2
    raise AssertionError(f"reference undecided for {fn} at {digits} digits")


def _ids(case):
    category, fn, x, digits = case
    text = x if isinstance(x, str) else f"int{len(str(x)) if x < 10**4000 else 'big'}"
    return f"{category}-{fn}-{text[:24]}-{digits}"


REAL_CASES = [c for c in CASES if c[0] != "complex_zero_part"]
COMPLEX_CASES = [c for c in CASES if c[0] == "complex_zero_part"]


@pytest.mark.parametrize("case", REAL_CASES, ids=[_ids(c) for c in REAL_CASES])
def test_hard_real_input_is_correctly_rounded(case):
    category, fn, x, digits = case
    exact = hard_cases.parse_exact(x)
    if exact.denominator == 1 and exact <= (0 if fn != "factorial" else -1):
        pytest.skip("a pole")
    result = getattr(spouge, fn)(x, digits=digits)
    assert str(result) == _reference(fn, exact, digits), (category, fn, str(x)[:80], digits)


@pytest.mark.parametrize("case", COMPLEX_CASES, ids=[_ids(c) for c in COMPLEX_CASES])
def test_complex_with_a_zero_part(case):
    _, fn, x, digits = case
    re, im = hard_cases.parse_exact(x)
    result = getattr(spouge, fn)(x, digits=digits)
    if fn == "factorial":
        re += 1
    with ctx.workprec(int(digits * 3.33) + 128):
        ref = acb(hard_cases.as_arb(re), hard_cases.as_arb(im)).gamma()
        got = acb(arb(result.real), arb(result.imag))
        # the documented accuracy: |got - ref| <= 0.8 * 10^-digits * |ref|
        assert abs(got - ref) < abs(ref) * arb(10) ** -digits * arb("0.8")
    if im == 0:  # the real road: the real part is Γ correctly rounded, the imaginary part exactly 0
        assert result.imag_units == 0
        real = spouge.gamma(re, digits=digits + 1)  # digits+1 on the quantum floor(log10|v|) - digits
        assert result.real_units * Fraction(10) ** result.quantum == real.mantissa * Fraction(10) ** (
            real.exponent - digits
        )


def test_mpmath_second_opinion_on_a_sample():
    """mpmath agrees on every 3rd case it can evaluate quickly (at most 200 decimals of x)."""
    checked = 0
    for category, fn, x, digits in REAL_CASES[::3]:
        if (isinstance(x, str) and len(x) > 200) or not isinstance(x, str):
            continue
        exact = hard_cases.parse_exact(x)
        mp_x = mpmath.mpf(exact.numerator) / exact.denominator
        with mpmath.workdps(len(x) + 3 * digits + 60):
            mp_x = mpmath.mpf(exact.numerator) / exact.denominator
            if fn == "factorial":
                value = mpmath.gamma(mp_x + 1)
            elif fn == "gamma":
                value = mpmath.gamma(mp_x)
            else:
                value = mpmath.log(abs(mpmath.gamma(mp_x)))
            ours = mpmath.mpf(str(getattr(spouge, fn)(x, digits=digits)))
            if value == 0:
                continue
            assert abs(ours - value) <= abs(value) * mpmath.mpf(10) ** (1 - digits), (category, fn, x, digits)
            checked += 1
    assert checked >= 20


def test_issue_examples_no_longer_give_up():
    assert str(spouge.gamma("1e-600", digits=5)) == "1.0000e+600"
    assert str(spouge.factorial("8.5276425384332111400e-2813", digits=11)) == "1.0000000000e+0"
    assert str(spouge.lgamma("1." + "0" * 1399 + "1", digits=16)) == "-5.772156649015329e-1401"


def test_python_int_str_limit_never_leaks():
    big = 10**4300
    assert str(spouge.factorial(big, digits=5)).startswith("2.0919e+")
    assert str(spouge.gamma(Fraction(10**5000 + 1, 10**5000), digits=16)) == "1.000000000000000e+0"
    text = "0." + "1" * 4301
    assert str(spouge.gamma(text, digits=16)) == _reference("gamma", hard_cases.parse_exact(text), 16)
    # a result whose exponent has > 4300 digits prints, and so does its input
    result = spouge.factorial(big, digits=3)
    assert len(str(result)) > 4300 and len(result.x) == 4301


def test_spouge_limit_on_input_length_is_named():
    from spouge.numerics.arguments import MAX_INPUT_DIGITS

    ok = "0." + "3" * MAX_INPUT_DIGITS
    assert str(spouge.gamma(ok, digits=5)) == _reference("gamma", hard_cases.parse_exact(ok), 5)
    for too_long in ("0." + "3" * (MAX_INPUT_DIGITS + 1), Fraction(1, 3 * 10**MAX_INPUT_DIGITS + 1), 10**10001):
        with pytest.raises(ValueError) as info:
            spouge.gamma(too_long)
        message = str(info.value)
        assert "set_int_max_str_digits" not in message
        assert str(MAX_INPUT_DIGITS) in message or "out of range" in message


def test_complex_real_road_is_fast_and_exact():
    assert str(spouge.gamma("1+0j", digits=100)).startswith("1.000")
    assert spouge.gamma("5+0j", digits=10).real_units == 24000000000
    with pytest.raises(spouge.PoleError):
        spouge.gamma("-3+0j")


def test_errors_are_value_or_type_errors():
    from spouge.numerics.precision import UndecidedError

    assert issubclass(UndecidedError, ValueError) and issubclass(spouge.PoleError, ValueError)
    for bad in ["", "1e", "nan", "--1", "1+", "0x10", "1_000"]:
        with pytest.raises(ValueError):
            spouge.gamma(bad)
    for bad in [None, [], b"1", True]:
        with pytest.raises(TypeError):
            spouge.gamma(bad)
