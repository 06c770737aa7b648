"""Independent references for the tests: Arb's own gamma (python-flint) and mpmath.

The rounding here is deliberately not the library's: the Arb ball is turned
into decimal text and rounded by Python's decimal module (ROUND_HALF_EVEN),
and a case counts only if both ends of the ball round the same way.
"""

from __future__ import annotations

import decimal
from fractions import Fraction

import gmpy2
from flint import acb, arb, ctx, fmpq

LOG2_10 = 3.3219280948873626


def _ball(x: Fraction, fn: str, digits: int) -> arb:
    value = arb(fmpq(x.numerator, x.denominator))
    return {"gamma": value.gamma, "lgamma": lambda: abs(value.gamma()).log() if value < 0 else value.lgamma()}[fn]()


def reference_text(fn: str, x: Fraction, digits: int) -> str | None:
    """Correctly rounded `digits`-digit text of fn(x) by Arb + decimal, or None if undecided.

    fn is "gamma", "factorial" or "lgamma".  The text uses the library's format
    (mantissa with all digits, exponent without padding).
    """
    if fn == "factorial":
        fn, x = "gamma", x + 1
    prec = int(digits * LOG2_10) + 80
    for _ in range(6):  # near a pole Arb's own rounding of x costs bits: retry higher
        with ctx.workprec(prec):
            ball = _ball(x, fn, digits)
            if not ball.is_finite():
                prec *= 2
                continue
            texts = [end.str(digits + prec // 3 + 10, radius=False, more=True) for end in (ball.lower(), ball.upper())]
        rounded = {_round_text(t, digits) for t in texts}
        if len(rounded) == 1:
            return rounded.pop()
        prec *= 2
    return None


def _round_text(text: str, digits: int) -> str:
    """Round Arb's decimal text half-even; the exponent is carried as a Python int (it may be 10^21)."""
    text = text.strip("[]").split("+/-")[0].strip()
    mantissa_text, _, exponent_text = text.lower().partition("e")
    with decimal.localcontext() as c:
        c.prec = digits
        c.rounding = decimal.ROUND_HALF_EVEN
        value = +decimal.Decimal(mantissa_text)
    sign, digit_tuple, exponent = value.as_tuple()
    mantissa = "".join(map(str, digit_tuple)).ljust(digits, "0")
    exp10 = exponent + len(digit_tuple) - 1 + int(gmpy2.mpz(exponent_text or 0))
    body = mantissa[0] + ("." + mantissa[1:] if digits > 1 else "")
    return f"{'-' if sign else ''}{body}e{'+' if exp10 >= 0 else '-'}{gmpy2.mpz(abs(exp10)).digits(10)}"


def reference_complex(fn: str, re: Fraction, im: Fraction, digits: int) -> acb:
    if fn == "factorial":
        re += 1
    with ctx.workprec(int(digits * LOG2_10) + 80):
        return acb(arb(fmpq(re.numerator, re.denominator)), arb(fmpq(im.numerator, im.denominator))).gamma()


def reference_log10_abs_gamma(x: Fraction, prec: int) -> arb:
    """log10|Γ(x)| by Arb, for checking results too large for any decimal type."""
    with ctx.workprec(prec):
        return arb(fmpq(x.numerator, x.denominator)).lgamma() / arb(10).log()
