"""The C core's streamed sum (tables over the cache budget): made on threads, at F - log2(S) + 16 bits.

A streamed sum is made at fewer fraction bits than the table path (the sum S itself is large for small z:
~2^(1.44 a) at z = 0.5), with the proven error scaled to match.  Checked here, with every table forced
over the budget: right digits against Arb across the regimes of the lower bound of S (z = 0, tiny z,
z near 1, large z, z past 2^40 where no shift is taken, one- and two-limb denominators, reflection), a
ball of ln z! that contains Arb's value and is at most twice as wide as the table path's, and the same
digits on 1, 2 and 3 threads.
"""

from __future__ import annotations

import os
import subprocess
import sys
from fractions import Fraction

import pytest
from flint import arb, ctx, fmpq

import spouge
from reference import reference_text
from spouge.numerics import coefficients, corebridge, precision

pytestmark = pytest.mark.skipif(not corebridge.available, reason=f"C core not available ({corebridge.description})")


@pytest.fixture
def streamed():
    corebridge.cache_clear()
    corebridge._core.set_cache_budget(0)
    try:
        yield
    finally:
        corebridge._core.set_cache_budget(coefficients.CACHE_BUDGET_BITS)
        corebridge.cache_clear()


CASES = ["0.5", "1", "1e-30", "0.001", "1.4616321449683623", "7.25", "123.456", "99999.5", "1234567.75",
         "3000000000000.5", "-2.5", "-0.001", "0.12345678901234567891", "3.00000000000000000000000000001"]


@pytest.mark.parametrize("text", CASES)
def test_streamed_digits_are_right(streamed, text):
    x = Fraction(text)
    for digits in (40, 700):
        got = spouge.gamma(text, digits)
        assert str(got) == reference_text("gamma", x, digits), (text, digits)
    assert corebridge.cache_info()["streamed"] >= 1 and corebridge.cache_info()["tables"] == 0
    assert str(spouge.lgamma(text, 300)) == reference_text("lgamma", x, 300)


@pytest.mark.parametrize("p,q",
                         [(0, 1), (1, 2), (1, 10**30), (5, 4), (123456, 1000), (10**7 + 3, 8), (3 * 10**12 + 1, 2),
                                 (12345678901234567891, 10**20)])
def test_streamed_ball_contains_the_value_and_is_as_tight(p, q):
    """ln z! from a streamed sum: encloses Arb's value, in a ball at most twice as wide as the table path's."""
    rel_bits = 2000
    a = coefficients.choose_a(rel_bits)
    corebridge.cache_clear()
    table = corebridge.log_factorial(p, q, rel_bits, rel_bits)
    corebridge._core.set_cache_budget(0)
    try:
        corebridge.cache_clear()
        stream = corebridge.log_factorial(p, q, rel_bits, rel_bits)
    finally:
        corebridge._core.set_cache_budget(coefficients.CACHE_BUDGET_BITS)
        corebridge.cache_clear()
    assert stream[4] == table[4] == a
    with ctx.workprec(rel_bits + 200):
        exact = (arb(fmpq(p, q)) + 1).lgamma()
        for mid_man, mid_exp, rad_man, rad_exp, _ in (table, stream):
            mid = arb(mid_man) * arb(2) ** mid_exp
            rad = arb(rad_man) * arb(2) ** rad_exp
            assert abs(exact - mid) <= rad + exact.rad()
        widths = [arb(ball[2]) * arb(2) ** ball[3] for ball in (table, stream)]
        assert widths[1] <= 2 * widths[0], (p, q, widths)


def test_threads_give_the_same_digits():
    code = (
        "import spouge\nfrom spouge.numerics import corebridge\n"
        "corebridge._core.set_cache_budget(0)\n"
        "print([str(spouge.gamma(x, 1500)) for x in ('0.5', '2.75', '1e-30', '0.12345678901234567891')])\n"
        "print(corebridge.cache_info()['streamed'] > 0)\n"
    )
    outs = set()
    for threads in ("1", "2", "3"):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                             env={**os.environ, "SPOUGE_CORE_THREADS": threads, "SPOUGE_CACHE_DIR": "off"})
        assert out.returncode == 0, out.stderr
        assert out.stdout.split("\n")[1] == "True"
        outs.add(out.stdout)
    assert len(outs) == 1


def test_threaded_tables_equal_python():
    """New tables are made on threads in chunks (each started at its own k): the integers of iter_coefficients."""
    for a, frac_bits in [(600, 400), (1500, 2000), (2600, 300)]:
        assert corebridge.coefficients(a, frac_bits) == [int(c) for c in coefficients.iter_coefficients(a, frac_bits)]


def test_bad_table_arguments_raise():
    for a, frac_bits in [(2, 10), (200001, 10), (10, 0), (10, -5)]:
        with pytest.raises(ValueError):
            corebridge.coefficients(a, frac_bits)
    assert precision  # the module under test plans the same passes (imported for the reader)
