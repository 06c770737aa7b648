"""Pictures of the method, as numbers: Spouge's error against a, and the size of each term.

Owns: ``error_curve`` (for a = 3..max_a: Spouge's bound a^(-1/2)(2π)^(-a-1/2)
and the relative error actually made by the a-term formula at z) and
``terms`` (c_0 and each c_k/(z+k), with sign and log10 size: the
cancellation the engine has to survive).  Used by the page, the CLI's plots
and docs/method.md.

z is the factorial argument: Γ(x) is drawn at z = x-1 (x >= 1) or z = x
(0 < x < 1), exactly as the engine evaluates it.  Only real z >= 0: that is
where the bound holds.  The "true" value comes from the engine itself at a
much higher precision (a larger a), so the measured error is exact to the
two digits shown.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import TypedDict

from flint import arb, ctx, fmpq

from .arguments import parse_real
from .coefficients import iter_coefficients, log2_truncation_bound
from .engine import log_factorial

MAX_A = 200
LOG10_2 = math.log10(2)


class ErrorPoint(TypedDict):
    a: int
    log10_bound: float
    log10_error: float | None  # None: below what is resolved


class Term(TypedDict):
    k: int | str  # "sum" for S
    sign: int
    log10_abs: float | None  # None: below 2^-bits


def factorial_argument(function: str, x: object) -> Fraction:
    """The z >= 0 at which the engine applies Spouge's formula for function(x)."""
    value = parse_real(x)
    if function == "factorial":
        z = value
    elif value >= 1:
        z = value - 1
    else:
        z = value
    if z < 0:
        raise ValueError(f"the method pictures need x >= 0 (got x = {x}): negative x goes through reflection")
    if abs(z) > 10**6:
        raise ValueError("the method pictures are drawn for |x| <= 10^6")
    return z


def _log10(value: arb) -> float | None:
    """log10|value| rounded to 4 places, or None for an exact zero (JSON has no -inf)."""
    if value.is_zero() or not value.is_finite():
        return None
    return round(float((abs(value).log() / arb(10).log()).mid().str(8, radius=False)), 4)


def error_curve(z: Fraction, max_a: int) -> list[ErrorPoint]:
    """[{a, log10_bound, log10_error}] for a = 3..max_a (log10_error None if below what we resolve)."""
    if not 3 <= max_a <= MAX_A:
        raise ValueError(f"max_a must be between 3 and {MAX_A}")
    # The real error falls faster than the bound (~2^-(4 a) at moderate z); the sum's cancellation costs
    # another ~1.84 a bits.  What stays unresolved is reported as None, never as noise.
    bits = int(max_a * 6) + 96
    p, q = z.numerator, z.denominator
    truth = log_factorial(p, q, bits + 32, bits + 64 + p.bit_length()).value
    if not isinstance(truth, arb):
        raise TypeError("log_factorial of a rational must be a real ball")
    out: list[ErrorPoint] = []
    with ctx.workprec(bits + 64 + p.bit_length()):
        zb = arb(fmpq(p, q))
        for a in range(3, max_a + 1):
            coeffs = list(iter_coefficients(a, bits + 32))
            scale = arb(2) ** -(bits + 32)
            s = arb(int(coeffs[0])) * scale
            for k in range(1, a):
                s += arb(int(coeffs[k])) * scale / (zb + k)
            t = zb + a
            approx = (zb + 0.5) * t.log() - t + s.log()
            error = (approx - truth).exp() - 1
            measured = None if error.contains(0) else _log10(error)
            out.append({"a": a, "log10_bound": round(log2_truncation_bound(a) * LOG10_2, 4), "log10_error": measured})
    return out


def terms(z: Fraction, a: int) -> list[Term]:
    """[{k, sign, log10_abs}] for c_0 and each c_k/(z+k), k = 1..a-1, and their sum S.

    log10_abs is None for a term below 2^-bits (its fixed-point coefficient is 0)."""
    if not 3 <= a <= MAX_A:
        raise ValueError(f"a must be between 3 and {MAX_A}")
    bits = int(a * 2.2) + 64
    p, q = z.numerator, z.denominator
    out: list[Term] = []
    with ctx.workprec(bits + 64):
        zb = arb(fmpq(p, q))
        scale = arb(2) ** -bits
        total = arb(0)
        for k, c in enumerate(iter_coefficients(a, bits)):
            value = arb(int(c)) * scale / (zb + k if k else 1)
            total += value
            out.append({"k": k, "sign": 1 if c > 0 else -1, "log10_abs": _log10(value)})
        out.append({"k": "sum", "sign": 1 if total > 0 else -1, "log10_abs": _log10(total)})
    return out
