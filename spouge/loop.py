"""The event loop: one selectors "bag" of sockets, each registered with its callbacks.

Owns: readiness callbacks per socket, timers, wake-ups from other threads or
signal handlers, and signals.  Knows nothing of protocols, commands or Γ.

Contract (in the spirit of Redis's ae.c):
    loop.add_reader(sock, callback)      callback(sock) when readable
    loop.add_writer(sock, callback)      callback(sock) when writable
    loop.remove_reader(sock) / remove_writer(sock)
    loop.call_later(delay, fn, *args) -> Timer (timer.cancel())
    loop.call_soon(fn, *args)
    loop.call_soon_threadsafe(fn, *args) wakes a sleeping select()
    loop.add_signal_handler(signum, fn)  fn() runs in the loop, not in the handler
    loop.run() / loop.stop()
The selector key's ``data`` is a two-item list [reader, writer]: each fd
carries its own callbacks, exactly the seed's ``register(sock, EVENT_READ,
callback)`` with room for a writer.

One iteration, in order: (1) poll for I/O with timeout = time to the nearest
timer (0 if callbacks are ready); (2) run the I/O callbacks; (3) run expired
timers; (4) run the callbacks queued by (2)-(3).  A callback that raises is
logged and the loop goes on; KeyboardInterrupt and SystemExit are never
swallowed.  Cancelled timers stay in the heap and are skipped when popped
(O(log n) cancel; the heap is rebuilt when more than half of it is dead).
"""

from __future__ import annotations

import heapq
import logging
import selectors
import signal
import socket
import time
from collections import deque
from collections.abc import Callable

log = logging.getLogger("spouge.loop")

READ = selectors.EVENT_READ
WRITE = selectors.EVENT_WRITE


class Timer:
    __slots__ = ("args", "cancelled", "fn", "seq", "when")

    def __init__(self, when: float, seq: int, fn: Callable[..., object], args: tuple[object, ...]) -> None:
        self.when, self.seq = when, seq
        self.fn: Callable[..., object] | None = fn
        self.args: tuple[object, ...] | None = args
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True
        self.fn = self.args = None  # drop references early

    def __lt__(self, other: Timer) -> bool:
        return (self.when, self.seq) < (other.when, other.seq)


class EventLoop:
    def __init__(self) -> None:
        self.selector = selectors.DefaultSelector()
        self._callbacks: dict[int, list] = {}  # fd -> the selector key's data, [reader, writer]
        self._timers: list[Timer] = []
        self._cancelled_timers = 0
        self._seq = 0
        self._ready: deque = deque()
        self._running = False
        self._signal_handlers: dict[int, Callable] = {}
        self._pending_signals: deque = deque()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self.add_reader(self._wake_r, self._drain_wakeups)
        self.time = time.monotonic

    # --- file descriptors -------------------------------------------------
    def _update(self, sock, index: int, callback: Callable | None) -> None:
        # Our own fd -> [reader, writer] map: selector.get_key() raises KeyError, with the socket's
        # repr() formatted in, for every unregistered socket (microseconds per pause/resume of reading).
        fd = sock.fileno()
        data = self._callbacks.get(fd)
        if data is None:
            if callback is None:
                return
            data = [None, None]
            data[index] = callback
            self.selector.register(sock, READ if index == 0 else WRITE, data)
            self._callbacks[fd] = data
            return
        before = (READ if data[0] else 0) | (WRITE if data[1] else 0)
        data[index] = callback
        mask = (READ if data[0] else 0) | (WRITE if data[1] else 0)
        if mask:
            if mask != before:
                self.selector.modify(sock, mask, data)
        else:
            del self._callbacks[fd]
            self.selector.unregister(sock)

    def add_reader(self, sock, callback: Callable) -> None:
        self._update(sock, 0, callback)

    def remove_reader(self, sock) -> None:
        self._update(sock, 0, None)

    def add_writer(self, sock, callback: Callable) -> None:
        self._update(sock, 1, callback)

    def remove_writer(self, sock) -> None:
        self._update(sock, 1, None)

    def forget(self, sock) -> None:
        """Unregister a socket entirely (before closing it)."""
        try:
            key = self.selector.unregister(sock)
        except (KeyError, ValueError):
            return
        self._callbacks.pop(key.fd, None)

    # --- timers and callbacks ---------------------------------------------
    def call_later(self, delay: float, fn: Callable, *args) -> Timer:
        self._seq += 1
        timer = Timer(self.time() + delay, self._seq, fn, args)
        heapq.heappush(self._timers, timer)
        return timer

    def cancel(self, timer: Timer | None) -> None:
        if timer is not None and not timer.cancelled:
            timer.cancel()
            self._cancelled_timers += 1
            if self._cancelled_timers > 64 and self._cancelled_timers * 2 > len(self._timers):
                self._timers = [t for t in self._timers if not t.cancelled]
                heapq.heapify(self._timers)
                self._cancelled_timers = 0

    def call_soon(self, fn: Callable, *args) -> None:
        self._ready.append((fn, args))

    def call_soon_threadsafe(self, fn: Callable, *args) -> None:
        self._ready.append((fn, args))  # deque.append is atomic
        self.wake()

    def wake(self) -> None:
        try:
            self._wake_w.send(b"\0")
        except (BlockingIOError, InterruptedError):
            pass  # the pipe is full: the loop is already due to wake

    def _drain_wakeups(self, sock) -> None:
        try:
            while sock.recv(4096):
                pass
        except (BlockingIOError, InterruptedError):
            pass
        while self._pending_signals:
            signum = self._pending_signals.popleft()
            handler = self._signal_handlers.get(signum)
            if handler:
                self._run(handler, ())

    # --- signals -----------------------------------------------------------
    def add_signal_handler(self, signum: int, fn: Callable) -> None:
        """fn() runs inside the loop after signum arrives (the OS handler only records it)."""
        self._signal_handlers[signum] = fn
        signal.set_wakeup_fd(self._wake_w.fileno(), warn_on_full_buffer=False)
        signal.signal(signum, self._on_signal)

    def _on_signal(self, signum, frame) -> None:
        self._pending_signals.append(signum)  # set_wakeup_fd has already woken select()

    def remove_signal_handlers(self) -> None:
        for signum in self._signal_handlers:
            signal.signal(signum, signal.SIG_DFL)
        self._signal_handlers.clear()
        try:
            signal.set_wakeup_fd(-1)
        except ValueError:  # not the main thread
            pass

    # --- running -----------------------------------------------------------
    def _run(self, fn: Callable, args: tuple) -> None:
        try:
            fn(*args)
        except (KeyboardInterrupt, SystemExit):
            raise
        except Exception:
            log.exception("callback %r failed", fn)

    def run_once(self) -> None:
        timers = self._timers
        timeout: float | None
        if self._ready:
            timeout = 0
        elif timers:
            timeout = max(0.0, timers[0].when - self.time())
        else:
            timeout = None
        for key, mask in self.selector.select(timeout):  # 1. poll
            reader = key.data[0]
            if mask & READ and reader is not None:  # 2. I/O callbacks
                self._run(reader, (key.fileobj,))
            if mask & WRITE and (writer := key.data[1]) is not None:  # re-read: the reader may have replaced it
                self._run(writer, (key.fileobj,))
        now = self.time()
        while timers and timers[0].when <= now:  # 3. expired timers
            timer = heapq.heappop(timers)
            fn, args = timer.fn, timer.args
            if fn is None or args is None:  # cancelled (cancel() dropped both)
                self._cancelled_timers -= 1
                continue
            self._run(fn, args)
        for _ in range(len(self._ready)):  # 4. queued callbacks (not ones they queue)
            fn, args = self._ready.popleft()
            self._run(fn, args)

    def run(self) -> None:
        self._running = True
        while self._running:
            self.run_once()

    def stop(self) -> None:
        self._running = False
        self.wake()

    def close(self) -> None:
        self.remove_signal_handlers()
        self.forget(self._wake_r)
        self._wake_r.close()
        self._wake_w.close()
        self.selector.close()
