"""`spouge F - < file`: one result a line, JSON lines, bad lines reported by number, the first failure's status."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys

import pytest

from spouge import numerics


def batch(args, data: bytes | str, env=None, timeout=120):
    if isinstance(data, str):
        data = data.encode()
    return subprocess.run([sys.executable, "-m", "spouge", *args], input=data, capture_output=True, check=False,
                          timeout=timeout,
                          env={**os.environ, **(env or {})})


def lines_of(proc) -> list[str]:
    text = proc.stdout.decode()
    assert text == "" or text.endswith("\n")
    return text.split("\n")[:-1]


MIXED = "0.5\n\n   \n# a comment\n  1e100  \n-3\nabc\n3+4j\n1 2\n-2.5\r\n"


def test_text_batch_matches_single_values_and_names_bad_lines():
    proc = batch(["gamma", "-", "20"], MIXED)
    assert lines_of(proc) == [str(numerics.gamma("0.5", 20)), str(numerics.gamma("1e100", 20)), "", "",
                              str(numerics.gamma("3+4j", 20)), "", str(numerics.gamma("-2.5", 20))]
    err = proc.stderr.decode().splitlines()
    assert err == [
        "spouge: line 6: gamma(-3): Γ has a pole at x = -3",
        "spouge: line 7: x = 'abc' is not a decimal number (expected e.g. 100, -2.5, 0.1, 1e100)",
        "spouge: line 9: gamma takes 1 value a line (x), not 2",
    ]
    assert proc.returncode == 3  # the first failed line was a pole


def test_first_failure_decides_the_status():
    assert batch(["gamma", "-"], "abc\n-3\n2\n").returncode == 2
    assert batch(["gamma", "-"], "2\n-3\nabc\n").returncode == 3
    assert batch(["gamma", "-"], "2\n3\n").returncode == 0


def test_json_lines():
    proc = batch(["gamma", "-", "--json", "-d", "20"], MIXED)
    assert proc.stderr == b"" and proc.returncode == 3
    documents = [json.loads(line) for line in lines_of(proc)]
    assert [d["line"] for d in documents] == [1, 5, 6, 7, 8, 9, 10]
    assert [d.get("kind") for d in documents] == [None, None, "pole", "input", None, "input", None]
    assert [d.get("status") for d in documents] == [None, None, 3, 2, None, 2, None]
    assert documents[0]["value"] == str(numerics.gamma("0.5", 20)) and documents[0]["digits"] == 20
    assert documents[1]["x"] == "1e100" and documents[4]["x"] == "3+4j"
    assert "pole" in documents[2]["error"] and "line" not in documents[2]["error"]


@pytest.mark.parametrize("name", ["beta", "binomial", "rising", "falling"])
def test_two_columns(name):
    rows = [("0.5", "0.5"), ("10", "3"), ("-2.5", "4"), ("1e10", "2")]
    data = "0.5 0.5\n10\t3\n-2.5, 4\n1e10,2\n"
    proc = batch([name, "-", "25"], data)
    function = getattr(numerics, name)
    expected = []
    for a, b in rows:
        try:
            expected.append(str(function(a, b, 25)))
        except ValueError:
            expected.append("")
    assert lines_of(proc) == expected
    proc = batch([name, "-"], "1\n1 2 3\n")
    assert lines_of(proc) == ["", ""] and proc.returncode == 2
    assert f"line 1: {name} takes 2 values a line" in proc.stderr.decode()
    assert f"line 2: {name} takes 2 values a line" in proc.stderr.decode()


def test_options_apply_to_every_line():
    proc = batch(["lgamma", "-", "--sign", "-d", "12"], "-2.5\n0.5\n")
    assert lines_of(proc) == [f"{numerics.lgamma('-2.5', 12)} -1", f"{numerics.lgamma('0.5', 12)} +1"]
    proc = batch(["gamma", "-", "--rounding", "enclosure", "-d", "5"], "0.1\n")
    assert lines_of(proc) == ["9.5135e+0 9.5136e+0"]
    proc = batch(["gamma", "-", "--bits", "53"], "0.5\n")
    assert lines_of(proc) == ["0x1.c5bf891b4ef6bp+0"]


@pytest.mark.parametrize("args, message", [
    (["gamma", "-", "-d", "0"], "digits must be at least 1"),
    (["gamma", "-", "30", "-d", "20"], "digits given twice"),
    (["gamma", "-", "ten"], "digits must be an integer"),
    (["gamma", "-", "--bits", "0"], "bits must be"),
    (["loggamma", "-", "--rounding", "up"], "loggamma takes digits only"),
    (["beta", "-", "1", "2"], "beta takes a b (or -)"),
])
def test_bad_options_fail_before_any_line(args, message):
    proc = batch(args, "0.5\n" * 3)
    assert proc.returncode == 2 and proc.stdout == b"" and message in proc.stderr.decode()
    assert proc.stderr.decode().count("spouge: error:") == 1 and "line" not in proc.stderr.decode().split("error:")[1]


def test_empty_input_and_only_comments():
    for data in ("", "\n\n", "# nothing\n   # here\n"):
        proc = batch(["gamma", "-"], data)
        assert proc.returncode == 0 and proc.stdout == b"" and proc.stderr == b""


def test_undecodable_and_hostile_lines():
    proc = batch(["gamma", "-"], b"\xff\xfe\n2\n" + b"9" * 200000 + b"\n\x00\n")
    assert lines_of(proc) == ["", str(numerics.gamma(2)), "", ""]
    err = proc.stderr.decode()
    assert "line 1: the line is not valid UTF-8" in err and "line 3: " in err and "line 4: " in err
    assert "Traceback" not in err and err.count("\n") == 3 and proc.returncode == 2


def test_last_line_without_newline():
    proc = batch(["factorial", "-"], "5\n6")
    assert lines_of(proc) == [str(numerics.factorial(5)), str(numerics.factorial(6))]


def test_ten_thousand_lines_in_order(tmp_path):
    rng = random.Random(13)
    xs = [f"{rng.uniform(-60, 170):.6f}" for _ in range(10000)]
    proc = batch(["gamma", "-"], "".join(x + "\n" for x in xs))
    got = lines_of(proc)
    assert proc.returncode == 0 and len(got) == 10000
    for i in rng.sample(range(10000), 200):
        assert got[i] == str(numerics.gamma(xs[i])), xs[i]


def test_closed_stdout_stops_quietly(tmp_path):
    source = tmp_path / "many.txt"
    source.write_text("".join(f"{i}\n" for i in range(1, 300001)))
    with open(source, "rb") as stdin:
        proc = subprocess.Popen([sys.executable, "-m", "spouge", "factorial", "-"], stdin=stdin,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        first = proc.stdout.readline()
        proc.stdout.close()  # like `| head -1`
        err = proc.stderr.read()
        proc.wait(timeout=120)
    assert first == b"1.000000000000000e+0\n"
    assert proc.returncode == 141 and err == b""


def test_readme_batch_example_is_what_spouge_prints():
    import doctest
    import re

    with open(os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "README.md")) as f:
        readme = f.read()
    block = re.search(r"```sh\n(printf '[^']*' \| spouge gamma - 20 --json)\n((?:# .*\n)+)```", readme)
    assert block, "the README's batch example moved"
    data = block.group(1).split("'")[1].encode().decode("unicode_escape")
    proc = batch(["gamma", "-", "20", "--json"], data)
    want = "".join(line[2:] + "\n" for line in block.group(2).splitlines())
    assert doctest.OutputChecker().check_output(want, proc.stdout.decode(), doctest.ELLIPSIS), proc.stdout
