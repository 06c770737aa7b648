"""The progress bar of a long computation: tqdm on stderr, fed by numerics.progress.

Owns: ``Bar``, the reporter handed to ``numerics.progress.reporting`` (it is
called as fn(phase, done, total)), and its display.  Phases: "coefficients" and
"sum" (k of a: a bar with a fraction), "retry" (pass n of the rounding loop,
total unknown: the pass number and the elapsed time).

Invariants:
- Used only when stderr is a terminal and --quiet is not given (the caller
  decides: ``wanted``); nothing is drawn for a call shorter than DELAY seconds,
  so quick answers and fast batches print no bar at all.
- A report costs a clock read; the drawing is tqdm's, throttled by its
  mininterval.  An interval timer (SIGALRM every TICK seconds, armed at the
  first report, given back by ``close()``) draws the bar once DELAY has passed
  even if no report comes (a long pass of the loop reports once, at its start)
  and keeps the elapsed time moving.  Not a thread: the coefficient tables'
  process pool forks only a single-threaded process.  Reports from forked
  children are ignored.
- ``call()`` erases the bar when the computation ends, returns or raises, so
  the result (or the error) is printed on a clean line.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO

#: Seconds a computation runs before its bar is drawn.
DELAY = 0.3
#: Seconds between the timer's redraws (the elapsed time).
TICK = 0.25

_FRACTION = "{desc} {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} [{elapsed}<{remaining}]"
_OPEN = "{desc} [{elapsed}]"
_PHASE_TEXT = {"coefficients": "coefficients, k of a", "sum": "sum, k of a"}


def wanted(stream: TextIO, quiet: bool) -> bool:
    """Draw bars on stream? Only on a terminal, without --quiet, and where tqdm is installed."""
    if quiet or os.environ.get("SPOUGE_NO_PROGRESS"):
        return False
    try:
        if not stream.isatty():
            return False
        import tqdm  # type: ignore[import-untyped, unused-ignore]  # noqa: F401  (a declared dependency; without it, no bar)
    except (ImportError, AttributeError, ValueError):
        return False
    return True


def _columns(stream: TextIO) -> int:
    try:
        return os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, OSError, ValueError):
        return 0


class Bar:
    """A reporter for numerics.progress: call it (phase, done, total) inside ``with bar.call(label):``."""

    def __init__(self, stream: TextIO):
        self.stream = stream
        self.pid = os.getpid()  # reports from forked children (a table made on a process pool) are not ours
        self.busy = False  # drawing from the main path: the timer's tick stands aside
        self.label: str | None = None  # the call in progress, or None
        self.started = 0.0
        self.phase: tuple[str, int] | None = None  # (phase, total) of the last report
        self.done = 0
        self.passes = 0
        self.shown: Any = None  # the tqdm bar on screen, or None
        self.shown_as: tuple | None = None  # (description, total) it was drawn with
        self.previous_handler: Any = None  # SIGALRM's handler before ours, while the timer is armed
        self.armed = False
        self.broken = False  # the terminal refused a write: draw nothing more

    @contextmanager
    def call(self, label: str) -> Iterator[None]:
        """One computation: the bar (if drawn at all) is erased when it ends."""
        self.label, self.started = label, time.monotonic()
        self.phase, self.done, self.passes = None, 0, 0
        try:
            yield
        finally:
            self.busy = True
            try:
                self.label = None
                self._erase()
            finally:
                self.busy = False

    def __call__(self, phase: str, done: int, total: int) -> None:
        if self.label is None or os.getpid() != self.pid:
            return
        self.busy = True
        try:
            if phase == "retry":
                self.passes = done
                self.phase, self.done = ("retry", 0), 0
            else:
                self.phase, self.done = (phase, max(0, total)), max(0, done)
            if self.shown is not None or time.monotonic() - self.started >= DELAY:
                self._draw()
            elif not self.armed:
                self._arm()
        finally:
            self.busy = False

    def close(self) -> None:
        """Disarm the timer and give SIGALRM back (the bar itself is erased by ``call``)."""
        if self.armed:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self.previous_handler)
            self.armed = False

    # -- the tick: an interval timer, not a thread (a thread would stop the coefficient tables'
    #    fork-based process pool, which refuses to fork a threaded process) --

    def _arm(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return  # signals reach the main thread only: no tick, the reports alone draw
        self.previous_handler = signal.signal(signal.SIGALRM, self._tick)
        signal.setitimer(signal.ITIMER_REAL, TICK, TICK)  # a fork does not inherit it
        self.armed = True

    def _tick(self, signum: int, frame: object) -> None:
        if self.busy or self.label is None or self.phase is None or os.getpid() != self.pid:
            return
        if time.monotonic() - self.started >= DELAY:
            self._draw(refresh=True)

    def _description(self) -> tuple[str, int]:
        assert self.phase is not None
        phase, total = self.phase
        parts = [f"pass {self.passes}"] if self.passes else []
        if phase != "retry":
            parts.append(_PHASE_TEXT.get(phase, phase))
        return f"{self.label}: {', '.join(parts) or phase}", total

    def _draw(self, refresh: bool = False) -> None:
        if self.broken:
            return
        try:
            self._draw_bar(refresh)
        except OSError:  # the terminal went away (hung up): the computation goes on, undrawn
            self.broken = True

    def _draw_bar(self, refresh: bool) -> None:
        from tqdm import tqdm  # type: ignore[import-untyped, unused-ignore]

        tqdm.monitor_interval = 0  # no tqdm monitor thread (see the invariants)
        description, total = self._description()
        if self.shown is None or self.shown_as != (description, total):
            self._erase()
            sized = _columns(self.stream) > 0  # a terminal that tells its width (a bare pty says 0: assume 80)
            self.shown = tqdm(total=total or None, initial=min(self.done, total) if total else 0,
                              desc=description, file=self.stream, leave=False, dynamic_ncols=sized,
                              ncols=None if sized else 80, nrows=None if sized else 24, mininterval=0.1,
                              bar_format=_FRACTION if total else _OPEN)
            self.shown.start_t = self.shown._time() - (time.monotonic() - self.started)  # elapsed: since the call began
            self.shown_as = (description, total)
            self.shown.refresh()
        elif total:
            self.shown.update(min(self.done, total) - self.shown.n)
        if refresh:
            self.shown.refresh()

    def _erase(self) -> None:
        if self.shown is not None:
            shown, self.shown, self.shown_as = self.shown, None, None
            try:
                shown.close()
            except OSError:
                self.broken = True
