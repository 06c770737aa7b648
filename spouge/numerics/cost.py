"""The public cost model: the precision and the time of a call, before making it.

Owns: ``estimate(function, x, digits)``.  It parses x and plans the passes
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
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass
from functools import lru_cache

from . import coefficients, corebridge, engine
from .arguments import check_digits, parse_number, parse_real
from .precision import next_bits, plan

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


def _interpolate(table, column: int, x: float) -> float:
    """Log-log interpolation in a measured table (extrapolated from the last two rows beyond it)."""
    xs = [row[0] for row in table]
    x = max(x, xs[0])
    i = min(max(bisect.bisect_left(xs, x), 1), len(xs) - 1)
    (x0, y0), (x1, y1) = (table[i - 1][0], table[i - 1][column]), (table[i][0], table[i][column])
    slope = math.log(y1 / y0) / math.log(x1 / x0)
    return y0 * (x / x0) ** slope


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

    def as_dict(self) -> dict:
        return {name: getattr(self, name) for name in self.__slots__}


def _kind(parts) -> tuple[str, int]:
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


def _size_seconds(x, parts) -> float:
    """Parsing a long string, and the exact rational arithmetic on a long x (reduction, rounding z, logs of x)."""
    seconds = 4e-3 * (len(x) / 1e5) ** 1.5 if isinstance(x, str) and len(x) > 1000 else 0.0
    size = sum(abs(p.numerator).bit_length() + p.denominator.bit_length() for p in parts)
    return seconds + 2e-4 * (size / 33000) ** 1.6


def estimate(function: str, x, digits: int = 16) -> Estimate:
    """Predict the working precision and the time of ``function(x, digits=digits)``.

    function: "gamma", "factorial" or "lgamma".  Raises what the call would
    raise for bad arguments (ValueError, PoleError, TypeError); a pole is
    cheap to refuse, so it is priced as one overhead rather than raised.
    """
    if function not in ("gamma", "factorial", "lgamma"):
        raise ValueError(f"function must be gamma, factorial or lgamma, not {function!r}")
    digits = check_digits(digits)
    value = parse_real(x) if function == "lgamma" else parse_number(x)
    parts = value if isinstance(value, tuple) else (value,)
    if function == "factorial":
        parts = (parts[0] + 1,) + tuple(parts[1:])
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
    while True:  # the rounding loop's passes up to the ceiling, each at a new size (cold)
        bits = next_bits(bits, None, p.max_bits, p.likely_bits)
        if bits is None:
            break
        worst += _pass_seconds(kind, bits, p.extra, factor)[1]
    a, _ = engine._plan(p.bits)
    return Estimate(
        function, digits, p.bits + p.extra, a, p.max_bits + p.extra, p.likely_bits + p.extra,
        fixed + now, fixed + warm, fixed + cold, fixed + max(worst, now),
    )
