"""The public cost model: the precision and the time of a call, before making it.

Owns: ``estimate(function, x, digits, rounding=, bits=)`` for every function
of the library: gamma, factorial, lgamma, rgamma, loggamma (one argument x)
and beta, binomial, rising, falling (x is the pair of arguments).  It parses x and plans the passes
exactly as the call would (``precision.plan``), then prices each pass from
tables measured on the engine itself (``bench/calibrate_cost.py`` prints
them; re-run it on a new kind of machine).  Pure arithmetic on small
numbers: tens of microseconds, no big-number work.

What a pass at R bits (relative) costs, interpolated log-log in R:
- warm: the partial-fraction sum and the logs, with the coefficient table in
  the cache; three columns: a short real z (denominator <= 64 bits), a long
  one (z rounded to 2^-s, so each term is a big-by-big division) and complex;
- cold: building the coefficient table for that a (first call at that size;
  tables too large for the cache's budget are rebuilt on every call);
- the logs at R + extra bits when ln|Γ(x)| is itself large (|x| up to 10^10000);
- parsing: long decimal strings (O(n^1.5) in the digits, from the gcd of Fraction).
Escalation: ``seconds`` is the first pass (a second pass happens with
probability ~2^-16), unless the double-precision preview puts the value on
a rounding boundary (``precision.on_rounding_boundary``): then the second
pass, straight at ``likely_bits`` (about target + the input's bits), counts too;
``worst_seconds`` adds every pass the Ziv loop may take on the way to the
ceiling, doubling the bits each time, each with a cold table.

The family (``family.py``) is priced from its Γ evaluations: a value computed
in log space, V = ±exp(sum c_i ln|Γ(x_i)|), costs one lgamma-like pass per
term at the family's working precision (plus the bits for the largest
|ln Γ(x_i)|); an exact rational value (integer arguments of binomial/beta,
rising/falling with an integer n) costs its product and its exact rounding,
which grow about quadratically in the product's size (``EXACT_TABLE``, up to
``family.EXACT_MAX_BITS``: seconds at the top).  Directed modes and bits=
skip the C first pass (``DIRECTED_FACTOR``); "enclosure" is two calls.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from typing import Any

from . import coefficients, corebridge, engine
from .arguments import check_digits, parse_number, parse_real
from .precision import magnitude_bits, next_bits, plan
from .rounding import MODES

#: (R bits, cold table, warm short real z, warm long z, warm complex z) in seconds,
#: from ``python3 bench/calibrate_cost.py`` on the 2-core CI machine (2026-11-30).
PASS_TABLE = (
    (32, 5.8e-05, 9.03e-06, 1.32e-05, 1.38e-05),
    (64, 0.000113, 8.12e-06, 1.83e-05, 1.56e-05),
    (128, 0.000231, 1.01e-05, 2.62e-05, 2.25e-05),
    (256, 0.00051, 1.42e-05, 4.47e-05, 3.66e-05),
    (512, 0.00111, 2.7e-05, 0.00011, 7.23e-05),
    (1024, 0.00261, 5.89e-05, 0.000375, 0.000167),
    (2048, 0.00711, 0.000173, 0.00185, 0.000477),
    (4096, 0.024, 0.000616, 0.00995, 0.00177),
    (8192, 0.108, 0.00232, 0.0554, 0.00696),
    (16384, 0.546, 0.00987, 0.305, 0.0228),
    (32768, 3.68, 0.0375, 2.52, 0.0959),
)

#: (bits, seconds) for the two logs and one exp of a pass at that precision (python-flint).
LOG_TABLE = ((64, 3.6e-06), (1024, 1.26e-05), (4096, 2.94e-04), (16384, 1.74e-03), (65536, 3.69e-02))

#: Per-call overhead outside the passes (argument checks, plan, result object).
CALL_OVERHEAD = 1.5e-05

#: Refusing a pole: parsing and one comparison.
POLE_SECONDS = 5e-06

_COLUMNS = {"cold": 1, "short": 2, "long": 3, "complex": 4}

#: (bits of the exact product, seconds) for the family's exact road: the product by binary
#: splitting, then Fraction arithmetic and the exact rounding (its gcds are quadratic in
#: CPython).  Measured on binomial(10^d, 300), rising(0.3, m) and beta(3.5, m) on the 2-core
#: machine (2026-11-30), the slowest of the three at each size, rounded up.
EXACT_TABLE = ((1000, 1e-4), (20_000, 1e-3), (100_000, 1.6e-2), (300_000, 1.3e-1), (1_000_000, 2.8), (2_000_000, 7.0))

#: Directed modes and bits= take the Python pass, not the C first pass (x1.5 measured at 16-1000 digits, rounded up).
DIRECTED_FACTOR = 2.0

#: Functions of one argument and of two (x is then a pair).
ONE_ARGUMENT = ("gamma", "factorial", "lgamma", "rgamma", "loggamma")
TWO_ARGUMENTS = ("beta", "binomial", "rising", "falling")
FUNCTIONS = ONE_ARGUMENT + TWO_ARGUMENTS


def _interpolate(table: Sequence[Sequence[float]], column: int, x: float) -> float:
    """Log-log interpolation in a measured table (extrapolated from the last two rows beyond it)."""
    xs = [row[0] for row in table]
    x = max(x, xs[0])
    i = min(max(bisect.bisect_left(xs, x), 1), len(xs) - 1)
    (x0, y0), (x1, y1) = (table[i - 1][0], table[i - 1][column]), (table[i][0], table[i][column])
    slope = math.log(y1 / y0) / math.log(x1 / x0)
    y: float = y0 * (x / x0) ** slope  # (a positive base: a float, though typeshed says Any)
    return y


@dataclass(frozen=True, slots=True)
class Estimate:
    """What a call to function(x, digits) will cost, predicted.  Times in seconds."""

    function: str
    digits: int
    bits: int  # working precision of the first pass, relative bits plus the bits for |ln Γ|
    a: int  # Spouge's a on the first pass
    max_bits: int  # the highest precision the rounding loop may escalate to
    likely_bits: int  # the precision the loop is expected to end at (> bits on a rounding boundary)
    seconds: float  # this call now (the coefficient table cached or not, as it is)
    warm_seconds: float  # with the coefficient table cached
    cold_seconds: float  # including building the coefficient table
    worst_seconds: float  # if the rounding loop escalates all the way to max_bits

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}


def _kind(parts: Sequence[Fraction]) -> tuple[str, int]:
    """The table column, and the denominator's bits (the long column's cost grows with them)."""
    q_bits = max(p.denominator.bit_length() for p in parts)
    if len(parts) == 2 and parts[1] != 0:
        return "complex", q_bits
    return ("short" if q_bits <= engine.Q_HEADROOM_BITS else "long"), q_bits


@lru_cache(maxsize=4096)
def _pass_seconds(kind: tuple[str, int], rel_bits: int, extra: int, factor: float = 1.0) -> tuple[float, float]:
    """(warm, cold) seconds of one pass at rel_bits; factor scales the warm part (the function's own work)."""
    column, q_bits = kind
    warm = _interpolate(PASS_TABLE, _COLUMNS[column], rel_bits)
    if column == "long":  # measured with z rounded to ~rel_bits; a shorter denominator divides faster
        short = _interpolate(PASS_TABLE, _COLUMNS["short"], rel_bits)
        warm = short + (warm - short) * min(1.0, q_bits / (rel_bits + engine.Z_GUARD_BITS + 64))
    if extra > 64:
        warm += _interpolate(LOG_TABLE, 1, rel_bits + extra)
    warm *= factor
    # x1.6: a first call at a new size also fills Arb's constant caches (pi, log 2 at that
    # precision) and the bound and a caches; measured against cold calls by bench/cost_model.py.
    cold = warm + 1.6 * _interpolate(PASS_TABLE, _COLUMNS["cold"], rel_bits)
    return warm, cold


def _cached(rel_bits: int) -> bool:
    a, frac_bits = engine._plan(rel_bits)
    return (a, frac_bits) in coefficients.CACHE._tables or corebridge.table_is_warm(a, frac_bits)


def _size_seconds(x: object, parts: Sequence[Fraction]) -> float:
    """Parsing a long string, and the exact rational arithmetic on a long x (reduction, rounding z, logs of x)."""
    seconds = 4e-3 * (len(x) / 1e5) ** 1.5 if isinstance(x, str) and len(x) > 1000 else 0.0
    size = sum(abs(p.numerator).bit_length() + p.denominator.bit_length() for p in parts)
    arithmetic: float = 2e-4 * (size / 33000) ** 1.6  # (a positive base: a float, though typeshed says Any)
    return seconds + arithmetic


def estimate(function: str, x: object, digits: int = 16, *, rounding: str = "nearest",
             bits: int | None = None) -> Estimate:
    """Predict the working precision and the time of ``function(x, digits=digits, rounding=, bits=)``.

    function: one of ``FUNCTIONS``; for beta, binomial, rising and falling x
    is the pair of arguments.  Raises what the call would raise for bad
    arguments (ValueError, TypeError); a pole is cheap to refuse, and an
    exact zero cheap to return, so both are priced as one overhead.
    """
    if function not in FUNCTIONS:
        raise ValueError(f"function must be one of {', '.join(FUNCTIONS)}, not {function!r}")
    if rounding == "enclosure":  # two calls, rounded down and up
        one = estimate(function, x, digits, rounding="down", bits=bits)
        return Estimate(one.function, one.digits, one.bits, one.a, one.max_bits, one.likely_bits,
                        *(2 * getattr(one, f) for f in ("seconds", "warm_seconds", "cold_seconds", "worst_seconds")))
    if rounding not in MODES:
        raise ValueError(f"rounding must be one of {', '.join(MODES)} or enclosure, not {rounding!r}")
    if bits is not None:
        if isinstance(bits, bool) or not isinstance(bits, int) or not 1 <= bits <= 332_193:
            raise ValueError(f"bits must be an int from 1 to 332193, not {bits!r}")
        digits = max(1, math.ceil(bits * math.log10(2)) + 1)  # the plan counts decimal digits
    digits = check_digits(digits)
    if function in TWO_ARGUMENTS or function == "rgamma":
        return _estimate_family(function, x, digits)
    factor = 1.0 if rounding == "nearest" and bits is None else DIRECTED_FACTOR
    if function == "loggamma":
        value = parse_number(x)
        re, im = value if isinstance(value, tuple) else (value, Fraction(0))
        if im == 0 and re > 0:  # lgamma's road
            return _estimate_gamma("lgamma", x, digits, 3 * factor, re)  # measured ~3x lgamma's bare pass
        if im == 0 and re.denominator == 1:  # a pole: refused at once
            return _estimate_gamma("gamma", x, digits, 1.0, re)
        # the complex road (the cut too): one complex pass 8 bits up, and the reflection's sine for Re z < 0
        return _estimate_gamma("gamma", x, digits, 1.5 if re >= 0 else 6.0, (re, im if im else Fraction(1, 10**9)))
    return _estimate_gamma(function, x, digits, factor)


def _scaled(e: Estimate, factor: float) -> Estimate:
    if factor == 1.0:
        return e
    return Estimate(e.function, e.digits, e.bits, e.a, e.max_bits, e.likely_bits, e.seconds * factor,
                    e.warm_seconds * factor, e.cold_seconds * factor, e.worst_seconds * factor)


def _estimate_gamma(function: str, x: object, digits: int, scale: float = 1.0,
                    value: Fraction | tuple[Fraction, Fraction] | None = None) -> Estimate:
    """gamma, factorial, lgamma (and loggamma, priced as these): the passes of functions.py.

    value: x already parsed (loggamma); scale multiplies every time (the Python pass, loggamma's extra work).
    """
    if value is None:
        value = parse_real(x) if function == "lgamma" else parse_number(x)
    parts: tuple[Fraction, ...] = value if isinstance(value, tuple) else (value,)
    if function == "factorial":
        parts = (parts[0] + 1, *parts[1:])
    if len(parts) == 2 and parts[1] == 0:
        parts = parts[:1]  # the real road
    fixed = CALL_OVERHEAD + _size_seconds(x, parts)
    if all(p.denominator == 1 for p in parts[:1]) and parts[0] <= 0 and len(parts) == 1:
        refuse = POLE_SECONDS + _size_seconds(x, parts)
        return Estimate(function, digits, 0, 0, 0, 0, refuse, refuse, refuse, refuse)  # a pole: refused at once
    if len(parts) == 2:  # complex: the loop starts 4 bits above the plan (functions._complex_result)
        p = plan("gamma", parts, digits)
        p = type(p)(p.bits + 4, p.extra, p.max_bits, p.input_bits, p.likely_bits + 4)
    else:  # a complex x with a zero imaginary part takes the real road at digits + 1
        p = plan(function, parts, digits + (1 if isinstance(value, tuple) else 0))
    kind = _kind(parts)
    # The table prices a bare pass of gamma for x > 0; what the functions add around it, measured
    # (bench/cost_model.py, medians): x < 0 (sine, reflection) x1.25, lgamma's ball rounding x1.15.
    factor = 1.3 * (1.25 if parts[0] < 0 else 1.0) * (1.15 if function == "lgamma" else 1.0)
    warm, cold = _pass_seconds(kind, p.bits, p.extra, factor)
    now = warm if _cached(p.bits) else cold
    if p.likely_bits > p.bits:  # a boundary case: a second pass, straight at likely_bits, is expected
        pass_warm, pass_cold = _pass_seconds(kind, p.likely_bits, p.extra, factor)
        now += pass_warm if _cached(p.likely_bits) else pass_cold
        warm += pass_warm
        cold += pass_cold
    worst, bits = cold, p.bits
    # the rounding loop's passes up to the ceiling, each at a new size (cold)
    while (step := next_bits(bits, None, p.max_bits, p.likely_bits)) is not None:
        bits = step
        worst += _pass_seconds(kind, bits, p.extra, factor)[1]
    a, _ = engine._plan(p.bits)
    return _scaled(Estimate(
        function, digits, p.bits + p.extra, a, p.max_bits + p.extra, p.likely_bits + p.extra,
        fixed + now, fixed + warm, fixed + cold, fixed + max(worst, now),
    ), scale)


def _exact_size(x: Fraction, n: int) -> int:
    """family._rising_exact_size: the bits of the exact product x (x+1) ... (x+n-1)."""
    size = max(abs(x.numerator).bit_length(), x.denominator.bit_length()) + abs(n).bit_length() + 1
    return abs(n) * size


def _exact_estimate(function: str, digits: int, size: int, fixed: float) -> Estimate:
    seconds = fixed + (_interpolate(EXACT_TABLE, 1, size) if size > 0 else 0.0)
    return Estimate(function, digits, 0, 0, 0, 0, seconds, seconds, seconds, seconds)


def _is_pole(x: Fraction) -> bool:
    return x.denominator == 1 and x <= 0


def _estimate_family(function: str, x: object, digits: int) -> Estimate:
    """rgamma, beta, binomial, rising, falling: the road family.py takes, priced.

    Exact roads by the size of their product; log-space roads as one
    lgamma-like pass per Γ term at the family's precision (``family._log_space``);
    zeros and poles as one overhead.
    """
    from .family import EXACT_MAX_BITS

    texts: tuple[object, ...]
    values: list[Fraction]  # (a list: its length is the function's, known only at run time)
    if function == "rgamma":
        texts = (x,)
        values = [parse_real(x)]
    else:
        if not isinstance(x, (tuple, list)) or len(x) != 2:
            raise TypeError(f"{function} takes two arguments: pass x as a pair")
        texts = tuple(x)
        values = [parse_real(x[0], "a"), parse_real(x[1], "b")]
    fixed = CALL_OVERHEAD + sum(_size_seconds(t, (v,)) for t, v in zip(texts, values, strict=True))
    cheap = _exact_estimate(function, digits, 0, fixed + POLE_SECONDS)
    terms = None
    if function == "rgamma":
        (v,) = values
        if _is_pole(v):
            return cheap
        if v.denominator == 1 and v <= 3000:
            return _exact_estimate(function, digits, 12 * int(v), fixed)
        terms = [v]
    elif function == "beta":
        va, vb = values
        for other, m in ((va, vb), (vb, va)):
            if m.denominator == 1 and m >= 1:
                size = _exact_size(other, int(m))
                if size <= EXACT_MAX_BITS:
                    return _exact_estimate(function, digits, size, fixed)
        if _is_pole(va) or _is_pole(vb) or _is_pole(va + vb):
            return cheap
        terms = [va, vb, va + vb]
    elif function == "binomial":
        vn, vk = values
        if vk.denominator == 1:
            k = int(vk)
            if k < 0:
                if vn.denominator == 1 and vn < 0 and k <= vn:  # mirrored to a positive binomial
                    return _estimate_family("binomial", (-k - 1, -int(vn) - 1), digits)
                return cheap
            if vn.denominator == 1 and vn >= 0:
                if k > vn:
                    return cheap
                k = min(k, int(vn) - k)
            size = _exact_size(vn, k)
            if size <= EXACT_MAX_BITS:
                return _exact_estimate(function, digits, size, fixed)
            if vn.denominator == 1 and vn < 0:
                return _estimate_family("binomial", (-vn + k - 1, k), digits)
        if _is_pole(vn + 1) or _is_pole(vk + 1) or _is_pole(vn - vk + 1):
            return cheap
        terms = [vn + 1, vk + 1, vn - vk + 1]
    else:  # rising, falling
        vx, vn = values
        if function == "falling":
            vx = vx - vn + 1
        if vn.denominator == 1:
            n = int(vn)
            if n >= 0 and _exact_size(vx, n) <= EXACT_MAX_BITS:
                return _exact_estimate(function, digits, _exact_size(vx, n), fixed)
            if n < 0 and _exact_size(vx + n, -n) <= EXACT_MAX_BITS:
                return _exact_estimate(function, digits, _exact_size(vx + n, -n), fixed)
        if _is_pole(vx) or _is_pole(vx + vn):
            return cheap
        terms = [vx + vn, vx]
    return _log_space_estimate(function, digits, terms, fixed)


def _log_space_estimate(function: str, digits: int, terms: list[Fraction], fixed: float) -> Estimate:
    """family._log_space: passes at `bits` over every term until the ball decides (the ceiling: worst)."""
    p = plan("gamma", tuple(terms[:1]), digits)
    extra = max(magnitude_bits(t) for t in terms) + 2
    bits = p.bits + 2 * len(terms).bit_length()
    size = max(max(abs(t.numerator).bit_length(), t.denominator.bit_length()) for t in terms)
    ceiling = max(p.max_bits, 2 * bits + 2 * size + 256)

    def one_pass(at: int) -> tuple[float, float]:
        warm = cold = 0.0
        for t in terms:
            # factor: the Python pass (no C first pass), x < 0 (sine, reflection), the rounding from the log
            factor = DIRECTED_FACTOR * 1.3 * (1.25 if t < 0 else 1.0) * 1.15
            w, c = _pass_seconds(_kind((t,)), at, extra, factor)
            warm, cold = warm + w, cold + (c if not _cached(at) else w)
        return warm, cold

    warm, cold = one_pass(bits)
    now = warm if _cached(bits) else cold
    worst, at = cold, bits
    while (step := next_bits(at, None, ceiling)) is not None:
        at = step
        worst += one_pass(at)[1]
    a, _ = engine._plan(bits)
    return Estimate(function, digits, bits + extra, a, ceiling + extra, bits + extra,
                    fixed + now, fixed + warm, fixed + cold, fixed + max(worst, now))
