"""Hostile-but-valid inputs for the engine, by category (used by tests/test_hard_inputs.py and bench/hard_inputs.py).

Each case is (category, function, x, digits) with x a string or an int.  The
points that make rounding hard are found here with python-flint's Arb (Newton
on Arb's own gamma/lgamma): that is test-side reference code, never on the
product's computation path.

Categories:
- lgamma_near_1_2   x = 1 ± 10^-k, 2 ± 10^-k: ln Γ(x) ~ -γ(x-1) cancels to nothing
- lgamma_neg_zeros  x within 10^-k of the zeros of ln|Γ| in (-n-1, -n), n = 2..6
- near_boundary     x* with Γ(x*) = 1.5, 1.25, 2.5, 10, 100 (a half-ulp or a power of ten at 1-2 digits)
                    truncated to n decimals: Γ(x) is within ~10^-n of the boundary
- tiny              ±m·10^-k, k up to 10000: Γ ~ 1/x, factorial ~ 1 - γx
- near_pole         -n ± m·10^-k, k up to 10000
- long_input        200 to 20000-digit decimal strings, ints and Fractions beyond Python's 4300-digit str limit
- complex_zero_part a+0j, 0+bj, integers and half-integers written as complex
"""

from __future__ import annotations

import random
from fractions import Fraction
from functools import lru_cache

from flint import arb, ctx, fmpq


def _decimal(value: arb, places: int) -> str:
    """value truncated (toward zero) to `places` decimals, as a plain decimal string."""
    with ctx.workprec(int(places * 3.33) + 128):
        scaled = (value * arb(10) ** places).floor() if value >= 0 else (value * arb(10) ** places).ceil()
        n = int(scaled.mid().unique_fmpz())
    sign = "-" if n < 0 else ""
    digits = str(abs(n)).rjust(places + 1, "0")
    return f"{sign}{digits[:-places]}.{digits[-places:]}"


def _newton(f, df, x0: str, places: int) -> arb:
    """A root of f near x0 to about `places` decimals (quadratic convergence; no rigour needed)."""
    prec = int(places * 3.33) + 64
    x = arb(x0)
    with ctx.workprec(prec):
        x = arb(x0)
        for _ in range(int(prec).bit_length() + 8):
            x = arb((x - f(x) / df(x)).mid())
    return x


@lru_cache(maxsize=64)
def gamma_level_point(level: str, start: str, places: int) -> arb:
    """x near `start` with Γ(x) = level."""
    return _newton(lambda t: t.gamma() - arb(level), lambda t: t.gamma() * t.digamma(), start, places)


@lru_cache(maxsize=64)
def lgamma_zero(start: str, places: int) -> arb:
    """A zero of ln|Γ| near `start` (negative x), found as |Γ(x)| = 1."""
    def f(t):
        g = t.gamma()
        return abs(g) - 1

    def df(t):
        g = t.gamma()
        return abs(g) * t.digamma()

    return _newton(f, df, start, places)


#: Starting points for the zeros of ln|Γ| on (-n-1, -n): two per interval (n >= 2).
NEGATIVE_ZERO_STARTS = ["-2.457", "-2.747", "-3.1437", "-3.9553", "-4.0394", "-4.9915", "-5.0082", "-5.9987", "-6.0014"]

#: (level, start) pairs: Γ(x) = level near start.  1.5 and 2.5 are half-way points at 1 digit;
#: 1.25 at 2 digits; 10 and 100 are powers of ten.
LEVEL_STARTS = [("1.5", "2.6627"), ("1.5", "0.5947"), ("1.25", "2.4"), ("2.5", "3.1"), ("10", "4.6"), ("100", "6.4"),
                ("10", "0.0991"), ("1.5", "-0.66")]


def cases(size: str = "small", seed: int = 20261130) -> list[tuple[str, str, object, int]]:
    """The case list: 'small' for the unit suite (~250 cases), 'large' for the bench and SPOUGE_SLOW runs."""
    rng = random.Random(seed)
    large = size == "large"
    out: list[tuple[str, str, object, int]] = []
    digit_choices = [1, 2, 3, 5, 11, 16, 30, 50, 100]
    # lgamma near 1 and 2, from both sides
    extra = {rng.randint(1, 3000) for _ in range(20)} if large else set()
    ks = sorted({1, 2, 5, 10, 17, 30, 60, 100, 300, 1000, 1400, 3000} | extra)
    for k in ks:
        for base in (1, 2):
            for side in (1, -1):
                x = Fraction(base) + side * Fraction(1, 10**k)
                digits = rng.choice([1, 5, 16, 30])
                out.append(("lgamma_near_1_2", "lgamma", _frac_text(x, k), digits))
    # zeros of ln|Γ| on the negative axis
    places_list = [5, 20, 60, 150] + ([300, 600] if large else [])
    for start in NEGATIVE_ZERO_STARTS if large else NEGATIVE_ZERO_STARTS[:5]:
        for places in places_list:
            zero = lgamma_zero(start, places + 10)
            out.append(("lgamma_neg_zeros", "lgamma", _decimal(zero, places), rng.choice([1, 5, 16])))
    # Γ(x) at a rounding boundary
    boundary_digits = {"1.5": [1], "2.5": [1], "1.25": [2], "10": [1, 2, 5], "100": [1, 3]}
    for level, start in LEVEL_STARTS:
        for places in ([10, 30, 100, 380] + ([700, 1000, 2000] if large else [])):
            point = gamma_level_point(level, start, places + 10)
            fn = rng.choice(["gamma", "factorial"])
            with ctx.workprec(int(places * 3.33) + 128):
                if fn == "factorial":
                    point = point - 1
                ulp = arb(10) ** -places if point >= 0 else -(arb(10) ** -places)
                for nudge in (0, 1):  # truncated, and one unit in the last place away: both sides of the boundary
                    text = _decimal(point + ulp * nudge, places)
                    out.append(("near_boundary", fn, text, rng.choice(boundary_digits[level])))
    # tiny arguments of both signs
    for k in ([1, 5, 17, 100, 600, 2813, 6500, 10000] + ([rng.randint(1, 10000) for _ in range(30)] if large else [])):
        for fn in ("gamma", "factorial", "lgamma"):
            sign = rng.choice(["", "-"])
            mantissa = rng.choice(["1", "8.5276425384332111400", "1.5",
                                   str(rng.randint(1, 9)) + "." + str(rng.randint(0, 10**12))])
            out.append(("tiny", fn, f"{sign}{mantissa}e-{k}", rng.choice(digit_choices)))
    # near the poles
    for n in (1, 2, 7, 50, 1000):
        for k in ([3, 30, 300, 3000, 10000] if large else [3, 300, 10000]):
            side = rng.choice([1, -1])
            offset = Fraction(rng.randint(1, 9), 10**k) * side
            x = Fraction(-n) + offset
            out.append(("near_pole", rng.choice(["gamma", "lgamma"]), _frac_text(x, k), rng.choice(digit_choices)))
    # long inputs
    for length in ([200, 4301, 6000] + ([10000, 20000] if large else [])):
        body = "".join(rng.choice("0123456789") for _ in range(length))
        out.append(("long_input", "gamma", "0." + body, rng.choice([5, 16, 50])))
        out.append(("long_input", "lgamma", "3." + body, rng.choice([5, 16, 50])))
        out.append(("long_input", "gamma", "-7." + body, rng.choice([5, 16])))
        out.append(("long_input", "factorial", "1" + body[:min(length, 4400)], 16))
    out.append(("long_input", "factorial", 10**4300, 16))
    out.append(("long_input", "gamma", _frac_text(Fraction(10**5000 + 1, 10**5000), 5000), 16))
    # complex with a zero part
    out.extend(("complex_zero_part", rng.choice(["gamma", "factorial"]), text, rng.choice([16, 50, 100]))
               for text in ["1+0j", "2.5+0j", "-2.5+0j", "0.1+0j", "100+0j", "1e-600+0j", "3-0j", "0+2j", "-0.5+0j"])
    return out


def _frac_text(x: Fraction, places: int) -> str:
    """Exact decimal text of x = n / 10^places."""
    scaled = x * 10**places
    assert scaled.denominator == 1
    n = int(scaled)
    sign = "-" if n < 0 else ""
    import gmpy2

    digits = gmpy2.mpz(abs(n)).digits(10).rjust(places + 1, "0")
    return f"{sign}{digits[:-places]}.{digits[-places:]}" if places else f"{sign}{digits}"


def parse_exact(x) -> Fraction | tuple[Fraction, Fraction]:
    """Independent exact parser for the reference (decimal text, complex text or int)."""
    if isinstance(x, int):
        return Fraction(x)
    text = x.strip()
    if text.endswith("j"):
        body = text[:-1]
        cut = max(body.rfind("+"), body.rfind("-"))
        return parse_exact(body[:cut]), parse_exact(body[cut:] or "1")
    import gmpy2

    mantissa, _, exponent = text.lower().partition("e")
    sign = -1 if mantissa.startswith("-") else 1
    mantissa = mantissa.lstrip("+-")
    whole, _, frac = mantissa.partition(".")
    n = int(gmpy2.mpz((whole + frac) or "0"))
    e = (int(exponent) if exponent else 0) - len(frac)
    return sign * (Fraction(n * 10**e) if e >= 0 else Fraction(n, 10**-e))


def as_arb(x: Fraction) -> arb:
    return arb(fmpq(x.numerator, x.denominator))
