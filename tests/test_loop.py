"""The event loop on its own: callbacks per socket, timers, wake-ups, signals, failing callbacks."""

from __future__ import annotations

import os
import signal
import socket
import threading
import time

from spouge.loop import EventLoop


def test_reader_and_writer_callbacks_per_socket():
    loop = EventLoop()
    a, b = socket.socketpair()
    got = []

    def on_readable(sock):
        got.append(sock.recv(100))
        loop.remove_reader(sock)
        loop.stop()

    def on_writable(sock):
        sock.send(b"ping")
        loop.remove_writer(sock)  # write interest only while there is something to write

    loop.add_reader(b, on_readable)
    loop.add_writer(a, on_writable)
    loop.run()
    assert got == [b"ping"]
    assert a not in [k.fileobj for k in loop.selector.get_map().values()]
    loop.close()
    a.close()
    b.close()


def test_timers_run_in_deadline_order_and_cancel():
    loop = EventLoop()
    order = []
    loop.call_later(0.05, order.append, "second")
    loop.call_later(0.01, order.append, "first")
    cancelled = loop.call_later(0.02, order.append, "cancelled")
    loop.cancel(cancelled)
    loop.call_later(0.08, loop.stop)
    start = time.monotonic()
    loop.run()
    assert order == ["first", "second"] and 0.07 < time.monotonic() - start < 1.0
    loop.close()


def test_call_soon_threadsafe_wakes_a_sleeping_select():
    loop = EventLoop()
    loop.call_later(30, loop.stop)  # would otherwise sleep 30 s
    threading.Timer(0.05, loop.call_soon_threadsafe, (loop.stop,)).start()
    start = time.monotonic()
    loop.run()
    assert time.monotonic() - start < 5
    loop.close()


def test_signal_handler_runs_in_the_loop():
    loop = EventLoop()
    seen = []
    loop.add_signal_handler(signal.SIGUSR1, lambda: (seen.append(threading.current_thread()), loop.stop()))
    loop.call_later(30, loop.stop)
    threading.Timer(0.05, os.kill, (os.getpid(), signal.SIGUSR1)).start()
    start = time.monotonic()
    loop.run()
    assert seen == [threading.main_thread()] and time.monotonic() - start < 5
    loop.close()
    assert signal.getsignal(signal.SIGUSR1) == signal.SIG_DFL


def test_a_failing_callback_is_logged_and_the_loop_goes_on(caplog):
    loop = EventLoop()
    ran = []
    loop.call_soon(lambda: 1 / 0)
    loop.call_later(0.01, lambda: (ran.append(True), loop.stop()))
    loop.run()
    assert ran == [True] and "ZeroDivisionError" in caplog.text
    loop.close()
