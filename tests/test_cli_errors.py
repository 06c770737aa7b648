"""`spouge` failures: exit statuses, --json errors as JSON, digits after the arguments (the RESP spelling), plot -o."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from spouge import numerics
from spouge.cli import main


def run(*args: str, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "spouge", *args], capture_output=True, text=True, check=False,
                          timeout=120,
                          env={**os.environ, **(env or {})})


@pytest.mark.parametrize("args, kind, status", [
    (["gamma", "-3"], "pole", 3),
    (["beta", "-2", "0.5"], "pole", 3),
    (["fgamma", "-1"], "pole", 3),
    (["fgamma", "nan"], "domain", 3),
    (["fgamma", "172"], "range", 3),
    (["gamma", "abc"], "input", 2),
    (["fgamma", "abc"], "input", 2),
    (["gamma", "1e100000"], "input", 2),
    (["gamma", "2", "-d", "0"], "input", 2),
    (["gamma", "2", "-d", "ten"], "usage", 2),
    (["gamma", "2", "--rounding", "sideways"], "usage", 2),
    (["gamma"], "usage", 2),
    (["gamma", "0.5", "--nosuch"], "usage", 2),
    (["nosuch", "3"], "usage", 2),
    (["gamma", "0.5", "30", "-d", "20"], "usage", 2),
    (["gamma", "0.5", "1", "2"], "usage", 2),
    (["gamma", "0.5", "--bits", "53", "-d", "9"], "usage", 2),
    (["loggamma", "2", "--rounding", "up"], "usage", 2),
])
def test_json_errors_are_one_json_document(args, kind, status):
    proc = run(*args, "--json")
    assert proc.returncode == status, proc
    assert proc.stderr == "" and proc.stdout.endswith("\n") and proc.stdout.count("\n") == 1
    document = json.loads(proc.stdout)
    assert document["kind"] == kind and document["status"] == status and set(document) == {"error", "kind", "status"}
    assert document["error"] and "Traceback" not in document["error"]
    text = run(*args)  # the same failure without --json: one line on stderr (argparse adds its usage first)
    assert text.returncode == status and text.stdout == ""
    last = text.stderr.splitlines()[-1]
    assert last == f"spouge: error: {document['error']}"
    assert kind == "usage" or text.stderr.count("\n") == 1


def test_json_successes_end_with_a_newline():
    for args in (["gamma", "0.5"], ["beta", "1", "2"], ["fgamma", "0.5"], ["gamma", "0.1", "--rounding", "enclosure"]):
        proc = run(*args, "--json")
        assert proc.returncode == 0 and proc.stdout.endswith("}\n") and proc.stdout.count("\n") == 1
        json.loads(proc.stdout)
    assert json.loads(run("fgamma", "0.5", "--json").stdout) == {"function": "fgamma", "x": "0.5",
                                                                 "value": repr(numerics.fgamma(0.5))}


def test_digits_after_the_arguments_as_over_resp(capsys):
    cases = [
        (["gamma", "0.5", "30"], ["gamma", "0.5", "--digits", "30"]),
        (["factorial", "-2.5+1j", "12"], ["factorial", "-2.5+1j", "-d", "12"]),
        (["beta", "0.5", "0.5", "40"], ["beta", "0.5", "0.5", "-d", "40"]),
        (["binomial", "1e100", "3", "7"], ["binomial", "1e100", "3", "-d", "7"]),
        (["rising", "0.5", "10", "25"], ["rising", "0.5", "10", "-d", "25"]),
        (["falling", "10", "3", "5"], ["falling", "10", "3", "-d", "5"]),
        (["lgamma", "-2.5", "--sign", "20"], ["lgamma", "-2.5", "--sign", "-d", "20"]),  # digits after an option
        (["gamma", "-0.5", "--json", "8"], ["gamma", "-0.5", "-d", "8", "--json"]),
    ]
    for resp, options in cases:
        assert main(resp) == 0
        first = capsys.readouterr().out
        assert main(options) == 0
        second = capsys.readouterr().out
        if "--json" in resp:
            first, second = (json.loads(t) for t in (first, second))
            first.pop("elapsed_seconds"), second.pop("elapsed_seconds")
        assert first == second, resp
    assert main(["gamma", "0.5", "30"]) == 0 and capsys.readouterr().out == "1.77245385090551602729816748334e+0\n"


@pytest.mark.parametrize("args, message", [
    (["gamma", "0.5", "3.5"], "digits must be an integer, not '3.5'"),
    (["gamma", "0.5", "0"], "digits must be at least 1"),
    (["beta", "0.5"], "beta takes a b (or -), then optionally the digits; got 1 value: 0.5"),
    (["beta", "0.5", "0.5", "30", "1"], "got 4 values"),
])
def test_bad_positional_digits(args, message):
    proc = run(*args)
    assert proc.returncode == 2 and proc.stdout == "" and message in proc.stderr


def test_unexpected_exception_is_one_line(monkeypatch, capsys):
    from spouge.cli import values

    def broken(*a, **k):
        raise RuntimeError("the engine fell over\nwith a second line")

    monkeypatch.setitem(values.FUNCTIONS, "gamma", (broken, *values.FUNCTIONS["gamma"][1:]))
    assert main(["gamma", "1"]) == 1
    out, err = capsys.readouterr()
    assert out == "" and err == "spouge: error: RuntimeError: the engine fell over with a second line\n"
    assert main(["gamma", "1", "--json"]) == 1
    assert json.loads(capsys.readouterr().out) == {
        "error": "RuntimeError: the engine fell over with a second line", "kind": "internal", "status": 1}


def test_plot_to_an_unwritable_path_is_one_line(tmp_path):
    pytest.importorskip("matplotlib")
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    for target in (tmp_path / "missing-dir" / "e.svg", blocker / "e.svg"):
        proc = run("plot", "error", "4.5", "--max-a", "8", "-o", str(target))
        assert proc.returncode == 1 and proc.stdout == "", proc
        assert proc.stderr.startswith(f"spouge: error: {target}: ") and proc.stderr.count("\n") == 1
        assert "Traceback" not in proc.stderr


def test_help_documents_statuses_batches_and_quiet():
    top = run("--help")
    assert top.returncode == 0 and "exit status" in top.stdout and "3 mathematical error" in top.stdout
    assert "130 interrupted" in top.stdout and "spouge gamma 0.5 30" in top.stdout
    for name in ("gamma", "beta", "lgamma"):
        sub = run(name, "--help")
        assert sub.returncode == 0 and "--quiet" in sub.stdout and "[DIGITS]" in sub.stdout
        assert f"spouge {name} - [DIGITS]" in sub.stdout and "lines starting with #" in sub.stdout
        assert "exit status" in sub.stdout


def test_values_do_not_load_the_server_and_serve_reads_alike():
    probe = ("import sys\nfrom spouge.cli import main\nassert main(['gamma', '0.5']) == 0\n"
             "print(any(m.startswith('spouge.server') for m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=False, timeout=60)
    assert proc.stdout.splitlines()[-1] == "False"
    from spouge.cli import SERVE_HELP, _build_parser

    def serve_help(parser):
        sub = next(a for a in parser._actions if a.dest == "command")
        return next(c.help for c in sub._choices_actions if c.dest == "serve")

    assert serve_help(_build_parser(full=True)) == serve_help(_build_parser(full=False)) == SERVE_HELP
    assert "--port" in run("serve", "--help").stdout
