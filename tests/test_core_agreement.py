"""The C core (spouge._core via numerics.corebridge) against the pure-Python core (issue 11, item 1/3).

Both cores must decide the same digits: spouge.gamma, factorial and lgamma as
shipped (the C pass routed in) against the same functions with the C pass
switched off in this process (``pure``: no first pass in C, corebridge.handles
answering no), which is the unchanged Python engine.  Also checked:
the coefficient integers are identical, choose_a agrees, the ball of ln z!
from C overlaps Python's with the same radius, bad arguments raise Python
errors (never crash), and the module coexists with python-flint's bundled
FLINT in one process (python-flint is imported here too).
"""

from __future__ import annotations

import contextlib
import os
import random
import subprocess
import sys
import types
from fractions import Fraction

import pytest
from flint import arb, ctx, fmpz

import spouge
from spouge.numerics import coefficients, corebridge, engine, functions, precision
from spouge.numerics.arguments import parse_real

pytestmark = pytest.mark.skipif(
    not corebridge.available,
    reason=f"C core not available ({corebridge.description}): build it with `pip install -e .` after "
    "`apt-get install libgmp-dev libflint-dev libflint-arb-dev`",
)

@contextlib.contextmanager
def _python_core():
    """The shipped functions with every C pass switched off: the pure-Python engine, in this process."""
    def forbidden(*args, **keywords):
        raise AssertionError("a C pass ran on the pure-Python path")

    saved = functions._c_first, corebridge.handles, corebridge.gamma_pass, corebridge.lgamma_pass
    functions._c_first, corebridge.handles = None, lambda q, bits: False
    corebridge.gamma_pass = corebridge.lgamma_pass = forbidden
    try:
        yield
    finally:
        functions._c_first, corebridge.handles, corebridge.gamma_pass, corebridge.lgamma_pass = saved


def _on_python_core(fn):
    def call(*args, **keywords):
        with _python_core():
            return fn(*args, **keywords)

    call.__name__ = fn.__name__
    return call


pure = types.SimpleNamespace(**{name: _on_python_core(getattr(spouge, name))
                                for name in ("gamma", "factorial", "lgamma")})


def _random_decimal(rng: random.Random) -> str:
    kind = rng.random()
    sign = "-" if rng.random() < 0.35 else ""
    if kind < 0.15:
        return f"{sign}{rng.randint(1, 300)}"  # integers (negative ones are poles: skipped)
    if kind < 0.55:
        whole = rng.choice(["0", str(rng.randint(1, 9)), str(rng.randint(10, 999)), str(rng.randint(1000, 10**7))])
        return f"{sign}{whole}.{rng.randint(0, 10**rng.randint(1, 25)):0{rng.randint(1, 25)}d}"
    if kind < 0.8:
        return f"{sign}{rng.randint(1, 10**rng.randint(1, 20))}e{rng.randint(-30, 5)}"
    return f"{sign}{rng.randint(1, 99)}.{rng.randint(0, 99)}e{rng.randint(-6, 3)}"


def _is_pole(text: str, shift: int) -> bool:
    x = parse_real(text) + shift
    return x.denominator == 1 and x <= 0


def _same(fn_py, fn_c, text: str, digits: int) -> None:  # fn_py: pure.*, fn_c: spouge.* as shipped
    try:
        want = str(fn_py(text, digits))
    except ValueError as exc:
        with pytest.raises(type(exc)):
            fn_c(text, digits)
        return
    assert str(fn_c(text, digits)) == want, (fn_py.__name__, text, digits)


def test_core_reports_itself():
    assert corebridge.name == "c"
    assert corebridge.description.startswith("c (")


def test_coefficients_identical():
    for a, frac_bits in [(3, 40), (26, 158), (60, 300), (131, 500), (400, 1200)]:
        assert corebridge.coefficients(a, frac_bits) == [int(c) for c in coefficients.iter_coefficients(a, frac_bits)]


def test_choose_a_identical():
    for bits in [*range(1, 3000), 10**4, 33310, 10**5, 332208]:
        assert corebridge.choose_a(bits) == coefficients.choose_a(bits)


@pytest.mark.parametrize("p,q,rel", [(0, 1, 70), (3, 2, 70), (314159, 10**5, 200), (7, 3, 1000), (10**6, 1, 120),
                                      (1, 10**20, 150), (12345678901234567891, 10**20, 400)])
def test_log_factorial_ball_matches_engine(p, q, rel):
    want = engine.log_factorial(p, q, rel, rel + 20).value
    man, exp, rman, rexp, a = corebridge.log_factorial(p, q, rel, rel + 20)
    got = arb((fmpz(man), exp), (fmpz(rman), rexp))
    assert a == coefficients.choose_a(rel)
    with ctx.workprec(rel + 100):
        assert got.overlaps(want)
        # the same proven error terms: the same radius, up to Arb's rounding of radii
        assert got.rad() <= want.rad() * 1.01 and want.rad() <= got.rad() * 1.01
        assert got.rad() < arb(2) ** (-rel + 24)


def test_random_inputs_same_digits():
    """A few thousand random decimals, both signs, digits 1..300: gamma, factorial, lgamma agree."""
    rng = random.Random(20261130)
    n = int(os.environ.get("SPOUGE_CORE_CASES", "2400"))
    for i in range(n):
        text = _random_decimal(rng)
        digits = rng.choice([rng.randint(1, 20), rng.randint(1, 60), rng.randint(1, 300)])
        which = i % 3
        if which == 0 and not _is_pole(text, 0):
            _same(pure.gamma, spouge.gamma, text, digits)
        elif which == 1 and not _is_pole(text, 1):
            _same(pure.factorial, spouge.factorial, text, digits)
        elif which == 2 and not _is_pole(text, 0):
            _same(pure.lgamma, spouge.lgamma, text, digits)


def test_hard_cases_same_digits():
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "bench"))
    import hard_cases

    fns = {"gamma": (pure.gamma, spouge.gamma), "factorial": (pure.factorial, spouge.factorial),
           "lgamma": (pure.lgamma, spouge.lgamma)}
    done = 0
    for _group, fn, x, digits in hard_cases.cases("small"):
        if fn not in fns or not isinstance(x, str) or x.rstrip("jJ") != x:
            continue
        _same(*fns[fn], x, digits)
        done += 1
    assert done > 100


@pytest.mark.parametrize("text,digits", [
    ("1", 5), ("2", 1), ("3", 1), ("5", 1), ("11", 3), ("0.5", 1000), ("-0.5", 50), ("1e-10000", 20),
    ("-1.0000000000000000000001", 30), ("9.9999999999999999e9999", 10), ("1e4", 40), ("1000000.25", 16),
    ("0.0000000000000000000000000000000000001", 12), ("170.6243769563027", 16), ("-170.5", 25),
])
def test_edges_same_digits(text, digits):
    _same(pure.gamma, spouge.gamma, text, digits)
    _same(pure.lgamma, spouge.lgamma, text, digits)
    _same(pure.factorial, spouge.factorial, text, digits)


def test_ties_and_powers_of_ten_go_back_to_python():
    # factorial(m) exactly at a tie or a power of ten: no ball decides; the exact product does
    for m, digits in [(0, 1), (1, 3), (2, 1), (3, 1), (4, 1), (5, 2), (5, 1), (10, 2), (7, 1), (25, 25)]:
        assert str(spouge.factorial(m, digits)) == str(pure.factorial(m, digits))
        assert str(spouge.factorial(str(m), digits)) == str(pure.factorial(str(m), digits))


def test_long_denominators_take_the_python_pass():
    x = "0." + "3" * 400
    assert not corebridge.handles(parse_real(x).denominator, precision.target_bits(10))
    assert corebridge.gamma_first(x, 10, 0) is None
    _same(pure.gamma, spouge.gamma, x, 10)


def test_first_pass_matches_plan():
    """gamma_first plans exactly as precision.plan: the same precision is reported."""
    for text, digits in [("31.4159", 16), ("-2.5", 30), ("1e-30", 10), ("123456.789", 100), ("-1e5", 5)]:
        if _is_pole(text, 0):
            continue
        x = parse_real(text)
        plan = precision.plan("gamma", (x,), digits)
        got = corebridge.gamma_first(text, digits, 0)
        assert got is not None and got[3] == plan.bits + plan.extra, text
        assert got[2] == coefficients.choose_a(plan.bits)


@pytest.mark.parametrize("args", [
    (1, 0, 64, 8, 16), (1, -3, 64, 8, 16), (0, 1, 64, 8, 16), (-4, 2, 64, 8, 16), (1, 2, 0, 8, 16),
    (1, 2, 64, -1, 16), (1, 2, 64, 8, 0), (1, 2, 2**41, 8, 16),
])
def test_bad_pass_arguments_raise(args):
    with pytest.raises(ValueError):
        corebridge.gamma_pass(*args)
    with pytest.raises(ValueError):
        corebridge.lgamma_pass(*args)


def test_bad_types_raise_type_error():
    for bad in [(1.5, 2, 64, 8, 16), ("1", 2, 64, 8, 16), (1, 2, "64", 8, 16)]:
        with pytest.raises(TypeError):
            corebridge.gamma_pass(*bad)


@pytest.mark.parametrize("x,digits", [
    ("", 16), ("-", 16), (".", 16), ("1e", 16), ("1e+", 16), ("e5", 16), (" 1", 16), ("1 ", 16), ("0", 16),
    ("-0.0", 16), ("-3", 16), ("nan", 16), ("inf", 16), ("1e99999999", 16), ("1e-10001", 16), ("1e10001", 16),
    ("\uff11", 16), ("1_0", 16), ("2", 0), ("2", -1), ("2", True), ("2", 10**6), ("2", 2**80), ("2", "16"), (2.5, 16),
    (True, 16), (None, 16), (2**70, 16), ("9" * 5000, 16), ("3+4j", 16),
])
def test_first_pass_leaves_unusual_input_to_python(x, digits):
    assert corebridge.gamma_first(x, digits, 0) is None
    assert corebridge.gamma_first(x, digits, 1) is None


def test_negative_numbers_cross_the_pole_rule():
    assert corebridge.gamma_first("-1", 16, 1) is None  # factorial(-1): pole
    assert corebridge.gamma_first("0", 16, 1) is None  # zero text: Python takes it (0! = 1 exactly)
    assert corebridge.gamma_first(0, 16, 1) is None or corebridge.gamma_first(0, 16, 1)[:2] == (10**15, 0)
    assert corebridge.gamma_first("-0.5", 16, 1) is not None


def test_cache_is_bounded_and_reused():
    corebridge.cache_clear()
    corebridge.gamma_pass(314159, 100000, 200, 10, 50)
    corebridge.gamma_pass(314159, 100000, 200, 10, 50)
    info = corebridge.cache_info()
    assert info["tables"] == 1 and info["hits"] >= 1
    assert info["bits"] <= info["budget_bits"]


def test_coexists_with_python_flint_in_one_process():
    """python-flint (bundled FLINT 3) and _core (system FLINT) imported and used in either order."""
    code = (
        "import {first}, {second}\n"
        "from flint import arb, ctx\n"
        "from spouge.numerics import corebridge\n"
        "ctx.prec = 200\n"
        "assert abs(arb(5).gamma() - 24) < 1e-50\n"
        "r = corebridge.gamma_pass(5, 1, 100, 8, 20)\n"
        "assert r == (1, 24 * 10**18, 1, r[3]), r\n"
        "assert abs(arb('0.5').gamma() ** 2 - arb.pi()) < 1e-50\n"
        "print('ok')\n"
    )
    for first, second in [("flint", "spouge._core"), ("spouge._core", "flint")]:
        out = subprocess.run([sys.executable, "-c", code.format(first=first, second=second)],
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


def test_spouge_pure_forces_python():
    out = subprocess.run(
        [sys.executable, "-c", "from spouge.numerics import corebridge as c; print(c.available, c.name)"],
        capture_output=True, text=True, timeout=60, env={**os.environ, "SPOUGE_PURE": "1"},
    )
    assert out.stdout.split() == ["False", "python"], out.stderr


def test_table_provider_serves_misses_and_bad_providers_are_ignored():
    """A C-side table miss asks coefficients.CACHE.provider (the disk cache); anything odd falls back to C."""
    core = corebridge._core
    calls = []

    def good(a, frac_bits):
        calls.append((a, frac_bits))
        return tuple(coefficients.iter_coefficients(a, frac_bits))  # as gmpy2 mpz, like the disk cache

    def wrong_length(a, frac_bits):
        return [1, 2, 3]

    def raises(a, frac_bits):
        raise OSError("disk gone")

    def garbage(a, frac_bits):
        return ["x"] * a

    x = Fraction("3.14159")
    plan = precision.plan("gamma", (x,), 60)
    want = corebridge.gamma_pass(x.numerator, x.denominator, plan.bits, plan.extra, 60)
    try:
        for provider in (good, wrong_length, raises, garbage, None):
            core.set_table_provider(provider)
            corebridge.cache_clear()
            assert corebridge.gamma_pass(x.numerator, x.denominator, plan.bits, plan.extra, 60) == want
        assert calls and corebridge.cache_info()["provided"] >= 1
        with pytest.raises(TypeError):
            core.set_table_provider(42)
    finally:
        core.set_table_provider(corebridge._provide_table)
        corebridge.cache_clear()


def test_directed_modes_and_binary_match_python():
    """gamma_pass/lgamma_pass with mode (rounding.MODES index) and radix 2 agree with rounding's rules."""
    from spouge.numerics.functions import _ln_abs_gamma
    from spouge.numerics.rounding import MODES, round_ball, round_from_log

    rng = random.Random(7)
    checked = 0
    for _ in range(300):
        text = _random_decimal(rng)
        if _is_pole(text, 0):
            continue
        x = parse_real(text)
        digits = rng.randint(1, 40)
        radix = rng.choice([10, 2])
        mode = rng.randrange(5)
        plan = precision.plan("gamma", (x,), digits if radix == 10 else max(1, digits * 3 // 10))
        if not corebridge.handles(x.denominator, plan.bits):
            continue
        value, sign, a, _ = _ln_abs_gamma(x, plan.bits, plan.extra)
        with ctx.workprec(plan.bits + plan.extra + 16):
            want = round_from_log(value, digits, MODES[mode], sign, radix)
            want_l = round_ball(value, digits, MODES[mode], radix)
        got = corebridge.gamma_pass(x.numerator, x.denominator, plan.bits, plan.extra, digits, mode, radix)
        if got is not None and want is not None:
            assert got == (sign, want[0], want[1], a), (text, digits, mode, radix)
            checked += 1
        got_l = corebridge.lgamma_pass(x.numerator, x.denominator, plan.bits, plan.extra, digits, mode, radix)
        if type(got_l) is tuple and want_l is not None:
            assert got_l == (want_l[0], want_l[1][0], want_l[1][1], a), (text, digits, mode, radix)
    assert checked > 150


def test_threaded_sum_equals_single_thread():
    """Large sums are split over threads (SPOUGE_CORE_THREADS): the same digits as one thread, and as Python."""
    code = (
        "import sys\n"
        "from spouge.numerics import corebridge\n"
        "print([corebridge.gamma_first(x, 6000, 0)[:2] for x in ('31.41592653589793', '1000000.25', '2.5')])\n"
    )
    outs = []
    for threads in ("1", "2", "3"):
        out = subprocess.run([sys.executable, "-c", "import sys; sys.set_int_max_str_digits(0)\n" + code],
                             capture_output=True, text=True, timeout=300,
                             env={**os.environ, "SPOUGE_CORE_THREADS": threads})
        assert out.returncode == 0, out.stderr
        outs.append(out.stdout)
    assert outs[0] == outs[1] == outs[2]
    want = spouge.gamma("2.5", 6000)
    got = corebridge.gamma_first("2.5", 6000, 0)
    assert (got[0], got[1]) == (want.mantissa, want.exponent)


def test_streamed_tables_give_the_same_digits():
    """Tables over the cache budget are streamed (generated term by term, never stored): same answers."""
    cases = [("31.41592653589793", 300), ("7", 120), ("1000000.25", 200), ("-2.5", 150), ("0.001", 80)]
    want = [corebridge.gamma_first(x, d, 0) for x, d in cases]
    want_l = corebridge.lgamma_pass(5, 2, 400, 10, 100)
    try:
        corebridge._core.set_cache_budget(0)
        corebridge.cache_clear()
        assert [corebridge.gamma_first(x, d, 0) for x, d in cases] == want
        assert corebridge.lgamma_pass(5, 2, 400, 10, 100) == want_l
        info = corebridge.cache_info()
        assert info["tables"] == 0 and info["streamed"] >= len(cases)
    finally:
        corebridge._core.set_cache_budget(coefficients.CACHE_BUDGET_BITS)


@pytest.mark.parametrize("text,digits", [
    ("0.12345678901234567891", 16), ("0.12345678901234567891", 300), ("1234567.1234567890123456789", 50),
    ("12345678901234567890.12345678901234567891", 40),  # p near 2^128: past the two-limb kernel
    ("98765432109876543210987654321.123456789012345678901", 30), ("-0.00000000000000000000123", 25),
    ("3.00000000000000000000000000001", 120), ("1e-25", 20),
])
def test_long_decimals_two_limb_denominators(text, digits):
    """Denominators q >= 2^64 (more than 19 decimal places): the two-limb kernel and its limits."""
    _same(pure.gamma, spouge.gamma, text, digits)
    _same(pure.lgamma, spouge.lgamma, text, digits)


def test_large_x_same_digits():
    """Large x (the 1/z expansion of the sum, issue 11 item 3), moments made at once in both cores."""
    rng = random.Random(202611303)
    saved_wait, info = engine.MOMENTS.wait, corebridge._core.moments_info()
    engine.MOMENTS.wait = 0
    corebridge._core.set_large_z(0, info["ratio"])
    try:
        for i in range(300):
            sign = "-" if rng.random() < 0.2 else ""
            x = rng.choice([f"{sign}{rng.randint(10**5, 10**20)}.{rng.randint(0, 10**6)}",
                            f"{sign}{rng.randint(1, 999)}e{rng.randint(5, 400)}", f"{rng.randint(10**5, 10**12)}",
                            f"{sign}{rng.randint(10**5, 10**9)}.{rng.randint(0, 10**25):025d}"])
            digits = rng.choice([rng.randint(1, 20), rng.randint(1, 120), rng.randint(100, 400)])
            fns = [(pure.gamma, spouge.gamma, 0), (pure.factorial, spouge.factorial, 1),
                   (pure.lgamma, spouge.lgamma, 0)]
            fn_py, fn_c, shift = fns[i % 3]
            if not _is_pole(x, shift):
                _same(fn_py, fn_c, x, digits)
        assert corebridge._core.moments_info()["calls"] > info["calls"]
    finally:
        engine.MOMENTS.wait = saved_wait
        corebridge._core.set_large_z(info["wait"], info["ratio"])
