"""Fuzzing the C core's entry points (issue 11, item 5): no crash, no wrong digits, on any input.

A short run is part of the suite; ``SPOUGE_SLOW=1`` runs the long one
(>= 10^5 hypothesis examples per entry point; see bench/core_sanitize.sh for
the same under AddressSanitizer).  Every decided answer of the C first pass is
compared with the Python core's; anything it declines (None) must be something
Python either computes or rejects with its own error.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import spouge
from spouge.numerics import corebridge

pytestmark = pytest.mark.skipif(not corebridge.available, reason=f"C core not available ({corebridge.description})")

LONG = settings(max_examples=int(os.environ.get("SPOUGE_CORE_FUZZ_EXAMPLES", "100000")), deadline=None,
                suppress_health_check=list(HealthCheck), derandomize=False)

_digits = st.text("0123456789", min_size=0, max_size=30)
decimal_text = st.builds(
    lambda sign, whole, point, frac, e, esign,
    exp: f"{sign}{whole}{'.' if point else ''}{frac}{e}{esign if e else ''}{exp if e else ''}",
    st.sampled_from(["", "+", "-"]), _digits, st.booleans(), _digits, st.sampled_from(["", "e", "E"]),
    st.sampled_from(["", "+", "-"]), st.text("0123456789", min_size=0, max_size=8),
)
any_text = st.one_of(decimal_text, st.text(max_size=40), st.text("0123456789.eE+-_ jJ", max_size=40))
small_digits = st.integers(min_value=-3, max_value=40)
any_digits = st.one_of(small_digits, st.integers(), st.sampled_from([True, 1.5, "16", None]))


def _check_first(x, digits, kind: int) -> None:
    got = corebridge.gamma_first(x, digits, kind)
    if got is None:
        return
    fn = spouge.gamma if kind == 0 else spouge.factorial
    want = fn(x, digits)  # C decided: Python must accept the input and agree
    assert (got[0], got[1], got[3]) == (want.mantissa, want.exponent, want.precision), (x, digits, kind)


def _check_pass(p: int, q: int, bits: int, extra: int, digits: int) -> None:
    for fn in (corebridge.gamma_pass, corebridge.lgamma_pass):
        try:
            fn(p, q, bits, extra, digits)
        except ValueError:
            assert q <= 0 or (p <= 0 and p % q == 0) or not (bits >= 1) or extra < 0 or digits < 1


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(any_text, small_digits, st.sampled_from([0, 1, 2, -1]))
def test_first_pass_text_short(x, digits, kind):
    _check_first(x, digits, kind)


@settings(max_examples=150, deadline=None)
@given(st.integers(min_value=-(2**70), max_value=2**70), st.integers(min_value=1, max_value=2**70),
       st.integers(min_value=-5, max_value=300), st.integers(min_value=-2, max_value=40),
       st.integers(min_value=-2, max_value=60))
def test_pass_integers_short(p, q, bits, extra, digits):
    if bits < 1 or extra < 0 or digits < 1:
        for fn in (corebridge.gamma_pass, corebridge.lgamma_pass):
            with pytest.raises(ValueError):
                fn(p, q, bits, extra, digits)
        return
    _check_pass(p, q, bits, extra, digits)


@pytest.mark.slow
@LONG
@given(any_text, any_digits, st.sampled_from([0, 1, 2, -1]))
def test_first_pass_text_long(x, digits, kind):
    valid = isinstance(digits, int) and not isinstance(digits, bool) and 1 <= digits <= spouge.MAX_DIGITS
    if valid and digits <= 40:
        _check_first(x, digits, kind)
    elif not valid:
        assert corebridge.gamma_first(x, digits, kind) is None


@pytest.mark.slow
@LONG
@given(st.integers(min_value=-(2**200), max_value=2**200), st.integers(min_value=-5, max_value=2**200),
       st.integers(min_value=-5, max_value=400), st.integers(min_value=-2, max_value=60),
       st.integers(min_value=-2, max_value=80))
def test_pass_integers_long(p, q, bits, extra, digits):
    if q <= 0 or bits < 1 or extra < 0 or digits < 1 or (p <= 0 and p % q == 0):
        for fn in (corebridge.gamma_pass, corebridge.lgamma_pass):
            with pytest.raises(ValueError):
                fn(p, q, bits, extra, digits)
        return
    _check_pass(p, q, bits, extra, digits)
