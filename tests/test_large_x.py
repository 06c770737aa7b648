"""Large |x|: Spouge's sum re-expanded in 1/z (issue 11, item 3), in both cores.

Checked: the integer log2 bounds that choose J; the moments are the exact integers
sum_k C_k (-k)^j; the expansion's ball contains the exact sum of the same C_k (so the
Horner floors and the tail bound are right) and is not vacuously wide; the C core makes
the very same ball as the Python engine; gamma, factorial and lgamma at large x against
Arb at proven precision on both cores, in every rounding mode, including a value whose
17th to 21st digits are 00000 (a directed-rounding boundary); the moment caches stay
bounded; and the "ski rental" policy (moments only after wait * (J + 1) eligible calls)
changes speed, never digits.
"""

from __future__ import annotations

import decimal
import random
from fractions import Fraction

import pytest
from flint import arb, ctx, fmpq, fmpz

import spouge
from reference import _round_text
from reference import reference_text as _reference_text
from spouge.numerics import coefficients, corebridge, engine

needs_c = pytest.mark.skipif(not corebridge.available, reason=f"C core not available ({corebridge.description})")


@pytest.fixture
def eager():
    """Both cores make the moments at the first eligible call (the default waits), restored after."""
    saved = engine.MOMENTS.wait
    engine.MOMENTS.wait = 0
    if corebridge.available:
        info = corebridge._core.moments_info()
        corebridge._core.set_large_z(0, info["ratio"])
    try:
        yield
    finally:
        engine.MOMENTS.wait = saved
        if corebridge.available:
            corebridge._core.set_large_z(info["wait"], info["ratio"])


def _pure(fn):
    """fn on the pure-Python engine (every C pass off), in this process."""
    def call(*args, **keywords):
        from spouge.numerics import functions

        saved = functions._c_first, corebridge.handles
        functions._c_first, corebridge.handles = None, lambda q, bits: False
        try:
            return fn(*args, **keywords)
        finally:
            functions._c_first, corebridge.handles = saved

    return call


def reference_text(fn: str, x: Fraction, digits: int) -> str | None:
    """reference.reference_text, at the precision a huge x needs (|Γ| has a ~log10(x)-digit exponent)."""
    got = _reference_text(fn, x, digits)
    if got is not None or abs(x) < 2**200:
        return got
    if fn == "factorial":
        fn, x = "gamma", x + 1
    prec = int(digits * 3.33) + 2 * abs(x.numerator).bit_length() + 80
    with ctx.workprec(prec):
        value = arb(fmpq(x.numerator, x.denominator))
        ball = value.gamma() if fn == "gamma" else value.lgamma()
        texts = {_round_text(end.str(digits + prec // 3 + 10, radius=False, more=True), digits)
                 for end in (ball.lower(), ball.upper())}
    return texts.pop() if len(texts) == 1 else None


def _J(p: int, q: int, rel: int) -> int | None:
    """engine._large_sum's J for z = p/q at rel bits (None: not eligible at all)."""
    a, frac_bits = engine._plan(rel)
    table = coefficients.CACHE.get(a, frac_bits)
    lz = engine.log2_lower(p) - engine.log2_lower(q) - 2
    la = engine.log2_lower(a - 1) + 2
    if p.bit_length() - q.bit_length() < (a - 1).bit_length() + 2 or lz <= la:
        return None
    num = (engine.MOMENTS.abs_total(table, a, frac_bits).bit_length() << 16) - lz - ((a.bit_length() - 1) << 16)
    return max(1, -(-num // (lz - la))) - 1


def test_log2_lower_is_a_tight_lower_bound():
    rng = random.Random(11)
    xs = [1, 2, 3, 4, 5, 7, 8, 255, 256, 257, 2**62 - 1, 2**62, 2**63 - 1, 2**63, 2**64 + 1, 10**6, 3999997,
          10**300, 2**4000 - 1, 10**4000]
    xs += [rng.randint(1, 2**rng.randint(1, 300)) for _ in range(300)]
    with ctx.workprec(256):
        for x in xs:
            low = engine.log2_lower(x)
            if x & (x - 1) == 0:  # a power of two: exact
                assert low == (x.bit_length() - 1) << 16
                continue
            exact = arb(x).log() / arb(2).log() * 2**16
            assert low <= exact < low + 2, x


def test_moments_are_the_exact_power_sums():
    for a, frac_bits in [(3, 40), (26, 158), (60, 300)]:
        table = coefficients.CACHE.get(a, frac_bits)
        for n in (1, 2, 5, a // 2, a):
            want = tuple(sum(int(table[k]) * (-k) ** j for k in range(1, a)) for j in range(n))
            assert engine._moments(table, a, n) == want


CASES = [(3999997, 4, 70), (3999997, 4, 340), (10**9 - 1, 1, 200), (2 * 10**15 - 1, 2, 600), (10**6, 1, 120),
         (10**300, 1, 200), (10**300 + 7, 3, 1000), (10**4000, 1, 300), (123456789123456789, 1000000000, 400),
         (3999997, 4, 1700)]


@pytest.mark.parametrize("p,q,rel", CASES)
def test_expansion_ball_contains_the_exact_sum(eager, p, q, rel):
    a, frac_bits = engine._plan(rel)
    table = coefficients.CACHE.get(a, frac_bits)
    got = engine._large_sum(table, a, p, q, frac_bits)
    assert got is not None, "the expansion should apply here"
    exact = fmpq(int(table[0])) + sum((fmpq(int(table[k]) * q, p + k * q) for k in range(1, a)), fmpq(0))
    with ctx.workprec(frac_bits + 200):
        truth = arb(exact) * arb(2) ** -frac_bits
        assert got.contains(truth)
        # the radius stays what the direct sum's budget allows (SUM_GUARD_BITS covers it)
        assert got.rad() <= arb(4 * a + 2 * _J(p, q, rel) + 3) * arb(2) ** -frac_bits
        direct = engine._real_sum(table, a, p, q, frac_bits)
        assert direct.overlaps(got)


@pytest.mark.parametrize("p,q,rel", [(3, 2, 70), (1000, 1, 3400), (10**5, 1, 3400), (50, 1, 200)])
def test_small_or_moderate_z_keeps_the_direct_sum(eager, p, q, rel):
    a, frac_bits = engine._plan(rel)
    assert engine._large_sum(coefficients.CACHE.get(a, frac_bits), a, p, q, frac_bits) is None


@needs_c
@pytest.mark.parametrize("p,q,rel", CASES)
def test_c_makes_the_same_ball(eager, p, q, rel):
    before = corebridge._core.moments_info()["calls"]
    want = engine.log_factorial(p, q, rel, rel + 20).value
    man, exp, rman, rexp, _ = corebridge.log_factorial(p, q, rel, rel + 20)
    assert corebridge._core.moments_info()["calls"] == before + 1  # the C pass took the expansion
    got = arb((fmpz(man), exp), (fmpz(rman), rexp))
    with ctx.workprec(rel + 100):
        assert got.overlaps(want)
        assert got.rad() <= want.rad() * 1.01 and want.rad() <= got.rad() * 1.01


LARGE = ["1000000.25", "1000000000", "1000000000000000.5", "1e15", "1e300", "-1000000.25", "123456789.123456789",
         "1e4000", 10**4000, 10**4000 + 1, "1000017.641"]


@pytest.mark.parametrize("digits", [16, 50, 300])
@pytest.mark.parametrize("x", LARGE)
def test_gamma_at_large_x_against_arb(eager, x, digits):
    value = Fraction(x)
    want = reference_text("gamma", value, digits)
    assert want is not None
    assert str(spouge.gamma(x, digits)) == want
    assert str(_pure(spouge.gamma)(x, digits)) == want
    if value > 0:
        want_l = reference_text("lgamma", value, digits)
        assert str(spouge.lgamma(x, digits)) == want_l
        assert str(_pure(spouge.lgamma)(x, digits)) == want_l
        assert str(spouge.factorial(x, digits)) == reference_text("factorial", value, digits)


MODES = {"nearest": decimal.ROUND_HALF_EVEN, "down": decimal.ROUND_FLOOR, "up": decimal.ROUND_CEILING,
         "zero": decimal.ROUND_DOWN, "away": decimal.ROUND_UP}


def _directed_reference(x: Fraction, digits: int, mode: str) -> str:
    prec = int(digits * 3.33) + 96
    for _ in range(8):
        with ctx.workprec(prec):
            ball = arb(fmpq(x.numerator, x.denominator)).gamma()
            ends = [end.str(prec // 3 + 10, radius=False, more=True) for end in (ball.lower(), ball.upper())]
        texts = set()
        for end in ends:
            with decimal.localcontext() as c:
                c.prec, c.rounding, c.Emax, c.Emin = digits, MODES[mode], decimal.MAX_EMAX, decimal.MIN_EMIN
                texts.add(format(+decimal.Decimal(end.strip("[]")), f".{digits - 1}e"))
        if len(texts) == 1:
            return texts.pop()
        prec *= 2
    raise AssertionError("reference undecided")


@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize("x,digits", [("1000017.641", 16), ("1000000.25", 16), ("-1000000.25", 20),
                                      ("1000000000000000.5", 40)])
def test_directed_modes_at_large_x(eager, x, digits, mode):
    """Γ(1000017.641) = 5.797629588568725 00000584...e+5565781: down and up differ in the 16th digit."""
    want = _directed_reference(Fraction(x), digits, mode)
    for fn in (spouge.gamma, _pure(spouge.gamma)):
        got = fn(x, digits, rounding=mode)
        assert format(got.to_decimal(), f".{digits - 1}e") == want, (fn, mode)


def test_boundary_case_really_is_near_a_boundary():
    with ctx.workprec(200):
        text = arb(fmpq(1000017641, 1000)).gamma().mid().str(25, radius=False)
    assert text.startswith("5.797629588568725000005")


def test_python_moment_cache_is_bounded(eager):
    saved = engine.MOMENTS.budget_bits
    engine.MOMENTS.clear()
    try:
        engine.MOMENTS.budget_bits = 1  # every new entry evicts the older ones
        for rel in (70, 120, 200):
            engine.log_factorial(10**9, 1, rel, rel + 40)
        assert len(engine.MOMENTS._entries) == 1
    finally:
        engine.MOMENTS.budget_bits = saved
        engine.MOMENTS.clear()


@needs_c
def test_c_moment_cache_is_bounded_and_clears(eager):
    corebridge._core.moments_clear()
    for rel in (70, 120, 200, 340, 600):
        corebridge.log_factorial(10**9, 1, rel, rel + 40)
    info = corebridge._core.moments_info()
    assert 1 <= info["entries"] <= 5 and info["bits"] <= info["budget_bits"]
    corebridge._core.moments_clear()
    info = corebridge._core.moments_info()
    assert info["entries"] == 0 and info["bits"] == 0


def test_wait_policy_changes_speed_not_digits():
    """Default policy: the direct sum until wait * (J + 1) eligible calls, then the expansion; same digits."""
    rel, p, q = 200, 10**9 - 1, 1
    J = _J(p, q, rel)
    a, frac_bits = engine._plan(rel)
    table = coefficients.CACHE.get(a, frac_bits)
    engine.MOMENTS.clear()
    assert engine.MOMENTS.wait >= 1
    calls = engine.MOMENTS.wait * (J + 1)
    assert all(engine._large_sum(table, a, p, q, frac_bits) is None for _ in range(calls - 1))
    ball = engine._large_sum(table, a, p, q, frac_bits)
    assert ball is not None and (a, frac_bits) in engine.MOMENTS._entries
    with ctx.workprec(frac_bits + 64):
        assert ball.overlaps(engine._real_sum(table, a, p, q, frac_bits))
    assert str(_pure(spouge.gamma)("1000000000", 50)) == reference_text("gamma", Fraction(10**9), 50)


@needs_c
def test_c_wait_policy_counts_calls():
    core = corebridge._core
    info = core.moments_info()
    core.set_large_z(3, info["ratio"])
    core.moments_clear()
    try:
        rel, p, q = 200, 10**9 - 1, 1
        J = _J(p, q, rel)
        first = corebridge.log_factorial(p, q, rel, rel + 40)
        for _ in range(3 * (J + 1) - 2):
            corebridge.log_factorial(p, q, rel, rel + 40)
        assert core.moments_info()["made"] == info["made"] and core.moments_info()["calls"] == info["calls"]
        last = corebridge.log_factorial(p, q, rel, rel + 40)
        assert core.moments_info()["made"] == info["made"] + 1 and core.moments_info()["calls"] == info["calls"] + 1
        with ctx.workprec(rel + 100):
            assert arb((fmpz(first[0]), first[1]), (fmpz(first[2]), first[3])).overlaps(
                arb((fmpz(last[0]), last[1]), (fmpz(last[2]), last[3])))
    finally:
        core.set_large_z(info["wait"], info["ratio"])


@needs_c
def test_large_z_policy_arguments_are_checked():
    with pytest.raises(ValueError):
        corebridge._core.set_large_z(-1, 2)
    with pytest.raises(ValueError):
        corebridge._core.set_large_z(1, 0)
    with pytest.raises(TypeError):
        corebridge._core.set_large_z("1", 2)


@needs_c
def test_short_sum_kernels_match_the_engine():
    """The plain per-term loops the C core uses for short sums (a <= 48: up to ~30 digits), one- and
    two-limb denominators, against the Python engine's ball: same centre and radius (both logs are Arb's,
    so equal sums give equal midpoints here)."""
    rng = random.Random(48)
    cases = [(0, 1, 70), (0, 10**20, 70), (1, 10**20, 70), (12345678901234567891, 10**20, 70), (5, 2**70, 60),
             (2**64 - 1, 2**64, 100), (10**25 - 1, 10**25, 120), (7, 3, 10), (2**63, 1, 70)]
    for _ in range(200):
        q = rng.choice([1, rng.randint(1, 2**63), rng.randint(2**64, 2**100)])
        cases.append((rng.randint(0, 40 * q), q, rng.randint(8, 125)))
    for p, q, rel in cases:
        if (p + engine._plan(rel)[0] * q).bit_length() > 128:
            continue
        want = engine.log_factorial(p, q, rel, rel + 20).value
        man, exp, rman, rexp, a = corebridge.log_factorial(p, q, rel, rel + 20)
        assert a <= 48
        got = arb((fmpz(man), exp), (fmpz(rman), rexp))
        with ctx.workprec(rel + 100):
            assert got.overlaps(want) and got.rad() <= want.rad() * 1.01 and want.rad() <= got.rad() * 1.01, (p, q, rel)
            # the same integer sum gives the same midpoint (an off-by-one floor would move it, inside the radius)
            assert got.mid() == want.mid(), (p, q, rel)


def test_no_moments_where_making_them_would_be_long(eager):
    """10000 digits, x = 10^15: (a-1)(J+1) ~ 2e7 > LARGE_Z_MAX_WORK: the direct sum, in both cores."""
    rel = 33236
    a, frac_bits = engine._plan(rel)
    J = _J(2 * 10**15 - 1, 2, rel)
    assert J is not None and a - 1 >= (J + 1) * engine.LARGE_Z_RATIO and (a - 1) * (J + 1) > engine.LARGE_Z_MAX_WORK
    assert engine._large_sum(coefficients.CACHE.get(a, frac_bits), a, 2 * 10**15 - 1, 2, frac_bits) is None
    if corebridge.available:
        before = corebridge.moments_info()
        corebridge.log_factorial(2 * 10**15 - 1, 2, rel, rel + 60)  # eager policy, yet no moments: the cap
        after = corebridge.moments_info()
        assert (after["made"], after["calls"]) == (before["made"], before["calls"])
