"""Property tests (hypothesis): the recurrence and the reflection formula."""

from __future__ import annotations

from decimal import Decimal, localcontext
from fractions import Fraction

from hypothesis import assume, given
from hypothesis import strategies as st

import spouge

decimals = st.decimals(min_value=Decimal("-150"), max_value=Decimal("400"), places=6, allow_nan=False,
                       allow_infinity=False)
digits_st = st.integers(min_value=5, max_value=60)


def _rel_close(a: Decimal, b: Decimal, digits: int, ulps: int = 3) -> bool:
    with localcontext() as c:
        c.prec = digits + 20
        return abs(a - b) <= abs(b) * Decimal(ulps) * Decimal(10) ** (1 - digits)


@given(decimals, digits_st)
def test_recurrence(x, digits):
    assume(x != x.to_integral_value() or x > 0)
    assume(x + 1 != (x + 1).to_integral_value() or x + 1 > 0)
    g_x1 = spouge.gamma(str(x + 1), digits=digits).to_decimal()
    g_x = spouge.gamma(str(x), digits=digits).to_decimal()
    with localcontext() as c:
        c.prec = 2 * digits + 20
        assert _rel_close(x * g_x, g_x1, digits)


@given(decimals, digits_st)
def test_factorial_is_gamma_shifted(x, digits):
    assume(x != x.to_integral_value() or x >= 0)
    assert str(spouge.factorial(str(x), digits=digits)) == str(spouge.gamma(str(x + 1), digits=digits))


@given(st.decimals(min_value=Decimal("-40"), max_value=Decimal("40"), places=5), digits_st)
def test_reflection(x, digits):
    assume(x != x.to_integral_value())
    import mpmath

    mpmath.mp.dps = digits + 20
    with localcontext() as c:
        c.prec = 2 * digits + 10  # the product of two digits-digit numbers, exactly
        product = (
            spouge.gamma(str(x), digits=digits).to_decimal() * spouge.gamma(str(1 - x), digits=digits).to_decimal()
        )
    expected = Decimal(
        str(mpmath.pi / mpmath.sinpi(mpmath.mpf(Fraction(str(x)).numerator) / Fraction(str(x)).denominator))
    )
    assert _rel_close(product, expected, digits)


@given(decimals, digits_st)
def test_lgamma_is_log_abs_gamma(x, digits):
    assume(x != x.to_integral_value() or x > 0)
    g = spouge.gamma(str(x), digits=digits + 5).to_decimal()
    lg = spouge.lgamma(str(x), digits=digits).to_decimal()
    with localcontext() as c:
        c.prec = digits + 30
        assert abs(abs(g).ln() - lg) <= max(abs(lg), Decimal(1)) * Decimal(10) ** (2 - digits) + abs(lg) * Decimal(
            10
        ) ** (1 - digits)
