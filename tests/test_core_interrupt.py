"""A signal handler that raises (^C, the server's inline watchdog) stops a long computation at once, on both
cores, and leaves nothing half-made behind: the next call gives the right digits."""

from __future__ import annotations

import signal
import time
from fractions import Fraction

import pytest

import spouge
from reference import reference_text
from spouge.numerics import coefficients, corebridge


class _Stop(BaseException):
    pass


def _raise(signum, frame):
    raise _Stop


@pytest.mark.parametrize("digits", [900, 2500])
def test_a_raising_signal_handler_stops_a_cold_computation(monkeypatch, digits):
    monkeypatch.setenv("SPOUGE_CACHE_DIR", "off")
    coefficients.CACHE._tables.clear()
    coefficients.CACHE._bits.clear()
    if corebridge.available:
        corebridge.cache_clear()
    previous = signal.signal(signal.SIGALRM, _raise)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.01)
        started = time.perf_counter()
        with pytest.raises(_Stop):
            spouge.gamma("0.3", digits)  # a cold table: ~50 ms (900 digits) to ~0.5 s (2500) of work
        stopped_after = time.perf_counter() - started
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert stopped_after < 0.2  # the handler ran within a few coefficients, not after the whole table
    # the interrupted table was not kept half-made: the next call is right (Arb, rounded independently)
    assert str(spouge.gamma("0.3", digits)) == reference_text("gamma", Fraction(3, 10), digits)
