"""The bridge to the optional C core (spouge._core): which core runs, and its real passes.

Owns: loading spouge._core (built by setup.py when GMP and Arb/FLINT are
present), the switch ``SPOUGE_PURE=1`` that forces the Python core, and the
thin calls that do ONE real pass of the Ziv loop in C.

Invariants:
- ``available`` is False when the extension is missing, fails to import, or
  ``SPOUGE_PURE=1``; ``name`` is then "python", else "c".  Nothing else here
  is usable when ``available`` is False.
- A pass in C returns what the Python pass would decide: the same Spouge a
  (choose_a), the same coefficient integers (checked |c_k 2^F - C_k| <= 1 on
  Arb's ball, the same algorithm), the same proven sum error, the ball of
  ln|Γ| at the same precisions, and the rounding rules of ``rounding`` (every
  point of the ball must round alike; a straddled power of ten only under the
  strict rule; no tie decided from a ball), in every mode of ``rounding.MODES``
  and radix 10 or 2 (not the subnormal grid, ``min_exponent``: Python keeps it).
  So when both decide, they decide the same digits; tests/test_core_*.py check
  it on thousands of inputs.
- Coefficient tables: the C side keeps its own LRU (same budget as coefficients.CACHE);
  a miss asks coefficients.CACHE.provider first (the disk cache), else makes the table in C.
- Progress: the C core reports coefficient work to ``progress`` (set_progress); threads: the
  streamed sums and new tables are made on SPOUGE_CORE_THREADS threads (default: the CPUs, at most 4).
- ``handles(q, bits)``: the C pass takes z as the exact rational p/q only.
  Long denominators (those engine._round_real would round to a dyadic first)
  stay on the Python path; ``handles`` is conservative (bits + 88 < the
  engine's least rounding threshold bits + 91).
"""

from __future__ import annotations

import os
from collections.abc import Callable

try:
    if os.environ.get("SPOUGE_PURE", "") not in ("", "0"):
        raise ImportError("SPOUGE_PURE is set")
    from .. import _core  # type: ignore[attr-defined]
except ImportError as exc:  # not built, libraries missing at run time, or forced off
    _core = None
    reason = str(exc)
else:
    reason = ""

available: bool = _core is not None
name: str = "c" if available else "python"
#: "c (flint2+arb 2.9.0)" or "python (<why>)": for --version, INFO and /health.
description: str = f"c ({_core.flint_api} {_core.flint_version})" if _core is not None else f"python ({reason})"

#: The engine rounds z when q.bit_length() > rel_bits + Z_GUARD_BITS + psi_bits + Z_ROUND_SLACK_BITS
#: (>= rel_bits + 24 + 3 + 64); below this margin it never does.
_LONG_Q_MARGIN = 88


def table_is_warm(a: int, frac_bits: int) -> bool:
    """Does the C core hold the coefficient table (a, F)?  (For cost.py's cold/warm estimate.)"""
    return available and _core.has_table(a, frac_bits)


def handles(q: int, bits: int) -> bool:
    """Can the C pass take x = p/q at `bits` (short denominator)?"""
    return available and q.bit_length() <= bits + _LONG_Q_MARGIN


if _core is not None:
    from . import coefficients as _coefficients
    from . import progress as _progress
    from .arguments import MAX_DECIMAL_EXPONENT, MAX_DIGITS

    _core.configure(MAX_DIGITS, MAX_DECIMAL_EXPONENT)
    gamma_first: Callable[[object, int, int], tuple[int, int, int, int] | None] = _core.gamma_first
    """gamma_first(x, digits, kind) -> (signed N, E, a, precision) or None.

    The whole FIRST pass of gamma (kind 0) or factorial (kind 1) of x, planned exactly as
    precision.plan plans it (bits = target_bits(digits), extra = magnitude_bits(x)), for
    x a plain decimal str without spaces ("31.4159", "-2.5e-3") or an int that fits 64 bits.
    None means "Python takes over from the start": unusual or invalid x or digits (Python
    then raises its own error), a pole, an m! that may sit on a rounding boundary (Python
    settles it exactly), a long denominator, or an undecided first pass.
    """

    def _provide_table(a: int, frac_bits: int) -> _coefficients.Table | None:
        """C-side table misses go where the Python ones go: coefficients.CACHE.provider (the disk
        cache and parallel generator of spouge.tablecache, when installed), else None (made in C)."""
        provider = _coefficients.CACHE.provider
        return provider(a, frac_bits) if provider is not None else None

    _core.set_table_provider(_provide_table)
    # Long coefficient work in C (streamed sums, new tables) asks progress.current() once
    # and reports ("coefficients", k, a) to it from the calling thread; a raise stops it.
    _core.set_progress(_progress.current)
    gamma_pass: Callable[[int, int, int, int, int, int, int], tuple[int, int, int, int] | None] = _core.gamma_pass
    """gamma_pass(p, q, bits, extra, digits, mode=0, radix=10) -> (sign, N, E, a) or None.

    One pass for Γ(p/q), q > 0, p/q not a pole: functions._ln_abs_gamma(x, bits, extra)
    then rounding.round_from_log(value, digits, MODES[mode], sign, radix) at
    bits + extra + 16; None = undecided.  Value = sign * N * radix^(E-digits+1).
    """
    lgamma_pass: Callable[[int, int, int, int, int, int, int], tuple[int, int, int, int] | int | None]
    lgamma_pass = _core.lgamma_pass
    """lgamma_pass(p, q, bits, extra, digits, mode=0, radix=10) -> (sign, N, E, a) | int | None.

    One pass for ln|Γ(p/q)| rounded by rounding.round_ball: decided -> (sign, N, E, a)
    (value = sign * N * radix^(E-digits+1)); undecided -> the ball's relative accuracy in
    bits (int) when it excludes 0, else None.
    """
    log_factorial = _core.log_factorial
    coefficients = _core.coefficients
    choose_a = _core.choose_a
    cache_info = _core.cache_info
    has_table = _core.has_table
    cache_clear = _core.cache_clear
    set_large_z = _core.set_large_z
    """set_large_z(wait, ratio): the 1/z expansion's policy for large x (engine.MOMENTS.wait and
    engine.LARGE_Z_RATIO on the Python side): moments made after wait*(J+1) eligible calls on a
    table, the expansion used where J + 1 <= (a-1)/ratio.  Defaults 2, 2."""
    moments_info = _core.moments_info
    moments_clear = _core.moments_clear
