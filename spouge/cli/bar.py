"""The progress bar of a long computation: tqdm on stderr, fed by numerics.progress.

Owns: ``Bar``, the reporter handed to ``numerics.progress.reporting`` (it is
called as fn(phase, done, total)), and its display.  Phases: "coefficients" and
"sum" (k of a: a bar with a fraction), "retry" (pass n of the rounding loop,
total unknown: the pass number and the elapsed time).

Invariants:
- Used only when stderr is a terminal and --quiet is not given (the caller
  decides: ``wanted``); nothing is drawn for a call shorter than DELAY seconds,
  so quick answers and fast batches print no bar at all.
- A report costs a lock and a clock read; the drawing is tqdm's, throttled by
  its mininterval.  A ticker thread (daemon) draws the bar once DELAY has
  passed even if no report comes (a long pass of the loop reports once, at its
  start) and keeps the elapsed time moving.
- ``call()`` erases the bar when the computation ends, returns or raises, so
  the result (or the error) is printed on a clean line.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO

#: Seconds a computation runs before its bar is drawn.
DELAY = 0.3
#: Seconds between the ticker's redraws (the elapsed time).
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
        self.lock = threading.Lock()
        self.label: str | None = None  # the call in progress, or None
        self.started = 0.0
        self.phase: tuple[str, int] | None = None  # (phase, total) of the last report
        self.done = 0
        self.passes = 0
        self.shown: Any = None  # the tqdm bar on screen, or None
        self.shown_as: tuple | None = None  # (description, total) it was drawn with
        self.ticker: threading.Thread | None = None
        self.stopping = threading.Event()

    @contextmanager
    def call(self, label: str) -> Iterator[None]:
        """One computation: the bar (if drawn at all) is erased when it ends."""
        with self.lock:
            self.label, self.started = label, time.monotonic()
            self.phase, self.done, self.passes = None, 0, 0
        try:
            yield
        finally:
            with self.lock:
                self.label = None
                self._erase()

    def __call__(self, phase: str, done: int, total: int) -> None:
        with self.lock:
            if self.label is None:
                return
            if phase == "retry":
                self.passes = done
                self.phase, self.done = ("retry", 0), 0
            else:
                self.phase, self.done = (phase, max(0, total)), max(0, done)
            if self.shown is not None or time.monotonic() - self.started >= DELAY:
                self._draw()
            elif self.ticker is None:
                self.ticker = threading.Thread(target=self._tick, name="spouge-progress", daemon=True)
                self.ticker.start()

    def close(self) -> None:
        """Stop the ticker (the bar itself is erased by ``call``)."""
        self.stopping.set()

    # -- drawing (under self.lock) --

    def _tick(self) -> None:
        while not self.stopping.wait(TICK):
            with self.lock:
                if self.label is not None and self.phase is not None and time.monotonic() - self.started >= DELAY:
                    self._draw(refresh=True)

    def _description(self) -> tuple[str, int]:
        assert self.phase is not None
        phase, total = self.phase
        parts = [f"pass {self.passes}"] if self.passes else []
        if phase != "retry":
            parts.append(_PHASE_TEXT.get(phase, phase))
        return f"{self.label}: {', '.join(parts) or phase}", total

    def _draw(self, refresh: bool = False) -> None:
        from tqdm import tqdm  # type: ignore[import-untyped, unused-ignore]

        tqdm.monitor_interval = 0  # no tqdm monitor thread: the ticker is ours
        description, total = self._description()
        if self.shown is None or self.shown_as != (description, total):
            self._erase()
            sized = _columns(self.stream) > 0  # a terminal that tells its width (a bare pty says 0: assume 80)
            self.shown = tqdm(total=total or None, initial=min(self.done, total) if total else 0,
                              desc=description, file=self.stream, leave=False, dynamic_ncols=sized,
                              ncols=None if sized else 80, nrows=None if sized else 24, mininterval=0.1, bar_format=_FRACTION if total else _OPEN)
            self.shown.start_t = self.shown._time() - (time.monotonic() - self.started)  # elapsed: since the call began
            self.shown_as = (description, total)
            self.shown.refresh()
        elif total:
            self.shown.update(min(self.done, total) - self.shown.n)
        if refresh:
            self.shown.refresh()

    def _erase(self) -> None:
        if self.shown is not None:
            self.shown.close()
            self.shown, self.shown_as = None, None
