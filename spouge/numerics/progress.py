"""Progress of one long computation, for whoever wants to show it (the CLI's bar).

Owns: one process-wide reporter, set for the duration of a call with
``reporting(fn)``; the engine's phases call ``report(phase, done, total)``.

Invariants:
- No reporter (the default, and always in the server) costs one global read per
  report; the engines report at most a few hundred times per call, never per term
  at low precision.
- Phases: "coefficients" (k of a, coefficient tables made or streamed), "sum"
  (k of a, when the sum runs apart from the table), "retry" (pass n of the Ziv
  loop, total 0 = unknown).  ``done`` never exceeds ``total`` when total > 0.
- A reporter that raises stops the computation with that exception (Ctrl-C in a
  terminal bar is delivered like any other KeyboardInterrupt).
- Pure: no I/O here; the reporter does the printing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

Reporter = Callable[[str, int, int], None]

_reporter: Reporter | None = None


def report(phase: str, done: int, total: int) -> None:
    """Tell the current reporter (if any) that `phase` is at done/total."""
    fn = _reporter
    if fn is not None:
        fn(phase, done, total)


def current() -> Reporter | None:
    """The reporter in force, or None (the C core asks before each long phase)."""
    return _reporter


@contextmanager
def reporting(fn: Reporter | None) -> Iterator[None]:
    """Send progress to fn(phase, done, total) inside the block (None: silence)."""
    global _reporter  # noqa: PLW0603 - the C core reads it through current(); one reporter per call
    previous = _reporter
    _reporter = fn
    try:
        yield
    finally:
        _reporter = previous
