"""`spouge` on a terminal: the progress bar on stderr (real pty, real tqdm), silence when piped or --quiet, Ctrl-C."""

from __future__ import annotations

import fcntl
import io
import json
import os
import pty
import signal
import struct
import subprocess
import sys
import termios
import threading
import time

import pytest

from spouge import numerics
from spouge.cli import bar as bar_module
from spouge.cli import main

#: A pure-Python call long enough (about a second, no disk tables) for the bar to be drawn.
LONG = ["gamma", "0.5", "-d", "8000"]
LONG_ENV = {"SPOUGE_PURE": "1", "SPOUGE_CACHE_DIR": "off"}


def run_with_terminal_stderr(args, env=None, size=(24, 80), script=None, timeout=120):
    """Run `python -m spouge args` (or `python -c script`) with stderr on a pty and stdout on a pipe.

    Returns (status, stdout, what the terminal received)."""
    master, slave = pty.openpty()
    if size:
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", size[0], size[1], 0, 0))
    command = [sys.executable, "-c", script, *args] if script else [sys.executable, "-m", "spouge", *args]
    proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=slave,
                            env={**os.environ, **(env or {})})
    os.close(slave)
    received = []

    def drain():  # keep the pty's buffer empty so the child never blocks on its bar
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the child closed its side
                return
            if not chunk:
                return
            received.append(chunk)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    out, _ = proc.communicate(timeout=timeout)
    reader.join(timeout=10)
    os.close(master)
    return proc.returncode, out.decode(), b"".join(received).decode("utf-8", "replace")


def piped(args, env=None, timeout=120, **kw):
    return subprocess.run([sys.executable, "-m", "spouge", *args], capture_output=True, text=True, check=False,
                          timeout=timeout,
                          env={**os.environ, **(env or {})}, **kw)


def test_long_call_on_a_terminal_shows_phase_and_time_then_erases_it():
    status, out, terminal = run_with_terminal_stderr(LONG, LONG_ENV)
    assert status == 0
    assert out == str(numerics.gamma("0.5", 8000)) + "\n"
    assert "gamma(0.5): pass 1" in terminal and "[00:0" in terminal, terminal[:500]  # the pass, the elapsed time
    if "coefficients" in terminal:  # the engine's own reports (the table is made here, cold): k of a, growing
        assert "k of a" in terminal and "%|" in terminal
    assert terminal.endswith("\r") and terminal.rstrip("\r ").endswith("]")  # erased before the result is printed
    assert "Traceback" not in terminal


def test_terminal_without_a_size_still_gets_a_bar():
    status, _, terminal = run_with_terminal_stderr(LONG, LONG_ENV, size=None)
    assert status == 0 and "gamma(0.5): pass 1" in terminal


def test_silent_when_piped_or_quiet():
    proc = piped(LONG, LONG_ENV)
    assert proc.returncode == 0 and proc.stderr == "" and proc.stdout == str(numerics.gamma("0.5", 8000)) + "\n"
    status, out, terminal = run_with_terminal_stderr([*LONG, "-q"], LONG_ENV)
    assert status == 0 and terminal == "" and out == proc.stdout


def test_short_call_on_a_terminal_draws_nothing():
    status, out, terminal = run_with_terminal_stderr(["gamma", "0.5", "30"], LONG_ENV)
    assert status == 0 and terminal == "" and out == "1.77245385090551602729816748334e+0\n"


# A reporter-driven fake: the engine's coefficient and sum phases as the C core will report them,
# then the real value, through the real CLI, tqdm and a pty.
FAKE = """
import sys, time
from spouge import numerics
from spouge.numerics import progress
from spouge.cli import main, values

def gamma(x, digits=16, **keywords):
    for p in (1, 2):
        progress.report("retry", p, 0)
        time.sleep(0.4)  # longer than the bar's delay: each phase below is drawn
        for k in range(0, 201, 10):
            progress.report("coefficients", k, 200)
            time.sleep(0.02)
        for k in range(0, 201, 20):
            progress.report("sum", k, 200)
            time.sleep(0.02)
    progress.report("coefficients", 500, 200)  # never more than the total, whatever arrives
    time.sleep(0.15)
    return numerics.gamma(x, digits, **keywords)

values.FUNCTIONS["gamma"] = (gamma,) + values.FUNCTIONS["gamma"][1:]
sys.exit(main(sys.argv[1:]))
"""


def test_fake_engine_phases_show_as_fractions():
    status, out, terminal = run_with_terminal_stderr(["gamma", "0.5", "20"], script=FAKE)
    assert status == 0 and out == str(numerics.gamma("0.5", 20)) + "\n"
    assert "gamma(0.5): pass 1, coefficients, k of a" in terminal
    assert "gamma(0.5): pass 2, sum, k of a" in terminal
    assert "/200 [" in terminal and "%|" in terminal
    assert "500/200" not in terminal and "200/200" in terminal
    assert "Traceback" not in terminal


def test_fake_engine_is_silent_when_piped():
    proc = subprocess.run([sys.executable, "-c", FAKE, "gamma", "0.5", "20"], capture_output=True, text=True,
                          check=False, timeout=60)
    assert proc.returncode == 0 and proc.stderr == "" and proc.stdout == str(numerics.gamma("0.5", 20)) + "\n"


class FakeTerminal(io.StringIO):
    def isatty(self):
        return True


def test_bar_unit_delay_fraction_and_erase(monkeypatch):
    stream = FakeTerminal()
    bar = bar_module.Bar(stream)
    with bar.call("gamma(2)"):  # quick: reports, but over before DELAY
        bar("retry", 1, 0)
        bar("coefficients", 5, 10)
    assert stream.getvalue() == ""
    monkeypatch.setattr(bar_module, "DELAY", 0.0)
    with bar.call("gamma(3)"):
        bar("coefficients", 5, 10)
        bar("coefficients", 10, 10)
        bar("sum", -4, 10)  # nonsense is clamped, not drawn
    bar.close()
    text = stream.getvalue()
    assert "gamma(3): coefficients, k of a" in text and "5/10" in text and "gamma(3): sum, k of a" in text
    assert " 0/10" in text and "-4" not in text
    assert text.endswith("\r")
    bar("coefficients", 1, 10)  # outside a call: ignored
    assert stream.getvalue() == text


def test_bar_starts_no_thread_and_gives_sigalrm_back(monkeypatch):
    # the coefficient tables' process pool refuses to fork a threaded process: the bar must not add one
    import threading

    before = threading.active_count()
    handler = signal.getsignal(signal.SIGALRM)
    stream = FakeTerminal()
    bar = bar_module.Bar(stream)
    with bar.call("gamma(4)"):
        bar("retry", 1, 0)
        assert bar.armed and signal.getitimer(signal.ITIMER_REAL)[1] == pytest.approx(bar_module.TICK)
        deadline = time.monotonic() + 5
        while "gamma(4): pass 1" not in stream.getvalue() and time.monotonic() < deadline:
            time.sleep(0.05)  # no report comes: the timer draws the bar
        assert threading.active_count() == before
    assert "gamma(4): pass 1 [00:0" in stream.getvalue()
    bar.close()
    assert signal.getsignal(signal.SIGALRM) is handler and signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


def test_reports_from_forked_children_are_ignored(monkeypatch):
    monkeypatch.setattr(bar_module, "DELAY", 0.0)
    stream = FakeTerminal()
    bar = bar_module.Bar(stream)
    bar.pid = -1  # as seen from a child forked after the bar was made
    with bar.call("gamma(5)"):
        bar("coefficients", 1, 10)
    assert stream.getvalue() == ""


def test_bar_is_wanted_only_on_terminals(monkeypatch):
    assert not bar_module.wanted(io.StringIO(), quiet=False)
    assert bar_module.wanted(FakeTerminal(), quiet=False)
    assert not bar_module.wanted(FakeTerminal(), quiet=True)
    monkeypatch.setenv("SPOUGE_NO_PROGRESS", "1")
    assert not bar_module.wanted(FakeTerminal(), quiet=False)


def test_reporter_sees_the_ziv_passes_of_the_pure_path():
    from spouge.numerics import corebridge, progress

    seen = []
    with progress.reporting(lambda *r: seen.append(r)):
        numerics.lgamma("2.5", 40)
        numerics.gamma("0.5+1j", 20)
    if corebridge.available:  # the C passes run inside the same loop: each pass still reported
        assert ("retry", 1, 0) in seen
    assert seen and all(r[0] == "retry" and r[1] >= 1 and r[2] == 0 for r in seen)


def interrupt(args, env, json_mode=False, stdin=None, after=1.0):
    proc = subprocess.Popen([sys.executable, "-m", "spouge", *args, *(["--json"] if json_mode else [])],
                            stdin=stdin if stdin is not None else subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, **env})
    time.sleep(after)
    assert proc.poll() is None, "the computation ended before it could be interrupted"
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    return proc.returncode, out, err


@pytest.mark.parametrize("pure", ["0", "1"])
def test_ctrl_c_exits_130_with_one_line(pure):
    status, out, err = interrupt(["gamma", "0.5", "-d", "60000"], {"SPOUGE_PURE": pure, "SPOUGE_CACHE_DIR": "off"})
    assert status == 130 and out == "" and err == "spouge: interrupted\n"


def test_ctrl_c_with_json_is_a_json_document():
    status, out, err = interrupt(["gamma", "0.5", "-d", "60000"], {"SPOUGE_CACHE_DIR": "off"}, json_mode=True)
    assert status == 130 and err == "" and out.endswith("}\n") and out.count("\n") == 1
    assert json.loads(out) == {"error": "interrupted", "kind": "interrupted", "status": 130}


def test_ctrl_c_in_a_batch_keeps_what_was_printed(tmp_path):
    xs = tmp_path / "xs.txt"
    xs.write_text("-1\nabc\n0.5\n0.7\n")
    with open(xs, "rb") as stdin:
        status, out, err = interrupt(["gamma", "-", "-d", "60000"], {"SPOUGE_CACHE_DIR": "off"}, json_mode=True,
                                     stdin=stdin)
    assert status == 130 and err == ""
    documents = [json.loads(line) for line in out.splitlines()]
    assert out.endswith("\n") and len(documents) == 3
    assert [d.get("line") for d in documents] == [1, 2, None]
    assert [d["kind"] for d in documents] == ["pole", "input", "interrupted"]


def test_interrupt_raised_by_a_reporter_in_process(monkeypatch, capsys):
    from spouge.cli import values

    def gamma(x, digits=16, **keywords):
        raise KeyboardInterrupt

    monkeypatch.setitem(values.FUNCTIONS, "gamma", (gamma, *values.FUNCTIONS["gamma"][1:]))
    assert main(["gamma", "1"]) == 130
    assert capsys.readouterr() == ("", "spouge: interrupted\n")
