"""How many bits a call needs: predicted before the first try, raised after it.

Owns: the working precision of every pass of the rounding loop (Ziv's
strategy), from the input alone, and the ceiling that escalation may reach.
The cost model (``cost``) and the functions (``functions``) both plan with
``plan()``, so the time predicted is the time of the plan that runs.

Terms, for a call f(x) to `digits` significant digits:
- ``target``: digits*log2(10) + GUARD_BITS, the relative accuracy wanted of
  the result (for gamma: the absolute accuracy of ln|Γ|).
- ``extra``: bits for the size of ln|Γ(x)| itself (the exponent of 10^(10^1003)
  must come out exact), for ln(1/|x|) near 0 and ln(1/|f|) near a negative pole.
- ``cancel``: lgamma only.  ln|Γ| vanishes at x = 1, 2 and at two points in
  every interval (-n-1, -n), n >= 2, so near them ln|Γ(x)| is tiny and its
  relative accuracy costs -log2|ln Γ(x)| more bits.  Predicted from |x-1|,
  |x-2| exactly and elsewhere from a float preview of ln|Γ(x)| (Stirling's
  series in doubles, below); where the preview cannot see the value (it is
  below the preview's own error) the prediction is that error's bits and
  the first pass's ball says the rest.
- ``max_bits``: the escalation ceiling.  Rounding f(x) to D bits for an x of
  n bits is the Table Maker's Dilemma: over the 2^n possible inputs, the
  closest approach to a rounding boundary is about 2^-(D+n) (heuristically,
  and in every case measured by Lefèvre and Muller), and so for the zeros
  of ln|Γ|.  The ceiling is 2*(target+cancel) + 2n + 256, about twice that
  (n from ``input_bits``: the information in x, not the length of its spelling).
  No call found so far comes near it; reaching it raises ``UndecidedError``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import gmpy2

LOG2_10 = math.log2(10)
LN_2PI_HALF = 0.5 * math.log(2 * math.pi)

#: Bits beyond the requested digits on the first pass.  A pass fails to decide
#: with probability about 2^-GUARD_BITS, and then costs one more pass.
GUARD_BITS = 16

#: Extra bits over the ceiling's heuristic 2^-(D+n) closest approach.
CEILING_SLACK_BITS = 256


class UndecidedError(ValueError):
    """The value lies closer to a rounding boundary than the input allows for (never seen)."""


@dataclass(frozen=True, slots=True)
class Plan:
    """Bits of the first pass (``bits``: relative, before ``extra``), the bits the loop is
    likely to end at (``likely_bits``: more than ``bits`` only when the double-precision
    preview puts the value on a rounding boundary) and the ceiling."""

    bits: int
    extra: int
    max_bits: int
    input_bits: int
    likely_bits: int


def target_bits(digits: int) -> int:
    return math.ceil(digits * LOG2_10) + GUARD_BITS


def input_bits(*parts: Fraction) -> int:
    """Information in an exact input, in bits: how many inputs of its kind there are, log2.

    A decimal or binary x = p / (2^i 5^j) is one of ~2^bits(p) numbers with its
    exponent (1.5e-6500 has 3 bits, plus 16 for the exponent's range); any
    other rational p/q is one of ~2^(bits p + bits q).
    """
    total = 0
    for part in parts:
        p, q = abs(part.numerator), part.denominator
        rest = int(gmpy2.remove(gmpy2.remove(gmpy2.mpz(q), 2)[0], 5)[0]) if q > 1 else 1
        total = max(total, p.bit_length() + 16 if rest == 1 else p.bit_length() + q.bit_length())
    return total


def magnitude_bits(*parts: Fraction) -> int:
    """Bits for the size of ln|Γ(x)|: about log2(|x| ln|x| + ln(1/|x|) + ln(1/|f|)).

    Works in log2 space so that |x| = 10^10000 does not overflow a float.
    """
    top = 2.0
    for part in parts:
        p, q = part.numerator, part.denominator
        if not p:
            continue
        lg = abs(p).bit_length() - q.bit_length()  # within 1 of log2|x|
        # |x| log|x| for large x; log(1/|x|) for small x (the pole at 0)
        top = max(top, lg + math.log2(lg + 1) if lg > 0 else math.log2(1 - lg))
        if p < 0 and q != 1:  # log(1/|f|) near a negative pole, f = x - round(x)
            f_num = p - ((2 * p + q) // (2 * q)) * q
            top = max(top, math.log2(1 + q.bit_length() - abs(f_num).bit_length()))
    return math.ceil(top) + 3


def _log2_abs(x: Fraction) -> float:
    """log2|x| for x != 0, accurate to ~1e-15 relative, whatever the size of x."""
    p, q = abs(x.numerator), x.denominator
    shift = p.bit_length() - q.bit_length()
    if shift > 0:
        q <<= shift
    else:
        p <<= -shift
    return shift + math.log2(p / q)


def _stirling(y: float) -> float:
    """ln Γ(y) for y >= 15 by Stirling's series (5 terms; error < 1e-16 relative)."""
    inv = 1.0 / y
    inv2 = inv * inv
    series = inv * (1 / 12 - inv2 * (1 / 360 - inv2 * (1 / 1260 - inv2 * (1 / 1680 - inv2 / 1188))))
    return (y - 0.5) * math.log(y) - y + LN_2PI_HALF + series


def _ln_gamma_positive(x: float) -> tuple[float, float]:
    """(ln Γ(x), scale) for float x > 0: scale is the sum of the magnitudes added (for the error)."""
    shift, scale = 0.0, 0.0
    while x < 15:
        term = math.log(x)
        shift += term
        scale += abs(term)
        x += 1
    value = _stirling(x)
    return value - shift, scale + abs(value)


def preview_ln_abs_gamma(x: Fraction) -> tuple[float, float] | None:
    """(ln|Γ(x)| in doubles, a bound on its error), or None when |x| is too large to matter.

    Only sizes the precision: nothing rigorous depends on it.  Uses Stirling's
    series, the recurrence and the reflection formula (no library gamma).
    """
    if abs(x) > 10**12:
        return None  # ln|Γ| > 10^13: no cancellation is possible
    if abs(x) < Fraction(1, 10**12):  # Γ(x) = 1/x - γ + O(x): ln|Γ| = -ln|x| + O(x), no cancellation
        return -_log2_abs(x) * math.log(2), 1e-10
    if x > 0:
        value, scale = _ln_gamma_positive(float(x))
        return value, 1e-14 * scale + 1e-300
    nearest = round(x)
    f = x - nearest  # exact, |f| <= 1/2, f != 0 for a non-pole
    if abs(f) > Fraction(1, 10**300):
        ln_sin = math.log(math.sin(math.pi * abs(float(f))))
    else:  # sin(pi f) ~ pi f, and f is below float range
        ln_sin = math.log(math.pi) + _log2_abs(f) * math.log(2)
    lg, scale = _ln_gamma_positive(float(1 - x))
    value = math.log(math.pi) - ln_sin - lg
    return value, 1e-14 * (scale + abs(ln_sin) + 1.2) + 1e-300


def cancellation_bits(x: Fraction) -> int:
    """Bits lost to |ln Γ(x)| < 1 near its zeros (lgamma only; see the module notes)."""
    cancel = 0.0
    for zero in (1, 2):
        d = x - zero
        if d and abs(d) < Fraction(1, 4):
            cancel = max(cancel, -_log2_abs(d) + 2)
    preview = preview_ln_abs_gamma(x)
    if preview is not None:
        value, error = preview
        seen = abs(value) if abs(value) > 8 * error else 8 * error
        cancel = max(cancel, -math.log2(seen) + 2)
    return max(0, math.ceil(cancel))


#: The preview sees a rounding boundary only at up to this many digits.
PREVIEW_DIGITS = 12


def on_rounding_boundary(function: str, x: Fraction, digits: int) -> bool:
    """Does the double-precision preview put function(x) within its own error of a rounding boundary?

    Then the first pass will most likely not decide, and the loop will climb to
    about target + input_bits (how close an input of that size can bring the
    value to a boundary).  x is Γ's argument; only real x and digits <= 12.
    """
    preview = preview_ln_abs_gamma(x)
    if preview is None:
        return False
    log_value, error = preview
    near_known_zero = abs(x - 1) < Fraction(1, 4) or abs(x - 2) < Fraction(1, 4)  # cancellation_bits counts these
    if function == "lgamma" and abs(log_value) <= 8 * error and not near_known_zero:
        return True  # a zero of ln|Γ| the preview cannot resolve
    if digits > PREVIEW_DIGITS or log_value == 0 or (function == "lgamma" and near_known_zero):
        return False
    if function == "lgamma":
        value, relative = abs(log_value), error / abs(log_value)
        log10_value = math.log10(value)
    else:
        relative = error
        log10_value = log_value / math.log(10)
    if relative > 1e-6:
        return False  # the preview is too rough to say
    exponent = math.floor(log10_value)
    m = 10 ** (log10_value - exponent + digits - 1)  # in [10^(digits-1), 10^digits)
    distance = abs(m - math.floor(m) - 0.5)
    resolution = 4 * relative * m + 1e-13 * m  # in units of the last digit
    return resolution < 0.01 and distance < resolution


def plan(function: str, parts: tuple[Fraction, ...], digits: int) -> Plan:
    """The first pass's bits and the escalation ceiling for function(x) (Γ's argument in ``parts``)."""
    target = target_bits(digits)
    cancel = cancellation_bits(parts[0]) if function == "lgamma" else 0
    n = input_bits(*parts)
    bits = target + cancel
    ceiling = 2 * bits + 2 * n + CEILING_SLACK_BITS
    likely = bits
    if len(parts) == 1 and on_rounding_boundary(function, parts[0], digits):
        likely = min(ceiling, bits + n - GUARD_BITS)  # n counts 16 bits for the exponent's range
    return Plan(bits, magnitude_bits(*parts), ceiling, n, likely)


def next_bits(bits: int, deficit: int | None, ceiling: int, likely: int = 0) -> int | None:
    """The next pass's bits after an undecided one, or None past the ceiling.

    deficit: bits the last ball was short of (when it could tell); otherwise
    the precision doubles, so all passes together cost about twice the last.
    likely: when the plan expects a climb (a rounding boundary the preview saw),
    the second pass goes straight there instead of doubling its way up.
    """
    if bits >= ceiling:
        return None
    grown = bits + deficit + GUARD_BITS if deficit is not None else 2 * bits
    if bits < likely:
        grown = max(grown, likely)
    return min(grown, ceiling)
