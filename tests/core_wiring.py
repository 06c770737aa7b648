"""A private copy of functions.py's real wiring with the C core routed in (tests and bench/core_speed.py only).

The same routing as the patch proposed for functions.py in the issue-11 report,
for the default rounding (nearest, decimal): gamma/factorial first try
corebridge.gamma_first (the whole first pass in C); a pass is
corebridge.gamma_pass / lgamma_pass when corebridge.handles(q, bits); otherwise
the unchanged Python pass.  (The patch itself also routes the directed modes and
bits=; tests/test_core_agreement.py checks those rules directly.)
"""

from __future__ import annotations

from spouge.numerics import corebridge
from spouge.numerics.arguments import check_digits, parse_real
from spouge.numerics.coefficients import log2_truncation_bound
from spouge.numerics.functions import (
    PoleError, _exact_factorial, _exact_text, _is_integer, _ln_abs_gamma, _may_be_boundary, _short, _undecided,
    bound_text,
)
from spouge.numerics.precision import next_bits, plan, target_bits
from spouge.numerics.result import SpougeResult, int_text
from spouge.numerics.rounding import round_ball, round_from_log, round_integer
from flint import ctx


def _real_result(name, x, text, digits, factorial_of):
    p = plan("gamma", (x,), digits)
    bits, extra = p.bits, p.extra
    num, den = x.numerator, x.denominator
    while True:
        if corebridge.handles(den, bits):  # --- patch: one pass in C
            r = corebridge.gamma_pass(num, den, bits, extra, digits)
            if r is not None:
                sign, mantissa, exponent, a = r
                return SpougeResult(name, text, digits, sign * mantissa, exponent, a,
                                    bound_text(log2_truncation_bound(a)), bits + extra)
            decided = None
        else:  # --- unchanged Python pass
            value, sign, a, log2_bound = _ln_abs_gamma(x, bits, extra)
            with ctx.workprec(bits + extra + 16):
                decided = round_from_log(value, digits)
        if decided is None and factorial_of is not None and _may_be_boundary(factorial_of, digits):
            decided = round_integer(_exact_factorial(factorial_of), digits)
            if decided is not None and corebridge.handles(den, bits):
                sign, a = 1, corebridge.choose_a(bits)  # Γ(integer) > 0
                log2_bound = log2_truncation_bound(a)
        if decided is not None:
            mantissa, exponent = decided
            return SpougeResult(name, text, digits, sign * mantissa, exponent, a, bound_text(log2_bound), bits + extra)
        following = next_bits(bits, None, p.max_bits, p.likely_bits)
        if following is None:
            raise _undecided(name, text, digits, bits)
        bits = following


from functools import lru_cache


@lru_cache(maxsize=None)
def _bound_for(a: int) -> str:
    return bound_text(log2_truncation_bound(a))


_first = corebridge.gamma_first if corebridge.available else None


def gamma(x, digits: int = 16):
    if _first is not None:  # --- patch: the whole first pass in C
        r = _first(x, digits, 0)
        if r is not None:
            return SpougeResult("gamma", x if type(x) is str else int_text(x), digits, r[0], r[1], r[2], _bound_for(r[2]), r[3],
                                10, "nearest", False, x)
    digits = check_digits(digits)
    value = parse_real(x)
    text = _exact_text(x)
    if _is_integer(value) and value <= 0:
        raise PoleError(f"gamma({_short(text)}): Γ has a pole at x = {_short(int_text(int(value)))}")
    return _real_result("gamma", value, text, digits, int(value) - 1 if _is_integer(value) else None)


def factorial(x, digits: int = 16):
    if _first is not None:  # --- patch
        r = _first(x, digits, 1)
        if r is not None:
            return SpougeResult("factorial", x if type(x) is str else int_text(x), digits, r[0], r[1], r[2], _bound_for(r[2]), r[3],
                                10, "nearest", False, x)
    digits = check_digits(digits)
    value = parse_real(x)
    text = _exact_text(x)
    if _is_integer(value) and value < 0:
        raise PoleError(f"factorial({_short(text)}): x! = Γ(x+1) has a pole at x = {_short(int_text(int(value)))}")
    return _real_result("factorial", value + 1, text, digits, int(value) if _is_integer(value) else None)


def lgamma(x, digits: int = 16):
    digits = check_digits(digits)
    value = parse_real(x)
    text = _exact_text(x)
    if _is_integer(value) and value <= 0:
        raise PoleError(f"lgamma({_short(text)}): Γ has a pole at x = {_short(int_text(int(value)))}")
    p = plan("lgamma", (value,), digits)
    bits, extra = p.bits, p.extra
    target = target_bits(digits)
    num, den = value.numerator, value.denominator
    while True:
        if value in (1, 2):
            a = corebridge.choose_a(bits) if corebridge.available else _ln_abs_gamma(value, bits, extra)[2]
            return SpougeResult("lgamma", text, digits, 0, 0, a, bound_text(log2_truncation_bound(a)), bits + extra)
        if corebridge.handles(den, bits):  # --- patch: one pass in C
            r = corebridge.lgamma_pass(num, den, bits, extra, digits)
            if type(r) is tuple:
                sign, mantissa, exponent, a = r
                return SpougeResult("lgamma", text, digits, sign * mantissa, exponent, a,
                                    bound_text(log2_truncation_bound(a)), bits + extra)
            deficit = None if r is None else max(0, target - r)
        else:
            ln_abs, _, a, log2_bound = _ln_abs_gamma(value, bits, extra)
            with ctx.workprec(bits + extra + 16):
                decided = round_ball(ln_abs, digits)
                deficit = None
                if decided is None and not ln_abs.contains(0):
                    deficit = max(0, target - ln_abs.rel_accuracy_bits())
            if decided is not None:
                sign, (mantissa, exponent) = decided
                return SpougeResult("lgamma", text, digits, sign * mantissa, exponent, a, bound_text(log2_bound), bits + extra)
        following = next_bits(bits, deficit, p.max_bits, p.likely_bits)
        if following is None:
            raise _undecided("lgamma", text, digits, bits)
        bits = following
