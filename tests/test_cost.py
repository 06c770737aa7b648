"""The public cost model: what it predicts is the plan the call runs.

No timing is asserted here; see bench/cost_model.py."""

from __future__ import annotations

import pytest

import spouge
from spouge.numerics import coefficients


@pytest.mark.parametrize(
    "fn, x, digits",
    [
        ("gamma", "0.1", 16),
        ("factorial", "1e100", 50),
        ("lgamma", "-2.5", 30),
        ("gamma", "1e-10000", 200),
        ("lgamma", "1." + "0" * 300 + "1", 16),
        ("gamma", "0." + "7" * 6000, 20),
        ("gamma", "3+4j", 20),
        ("factorial", 10**4300, 16),
        ("gamma", "-7.000000000001", 40),
    ],
    ids=lambda v: (
        v[:30] if isinstance(v, str) else (f"int{v.bit_length()}b" if isinstance(v, int) and v > 10**100 else str(v))
    ),
)
def test_predicted_bits_are_the_first_pass(fn, x, digits):
    e = spouge.estimate(fn, x, digits)
    result = getattr(spouge, fn)(x, digits=digits)
    # the call decided on its first pass, at exactly the predicted precision
    assert result.precision == e.bits
    assert e.a > 0 and e.bits <= e.max_bits
    assert 0 < e.warm_seconds <= e.cold_seconds <= e.worst_seconds
    after = spouge.estimate(fn, x, digits)
    assert after.seconds == after.warm_seconds == e.warm_seconds  # the table is cached now


def test_cold_then_warm():
    from spouge.numerics import corebridge

    coefficients.CACHE._tables.clear()
    coefficients.CACHE._bits.clear()
    if corebridge.available:
        corebridge.cache_clear()
    before = spouge.estimate("gamma", "0.3", 777)
    assert before.seconds == before.cold_seconds > before.warm_seconds
    spouge.gamma("0.3", digits=777)
    assert spouge.estimate("gamma", "0.3", 777).seconds == before.warm_seconds


def test_cancellation_is_predicted_near_the_zeros_of_lgamma():
    plain = spouge.estimate("lgamma", "1.5", 16).bits
    near_one = spouge.estimate("lgamma", "1." + "0" * 99 + "1", 16).bits
    near_two = spouge.estimate("lgamma", "1." + "9" * 100, 16).bits
    negative_zero = spouge.estimate("lgamma", "-2.4570247382208", 16).bits
    assert near_one - plain >= 100 * 3.3 - 10 and near_two - plain >= 100 * 3.3 - 10
    assert negative_zero - plain >= 30  # the double-precision preview sees ~|x - x0| = 1e-14
    assert spouge.estimate("gamma", "1." + "0" * 99 + "1", 16).bits < near_one  # gamma does not cancel there


def test_cost_grows_with_precision_not_with_spelling():
    short = spouge.estimate("gamma", "1e-10000", 50)
    long_zeros = spouge.estimate("gamma", "0." + "0" * 9999 + "1", 50)
    assert short.bits == long_zeros.bits
    assert spouge.estimate("gamma", "0.1", 1000).warm_seconds > 10 * spouge.estimate("gamma", "0.1", 16).warm_seconds


def test_estimate_refuses_what_the_call_refuses():
    with pytest.raises(ValueError):
        spouge.estimate("gamma", "nan", 16)
    with pytest.raises(TypeError):
        spouge.estimate("lgamma", 3 + 4j, 16)
    with pytest.raises(ValueError):
        spouge.estimate("gamma", "1", 0)
    with pytest.raises(ValueError):
        spouge.estimate("zeta", "1", 16)
    assert spouge.estimate("gamma", "-3", 16).seconds < 1e-3  # a pole is refused at once
