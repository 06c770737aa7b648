"""Long coefficient work reports its progress to numerics.progress, and a reporter that raises stops it.

Checked on both cores: a streamed sum (the table over the cache budget, made and summed term by term; on
the C core on threads, reported by the calling thread), a new table made in C, and the pure-Python
iter_coefficients; the reports are ("coefficients", k, a), monotone, at most a few hundred, ending at a;
a reporter's exception (an ordinary one, or BaseException like ^C) comes out of the call unchanged, the
call stops within a report, and the next call gives the right digits.
"""

from __future__ import annotations

from fractions import Fraction

import pytest

import spouge
from reference import reference_text
from spouge.numerics import coefficients, corebridge, progress

needs_c = pytest.mark.skipif(not corebridge.available, reason=f"C core not available ({corebridge.description})")


class _Stop(BaseException):
    pass


@pytest.fixture
def cold(monkeypatch):
    """No disk cache, empty table caches, and (inside) every table over the budget: streamed."""
    monkeypatch.setenv("SPOUGE_CACHE_DIR", "off")
    saved = coefficients.CACHE.budget_bits

    def clear():
        coefficients.CACHE._tables.clear()
        coefficients.CACHE._bits.clear()
        if corebridge.available:
            corebridge.cache_clear()

    clear()
    coefficients.CACHE.budget_bits = 0
    if corebridge.available:
        corebridge._core.set_cache_budget(0)
    try:
        yield clear
    finally:
        coefficients.CACHE.budget_bits = saved
        if corebridge.available:
            corebridge._core.set_cache_budget(coefficients.CACHE_BUDGET_BITS)
        clear()


def _check_reports(calls: list, a: int) -> None:
    assert calls, "no progress reported"
    assert {phase for phase, _, _ in calls} <= {"coefficients", "retry"}  # retry: each pass of the Ziv loop
    calls = [c for c in calls if c[0] == "coefficients"]
    assert calls, "no coefficient progress reported"
    assert {total for _, _, total in calls} == {a}
    done = [d for _, d, _ in calls]
    assert done == sorted(done), done[:20]
    assert done[0] > 0 and done[-1] == a
    assert len(calls) <= 400


def _first_pass_a(x: str, digits: int) -> int:
    from spouge.numerics import precision
    return coefficients.choose_a(precision.plan("gamma", (Fraction(x),), digits).bits)


@needs_c
def test_c_streamed_sum_reports_monotone_progress(cold):
    digits, x = 1500, "0.75"
    a = _first_pass_a(x, digits)
    assert a >= coefficients.PROGRESS_MIN_A
    calls: list = []
    with progress.reporting(lambda *report: calls.append(report)):
        got = spouge.gamma(x, digits)
    assert corebridge.cache_info()["streamed"] >= 1
    _check_reports(calls, a)
    assert str(got) == reference_text("gamma", Fraction(x), digits)


@needs_c
def test_c_new_table_reports(cold):
    calls: list = []
    with progress.reporting(lambda *report: calls.append(report)):
        table = corebridge.coefficients(1200, 900)
    _check_reports(calls, 1200)
    assert table[:50] == [int(c) for c in coefficients.iter_coefficients(1200, 900, 0, 50)]


def test_python_streamed_sum_reports(cold):
    """The pure-Python engine, streamed (iter_coefficients): the same reports."""
    from test_core_agreement import pure  # the shipped functions with every C pass switched off

    digits, x = 1000, "2.25"
    calls: list = []
    with progress.reporting(lambda *report: calls.append(report)):
        got = pure.gamma(x, digits) if corebridge.available else spouge.gamma(x, digits)
    _check_reports(calls, _first_pass_a(x, digits))
    assert str(got) == reference_text("gamma", Fraction(x), digits)


def test_no_reporter_no_reports(cold):
    """Without a reporter (the default, the server) nothing is called and nothing changes."""
    assert progress.current() is None
    assert str(spouge.gamma("0.625", 1200)) == reference_text("gamma", Fraction(5, 8), 1200)


@pytest.mark.parametrize("exc", [RuntimeError("bar closed"), _Stop()])
@pytest.mark.parametrize("core", ["c", "python"])
def test_a_raising_reporter_stops_the_call(cold, exc, core):
    if core == "c" and not corebridge.available:
        pytest.skip("C core not available")
    calls: list = []

    def reporter(phase, done, total):
        calls.append(done)
        raise exc

    call = spouge.gamma
    if core == "python" and corebridge.available:
        from test_core_agreement import pure
        call = pure.gamma
    with progress.reporting(reporter), pytest.raises(type(exc)) as caught:
        call("0.3", 1500)
    assert caught.value is exc
    assert len(calls) == 1  # stopped at the first report, not after the whole table
    assert progress.current() is None
    cold()
    assert str(call("0.3", 1500)) == reference_text("gamma", Fraction(3, 10), 1500)


@needs_c
def test_set_progress_rejects_non_callables():
    with pytest.raises(TypeError):
        corebridge._core.set_progress(42)


def test_pool_generation_reports_and_a_raise_stops_it(monkeypatch):
    """Without the C core, tablecache makes big tables on a process pool: reports as chunks land; a raise stops it."""
    from spouge import tablecache

    monkeypatch.setattr(tablecache.corebridge, "available", False)
    a, frac = 5200, 600
    calls: list = []
    with progress.reporting(lambda *report: calls.append(report)):
        table = tablecache.generate(a, frac, workers=2)
    _check_reports(calls, a)
    assert table == tuple(coefficients.iter_coefficients(a, frac))

    def reporter(phase, done, total):
        raise RuntimeError("bar closed")

    with progress.reporting(reporter), pytest.raises(RuntimeError, match="bar closed"):
        tablecache.generate(a, frac, workers=2)
