"""Rounding modes, binary precision, float() without double rounding, fgamma, and results as numbers (issue 12)."""

from __future__ import annotations

import decimal
import math
import random
from fractions import Fraction

import gmpy2
import mpmath
import pytest
from flint import arb, ctx, fmpq

import spouge

DECIMAL_MODE = {"nearest": decimal.ROUND_HALF_EVEN, "down": decimal.ROUND_FLOOR, "up": decimal.ROUND_CEILING,
                "zero": decimal.ROUND_DOWN, "away": decimal.ROUND_UP}


def _reference(fn: str, x: Fraction, digits: int, mode: str) -> str:
    """fn(x) rounded in `mode` by Python's decimal from an Arb ball both of whose ends round alike."""
    if fn == "factorial":
        fn, x = "gamma", x + 1
    prec = int(digits * 3.33) + 96
    for _ in range(8):
        with ctx.workprec(prec):
            ball = arb(fmpq(x.numerator, x.denominator))
            value = ball.gamma() if fn == "gamma" else (ball.lgamma() if x > 0 else abs(ball.gamma()).log())
            ends = [end.str(prec // 3 + 10, radius=False, more=True) for end in (value.lower(), value.upper())]
        texts = set()
        for end in ends:
            with decimal.localcontext() as c:
                c.prec, c.rounding = digits, DECIMAL_MODE[mode]
                texts.add(format(+decimal.Decimal(end.strip("[]")), f".{digits - 1}e"))
        if len(texts) == 1:
            return texts.pop()
        prec *= 2
    raise AssertionError("reference undecided")


def _ours(result) -> str:
    return format(result.to_decimal(), f".{result.digits - 1}e")


CASES = []
_rng = random.Random(20261130)
for _ in range(120):
    fn = _rng.choice(["gamma", "factorial", "lgamma"])
    x = f"{_rng.choice(['', '-'])}{_rng.randint(0, 60)}.{_rng.randint(1, 10**8)}"
    CASES.append((fn, x, _rng.randint(1, 40), _rng.choice(spouge.MODES)))


@pytest.mark.parametrize("fn, x, digits, mode", CASES)
def test_every_mode_against_arb(fn, x, digits, mode):
    result = getattr(spouge, fn)(x, digits=digits, rounding=mode)
    assert _ours(result) == _reference(fn, Fraction(x), digits, mode)
    assert result.rounding == mode


@pytest.mark.parametrize("mode", spouge.MODES)
def test_directed_modes_of_exact_values(mode):
    # 5! = 120 exactly: every mode gives 1.20e+2 at 3 digits, and rounds 120 at 1 digit as the mode says
    assert str(spouge.factorial(5, digits=3, rounding=mode)) == "1.20e+2"
    assert spouge.factorial(5, digits=3, rounding=mode).exact
    one_digit = {"nearest": "1e+2", "down": "1e+2", "zero": "1e+2", "up": "2e+2", "away": "2e+2"}[mode]
    assert str(spouge.factorial(5, digits=1, rounding=mode)) == one_digit
    assert not spouge.factorial(5, digits=1, rounding=mode).exact
    assert str(spouge.lgamma(1, rounding=mode)).startswith("0.0")


def test_down_and_up_enclose_the_value():
    for x in ["0.1", "-2.5", "1e100", "-7.000001"]:
        lo, hi = spouge.gamma(x, digits=12, rounding="down"), spouge.gamma(x, digits=12, rounding="up")
        assert lo < spouge.gamma(x, digits=40) < hi


@pytest.mark.parametrize("bits", [1, 2, 24, 53, 64, 113, 300])
def test_bits_against_mpmath(bits):
    rng = random.Random(bits)
    for _ in range(15):
        x = Fraction(rng.randint(-3000, 3000), rng.randint(1, 97))
        if x.denominator == 1 and x <= 0:
            continue
        for mode, mp_mode in [("nearest", "n"), ("down", "f"), ("up", "c")]:
            ours = spouge.gamma(x, bits=bits, rounding=mode)
            with mpmath.workprec(bits + 400):
                exact = mpmath.gamma(mpmath.mpf(x.numerator) / x.denominator)
            ref = mpmath.libmp.normalize(*exact._mpf_, bits, mp_mode)  # one rounding of a 400-bit-wider value
            assert ours.as_fraction() == Fraction(*mpmath.libmp.to_rational(ref)), (x, bits, mode)


def test_float_is_nearest_to_the_true_value_never_a_double_rounding():
    rng = random.Random(7)
    for _ in range(300):
        x = f"{rng.uniform(-60, 60):.12f}"
        r = spouge.gamma(x, digits=16)  # 16 digits then to double would misround about half the time
        with mpmath.workprec(400):
            assert float(r) == float(Fraction(*mpmath.libmp.to_rational(mpmath.gamma(mpmath.mpf(x))._mpf_))), x


def test_float_overflow_and_underflow():
    with pytest.raises(OverflowError):
        float(spouge.gamma("172"))
    with pytest.raises(OverflowError):
        float(spouge.gamma("1e-310"))
    # below the smallest subnormal: zeros with Γ's sign (Γ < 0 where floor(x) is odd)
    assert float(spouge.gamma("-190.5")) == 0.0 and math.copysign(1, float(spouge.gamma("-190.5"))) == -1.0
    assert math.copysign(1, float(spouge.gamma("-189.5"))) == 1.0
    assert float(spouge.gamma("-180.5")) == spouge.fgamma(-180.5)  # a subnormal (or zero), nearest


def _fgamma_misrounded(count: int, seed: int) -> int:
    """How many of `count` random doubles (the whole domain, subnormal results included) fgamma misrounds."""
    rng = random.Random(seed)
    misrounded = 0
    for i in range(count):
        x = rng.uniform(-185, 171.6) if i % 4 else rng.uniform(-1, 1) * 10 ** rng.uniform(-300, 0)
        if x == int(x):
            continue
        with mpmath.workprec(350):
            ref = mpmath.gamma(mpmath.mpf(x))
            try:
                # one rounding, from 350 bits, by Python's int/int division, which rounds subnormals correctly
                # (mpmath's own float() rounds to 53 bits first and misrounds subnormal results)
                expected = float(Fraction(*mpmath.libmp.to_rational(ref._mpf_)))
            except OverflowError:
                expected = math.inf
        try:
            ours = spouge.fgamma(x)
        except OverflowError:
            ours = math.inf
        misrounded += ours != expected and not (math.isinf(ours) and math.isinf(expected))
    return misrounded


def test_fgamma_correctly_rounded_on_random_doubles():
    """10^4 random doubles over the whole domain (subnormal results included): zero misrounded."""
    assert _fgamma_misrounded(10_000, 12) == 0


def test_fgamma_edges_like_math_gamma():
    # 170! rounded once (int -> float is correctly rounded); math.gamma(171.0) is one ulp off
    assert spouge.fgamma(1.0) == 1.0 and spouge.fgamma(5) == 24.0 and spouge.fgamma(171.0) == float(math.factorial(170))
    for pole in (0.0, -1.0, -1e10):
        with pytest.raises(ValueError):
            spouge.fgamma(pole)
    with pytest.raises(ValueError):
        spouge.fgamma(math.nan)
    with pytest.raises(OverflowError):
        spouge.fgamma(171.7)
    assert spouge.fgamma(math.inf) == math.inf


def test_lgamma_with_sign_and_gamma_sign():
    for x in ["-0.5", "-1.5", "-2.5", "0.5", "-100.25", "-101.25"]:
        result, sign = spouge.lgamma(x, with_sign=True)
        assert sign == spouge.gamma_sign(x) == (1 if spouge.gamma(x) > 0 else -1)
        assert str(result) == str(spouge.lgamma(x))
    with pytest.raises(spouge.PoleError):
        spouge.gamma_sign(-3)


def test_results_are_numbers():
    r = spouge.gamma("0.1", digits=16)
    assert r == Fraction(9513507698668732, 10**15) and r > 9 and r < 10 and r != 9.5
    assert r.as_integer_ratio() == (2378376924667183, 250000000000000) and Fraction(*r.as_integer_ratio()) == r
    assert int(r) == 9 and int(spouge.factorial(5, digits=3)) == 120
    assert format(r, ".5e") == "9.51351e+0" and format(r, ".3f") == "9.514" and format(r) == str(r)
    assert mpmath.mpf(r) == mpmath.mpf("9.513507698668732") and gmpy2.mpfr(r) == gmpy2.mpfr("9.513507698668732")
    assert hash(spouge.factorial(3, digits=5)) == hash(6)
    assert sorted([spouge.gamma("3"), 1.5, spouge.gamma("0.5")]) == [1.5, spouge.gamma("0.5"), spouge.gamma("3")]
    assert spouge.gamma("0.5", bits=53) == spouge.fgamma(0.5) == 1.772453850905516  # √π rounded once
    assert math.sqrt(math.pi) == 1.7724538509055159  # (math rounds π first: one ulp off)
    assert str(spouge.gamma("3", bits=8)) == "0x1p+1"
    assert str(spouge.gamma("0.5", bits=10)) == "0x1.c58p+0"  # round(√π·2^9) = 907


def test_inputs_from_other_libraries():
    import numpy

    assert str(spouge.gamma(numpy.int64(5))) == str(spouge.gamma(5))
    assert str(spouge.gamma(gmpy2.mpz(5))) == str(spouge.gamma(5))
    assert str(spouge.gamma(gmpy2.mpq(1, 3))) == str(spouge.gamma(Fraction(1, 3)))
    assert str(spouge.gamma(numpy.float64(0.1))) == str(spouge.gamma(0.1))
    assert str(spouge.gamma(gmpy2.mpfr("0.1"))) == str(spouge.gamma(Fraction(*gmpy2.mpfr("0.1").as_integer_ratio())))
    assert str(spouge.gamma(mpmath.mpf("0.1"))) == str(
        spouge.gamma(Fraction(*mpmath.libmp.to_rational(mpmath.mpf("0.1")._mpf_)))
    )
    assert str(spouge.gamma(Fraction(gmpy2.mpz(1), gmpy2.mpz(3)))) == str(spouge.gamma(Fraction(1, 3)))
    assert str(spouge.gamma(mpmath.mpc(3, 4), digits=10)) == str(spouge.gamma("3+4j", digits=10))
    with pytest.raises(TypeError):
        spouge.gamma(True)
    with pytest.raises(ValueError):
        spouge.gamma(gmpy2.mpfr("nan"))


def test_bad_mode_and_bits():
    with pytest.raises(ValueError, match="rounding"):
        spouge.gamma(1, rounding="sideways")
    with pytest.raises(ValueError):
        spouge.gamma(1, bits=0)
    with pytest.raises(TypeError):
        spouge.gamma(1, bits="53")
    with pytest.raises(ValueError):
        spouge.gamma("3+4j", rounding="up")


def test_enclosure_mode():
    for fn, args in [
        (spouge.gamma, ("0.1",)),
        (spouge.lgamma, ("-2.5",)),
        (spouge.binomial, ("10.5", "3")),
        (spouge.beta, ("0.3", "0.4")),
        (spouge.rgamma, ("7.5",)),
    ]:
        lower, upper = fn(*args, digits=12, rounding="enclosure")
        assert lower.rounding == "down" and upper.rounding == "up"
        assert lower <= fn(*args, digits=40) <= upper and (lower < upper or (lower.exact and upper.exact))
    exact = spouge.factorial(5, digits=3, rounding="enclosure")
    assert exact.lower == exact.upper == 120


@pytest.mark.slow
def test_fgamma_a_million_random_doubles():
    """Opt-in (SPOUGE_SLOW=1): 10^6 random doubles over the whole domain, zero misrounded."""
    assert _fgamma_misrounded(1_000_000, 2026) == 0
