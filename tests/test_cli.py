"""The `spouge` command: output, --json, help, and the exit statuses (2 usage/input, 3 poles and domain)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from spouge.cli import main


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "spouge", *args], capture_output=True, text=True, timeout=120)


def test_values(capsys):
    assert main(["factorial", "100", "--digits", "50"]) == 0
    assert capsys.readouterr().out == "9.3326215443944152681699238856266700490715968264382e+157\n"
    assert main(["gamma", "0.5", "--digits", "30"]) == 0
    assert capsys.readouterr().out == "1.77245385090551602729816748334e+0\n"
    assert main(["lgamma", "1e100"]) == 0
    assert capsys.readouterr().out == "2.292585092994046e+102\n"


def test_negative_arguments_are_not_options(capsys):
    assert main(["gamma", "-1e-5", "--digits", "5"]) == 0
    assert capsys.readouterr().out == "-1.0000e+5\n"  # Γ(-1e-5) = -100000.577...
    assert main(["factorial", "-2.5+1j", "-d", "5"]) == 0
    assert capsys.readouterr().out.strip().endswith("j")


def test_json(capsys):
    assert main(["gamma", "0.5", "--digits", "30", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["value"] == "1.77245385090551602729816748334e+0"
    assert data["digits"] == 30 and data["a"] >= 3 and data["function"] == "gamma" and data["x"] == "0.5"
    assert "e-" in data["error_bound"] and data["elapsed_seconds"] >= 0


@pytest.mark.parametrize(
    "args, message",
    [
        (["gamma", "nan"], "not a finite number"),
        (["gamma", "abc"], "not a decimal number"),
        (["gamma", "2", "--digits", "0"], "digits must be at least 1"),
        (["gamma", "2", "--digits", "ten"], "invalid int value"),
        (["lgamma", "3+4j"], "x ="),
        (["nosuch", "3"], "invalid choice"),
        ([], "usage"),
    ],
)
def test_bad_input_exits_2_with_message(args, message):
    proc = run(*args)
    assert proc.returncode == 2, proc
    assert message in proc.stderr and proc.stdout == ""


def test_help():
    proc = run("--help")
    assert proc.returncode == 0 and "factorial" in proc.stdout and "lgamma" in proc.stdout
    for sub in ("factorial", "gamma", "lgamma"):
        proc = run(sub, "--help")
        assert proc.returncode == 0 and "--digits" in proc.stdout and "--json" in proc.stdout


def test_console_script_installed():
    import shutil

    exe = shutil.which("spouge")
    assert exe, "pip install -e . should put `spouge` on PATH"
    proc = subprocess.run([exe, "factorial", "5", "--digits", "3"], capture_output=True, text=True, timeout=60)
    assert proc.stdout == "1.20e+2\n"


def test_family_modes_and_bits(capsys):
    assert main(["beta", "0.5", "0.5", "-d", "30"]) == 0
    assert capsys.readouterr().out == "3.14159265358979323846264338328e+0\n"  # B(1/2, 1/2) = π
    assert main(["binomial", "10", "3", "-d", "3"]) == 0 and capsys.readouterr().out == "1.20e+2\n"
    assert main(["gamma", "0.1", "-d", "5", "--rounding", "up"]) == 0 and capsys.readouterr().out == "9.5136e+0\n"
    assert main(["gamma", "0.1", "-d", "5", "--rounding", "down"]) == 0 and capsys.readouterr().out == "9.5135e+0\n"
    assert main(["gamma", "0.5", "--bits", "53"]) == 0 and capsys.readouterr().out == "0x1.c5bf891b4ef6bp+0\n"
    assert main(["gamma", "0.1", "-d", "5", "--rounding", "enclosure"]) == 0
    assert capsys.readouterr().out == "9.5135e+0 9.5136e+0\n"
    assert main(["lgamma", "-2.5", "--sign"]) == 0 and capsys.readouterr().out == "-5.624371649767405e-2 -1\n"
    assert main(["rgamma", "-3"]) == 0 and capsys.readouterr().out == "0.000000000000000e+0\n"
    assert main(["fgamma", "171"]) == 0 and capsys.readouterr().out == "7.257415615307999e+306\n"
    assert main(["loggamma", "3+4j", "-d", "10"]) == 0 and capsys.readouterr().out.strip().endswith("j")


@pytest.mark.parametrize("argv, status", [
    (["beta", "-2", "0.5"], 3), (["fgamma", "-1"], 3), (["fgamma", "172"], 3), (["fgamma", "nan"], 3),
    (["rising", "2", "-2"], 3), (["gamma", "-3"], 3), (["factorial", "-1"], 3), (["lgamma", "0"], 3),
    (["binomial", "-1", "0.5"], 3), (["loggamma", "-2"], 3),
    (["loggamma", "1", "--bits", "5"], 2), (["binomial", "x", "1"], 2), (["fgamma", "x"], 2),
])
def test_family_errors_exit_status(capsys, argv, status):
    assert main(argv) == status, argv
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("spouge: error: ") and err.count("\n") == 1 and "Traceback" not in err


def test_version_names_the_core():
    from spouge.numerics import corebridge

    out = run("--version").stdout
    assert out.startswith("spouge ") and f"core: {corebridge.description}" in out
    pure = subprocess.run([sys.executable, "-m", "spouge", "--version"], capture_output=True, text=True, timeout=60,
                          env={**__import__("os").environ, "SPOUGE_PURE": "1"}).stdout
    assert "core: python" in pure
